"""Detectors of the loss trend: divergence, plateau, no learning, chance level, slow
convergence, delayed start, high initial loss."""

from __future__ import annotations

import math

import numpy as np

from ..kinds import CLASS_KINDS, EQUILIBRIUM_KINDS, SHAPELESS_KINDS, RunContext, a_run
from ..model import Evidence, Series
from .base import (
    AT_THRESHOLD_COMMON,
    AT_THRESHOLD_RARE,
    BAND_SPREADS,
    CONF_RULE,
    END,
    END_RECENT,
    END_SPARSE,
    FEW_POINTS,
    FULL_AT,
    INITIAL_SHARE,
    MIN_CURVE,
    NOISE_SPREADS,
    PERCENT,
    QUARTERS,
    RECENT_SHARE,
    SECOND_HALF,
    SMOOTH_BATCH,
    SMOOTH_EVAL,
    START,
    START_POINTS,
    THIRDS,
    THIRDS_NARROW,
    TINY,
    TREND_MIN_WINDOW,
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
    mad,
    median,
    memo,
    noise,
    quiet,
    ramp,
    smooth,
    start_level,
    step_str,
    tail,
    transform,
    written_resolution,
)

DIVERGENCE_START_SHARE = 0.02  # divergence: its start level over the first 2% of the run (3 points at least, a tenth at most)
MIN_PLATEAU_POINTS = 8  # plateau and slow_convergence: a start, a middle and an end of a few points each
SMOOTH_PLATEAU = 0.08  # plateau: smoothed wider than a training curve (5%), so the plateau's own noise is no improvement
PLATEAU_TOL_LOG = 0.02  # plateau: an improvement smaller than 2% of the loss (a log step of 0.02) is none ...
PLATEAU_TOL_SCALED = 0.1  # ... or a tenth of a robust spread, for a curve that is not a positive loss
FULL_PLATEAU = 0.8  # plateau: flat for 80% of the run is unmistakable
MIN_FLAT_POINTS = 6  # no_learning and stuck_at_chance: a first quarter, middle and last quarter of a point or two each
MIN_SLOPE_POINTS = 4  # a slope's t-statistic needs two degrees of freedom past the line's own two
VAR_FLOOR = 1e-300  # a perfect line has no residual: its t is huge, not a division by zero
LATE_FROM = 0.7  # slow_convergence: "still falling at the end" is the trend over the last 30%
MIN_DELAYED_POINTS = 10  # delayed_start: a flat stretch and a fall of several points each
SMOOTH_ONSET = 0.04  # delayed_start: the onset is located on a curve smoothed over 4% of the run
ONSET_TOL_LOG = 0.05  # ... leaving the start band means falling at least 5% (a log step of 0.05) ...
ONSET_TOL_SCALED = 0.3  # ... or 0.3 robust spreads, for a curve that is not a positive loss
SMOOTH_FLAT = 0.2  # delayed_start: the flat stretch's range, read on its 20%-smoothed shape (not its noise)
FLAT_BANDS = 3  # ... stays within 3 bands, and the fall after it clears 3 bands
FULL_DELAY = 0.4  # delayed_start: flat for 40% of the run is unmistakable
FULL_INITIAL = 4.0  # high_initial_loss: a first loss four times the classifier threshold (60 nats) is unmistakable
MAX_CLASSES = 1000  # the most classes chance levels are matched against (ImageNet's count): ln 1000 = 6.9


def _prep(s: Series, name: str, min_points: int):
    st, v = finite(s)
    if v.size < min_points:
        return None, cannot(name, s.metric, f"{s.metric}: {v.size} finite point(s), {min_points} needed")
    st, v = bucket(st, v)
    return (st, v), None


def _ratio_text(kind: str, a: float, b: float) -> str:
    return f"{fmt(math.exp(a - b))}x" if kind == "log" else f"{fmt(a - b)} spreads"


MEASURES_DIVERGENCE = {
    "ratio_end_start": "end level over start level",
    "ratio_end_best": "end level over the best level",
    "onset_frac": "where the rise starts, as a share of the run",
    "rising_corr": "rank correlation of the rise with time",
    "regain": "rise from the best over the fall from the start to it, in the loss's own units",
}


