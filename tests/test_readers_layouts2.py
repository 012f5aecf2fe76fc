"""More real-world layouts: logger lines in a file named like a CSV log, saved histories whose
settings come first or whose records stand alone, and console layouts (llm.c `s:N trl:X` logs,
step and epoch blocks of one field per line, RL episode summaries, space-aligned tables).  Each
is read with its metrics and steps, and a near neighbour stays with the reader it had."""

from __future__ import annotations

import json

import pytest

from logsleuth.ingest.discover import classify
from logsleuth.ingest.jsonl import read_keras_history
from logsleuth.roles import infer_role

from conftest import load_one as _run
from conftest import series_of as _series

# -- logger lines in a file named training.log ---------------------------------------------------

def test_logger_lines_in_training_log_are_text_not_csv(write):
    lines = [f"2023-05-15 22:50:{10 + e:02d},398 INFO:Epoch {e}: Train Loss={1 / e:.4f}, Val Loss={1.1 / e:.4f}"
             for e in range(1, 6)]
    p = write("r/training.log", "\n".join(lines) + "\n")
    assert classify(p) == "text"
    t = _run(p).table
    assert _series(t, "Train Loss")[0] == [1, 2, 3, 4, 5]
    assert infer_role("Val Loss").split == "val"


def test_keras_csvlogger_training_log_stays_csv(write):
    p = write("r/training.log", "epoch,loss,val_loss\n0,1.0,1.1\n1,0.5,0.6\n2,0.4,0.5\n")
    assert classify(p) == "csv"


# -- saved histories ---------------------------------------------------------------------------

def test_keras_history_with_settings_first(write):
    doc = {"model_type": "baseline_cnn", "data_augmentation": False, "epochs": 3,
           "accuracy": [0.1, 0.2, 0.3], "val_accuracy": [0.1, 0.15, 0.2], "loss": [3.0, 2.5, 2.0],
           "val_loss": [3.1, 2.9, 2.8], "best_epoch": 2, "final_test_accuracy": 0.3}
    p = write("r/training_history.json", json.dumps(doc, indent=2))
    assert classify(p) == "history"
    res = read_keras_history(p)
    assert set(res.table.metric) == {"accuracy", "val_accuracy", "loss", "val_loss"}  # the settings are no metrics
    assert _series(res.table, "val_loss") == ([0, 1, 2], [3.1, 2.9, 2.8])


def test_a_list_of_epoch_records(write):
    recs = [{"epoch": e, "train_loss": 0.7 - e / 100, "val_acc": 0.5, "eer": 0.5} for e in range(1, 5)]
    p = write("r/training_history.json", json.dumps(recs, indent=2).replace("\n", "\r\n"))
    assert classify(p) == "history"
    res = read_keras_history(p)
    assert res.fmt == "history_records"
    assert _series(res.table, "train_loss")[0] == [1, 2, 3, 4]
    assert infer_role("eer").kind == "error"  # an equal error rate: lower is better


def test_json_lists_that_are_not_histories(write):
    assert classify(write("a/shapes.json", json.dumps({"name": "x", "input_shape": [3, 224, 224]}))) is None
    assert classify(write("b/items.json", json.dumps([{"id": 1, "label": "cat"}, {"id": 2, "label": "dog"}]))) is None


# -- llm.c's main.log ----------------------------------------------------------------------------

def test_llmc_log_old_modded_nanogpt_lines(write):
    # modded-nanogpt's early records: `s:N trl:x` every step, `s:N tel:x` every 128
    lines = []
    for s in range(0, 300):
        if s % 128 == 0:
            lines.append(f"s:{s} tel:{10.9 - s / 100:.6f}")
        lines.append(f"s:{s} trl:{10.96 - s / 90:.6f}")
    p = write("records/f66d43d7.log", "\n".join(lines) + "\n")
    assert classify(p) == "console"
    run = _run(p)
    assert run.formats == ("llmc_log",)
    assert len(_series(run.table, "train/loss")[0]) == 300
    assert _series(run.table, "val/loss")[0] == [0, 128, 256]
    assert infer_role("val/loss").name == "val_loss" and infer_role("train/loss").name == "train_loss"


