"""Property tests (hypothesis) over every reader: whatever the bytes, a file is read (with
warnings) or rejected with a message naming it; the analysis of its run never raises.
The long version is scripts/fuzz_readers.py (10,000+ inputs from the fault corpus)."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synth
import writers
from fuzzing import MONSTERS, MUTATORS, check_one, monster, mutate

SETTINGS = settings(max_examples=int(os.environ.get("LOGSLEUTH_FUZZ_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _seed_files(root: str) -> dict[str, tuple[str, str]]:
    """One valid log per reader: kind -> (path to mutate, path to read)."""
    c = synth.spiky(seed=3, n=300, epochs=6)
    out = {}
    p = os.path.join(root, "csv", "metrics.csv")
    writers.write_lightning_csv(os.path.dirname(p), c)
    out["csv"] = (p, p)
    p = os.path.join(root, "keras", "training.log")
    writers.write_keras_csv(p, c)
    out["keras"] = (p, p)
    p = os.path.join(root, "jsonl", "metrics.jsonl")
    writers.write_jsonl(p, c)
    out["jsonl"] = (p, p)
    p = os.path.join(root, "hf", "trainer_state.json")
    writers.write_trainer_state(p, c)
    out["hf"] = (p, p)
    d = os.path.join(root, "tb")
    writers.write_tensorboard(d, writers.curves_scalars(c))
    ev = next(os.path.join(d, f) for f in os.listdir(d) if "tfevents" in f)
    out["tensorboard"] = (ev, ev)
    d = writers.write_mlflow(os.path.join(root, "mlflow"), c)
    metric = os.path.join(d, "metrics", sorted(os.listdir(os.path.join(d, "metrics")))[0])
    out["mlflow"] = (metric, d)
    p = os.path.join(root, "text", "train.log")
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as fh:
        for i in range(min(200, c.steps.size)):
            fh.write(f"| epoch {1 + i // 50} | {i % 50:3d}/ 50 batches | lr 0.01 | loss {c.train_loss[i]:.4f} | ppl 3.1\n")
    out["text"] = (p, p)
    p = writers.write_wandb(os.path.join(root, "wandb", "run-20260101_000000-abcd1234"), c)
    out["wandb"] = (p, p)
    return out


KINDS = ("csv", "keras", "jsonl", "hf", "tensorboard", "mlflow", "text", "wandb")
READER = {"csv": "csv", "keras": "csv", "jsonl": "jsonl", "hf": "hf", "tensorboard": "tensorboard",
          "mlflow": "mlflow", "text": "text", "wandb": "wandb"}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("fuzzseeds"))
    files = _seed_files(root)
    return {k: (p, r, open(p, "rb").read()) for k, (p, r) in files.items()}


def _assert_survives(path: str, kind: str) -> None:
    out = check_one(path, kind)
    assert out.status != "crash", out.detail


def _survives_as(seed: tuple[str, str, bytes], data: bytes, reader: str) -> None:
    """Put `data` in place of the seed log, check its run, put the original back."""
    path, read_path, original = seed
    try:
        with open(path, "wb") as fh:
            fh.write(data)
        _assert_survives(read_path, reader)
    finally:
        with open(path, "wb") as fh:
            fh.write(original)


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(how=st.sampled_from(MUTATORS), seed=st.integers(0, 2**32 - 1), times=st.integers(1, 3))
def test_mutated_logs_are_read_or_rejected(seeds, kind, how, seed, times):
    original = seeds[kind][2]
    rnd = random.Random(seed)
    data = original
    for _ in range(times):
        data = mutate(data, how, rnd)
    _survives_as(seeds[kind], data, READER[kind])


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_are_read_or_rejected(seeds, kind, data):
    _survives_as(seeds[kind], data, READER[kind])


@SETTINGS
@given(values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
                                 st.sampled_from(["NaN", "inf", "-inf", "", "null", "1e999", "abc"])),
                       min_size=1, max_size=60))
def test_any_numbers_in_a_csv_column(tmp_path_factory, values):
    d = tmp_path_factory.mktemp("nums")
    p = d / "metrics.csv"
    p.write_text("step,train_loss\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    _assert_survives(str(p), "csv")


@pytest.mark.parametrize("fmt,name", [("csv", "metrics.csv"), ("jsonl", "metrics.jsonl"), ("csv", "training.log"),
                                      ("jsonl", "trainer_state.json")])
@pytest.mark.parametrize("kind", MONSTERS)
def test_monsters(tmp_path, kind, fmt, name):
    p = tmp_path / name
    p.write_bytes(monster(kind, fmt))
    reader = "hf" if name == "trainer_state.json" else fmt
    out = check_one(str(p), reader)
    assert out.status != "crash", out.detail
    if kind in ("empty", "binary", "binary_no_nul", "only_newlines"):
        assert out.status == "rejected"


def test_many_columns_keep_every_metric(tmp_path):
    from logsleuth.ingest import LogFile, read_file

    p = tmp_path / "metrics.csv"
    p.write_bytes(monster("many_columns", "csv"))
    res = read_file(LogFile(str(p), "csv"))
    assert res.table["metric"].nunique() == 10_000


def test_huge_numbers_are_kept_as_values(tmp_path):
    from logsleuth.ingest import LogFile, read_file

    p = tmp_path / "metrics.csv"
    p.write_bytes(monster("huge_numbers", "csv"))
    v = read_file(LogFile(str(p), "csv")).table["value"].to_numpy()
    assert v.size == 5 and np.isinf(v).sum() == 2 and np.isnan(v).sum() == 1 and (np.abs(v) == 1e308).sum() == 2


def test_non_finite_steps_are_dropped_with_a_warning(tmp_path):
    from logsleuth.ingest import discover, load_run

    p = tmp_path / "run" / "metrics.csv"
    p.parent.mkdir()
    p.write_text("step,train_loss\n1,0.9\n2,0.8\n1e999,0.7\nnan,0.6\n5,0.5\n")
    run = load_run(discover([str(p.parent)]).runs[0])
    assert run.table["step"].tolist() == [1.0, 2.0, 5.0]
    assert any("not a finite number" in w for w in run.warnings)
