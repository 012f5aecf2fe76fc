"""W&B run files (.wandb): runs written by the real wandb client in offline mode (no login, no
network) read back as what was logged; a killed run, a resumed run, a failed exit and damage;
the framing (records split across 32 KiB blocks) on hand-made files."""

from __future__ import annotations

import glob
import math
import os
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from logsleuth.errors import InputError
from logsleuth.ingest import discover, load_run
from logsleuth.ingest.wandbfile import BLOCK, read_wandb

import writers

GOOD = """
import math, numpy as np, wandb
run = wandb.init(mode="offline", project="p", name="good", id="good0001",
                 config={"lr": 0.001, "batch_size": 32, "optimizer": {"name": "adam", "beta1": 0.9}})
for s in range(60):
    d = {"train/loss": 2.3 * math.exp(-s / 12) + 0.05, "val": {"loss": 2.4 * math.exp(-s / 12) + 0.1}, "acc": s / 60}
    if s % 20 == 0:
        d["sample"] = wandb.Image(np.zeros((4, 4, 3), dtype=np.uint8))
    if s == 30:
        d["grad_norm"] = float("nan")
    wandb.log(d, step=s)
run.summary["best_acc"] = 0.98
run.finish()
"""

FAILED = """
import wandb
run = wandb.init(mode="offline", project="p", name="failed", id="fail0001")
for s in range(20):
    wandb.log({"loss": 1.0 + s}, step=s)
run.finish(exit_code=2)
"""

KILLED = """
import math, os, time, wandb
run = wandb.init(mode="offline", project="p", name="killed", id="kill0001")
for s in range(3000):
    wandb.log({"loss": 2.3 * math.exp(-s / 300), "acc": s / 3000}, step=s)
time.sleep(3)  # W&B writes whole 32 KiB blocks: the full ones reach the file, the last does not
os._exit(3)
"""

RESUME = """
import sys, wandb
start = int(sys.argv[1])
run = wandb.init(mode="offline", project="p", id="resu0001", resume="allow")
for s in range(start, start + 20):
    wandb.log({"loss": 1.0 / (s + 1)}, step=s)
run.finish()
"""


def _run(cwd, script, *args):
    env = {**os.environ, "WANDB_SILENT": "true", "WANDB_MODE": "offline", "WANDB_DIR": str(cwd)}
    subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], cwd=cwd, env=env, timeout=120, check=False,
                   capture_output=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    pytest.importorskip("wandb")
    root = tmp_path_factory.mktemp("wandb_runs")
    _run(root, GOOD)
    _run(root, FAILED)
    _run(root, KILLED)
    _run(root, RESUME, "0")
    time.sleep(1.1)  # wandb names a run's directory by the second it started: two pieces in one second would share it
    _run(root, RESUME, "20")
    files = sorted(glob.glob(str(root / "wandb" / "*run-*" / "*.wandb")))
    by_id = {}
    for f in files:
        by_id.setdefault(os.path.basename(f)[len("run-"):-len(".wandb")], []).append(f)
    if "good0001" not in by_id:
        pytest.skip("the wandb client wrote no run file here")
    return root, by_id


def _series(run_result, name):
    t = run_result.table[run_result.table.metric.astype(str) == name].sort_values("step")
    return t.step.to_numpy(), t.value.to_numpy()


def test_history_config_and_nested_keys_are_what_was_logged(runs):
    _, by_id = runs
    res = read_wandb(by_id["good0001"][0])
    st, v = _series(res, "train/loss")
    assert np.array_equal(st, np.arange(60.0))
    assert np.allclose(v, 2.3 * np.exp(-np.arange(60) / 12) + 0.05)
    assert np.allclose(_series(res, "val/loss")[1], 2.4 * np.exp(-np.arange(60) / 12) + 0.1)  # a logged dict
    gst, gv = _series(res, "grad_norm")
    assert list(gst) == [30.0] and math.isnan(gv[0])
    assert res.hparams["lr"] == 0.001 and res.hparams["batch_size"] == 32 and res.hparams["optimizer.name"] == "adam"
    assert not any(str(m).startswith("sample") for m in res.table.metric.unique()), "media entries are not metrics"
    assert res.table.wall_time.notna().all() and res.table.wall_time.min() > 1.5e9
    assert not res.warnings, res.warnings