def test_llmc_log_with_lr_norm_and_hellaswag(write):
    # llm.c's train_gpt2.cu: `s:%d trl:%.6f lr:%.6f norm:%.2f`, `s:%d tel:%.4f`, `s:%d eval:%.4f`
    lines = []
    for s in range(0, 40):
        lines.append(f"s:{s} trl:{10 - s / 10:.6f} lr:{0.0006 * min(1, (s + 1) / 10):.6f} norm:{1.5 - s / 100:.2f}")
        if s % 10 == 0:
            lines += [f"s:{s} tel:{10.1 - s / 10:.4f}", f"s:{s} eval:{0.25 + s / 1000:.4f}"]
    lines.insert(5, "s:4 trl:")  # a line cut by a crash
    p = write("log124M/main.log", "\n".join(lines) + "\n")
    res = _run(p)
    assert {"train/loss", "val/loss", "eval/hellaswag_acc", "lr", "train/grad_norm"} <= set(res.table.metric)
    assert any(":6: 1 line(s)" in w for w in res.warnings), res.warnings
    assert infer_role("train/grad_norm").kind == "grad_norm" and infer_role("eval/hellaswag_acc").kind == "accuracy"


def test_build_nanogpt_lines_stay_step_tag_value(write):
    p = write("log/log.txt", "".join(f"{s} train {5 - s / 100:.4f}\n" for s in range(20)))
    assert _run(p).formats == ("step_tag_value",)


# -- epoch blocks: bare `epoch N` headers, `start train N/M` headers, remarks after a value -------

def test_bare_epoch_headers_and_a_percentage_with_a_remark(write):
    lines = []
    for e in range(1, 8):
        lines += [f"epoch {e:3d}", f"loss: {6.6 / e:.6f}",
                  f"test accuracy: {20 + 3 * e:.2f}%, ({512570 + e}/2466133)"]
    p = write("r/train_log.txt", "\n".join(lines) + "\n")
    run = _run(p)
    assert run.formats == ("epoch_blocks",)
    assert _series(run.table, "test accuracy") == ([1, 2, 3, 4, 5, 6, 7], pytest.approx([(20 + 3 * e) / 100 for e in range(1, 8)]))
    assert infer_role("test accuracy").split == "test"


def test_pointnet_file_markers_are_not_epoch_headers(write):
    lines = []
    for e in range(3):
        lines += [f"**** EPOCH {e:03d} ****"]
        for f in range(3):
            lines += [f"----{f}-----", f"mean loss: {1 / (e + 1) + f / 10:.4f}", "accuracy: 0.5"]
    run = _run(write("log/log_train.txt", "\n".join(lines) + "\n"))
    assert _series(run.table, "mean loss")[0] == [0, 1, 2]


# -- step blocks ------------------------------------------------------------------------------

def _decorated_steps(steps):
    out = ["Training Statistics:", "- Best EMA Loss: 0.1209", "- Batch Size: 82 batches per epoch", ""]
    for s in steps:
        out += ["", "=" * 80, f"Step {s:5d} | Time: 3:46:{s % 60:02d}", "=" * 80,
                f"Current Loss:    {2 / (s + 1):.4f}", f"EMA Loss:        {2.1 / (s + 1):.4f}",
                "Learning Rate:   4.23e-04", "Batch Time:      88.93ms", f"Tokens Seen:     {s * 4096:,}", "=" * 80, ""]
    return out


def test_step_blocks_between_rules(write):
    p = write("r/training_logs.txt", "\n".join(_decorated_steps(range(100, 110))) + "\n")
    assert classify(p) == "console"
    run = _run(p)
    assert run.formats == ("step_blocks",)
    assert _series(run.table, "Current Loss")[0] == list(range(100, 110))
    assert _series(run.table, "Tokens Seen")[1][0] == 100 * 4096  # thousands separators read
    assert _series(run.table, "Batch Time")[1][0] == pytest.approx(88.93)
    assert "Best EMA Loss" not in set(run.table.metric)  # the summary before the first step is not a step's


