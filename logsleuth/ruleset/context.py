"""Run-level facts detectors may use: epoch length in steps, whether the training loss is a
single classification cross-entropy, and its number of classes when that is known or evidenced."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..detectors.base import covers_start, hparam_values
from ..model import Series
from ..roles import default_table, normalise, primary

# ln(C) for C from 2 to 1000 classes: the plausible range of an untrained classifier's loss,
# widened by 20% on each side for the noise of the first batches
CHANCE_LOSS_RANGE = (0.8 * math.log(2), 1.2 * math.log(1000))


# roles the run context reads beside the rules' own metrics (kept by `--only-needed`): the
# epoch counter (epoch length), accuracies (classification) and errors (regression)
CONTEXT_ROLES = frozenset({"epoch", "train_accuracy", "val_accuracy", "test_accuracy", "train_error", "val_error",
                           "test_error", "train_loss"})


def epoch_length(series: Mapping[str, Series]) -> float | None:
    """Steps per epoch, from an epoch metric, else from the spacing of per-epoch evaluations."""
    ep = primary(series, "epoch")
    if ep is not None and len(ep) >= 3:
        st, v = ep.steps, ep.values
        ok = np.isfinite(v)
        st, v = st[ok], np.floor(v[ok] + 1e-9)
        change = np.nonzero(np.diff(v) > 0)[0]
        if change.size >= 2:
            firsts = st[change + 1]
            d = np.diff(firsts)
            if d.size and np.median(d) > 0:
                return float(np.median(d))
    tl = primary(series, "train_loss")
    for role in ("val_loss", "val_accuracy"):
        vs = primary(series, role)
        if vs is not None and len(vs) >= 3 and tl is not None and len(tl) >= 5 * len(vs):
            d = np.diff(vs.steps)
            d = d[d > 0]
            if d.size and np.std(d) <= 0.1 * np.median(d):
                return float(np.median(d))
    return None


def hparam_classes(hparams: Mapping[str, Any]) -> int | None:
    for v in hparam_values(hparams, "num_classes"):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 2 <= v <= 100000:
            return int(v)
    return None


def accuracy_tasks(series: Mapping[str, Series]) -> set[str]:
    """The distinct tasks the logged accuracies measure: names without split tokens and without
    tokens holding digits (`eval_g0_accuracy` and `eval_g1_accuracy` are one task on two sets;
    `val_Class_Accuracy` and `val_Obj_Accuracy` are two tasks).  Top-5 accuracies go with top-1."""
    table = default_table()
    split_tokens = {t for toks in (*table.splits.values(), *table.weak_splits.values()) for t in toks}
    split_tokens |= {"step", "epoch", "avg", "mean", "running", "top", "top1", "top5"}  # logging suffixes
    tasks = set()
    for s in series.values():
        if s.role.kind != "accuracy" or len(s) == 0:
            continue
        toks = [t for t in normalise(s.metric).split("_") if t not in split_tokens and not any(c.isdigit() for c in t)]
        tasks.add("_".join(toks) or "accuracy")
    return tasks


def loss_components(series: Mapping[str, Series]) -> list[str]:
    """Training losses that are named parts of a larger objective (`box_loss`, `loss_cls`)."""
    plain = default_table().plain_tokens
    out = []
    for s in series.values():
        if s.role.name == "train_loss":
            extra = [t for t in normalise(s.metric).split("_") if t not in plain and not t.isdigit()]
            if extra:
                out.append(s.metric)
    return out


def classification(series: Mapping[str, Series], hparams: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the primary training loss is one classification cross-entropy, and its class
    count.  Evidence: an accuracy of exactly one task and no component losses beside it (a
    summed detection loss is not one cross-entropy).  The class count comes from the
    hyperparameters, else from the first training loss when the log starts at initialisation
    and the run is a single classification (an untrained classifier's loss is ln C); never from
    a loss alone."""
    tasks = accuracy_tasks(series)
    parts = loss_components(series)
    single = len(tasks) == 1 and len(parts) < 2
    c = hparam_classes(hparams)
    source = "hyperparameters" if c else None
    loss = primary(series, "train_loss")
    if c is None and single and loss is not None and covers_start(loss.steps[np.isfinite(loss.values)]):
        v = loss.values[np.isfinite(loss.values)]
        if v.size >= 3:
            first = float(np.median(v[:3]))
            if CHANCE_LOSS_RANGE[0] <= first <= CHANCE_LOSS_RANGE[1]:
                c = max(2, int(round(math.exp(first))))
                source = f"the first training loss {first:.3g} = ln({c}) with an accuracy logged"
    return {"single_ce": single, "accuracy_tasks": sorted(tasks), "loss_components": parts,
            "n_classes": c, "classes_from": source}


# name tokens of regression objectives and errors (not error *rates* such as WER/CER, which
# belong to classification-like sequence tasks)
REGRESSION_TOKENS = frozenset({"mse", "mae", "rmse", "msle", "mape", "l1", "l2", "huber", "smoothl1", "r2"})


def regression_metric(series: Mapping[str, Series]) -> str | None:
    """The metric that says the run is a regression: a loss or error named after a regression
    objective (`val_mae`, `mse_loss`, `huber`), in a run that logs no accuracy.  None otherwise."""
    if accuracy_tasks(series):
        return None
    for s in series.values():
        if s.role.kind not in ("loss", "error") or len(s) == 0:
            continue
        toks = set(normalise(s.metric).replace("smooth_l1", "smoothl1").split("_"))
        if toks & REGRESSION_TOKENS:
            return s.metric
    return None


def run_context(series: Mapping[str, Series], hparams: Mapping[str, Any]) -> dict[str, Any]:
    cls = classification(series, hparams)
    return {"epoch_len": epoch_length(series), "n_classes": hparam_classes(hparams), "hparams": dict(hparams),
            "classification": cls, "regression": regression_metric(series)}