def test_a_run_dir_is_one_run_named_by_its_directory(runs):
    root, _ = runs
    found = discover([str(root)])
    names = [r.name for r in found.runs]
    good = [n for n in names if n.endswith("good0001")]
    assert len(good) == 1 and "/wandb/" in good[0]
    assert not any(n.endswith(("/files", "/logs", "/tmp")) for n in names), names


def test_a_failed_exit_is_said(runs):
    _, by_id = runs
    res = read_wandb(by_id["fail0001"][0])
    assert any("exited with code 2" in w for w in res.warnings), res.warnings


def test_a_killed_run_is_read_up_to_its_last_complete_record(runs):
    _, by_id = runs
    res = read_wandb(by_id["kill0001"][0])
    st, v = _series(res, "loss")
    assert 100 < st.size < 3000 and np.array_equal(st, np.arange(st.size, dtype=float))
    assert np.allclose(v, 2.3 * np.exp(-st / 300))
    assert any("no exit record" in w for w in res.warnings), res.warnings


def test_a_resumed_run_gives_both_pieces(runs):
    _, by_id = runs
    pieces = sorted(by_id["resu0001"])
    assert len(pieces) == 2
    steps = [_series(read_wandb(f), "loss")[0] for f in pieces]
    assert steps[0][0] == 0 and steps[1][0] == 20


def test_damage_is_skipped_to_the_next_block_with_its_offset(runs, tmp_path):
    _, by_id = runs
    data = bytearray(open(by_id["kill0001"][0], "rb").read())
    data[BLOCK + 100] ^= 0xFF  # inside the second block
    p = tmp_path / "run-damaged.wandb"
    p.write_bytes(bytes(data))
    res = read_wandb(str(p))
    assert any("corrupt record at byte" in w for w in res.warnings), res.warnings
    st, _ = _series(res, "loss")
    assert st.size > 100 and st[-1] > 2 * BLOCK // 200  # records after the damaged block are read


# ------------------------------------------------------------------ hand-made files (framing)

_history = writers.wandb_history
_write_log = writers.wandb_log


def test_records_split_across_blocks_are_joined(tmp_path):
    big = {f"layer{i}/grad": float(i) for i in range(4000)}  # one history row of ~100 KB: FIRST, MIDDLE..., LAST
    recs = [_history(s, {"loss": 1.0 / (s + 1)}) for s in range(50)] + [_history(50, {"loss": 0.5, **big})]
    recs += [_history(s, {"loss": 1.0 / (s + 1)}) for s in range(51, 60)]
    p = tmp_path / "run-split.wandb"
    p.write_bytes(_write_log(recs))
    res = read_wandb(str(p))
    st, _ = _series(res, "loss")
    assert np.array_equal(st, np.arange(60.0))
    assert _series(res, "layer3999/grad")[1].tolist() == [3999.0]
    assert [w for w in res.warnings if "exit" not in w] == []


def test_a_header_only_file_and_a_foreign_file_are_clear_errors(tmp_path):
    p = tmp_path / "run-empty.wandb"
    p.write_bytes(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    with pytest.raises(InputError, match="only the W&B header"):
        read_wandb(str(p))
    q = tmp_path / "run-other.wandb"
    q.write_bytes(b"not a wandb file at all")
    with pytest.raises(InputError, match="not a W&B run file"):
        read_wandb(str(q))
    assert not discover([str(q)]).runs


def test_load_run_reads_a_wandb_run_dir(tmp_path):
    d = tmp_path / "wandb" / "offline-run-20260101_000000-abcd1234"
    (d / "files").mkdir(parents=True)
    (d / "files" / "wandb-history.jsonl").write_text('{"_step": 0, "loss": 9.0}\n')  # an older client's copy
    (d / "run-abcd1234.wandb").write_bytes(_write_log([_history(s, {"loss": 1.0 / (s + 1)}) for s in range(30)]))
    found = discover([str(tmp_path)])
    assert [r.name.split("/")[-1] for r in found.runs] == ["offline-run-20260101_000000-abcd1234"]
    run = load_run(found.runs[0])
    assert len(run.table) == 30
