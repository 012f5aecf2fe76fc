"""Detectors that give a level a reference: what the class count says a loss or an accuracy
should be, what the optimizer says a learning rate may be, and whether progress only began
when the learning rate was cut.  A level without a reference is never a warning by itself."""

from __future__ import annotations

import math
import re

import numpy as np

from ..hparam_names import hparam_values
from ..kinds import CLASS_KINDS, RunContext, a_run
from ..model import Evidence, Series
from .base import (
    CONF_FACT,
    CONF_RULE,
    CONF_SETTING,
    END_SPARSE,
    FEW_POINTS,
    INITIAL_SHARE,
    MIN_CURVE,
    PERCENT,
    TINY,
    cannot,
    covers_start,
    detector,
    finite,
    fire,
    fmt,
    head,
    level,
    quiet,
    step_ratios,
    step_str,
    transform,
)

# the end level of a curve: median of its last fifth
PROB_FLOOR = 1e-6  # an accuracy of exactly 0 or 1 is read this far inside, so the calibrated loss's logs exist
MIN_DROP_POINTS = 10  # progress_after_lr_drop: a flat stretch and a fall after the cut need 5 points each
FLAT_EDGE_SHARE = 0.1  # ... the flat stretch's start and end levels: its first and last tenth (2 points at least)
# An accuracy at exactly one value over this many evaluations, from the first, is one prediction (the
# same class for every input): its level is that class's share of the set, which an imbalanced set
# puts anywhere up to 1, not skill.  Ten, as stuck.one-prediction asks: a model converged by its
# first evaluation can hold a small validation set's count for a few (generated healthy fine-tunes: 5-9)
ONE_PREDICTION_EVALS = 10


def _end_fraction(s: Series) -> float | None:
    """End level of a bounded metric (accuracy or score) as a fraction (percentages read as such)."""
    _, v = finite(s)
    if v.size == 0:
        return None
    scale = PERCENT if np.max(v) > 1.0 else 1.0
    return level(v, *END_SPARSE) / scale


def calibrated_loss(acc: float, c: int) -> float:
    """Cross-entropy of a calibrated C-class classifier with accuracy `acc` that spreads its
    errors evenly: -a ln a - (1 - a) ln((1 - a) / (C - 1))."""
    a = min(max(acc, PROB_FLOOR), 1 - PROB_FLOOR)
    return float(-a * math.log(a) - (1 - a) * math.log((1 - a) / max(c - 1, 1)))


MEASURES_CLASS_REFERENCE = {
    "n_classes": "class count C",
    "chance_loss": "ln C",
    "loss_frac": "end loss over ln C",
    "acc_end": "end accuracy (fraction)",
    "skill": "share of the way from chance (1/C) to perfect accuracy (without C: its upper bound, the accuracy, unless "
             "bound_unknown_classes is off)",
    "skill_floor": "the least that share can be (without C: as if C were 2; 0 for an accuracy that is one prediction)",
    "calibrated_loss": "cross-entropy of a calibrated classifier with that accuracy",
    "loss_over_calibrated": "end loss over the calibrated loss",
    "classes_from": "where the class count came from",
}


