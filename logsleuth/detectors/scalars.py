"""Detectors on optional logged scalars: gradient norms, update/weight ratios, dead units,
regularisation terms, learning-rate drops, frozen validation metrics."""

from __future__ import annotations

import math
import re

import numpy as np

from ..kinds import RunContext
from ..model import Evidence, Series
from .base import (
    AT_THRESHOLD_EXTREME,
    AT_THRESHOLD_RARE,
    CONF_DIRECT,
    CONF_EXACT,
    CONF_RULE,
    CONF_SETTING,
    END,
    END_SPARSE,
    FEW_POINTS,
    FULL_AT_SMALL,
    INITIAL_SHARE,
    MIN_CURVE,
    PERCENT,
    SECOND_HALF,
    SMOOTH_BURST,
    START,
    START_SHARE_FEW,
    TINY,
    bucket,
    cannot,
    confidence,
    detector,
    finite,
    fire,
    fmt,
    head,
    level,
    logged_from_start,
    logged_index,
    quiet,
    ramp,
    significant_digits,
    smooth,
    step_ratios,
    step_str,
)

NORM_FLOOR = 1e-30  # a gradient norm of exactly 0 is read as this, so its log exists: far below any real norm
FULL_DECADES = 3  # gradient growth or a layer ratio three orders of magnitude past its threshold is unmistakable
HEALTHY_UPDATE_LOG10 = -3  # the update/weight ratio of a healthy run is about 1e-3 (CS231n)
FULL_OFF_DECADES = 4  # ... and four orders of magnitude off it (1e-7, 10) is unmistakable
RESPONSE_SHARE = 0.05  # lr_drop_response: the loss right before and right after a drop, within 5% of the run each side


def _total(group: list[Series]) -> Series | None:
    """The total gradient norm of a group, or the largest per-layer series."""
    if not group:
        return None
    for s in group:
        if re.search(r"total|(^|[/_])grad_?norm$|^grad_norm$|gradnorm$", s.metric.lower()) or len(group) == 1:
            return s
    return max(group, key=lambda s: float(np.nanmedian(np.abs(s.values))) if s.values.size else 0.0)


def _layers(group: list[Series]) -> list[Series]:
    """Per-layer series in input-to-output order (by the first number in the name)."""
    tot = _total(group) if len(group) > 1 else None
    out = [s for s in group if s is not tot and re.search(r"\d", s.metric)]

    def key(s: Series):
        nums = re.findall(r"\d+", s.metric.split("norm", 1)[-1])
        return (int(nums[0]) if nums else 0, s.metric)

    return sorted(out, key=key)


MEASURES_EXPLODING_GRADIENTS = {
    "growth": "peak over early gradient norm (x)",
    "end_growth": "end over early gradient norm (x)",
    "peak": "peak gradient norm",
    "peak_frac": "where the peak lies, as a share of the run",
    "early": "early gradient norm level",
    "spike": "whether the peak is a transient burst",
    "nonfinite": "whether the norm became non-finite",
}


@detector("grad_growth", ("grads*",), "exploding_gradients", measures=MEASURES_EXPLODING_GRADIENTS)
def exploding_gradients(grads: list[Series], *, min_growth: float, spike_factor: float, nonfinite_growth: float,
                        ctx: RunContext | None = None) -> Evidence:
    """The gradient norm grows by orders of magnitude (`min_growth` x its early level), spikes
    that far above its median, or becomes non-finite."""
    name = "grad_growth"
    s = _total(grads)
    if s is None:
        return cannot(name, "grad_norm", "grad_norm not logged")
    st, v = finite(s)
    nonfin = int((~np.isfinite(s.values)).sum())
    if v.size < MIN_CURVE:
        if nonfin:
            return fire(name, s.metric, CONF_DIRECT, f"{s.metric} is not finite", s.steps[0], s.steps[-1], growth=math.inf, nonfinite=nonfin)
        return cannot(name, s.metric, f"{s.metric}: too few points")
    st, v = bucket(st, v)
    v = np.maximum(v, NORM_FLOOR)
    early = float(np.median(head(v, INITIAL_SHARE, 2)))
    sm = smooth(np.log(v), SMOOTH_BURST)
    peak_i = int(np.argmax(sm))
    growth = math.exp(float(sm[peak_i])) / early if early > 0 else math.inf
    spike = float(np.max(v)) / float(np.median(v))
    end_growth = math.exp(level(sm, *END)) / early if early > 0 else math.inf
    peak_frac = float((st[peak_i] - st[0]) / max(st[-1] - st[0], TINY))
    measures = dict(growth=growth, spike=spike, nonfinite=nonfin, early=early, peak=float(math.exp(sm[peak_i])),
                    end_growth=end_growth, peak_frac=peak_frac)
    if growth >= min_growth or spike >= spike_factor * min_growth or (nonfin and growth >= nonfinite_growth):
        conf = confidence(AT_THRESHOLD_RARE, ramp(math.log10(max(growth, spike / spike_factor, 1)), math.log10(min_growth),
                                                      math.log10(min_growth) + FULL_DECADES))
        txt = (f"{s.metric} grew {fmt(growth)}x from {fmt(early)} to {fmt(math.exp(sm[peak_i]))} by step {step_str(st[peak_i])}"
               + (f"; {nonfin} non-finite value(s)" if nonfin else ""))
        return fire(name, s.metric, conf, txt, st[0], st[peak_i], **measures)
    return quiet(name, s.metric, **measures)


