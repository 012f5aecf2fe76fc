"""Run-level facts detectors may use, built once per run as a typed `RunContext`: what kind of
training the run is (from metric names and hyperparameters, never from a loss value), its class
count when the hyperparameters give it, the logging cadence, the optimizer and the shape of its
learning-rate schedule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..detectors.curves import covers_start, finite, median_gap
from ..hparam_names import hparam_values
from ..kinds import RunContext
from ..model import Series
from ..roles import default_table, normalise, primary

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
            if d.size >= 3 and d[-1] < np.median(d):
                d = d[:-1]  # a final evaluation when training stops mid-epoch (max_steps) comes early
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
    hyperparameters only: every loss above ~0.7 is ln C for some C, and the first logged value
    of an epoch-averaged or resumed log is already past initialisation."""
    tasks = accuracy_tasks(series)
    parts = loss_components(series)
    c = hparam_classes(hparams)
    return {"single_ce": len(tasks) == 1 and len(parts) < 2, "accuracy_tasks": sorted(tasks), "loss_components": parts,
            "n_classes": c, "classes_from": "hyperparameters" if c else None}


# name tokens of regression objectives and errors (not error *rates* such as WER/CER, which
# belong to classification-like sequence tasks)
REGRESSION_TOKENS = frozenset({"mse", "mae", "rmse", "msle", "mape", "l1", "l2", "huber", "smoothl1", "r2"})
# the same objectives spelled out, as Keras and scikit-learn name them (`mean_absolute_error`,
# `root_mean_squared_error`, `mean_absolute_percentage_error`, `r2_score`); a coefficient of
# determination is a score (higher is better), the others losses or errors
REGRESSION_NAMES = re.compile(r"(^|_)((root_)?mean_(absolute|squared)(_percentage|_logarithmic)?_error|r_squared|r2_score|"
                              r"explained_variance\w*|huber_loss)(_|$)")


def regression_metric(series: Mapping[str, Series]) -> str | None:
    """The metric that says the run is a regression: a loss or error named after a regression
    objective (`val_mae`, `mse_loss`, `huber`), in a run that logs no accuracy.  None otherwise."""
    if accuracy_tasks(series):
        return None
    for s in series.values():
        if s.role.kind not in ("loss", "error", "score") or len(s) == 0:
            continue
        name = normalise(s.metric)
        toks = set(name.replace("smooth_l1", "smoothl1").split("_"))
        said = toks & REGRESSION_TOKENS if s.role.kind != "score" else toks & {"r2"}
        if said or REGRESSION_NAMES.search(name):
            return s.metric
    return None


# Kinds of training told by metric names (normalised, `_`-separated), first match wins: each
# has its own reference level, or none (then the level-based rules say they cannot judge).
KIND_PATTERNS = (
    ("detection", r"(^|_)(box|bbox|giou|obj|objectness|dfl|rpn|map50\w*|map_50\w*|loss_box_reg|loss_rpn\w*)(_|$)"),
    ("segmentation", r"(^|_)(dice\w*|miou|m_iou|seg|segm|mask)(_|$)"),
    ("speech", r"(^|_)(ctc|wer|cer)(_|$)"),
    ("contrastive", r"(^|_)(contrastive|infonce|info_nce|nce|nt_xent|ntxent|simclr|moco|clip|triplet|byol)(_|$)"),
    ("diffusion", r"(^|_)(diffusion|ddpm|ddim|denoise\w*|noise_pred\w*|vlb|score_matching)(_|$)"),
    # and the benchmarks language models are scored on while they train (nanoGPT/llm.c forks log HellaSwag)
    ("language_model", r"(^|_)(ppl|perplexity|bpc|bits_per_char\w*|lm_loss|mlm\w*|clm\w*|token_acc\w*|hellaswag\w*|"
                       r"lambada\w*|winogrande\w*|piqa\w*|mmlu\w*|arc_easy\w*|arc_challenge\w*)(_|$)"),
)
# hyperparameters that mean the weights did not start from scratch
FINE_TUNE_HPARAMS = ("model_name_or_path", "pretrained_model_name_or_path", "base_model", "base_model_name_or_path",
                     "pretrained", "init_from", "weights", "init_checkpoint", "peft_type", "lora_r", "lora_alpha")
SPARSE_EVAL_SHARE = 0.2  # evaluations on fewer than a fifth of the training points are sparse
LR_FLAT = 1e-9  # relative change below which two logged rates are the same rate
LR_DECAYED = 0.5  # a rate that ends below half its peak was decayed
LR_WARM_SHARE = 0.3  # a peak within the first 30% of the run after a rise is a warmup
LR_WARM_REACHED = 0.95  # a warmup ends where the rate first reaches 95% of its peak (a onecycle's top is rounded)


# a GAN's players by name (a critic alone is also an actor-critic's value network)
GAN_PLAYER = r"(^|_)(gen|generator|disc|discriminator|d|g|errd|errg|err_d|err_g|adv|adversarial)(_|$)"


def _names(series: Mapping[str, Series]) -> list[str]:
    return [normalise(s.metric) for s in series.values() if len(s) > 0]