@detector("divergence", ("series",), "divergence", measures=MEASURES_DIVERGENCE)
def divergence(series: Series, *, min_ratio: float, min_rising_corr: float, min_regain: float,
               ctx: RunContext | None = None) -> Evidence:
    """The loss ends far above where it started (or above its best, rising steadily and
    giving back at least `min_regain` of its fall, in the loss's own units: 0.009 -> 0.17
    after a fall from 1.6 is 10%, the noise of a memorised batch, not a divergence)."""
    name = "divergence"
    data, bad = _prep(series, name, MIN_CURVE)
    if bad:
        return bad
    st, v = data
    if np.any(v < 0):
        # "ends Nx above its start" needs a loss bounded below at zero; a curve that crosses zero
        # (a critic's Wasserstein estimate, a log-likelihood) has no such scale
        return cannot(name, series.metric, f"{series.metric} takes negative values: not a loss bounded at zero")
    x, kind = transform(v)
    s = smooth(x, SMOOTH_BATCH)
    # enough first points to see past batch noise, and no more than a tenth of the run
    k0 = max(1, min(max(FEW_POINTS, int(x.size * DIVERGENCE_START_SHARE)), int(x.size * RECENT_SHARE)))
    start = float(np.median(x[:k0]))
    end = level(s, *END_RECENT)
    last = tail(s, RECENT_SHARE)
    i_peak_end = int(np.argmax(last)) + s.size - last.size
    i_best = int(np.argmin(s[: i_peak_end + 1]))
    best = float(s[i_best])
    thr = math.log(min_ratio) if kind == "log" else min_ratio
    over_start = end - start
    over_best = end - best
    rising = _rank_corr(s[i_best:]) if s.size - i_best >= MIN_CURVE else 0.0
    lin = math.exp if kind == "log" else float
    regain = (lin(end) - lin(best)) / max(lin(start) - lin(best), TINY)
    measures = dict(ratio_end_start=math.exp(over_start) if kind == "log" else None,
                    ratio_end_best=math.exp(over_best) if kind == "log" else None,
                    onset_frac=float((st[i_best] - st[0]) / max(st[-1] - st[0], TINY)), rising_corr=rising,
                    regain=float(regain))
    if over_start >= thr or (over_best >= thr and rising > min_rising_corr and regain >= min_regain):
        ref = start if over_start >= thr else best
        conf = confidence(AT_THRESHOLD_RARE, ramp(max(over_start, over_best), thr, 2 * thr))
        onset = st[i_best] if over_best >= thr else st[0]
        txt = (f"{series.metric} rose from {fmt(float(np.exp(ref)) if kind == 'log' else v[0])} to "
               f"{fmt(float(np.exp(end)) if kind == 'log' else v[-1])} ({_ratio_text(kind, end, ref)}) "
               f"over steps {step_str(onset)}-{step_str(st[-1])}")
        return fire(name, series.metric, conf, txt, onset, st[-1], **measures)
    return quiet(name, series.metric, **measures)


def _rank_corr(x: np.ndarray) -> float:
    if x.size < FEW_POINTS or np.all(x == x[0]):
        return 0.0
    r = np.argsort(np.argsort(x)).astype(float)
    t = np.arange(x.size, dtype=float)
    return float(np.corrcoef(r, t)[0, 1])


def _below_start(v: np.ndarray, kind: str, drop: float) -> str:
    """'only 1.5x below its start'; a curve that is not a positive loss has no ratio, so its start is quoted."""
    if kind == "log" and math.isfinite(drop):
        return f"only {fmt(drop)}x below its start"
    return f"from {fmt(start_level(v))} at its start"


def _drop(x: np.ndarray, kind: str) -> float:
    """How many times the loss fell from its start to its end level (log space: ratio)."""
    start = start_level(x)
    end = level(x, *END)
    return math.exp(start - end) if kind == "log" else float("nan")


MEASURES_PLATEAU = {
    "frac": "share of the run without improvement at the end",
    "drop": "fall from the start to the plateau (x)",
    "onset_step": "step where improvement stopped",
    "level": "plateau level",
}


