"""Train/validation detectors: overfitting, generalisation gap, val loss up with val accuracy
up, underfitting."""

from __future__ import annotations

import math

import numpy as np

from ..kinds import RunContext
from ..model import Evidence, Series
from .base import (
    AT_THRESHOLD_COMMON,
    AT_THRESHOLD_PAST_NOISE,
    CONF_RULE,
    END,
    END_RECENT,
    END_VAL,
    FEW_POINTS,
    FULL_AT,
    FULL_AT_LARGE,
    FULL_AT_SMALL,
    MIN_CURVE,
    NOISE_SPREADS,
    PERCENT,
    SMOOTH_BATCH,
    SMOOTH_EVAL,
    START,
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
    logged_index,
    memo,
    noise,
    quiet,
    ramp,
    smooth,
    start_level,
    step_str,
    times_lower,
    transform,
)

REGAIN_CAP = 10.0  # a rise with no fall before it (the first evaluation is the best) gives back "everything"
MIN_GAP_POINTS = 4  # a gap's start (its first fifth) and its end (its last quarter) need a point each, apart


def _at(st: np.ndarray, v: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Values of a (smoothed) series interpolated at other steps."""
    return np.interp(where, st, v)


def _train_fall(ts: np.ndarray, tlog: np.ndarray, step: float) -> float:
    """Relative fall of the (log) training loss from `step` to its recent end level, smoothed."""
    tx = smooth(tlog, SMOOTH_BATCH)
    return math.expm1(float(_at(ts, tx, np.array([step]))[0]) - level(tx, *END_RECENT))


MEASURES_OVERFITTING = {
    "rise": "relative rise of validation from its best to its end level",
    "best_step": "step of the best validation value as logged (where to stop)",
    "best_frac": "where the best lies, as a share of the validation steps",
    "train_fall": "relative fall of training from the best-validation step to the end",
    "best_val": "the best validation value as logged",
    "last_val": "the last validation value as logged",
    "regain": "the rise from the best to the end level, as a share of the fall from the first validation value to the best",
}


def _logged_best(vv: np.ndarray, s: np.ndarray, i_best: int, end: float, at: np.ndarray | None = None) -> int:
    """The logged point the sentence quotes as the best: the lowest raw value before the smoothed
    curve is half-way from its best to its end level (not a later lucky dip).  `at`: the index
    in vv of each point of s, when s is smoothed from bucket medians."""
    half = float(s[i_best]) + 0.5 * (end - float(s[i_best]))
    after = np.flatnonzero(s[i_best:] > half)
    stop = i_best + int(after[0]) if after.size else s.size
    stop = max(stop, i_best + 1)
    if at is not None and at.size != vv.size:
        stop = int(at[stop]) if stop < at.size else vv.size
    return int(np.argmin(vv[:stop]))


def _rose(metric: str, steps: np.ndarray, values: np.ndarray, i: int) -> str:
    """'val_loss rose 2.66x from its best, 0.231 at step 6, to 0.615 at step 9': logged values at logged steps."""
    a, b = float(values[i]), float(values[-1])
    return (f"{metric} rose {fmt(b / a)}x from its best, {fmt(a)} at step {step_str(steps[i])}, to {fmt(b)} "
            f"at step {step_str(steps[-1])}")


@detector("val_rise", ("train", "val"), "overfitting", measures=MEASURES_OVERFITTING)
def overfitting(train: Series, val: Series, *, min_rise: float, max_best_frac: float,
                train_falls: bool, min_regain: float, ctx: RunContext | None = None) -> Evidence:
    """Validation loss turns upward (by `min_rise`, beyond its noise, giving back at least
    `min_regain` of its fall in the loss's own units) while training loss keeps falling (with
    `train_falls: false`, whatever training does: the run got worse on held-out data); reports
    the step of the best validation loss (where to stop)."""
    name = "val_rise"
    vs, vv = finite(val)
    ts, tv = bucket(*finite(train))
    if vv.size < MIN_CURVE or tv.size < MIN_CURVE:
        return cannot(name, val.metric, f"{val.metric}/{train.metric}: fewer than {MIN_CURVE} points")
    x, v_kind = transform(vv)
    tlog, t_kind = transform(tv)
    if v_kind != "log" or t_kind != "log":
        # a loss that is exactly 0 on a few batches (batch size 2) is still a positive loss
        return cannot(name, val.metric, f"{val.metric}: not a positive loss")
    # a long validation series is smoothed on its bucket medians (the window is a share of the
    # points, so the curve's shape is the same; a 10% window of a million points costs seconds)
    bs, bx = bucket(vs, x)
    s = smooth(bx, SMOOTH_EVAL)
    i_best = int(np.argmin(s))
    best_frac = (bs[i_best] - vs[0]) / max(vs[-1] - vs[0], TINY)
    end = level(s, *END)
    rise = math.expm1(end - float(s[i_best]))
    # in the loss's own units: 0.07 -> 0.09 after a fall from 2.3 gives back 1% of it, however large the ratio
    best_lin = math.exp(float(s[i_best]))
    regain = min(REGAIN_CAP, (math.exp(end) - best_lin) / max(float(vv[0]) - best_lin, TINY))
    i_raw = memo("val_rise.logged_best", (vs, vv, s), lambda: _logged_best(vv, s, i_best, end, np.searchsorted(vs, bs)))  # each rule's
    # training is measured from the logged best the sentence names as the point to stop, not from the
    # smoothed minimum: a median tie can put that a point earlier, before a drop training shares
    train_fall = _train_fall(ts, tlog, float(vs[i_raw]))
    measures = dict(rise=rise, best_step=float(vs[i_raw]), best_frac=float(best_frac), train_fall=train_fall,
                    best_val=float(vv[i_raw]), last_val=float(vv[-1]), regain=float(regain))
    # the last logged value must itself sit above the logged best: the run shows the rise, not only its trend
    shows = vv[-1] > vv[i_raw] * (1 + min_rise / 2)
    # the noise is asked for only when the rise is large enough to matter (a pass over every
    # logged validation point; no measure of the evidence)
    if rise >= min_rise and regain >= min_regain and end - float(s[i_best]) > NOISE_SPREADS * noise(x) \
            and best_frac <= max_best_frac and shows and (train_fall > 0.0 or not train_falls):
        conf = confidence(AT_THRESHOLD_PAST_NOISE, ramp(rise, min_rise, FULL_AT_SMALL * min_rise))
        if not train_falls:
            txt = (f"{_rose(val.metric, vs, vv, i_raw)}, while {train.metric} changed {-train_fall:+.0%} over the "
                   "same steps")
        else:
            txt = (f"{_rose(val.metric, vs, vv, i_raw)}; {train.metric} kept falling ({times_lower(1 + train_fall)}): "
                   f"step {step_str(vs[i_raw])} is the point to stop")
        return fire(name, val.metric, conf, txt, vs[i_raw], vs[-1], **measures)
    return quiet(name, val.metric, **measures)


MEASURES_VAL_SCORE_FALLS = {
    "drop": "fall of the validation score from its best to its end level, in points of a 0-1 score",
    "gain": "rise of the validation score from its start level to its best, in points of a 0-1 score",
    "best_step": "step of the best validation score as logged (where to stop)",
    "best_frac": "where the best lies, as a share of the validation steps",
    "train_fall": "relative fall of the training loss from the best-score step to the end",
    "best_score": "the best validation score as logged",
    "last_score": "the last validation score as logged",
}


@detector("val_score_falls", ("train", "val"), "overfitting", measures=MEASURES_VAL_SCORE_FALLS)
def val_score_falls(train: Series, val: Series, *, min_drop: float, max_best_frac: float,
                    ctx: RunContext | None = None) -> Evidence:
    """Overfitting seen on the score: the validation accuracy (or another higher-is-better score)
    rises at least `min_drop` points from its start to its best, then falls as much below that
    best, beyond its noise, while the training loss keeps falling: early stopping on validation
    error (Prechelt) stops at that best."""
    name = "val_score_falls"
    vs, vv = finite(val)
    bad = ~np.isfinite(train.values)
    if bad.any():  # a score after the training loss went NaN/Inf is the broken model's (nan.* rules), not memorisation
        keep = vs < float(train.steps[int(np.argmax(bad))])
        vs, vv = vs[keep], vv[keep]
    ts, tv = bucket(*finite(train))
    if vv.size < MIN_CURVE or tv.size < MIN_CURVE:
        return cannot(name, val.metric, f"{val.metric}/{train.metric}: fewer than {MIN_CURVE} points")
    tlog, t_kind = transform(tv)
    if t_kind != "log":
        return cannot(name, train.metric, f"{train.metric}: not a positive loss")
    scale = PERCENT if float(np.max(vv)) > 1.0 else 1.0
    bs, bv = bucket(vs, vv / scale)
    s = smooth(bv, SMOOTH_EVAL)
    i_best = int(np.argmax(s))
    best_frac = (bs[i_best] - vs[0]) / max(vs[-1] - vs[0], TINY)
    drop = float(s[i_best]) - level(s, *END)
    gain = float(s[i_best]) - start_level(s)  # what the model had won on held-out data before losing it
    # the logged point the sentence quotes: the highest score before the smoothed curve is half-way down
    i_raw = _logged_best(-vv, -s, i_best, -level(s, *END), np.searchsorted(vs, bs))
    train_fall = _train_fall(ts, tlog, float(vs[i_raw]))  # from that point to stop, as in val_rise
    measures = dict(drop=drop, gain=gain, best_step=float(vs[i_raw]), best_frac=float(best_frac), train_fall=train_fall,
                    best_score=float(vv[i_raw]), last_score=float(vv[-1]))
    # the last logged score must itself sit below the logged best: the run shows the fall, not only its trend
    shows = vv[i_raw] / scale - vv[-1] / scale > min_drop / 2
    # rise, then fall: a score worse than its first evaluation from the start is not memorisation
    # (training hurt from the first step: shift.*, val.worsens), so the gain must match the loss
    if drop >= min_drop and gain >= min_drop and drop > NOISE_SPREADS * noise(bv) and best_frac <= max_best_frac \
            and shows and train_fall > 0.0:
        conf = confidence(AT_THRESHOLD_PAST_NOISE, ramp(drop, min_drop, FULL_AT * min_drop))
        txt = (f"{val.metric} fell {drop * PERCENT:.0f} points (smoothed) from its best, {fmt(vv[i_raw])} at step "
               f"{step_str(vs[i_raw])}, to {fmt(vv[-1])} at step {step_str(vs[-1])}; {train.metric} kept falling "
               f"({times_lower(1 + train_fall)}); step {step_str(vs[i_raw])} is the point to stop")
        return fire(name, val.metric, conf, txt, vs[i_raw], vs[-1], **measures)
    return quiet(name, val.metric, **measures)


MEASURES_GENERALIZATION_GAP = {
    "gap": "end gap: accuracy points (train - val), or val/train log ratio for losses",
    "widen": "growth of the gap from its start",
    "ratio": "end val/train ratio (losses)",
}


@detector("generalization_gap", ("train", "val"), "generalization_gap", measures=MEASURES_GENERALIZATION_GAP)
def generalization_gap(train: Series, val: Series, *, min_gap: float, min_widen: float,
                       min_ratio: float, min_widen_ratio: float, ctx: RunContext | None = None) -> Evidence:
    """The validation metric is far worse than the training one and the gap widens.  For
    accuracies the gap is in points (train - val); for losses it is the ratio val / train."""
    name = "generalization_gap"
    vs, vv = bucket(*finite(val))
    ts, tv = bucket(*finite(train))
    if vv.size < MIN_GAP_POINTS or tv.size < MIN_GAP_POINTS:
        return cannot(name, val.metric, f"fewer than {MIN_GAP_POINTS} points")
    higher = val.role.direction == "higher"
    if higher:
        scale = PERCENT if max(np.max(vv), np.max(tv)) > 1.0 else 1.0
        t_at = _at(ts, smooth(tv, SMOOTH_BATCH), vs) / scale
        vsm = smooth(vv, SMOOTH_EVAL) / scale
        gap = t_at - vsm
        g_end = level(gap, *END_VAL)
        g_start = float(np.median(head(gap, START[1])))
        widen = g_end - g_start
        measures = dict(gap=g_end, widen=widen)
        if g_end >= min_gap and widen >= min_widen:
            conf = confidence(AT_THRESHOLD_COMMON, ramp(g_end, min_gap, FULL_AT * min_gap))
            return fire(name, val.metric, conf, f"{train.metric} ends {g_end * PERCENT:.0f} points above {val.metric}, "
                        f"{_gap_change(widen * PERCENT, 'points')}", vs[0], vs[-1], **measures)
        return quiet(name, val.metric, **measures)
    if not (np.all(vv > 0) and np.all(tv > 0)):
        return cannot(name, val.metric, "not positive losses")
    t_at = _at(ts, smooth(np.log(tv), SMOOTH_BATCH), vs)
    gap = smooth(np.log(vv), SMOOTH_EVAL) - t_at
    g_end = level(gap, *END_VAL)
    g_start = float(np.median(head(gap, START[1])))
    measures = dict(ratio=math.exp(g_end), widen=math.exp(g_end - g_start))
    if g_end >= math.log(min_ratio) and g_end - g_start >= math.log(min_widen_ratio):
        conf = confidence(AT_THRESHOLD_COMMON, ramp(g_end, math.log(min_ratio), math.log(FULL_AT_LARGE * min_ratio)))
        return fire(name, val.metric, conf, f"{val.metric} ends {fmt(math.exp(g_end))}x {train.metric}, "
                    f"a ratio that grew {fmt(math.exp(g_end - g_start))}x", vs[0], vs[-1], **measures)
    return quiet(name, val.metric, **measures)


def _only(fell: str) -> str:
    """'only 1.36x lower'; 'no lower' stays as it is."""
    return fell if fell == "no lower" else f"only {fell}"


def _gap_change(points: float, unit: str) -> str:
    """How the gap moved, in words that match its sign."""
    if round(points) > 0:
        return f"a gap that widened by {points:.0f} {unit}"
    if round(points) < 0:
        return f"a gap there from the start (it narrowed by {-points:.0f} {unit})"
    return "a gap there from the start"


MEASURES_VAL_LOSS_UP_ACC_UP = {
    "rise": "relative rise of validation loss from its best",
    "acc_change": "change of validation accuracy over the same steps",
}


@detector("val_loss_up_acc_up", ("loss", "acc"), "val_loss_up_acc_up", measures=MEASURES_VAL_LOSS_UP_ACC_UP)
def val_loss_up_acc_up(loss: Series, acc: Series, *, min_rise: float, max_best_frac: float,
                       ctx: RunContext | None = None) -> Evidence:
    """Validation loss rises while validation accuracy holds or rises: over-confident predictions."""
    name = "val_loss_up_acc_up"
    ls, lv = bucket(*finite(loss))
    as_, av = bucket(*finite(acc))
    if lv.size < MIN_CURVE or av.size < MIN_CURVE or np.any(lv <= 0):
        return cannot(name, loss.metric, "fewer than 5 positive points")
    s = smooth(np.log(lv), SMOOTH_EVAL)
    i_best = int(np.argmin(s))
    rise = math.expm1(level(s, *END) - s[i_best])
    a = smooth(av, SMOOTH_EVAL)
    a_best = float(_at(as_, a, np.array([ls[i_best]]))[0])
    a_end = level(a, *END)
    measures = dict(rise=rise, acc_change=a_end - a_best)
    # what the sentence quotes: logged points (the lowest loss before the rise, the accuracy logged nearest it, the last ones)
    rls, rlv = finite(loss)
    ras, rav = finite(acc)
    i_raw = _logged_best(rlv, np.interp(rls, ls, s), int(np.argmin(np.abs(rls - ls[i_best]))), level(s, *END))
    j = logged_index(ras, float(rls[i_raw]))
    shows = rlv[-1] > rlv[i_raw] * (1 + min_rise / 2) and rav[-1] > rav[j]
    if rise >= min_rise and i_best < max_best_frac * s.size and a_end > a_best and shows:
        return fire(name, loss.metric, confidence(AT_THRESHOLD_COMMON, ramp(rise, min_rise, FULL_AT_SMALL * min_rise)),
                    f"{_rose(loss.metric, rls, rlv, i_raw)}; {acc.metric} rose too, from {fmt(rav[j])} at step "
                    f"{step_str(ras[j])} to {fmt(rav[-1])} at step {step_str(ras[-1])}", rls[i_raw], rls[-1], **measures)
    return quiet(name, loss.metric, **measures)


MEASURES_UNDERFITTING = {
    "drop": "how many times the training loss fell from its start",
    "ratio": "end validation over end training loss",
}


@detector("underfitting", ("train", "val"), "underfitting", measures=MEASURES_UNDERFITTING)
def underfitting(train: Series, val: Series, *, max_drop: float, max_ratio: float, min_ratio: float,
                 ctx: RunContext | None = None) -> Evidence:
    """Training and validation loss both stay high (fell less than `max_drop` times from the
    start) and close: validation ends at most `max_ratio` x the training loss.  A model with
    room to fit always ends with its training loss clearly below validation; no gap at a high
    level means capacity, regularisation or optimisation limit it."""
    name = "underfitting"
    ts, tv = bucket(*finite(train))
    _, vv = bucket(*finite(val))
    if tv.size < MIN_CURVE or vv.size < FEW_POINTS or np.any(tv <= 0) or np.any(vv <= 0):
        return cannot(name, train.metric, f"fewer than {MIN_CURVE} positive points")
    x = np.log(tv)
    drop = math.exp(start_level(x) - level(x, *END))
    ratio = math.exp(level(np.log(vv), *END_VAL) - level(x, *END))
    measures = dict(drop=drop, ratio=ratio)
    if 1.0 <= drop < max_drop and min_ratio <= ratio <= max_ratio:
        return fire(name, train.metric, confidence(AT_THRESHOLD_COMMON, ramp(max_drop - drop, 0, max_drop - 1)),
                    f"{train.metric} ended {_only(times_lower(drop))} than its start and {val.metric} ends at "
                    f"{fmt(ratio)}x it: both high and close", ts[0], ts[-1],
                    **measures)
    return quiet(name, train.metric, **measures)


MEASURES_VAL_GAP = {
    "ratio": "end validation over end training loss",
}


@detector("val_gap", ("train", "val"), "generalization_gap", measures=MEASURES_VAL_GAP)
def val_gap(train: Series, val: Series, *, min_ratio: float, ctx: RunContext | None = None) -> Evidence:
    """Validation loss ends at least `min_ratio` x the training loss: the model fits the
    training set better than held-out data (the normal state of a model with capacity)."""
    name = "val_gap"
    _, tv = bucket(*finite(train))
    vs, vv = bucket(*finite(val))
    if tv.size < FEW_POINTS or vv.size < 2 or np.any(tv <= 0) or np.any(vv <= 0):
        return cannot(name, val.metric, f"fewer than {FEW_POINTS} positive points")
    ratio = math.exp(level(np.log(vv), *END_VAL) - level(np.log(tv), *END))
    if ratio >= min_ratio:
        return fire(name, val.metric, CONF_RULE, f"{val.metric} ends {fmt(ratio)}x {train.metric}", vs[0], vs[-1], ratio=ratio)
    return quiet(name, val.metric, ratio=ratio)