MEASURES_VANISHING_GRADIENTS = {
    "layer_ratio": "smallest over largest per-layer norm",
    "collapse": "end over start norm",
    "loss_fall": "start over end level of the training loss (1 when not logged)",
    "unexplained": "the collapse times the loss's fall: what the loss's own convergence does not explain",
    "zero": "whether the norm is exactly zero",
}


def _start_end(v: np.ndarray) -> tuple[float, float]:
    """A curve's start (median of its first share) and end level: the windows the gradient's
    collapse and the loss's fall are both read over."""
    return float(np.median(head(v, INITIAL_SHARE, 2))), level(v, *END_SPARSE)


def _loss_fall(loss: Series | None) -> float:
    """How many times the training loss fell from its start to its end level (1: not logged, not positive)."""
    if loss is None:
        return 1.0
    _, v = finite(loss)
    if v.size < MIN_CURVE or np.any(v <= 0):
        return 1.0
    start, end = _start_end(v)
    return max(start / end, 1.0)


@detector("grad_collapse", ("grads*", "loss?"), "vanishing_gradients", measures=MEASURES_VANISHING_GRADIENTS)
def vanishing_gradients(grads: list[Series], loss: Series | None = None, *, max_layer_ratio: float, max_collapse: float,
                        ctx: RunContext | None = None) -> Evidence:
    """Gradients collapse toward zero: exactly zero, the first layer's norm `max_layer_ratio`
    times the last layer's or less, or the total norm falling `max_collapse` x below its start
    by more than the training loss fell (a loss near zero has a gradient near zero: a model
    that fits its data 200x lower has gradients ~200x smaller, and that is convergence)."""
    name = "grad_collapse"
    tot = _total(grads)
    if tot is None:
        return cannot(name, "grad_norm", "grad_norm not logged")
    allv = np.concatenate([finite(g)[1] for g in grads]) if grads else np.array([])
    if allv.size and np.all(allv == 0):
        return fire(name, tot.metric, CONF_EXACT, f"every logged gradient norm ({len(grads)} series) is exactly zero",
                    tot.steps[0], tot.steps[-1], zero=True, layer_ratio=0.0, collapse=0.0)
    layers = _layers(grads)
    measures: dict = dict(zero=False)
    if len(layers) >= 2:
        first = np.median(np.abs(finite(layers[0])[1])) if finite(layers[0])[1].size else math.nan
        last = np.median(np.abs(finite(layers[-1])[1])) if finite(layers[-1])[1].size else math.nan
        ratio = float(first / last) if last and last > 0 else math.nan
        measures["layer_ratio"] = ratio
        if ratio == ratio and ratio <= max_layer_ratio:
            conf = confidence(AT_THRESHOLD_EXTREME, ramp(-math.log10(max(ratio, NORM_FLOOR)), -math.log10(max_layer_ratio),
                                                               -math.log10(max_layer_ratio) + FULL_DECADES))
            return fire(name, layers[0].metric,
                        conf, f"{layers[0].metric} is {fmt(ratio)}x {layers[-1].metric} (median over the run): the "
                        f"gradient shrinks {fmt(1 / ratio) if ratio > 0 else 'infinitely'}x through {len(layers)} layers",
                        tot.steps[0], tot.steps[-1], **measures)
    st, v = finite(tot)
    if v.size >= MIN_CURVE and np.all(v >= 0):
        early, late = _start_end(v)
        collapse = late / early if early > 0 else math.nan
        fall = _loss_fall(loss)
        unexplained = collapse * fall
        measures.update(collapse=collapse, loss_fall=fall, unexplained=unexplained)
        if early > 0 and unexplained <= max_collapse:
            beside = f" while {loss.metric} fell only {fmt(fall)}x" if loss is not None and fall > 1.0 else ""
            return fire(name, tot.metric, CONF_RULE, f"{tot.metric} fell {fmt(1 / max(collapse, NORM_FLOOR))}x from {fmt(early)} "
                        f"to {fmt(late)}{beside}", st[0], st[-1], **measures)
    return quiet(name, tot.metric, **measures)