def test_step_blocks_with_percent_headers_and_a_final_summary(write):
    lines = ["SmolLM2-135M Training Logs", "", "Training Progress:", "------------------", ""]
    for k in range(1, 6):
        lines += [f"Step {k * 500} ({k * 20}%):", f"  Train Loss: {4 / k:.3f}", "  Learning Rate: 0.000299",
                  f"  Time: {k * 14}:09", ""]
    lines[-1:-1] = ["  Validation Loss: 8.450", "  Validation Perplexity: 7,030"]
    lines += ["Final Results:", "--------------", "Final Training Loss: 0.114", "Total Training Time: 3 hours"]
    run = _run(write("r/training_logs.txt", "\n".join(lines) + "\n"))
    assert _series(run.table, "Train Loss")[0] == [500, 1000, 1500, 2000, 2500]
    assert _series(run.table, "Validation Perplexity") == ([2500], [7030.0])
    assert "Time" not in set(run.table.metric) and "Final Training Loss" not in set(run.table.metric)


def test_step_lines_with_many_fields_stay_text(write):
    lines = [f"Step {s}: loss={1 / (s + 1):.4f}, acc={s / 10:.2f}" for s in range(10)]
    assert classify(write("r/train.log", "\n".join(lines) + "\n")) == "text"


# -- RL episode summaries -----------------------------------------------------------------------

def test_episode_summaries_every_100(write):
    lines = [f"Episode {e:5d}   Avg: {-130 + e / 10:8.2f}   BestAvg: {'-inf' if e == 100 else f'{-120 + e / 10:.2f}'}"
             f"   \u03c3: 100.32   |   Best: 29.06   Noise: 2.0000   |   Steps: {e * 85:8d}  Secs: {e // 14:6d}"
             for e in range(100, 1100, 100)]
    p = write("results/lunarlander_hc.txt", "\n".join(lines) + "\n")
    assert classify(p) == "console"
    run = _run(p)
    assert run.formats == ("rl_episodes",)
    assert _series(run.table, "reward/Avg")[0] == list(range(100, 1100, 100))
    assert infer_role("reward/Avg").kind == "reward" and infer_role("BestAvg").kind != "reward"


def test_episode_summaries_with_colon_and_a_window_mean(write):
    lines = [f"Episode: {e:5d}   Avg25: {e / 1000:.3f}   BestAvg: {e / 900:.3f}  |  Steps: {e * 13}  |  Buffer: 30000"
             for e in range(100, 600, 100)]
    lines.append("Solved in 431 episodes!")
    run = _run(write("results/tennis.txt", "\n".join(lines) + "\n"))
    assert _series(run.table, "reward/Avg25")[0] == [100, 200, 300, 400, 500]


def test_udacity_episode_lines_stay_with_the_text_reader(write):
    lines = [f"Episode {e}\tAverage Score: {e / 100:.2f}" for e in range(100, 600, 100)]
    assert classify(write("r/log.md", "\n".join(lines) + "\n")) == "text"


# -- space-aligned tables ------------------------------------------------------------------------

def _summary(header, rows, start="Train start time: Fri Jul 27 09:56:51 2018"):
    out = ["=" * 65, start, "HYPERPARAMETERS:", "model =ResNet50", "learning-rate =0.001", "", "Training Summary:", header]
    return out + [" ".join(f"{v:9.6f}" for v in r) for r in rows]