@detector("class_reference", ("loss", "acc?"), "class_reference", measures=MEASURES_CLASS_REFERENCE)
def class_reference(loss: Series, acc: Series | None = None, *, bound_unknown_classes: bool,
                    ctx: RunContext | None = None) -> Evidence:
    """Fires when the training loss has a reference level: the run is a classification (an
    accuracy of a single task is logged, no component losses) with its class count C in the
    hyperparameters (two for a binary run); without C, an accuracy alone bounds the skill
    (`_accuracy_bound`) and the loss-level measures stay unset.  Measures what rules compare: `skill`, the accuracy's share of the way from
    chance (1/C) to perfect (or, without an accuracy, the share of the uniform guess's ln C the
    loss removed); `loss_frac`, the end loss over ln C; `acc_end`, the end accuracy;
    `loss_over_calibrated`, the end loss over the cross-entropy of a calibrated classifier with
    that accuracy (accuracy and loss of one model must roughly agree).  With
    `bound_unknown_classes` off, a run without C has no `skill` (its floor stays: a claim of
    skill needs no class count, a claim of too little skill needs the task to be a classifier's)."""
    name = "class_reference"
    if ctx is None or ctx.kind not in CLASS_KINDS:
        kind = ctx.kind if ctx else "unknown"
        return cannot(name, loss.metric, f"{a_run(kind)}: its loss is not one classification cross-entropy")
    c = ctx.n_classes or (2 if ctx.kind == "binary" else None)
    if not c:
        return _accuracy_bound(loss, acc, bound_unknown_classes)
    _, v = finite(loss)
    if v.size < FEW_POINTS or np.any(v <= 0):
        return cannot(name, loss.metric, f"{loss.metric}: too few positive points")
    chance = math.log(c)
    end = level(v, *END_SPARSE)
    loss_frac = end / chance
    acc_end = _end_fraction(acc) if acc is not None else None
    if acc is not None and acc_end is not None:
        skill = (acc_end - 1.0 / c) / (1.0 - 1.0 / c)
        how = f"{acc.metric} ends at {acc_end:.3g}, {skill:.0%} of the way from chance (1/{c}) to 1"
    else:
        skill = 1.0 - loss_frac
        how = f"{loss.metric} ends at {fmt(end)}, {loss_frac:.0%} of ln({c}) = {fmt(chance)}"
    calibrated = calibrated_loss(acc_end, c) if acc_end is not None else None
    over = end / calibrated if calibrated else None
    measures = dict(n_classes=c, chance_loss=chance, loss_frac=loss_frac, acc_end=acc_end, skill=skill,
                    skill_floor=_shown_skill(skill, acc),
                    calibrated_loss=calibrated, loss_over_calibrated=over,
                    classes_from="hyperparameters")
    return fire(name, loss.metric, CONF_FACT, how, loss.steps[0], loss.steps[-1], **measures)


def _skill_floor(acc_end: float, acc: Series) -> float:
    """The least share of the way from chance to perfect an accuracy can be, whatever the class
    count: 2a - 1, its value for two classes (chance is at most 1/2 for a model that tells classes
    apart)."""
    return _shown_skill(max(0.0, 2.0 * acc_end - 1.0), acc)


def _shown_skill(floor: float, acc: Series | None) -> float:
    """A skill floor, or none at all when the accuracy is one prediction (`one_prediction`)."""
    return 0.0 if acc is not None and one_prediction(acc) else floor


def one_prediction(acc: Series) -> bool:
    """The accuracy holds exactly one value strictly between 0 and 1 at every evaluation, at least
    ONE_PREDICTION_EVALS of them: no held-out prediction changed its correctness, the signature of
    one class predicted for every input, whose accuracy is the class prior, not skill."""
    _, v = finite(acc)
    return bool(v.size >= ONE_PREDICTION_EVALS and np.all(v == v[0]) and 0.0 < v[0] < (PERCENT if v[0] > 1.0 else 1.0))


def _accuracy_bound(loss: Series, acc: Series | None, upper: bool) -> Evidence:
    """Without a class count, an accuracy still bounds the skill: (a - 1/C) / (1 - 1/C) <= a for
    every C, so an accuracy below a share is a skill below it whatever the class count; and it is
    at least 2a - 1 (its value for two classes), so an accuracy of 0.9 is most of the way whatever C."""
    name = "class_reference"
    acc_end = _end_fraction(acc) if acc is not None else None
    if acc is None or acc_end is None:
        return cannot(name, loss.metric, "no class count in the hyperparameters and no accuracy: no reference level")
    how = f"{acc.metric} ends at {acc_end:.3g}: at most {acc_end:.0%} of the way from chance to 1, whatever the class count"
    measures = dict(n_classes=None, chance_loss=None, loss_frac=None, acc_end=acc_end, skill=acc_end if upper else None,
                    skill_floor=_skill_floor(acc_end, acc), calibrated_loss=None,
                    loss_over_calibrated=None, classes_from="unknown: the skill is bounded by the accuracy")
    return fire(name, loss.metric, CONF_FACT, how, loss.steps[0], loss.steps[-1], **measures)


MEASURES_ACCURACY_SKILL = {
    "acc_end": "end accuracy (fraction)",
    "skill_floor": ("the least share of the way from chance to perfect that accuracy can be, whatever the class count "
                    "(as if C were 2; 0 for an accuracy that is one prediction)"),
}