MEASURES_UPDATE_RATIO_OFF = {
    "median": "median update/weight ratio",
    "log10": "its log10",
    "direction": "low or high",
}


@detector("update_ratio_off", ("ratios*",), "update_ratio_off", measures=MEASURES_UPDATE_RATIO_OFF)
def update_ratio_off(ratios: list[Series], *, low: float, high: float, ctx: RunContext | None = None) -> Evidence:
    """The update/weight ratio (healthy near 1e-3) is far outside [low, high] over the run."""
    name = "update_ratio_off"
    vals = [finite(s)[1] for s in ratios]
    vals = [np.abs(v[v != 0]) for v in vals if v.size]
    if not vals or sum(v.size for v in vals) < MIN_CURVE:
        return cannot(name, "update_ratio", f"update/weight ratio not logged, or fewer than {MIN_CURVE} values")
    med = float(np.median(np.concatenate(vals)))
    m = ratios[0]
    measures = dict(median=med, log10=math.log10(med) if med > 0 else -math.inf, direction="low" if med < low else "high" if med > high else "ok")
    if med < low or med > high:
        conf = confidence(AT_THRESHOLD_RARE, ramp(abs(math.log10(med) - HEALTHY_UPDATE_LOG10),
                                                     abs(math.log10(low if med < low else high) - HEALTHY_UPDATE_LOG10), FULL_OFF_DECADES))
        return fire(name, m.metric, conf, f"update/weight ratio median {fmt(med)} over {len(ratios)} series "
                    f"(healthy: about 1e-3); updates are too {'small' if med < low else 'large'}",
                    m.steps[0], m.steps[-1], **measures)
    return quiet(name, m.metric, **measures)


MEASURES_DEAD_UNITS = {
    "start": "start fraction of zero activations",
    "end": "end fraction",
    "rise": "rise of the fraction",
}


@detector("dead_units", ("fracs*",), "dead_units", measures=MEASURES_DEAD_UNITS)
def dead_units(fracs: list[Series], *, max_frac: float, min_rise: float, ctx: RunContext | None = None) -> Evidence:
    """The logged fraction of zero activations is very high, or rises a lot during training."""
    name = "dead_units"
    best: tuple[float, float, Series, float] | None = None
    for s in fracs:
        st, v = finite(s)
        if v.size < FEW_POINTS:
            continue
        scale = PERCENT if np.max(v) > 1.0 else 1.0
        v = v / scale
        start = float(np.median(head(v, START_SHARE_FEW)))
        end = level(v, *END_SPARSE)
        if best is None or end > best[1]:
            best = (start, end, s, float(st[-1]))
    if best is None:
        return cannot(name, "dead_frac", "activation sparsity not logged")
    start, end, s, last = best
    measures = dict(start=start, end=end, rise=end - start)
    if end >= max_frac or end - start >= min_rise:
        conf = confidence(AT_THRESHOLD_RARE, ramp(end, 0.5, 1.0))
        return fire(name, s.metric, conf, f"{s.metric}: {end:.0%} of the units output zero at the end (from {start:.0%})",
                    s.steps[0], last, **measures)
    return quiet(name, s.metric, **measures)


MEASURES_REGULARIZATION_DOMINATES = {
    "ratio": "regularisation term over data loss",
}