@detector("plateau", ("series",), "plateau", measures=MEASURES_PLATEAU)
def plateau(series: Series, *, min_frac: float, max_drop: float, tail_share: float,
            ctx: RunContext | None = None) -> Evidence:
    """The loss stopped improving for a long final stretch while still high (fell less than
    `max_drop` times from its start)."""
    name = "plateau"
    if ctx is not None and ctx.kind in SHAPELESS_KINDS:
        return cannot(name, series.metric, f"{a_run(ctx.kind)}: its loss has no reference shape")
    data, bad = _prep(series, name, MIN_PLATEAU_POINTS)
    if bad:
        return bad
    st, v = data
    x, kind = transform(v)
    s = smooth(x, SMOOTH_PLATEAU)
    total = float(s[0] - np.min(s))
    drop = _drop(x, kind)
    # where did the last meaningful improvement happen?  (improvement after it < tail_share of all)
    best_after = np.minimum.accumulate(s)
    gain_total = float(best_after[0] - best_after[-1])
    tol = max(tail_share * gain_total, NOISE_SPREADS * noise(s), PLATEAU_TOL_LOG if kind == "log" else PLATEAU_TOL_SCALED)
    i_on = int(np.argmax(best_after <= best_after[-1] + tol))
    frac = float((st[-1] - st[i_on]) / max(st[-1] - st[0], TINY))
    measures = dict(frac=frac, drop=drop, onset_step=float(st[i_on]), level=float(np.exp(s[-1])) if kind == "log" else float(v[-1]))
    # a non-negative loss that stays at exactly 0 fits its training set perfectly: no "still high" plateau
    at_zero = bool(np.all(v >= 0)) and measures["level"] == 0.0
    if frac >= min_frac and (kind != "log" or 1.0 <= drop < max_drop) and total >= 0 and not at_zero:
        conf = confidence(AT_THRESHOLD_COMMON, ramp(frac, min_frac, FULL_PLATEAU))
        txt = (f"{series.metric} stopped improving at step {step_str(st[i_on])} ({frac:.0%} of the run) at "
               f"{fmt(measures['level'])}, {_below_start(v, kind, drop)}")
        return fire(name, series.metric, conf, txt, st[i_on], st[-1], **measures)
    return quiet(name, series.metric, **measures)


MEASURES_NO_LEARNING = {
    "change": "largest relative change between first quarter, middle and last quarter",
    "slope_sig": "t-statistic of the overall slope",
    "from_start": "whether the log starts at initialisation",
    "late_t": "t-statistic of the second half's slope",
    "late_fall": "how far the second half's fitted line falls over it (log: a relative fall)",
    "early_fall": "how far (log) the first values of a log from initialisation lie above its first quarter",
    "resolvable": "whether the values are written finely enough to show a change of tol (not one value in few digits)",
}


@detector("no_learning", ("series",), "no_learning", measures=MEASURES_NO_LEARNING)
def no_learning(series: Series, *, tol: float, max_fall_t: float, max_early_fall: float, min_late_fall: float,
                ctx: RunContext | None = None) -> Evidence:
    """The loss is flat over the whole run: less than `tol` relative change between its first
    quarter, middle and last quarter, its second half not falling beyond noise (slope
    t-statistic above -`max_fall_t`, the significance slow_convergence also uses, by at least
    `min_late_fall` of the loss: a significant trend of no size is no learning), and - for a
    log from initialisation - its first values less than `max_early_fall` x its first quarter
    (a loss that fell that much in its first steps learned, then stalled: a plateau)."""
    name = "no_learning"
    if ctx is not None and ctx.kind in EQUILIBRIUM_KINDS:
        return cannot(name, series.metric, f"{a_run(ctx.kind)}: its losses hover by design, flat says nothing")
    data, bad = _prep(series, name, MIN_FLAT_POINTS)
    if bad:
        return bad
    st, v = data
    typical = median(v)
    if bool(np.all(v >= 0)) and typical == 0.0:
        # a loss that sits at exactly zero converged (or the logger rounds it to zero): nothing is stuck
        return quiet(name, series.metric, change=0.0, slope_sig=0.0, from_start=logged_from_start(st), late_t=0.0, early_fall=0.0,
                     late_fall=0.0, resolvable=False)
    # what the curve shows, whatever the rule's thresholds (several rules ask about one curve)
    kind, change, late_t, late_fall, from_start, early_fall, slope_sig, noise_x = memo(
        "no_learning", (st, v), lambda: _flatness(st, v))
    lim = math.log1p(tol) if kind == "log" else 1.0
    # a contrastive loss falls below its start only through features that tell examples apart (a
    # constant embedding scores ln N, whatever the biases): a fall beyond its noise, of min_late_fall
    # at least, is learning however small against that high floor.  A cross-entropy (or a detection
    # loss's class part) that only drops a little then stays learnt the class prior through its
    # biases alone: that needs the larger first fall of max_early_fall
    floor = math.log1p(min_late_fall) if ctx is not None and ctx.kind == "contrastive" else math.log(max_early_fall)
    fell_early = kind == "log" and early_fall >= max(floor, NOISE_SPREADS * noise_x)
    # a late fall is learning when it is significant and of some size (a loss at 2.30261 creeping to
    # 2.30258 has a t of -13 on noise of 1e-6; a relative fall only means something for a positive loss)
    falls_late = late_t <= -max_fall_t and (kind != "log" or late_fall >= math.log1p(min_late_fall))
    # one value at every point, written too coarsely to show a change of tol (a console's "loss
    # 0.05"): a converged loss rounds to the same digits as a stuck one
    resolvable = not (bool(np.all(v == v[0])) and written_resolution(float(v[0])) > tol)
    measures = dict(change=float(math.expm1(change)) if kind == "log" else change, slope_sig=slope_sig,
                    from_start=from_start, late_t=late_t, early_fall=early_fall, late_fall=late_fall,
                    resolvable=resolvable)
    if change < lim and not falls_late and not fell_early:
        conf = confidence(AT_THRESHOLD_RARE, 1 - change / lim)
        txt = _flat_text(series.metric, st, typical, measures["change"], kind)
        return fire(name, series.metric, conf, txt, st[0], st[-1], **measures)
    return quiet(name, series.metric, **measures)


