"""CSV, JSON lines, trainer_state.json, MLflow and console-text readers, with real-life mess."""

from __future__ import annotations

import gzip
import json
import math
import os

import numpy as np
import pytest

from logsleuth.errors import InputError
from logsleuth.ingest import discover, load_run
from logsleuth.ingest.csvlog import read_csv_log
from logsleuth.ingest.discover import classify, looks_like_csv
from logsleuth.ingest.jsonl import read_jsonl, read_trainer_state
from logsleuth.ingest.mlflow import read_mlflow_run
from logsleuth.ingest.textlog import parse_line, read_textlog
from logsleuth.roles import build_series


def _metric(t, name):
    g = t[t.metric == name].sort_values("step")
    return g.step.to_numpy(), g.value.to_numpy()


def test_wide_csv(write):
    p = write("r/log.csv", "step,train_loss,val_loss\n1,2.0,\n2,1.5,1.7\n3,1.0,\n")
    t = read_csv_log(p).table
    st, v = _metric(t, "train_loss")
    assert list(st) == [1, 2, 3] and list(v) == [2.0, 1.5, 1.0]
    assert list(_metric(t, "val_loss")[0]) == [2]


def test_long_csv(write):
    p = write("r/scalars.csv", "step,tag,value\n0,loss,2.0\n1,loss,1.0\n0,acc,0.1\n")
    t = read_csv_log(p).table
    assert sorted(t.metric.unique()) == ["acc", "loss"]
    assert list(_metric(t, "loss")[1]) == [2.0, 1.0]


def test_lightning_sparse_rows_keep_epoch_as_metric(write):
    p = write("r/metrics.csv", "epoch,step,train_loss,val_loss\n0,0,2.0,\n0,1,1.9,\n0,1,,2.1\n1,2,1.5,\n")
    res = read_csv_log(p)
    assert res.fmt == "lightning_csv"
    assert list(_metric(res.table, "val_loss")[0]) == [1]
    assert "epoch" in set(res.table.metric)


def test_keras_history_without_epoch_column(write):
    p = write("r/history.csv", "loss,val_loss\n1.0,1.1\n0.5,0.6\n")
    res = read_csv_log(p)
    assert list(_metric(res.table, "loss")[0]) == [0, 1]
    assert any("row i is epoch i" in w for w in res.warnings)


def test_ultralytics_padded_headers(write):
    p = write("r/results.csv", "               epoch,      train/box_loss,   metrics/mAP50(B)\n"
                               "                   0,            0.066099,            0.28274\n"
                               "                   1,            0.043821,             0.3664\n")
    res = read_csv_log(p)
    assert set(res.table.metric) == {"train/box_loss", "metrics/mAP50(B)"}
    assert res.fmt == "yolo_results_csv"


def test_bom_crlf_nan_inf_and_non_numeric_cells(write):
    p = write("r/log.csv", "\ufeffstep,loss,acc\r\n1,nan,0.1\r\n2,inf,abc\r\n3,1.0,0.3\r\n")
    res = read_csv_log(p)
    _, v = _metric(res.table, "loss")
    assert math.isnan(v[0]) and math.isinf(v[1]) and v[2] == 1.0
    assert list(_metric(res.table, "acc")[1]) == [0.1, 0.3]
    assert any("non-numeric" in w and "acc" in w for w in res.warnings)


def test_duplicate_columns_and_truncated_last_line(write):
    p = write("r/log.csv", "step,loss,loss\n1,2.0,3.0\n2,1.0,2.0\n3,0.5")
    res = read_csv_log(p)
    assert {"loss", "loss#2"} <= set(res.table.metric)
    assert any("duplicate column" in w for w in res.warnings)
    assert any("last line is incomplete" in w and ":4" in w for w in res.warnings)
    assert list(_metric(res.table, "loss")[1]) == [2.0, 1.0, 0.5]


def test_gzip_named_csv_is_read(write):
    p = write("r/log.csv", gzip.compress(b"step,loss\n1,2.0\n2,1.0\n"))
    res = read_csv_log(p)
    assert len(res.table) == 2 and any("gzip" in w for w in res.warnings)


@pytest.mark.parametrize("content,msg", [(b"", "empty file"), (b"\x00\x01\x02binary" * 10, "binary"),
                                         (b"step,loss\n", None)])