@detector("accuracy_skill", ("acc",), "class_reference", measures=MEASURES_ACCURACY_SKILL)
def accuracy_skill(acc: Series, ctx: RunContext | None = None) -> Evidence:
    """What a held-out accuracy alone says of the model, whatever trains it (a contrastive run's
    kNN or linear-probe accuracy, a fine-tune's score beside a loss that is no single
    cross-entropy): at least 2a - 1 of the way from chance to perfect, its value for two classes
    (`_accuracy_bound`), since chance is at most 1/2."""
    name = "accuracy_skill"
    if finite(acc)[1].size < FEW_POINTS:
        return cannot(name, acc.metric, f"{acc.metric}: fewer than {FEW_POINTS} points")
    acc_end = _end_fraction(acc)
    if acc_end is None:
        return cannot(name, acc.metric, f"{acc.metric}: no finite points")
    return fire(name, acc.metric, CONF_FACT, f"{acc.metric} ends at {acc_end:.3g}", acc.steps[0], acc.steps[-1],
                acc_end=acc_end, skill_floor=_skill_floor(acc_end, acc))


MEASURES_CHANCE_START = {
    "n_classes": "class count C",
    "start": "first training loss level",
    "chance_loss": "ln C",
    "rel_dev": "relative deviation of the start from ln C",
    "acc_start": "first evaluated accuracy (fraction), when read",
}


@detector("chance_start", ("loss", "acc?"), "chance_start", measures=MEASURES_CHANCE_START)
def chance_start(loss: Series, acc: Series | None = None, *, tol: float, acc_margin: float,
                 ctx: RunContext | None = None) -> Evidence:
    """The log starts at initialisation with the classifier at chance: the first training loss
    within `tol` (relative) of ln C, C from the hyperparameters (every loss above ~0.7 is ln of
    some C, so the loss alone never gives it), and a first evaluated accuracy, when logged, at
    most `acc_margin` / C."""
    name = "chance_start"
    c = ctx.n_classes if ctx else None
    if not c or ctx is None or ctx.kind not in CLASS_KINDS:
        return cannot(name, loss.metric, "no class count in the hyperparameters of a classification")
    st, v = finite(loss)
    if v.size < MIN_CURVE or not covers_start(st) or np.any(v <= 0):
        return cannot(name, loss.metric, f"{loss.metric}: does not start at initialisation")
    start = float(np.median(head(v, INITIAL_SHARE, FEW_POINTS)))
    chance = math.log(c)
    rel = abs(start - chance) / chance
    measures: dict = dict(n_classes=c, start=start, chance_loss=chance, rel_dev=rel, acc_start=None)
    a = finite(acc)[1] if acc is not None else np.array([])
    if a.size:
        measures["acc_start"] = float(a[0]) / (PERCENT if np.max(a) > 1.0 else 1.0)
        if measures["acc_start"] > acc_margin / c:
            return quiet(name, loss.metric, **measures)
    if rel <= tol:
        how = f"{loss.metric} starts at {fmt(start)} = ln({c})" + (
            f", {acc.metric} at {measures['acc_start']:.3g} vs 1/{c}" if measures["acc_start"] is not None and acc else "")
        return fire(name, loss.metric, CONF_FACT, how, st[0], st[0], **measures)
    return quiet(name, loss.metric, **measures)


MEASURES_TASK_KIND = {
    "kind": "the kind of training (RunContext.kind): classification, binary, regression, language_model, detection, "
            "segmentation, speech, contrastive, diffusion, gan, rl or unknown",
}


@detector("task_kind", ("loss",), "task_kind", measures=MEASURES_TASK_KIND)
def task_kind(loss: Series, ctx: RunContext | None = None) -> Evidence:
    """What the run trains (the run context's kind, from metric names and hyperparameters).
    Fires for every run with a loss: rules read its `kind` to weigh causes that only exist for
    one kind of task."""
    name = "task_kind"
    kind, how = (ctx.kind, f"{a_run(ctx.kind)}: {ctx.kind_from}") if ctx else ("unknown", "no run context")
    return fire(name, loss.metric, CONF_FACT, how, loss.steps[0] if len(loss) else None,
                loss.steps[-1] if len(loss) else None, kind=kind)


