"""Every run of the shared fault corpus loads with a training loss; every real log loads with
sensible roles or fails with a message that names the file.  Skipped only when the shared
folders are absent (they are beside the repository in CI)."""

from __future__ import annotations

import os

import pytest

from logsleuth.errors import InputError
from logsleuth.ingest import discover, load_run
from logsleuth.roles import build_series, primary

from conftest import FAULT_CORPUS, REAL_LOGS

need_fault = pytest.mark.skipif(not os.path.isdir(FAULT_CORPUS), reason="shared fault_corpus not present")
need_real = pytest.mark.skipif(not os.path.isdir(REAL_LOGS), reason="shared real_logs not present")


def _label_dirs(root):
    return sorted(os.path.join(root, d) for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "label.yaml")))


@need_fault
def test_every_fault_corpus_run_loads_with_a_training_loss():
    dirs = _label_dirs(FAULT_CORPUS)
    assert len(dirs) >= 60
    for d in dirs:
        runs = discover([d]).runs
        assert runs, d
        for src in runs:
            run = load_run(src)
            tl = primary(build_series(run), "train_loss")
            assert tl is not None and len(tl) > 0, src.name


@need_real
def test_every_real_log_loads_or_says_why():
    runs = discover([REAL_LOGS]).runs
    assert len(runs) >= 50
    loaded = 0
    for src in runs:
        try:
            run = load_run(src)
        except InputError as exc:
            assert src.name in str(exc) or any(os.path.basename(f.path) in str(exc) for f in src.files)
            continue
        loaded += 1
        roles = {s.role.name for s in build_series(run).values()}
        assert roles - {"other"}, f"{src.name}: no metric got a role"
    assert loaded == len(runs)


@need_real
@pytest.mark.parametrize("run,metric,role", [
    ("yolo_results_csv/r47", "metrics/mAP_0.5", "val_score"),
    ("yolo_results_csv/r47", "train/box_loss", "train_loss"),
    ("lightning_csv/r28", "lr-Adam", "lr"),
    ("hf_trainer_state/r04", "eval_loss", "val_loss"),
    ("keras_csvlogger/r17", "val_accuracy", "val_accuracy"),
    ("text_pytorch_wlm/r42", "valid loss", "val_loss"),
    ("tensorboard/r37/finetune_IDRiD", "perf/val_acc1", "val_accuracy"),
    ("jsonl_detectron2/r12", "total_loss", "train_loss"),
])
def test_real_log_roles(run, metric, role):
    src = discover([os.path.join(REAL_LOGS, run)]).runs[0]
    series = build_series(load_run(src))
    assert series[metric].role.name == role