def test_training_summary_tables_each_a_run(write):
    rows = [(1.2 / e, 0.4 + e / 50, 0.5 + e / 25, 0.4 + e / 50) for e in range(1, 11)]
    lines = (_summary("train loss   va_loss  train_acc   val_acc", rows) + ["Remarks: overfitting", ""]
             + _summary("train loss   va_loss  train_acc   val_acc", rows[:8]))
    p = write("logs/train.log", "\n".join(lines) + "\n")
    assert classify(p) == "console"
    run = _run(p)
    assert run.formats == ("space_table",)
    assert len(run.segments) == 2
    assert _series(run.segments[0].table, "train loss")[0] == list(range(1, 11))
    assert set(run.table.metric) == {"train loss", "va_loss", "train_acc", "val_acc"}


def test_a_printed_dataframe_reads_its_index(write):
    lines = ["       loss  accuracy  val_loss  val_accuracy"]
    lines += [f"{e}  {1 / (e + 1):.6f}  {0.5 + e / 20:.6f}  {1.1 / (e + 1):.6f}  {0.5 + e / 25:.6f}" for e in range(6)]
    lines.insert(4, "3  0.25  0.65")  # a row cut short
    p = write("r/history.txt", "\n".join(lines) + "\n")
    res = _run(p)
    assert _series(res.table, "val_loss")[0] == [0, 1, 2, 3, 4, 5]
    assert any(":5: 1 line(s)" in w for w in res.warnings), res.warnings


def test_a_table_with_an_epoch_column_takes_its_step():
    from logsleuth.ingest.consolefmt import console_format

    text = "epoch loss acc\n1 0.5 0.9\n2 0.4 0.91\n3 0.3 0.92\n"
    fmt = console_format(text)
    assert fmt is not None and fmt.name == "space_table"
    rows, _ = fmt.parse(text.split("\n"), "t.txt")
    assert [r for r in rows if r[0] == "loss"] == [("loss", 1.0, 0.5), ("loss", 2.0, 0.4), ("loss", 3.0, 0.3)]


def test_a_classification_report_is_not_a_table(write):
    from logsleuth.ingest.consolefmt import console_format

    report = ["              precision    recall  f1-score   support", ""]
    report += [f"           {c}       0.98      0.99      0.98       980" for c in range(10)]
    assert console_format("\n".join(report)) is None
    assert console_format("\n".join(r for r in report if r)) is None


# -- bad input: read with warnings or rejected naming the file, never a traceback -----------------

_SAMPLES = {
    "llmc": ("main.log", "".join(f"s:{s} trl:{5 - s / 50:.4f}\n" for s in range(40))),
    "steps": ("training_logs.txt", "\n".join(_decorated_steps(range(1, 12))) + "\n"),
    "episodes": ("scores.txt", "".join(f"Episode {e}  Avg: {e / 10:.2f}  BestAvg: {e / 9:.2f}\n" for e in range(1, 30))),
    "table": ("summary.txt", "loss  acc\n" + "".join(f"{1 / e:.4f}  {e / 40:.4f}\n" for e in range(1, 30))),
    "blocks": ("train_log.txt", "".join(f"epoch {e}\nloss: {1 / e:.3f}\ntest accuracy: {e}%\n" for e in range(1, 20))),
}


@pytest.mark.parametrize("sample", sorted(_SAMPLES))
@pytest.mark.parametrize("how", ["truncate", "garbage_lines", "invalid_utf8", "absurd_numbers", "swap_lines",
                                 "nan_strings", "bitflip"])
def test_mutated_layouts_are_read_or_rejected(tmp_path, sample, how):
    import random

    from fuzzing import check_one, mutate

    name, text = _SAMPLES[sample]
    data = text.encode()
    for seed in range(4):
        p = tmp_path / f"{seed}" / name
        p.parent.mkdir()
        p.write_bytes(mutate(data, how, random.Random(seed)))
        out = check_one(str(p), "console")
        assert out.status != "crash", out.detail


_HISTORIES = {
    "records": json.dumps([{"epoch": e, "train_loss": 1 / e, "val_acc": e / 20} for e in range(1, 12)], indent=2),
    "settings_first": json.dumps({"model_type": "cnn", "epochs": 11, "loss": [1 / e for e in range(1, 12)],
                                  "val_loss": [1.1 / e for e in range(1, 12)], "best_epoch": 4}, indent=2),
}