def test_bad_csv_gives_clear_message(write, content, msg):
    p = write("r/log.csv", content)
    if msg is None:
        res = read_csv_log(p)
        assert res.table.empty and any("header only" in w for w in res.warnings)
    else:
        with pytest.raises(InputError) as exc:
            read_csv_log(p)
        assert p in str(exc.value) and msg in str(exc.value)


def test_jsonl_nested_flattened_and_nan_kept(write):
    lines = [{"step": 1, "train": {"loss": 2.0}, "lr": 0.1}, {"step": 2, "train": {"loss": float("nan")}},
             {"step": 3, "train": {"loss": 1.0}, "note": "text is ignored"}]
    p = write("r/m.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    t = read_jsonl(p).table
    st, v = _metric(t, "train/loss")
    assert list(st) == [1, 2, 3] and math.isnan(v[1])
    assert "note" not in set(t.metric)


def test_jsonl_truncated_last_line_and_garbage(write):
    p = write("r/m.jsonl", '{"step": 1, "loss": 2}\nnot json\n{"step": 2, "loss": 1}\n{"step": 3, "lo')
    res = read_jsonl(p)
    assert list(_metric(res.table, "loss")[0]) == [1, 2]
    assert any(":4" in w and "cut off" in w for w in res.warnings)
    assert any("line 2" in w for w in res.warnings)


def test_jsonl_time_only(write):
    p = write("r/log.jsonl", '{"time": "2024-03-02T03:00:00.016Z", "loss": 2.4}\n'
                             '{"time": "2024-03-02T03:00:01.016Z", "val_loss": 2.0}\n'
                             '{"time": "2024-03-02T03:00:02.016Z", "loss": 2.0}\n')
    res = read_jsonl(p)
    st, _ = _metric(res.table, "loss")
    assert list(st) == [0, 2]
    wall = res.table[res.table.metric == "loss"].wall_time.to_numpy()
    assert wall[1] - wall[0] == pytest.approx(2.0)


def test_mmdet_log_json_val_mode_and_iter_restarts(write):
    recs = [{"env_info": "x", "config": "y", "seed": 0},
            {"mode": "train", "epoch": 1, "iter": 50, "loss": 1.5, "lr": 0.02},
            {"mode": "train", "epoch": 1, "iter": 100, "loss": 1.2, "lr": 0.02},
            {"mode": "val", "epoch": 1, "iter": 10, "bbox_mAP": 0.2},
            {"mode": "train", "epoch": 2, "iter": 50, "loss": 1.0, "lr": 0.02}]
    p = write("r/20210812.log.json", "\n".join(json.dumps(r) for r in recs) + "\n")
    res = read_jsonl(p)
    assert "val/bbox_mAP" in set(res.table.metric)
    st, _ = _metric(res.table, "loss")
    assert list(st) == sorted(st) and len(set(st)) == 3
    assert res.hparams.get("seed") == 0


def test_wandb_internal_keys_dropped(write):
    p = write("r/wandb-history.jsonl", '{"_step": 0, "_runtime": 1.0, "_timestamp": 1709456400.0, "trainer/global_step": 5, "loss": 2}\n'
                                      '{"_step": 1, "_runtime": 2.0, "_timestamp": 1709456401.0, "trainer/global_step": 10, "loss": 1}\n')
    t = read_jsonl(p).table
    assert set(t.metric) == {"loss"} and list(_metric(t, "loss")[0]) == [5, 10]


def test_trainer_state(write):
    state = {"train_batch_size": 8, "log_history": [
        {"loss": 2.0, "learning_rate": 1e-3, "step": 10, "epoch": 0.5},
        {"eval_loss": 1.9, "eval_accuracy": 0.3, "step": 10, "epoch": 0.5},
        {"loss": float("nan"), "learning_rate": 1e-3, "step": 20, "epoch": 1.0},
        {"train_loss": 1.5, "train_runtime": 3.0, "step": 20}]}
    p = write("r/trainer_state.json", json.dumps(state))
    res = read_trainer_state(p)
    assert res.hparams["train_batch_size"] == 8
    assert "train_loss" not in set(res.table.metric)  # the summary row is not a logging event
    st, v = _metric(res.table, "loss")
    assert list(st) == [10, 20] and math.isnan(v[1])


def test_trainer_state_not_json(write):
    p = write("r/trainer_state.json", '{"log_history": [1, 2')
    with pytest.raises(InputError) as exc:
        read_trainer_state(p)
    assert "not valid JSON" in str(exc.value) and ":1:" in str(exc.value)


def test_mlflow_file_store(tmp_path):
    from synth import healthy
    from writers import write_mlflow

    run = write_mlflow(str(tmp_path), healthy(n=100, epochs=5))
    res = read_mlflow_run(run)
    assert set(res.table.metric) == {"loss", "val_loss"} and res.hparams["lr"] == 0.001
    found = discover([str(tmp_path)]).runs
    assert len(found) == 1 and found[0].files[0].kind == "mlflow"


def test_console_text_log(write):
    text = ("Namespace(lr=20, epochs=2)\n"
            "| epoch   1 |   200/ 2983 batches | lr 20.0000 | ms/batch 11.77 | loss  9.09 | ppl  8835.03\n"
            "| epoch   1 |   400/ 2983 batches | lr 20.0000 | ms/batch 11.71 | loss  7.33 | ppl  1532.86\n"
            "| end of epoch   1 | time: 36.35s | valid loss  5.61 | valid ppl   273.43\n"
            "| epoch   2 |   200/ 2983 batches | lr 20.0000 | ms/batch 11.77 | loss  5.09 | ppl  835.03\n")
    p = write("r/train_log.md", text)
    res = read_textlog(p)
    st, v = _metric(res.table, "loss")
    assert list(st) == [200, 400, 3183] and list(v) == [9.09, 7.33, 5.09]
    assert list(_metric(res.table, "valid loss")[0]) == [2983]


def test_side_by_side_logs_are_separate_runs(write, tmp_path):
    for seed in (1, 2, 3):
        write(f"d/metrics_seed{seed}.jsonl", '{"step": 1, "loss": 2}\n{"step": 2, "loss": 1}\n')
    runs = discover([str(tmp_path / "d")]).runs
    assert len(runs) == 3 and runs[0].name.endswith("d/metrics_seed1")


def test_symlink_loop_and_outside_link(tmp_path, write):
    write("root/a/m.jsonl", '{"step": 1, "loss": 2}\n{"step": 2, "loss": 1}\n')
    write("outside/secret.jsonl", '{"step": 1, "loss": 2}\n')
    os.symlink(str(tmp_path / "root"), str(tmp_path / "root" / "a" / "loop"))
    os.symlink(str(tmp_path / "outside" / "secret.jsonl"), str(tmp_path / "root" / "a" / "link.jsonl"))
    found = discover([str(tmp_path / "root")])
    assert len(found.runs) == 1
    assert any("outside" in m for m in found.messages)


def test_a_directory_that_cannot_be_listed_is_named_and_the_others_are_walked(tmp_path, write, monkeypatch):
    """(Root reads any directory, so the refusal is simulated where the walk lists one.)"""
    import importlib

    disc = importlib.import_module("logsleuth.ingest.discover")  # the module (the package exports the function)
    for d in ("a", "b", "c"):
        write(f"root/{d}/run/m.jsonl", '{"step": 1, "loss": 2}\n{"step": 2, "loss": 1}\n')
    real = os.scandir
    locked = str(tmp_path / "root" / "b")

    def scandir(path):
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real(path)

    monkeypatch.setattr(disc.os, "scandir", scandir)
    found = disc.discover([str(tmp_path / "root")])
    assert [r.name.split("/")[1] for r in found.runs] == ["a", "c"]
    assert any(m.startswith(locked) and "cannot list" in m for m in found.messages)


def test_broken_run_does_not_stop_others(write, tmp_path):
    write("t/good/m.jsonl", '{"step": 1, "loss": 2}\n{"step": 2, "loss": 1}\n')
    write("t/bad/metrics.csv", "")
    from logsleuth.scan import analyze_paths

    res = analyze_paths([str(tmp_path / "t")])
    status = {d.run.split("/")[-1]: d.status for d in res.diagnoses}
    assert status == {"good": "ok", "bad": "error"}
    bad = next(d for d in res.diagnoses if d.status == "error")
    assert "metrics.csv" in bad.error and "empty" in bad.error


def test_large_jsonl_fast_path_matches_exact_path(write, monkeypatch):
    """Files above 1 MiB go through pyarrow; the result must equal the line-by-line reader's."""
    pytest.importorskip("pyarrow", reason="the [fast] extra is not installed")
    import logsleuth.ingest.jsonl as J

    rng = np.random.default_rng(0)
    lines = []
    for s in range(20000):
        rec = {"step": s, "train": {"loss": float(rng.random())}, "lr": 0.1, "note": "x"}
        if s % 500 == 0:
            rec["val_loss"] = float(rng.random())
        if s == 7:
            rec["train"]["loss"] = float("inf")
        if s == 9:
            rec["train"]["loss"] = float("nan")  # a written NaN is evidence, an absent key is not
        lines.append(json.dumps(rec))
    p = write("r/big.jsonl", "\n".join(lines) + "\n")
    monkeypatch.setattr(J, "FAST_JSONL_BYTES", 1000)
    fast = J._fast_jsonl(p)
    assert fast is not None
    monkeypatch.setattr(J, "FAST_JSONL_BYTES", 1 << 60)
    exact = J.read_jsonl(p)
    a = fast.table.assign(metric=fast.table.metric.astype(str)).sort_values(["metric", "step"]).reset_index(drop=True)
    b = exact.table.assign(metric=exact.table.metric.astype(str)).sort_values(["metric", "step"]).reset_index(drop=True)
    assert list(a.metric) == list(b.metric)
    assert np.array_equal(a.step, b.step) and np.array_equal(a.value, b.value, equal_nan=True)
    assert a.value.isna().sum() == 1 and len(a[a.metric == "val_loss"]) == 40


# ---------------------------------------------------------------- logs found by content, not name

@pytest.mark.parametrize("line,want", [
    ("Epoch 3 step 1200: loss=0.4312, acc=0.91, lr=1e-3", {"Epoch": 3.0, "step": 1200.0, "loss": 0.4312, "acc": 0.91, "lr": 1e-3}),
    ("2024-05-01 10:01:00,123 - INFO - Epoch [001/30] TrainLoss=1.8695 TrainAcc=48.54% | ValLoss=1.3028 ValAcc=60.94% | LR=1.00e-04",
     {"TrainLoss": 1.8695, "TrainAcc": 0.4854, "ValLoss": 1.3028, "ValAcc": 0.6094, "LR": 1e-4}),  # percent -> fraction; names as logged
    ("iter 1200/5000 loss 0.41 acc 87.5%", {"iter": 1200.0, "loss": 0.41, "acc": 0.875}),
    ("INFO:root:epoch 2 train_loss 0.4 val_loss 0.5", {"epoch": 2.0, "train_loss": 0.4, "val_loss": 0.5}),
    ("[2024-05-01 10:00:00] loss 0.3 acc 0.2", {"loss": 0.3, "acc": 0.2}),
    ("| end of epoch   1 | time: 36.35s | valid loss  5.61 | valid ppl   273.43", {"epoch": 1.0, "time": 36.35, "valid loss": 5.61, "valid ppl": 273.43}),
    ("Iter 100: mAP50 0.5 box_loss 0.3", {"Iter": 100.0, "mAP50": 0.5, "box_loss": 0.3}),
    ("Namespace(batch_size=20, clip=0.25, lr=20, annealing_loss_improvement_pct=1.0)", {}),
    ("step 4 | eval_return 17.75", {"step": 4.0, "eval_return": 17.75}),  # an RL evaluation on a line of its own
    # a regression's errors are metrics too, bare or prefixed; a word that merely contains one is not
    ("epoch 0 | step 1 | train_mse 1.6506 | grad_norm 2.0415", {"epoch": 0.0, "step": 1.0, "train_mse": 1.6506, "grad_norm": 2.0415}),
    ("step 10 | train_mae 7.9584", {"step": 10.0, "train_mae": 7.9584}),
    ("step 3 | train_huber 1.6672", {"step": 3.0, "train_huber": 1.6672}),
    ("Epoch 3 rmse=0.5 val_rmse=0.6", {"Epoch": 3.0, "rmse": 0.5, "val_rmse": 0.6}),
    ("maestro 1 remained 2", {}),
])
def test_console_line_fields(line, want):
    assert parse_line(line) == pytest.approx(want)


def _python_logging_log(n=30):
    lines = ["2024-05-01 10:00:00,001 - INFO - Starting training"]
    for e in range(1, n + 1):
        lines.append(f"2024-05-01 10:{e:02d}:00,123 - INFO - Epoch [{e:03d}/{n}] TrainLoss={1.87 * 0.9 ** e:.4f} "
                     f"TrainAcc={48.5 + e:.2f}% | ValLoss={1.30 * 0.93 ** e:.4f} ValAcc={60.9 + e * 0.5:.2f}% | LR=1.00e-04")
    return "\n".join(lines) + "\n"


def _keras_csv(n=20):
    rows = ["epoch,accuracy,loss,val_accuracy,val_loss"]
    rows += [f"{e},{0.5 + e * 0.02:.4f},{1.5 * 0.9 ** e:.4f},{0.5 + e * 0.018:.4f},{1.6 * 0.92 ** e:.4f}" for e in range(n)]
    return "\n".join(rows) + "\n"


def test_logs_with_unexpected_names_are_found_by_content(write):
    csv_log = write("jobs/a/training_logs221017(3).log", _keras_csv())
    text_log = write("jobs/b/run_2024.log", _python_logging_log())
    write("jobs/c/notes.txt", "remember to rerun with a smaller lr\nthe accuracy looked fine\n")
    assert classify(csv_log) == "csv" and classify(text_log) == "text"
    found = discover([os.path.dirname(os.path.dirname(csv_log))])
    assert sorted(r.name.split("/")[-1] for r in found.runs) == ["a", "b"]
    series = build_series(load_run(next(r for r in found.runs if r.name.endswith("b"))))
    # the names as logged; the roles read from them (issue 28 point 5)
    assert sorted(series) == ["LR", "TrainAcc", "TrainLoss", "ValAcc", "ValLoss"]
    assert series["TrainLoss"].role.name == "train_loss" and series["ValAcc"].role.name == "val_accuracy"
    assert series["ValLoss"].role.name == "val_loss" and series["LR"].role.name == "lr"
    assert series["TrainLoss"].values.size == 30


@pytest.mark.parametrize("text,want", [
    (_keras_csv(), True),
    ("epoch\tloss\tval_loss\n0\t1.0\t1.1\n1\t0.9\t1.0\n2\t0.8\t0.9\n", True),
    ("name,comment\nalice,hello there\nbob,how are you\ncarol,fine\n", False),  # a table, but not of numbers
    ("loss 0.5 acc 0.3\nloss 0.4 acc 0.4\nloss 0.3 acc 0.5\n", False),
    ("a,b\n1,2\n", False),  # too short to tell
])
def test_looks_like_csv(text, want):
    assert looks_like_csv(text) is want


def test_a_directory_without_logs_says_what_it_looked_at(write):
    d = os.path.dirname(write("stuff/notes.txt", "hello\n"))
    write("stuff/x.log", "a,b\n")
    found = discover([d])
    msgs = found.messages
    assert any("no training log found among 2 file(s)" in m for m in msgs), msgs
    assert any(m.startswith("skipped ") and "notes.txt: no metric lines" in m for m in msgs), msgs
    assert sum(m.startswith("skipped ") for m in msgs) == 2 and found.empty == [d]


def test_analyze_of_a_directory_with_nothing_readable_exits_2(write):
    from click.testing import CliRunner

    from logsleuth.cli import main

    d = os.path.dirname(write("stuff/notes.txt", "hello\n"))
    res = CliRunner().invoke(main, ["analyze", "--no-cache", d])
    assert res.exit_code == 2 and "skipped" in res.output and "notes.txt" in res.output


@pytest.mark.parametrize("name,body", [
    ("r/metrics.csv", "step,loss\n" + "".join(f"{i},{1.0 / (i + 1):.4f}\n" for i in range(50))),
    ("r/log.jsonl", "".join(f'{{"step": {i}, "loss": {1.0 / (i + 1):.4f}}}\n' for i in range(50))),
    ("r/train.log", "".join(f"| epoch {i} | loss {1.0 / (i + 1):.4f} | acc 0.5\n" for i in range(50))),
])
def test_a_nul_tail_from_a_crash_is_dropped_with_a_warning(write, name, body):
    """A job killed before its buffered lines reached a preallocated file leaves NUL bytes at
    the end: the lines before them are read, and the warning says where the NULs begin."""
    p = write(name, body.encode() + b"\x00" * 5000)
    run = discover([os.path.dirname(p)]).runs[0]
    data = load_run(run)
    assert len(data.table) >= 50
    assert any(f"5000 NUL bytes at the end from byte {len(body.encode())}" in w for w in data.warnings), data.warnings


def test_nul_bytes_inside_a_text_log_still_mean_binary(write):
    p = write("r/train.log", b"loss 0.5 acc 0.1\n" * 3 + b"\x00\x01\x02" + b"loss 0.4 acc 0.2\n" * 3)
    with pytest.raises(InputError, match="binary content"):
        read_textlog(p)


# ---------------------------------------------------------------- console output people have

def _hf_console(n=40):
    out = ["***** Running training *****", "  Num examples = 1000", "  Num Epochs = 2",
           "  0%|          | 0/200 [00:00<?, ?it/s]"]
    for i in range(1, n + 1):
        out.append(f" {i * 5 / 2:.0f}%|##        | {i * 5}/200 [00:{i:02d}<00:30,  6.1it/s]\r"
                   f"{{'loss': {2.3 * 0.95 ** i:.4f}, 'grad_norm': 1.5, 'learning_rate': {5e-5 * (1 - i / n):.2e}, 'epoch': {i * 2 / n:.2f}}}")
        if i % 10 == 0:
            out.append("/usr/lib/python3/site-packages/torch/nn/modules/module.py:123: UserWarning: something deprecated")
            out.append(f"{{'eval_loss': {2.4 * 0.95 ** i:.4f}, 'eval_accuracy': {0.5 + i / 100:.3f}, 'eval_runtime': 1.2, "
                       f"'epoch': {i * 2 / n:.2f}}}")
    out.append("{'train_runtime': 100.2, 'train_samples_per_second': 20.1, 'train_loss': 0.61, 'epoch': 2.0}")
    return "\n".join(out) + "\n"


def _keras_console(epochs=8, n=50):
    out = []
    for e in range(1, epochs + 1):
        out.append(f"Epoch {e}/{epochs}")
        bar = "".join(f"{i:4d}/{n} [{'=' * (i * 30 // n):.<30}] - ETA: 0:0{9 - i % 9} - loss: {2.0 * 0.9 ** e + 0.1:.4f} - "
                      f"accuracy: {0.5 + e / 20:.4f}\r" for i in range(1, n))
        out.append(bar + f"{n}/{n} [==============================] - 5s 3ms/step - loss: {2.0 * 0.9 ** e:.4f} - "
                   f"accuracy: {0.5 + e / 20:.4f} - val_loss: {2.1 * 0.9 ** e:.4f} - val_accuracy: {0.5 + e / 22:.4f}")
    return "\n".join(out) + "\n"


def _lightning_console(epochs=3, n=100):
    out = ["GPU available: False, used: False", "  | Name  | Type   | Params", "0 | model | Linear | 1.0 K"]
    for e in range(epochs):
        bar = "".join(f"Epoch {e}:  {i}%|##   | {i}/{n} [00:01<00:02, 40.1it/s, loss={2.0 * 0.99 ** (e * n + i):.3f}, v_num=3]\r"
                      for i in range(1, n + 1))
        out.append(bar)
    return "\n".join(out) + "\n"


def _series_of(series, name):
    s = series[name]
    return s.steps, s.values


def test_hugging_face_trainer_console(write):
    p = write("job/slurm-123.out", _hf_console())
    run = load_run(discover([os.path.dirname(p)]).runs[0])
    series = build_series(run)
    assert series["loss"].role.name == "train_loss" and series["eval_loss"].role.name == "val_loss"
    assert series["eval_accuracy"].role.name == "val_accuracy" and series["learning_rate"].role.name == "lr"
    st, v = _series_of(series, "loss")
    assert st.size == 40 and st[0] == pytest.approx(0.05) and v[0] == pytest.approx(2.3 * 0.95)
    assert _series_of(series, "eval_loss")[0].tolist() == pytest.approx([0.5, 1.0, 1.5, 2.0])  # on the same epoch axis
    assert "train_runtime" not in series and "train_loss" not in series  # the end-of-training summary is not a step


def test_keras_progress_lines_with_carriage_returns(write):
    p = write("job/train.log", _keras_console())
    series = build_series(load_run(discover([os.path.dirname(p)]).runs[0]))
    st, v = _series_of(series, "val_loss")
    assert st.tolist() == [50.0 * e for e in range(1, 9)]  # epoch e ends at step e x 50 batches
    assert v == pytest.approx([2.1 * 0.9 ** e for e in range(1, 9)], rel=1e-3)
    assert series["val_accuracy"].role.name == "val_accuracy" and series["loss"].role.name == "train_loss"
    assert _series_of(series, "loss")[0].size == 8 * 50  # every redrawn bar is a batch of its epoch


def test_lightning_progress_bar(write):
    p = write("job/output.txt", _lightning_console())
    series = build_series(load_run(discover([os.path.dirname(p)]).runs[0]))
    st, v = _series_of(series, "loss")
    assert st.tolist() == list(np.arange(1.0, 301.0))
    assert v[0] == pytest.approx(2.0 * 0.99, abs=1e-3)  # epochs from 0: epoch e, batch i is step e x 100 + i
    assert "v_num" not in series


def test_inspect_counts_and_shows_the_lines_that_are_not_metrics(write):
    from click.testing import CliRunner

    from logsleuth.cli import main

    p = write("job/slurm-7.out", _hf_console())
    res = CliRunner().invoke(main, ["inspect", "--format", "json", os.path.dirname(p)])
    ig = json.loads(res.output)["runs"][0]["ignored_lines"][0]
    # 4 header lines, 40 progress bars, 4 interleaved warnings, the end-of-training summary
    assert ig["count"] == 49 and ig["first"][0] == {"line": 1, "text": "***** Running training *****"}
    text = CliRunner().invoke(main, ["inspect", os.path.dirname(p)]).output
    assert "ignored: 49 line(s)" in text


def test_a_line_that_names_its_step_is_put_at_that_step(write):
    p = write("job/train.log", "".join(f"epoch 1 step {100 * i} loss {1.0 / i:.4f} acc {50 + i}%\n" for i in range(1, 20)))
    series = build_series(load_run(discover([os.path.dirname(p)]).runs[0]))
    st, v = _series_of(series, "loss")
    assert st.tolist() == [100.0 * i for i in range(1, 20)] and "step" not in series
    assert v[0] == 1.0
    assert _series_of(series, "acc")[1][0] == pytest.approx(0.51)


def test_large_jsonl_without_pyarrow_takes_the_exact_path(write, monkeypatch):
    """pyarrow is the optional [fast] extra: without it a large file is read line by line, whole."""
    import sys

    import logsleuth.ingest.jsonl as J

    p = write("r/big.jsonl", "".join(json.dumps({"step": s, "loss": 1.0 / (s + 1)}) + "\n" for s in range(3000)))
    monkeypatch.setattr(J, "FAST_JSONL_BYTES", 1000)
    # what an install without the extra looks like to the reader (pandas may hold pyarrow itself)
    monkeypatch.setitem(sys.modules, "pyarrow.json", None)
    assert J._fast_jsonl(p) is None
    res = J.read_jsonl(p)
    loss = res.table[res.table.metric.astype(str) == "loss"]
    assert len(loss) == 3000 and loss.value.iloc[-1] == pytest.approx(1 / 3000)


@pytest.mark.parametrize("ending, incomplete", [("3000,0.5,0.7\n", False), ("3000,0.5", True)])
def test_a_large_plain_csv_read_by_path_still_sees_its_last_line(tmp_path, ending, incomplete):
    """A file past the sniffed head goes to pandas by path; whether its last line is cut off is
    read from its last byte, not from the head."""
    p = tmp_path / "log.csv"
    rows = "".join(f"{i},{1 / (i + 1):.6f},{i / 3000:.6f}\n" for i in range(2999))
    p.write_text("step,loss,acc\n" + rows + ending)
    assert p.stat().st_size > 65536
    res = read_csv_log(str(p))
    assert any("last line is incomplete" in w for w in res.warnings) == incomplete
    loss = res.table[res.table["metric"] == "loss"]
    assert len(loss) == 3000 and loss["step"].iloc[-1] == 3000


def test_blanks_after_separators_past_the_head_are_read_like_the_others(tmp_path):
    """Blanks after separators are skipped by the parser only when the head has them; cells
    with blanks further down are coerced the same way (numbers, and 'nan' as evidence)."""
    p = tmp_path / "log.csv"
    rows = "".join(f"{i},{1 / (i + 1):.6f}\n" for i in range(6000))
    p.write_text("step,loss\n" + rows + "6000, 0.25\n6001, nan\n6002,  inf \n")
    assert p.stat().st_size > 65536
    res = read_csv_log(str(p))
    _, v = _metric(res.table, "loss")
    assert v.size == 6003 and v[6000] == 0.25 and math.isnan(v[6001]) and math.isinf(v[6002])


@pytest.mark.parametrize("steps", ["ordered", "repeated", "shuffled"])
def test_the_long_table_of_a_wide_csv_is_grouped_by_metric_whatever_the_step_order(tmp_path, steps):
    """Float columns with a value in every row are read column after column out of the parsed
    block; rows logged twice (a resumed run) keep the later write, rows out of order are sorted."""
    n = 50
    st = list(range(n))
    if steps == "repeated":
        st = st + list(range(40, n))  # resumed from step 40: the second write wins
    elif steps == "shuffled":
        st = st[::-1]
    lines = [f"{s},{(2.0 if i < n else 3.0) + s / 10},{0.1 * s},{1.0 - s / 100}" for i, s in enumerate(st)]
    p = tmp_path / "m.csv"
    p.write_text("step,val_loss,acc,lr\n" + "\n".join(lines) + "\n")
    src = discover([str(p)]).runs[0]
    run = load_run(src)
    t = run.table
    codes = t["metric"].cat.codes.to_numpy()
    assert np.all(np.diff(codes) >= 0)  # grouped by metric
    for name, f in (("val_loss", lambda s: (3.0 if steps == "repeated" and s >= 40 else 2.0) + s / 10),
                    ("acc", lambda s: 0.1 * s), ("lr", lambda s: 1.0 - s / 100)):
        rows = t[t["metric"] == name]
        assert list(rows["step"]) == list(range(n)), name
        assert np.allclose(rows["value"].to_numpy(), [f(s) for s in range(n)]), name
    resumed = [w for w in run.warnings if "resumed" in w]
    assert bool(resumed) == (steps == "repeated")
    if resumed:  # 10 rows of 3 metrics written again from step 40
        assert "49 -> 40" in resumed[0] and "steps 40-49" in resumed[0] and "30 earlier point(s) replaced" in resumed[0]


def test_a_saved_keras_history_json_is_read_one_point_per_epoch(tmp_path):
    from logsleuth.ingest import discover, load_run

    run = tmp_path / "r"
    run.mkdir()
    (run / "training_history.json").write_text(
        '{"loss": [2.3, 1.2, 0.8, NaN], "val_loss": [2.4, 1.4, 1.0, 1.1], "accuracy": [0.1, 0.5, 0.7, 0.8], "lr": [0.001, 0.001, 0.001, 0.001]}')
    (run / "config.json").write_text('{"model": "resnet", "layers": [64, 128]}')  # a config is not a log
    srcs = discover([str(run)]).runs
    assert len(srcs) == 1 and [f.kind for f in srcs[0].files] == ["history"]
    data = load_run(srcs[0])
    t = data.table
    assert data.formats == ("keras_history",)
    assert sorted(t.metric.unique()) == ["accuracy", "loss", "lr", "val_loss"]
    loss = t[t.metric == "loss"]
    assert list(loss.step) == [0.0, 1.0, 2.0, 3.0] and np.isnan(loss.value.iloc[-1])


def test_a_nested_history_with_lists_of_unequal_length_is_read_and_warned(tmp_path):
    from logsleuth.ingest import discover, load_run

    p = tmp_path / "history.json"
    p.write_text('{"epoch": [0, 1, 2], "history": {"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.7]}}')
    data = load_run(discover([str(p)]).runs[0])
    assert sorted(data.table.metric.unique()) == ["loss", "val_loss"]
    assert any("differ in length" in w for w in data.warnings)