# Peak learning rates beyond the stable range of each optimizer family's common recipes.  SGD:
# recipes use 0.01-0.1 at batch 256 and scale linearly with the batch (Goyal et al.: 0.1 per 256
# examples, with warmup past that), so the limit is SGD_SCALE_MARGIN x that rule when the batch size
# is known, else SGD_LIMIT (0.4-0.8 appear only in large-batch recipes with warmup).  Adam-family
# recipes sit at 1e-5 to 3e-3 whatever the batch, so 1e-2 is past them.  With the optimizer unknown
# only a rate past every family's limit is high.  A rate alone is never the evidence: the rules
# pair it with instability the run shows.
SGD_LIMIT = 0.5
SGD_PER_256 = 0.1
SGD_SCALE_MARGIN = 8.0
SGD_BATCH = 256.0  # SGD_PER_256 is the rate per 256 examples of batch (linear scaling rule)
LR_LIMITS = {"sgd": SGD_LIMIT, "adam": 1e-2, "rmsprop": 1e-2, "adagrad": 0.5}


def lr_limit(family: str | None, batch: float | None) -> float:
    """The peak learning rate past which a family's recipes are unstable (see LR_LIMITS)."""
    sgd = SGD_SCALE_MARGIN * SGD_PER_256 * batch / SGD_BATCH if batch else SGD_LIMIT
    if family is None:
        return max(sgd, *LR_LIMITS.values())
    return sgd if family == "sgd" else LR_LIMITS[family]


_OPT_PATTERNS = (("adam", r"adam|lamb|lion|adafactor"), ("rmsprop", r"rms"), ("adagrad", r"adagrad|adadelta"),
                 ("sgd", r"sgd|momentum|nesterov"))


def optimizer_family(text: str) -> str | None:
    t = str(text).lower()
    for fam, rx in _OPT_PATTERNS:
        if re.search(rx, t):
            return fam
    return None


def optimizer_of(lr: Series | None, hparams: dict) -> str | None:
    for v in hparam_values(hparams, "optimizer"):
        if isinstance(v, str) and optimizer_family(v):
            return optimizer_family(v)
    if lr is not None:  # Lightning's LearningRateMonitor names the rate after the optimizer: lr-Adam, lr-SGD
        return optimizer_family(lr.metric.replace("lr", "", 1)) if re.search(r"lr[-_/]", lr.metric.lower()) else None
    return None


def _hparam_number(hparams: dict, name: str, minimum: float) -> float | None:
    """The first alias of hyperparameter `name` that is a finite number >= minimum."""
    for v in hparam_values(hparams, name):
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f) and f >= minimum:
            return f
    return None


def peak_rate(lr: Series | None, hparams: dict) -> float | None:
    """The peak learning rate: the logged one's maximum, else the hyperparameters' (a positive
    number), else None."""
    if lr is not None:
        _, v = finite(lr)
        if v.size:
            return float(np.max(v))
    return _hparam_number(hparams, "lr", TINY)


MEASURES_LR_FOR_OPTIMIZER = {
    "peak": "peak learning rate",
    "limit": "stable limit for the optimizer family",
    "optimizer": "optimizer family, when known",
    "batch": "batch size, when known",
    "constant": "whether the rate never changes",
}


@detector("lr_for_optimizer", ("lr?",), "lr_value", measures=MEASURES_LR_FOR_OPTIMIZER)
def lr_for_optimizer(lr: Series | None = None, ctx: RunContext | None = None) -> Evidence:
    """The peak learning rate (logged, else from the hyperparameters) is at or above the stable
    range of the run's optimizer family (LR_LIMITS, lr_limit); with the optimizer unknown, past
    every family's range."""
    name = "lr_for_optimizer"
    hp = dict(ctx.hparams) if ctx else {}
    metric = lr.metric if lr is not None else "lr"
    peak = peak_rate(lr, hp)
    if peak is None:
        return cannot(name, metric, "learning rate not logged and not in the hyperparameters")
    fam = ctx.optimizer if ctx else optimizer_of(lr, hp)
    batch = _hparam_number(hp, "batch_size", 1)
    limit = lr_limit(fam, batch)
    constant = bool(lr is not None and np.all(finite(lr)[1] == peak))
    measures = dict(peak=peak, optimizer=fam or "unknown", limit=limit, constant=constant, batch=batch)
    if peak >= limit:
        # from the hyperparameters, the rate has no steps to point at
        first, last = (float(lr.steps[0]), float(lr.steps[-1])) if lr is not None else (None, None)
        whose = f"{fam}-family recipes" + (f" at batch {batch:g}" if fam == "sgd" and batch else "") if fam else \
            "any optimizer's common recipes"
        source = "" if lr is not None else " (from the hyperparameters)"
        return fire(name, metric, CONF_RULE, f"peak learning rate {fmt(peak)}{source} is at or above {fmt(limit)}, past the stable "
                    f"range of {whose}" + (" (constant)" if constant else ""), first, last, **measures)
    return quiet(name, metric, **measures)


