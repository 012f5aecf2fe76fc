"""Console logs of known layouts (ingest.consolefmt) and the text-log sniffing around them:
each layout read with its metrics and steps, a restart giving segments, a malformed line a
warning naming file and line, and a text that is not the layout left alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from logsleuth.errors import InputError
from logsleuth.ingest.consolefmt import console_format, read_console
from logsleuth.ingest.consolelayouts import _BLOCK_HEAD
from logsleuth.ingest.discover import classify
from logsleuth.ingest.jsonl import read_keras_history
from logsleuth.ingest.textlog import parse_line, read_textlog
from logsleuth.roles import infer_role

from conftest import load_one as _run
from conftest import series_of as _series

# -- pix2pix / CycleGAN loss_log.txt ------------------------------------------------------------------

def _p2p(epochs, per_print=100, size=250, header=True, losses=("G_GAN", "G_L1", "D_real", "D_fake")):
    """A loss_log.txt: `iters` counts within the epoch, a print every `per_print` images."""
    out = ["================ Training Loss (Sat Jun  1 05:43:26 2019) ================"] if header else []
    total = 0
    for e in epochs:
        for _ in range(size):
            total += 1
            if total % per_print == 0:
                it = total - (e - epochs[0]) * size
                vals = " ".join(f"{n}: {1.0 + 0.001 * total + k:.3f}" for k, n in enumerate(losses))
                out.append(f"(epoch: {e}, iters: {it}, time: 0.320, data: 0.002) {vals} ")
    return out


def test_pix2pix_loss_log_reads_losses_on_a_global_step(write):
    p = write("run/loss_log.txt", "\n".join(_p2p([1, 2, 3])) + "\n")
    assert classify(p) == "console"
    res = read_console(p)
    assert res.fmt == "pix2pix_loss_log"
    names = set(res.table.metric)
    assert names == {"loss_G_GAN", "loss_G_L1", "loss_D_real", "loss_D_fake", "time", "data_time"}
    steps, vals = _series(res.table, "loss_G_GAN")
    # iters 100, 200 (epoch 1), 50, 150 (epoch 2), 0?..: each epoch placed after the one before
    assert steps == sorted(steps) and len(set(steps)) == len(steps) == 7
    assert vals[0] == pytest.approx(1.1)
    assert infer_role("loss_G_GAN").kind == "gan_loss" and infer_role("loss_D_fake").kind == "gan_loss"


def test_pix2pix_second_header_from_epoch_one_is_a_new_segment(write):
    p = write("run/loss_log.txt", "\n".join(_p2p([1, 2, 3]) + _p2p([1, 2, 3, 4])) + "\n")
    run = _run(p)
    assert len(run.segments) == 2, run.warnings
    assert all(len(_series(s.table, "loss_G_L1")[0]) > 0 for s in run.segments)


def test_pix2pix_cyclegan_names_and_no_data_time(write):
    lines = [f"(epoch: 1, iters: {i * 100}, time: 0.5) D_A: 0.3 G_A: 0.9 cycle_A: 1.{i} idt_A: 0.5" for i in range(1, 6)]
    res = read_console(write("cg/loss_log.txt", "\n".join(lines) + "\n"))
    assert {"loss_D_A", "loss_G_A", "loss_cycle_A", "loss_idt_A", "time"} == set(res.table.metric)
    assert _series(res.table, "loss_cycle_A")[0] == [100, 200, 300, 400, 500]
    lines = [f"(epoch: 1, iters: {i * 100}, time: 0.6) G_GAN: 15.2 G_L1: 1021.7 D_real+fake: -26.9" for i in range(1, 4)]
    res = read_console(write("deblur/loss_log.txt", "\n".join(lines) + "\n"))  # DeblurGAN's names
    assert _series(res.table, "loss_D_real+fake")[1] == [-26.9] * 3


def test_pix2pix_malformed_line_is_a_warning_naming_file_and_line(write):
    lines = _p2p([1, 2])
    lines.insert(3, "(epoch: 1, iters: 300, time: 0.3) G_GAN: oops D_real: 0.1")
    p = write("run/loss_log.txt", "\n".join(lines) + "\n")
    res = read_console(p)
    assert any(w.startswith(f"{p}:4: 1 line(s)") for w in res.warnings), res.warnings
    assert len(_series(res.table, "loss_G_GAN")[0]) == 5


# -- OpenAI baselines / Stable-Baselines3 tables ---------------------------------------------------

def _sb3_table(ts, rew):
    rows = [("rollout/", ""), ("ep_len_mean", f"{rew:.0f}"), ("ep_rew_mean", f"{rew:.1f}"), ("time/", ""),
            ("fps", "1200"), ("iterations", str(ts // 2048)), ("total_timesteps", str(ts)),
            ("train/", ""), ("learning_rate", "0.0003"), ("value_loss", f"{100 / rew:.3g}")]
    rule = "-" * 40
    return [rule] + [f"| {k:<24}| {v:<12}|" for k, v in rows] + [rule]


def test_sb3_table_reward_on_total_timesteps(write):
    lines = ["Using cuda device", "Wrapping the env with a `Monitor` wrapper"]
    for k in range(1, 6):
        lines += _sb3_table(2048 * k, 20.0 * k)
    p = write("ppo/progress.txt", "\n".join(lines) + "\n")
    assert classify(p) == "console"
    res = read_console(p)
    assert res.fmt == "baselines_table"
    steps, vals = _series(res.table, "rollout/ep_rew_mean")
    assert steps == [2048, 4096, 6144, 8192, 10240] and vals == [20, 40, 60, 80, 100]
    assert "time/total_timesteps" not in set(res.table.metric)
    assert infer_role("rollout/ep_rew_mean").kind == "reward"
    assert infer_role("train/value_loss").kind == "loss"


def test_baselines_table_without_counter_uses_table_order_and_says_so(write):
    lines = []
    for k in range(1, 5):
        lines += ["-" * 30, f"| eprewmean      | {k * 1.5:<10}|", f"| policy_loss    | {0.1 / k:<10.4f}|", "-" * 30]
    p = write("b/log.txt", "Logging to /tmp/x\n" + "\n".join(lines) + "\n")
    assert classify(p) == "console"  # log.txt is JSON lines by name, unless its content says otherwise
    res = read_console(p)
    assert _series(res.table, "eprewmean")[0] == [1, 2, 3, 4]
    assert any("no timestep counter" in w for w in res.warnings)


def test_baselines_restart_gives_segments_and_bad_row_warns(write):
    lines = []
    for k in [1, 2, 3, 4, 1, 2, 3]:
        lines += _sb3_table(2048 * k, 20.0 * k)
    lines.insert(5, "| ep_rew_mean | 3.5 | extra |")
    p = write("ppo/progress.txt", "\n".join(lines) + "\n")
    res = read_console(p)
    assert any(w.startswith(f"{p}:6:") for w in res.warnings), res.warnings
    run = _run(p)
    assert len(run.segments) == 2, run.warnings


def test_markdown_two_column_table_is_not_a_baselines_log(write):
    md = "# Results\n\n| model | acc |\n|---|---|\n| a | 0.9 |\n| b | 0.8 |\n| c | 0.7 |\n"
    assert console_format(md) is None



# -- ultralytics YOLO console output ---------------------------------------------------------------

_Y_TRAIN_HEAD = "      Epoch    GPU_mem   box_loss   cls_loss   dfl_loss  Instances       Size"
_Y_VAL_HEAD = "                 Class     Images  Instances      Box(P          R      mAP50  mAP50-95)"
BAR = "\u2588" * 10


def _y_epoch(e, total=3, batches=4, last_batch=None, val=True):
    """One epoch as YOLOv8 prints it: its header, its tqdm updates glued by \r (the last the
    epoch's running means), a validation bar and its `all` row."""
    ups = []
    for b in range(1, (last_batch or batches) + 1):
        loss = 2.0 / (e + 1) + 0.1 * (batches - b)  # the running mean settles at the epoch's last update
        pct = 100 * b // batches
        ups.append(f"      {e}/{total}      2.5G  {loss:9.4f}  {loss / 2:9.4f}  {loss / 3:9.4f}        213        640:"
                   f" {pct:3d}%|{BAR}| {b}/{batches} [00:25<00:00,  2.34it/s]")
    out = [_Y_TRAIN_HEAD, "\r" + "\r".join(ups)]
    if val:
        out += [_Y_VAL_HEAD + f": 100%|{BAR}| 2/2 [00:01<00:00,  1.5it/s]",
                f"                   all        500       1234  {0.5 + 0.1 * e:9.3f}  {0.4 + 0.1 * e:9.3f}"
                f"  {0.3 + 0.1 * e:9.3f}  {0.2 + 0.1 * e:9.3f}"]
    return out


def test_yolo_console_last_update_per_epoch_and_the_all_row(write):
    lines = ["Ultralytics YOLOv8.0.200 Python-3.10 torch-2.1.0 CUDA:0", ""]
    for e in range(1, 4):
        lines += _y_epoch(e)
    lines += ["3 epochs completed in 0.050 hours.", "Validating runs/detect/train/weights/best.pt...",
              _Y_VAL_HEAD + f": 100%|{BAR}| 2/2 [00:01<00:00,  1.5it/s]",
              "                   all        500       1234      0.999      0.999      0.999      0.999",
              "                person        500        800      0.8        0.7        0.75       0.5"]
    p = write("yolo/train.log", "\n".join(lines) + "\n")
    assert classify(p) == "console"
    res = read_console(p)
    assert res.fmt == "yolo_console" and not res.warnings, res.warnings
    assert set(res.table.metric) == {"train/box_loss", "train/cls_loss", "train/dfl_loss", "metrics/precision",
                                     "metrics/recall", "metrics/mAP50", "metrics/mAP50-95"}
    steps, vals = _series(res.table, "train/box_loss")
    assert steps == [1, 2, 3] and vals == pytest.approx([2.0 / (e + 1) for e in (1, 2, 3)], abs=1e-4)
    steps, vals = _series(res.table, "metrics/mAP50-95")
    assert steps == [1, 2, 3] and vals == pytest.approx([0.3, 0.4, 0.5])  # not best.pt's final 0.999
    assert _series(res.table, "metrics/precision")[1] == pytest.approx([0.6, 0.7, 0.8])
    assert infer_role("train/box_loss").name == "train_loss" and infer_role("metrics/mAP50").name == "val_score"


def test_yolo_console_restart_gives_segments(write):
    lines = [ln for e in (0, 1, 2, 3, 0, 1, 2) for ln in _y_epoch(e, total=9)]
    p = write("yolo/out.txt", "\n".join(lines) + "\n")
    run = _run(p)
    assert run.formats == ("yolo_console",)
    assert len(run.segments) == 2, run.warnings
    assert _series(run.segments[0].table, "metrics/mAP50")[0] == [0, 1, 2, 3]


def test_yolo_console_malformed_line_and_cut_epoch_warn(write):
    lines = _y_epoch(1) + ["      2/3      2.5G      0.51   oops      0.2        213        640: 100%|"] + _y_epoch(3, last_batch=2)
    p = write("yolo/train.log", "\n".join(lines) + "\n")
    res = read_console(p)
    # the file's line 5 (carriage returns do not end a line), and the epoch the job died in
    assert any(w.startswith(f"{p}:5: 1 line(s)") for w in res.warnings), res.warnings
    assert any("epoch(s) 3 stopped before their last batch" in w for w in res.warnings), res.warnings
    assert _series(res.table, "train/box_loss")[0] == [1]
    assert _series(res.table, "metrics/mAP50")[0] == [1, 3]


def test_yolov5_header_names_and_old_loss_columns():
    lines = ["     Epoch   gpu_mem       box       obj       cls    labels  img_size",
             "      0/99     3.51G   0.1197   0.0701   0.0453        45       640: 100%|##########| 4/4 [00:05<00:00]",
             "               Class     Images     Labels          P          R     mAP@.5 mAP@.5:.95: 100%|#| 1/1",
             "                 all         10         20      0.125      0.250      0.111     0.0500"]
    rows, warnings = console_format("\n".join(lines)).parse(lines, "x.txt")
    got = {k: v for k, _, v in rows}
    assert got == {"train/box_loss": 0.1197, "train/obj_loss": 0.0701, "train/cls_loss": 0.0453,
                   "metrics/precision": 0.125, "metrics/recall": 0.25, "metrics/mAP50": 0.111, "metrics/mAP50-95": 0.05}
    assert not warnings


def test_a_table_with_an_epoch_column_is_not_yolo_output():
    md = "| Epoch | GPU_mem | box_loss |\n|---|---|---|\n| 1/10 | 2G | 0.5 |\n| 2/10 | 2G | 0.4 |\n"
    fmt = console_format(md)
    assert fmt is None or fmt.name != "yolo_console"


# -- epoch blocks (PointNet's log_train.txt) -------------------------------------------------------

def _pointnet(epochs, prints=4, start=0):
    out = []
    for e in range(start, start + epochs):
        out += [f"**** EPOCH {e:03d} ****", "----"]
        for b in range(1, prints + 1):  # a running mean printed as the epoch goes: its last is the epoch's
            out += [f"mean loss: {b * (1.0 / (e + 1)) / prints:.6f}", f"accuracy: {0.5 + 0.01 * e:.6f}"]
        out += ["----", f"eval mean loss: {1.2 / (e + 1):.6f}", f"eval accuracy: {0.4 + 0.01 * e:.6f}",
                "eval avg class acc: nan", "Model saved in file: log/model.ckpt"]
    return out


def test_epoch_blocks_one_point_per_epoch_the_last_said(write):
    p = write("log/log_train.txt", "\n".join(_pointnet(6)) + "\n")
    assert classify(p) == "console"
    res = read_console(p)
    assert res.fmt == "epoch_blocks"
    steps, vals = _series(res.table, "mean loss")
    assert steps == [0, 1, 2, 3, 4, 5]
    assert vals == pytest.approx([1.0 / (e + 1) for e in range(6)], rel=1e-5)
    assert _series(res.table, "eval accuracy")[1] == pytest.approx([0.4 + 0.01 * e for e in range(6)])
    assert np.isnan(_series(res.table, "eval avg class acc")[1]).all()  # NaN is kept: it is evidence
    assert infer_role("eval mean loss").split == "val" and infer_role("mean loss").kind == "loss"


def test_start_train_banners_are_epoch_blocks_and_an_eval_before_the_first_is_not_an_epoch(write):
    """`------start train 3/20------` banners (a numpy CNN's log_train.txt): one point per epoch
    and name, the last said; the eval block after an epoch's batches belongs to that epoch; the
    eval before the first banner has no epoch and is not read; progress lines are not metrics."""
    lines = ["------------start eval----------", "eval mean loss: 2.3027", "eval accuracy: 0.106"]
    for e in range(5):
        lines.append(f"------------start train {e}/20----------")
        for b in (100, 200):
            lines += ["-----------train loss & acc-----------", f"{b}/1718 (batchs) completed!",
                      f"train mean loss: {1.0 / (e + 1) + 0.001 * b:.6f}", f"train accuracy: {0.5 + e / 20:.4f}"]
        lines += ["------------start eval----------", f"eval mean loss: {0.9 / (e + 1):.6f}", f"eval accuracy: {0.6 + e / 20:.4f}"]
    p = write("log/log_train.txt", "\n".join(lines) + "\n")
    assert classify(p) == "console"
    res = read_console(p)
    assert res.fmt == "epoch_blocks"
    steps, vals = _series(res.table, "train mean loss")
    assert steps == [0, 1, 2, 3, 4] and vals == pytest.approx([1.0 / (e + 1) + 0.2 for e in range(5)], rel=1e-5)
    steps, vals = _series(res.table, "eval mean loss")
    assert steps == [0, 1, 2, 3, 4] and vals[0] == pytest.approx(0.9)
    assert not any("batchs" in str(m) or "completed" in str(m) for m in set(res.table["metric"]))
    # a banner that does not start an epoch is no epoch header
    assert _BLOCK_HEAD.match("------------start eval----------") is None
    assert _BLOCK_HEAD.match("---- start train 7/20 ----") and _BLOCK_HEAD.match("==== start training 2 ====")


def test_epoch_blocks_restart_from_epoch_zero_is_a_new_segment(write):
    p = write("log/log_train.txt", "\n".join(_pointnet(8) + _pointnet(5)) + "\n")
    run = _run(p)
    assert len(run.segments) == 2, run.warnings


def test_keras_epoch_headers_stay_with_the_text_reader(write):
    lines = []
    for e in range(1, 6):
        lines += [f"Epoch {e}/5", f"100/100 [====] - 1s - loss: {1 / e:.4f} - accuracy: {0.5 + e / 20:.4f}"]
    p = write("k/train.log", "\n".join(lines) + "\n")
    assert classify(p) == "text"
    # and decorated headers over multi-field lines are the text reader's too
    lines = []
    for e in range(1, 6):
        lines += [f"==== Epoch {e} ====", f"step {e * 10} | loss {1 / e:.3f} | acc {e / 10:.2f}"]
    assert console_format("\n".join(lines)) is None


# -- step tag value (build-nanogpt log.txt) --------------------------------------------------------

def test_step_tag_value_lines(write):
    lines = []
    for s in range(0, 60):
        if s % 20 == 0:
            lines += [f"{s} val {10.9 - s / 20:.4f}", f"{s} hella {0.25 + s / 1000:.4f}"]
        lines.append(f"{s} train {10.95 - s / 25:.6f}")
    p = write("log/log.txt", "\n".join(lines) + "\n")
    assert classify(p) == "console"
    res = read_console(p)
    assert res.fmt == "step_tag_value"
    assert set(res.table.metric) == {"train/loss", "val/loss", "eval/hellaswag_acc"}
    assert _series(res.table, "val/loss")[0] == [0, 20, 40]
    assert len(_series(res.table, "train/loss")[0]) == 60
    assert infer_role("val/loss").split == "val" and infer_role("eval/hellaswag_acc").kind == "accuracy"


def test_step_tag_value_restart_and_bad_line(write):
    lines = [f"{s} train {5 - s / 100:.4f}" for s in range(0, 50)]
    lines.insert(10, "10 train 4.9 extra")
    lines += [f"{s} train {5 - s / 100:.4f}" for s in range(0, 30)]
    p = write("log/log.txt", "\n".join(lines) + "\n")
    res = read_console(p)
    assert any(w.startswith(f"{p}:11: 1 line(s)") for w in res.warnings), res.warnings
    assert len(_run(p).segments) == 2


def test_a_table_of_numbers_is_not_step_tag_value():
    fmt = console_format("epoch loss acc\n1 0.5 0.9\n2 0.4 0.91\n3 0.3 0.92\n")
    assert fmt is not None and fmt.name == "space_table"  # a table of numbers under its header


# -- the sniffing around the text reader ------------------------------------------------------------

def test_jsonl_log_txt_stays_jsonl(write):
    p = write("mae/log.txt", "\n".join(json.dumps({"epoch": e, "train_loss": 1 / (e + 1)}) for e in range(4)) + "\n")
    assert classify(p) == "jsonl"


def test_prose_is_not_misread(write):
    prose = "This repository trains a model.\nThe loss is the cross entropy.\n" * 20
    p = write("docs/notes.txt", prose)
    assert classify(p) is None
    assert console_format(prose) is None


def test_metric_lines_after_a_long_preamble_are_found(write):
    pre = "".join(f"INFO:tensorflow:*** Example *** guid: train-{i} tokens: [CLS] a b c [SEP]\n" for i in range(400))
    lines = [f"INFO:tensorflow:loss = {1 / (s + 1):.4f}, step = {s * 100}" for s in range(10)]
    lines.append("INFO:tensorflow:Saving dict for global step 1000: eval_accuracy = 0.85, global_step = 1000, loss = 0.72")
    p = write("bert/train.log", pre + "\n".join(lines) + "\n")
    assert classify(p) == "text"
    t = read_textlog(p).table
    assert _series(t, "loss")[0] == [s * 100 for s in range(10)]  # the evaluation's loss is not a training loss
    assert _series(t, "eval_loss") == ([1000], [0.72])
    assert _series(t, "eval_accuracy") == ([1000], [0.85])


def test_tf_estimator_eval_line_keeps_a_written_eval_loss():
    f = parse_line("Saving dict for global step 5: eval_loss = 0.5, global_step = 5, loss = 0.6")
    assert f == {"eval_loss": 0.5, "global_step": 5.0}


def test_nanogpt_console_lines_are_read_by_the_text_reader(write):
    lines = []
    for it in range(0, 50, 10):
        if it % 20 == 0:
            lines.append(f"step {it}: train loss {4 - it / 50:.4f}, val loss {4.1 - it / 50:.4f}")
        lines.append(f"iter {it}: loss {4 - it / 40:.4f}, time 123.45ms, mfu 30.12%")
    t = read_textlog(write("ng/out.log", "\n".join(lines) + "\n")).table
    assert _series(t, "loss")[0] == [0, 10, 20, 30, 40]
    assert _series(t, "val loss")[0] == [0, 20, 40]


# -- JSON histories of per-epoch records -----------------------------------------------------------

def test_history_records_with_config(write):
    doc = {"config": {"lr": 5e-4, "epochs": 3},
           "history": [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "val_accuracy": 0.5 + e / 10}
                       for e in range(1, 4)]}
    p = write("r/training_history.json", json.dumps(doc, indent=2))
    assert classify(p) == "history"
    res = read_keras_history(p)
    assert res.fmt == "history_records"
    assert _series(res.table, "val_loss")[0] == [1, 2, 3]
    assert res.hparams == {"lr": 5e-4, "epochs": 3}