@detector("regularization_dominates", ("reg", "data"), "regularization_dominates", measures=MEASURES_REGULARIZATION_DOMINATES)
def regularization_dominates(reg: Series, data: Series, *, min_ratio: float, ctx: RunContext | None = None) -> Evidence:
    """A logged regularisation term is larger than the data loss (over the first fifth or the second half)."""
    name = "regularization_dominates"
    rs, rv = finite(reg)
    ds, dv = finite(data)
    if rv.size < FEW_POINTS or dv.size < FEW_POINTS:
        return cannot(name, reg.metric, "too few points")
    # the worse of the first fifth and the second half: a penalty that dominates early can
    # crush the weights before it fades
    dv_at = np.interp(rs, ds, dv)
    ratios = []
    for a, b in (START, SECOND_HALF):
        r_, d_ = level(rv, a, b), level(dv_at, a, b)
        ratios.append((r_ / d_ if d_ > 0 else math.inf, r_, d_))
    ratio, r, d = max(ratios)
    measures = dict(ratio=ratio)
    if ratio >= min_ratio:
        return fire(name, reg.metric, confidence(AT_THRESHOLD_RARE, ramp(ratio, min_ratio, FULL_AT_SMALL * min_ratio)),
                    f"{reg.metric} ({fmt(r)}) is {fmt(ratio)}x {data.metric} ({fmt(d)})", rs[0], rs[-1], **measures)
    return quiet(name, reg.metric, **measures)


MEASURES_LR_DROP_RESPONSE = {
    "drops": "learning-rate drops found",
    "responses": "drops followed by a sharp loss fall",
}


@detector("lr_drop_response", ("loss", "lr"), "lr_schedule_step", measures=MEASURES_LR_DROP_RESPONSE)
def lr_drop_response(loss: Series, lr: Series, *, min_lr_drop: float, min_loss_drop: float,
                     ctx: RunContext | None = None) -> Evidence:
    """The loss improves sharply right after a step drop of the learning rate."""
    name = "lr_drop_response"
    ls, lv = finite(loss)
    rs, rv = finite(lr)
    if rv.size < FEW_POINTS or lv.size < 2 * FEW_POINTS or np.any(rv <= 0) or np.any(lv <= 0):
        return cannot(name, lr.metric, "too few points")
    ratio = step_ratios(rv)
    drops = np.nonzero(ratio >= min_lr_drop)[0]
    span = ls[-1] - ls[0]
    w = max(span * RESPONSE_SHARE, TINY)
    hits = []
    for i in drops:
        at = rs[i + 1]
        before = lv[(ls >= at - w) & (ls < at)]
        after = lv[(ls > at) & (ls <= at + w)]
        if before.size >= 2 and after.size >= 2:
            fall = 1 - float(np.median(after)) / float(np.median(before))
            if fall >= min_loss_drop:
                hits.append((at, fall, ratio[i]))
    measures = dict(drops=int(drops.size), responses=len(hits))
    if hits:
        at, fall, r = max(hits, key=lambda h: h[1])
        return fire(name, loss.metric, CONF_RULE, f"{loss.metric} fell {fall:.0%} right after {lr.metric} dropped "
                    f"{fmt(r)}x at step {step_str(at)}", at, ls[logged_index(ls, at + w)], **measures)
    return quiet(name, loss.metric, **measures)


MEASURES_METRIC_FROZEN = {
    "evals": "evaluations",
    "distinct": "distinct values",
    "value": "the frozen value",
    "digits": "significant digits the frozen value is written with",
    "from_start": "whether the series is logged from initialisation (or one logging interval in)",
}


@detector("metric_frozen", ("series",), "metric_frozen", measures=MEASURES_METRIC_FROZEN)
def metric_frozen(series: Series, *, min_evals: int, min_evals_exact: int, rel_tol: float,
                  ctx: RunContext | None = None) -> Evidence:
    """A validation metric is exactly constant across all of its evaluations: at least
    `min_evals` of them, or `min_evals_exact` for a loss written with full precision (equal
    values there are the same computation, not a rounding or the same count of right answers);
    `rel_tol`: values within that relative distance of the first count as the same."""
    name = "metric_frozen"
    st, v = finite(series)
    exact = series.role.kind in EXACT_KINDS and v.size > 0 and significant_digits(float(v[0])) >= EXACT_DIGITS
    need = min(min_evals, min_evals_exact) if exact else min_evals
    if v.size < need:
        return cannot(name, series.metric, f"{series.metric}: {v.size} evaluation(s), {need} needed")
    if np.all(np.abs(v - v[0]) <= rel_tol * abs(float(v[0]))):  # rel_tol 0: exactly equal
        how = "exactly" if np.all(v == v[0]) else f"within {rel_tol:.0e} (relative) of"
        points = "evaluations" if series.role.split != "train" else "logged points"
        return fire(name, series.metric, CONF_EXACT, f"{series.metric} is {how} {fmt(float(v[0]))} at all {v.size} {points}",
                    st[0], st[-1], value=float(v[0]), evals=int(v.size), digits=significant_digits(float(v[0])),
                    from_start=logged_from_start(st))
    srt = np.sort(v)  # np.unique's count without its bookkeeping
    return quiet(name, series.metric, distinct=1 + int(np.count_nonzero(srt[1:] != srt[:-1])))


