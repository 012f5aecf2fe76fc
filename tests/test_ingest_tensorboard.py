"""TensorBoard reading: same data as tbparse, CRC checks, truncation, restarts, Keras layout."""

from __future__ import annotations

import os

import numpy as np
import pytest

from logsleuth.ingest import discover, load_run
from logsleuth.ingest.tensorboard import read_tensorboard, read_with_tbparse

from writers import write_tensorboard


def _scalars(n=50, seed=0):
    rng = np.random.default_rng(seed)
    st = np.arange(n, dtype=float)
    return {"train/loss": (st, 2.3 * np.exp(-st / 20) + rng.random(n) * 0.01),
            "val/acc": (st[::10], np.linspace(0.1, 0.9, len(st[::10]))),
            "weird tag <img src=x onerror=alert(1)>": (st[:3], np.array([1.0, np.nan, np.inf]))}


def _sorted(t):
    return t.sort_values(["metric", "step", "wall_time"]).reset_index(drop=True)


@pytest.mark.parametrize("tf2", [False, True])
def test_matches_tbparse(tmp_path, tf2):
    d = write_tensorboard(str(tmp_path / "run"), _scalars(), tf2=tf2)
    f = os.path.join(d, os.listdir(d)[0])
    ours, ref = _sorted(read_tensorboard(f).table), _sorted(read_with_tbparse(f).table)
    assert len(ours) == len(ref) == 50 + 5 + 3
    assert list(ours.metric) == list(ref.metric)
    assert np.array_equal(ours.step.to_numpy(), ref.step.to_numpy())
    assert np.allclose(ours.value.to_numpy(), ref.value.to_numpy(), equal_nan=True)
    assert np.allclose(ours.wall_time.to_numpy(), ref.wall_time.to_numpy())


def test_nan_and_inf_are_kept(tmp_path):
    d = write_tensorboard(str(tmp_path / "run"), _scalars())
    t = read_tensorboard(os.path.join(d, os.listdir(d)[0])).table
    weird = t[t.metric.str.startswith("weird")].value.to_numpy()
    assert np.isnan(weird[1]) and np.isinf(weird[2])


def test_hparams_plugin_read(tmp_path):
    d = write_tensorboard(str(tmp_path / "run"), _scalars(), hparams={"lr": 0.1, "optimizer": "sgd", "batch_size": 4})
    res = read_tensorboard(os.path.join(d, os.listdir(d)[0]))
    assert res.hparams == {"lr": 0.1, "optimizer": "sgd", "batch_size": 4.0}


def test_truncated_file_reads_records_before(tmp_path):
    d = write_tensorboard(str(tmp_path / "run"), _scalars())
    f = os.path.join(d, os.listdir(d)[0])
    data = open(f, "rb").read()
    open(f, "wb").write(data[:-7])
    res = read_tensorboard(f)
    assert len(res.table) == 57
    assert any("truncated" in w and f in w for w in res.warnings)


def test_corrupt_record_skipped_and_later_ones_read(tmp_path):
    d = write_tensorboard(str(tmp_path / "run"), _scalars())
    f = os.path.join(d, os.listdir(d)[0])
    data = bytearray(open(f, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(f, "wb").write(bytes(data))
    res = read_tensorboard(f)
    assert 50 <= len(res.table) < 58
    assert any("byte" in w for w in res.warnings)
    assert res.table.step.max() == 49  # the records after the damage were read


def test_a_run_resumed_in_a_second_event_file_is_one_run_and_the_later_write_wins(tmp_path):
    st = np.arange(0, 60, dtype=float)
    write_tensorboard(str(tmp_path / "run"), {"loss": (st, np.ones(60))}, wall0=1.0e9, filename_suffix=".a")
    st2 = np.arange(40, 100, dtype=float)
    write_tensorboard(str(tmp_path / "run"), {"loss": (st2, np.full(60, 2.0))}, wall0=1.1e9, filename_suffix=".b")
    runs = discover([str(tmp_path / "run")]).runs
    assert len(runs) == 1
    run = load_run(runs[0])
    t = run.table
    assert len(t) == 100
    assert t[t.step == 50].value.iloc[0] == 2.0
    assert not run.segments
    assert any("resumed" in w and "59 -> 40" in w and "steps 40-59" in w and "20 earlier point(s) replaced" in w
               for w in run.warnings), run.warnings


def test_keras_train_validation_subdirs_are_one_run(tmp_path):
    st = np.arange(5, dtype=float)
    write_tensorboard(str(tmp_path / "k" / "train"), {"epoch_loss": (st, 1 / (st + 1))}, tf2=True)
    write_tensorboard(str(tmp_path / "k" / "validation"), {"epoch_loss": (st, 1.2 / (st + 1))}, tf2=True)
    runs = discover([str(tmp_path / "k")]).runs
    assert [r.name for r in runs] == [str(tmp_path / "k").split(os.sep)[-1]]
    t = load_run(runs[0]).table
    assert set(t.metric) == {"train/epoch_loss", "validation/epoch_loss"}


def test_empty_event_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "r").mkdir()
    f = tmp_path / "r" / "events.out.tfevents.1.host"
    f.write_bytes(b"")
    from logsleuth.errors import InputError

    with pytest.raises(InputError) as exc:
        load_run(discover([str(tmp_path / "r")]).runs[0])
    assert "r" in str(exc.value) and "no scalar" in str(exc.value)


def test_event_files_are_ordered_by_the_numbers_in_their_names(tmp_path):
    """A writer counter going from 9 to 10 must not put the later file first (string order would)."""
    import shutil

    st = np.arange(0, 60, dtype=float)
    d = tmp_path / "run"
    write_tensorboard(str(tmp_path / "a"), {"loss": (st, np.ones(60))}, wall0=1.0e9)
    write_tensorboard(str(tmp_path / "b"), {"loss": (st[40:], np.full(20, 2.0))}, wall0=1.1e9)
    d.mkdir()
    shutil.copy(next((tmp_path / "a").iterdir()), d / "events.out.tfevents.1700000000.host.42.9")
    shutil.copy(next((tmp_path / "b").iterdir()), d / "events.out.tfevents.1700000000.host.42.10")
    run = load_run(discover([str(d)]).runs[0])
    assert run.table[run.table.step == 50].value.iloc[0] == 2.0
