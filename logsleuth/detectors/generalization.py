"""Train/validation detectors: overfitting, generalisation gap, val loss up with val accuracy
up, underfitting."""

from __future__ import annotations

import math

import numpy as np

from ..model import Evidence, Series
from .base import bucket, cannot, detector, finite, fire, fmt, level, noise, quiet, ramp, smooth, step_str, transform


def _at(st: np.ndarray, v: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Values of a (smoothed) series interpolated at other steps."""
    return np.interp(where, st, v)


MEASURES_OVERFITTING = {
    "rise": "relative rise of validation from its best to its end level",
    "best_step": "step of the best validation value (where to stop)",
    "best_frac": "where the best lies, as a share of the validation steps",
    "train_fall": "relative fall of training from the best-validation step to the end",
    "best_val": "the best (smoothed) validation value",
}


@detector("overfitting", ("train", "val"), "overfitting", measures=MEASURES_OVERFITTING, min_rise=0.1, max_best_frac=0.85, train_falls=True)
def overfitting(train: Series, val: Series, min_rise: float = 0.1, max_best_frac: float = 0.85,
                train_falls: bool = True, ctx: dict | None = None) -> Evidence:
    """Validation loss turns upward (by `min_rise`, beyond its noise) while training loss keeps
    falling (with `train_falls: false`, whatever training does: the run got worse on held-out
    data); reports the step of the best validation loss (where to stop)."""
    name = "overfitting"
    vs, vv = finite(val)
    ts, tv = bucket(*finite(train))
    if vv.size < 5 or tv.size < 5:
        return cannot(name, val.metric, f"{val.metric}/{train.metric}: fewer than 5 points")
    x, v_kind = transform(vv)
    tlog, t_kind = transform(tv)
    if v_kind != "log" or t_kind != "log":
        # a loss that is exactly 0 on a few batches (batch size 2) is still a positive loss
        return cannot(name, val.metric, f"{val.metric}: not a positive loss")
    s = smooth(x, 0.1)
    i_best = int(np.argmin(s))
    best_frac = (vs[i_best] - vs[0]) / max(vs[-1] - vs[0], 1e-12)
    end = level(s, 0.85, 1.0)
    rise = math.expm1(end - float(s[i_best]))
    nz = noise(x)
    tx = smooth(tlog, 0.05)
    t_best = float(_at(ts, tx, np.array([vs[i_best]]))[0])
    t_end = level(tx, 0.9, 1.0)
    train_fall = math.expm1(t_best - t_end)
    measures = dict(rise=rise, best_step=float(vs[i_best]), best_frac=float(best_frac), train_fall=train_fall,
                    best_val=float(np.exp(s[i_best])))
    if rise >= min_rise and end - float(s[i_best]) > 2 * nz and best_frac <= max_best_frac and (train_fall > 0.0 or not train_falls):
        if not train_falls:
            txt = (f"{val.metric} rose {rise:.0%} from its best {fmt(float(np.exp(s[i_best])))} at step "
                   f"{step_str(vs[i_best])} while {train.metric} changed {-train_fall:+.0%} over the same steps")
            return fire(name, val.metric, 0.55 + 0.45 * ramp(rise, min_rise, 5 * min_rise), txt, vs[i_best], vs[-1],
                        **measures)
        conf = 0.55 + 0.45 * ramp(rise, min_rise, 5 * min_rise)
        txt = (f"{val.metric} rose {rise:.0%} from its best {fmt(float(np.exp(s[i_best])))} at step {step_str(vs[i_best])} "
               f"(the point to stop) while {train.metric} kept falling ({fmt(1 + train_fall)}x lower)")
        return fire(name, val.metric, conf, txt, vs[i_best], vs[-1], **measures)
    return quiet(name, val.metric, **measures)


MEASURES_GENERALIZATION_GAP = {
    "gap": "end gap: accuracy points (train - val), or val/train log ratio for losses",
    "widen": "growth of the gap from its start",
    "ratio": "end val/train ratio (losses)",
}


@detector("generalization_gap", ("train", "val"), "generalization_gap", measures=MEASURES_GENERALIZATION_GAP, min_gap=0.15, min_widen=0.1, min_ratio=3.0)
def generalization_gap(train: Series, val: Series, min_gap: float = 0.15, min_widen: float = 0.1,
                       min_ratio: float = 3.0, ctx: dict | None = None) -> Evidence:
    """The validation metric is far worse than the training one and the gap widens.  For
    accuracies the gap is in points (train - val); for losses it is the ratio val / train."""
    name = "generalization_gap"
    vs, vv = bucket(*finite(val))
    ts, tv = bucket(*finite(train))
    if vv.size < 4 or tv.size < 4:
        return cannot(name, val.metric, "fewer than 4 points")
    higher = val.role.direction == "higher"
    if higher:
        scale = 100.0 if max(np.max(vv), np.max(tv)) > 1.0 else 1.0
        t_at = _at(ts, smooth(tv, 0.05), vs) / scale
        vsm = smooth(vv, 0.1) / scale
        gap = t_at - vsm
        g_end = level(gap, 0.75, 1.0)
        g_start = float(np.median(gap[: max(1, gap.size // 5)]))
        widen = g_end - g_start
        measures = dict(gap=g_end, widen=widen)
        if g_end >= min_gap and widen >= min_widen:
            conf = 0.5 + 0.5 * ramp(g_end, min_gap, 3 * min_gap)
            return fire(name, val.metric, conf, f"{train.metric} ends {g_end * 100:.0f} points above {val.metric}, "
                        f"a gap that widened by {widen * 100:.0f} points", vs[0], vs[-1], **measures)
        return quiet(name, val.metric, **measures)
    if not (np.all(vv > 0) and np.all(tv > 0)):
        return cannot(name, val.metric, "not positive losses")
    t_at = _at(ts, smooth(np.log(tv), 0.05), vs)
    gap = smooth(np.log(vv), 0.1) - t_at
    g_end = level(gap, 0.75, 1.0)
    g_start = float(np.median(gap[: max(1, gap.size // 5)]))
    measures = dict(ratio=math.exp(g_end), widen=math.exp(g_end - g_start))
    if g_end >= math.log(min_ratio) and g_end - g_start >= math.log(1.5):
        conf = 0.5 + 0.5 * ramp(g_end, math.log(min_ratio), math.log(10 * min_ratio))
        return fire(name, val.metric, conf, f"{val.metric} ends {fmt(math.exp(g_end))}x {train.metric}, "
                    f"a ratio that grew {fmt(math.exp(g_end - g_start))}x", vs[0], vs[-1], **measures)
    return quiet(name, val.metric, **measures)


MEASURES_VAL_LOSS_UP_ACC_UP = {
    "rise": "relative rise of validation loss from its best",
    "acc_change": "change of validation accuracy over the same steps",
}


@detector("val_loss_up_acc_up", ("loss", "acc"), "val_loss_up_acc_up", measures=MEASURES_VAL_LOSS_UP_ACC_UP, min_rise=0.1)
def val_loss_up_acc_up(loss: Series, acc: Series, min_rise: float = 0.1, ctx: dict | None = None) -> Evidence:
    """Validation loss rises while validation accuracy holds or rises: over-confident predictions."""
    name = "val_loss_up_acc_up"
    ls, lv = bucket(*finite(loss))
    as_, av = bucket(*finite(acc))
    if lv.size < 5 or av.size < 5 or np.any(lv <= 0):
        return cannot(name, loss.metric, "fewer than 5 positive points")
    s = smooth(np.log(lv), 0.1)
    i_best = int(np.argmin(s))
    rise = math.expm1(level(s, 0.85, 1.0) - s[i_best])
    a = smooth(av, 0.1)
    a_best = float(_at(as_, a, np.array([ls[i_best]]))[0])
    a_end = level(a, 0.85, 1.0)
    measures = dict(rise=rise, acc_change=a_end - a_best)
    if rise >= min_rise and i_best < 0.85 * s.size and a_end > a_best:
        return fire(name, loss.metric, 0.5 + 0.5 * ramp(rise, min_rise, 5 * min_rise),
                    f"{loss.metric} rose {rise:.0%} after step {step_str(ls[i_best])} while {acc.metric} went from "
                    f"{fmt(a_best)} to {fmt(a_end)}", ls[i_best], ls[-1], **measures)
    return quiet(name, loss.metric, **measures)


MEASURES_UNDERFITTING = {
    "drop": "how many times the training loss fell from its start",
    "ratio": "end validation over end training loss",
}


@detector("underfitting", ("train", "val"), "underfitting", measures=MEASURES_UNDERFITTING, max_drop=5.0, max_ratio=1.1, min_ratio=0.5)
def underfitting(train: Series, val: Series, max_drop: float = 5.0, max_ratio: float = 1.1, min_ratio: float = 0.5,
                 ctx: dict | None = None) -> Evidence:
    """Training and validation loss both stay high (fell less than `max_drop` times from the
    start) and close: validation ends at most `max_ratio` x the training loss.  A model with
    room to fit always ends with its training loss clearly below validation; no gap at a high
    level means capacity, regularisation or optimisation limit it."""
    name = "underfitting"
    ts, tv = bucket(*finite(train))
    _, vv = bucket(*finite(val))
    if tv.size < 5 or vv.size < 3 or np.any(tv <= 0) or np.any(vv <= 0):
        return cannot(name, train.metric, "fewer than 5 positive points")
    x = np.log(tv)
    drop = math.exp(float(np.median(x[: max(1, min(3, x.size // 10))])) - level(x, 0.85, 1.0))
    ratio = math.exp(level(np.log(vv), 0.75, 1.0) - level(x, 0.85, 1.0))
    measures = dict(drop=drop, ratio=ratio)
    if 1.0 <= drop < max_drop and min_ratio <= ratio <= max_ratio:
        return fire(name, train.metric, 0.5 + 0.5 * ramp(max_drop - drop, 0, max_drop - 1),
                    f"{train.metric} fell only {fmt(drop)}x from its start and {val.metric} ends at {fmt(ratio)}x it: "
                    "both high and close", ts[0], ts[-1], **measures)
    return quiet(name, train.metric, **measures)


MEASURES_VAL_GAP = {
    "ratio": "end validation over end training loss",
}


@detector("val_gap", ("train", "val"), "generalization_gap", measures=MEASURES_VAL_GAP, min_ratio=1.1)
def val_gap(train: Series, val: Series, min_ratio: float = 1.1, ctx: dict | None = None) -> Evidence:
    """Validation loss ends at least `min_ratio` x the training loss: the model fits the
    training set better than held-out data (the normal state of a model with capacity)."""
    name = "val_gap"
    _, tv = bucket(*finite(train))
    vs, vv = bucket(*finite(val))
    if tv.size < 3 or vv.size < 2 or np.any(tv <= 0) or np.any(vv <= 0):
        return cannot(name, val.metric, "fewer than 3 positive points")
    ratio = math.exp(level(np.log(vv), 0.75, 1.0) - level(np.log(tv), 0.85, 1.0))
    if ratio >= min_ratio:
        return fire(name, val.metric, 0.8, f"{val.metric} ends {fmt(ratio)}x {train.metric}", vs[0], vs[-1], ratio=ratio)
    return quiet(name, val.metric, ratio=ratio)
