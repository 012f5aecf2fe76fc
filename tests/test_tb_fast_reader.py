"""The compiled TensorBoard reader returns exactly what tbparse returns for scalars, on files
from several writers, with damage handled like the protobuf reader."""

from __future__ import annotations

import os

import numpy as np
import pytest

from logsleuth.ingest.tbfast import HAVE_NUMBA, read_tensorboard_fast
from logsleuth.ingest.tensorboard import read_tensorboard, read_with_tbparse

from writers import write_tensorboard

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")


def _norm(t):
    t = t.assign(metric=t.metric.astype(str))
    return t.sort_values(["metric", "step", "wall_time"], kind="stable").reset_index(drop=True)


def _same(a, b):
    a, b = _norm(a), _norm(b)
    assert len(a) == len(b)
    assert list(a.metric) == list(b.metric)
    assert np.array_equal(a.step.to_numpy(), b.step.to_numpy())
    assert np.allclose(a.value.to_numpy(), b.value.to_numpy(), equal_nan=True, rtol=0, atol=0)
    assert np.allclose(a.wall_time.to_numpy(), b.wall_time.to_numpy(), rtol=0, atol=1e-6)


def _files(d):
    return [os.path.join(d, f) for f in sorted(os.listdir(d))]


def _scalars(seed, n=300):
    rng = np.random.default_rng(seed)
    st = np.arange(n, dtype=float) * 3
    v = rng.normal(0, 1, n) * 10.0 ** rng.integers(-30, 30, n)
    v[::37] = np.nan
    v[5] = np.inf
    v[6] = -np.inf
    return {"loss": (st, v), "Loss/train": (st[::2], np.abs(v[::2])), "ünïcode/täg": (st[:10], np.arange(10.0)),
            "deep/a/b/c": (st[::50], np.zeros(len(st[::50])))}


@pytest.mark.parametrize("tf2", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_tbparse(tmp_path, tf2, seed):
    d = write_tensorboard(str(tmp_path), _scalars(seed), tf2=tf2, hparams={"lr": 0.1, "opt": "adam"})
    for f in _files(d):
        fast = read_tensorboard_fast(f)
        _same(fast.table, read_with_tbparse(f).table)
        assert fast.hparams == {"lr": 0.1, "opt": "adam"}


def test_tensorboardx_writer_with_images_and_histograms(tmp_path):
    tbx = pytest.importorskip("tensorboardX")
    w = tbx.SummaryWriter(str(tmp_path))
    rng = np.random.default_rng(0)
    for s in range(200):
        w.add_scalar("train/loss", float(np.exp(-s / 50)), s)
        w.add_scalars("grouped", {"a": s * 0.5, "b": -s}, s)
        if s % 50 == 0:
            w.add_histogram("weights", rng.normal(size=100), s)
            w.add_image("img", rng.random((3, 8, 8)), s)
            w.add_text("note", f"step {s}", s)
    w.close()
    for root, _dirs, files in os.walk(tmp_path):
        for f in files:
            p = os.path.join(root, f)
            _same(read_tensorboard_fast(p).table, read_with_tbparse(p).table)


def test_damage_is_handled_like_the_protobuf_reader(tmp_path):
    d = write_tensorboard(str(tmp_path), _scalars(3))
    f = _files(d)[0]
    data = bytearray(open(f, "rb").read())
    data[len(data) // 3] ^= 0x5A
    data[2 * len(data) // 3 + 1] ^= 0xFF
    open(f, "wb").write(bytes(data[:-5]))
    fast, slow = read_tensorboard_fast(f), read_tensorboard(f)
    _same(fast.table, slow.table)
    assert len(fast.warnings) == len(slow.warnings) >= 2
    assert all("byte" in w for w in fast.warnings)


def test_empty_and_garbage_files(tmp_path):
    p = tmp_path / "events.out.tfevents.1.x"
    p.write_bytes(b"")
    assert read_tensorboard_fast(str(p)).table.empty
    p.write_bytes(os.urandom(5000))
    res = read_tensorboard_fast(str(p))
    assert res.table.empty and res.warnings


def _corpus_event_files():
    from conftest import FAULT_CORPUS, REAL_LOGS

    out = []
    for root in (FAULT_CORPUS, REAL_LOGS):
        for dirpath, _dirs, names in os.walk(root):
            out += [os.path.join(dirpath, n) for n in sorted(names) if "tfevents" in n]
    return sorted(out)


@pytest.mark.parametrize("path", _corpus_event_files(), ids=os.path.basename)
def test_matches_tbparse_on_every_corpus_event_file(path):
    """Real writers: TF1/TF2 Keras, Lightning, and torch.utils.tensorboard's SummaryWriter
    (YOLOv5 in real_logs/tensorboard/r40 and r41, RETFound/MAE in r37)."""
    _same(read_tensorboard_fast(path).table, read_with_tbparse(path).table)