def _flatness(st: np.ndarray, v: np.ndarray) -> tuple[str, float, float, float, bool, float, float, float]:
    """no_learning's reading of a curve: its transform's kind, the largest change between its
    first quarter, middle and last quarter, the second half's slope t and how far its fitted line
    falls, whether the log starts at initialisation, how far its first values lie above its first
    quarter, the whole smoothed curve's slope t, and its step-to-step noise."""
    x, kind = transform(v)
    s = smooth(x, SMOOTH_EVAL)
    a, mid, b = (level(x, *w) for w in QUARTERS)
    change = max(abs(b - a), abs(mid - a))
    # a small change can still be steady learning: the second half falling well beyond its noise
    # (a language model creeping down 0.8 nats over 12 epochs) is not a flat loss
    late = x[x.size // 2:]
    late_t = _trend_t(late)
    late_fall = _fitted_fall(late)
    # a flat log that starts mid-way (a resumed run) may be a converged model, not one that never learned
    from_start = logged_from_start(st)
    # a log from initialisation whose first values lie well above its first quarter learned, early
    # (a long pretraining run falls in its first percent, then creeps): that is no "no learning"
    early_fall = float(start_level(x) - a) if from_start else 0.0
    return kind, change, late_t, late_fall, from_start, early_fall, _trend_t(s), noise(x)


def _fitted_fall(x: np.ndarray) -> float:
    """How far a least-squares line through x falls from its first point to its last (0 for fewer
    than two points)."""
    n = x.size
    if n < 2:
        return 0.0
    t = np.arange(n, dtype=float)
    t -= t.mean()
    slope = _dot(t, x - x.mean()) / _dot(t, t)
    return float(-slope * (n - 1))


# below this change a curve reads as flat; up to `tol` it made "no clear progress" (a 15% wobble is not flat)
FLAT_WORDING = 0.02


def _flat_text(metric: str, st: np.ndarray, typical: float, change: float, kind: str) -> str:
    span = f"from step {step_str(st[0])} to {step_str(st[-1])}"
    how = f"{change:.1%}" if kind == "log" else f"{fmt(change)} robust spreads (MAD)"
    if kind == "log" and change < FLAT_WORDING:
        return f"{metric} stayed flat at {fmt(typical)} {span} (changed {how})"
    return (f"{metric} made no clear progress {span}: it stays around {fmt(typical)}, its middle and last quarter "
            f"within {how} of its first quarter")


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """The sum of products by numpy's own (pairwise) sum, not BLAS: OpenBLAS splits a dot of more
    than 10,000 points over its threads, which makes the last digits depend on the machine's
    cores and costs 5-15 ms a call on a busy machine (the sum: 15 us for 20,000 points)."""
    return float(np.add.reduce(a * b))


def _trend_t(x: np.ndarray) -> float:
    """t-statistic of a least-squares slope (noise-relative trend)."""
    n = x.size
    if n < MIN_SLOPE_POINTS:
        return 0.0
    t = np.arange(n, dtype=float)
    t -= t.mean()
    tt = _dot(t, t)
    slope = _dot(t, x - x.mean()) / tt
    resid = x - x.mean() - slope * t
    se = math.sqrt(max(_dot(resid, resid) / (n - 2), VAR_FLOOR) / tt)
    return slope / se if se > 0 else 0.0


MEASURES_STUCK_AT_CHANCE = {
    "n_classes": "class count C",
    "chance_loss": "ln C",
    "rel_dev": "relative deviation of the level from ln C",
    "drop": "fall from the first fifth to the second half (x)",
    "acc": "second-half accuracy (fraction), when logged",
}


@detector("stuck_at_chance", ("loss", "acc?"), "stuck_at_chance", measures=MEASURES_STUCK_AT_CHANCE)
def stuck_at_chance(loss: Series, acc: Series | None = None, *, tol: float, max_drop: float, acc_margin: float,
                    min_best_share: float, ctx: RunContext | None = None) -> Evidence:
    """Cross-entropy sits at ln(C) for a whole number of classes C (accuracy near 1/C)."""
    name = "stuck_at_chance"
    data, bad = _prep(loss, name, MIN_FLAT_POINTS)
    if bad:
        return bad
    st, v = data
    if np.any(v <= 0):
        return quiet(name, loss.metric)
    end = level(v, *SECOND_HALF)
    if end > math.log(MAX_CLASSES + 1):
        return quiet(name, loss.metric)
    n_classes = ctx.n_classes if ctx else None
    if not n_classes:
        # every flat loss above ~0.7 equals ln(C) for some C: without the class count from the
        # hyperparameters, the level says nothing about chance (no_learning still sees the flat loss)
        return cannot(name, loss.metric, "no class count in the hyperparameters: chance level unknown")
    c = int(n_classes)
    chance = math.log(c)
    rel = abs(end - chance) / chance
    x = np.log(v)
    drop = math.exp(level(x, *START) - level(x, *SECOND_HALF))
    best = float(np.min(smooth(x, SMOOTH_EVAL)))
    measures = dict(n_classes=c, chance_loss=chance, rel_dev=rel, drop=drop)
    acc_ok = True
    acc_txt = ""
    if acc is not None:
        _, av = finite(acc)
        if av.size:
            a_end = float(np.median(av[av.size // 2:]))
            scale = PERCENT if np.nanmax(av) > 1.0 else 1.0
            a_end /= scale
            acc_ok = a_end <= acc_margin / c
            measures["acc"] = a_end
            acc_txt = f", {acc.metric} {a_end:.3f} vs 1/{c} = {1 / c:.3f}"
    if rel <= tol and drop <= max_drop and math.exp(best) >= min_best_share * chance and acc_ok and 2 <= c <= MAX_CLASSES:
        conf = confidence(AT_THRESHOLD_RARE, 1 - rel / tol)
        txt = f"{loss.metric} sits at {fmt(end)}, near ln({c}) = {chance:#.3g}, the loss of a uniform guess over {c} classes{acc_txt}"
        return fire(name, loss.metric, conf, txt, st[0], st[-1], **measures)
    return quiet(name, loss.metric, **measures)


MEASURES_IMPROVES = {
    "start": "the curve's start level (median of its first fifth)",
    "end": "its end level (median of its last fifth)",
    "gain": "how much better the end is than the start: a share for a loss, points (fraction) for an accuracy",
}


@detector("improves", ("series",), "improves", measures=MEASURES_IMPROVES)
def improves(series: Series, *, min_gain: float, ctx: RunContext | None = None) -> Evidence:
    """The curve ends better than it started, in its own direction (an accuracy higher, a loss
    lower), by `min_gain` and beyond its noise: evidence that the model learned whatever a
    flat training loss says (a contrastive or fine-tuning loss can fall only a little while
    held-out accuracy climbs)."""
    name = "improves"
    st, v = finite(series)
    if v.size < MIN_CURVE:
        return cannot(name, series.metric, f"{series.metric}: fewer than {MIN_CURVE} points")
    higher = series.role.direction == "higher"
    scale = PERCENT if higher and float(np.max(v)) > 1.0 else 1.0
    x = v / scale
    a, b = level(x, *START), level(x, *END_SPARSE)
    gain = (b - a) if higher else (a - b) / max(abs(a), TINY)
    spread = NOISE_SPREADS * noise(x) / (1.0 if higher else max(abs(a), TINY))
    measures = dict(start=a, end=b, gain=gain)
    if gain >= max(min_gain, spread):
        how = (f"{series.metric} rose from {fmt(a)} to {fmt(b)}" if higher else f"{series.metric} fell from {fmt(a)} to {fmt(b)}")
        return fire(name, series.metric, CONF_RULE, how, st[0], st[-1], **measures)
    return quiet(name, series.metric, **measures)


MEASURES_STILL_IMPROVING = {
    "t": "t-statistic of the second half's trend toward better",
    "from_best": "relative distance of the last point from the best",
    "last": "last value",
    "best": "best value",
    "late_gain": "gain of the second half (log ratio for a loss, fraction for an accuracy)",
    "late_share": "second-half gain over first-half gain",
}


@detector("still_improving", ("series",), "still_improving", measures=MEASURES_STILL_IMPROVING)
def still_improving(series: Series, *, min_t: float, max_from_best: float, min_late_gain: float,
                    min_late_share: float, ctx: RunContext | None = None) -> Evidence:
    """The curve (a validation loss or accuracy) was still improving when the log ends, and had
    not bent toward a floor: its second half trends toward better beyond noise (slope
    t-statistic >= `min_t`), its last point is its best or within `max_from_best` (relative)
    of it, and the second half gained at least `min_late_gain` (log-ratio for a loss, fraction
    for an accuracy) and at least `min_late_share` of what the first half gained.  A curve
    creeping along a floor (a significant but small late gain) has converged; one still
    gaining at its early pace was stopped."""
    name = "still_improving"
    data, bad = _prep(series, name, MIN_CURVE)
    if bad:
        return bad
    st, v = data
    higher = series.role.direction == "higher"
    if higher:
        better = v / (PERCENT if np.max(v) > 1.0 else 1.0)
    else:
        x, _ = transform(v)
        better = -x
    half = better[better.size // 2:]
    t = _trend_t(half) if half.size >= MIN_SLOPE_POINTS else _trend_t(better)
    a, m, b = (level(better, *w) for w in THIRDS)
    early, late = m - a, b - m
    share = late / early if early > 0 else (math.inf if late > 0 else 0.0)
    best = float(np.max(v)) if higher else float(np.min(v))
    last = float(v[-1])
    from_best = (best - last) / abs(best) if higher else (last - best) / abs(best)
    if not math.isfinite(from_best):
        from_best = math.inf
    measures = dict(t=t, from_best=from_best, last=last, best=best, late_gain=late, late_share=share)
    if t >= min_t and from_best <= max_from_best and late >= min_late_gain and share >= min_late_share:
        txt = (f"{series.metric} was still improving at the last evaluation (step {step_str(st[-1])}, "
               f"{fmt(last)}, its best), its second half gaining {share:.0%} as much as its first")
        return fire(name, series.metric, confidence(AT_THRESHOLD_RARE, ramp(t, min_t, FULL_AT * min_t)), txt, st[v.size // 2], st[-1],
                    **measures)
    return quiet(name, series.metric, **measures)


MEASURES_SLOW_CONVERGENCE = {
    "linearity": "second-half fall over first-half fall",
    "tail_t": "t-statistic of the fall over the last 30%",
    "drop": "total fall (x)",
}


@detector("slow_convergence", ("series",), "slow_convergence", measures=MEASURES_SLOW_CONVERGENCE)
def slow_convergence(series: Series, *, min_linearity: float, max_drop: float, min_t: float,
                     ctx: RunContext | None = None) -> Evidence:
    """The loss falls steadily but slowly, nearly linearly, and is still falling at the end."""
    name = "slow_convergence"
    if ctx is not None and ctx.kind in SHAPELESS_KINDS:
        return cannot(name, series.metric, f"{a_run(ctx.kind)}: its loss has no reference shape")
    data, bad = _prep(series, name, MIN_PLATEAU_POINTS)
    if bad:
        return bad
    st, v = data
    x, kind = transform(v)
    s = smooth(x, SMOOTH_BATCH)
    n = s.size
    a, m, b = (level(s, *w) for w in THIRDS_NARROW)
    first, second = a - m, m - b
    linearity = second / first if first > 0 else (math.inf if second > 0 else 0.0)
    late = x[int(n * LATE_FROM):]
    t_tail = -_trend_t(late) if late.size >= MIN_SLOPE_POINTS else 0.0
    drop = _drop(x, kind)
    measures = dict(linearity=float(linearity), tail_t=float(t_tail), drop=drop)
    if second > 0 and linearity >= min_linearity and t_tail >= min_t and (kind != "log" or drop < max_drop):
        conf = confidence(AT_THRESHOLD_COMMON, ramp(linearity, min_linearity, 1.0), ramp(t_tail, min_t, FULL_AT * min_t))
        txt = (f"{series.metric} was still falling at the end (trend t={t_tail:.1f} over the last 30%), "
               f"nearly linearly (second-half drop {linearity:.0%} of the first), {_below_start(v, kind, drop)}")
        return fire(name, series.metric, conf, txt, st[0], st[-1], **measures)
    return quiet(name, series.metric, **measures)


# a drop that starts by 1.5x the step where the lr warmup peaks started with the warmup (losses
# lag the rate: Adam's moments and the first large steps take a while once the rate is up)
WARMUP_ONSET_MARGIN = 1.5
MEASURES_DELAYED_START = {
    "flat_frac": "share of the run before the drop",
    "drop_after": "fall after the onset (x)",
    "transition": "share of the rest of the run taken by half the fall",
    "fall_over_band": "fall over the flatness band",
    "speedup": "how many times faster the loss falls after the onset than over the flat stretch",
    "in_warmup": "whether the drop began during the learning-rate warmup (then quiet)",
    "onset": "step where the loss leaves its start band",
    "warmup_end": "step where the lr warmup reaches its peak",
}


@detector("delayed_start", ("series",), "delayed_start", measures=MEASURES_DELAYED_START)
def delayed_start(series: Series, *, min_flat: float, min_drop: float, max_transition: float,
                  min_speedup: float, ctx: RunContext | None = None) -> Evidence:
    """The loss is flat for a long while (within noise), then suddenly drops: at least
    `min_drop` x lower to the end, half of that within `max_transition` of the rest of the run,
    and at least `min_speedup` x faster than it drifted over the flat stretch (a steady linear
    decline crosses the start band late too, but falls at the same pace before and after)."""
    name = "delayed_start"
    if ctx is not None and ctx.kind in SHAPELESS_KINDS:
        return cannot(name, series.metric, f"{a_run(ctx.kind)}: its loss has no reference shape")
    data, bad = _prep(series, name, MIN_DELAYED_POINTS)
    if bad:
        return bad
    st, v = data
    x, kind = transform(v)
    s = smooth(x, SMOOTH_ONSET)
    start = float(np.median(x[:max(2, int(s.size * INITIAL_SHARE))]))
    # noise from the residual around the trend: first differences of a steep curve are trend, not noise
    nz = max(mad(x - smooth(x, SMOOTH_EVAL, min_window=TREND_MIN_WINDOW), scratch=True), TINY)
    # the band the smoothed curve must leave: 3 standard errors of a median over the smoothing window
    tol = max(BAND_SPREADS * nz / math.sqrt(max(1, int(s.size * SMOOTH_ONSET))), ONSET_TOL_LOG if kind == "log" else ONSET_TOL_SCALED)
    below = np.nonzero(s < start - tol)[0]
    if below.size == 0:
        return quiet(name, series.metric)
    i_on = int(below[0])
    if ctx is not None and ctx.warmup_end is not None and st[i_on] <= WARMUP_ONSET_MARGIN * ctx.warmup_end:
        # the loss waited for the learning rate: a flat start while the rate warms up is the schedule
        return quiet(name, series.metric, in_warmup=True, onset=float(st[i_on]), warmup_end=ctx.warmup_end)
    flat_frac = float((st[i_on] - st[0]) / max(st[-1] - st[0], TINY))
    seg = x[:i_on]  # the points before the drop
    min_points = max(MIN_SLOPE_POINTS, int(INITIAL_SHARE * x.size))
    flat_ok = seg.size >= min_points and float(np.max(smooth(seg, SMOOTH_FLAT)) - np.min(smooth(seg, SMOOTH_FLAT))) <= FLAT_BANDS * tol
    after = start - level(s[i_on:], *END_SPARSE)  # sustained: where it ends, not its lowest dip
    drop_after = math.exp(after) if kind == "log" else after
    # sharp: half of the fall after the onset happens within `max_transition` of the rest of the
    # run (symmetry breaking); a noisy steady decline crosses the start band late but falls gradually
    # (on the loss's own scale: an exponential decay is sharp there, linear on a log scale)
    lin = np.exp if kind == "log" else (lambda a: a)
    rest = lin(s[i_on:])
    half = (lin(start) + lin(start - after)) / 2.0
    i_half = int(np.argmax(rest <= half)) if np.any(rest <= half) else rest.size - 1
    transition = float((st[i_on + i_half] - st[i_on]) / max(st[-1] - st[i_on], TINY))
    # and the fall must dwarf the band the flat stretch was judged within (3 bands: with noise as
    # large as the fall, "flat, then a drop" cannot be told from a noisy steady decline)
    # pace (transformed units per step) of the flat stretch, end level of its first quarter to its last
    # quarter, against the pace of the first half of the fall
    pre = max(level(seg, *QUARTERS[0]) - level(seg, *QUARTERS[2]), 0.0) / max(st[i_on] - st[0], TINY) if seg.size else 0.0
    post = (start - math.log(half) if kind == "log" else start - half) / max(st[i_on + i_half] - st[i_on], TINY)
    speedup = post / pre if pre > 0 else math.inf
    measures = dict(flat_frac=flat_frac, drop_after=drop_after, transition=transition, fall_over_band=after / tol,
                    speedup=speedup)
    if (flat_frac >= min_flat and flat_ok and drop_after >= min_drop and transition <= max_transition and after >= FLAT_BANDS * tol
            and speedup >= min_speedup):
        conf = confidence(AT_THRESHOLD_COMMON, ramp(flat_frac, min_flat, FULL_DELAY))
        txt = (f"{series.metric} stayed flat for the first {flat_frac:.0%} of the run, then started to drop at "
               f"step {step_str(st[i_on])} ({fmt(drop_after)}x lower afterwards)")
        return fire(name, series.metric, conf, txt, st[0], st[i_on], **measures)
    return quiet(name, series.metric, **measures)


CLASS_MAX = 1000  # the class count classification_max is set against (ln 1000 = 6.9)
LM_VOCAB_MAX = 1_000_000  # more tokens than any vocabulary in use (the largest common ones hold 256k): ln = 13.8


MEASURES_HIGH_INITIAL_LOSS = {
    "first": "first loss level",
    "end": "end loss level",
    "classification": "whether the loss is a classification cross-entropy",
}


@detector("high_initial_loss", ("loss", "acc?"), "high_initial_loss", measures=MEASURES_HIGH_INITIAL_LOSS)
def high_initial_loss(loss: Series, acc: Series | None = None, *, classification_max: float,
                      ctx: RunContext | None = None) -> Evidence:
    """The first loss values of a classifier are far above what the task implies: above ln(C)
    x a few (C <= 1000 gives at most 6.9); of a language model, above the same multiple of the
    largest vocabulary's ln V (a loss summed over tokens, not averaged, reads as high: the
    evidence says what it compared with).  Absolute by nature: it compares with what an
    initialised network gives.  A regression cannot be judged: at init its MSE is about E[y^2],
    the targets' own scale, and a loss in the thousands on targets in the hundreds is a network
    that starts normally (healthy generated regressions on raw-scale targets start 4-100x above
    their end, as the ones with unnormalised inputs do)."""
    name = "high_initial_loss"
    st, v = finite(loss)
    if v.size < FEW_POINTS:
        return cannot(name, loss.metric, f"{loss.metric}: too few points")
    k = head(v, INITIAL_SHARE, 1, START_POINTS).size
    first = min(float(v[0]), float(np.median(v[:k])))  # before the first updates can blow it up
    end = float(np.median(tail(v, RECENT_SHARE)))
    kind = ctx.kind if ctx else "unknown"
    classification = kind in CLASS_KINDS
    measures = dict(first=first, end=end, classification=classification)
    if ctx is not None and len(ctx.loss_components) >= 2:
        # component losses: the logged loss is a sum of terms, and ln(classes) bounds none of them
        return cannot(name, loss.metric, f"{loss.metric} is a sum of several objectives: no reference for its first value")
    if kind == "regression":
        return cannot(name, loss.metric, "a regression's first loss is on its targets' scale, which the log does not give")
    if not classification and kind != "language_model":
        # a CTC loss in the thousands, a detection or GAN loss: no first level a network at init gives
        return cannot(name, loss.metric, f"{a_run(kind)}: no reference level for its first loss")
    # a language model's loss is a cross-entropy over its vocabulary: it starts near ln V, and no
    # vocabulary reaches LM_VOCAB_MAX, so its bound is the same multiple of ln LM_VOCAB_MAX as
    # classification_max is of ln CLASS_MAX (30 at the default 15)
    limit = classification_max if classification else classification_max * math.log(LM_VOCAB_MAX) / math.log(CLASS_MAX)
    if first >= limit:
        conf = confidence(AT_THRESHOLD_RARE, ramp(first, limit, FULL_INITIAL * limit))
        what = ("classifier starts near ln(classes) (at most ~7 for 1000 classes)" if classification else
                "language model starts near ln(vocabulary size) (at most ~14 for a million tokens)")
        return fire(name, loss.metric, conf, f"{loss.metric} starts at {fmt(first)}; a freshly initialised {what}",
                    st[0], st[k - 1], **measures)
    return quiet(name, loss.metric, **measures)