# Peak learning rates below every common recipe of each optimizer family: SGD recipes run at
# 0.01-0.1, so 1e-3 is ten times under their low end; Adam-family recipes go down to 1e-5 for
# fine-tuning a pretrained model, so only 1e-6 is under them.  With the optimizer unknown only a
# rate under every family's floor is low.
LR_LOW_LIMITS = {"sgd": 1e-3, "adam": 1e-6, "rmsprop": 1e-6, "adagrad": 1e-3}
# The lowest rates of each family's recipes for training from scratch: SGD (with momentum) runs at
# 0.01-0.1 there, Adam-family optimizers at 1e-4 to 3e-3; rates under these are a fine-tune's (Adam
# at 1e-5 to 5e-5 on a pretrained model) or too small for a model that has everything to learn.
# With the optimizer unknown, under every family's.
LR_SCRATCH_FLOORS = {"sgd": 1e-2, "adam": 1e-4, "rmsprop": 1e-4, "adagrad": 1e-2}
# With the optimizer unknown, a rate is usual for training from scratch only well inside SGD's
# 0.01-0.1 (a third of the way in log): at 0.01, the range's low end, an SGD without momentum
# steps 10x shorter than the momentum recipes the range comes from (1 / (1 - 0.9)); Adam-family
# rates that high are past their range, not low
LR_USUAL_ANY = 0.03


def below_scratch(peak: float, family: str | None) -> bool:
    """Whether a peak rate is under its family's lowest from-scratch rate (LR_SCRATCH_FLOORS);
    with the family unknown, under every family's."""
    return peak < LR_SCRATCH_FLOORS.get(family or "", min(LR_SCRATCH_FLOORS.values()))

MEASURES_LR_SCRATCH_RANGE = {
    "peak": "peak learning rate (logged, else from the hyperparameters)",
    "optimizer": "optimizer family, when known",
    "range": "'below' the family's lowest from-scratch rate (LR_SCRATCH_FLOORS), 'within' its recipes, or 'unknown'",
}


@detector("lr_scratch_range", ("lr?",), "lr_value", measures=MEASURES_LR_SCRATCH_RANGE)
def lr_scratch_range(lr: Series | None = None, ctx: RunContext | None = None) -> Evidence:
    """Where the peak learning rate (logged, else from the hyperparameters) sits against its
    optimizer family's recipes for training from scratch: `below` the family's lowest
    (LR_SCRATCH_FLOORS), `within` them, or `unknown` - no rate, or with the optimizer unknown a rate
    one family calls low and another usual (1e-3 is Adam's usual rate and ten times under SGD's);
    unknown-optimizer rates are `below` under every family's floor and `within` from LR_USUAL_ANY.
    Context for weighing lr_too_low, never a symptom: it does not fire."""
    name = "lr_scratch_range"
    hp = dict(ctx.hparams) if ctx else {}
    metric = lr.metric if lr is not None else "lr"
    peak = peak_rate(lr, hp)
    fam = ctx.optimizer if ctx else optimizer_of(lr, hp)
    if peak is None:
        where = "unknown"
    elif below_scratch(peak, fam):
        where = "below"
    else:
        where = "within" if fam in LR_SCRATCH_FLOORS or peak >= LR_USUAL_ANY else "unknown"
    return quiet(name, metric, peak=peak, optimizer=fam or "unknown", range=where)