def task_kind(series: Mapping[str, Series], hparams: Mapping[str, Any], cls: Mapping[str, Any],
              regression: str | None) -> tuple[str, str]:
    """(kind, why) of the training, from the roles and names of what it logs and its class count."""
    roles = {s.role.kind for s in series.values() if len(s) > 0}
    if "gan_loss" in roles and "reward" in roles and not any(
            re.search(GAN_PLAYER, normalise(s.metric)) for s in series.values() if s.role.kind == "gan_loss" and len(s) > 0):
        # an actor-critic's "critic loss" beside episode rewards, with no generator or discriminator: RL
        return "rl", "rewards and an actor/critic loss are logged"
    if "gan_loss" in roles:
        return "gan", "generator/discriminator losses are logged"
    if "reward" in roles:
        return "rl", "rewards or returns are logged"
    names = _names(series)
    for kind, rx in KIND_PATTERNS:
        hit = next((n for n in names if re.search(rx, n)), None)
        if hit:
            return kind, f"{hit} is logged"
    if regression:
        return "regression", f"{regression} is logged and no accuracy"
    if cls.get("single_ce"):
        if cls.get("n_classes") == 2 or any(re.search(r"(^|_)(auc|auroc|roc_auc|bce|binary)(_|$)", n) for n in names):
            return "binary", "one accuracy with two classes (or AUC/BCE) is logged"
        return "classification", "one accuracy and one loss are logged"
    return "unknown", "no accuracy, reward, or name that says what is trained"


def fine_tune(hparams: Mapping[str, Any]) -> bool | None:
    """True when the hyperparameters name pretrained weights; None when they say nothing."""
    for k in FINE_TUNE_HPARAMS:
        v = hparams.get(k)
        if v not in (None, "", False, "None", "none", "scratch", 0):
            return True
    return None


def cadence(series: Mapping[str, Series], epoch_len: float | None) -> tuple[str, bool]:
    """How often the training loss is logged (every step, every N steps, once an epoch) and
    whether the evaluations are sparse beside it."""
    tl = primary(series, "train_loss")
    if tl is None or len(tl) < 2:
        return "unknown", False
    d = median_gap(np.diff(tl.steps))
    if epoch_len and d >= 0.9 * epoch_len:
        kind = "epoch"
    elif d <= 1:
        ep = primary(series, "epoch")
        kind = "epoch" if ep is not None and np.array_equal(ep.steps, tl.steps) and d == 1 and \
            np.all(np.diff(np.floor(ep.values[np.isfinite(ep.values)])) >= 1) else "step"
    else:
        kind = "every_n"
    vs = primary(series, "val_loss") or primary(series, "val_accuracy")
    return kind, bool(vs is not None and len(vs) < SPARSE_EVAL_SHARE * len(tl))


def lr_schedule(series: Mapping[str, Series]) -> str | None:
    """The shape of the logged learning rate: constant, decay, warmup, warmup_decay or cyclic."""
    lr = primary(series, "lr")
    if lr is None:
        return None
    v = finite(lr)[1]
    if v.size < 2 or float(np.max(v)) <= 0:
        return None
    peak = float(np.max(v))
    if float(np.max(v) - np.min(v)) <= LR_FLAT * peak:
        return "constant"
    ups = int(np.sum(np.diff(v) > LR_FLAT * peak))
    i_peak = int(np.argmax(v))
    rises_first = i_peak > 0 and i_peak <= LR_WARM_SHARE * v.size and ups > 0
    decayed = float(v[-1]) < LR_DECAYED * peak
    downs = np.diff(np.sign(np.diff(v)[np.abs(np.diff(v)) > LR_FLAT * peak]))
    if np.count_nonzero(downs > 0) >= 2:  # rises again after falling, twice or more
        return "cyclic"
    if rises_first:
        return "warmup_decay" if decayed else "warmup"
    return "decay" if decayed else "constant"


def warmup_end(series: Mapping[str, Series], schedule: str | None = None) -> float | None:
    """The step where a logged learning-rate warmup first reaches (nearly) its peak; None when
    the rate does not rise first (`schedule`: lr_schedule's answer, when already known)."""
    if (schedule or lr_schedule(series)) not in ("warmup", "warmup_decay"):
        return None
    lr = primary(series, "lr")
    if lr is None:
        return None
    st, v = finite(lr)
    return float(st[int(np.argmax(v >= LR_WARM_REACHED * float(np.max(v))))])


def run_context(series: Mapping[str, Series], hparams: Mapping[str, Any]) -> RunContext:
    """The run's context, read once before the rules run."""
    from ..detectors.reference import optimizer_of

    cls = classification(series, hparams)
    reg = regression_metric(series)
    kind, why = task_kind(series, hparams, cls, reg)
    ep = epoch_length(series)
    cad, sparse = cadence(series, ep)
    tl = primary(series, "train_loss")
    starts = bool(tl is not None and covers_start(finite(tl)[0]))
    schedule = lr_schedule(series)
    return RunContext(kind=kind, kind_from=why, n_classes=cls["n_classes"], classes_from=cls["classes_from"],
                      single_ce=cls["single_ce"], accuracy_tasks=tuple(cls["accuracy_tasks"]),
                      loss_components=tuple(cls["loss_components"]), regression=reg, fine_tune=fine_tune(hparams),
                      starts_at_init=starts, cadence=cad, sparse_eval=sparse, epoch_len=ep,
                      optimizer=optimizer_of(primary(series, "lr"), dict(hparams)), lr_schedule=schedule,
                      warmup_end=warmup_end(series, schedule), hparams=dict(hparams))