MOVES_MIN_EVALS = 4  # a later half of at least two evaluations, the fewest that can differ
MEASURES_METRIC_MOVES = {
    "distinct": "distinct values among the later half of the evaluations",
}


@detector("metric_moves", ("series",), "metric_moves", measures=MEASURES_METRIC_MOVES)
def metric_moves(series: Series, *, ctx: RunContext | None = None) -> Evidence:
    """A held-out series keeps moving: its later half of evaluations takes more than one value,
    so the evaluation that computes it sees weights that still change (an accuracy frozen beside
    such a loss is a model that keeps its predictions, not an evaluation that ignores training)."""
    name = "metric_moves"
    st, v = finite(series)
    if v.size < MOVES_MIN_EVALS:
        return cannot(name, series.metric, f"{series.metric}: {v.size} evaluation(s), {MOVES_MIN_EVALS} needed")
    late = v[v.size // 2:]
    distinct = int(np.unique(late).size)
    if distinct > 1:
        return fire(name, series.metric, CONF_EXACT, f"{series.metric} still moves: {distinct} values in its later half",
                    st[v.size // 2], st[-1], distinct=distinct)
    return quiet(name, series.metric, distinct=distinct)


# losses are continuous: a value written with this many significant digits repeats only when the
# same computation is repeated (accuracies and error rates are counts over the set: they repeat honestly)
EXACT_KINDS = ("loss", "perplexity")
EXACT_DIGITS = 6


MEASURES_LR_VALUE = {
    "peak": "peak learning rate",
    "constant": "whether the rate never changes",
}


@detector("lr_value", ("lr",), "lr_value", measures=MEASURES_LR_VALUE)
def lr_value(lr: Series, *, high: float | None, low: float | None, ctx: RunContext | None = None) -> Evidence:
    """The logged peak learning rate is at least `high`, or below `low` (thresholds set by the rule)."""
    name = "lr_value"
    st, v = finite(lr)
    if v.size == 0:
        return cannot(name, lr.metric, "lr not logged")
    peak = float(np.max(v))
    constant = bool(np.all(v == v[0]))
    measures = dict(peak=peak, constant=constant)
    if (high is not None and peak >= high) or (low is not None and peak < low):
        return fire(name, lr.metric, CONF_SETTING, f"peak {lr.metric} is {fmt(peak)}" + (" (constant)" if constant else ""),
                    st[0], st[-1], **measures)
    return quiet(name, lr.metric, **measures)


MEASURES_FINAL_LEVEL = {
    "level": "end level (median of the last fifth)",
}


@detector("final_level", ("series",), "final_level", measures=MEASURES_FINAL_LEVEL)
def final_level(series: Series, *, min: float | None, max: float | None, ctx: RunContext | None = None) -> Evidence:
    """The end level (median of the last 20%) of a bounded metric (an accuracy) lies in
    [min, max]; percentages are read as fractions."""
    name = "final_level"
    st, v = finite(series)
    if v.size < 2:
        return cannot(name, series.metric, f"{series.metric}: too few points")
    scale = PERCENT if series.role.kind in ("accuracy", "score") and np.max(v) > 1.0 else 1.0
    end = level(v, *END_SPARSE) / scale
    measures = dict(level=end)
    if (min is None or end >= min) and (max is None or end <= max):
        return fire(name, series.metric, CONF_RULE, f"{series.metric} ends at {fmt(end)}", st[0], st[-1], **measures)
    return quiet(name, series.metric, **measures)
