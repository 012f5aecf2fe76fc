"""More real-world layouts: logger lines in a file named like a CSV log, saved histories whose
settings come first or whose records stand alone, and console layouts (llm.c `s:N trl:X` logs,
step and epoch blocks of one field per line, RL episode summaries, space-aligned tables).  Each
is read with its metrics and steps, and a near neighbour stays with the reader it had."""

from __future__ import annotations

import json

import pytest

from logsleuth.ingest import discover, load_run
from logsleuth.ingest.discover import classify
from logsleuth.ingest.jsonl import read_keras_history
from logsleuth.roles import infer_role


def _series(table, name):
    g = table[table.metric == name]
    return list(g.step), list(g.value)


def _run(path):
    runs = discover([str(path)]).runs
    assert len(runs) == 1, runs
    return load_run(runs[0])


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