@pytest.mark.parametrize("sample", sorted(_HISTORIES))
@pytest.mark.parametrize("how", ["truncate", "garbage_lines", "invalid_utf8", "absurd_numbers", "nan_strings", "bitflip"])
def test_mutated_histories_are_read_or_rejected(tmp_path, sample, how):
    import random

    from fuzzing import check_one, mutate

    data = _HISTORIES[sample].encode()
    for seed in range(4):
        p = tmp_path / f"{seed}" / "training_history.json"
        p.parent.mkdir()
        p.write_bytes(mutate(data, how, random.Random(seed)))
        out = check_one(str(p), "history")
        assert out.status != "crash", out.detail


# -- DVCLive's directory -----------------------------------------------------------------------

def test_a_dvclive_directory_is_one_run_without_its_summary(write, tmp_path):
    for split in ("train", "eval"):
        for name in ("loss", "mean_absolute_error"):
            rows = "".join(f"{s}\t{(2.0 if split == 'eval' else 1.0) / (s + 1)}\n" for s in range(5))
            write(f"exp/dvclive/plots/metrics/{split}/{name}.tsv", f"step\t{split}/{name}\n{rows}")
    # the summary DVCLive writes beside them: final values, pretty-printed, not a series
    write("exp/dvclive/metrics.json", json.dumps({"train": {"loss": 0.2}, "eval": {"loss": 0.4}, "step": 4}, indent=4))
    write("exp/dvclive/params.yaml", "lr: 0.001\nbatch_size: 64\n")
    from logsleuth.ingest import discover
    found = discover([str(tmp_path / "exp")])
    assert [r.name for r in found.runs] == ["exp/dvclive"] and not found.messages
    run = _run(tmp_path / "exp")
    assert set(run.table.metric) == {"train/loss", "train/mean_absolute_error", "eval/loss", "eval/mean_absolute_error"}
    assert _series(run.table, "eval/loss")[0] == [0, 1, 2, 3, 4]
    assert run.hparams.get("lr") == 0.001 and not run.warnings


def test_tsv_files_side_by_side_stay_one_run(write, tmp_path):
    write("r/loss.tsv", "step\tloss\n0\t1.0\n1\t0.5\n2\t0.4\n")
    write("r/acc.tsv", "step\tacc\n0\t0.1\n1\t0.5\n2\t0.6\n")
    assert set(_run(tmp_path / "r").table.metric) == {"loss", "acc"}


def test_dvclive_headers_without_their_split_take_it_from_the_directory(write, tmp_path):
    # older DVCLive writes `step<TAB>loss` in both train/loss.tsv and eval/loss.tsv
    for split, scale in (("train", 1.0), ("eval", 2.0)):
        write(f"exp/dvclive/fold_1/plots/metrics/{split}/loss.tsv", "step\tloss\n" + "".join(f"{s}\t{scale / (s + 1)}\n" for s in range(4)))
    run = _run(tmp_path / "exp")
    assert set(run.table.metric) == {"train/loss", "eval/loss"}
    assert _series(run.table, "eval/loss")[1] == [2.0, 1.0, 2 / 3, 0.5]


def test_a_log_beside_dvclives_series_is_a_run_of_its_own(write, tmp_path):
    write("exp/dvclive/plots/metrics/train/loss.tsv", "step\ttrain/loss\n0\t1.0\n1\t0.5\n2\t0.4\n")
    write("exp/dvclive/metrics.json", json.dumps({"train": {"loss": 0.4}}, indent=2))
    write("exp/dvclive/extra.csv", "step,loss\n0,1.0\n1,0.5\n2,0.4\n")
    from logsleuth.ingest import discover
    found = discover([str(tmp_path / "exp")])
    assert sorted(r.name for r in found.runs) == ["exp/dvclive", "exp/dvclive/extra"]
    assert [len(r.files) for r in sorted(found.runs, key=lambda r: r.name)] == [1, 1]