def test_history_records_take_their_step_key(write):
    doc = {"history": [{"epoch": e, "step": 1250 * e, "train_loss": 7 - e} for e in range(1, 4)]}
    res = read_keras_history(write("r/training_history.json", json.dumps(doc)))
    assert _series(res.table, "train_loss")[0] == [1250, 2500, 3750]


def test_a_json_config_with_a_history_word_is_not_a_history(write):
    p = write("r/settings.json", json.dumps({"name": "x", "history": "kept elsewhere", "lr": 0.1}))
    assert classify(p) is None


# -- a run that stopped after its first epoch ------------------------------------------------------

KERAS_ONE_EPOCH = ("Epoch 1/1\n7500/7500 [==============================] - 1020s 136ms/step - loss: 6.8752 - "
                   "accuracy: 0.0185 - learning_rate: 0.0530 - val_loss: 6.7094 - val_accuracy: 0.0350\n")


def test_a_log_of_one_epoch_that_names_a_loss_is_read_not_skipped(write):
    """One Keras epoch is a log with one point of each metric (the run is then "cannot judge",
    not "no training log found")."""
    p = write("run/train.log", KERAS_ONE_EPOCH)
    assert classify(p) == "text"
    table = read_textlog(p).table
    assert sorted(table["metric"].unique()) == ["accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
    assert table.loc[table["metric"] == "loss", "value"].tolist() == [6.8752]


def test_a_short_note_with_settings_but_no_loss_is_not_a_log(write):
    """A line or two of `name value` fields that name no loss (settings jotted in a notes file)
    stay below the three lines a text log needs."""
    p = write("run/notes.txt", "lr 0.01 batch 32 epochs 10\nwarmup 500 seed 3\n")
    assert classify(p) is None
    with pytest.raises(InputError, match=r"notes\.txt: plain text without"):
        read_textlog(p)


# -- the settings a script prints before it trains ----------------------------------------------------

def test_an_argparse_namespace_printed_before_training_gives_the_hyperparameters(write):
    """`print(args)` is where a console log keeps its settings: the class count, optimizer and lr
    read from it set the run's context (chance level, the lr judged against its optimizer)."""
    from logsleuth.ingest.textlog import config_dump

    p = write("run/train.log", "2024-06-09 12:25:19,000 - train - INFO - Namespace(optimizer='adam', lr=0.00081, "
              "batch_size=16, n_classes=50, device=device(type='cpu'), layers=[64, 64], dropout=0.0)\n"
              + "".join(f"epoch 0 | step {i * 10} | loss {3.0 - i * 0.1:.4f} | acc 0.1\n" for i in range(1, 6)))
    hp = read_textlog(p).hparams
    assert hp == {"optimizer": "adam", "lr": 0.00081, "batch_size": 16, "n_classes": 50, "dropout": 0.0}
    assert config_dump("Namespace(x=__import__('os').system('true'))\nloss 1 acc 2") == {}  # nothing is evaluated
    assert config_dump("Namespace(lr=0.1\nloss 1") == {}  # a truncated dump is no settings
    assert config_dump("loss 1 acc 0.5\n" * 3) == {}
    assert config_dump("Args:Namespace(lr=1e-05, gpu='0')") == {"lr": 1e-05, "gpu": "0"}  # behind a label
    assert parse_line("Args:Namespace(beta=0.01, lr=1e-05, max_epoch=60)") == {}  # settings, not a metric line


def test_a_console_layout_keeps_the_printed_namespace_too(write):
    """An epoch-block log (PointNet's) after `print(args)`: the same settings as for console text."""
    blocks = "".join(f"**** EPOCH {e:03d} ****\nmean loss: {2.0 - e * 0.1:.3f}\naccuracy: {0.3 + e * 0.05:.3f}\n"
                     for e in range(1, 6))
    p = write("run/log_train.txt", "Namespace(batch_size=32, learning_rate=0.001, num_classes=40, optimizer='adam')\n" + blocks)
    assert classify(p) == "console"
    assert read_console(p).hparams == {"batch_size": 32, "learning_rate": 0.001, "num_classes": 40, "optimizer": "adam"}