MEASURES_LR_LOW_FOR_OPTIMIZER = {
    "peak": "peak learning rate",
    "floor": "the optimizer family's lowest common rate",
    "optimizer": "optimizer family, when known",
    "below_scratch": "whether the peak is under the family's lowest rate for training from scratch (LR_SCRATCH_FLOORS)",
}


@detector("lr_low_for_optimizer", ("lr",), "lr_value", measures=MEASURES_LR_LOW_FOR_OPTIMIZER)
def lr_low_for_optimizer(lr: Series, ctx: RunContext | None = None) -> Evidence:
    """The logged peak learning rate is under the lowest rate of the run's optimizer family's
    common recipes (LR_LOW_LIMITS); with the optimizer unknown, under every family's."""
    name = "lr_low_for_optimizer"
    st, v = finite(lr)
    if v.size == 0:
        return cannot(name, lr.metric, "lr not logged")
    peak = float(np.max(v))
    fam = ctx.optimizer if ctx else optimizer_of(lr, {})
    floor = LR_LOW_LIMITS[fam] if fam in LR_LOW_LIMITS else min(LR_LOW_LIMITS.values())
    measures = dict(peak=peak, floor=floor, optimizer=fam or "unknown", below_scratch=below_scratch(peak, fam))
    if peak < floor:
        whose = f"{fam}-family recipes" if fam else "any optimizer's common recipes"
        return fire(name, lr.metric, CONF_SETTING, f"peak {lr.metric} is {fmt(peak)}, under the lowest rate of {whose} "
                    f"({fmt(floor)})", st[0], st[-1], **measures)
    return quiet(name, lr.metric, **measures)


MEASURES_PROGRESS_AFTER_LR_DROP = {
    "cut_step": "step of the first learning-rate cut",
    "flat_share": "share of the run before the cut",
    "flat_change": "relative change of the loss before the cut",
    "fall": "fall of the loss after the cut (x)",
}


@detector("progress_after_lr_drop", ("loss", "lr"), "delayed_start", measures=MEASURES_PROGRESS_AFTER_LR_DROP)
def progress_after_lr_drop(loss: Series, lr: Series, *, min_lr_drop: float, max_flat_change: float,
                           min_flat_share: float, min_fall: float, ctx: RunContext | None = None) -> Evidence:
    """The loss made no progress from the start until the first cut of the learning rate (by
    `min_lr_drop` x or more), then fell (`min_fall` x): the rate before the cut was too high
    to descend.  A step schedule after normal progress is not this: the loss must have stayed
    within `max_flat_change` (relative) of its start level for at least `min_flat_share` of the run."""
    name = "progress_after_lr_drop"
    ls, lv = finite(loss)
    rs, rv = finite(lr)
    if lv.size < MIN_DROP_POINTS or rv.size < FEW_POINTS or np.any(rv <= 0):
        return cannot(name, lr.metric, "too few points")
    x, kind = transform(lv)
    if kind != "log":
        return cannot(name, loss.metric, f"{loss.metric}: not a positive loss")
    cuts = np.nonzero(step_ratios(rv) >= min_lr_drop)[0]
    if cuts.size == 0:
        return quiet(name, loss.metric, cut_step=None)
    at = float(rs[cuts[0] + 1])
    span = max(float(ls[-1] - ls[0]), TINY)
    share = (at - ls[0]) / span
    before = x[ls < at]
    after = x[ls > at]
    measures = dict(cut_step=at, flat_share=share)
    if before.size < MIN_CURVE or after.size < MIN_CURVE:
        return quiet(name, loss.metric, **measures)
    k = max(2, int(before.size * FLAT_EDGE_SHARE))
    start = float(np.median(before[:k]))
    pre_end = float(np.median(before[-k:]))
    change = math.expm1(abs(start - pre_end))
    end = level(after, *END_SPARSE)
    fall = math.exp(pre_end - end)
    measures.update(flat_change=change, fall=fall)
    if share >= min_flat_share and change <= max_flat_change and fall >= min_fall:
        txt = (f"{loss.metric} stayed at {fmt(math.exp(start))} from step {step_str(ls[0])} until {lr.metric} was cut "
               f"at step {step_str(at)} ({share:.0%} of the run), then fell {fmt(fall)}x")
        return fire(name, loss.metric, CONF_RULE, txt, ls[0], at, **measures)
    return quiet(name, loss.metric, **measures)
