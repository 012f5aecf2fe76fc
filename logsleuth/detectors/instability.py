"""Detectors of instability: non-finite values, spikes, early instability, noise,
oscillation and epoch-periodic patterns."""

from __future__ import annotations

import math

import numpy as np

from ..kinds import RunContext
from ..model import Evidence, Series
from .base import (
    AT_THRESHOLD_COMMON,
    AT_THRESHOLD_RARE,
    BAND_SPREADS,
    CONF_FACT,
    FEW_POINTS,
    FULL_AT,
    FULL_AT_LARGE,
    MIN_WINDOW,
    RECENT_SHARE,
    START_POINTS,
    TINY,
    TREND_MIN_WINDOW,
    bucket,
    cannot,
    coarse_trend,
    confidence,
    detector,
    finite,
    fire,
    fmt,
    mad,
    median,
    median_filter,
    median_gap,
    memo,
    quiet,
    ramp,
    step_str,
    tail,
    transform,
)

# How the sentence of a NaN/Inf describes what came before it: "after rising Nx" from this rise,
# "after falling to ..." from this fall (smaller moves are not worth a clause).
SAID_RISE = 10.0
SAID_FALL = 1.5
EARLY_SHARE = 0.15  # "early" in the spikes' early_share measure and sentence: the first 15% of the run
MAX_FREQ = 0.25  # oscillation: cycles per sample at most 1/4, a period of 4 samples or more (shorter is noise)
EPOCH_MATCH = 0.12  # oscillation: a period within 12% of a whole number of epochs matches the epoch length
KINDS_SAMPLE = 1000  # nonfinite: which of NaN/+Inf/-Inf occur is read off the first thousand bad values
PER_1K = 1000.0  # spikes: the rate per thousand points
FULL_SPIKE = 100.0  # spikes: a jump of 100x its neighbourhood is unmistakable (confidence 1 on size)
MIN_EARLY_POINTS = 10  # early_instability: the first 15% must hold a few points, and the rest a late noise level
MIN_NOISE_POINTS = 30  # noisy: the spread is read over the second half, so 15 points at least
NOISE_TREND_SHARE = 0.1  # noisy: the trend it measures noise around, a rolling median over a tenth of the half
MIN_PERIODIC_POINTS = 40  # oscillation and epoch_periodic: ten periods of the shortest period (MIN_PERIOD)
MIN_PERIOD = 4  # the shortest period looked for, in samples (the inverse of MAX_FREQ): shorter is noise
MAX_SPECTRUM_POINTS = 200_000  # oscillation: a spectrum of more points is bucketed (the FFT's cost, not its resolution)
OSC_TREND_SHARE = 0.125  # oscillation: the trend removed before the spectrum, over an eighth of the run (slower is trend)
RISE_WINDOW = 0.25  # oscillation: "really rises" is judged on a moving average over a quarter of the period
FULL_POWER = 0.6  # oscillation: a period holding 60% of the detrended variance is unmistakable
MAX_UPSAMPLE = 4  # a log with gaps is put on its median step spacing only if that at most quadruples its points
EPOCH_PHASES = 8  # epoch_periodic: epoch boundaries tried at eighths of an epoch; "near" lags are an eighth off
MIN_EPOCHS = 3  # epoch_periodic: a pattern that repeats needs three epochs
MIN_EPOCHS_TWO_LAGS = 4  # ... and its repeat two epochs apart is read when there are more than four
FULL_ACF = 0.8  # epoch_periodic: an autocorrelation of 0.8 one epoch apart is unmistakable


MEASURES_NONFINITE = {
    "count": "non-finite values",
    "finite_points": "finite values",
    "first_step": "step of the first non-finite value",
    "position": "share of the run before it",
    "rise_before": "rise of the loss in the stretch before it (x)",
    "fell_before": "whether the loss fell just before it",
    "low_before": "whether the loss was at a very low level before it",
    "frac_after": "share of the values after it that are non-finite",
}


@detector("nonfinite", ("series",), "nan_inf", measures=MEASURES_NONFINITE)
def nonfinite(series: Series, ctx: RunContext | None = None) -> Evidence:
    """The metric becomes NaN or infinite; measures how it behaved just before."""
    name = "nonfinite"
    v = series.values
    if v.size == 0:
        return cannot(name, series.metric, f"{series.metric}: empty")
    if finite(series)[1] is v:  # every value finite: finite() (shared, once a series) hands the series' own array back
        return quiet(name, series.metric)
    bad = ~np.isfinite(v)
    if not bad.any():
        return quiet(name, series.metric)
    i0 = int(np.argmax(bad))
    st = series.steps
    before = v[:i0]
    before = before[np.isfinite(before)]
    start = float(np.median(before[:START_POINTS])) if before.size else math.nan
    last = tail(before, RECENT_SHARE, FEW_POINTS) if before.size else before
    peak = float(np.max(last)) if last.size else math.nan
    low = float(np.min(before)) if before.size else math.nan
    rise = peak / start if before.size and start > 0 and peak > 0 else math.nan
    frac_pos = float(i0 / max(v.size - 1, 1))
    after_bad = float(bad[i0:].mean())
    # was the loss still falling (a healthy-looking run that suddenly broke)?
    fell = start / float(np.median(last)) if last.size and start > 0 and np.median(last) > 0 else math.nan
    measures = dict(first_step=float(st[i0]), count=int(bad.sum()), frac_after=after_bad, position=frac_pos,
                    rise_before=rise, fell_before=fell, finite_points=int(before.size), low_before=low)
    kinds = sorted({"NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf") for x in v[bad][:KINDS_SAMPLE]})
    how = (f"after rising {fmt(rise)}x" if rise == rise and rise >= SAID_RISE else
           f"after falling to {fmt(float(np.median(last)))} ({fmt(fell)}x below its start)" if fell == fell and fell > SAID_FALL else
           "")
    txt = f"{series.metric} became {'/'.join(kinds)} at step {step_str(st[i0])} {how}".rstrip() + \
          f"; {after_bad:.0%} of the points after it are not finite"
    return fire(name, series.metric, CONF_FACT, txt, st[i0], st[-1], **measures)


MEASURES_NONFINITE_ANY: dict[str, str] = {
}


@detector("nonfinite_any", ("group*",), "nan_inf", measures=MEASURES_NONFINITE_ANY)
def nonfinite_any(group: list[Series], ctx: RunContext | None = None) -> Evidence:
    """The first of several series (every GAN loss, say) to become NaN or infinite."""
    hits = [nonfinite(s) for s in group]
    fired = [e for e in hits if e.fired]
    if fired:
        return min(fired, key=lambda e: (e.start_step if e.start_step is not None else math.inf, e.metric))
    if hits and all(e.cannot_judge for e in hits):
        return hits[0]
    return quiet("nonfinite_any", group[0].metric if group else "")


def _spike_events(x: np.ndarray, k: float, min_jump: float, window: int) -> tuple[list[tuple[int, int, float]], np.ndarray]:
    med = median_filter(x, size=window, mode="nearest")
    r = x - med
    scale = mad(r) or TINY
    thr = max(k * scale, min_jump)
    hot = r > thr
    events: list[tuple[int, int, float]] = []
    if hot.any():
        edges = np.diff(np.r_[0, hot.astype(np.int8), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        for i, j in zip(starts, ends):
            if j - i + 1 <= window // 2:  # isolated: it falls back (a level shift would persist)
                events.append((int(i), int(j), float(np.max(r[i:j + 1]))))
    return events, r


MEASURES_SPIKES = {
    "count": "spikes found",
    "max_ratio": "largest spike over its neighbourhood (x)",
    "first_step": "step of the first spike",
    "rate": "spikes per point",
    "per_1k_points": "spikes per 1000 points",
    "early_share": "share of spikes in the first 15% of the run",
}


@detector("spikes", ("series",), "loss_spikes", measures=MEASURES_SPIKES)
def spikes(series: Series, *, k: float, min_jump: float, window: int, min_spreads: float,
           ctx: RunContext | None = None) -> Evidence:
    """Isolated sudden jumps that fall back, against a rolling median and MAD (not a global std).
    A spike must exceed `k` robust spreads and be `min_jump` times its neighbourhood."""
    name = "spikes"
    st, v = finite(series)
    if v.size < 2 * window:
        return cannot(name, series.metric, f"{series.metric}: {v.size} points, {2 * window} needed for spikes")
    x, kind = transform(v)
    jump = math.log(min_jump) if kind == "log" else min_spreads
    events, _ = _spike_events(x, k, jump, window)
    span = max(float(st[-1] - st[0]), TINY)
    measures = dict(count=len(events), per_1k_points=PER_1K * len(events) / v.size)
    if not events:
        return quiet(name, series.metric, **measures)
    biggest = max(events, key=lambda e: e[2])
    size = math.exp(biggest[2]) if kind == "log" else biggest[2]
    early = sum(1 for e in events if (st[e[0]] - st[0]) / span < EARLY_SHARE)
    measures.update(max_ratio=size, early_share=early / len(events), first_step=float(st[events[0][0]]),
                    rate=len(events) / v.size)
    conf = confidence(AT_THRESHOLD_COMMON, ramp(len(events), 1, FULL_AT_LARGE),
                      ramp(math.log(max(size, 1.0)), math.log(min_jump), math.log(FULL_SPIKE)))
    unit = "x its neighbourhood" if kind == "log" else " robust spreads above its neighbourhood"
    txt = (f"{len(events)} spike(s) on {series.metric}; the largest {fmt(size)}{unit} at step "
           f"{step_str(st[biggest[0]])}" + (f", {early} in the first {EARLY_SHARE:.0%} of the run" if early else ""))
    return fire(name, series.metric, conf, txt, st[events[0][0]], st[events[-1][1]], **measures)


MEASURES_EARLY_INSTABILITY = {
    "rise": "largest early rise over the start level (x)",
    "peak_step": "step of the early peak",
    "end_ratio": "end level over start level",
    "vol_ratio": "early over late volatility",
    "noise_band": "noise band the rise is judged against",
}


@detector("early_instability", ("series",), "early_instability", measures=MEASURES_EARLY_INSTABILITY)
def early_instability(series: Series, *, early_frac: float, min_rise: float, min_rise_spreads: float,
                      ctx: RunContext | None = None) -> Evidence:
    """In the first part of the run the loss climbs well above its initial value (a healthy loss
    falls from its first value), or swings far more than it does later."""
    name = "early_instability"
    st, v = finite(series)
    if v.size < MIN_EARLY_POINTS:
        return cannot(name, series.metric, f"{series.metric}: {v.size} points, {MIN_EARLY_POINTS} needed")
    x, kind = transform(v)
    span = max(float(st[-1] - st[0]), TINY)
    early = (st - st[0]) / span <= early_frac
    n_early = int(early.sum())
    if n_early < FEW_POINTS:
        return cannot(name, series.metric, f"{series.metric}: too few points in the first {early_frac:.0%}")
    x0 = float(x[0])  # the first loss is measured before (or at) the first update
    # steps ascend, so the early points are the first n_early: slices, not copies
    e, late = (x[:n_early], x[n_early:]) if bool(early[:n_early].all()) else (x[early], x[~early])
    d_early = mad(np.diff(e), scratch=True) if e.size > FEW_POINTS else 0.0
    band = BAND_SPREADS * d_early / math.sqrt(2.0)  # batch-to-batch noise
    e_s = median_filter(e, size=MIN_WINDOW, mode="nearest")
    peak_i = int(np.argmax(e_s))
    rise = float(e_s[peak_i] - x0)
    d_late = mad(np.diff(late), scratch=True) if late.size > FEW_POINTS else 0.0
    vol_ratio = d_early / d_late if d_late > 0 else (math.inf if d_early > 0 else 1.0)
    thr = math.log(min_rise) if kind == "log" else min_rise_spreads
    rise_ratio = math.exp(rise) if kind == "log" else rise
    end = median(tail(x, RECENT_SHARE))
    end_ratio = math.exp(end - x0) if kind == "log" else end - x0
    measures = dict(rise=rise_ratio, vol_ratio=float(vol_ratio), peak_step=float(st[peak_i]), end_ratio=end_ratio)
    measures["noise_band"] = band
    if rise >= thr and rise >= band:
        conf = confidence(AT_THRESHOLD_RARE, ramp(rise, thr, FULL_AT * thr))
        txt = (f"{series.metric} climbed to {fmt(float(np.exp(e_s[peak_i])) if kind == 'log' else float(v[peak_i]))} "
               f"({fmt(rise_ratio)}x its first value) by step {step_str(st[peak_i])}, in the first {early_frac:.0%} of the run")
        return fire(name, series.metric, conf, txt, st[0], st[np.nonzero(early)[0][-1]], **measures)
    return quiet(name, series.metric, **measures)


MEASURES_NOISY = {
    "rel_noise": "robust spread around the rolling median over its level, second half",
}


@detector("noisy", ("series",), "noisy_loss", measures=MEASURES_NOISY)
def noisy(series: Series, *, max_rel_noise: float, ctx: RunContext | None = None) -> Evidence:
    """Step-to-step noise large relative to the trend: robust spread of (value - rolling median)
    over the rolling median, on the second half of the run."""
    name = "noisy"
    st, v = finite(series)
    if v.size < MIN_NOISE_POINTS:
        return cannot(name, series.metric, f"{series.metric}: {v.size} points, {MIN_NOISE_POINTS} needed")
    rel = memo("noisy.rel_noise", v, lambda: _rel_noise(v))  # the same for each rule's threshold
    measures = dict(rel_noise=rel)
    if rel >= max_rel_noise:
        conf = confidence(AT_THRESHOLD_COMMON, ramp(rel, max_rel_noise, FULL_AT * max_rel_noise))
        return fire(name, series.metric, conf, f"{series.metric} noise is {rel:.0%} of its trend level over the second half",
                    st[v.size // 2], st[-1], **measures)
    return quiet(name, series.metric, **measures)


def _rel_noise(v: np.ndarray) -> float:
    """The second half's robust spread around its rolling-median trend, over the trend's level."""
    half = v[v.size // 2:]
    trend = coarse_trend(half, max(TREND_MIN_WINDOW, int(half.size * NOISE_TREND_SHARE)))
    base = median(np.abs(trend)) or TINY
    return mad(half - trend, scratch=True) / base


def _periodogram(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (cycles per sample) and power of a real series, mean removed (numpy's FFT:
    importing scipy.signal for this costs about 2 s of start-up)."""
    r = r - r.mean()
    return np.fft.rfftfreq(r.size), np.abs(np.fft.rfft(r)) ** 2


def _uniform(st: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """x resampled on a uniform step grid (median spacing)."""
    d = np.diff(st)
    d = d[d > 0]
    if d.size == 0:
        return x, 1.0
    h = median_gap(d)
    n = int((st[-1] - st[0]) / h) + 1
    if n > MAX_UPSAMPLE * x.size or n < 2:
        return x, h
    grid = st[0] + h * np.arange(n)
    return np.interp(grid, st, x), h


def _acf(r: np.ndarray, lag: int) -> float:
    if lag <= 0 or lag >= r.size - 2:
        return 0.0
    a, b = r[:-lag], r[lag:]
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


MEASURES_OSCILLATION = {
    "period": "period of the strongest cycle, in steps",
    "power_share": "share of the detrended power in that cycle",
    "amplitude": "cycle amplitude relative to the level",
    "epoch_len": "steps per epoch, when known",
    "epoch_match": "whether the period matches the epoch length",
    "rising_share": "share of the run where the curve, smoothed over a quarter period, rises",
}


@detector("oscillation", ("series",), "oscillation", measures=MEASURES_OSCILLATION)
def oscillation(series: Series, *, min_power: float, min_amplitude: float, min_cycles: int,
                min_rising: float, ctx: RunContext | None = None) -> Evidence:
    """Large up-and-down swings with a dominant period (periodogram of the detrended series);
    reports the period in steps and whether it matches the epoch length.  The curve must really
    go up and down: smoothed over a quarter of the period it rises over at least `min_rising` of
    the run (a smooth decay leaves a periodic-looking residual around any coarse trend, but
    never rises)."""
    name = "oscillation"
    st, v = finite(series)
    if v.size < MIN_PERIODIC_POINTS:
        return cannot(name, series.metric, f"{series.metric}: {v.size} points, {MIN_PERIODIC_POINTS} needed")
    st, v = bucket(st, v, MAX_SPECTRUM_POINTS)
    x, kind = transform(v)
    xu, h = _uniform(st, x)
    trend = coarse_trend(xu, max(TREND_MIN_WINDOW, int(xu.size * OSC_TREND_SHARE)))
    r = xu - trend
    f, p = _periodogram(r)
    ok = (f > 0) & (f <= MAX_FREQ) & (f >= min_cycles / r.size)
    if not ok.any() or p.sum() <= 0:
        return quiet(name, series.metric)
    i = int(np.argmax(np.where(ok, p, -1)))
    share = float(p[max(0, i - 1): i + 2].sum() / p[1:].sum())
    period = h / float(f[i])
    amp = 2.0 * float(np.std(r)) * math.sqrt(2)
    amp_ratio = math.expm1(amp) if kind == "log" else amp
    w = max(MIN_WINDOW, int(period / h * RISE_WINDOW))
    # the moving average over w points rises where x[i+w] > x[i] (its step is their difference / w):
    # O(n) where a convolution costs n x w
    d = xu[w:] - xu[:-w] if xu.size > w else np.diff(xu)
    rising = float(np.mean(d > 0)) if d.size else 0.0
    epoch_len = float(ctx.epoch_len or 0.0) if ctx else 0.0
    match = epoch_len > 0 and abs(period / epoch_len - round(period / epoch_len)) < EPOCH_MATCH and round(period / epoch_len) >= 1
    measures = dict(period=period, power_share=share, amplitude=amp_ratio, epoch_len=epoch_len, epoch_match=match,
                    rising_share=rising)
    if share >= min_power and amp_ratio >= min_amplitude and rising >= min_rising:
        conf = confidence(AT_THRESHOLD_COMMON, ramp(share, min_power, FULL_POWER), ramp(amp_ratio, min_amplitude, FULL_AT * min_amplitude))
        txt = (f"{series.metric} oscillates with a period of about {fmt(period)} steps "
               f"({share:.0%} of its detrended variance, swings of {fmt(amp_ratio)}x)"
               + (f"; the period matches the epoch length ({fmt(epoch_len)} steps)" if match else ""))
        return fire(name, series.metric, conf, txt, st[0], st[-1], **measures)
    return quiet(name, series.metric, **measures)


def _acf_within_epochs(x: np.ndarray, period: float, phases: int = EPOCH_PHASES) -> float:
    """Autocorrelation at one epoch of x minus its per-epoch means, at the epoch phase (of
    `phases` tried) that leaves the least variance (the boundary of a staircase).  The epochs
    are `period` points long, a fraction included: 5.6 points rounded to 6 would drift the
    boundaries by four points over ten epochs and leave each step of a staircase in the
    residual."""
    lag = int(round(period))
    best_r, best_var = None, math.inf
    for p in range(phases):
        off = p * period / phases
        block = np.floor((np.arange(x.size) + off) / period).astype(int)
        sums = np.bincount(block, weights=x)
        means = sums / np.maximum(np.bincount(block), 1)
        r = x - means[block]
        v = float(np.var(r))
        if v < best_var:
            best_r, best_var = r, v
    return _acf(best_r, lag) if best_r is not None else 0.0


MEASURES_EPOCH_PERIODIC = {
    "epoch_len": "steps per epoch",
    "acf_epoch": "autocorrelation at one epoch lag",
    "acf_two": "autocorrelation at two epochs",
    "acf_near": "highest autocorrelation at nearby lags",
    "acf_chance": "autocorrelation expected by chance",
    "acf_within": "autocorrelation around per-epoch means",
}


@detector("epoch_periodic", ("series",), "periodic_pattern", measures=MEASURES_EPOCH_PERIODIC)
def epoch_periodic(series: Series, *, min_acf: float, min_peak: float, ctx: RunContext | None = None) -> Evidence:
    """A component that repeats every epoch: the autocorrelation of the detrended loss at a lag
    of one epoch is high, beyond what noise gives by chance (3 standard errors, 3/sqrt(n)), and
    higher than an eighth of an epoch away (fixed data order)."""
    name = "epoch_periodic"
    epoch_len = ctx.epoch_len if ctx else None
    if not epoch_len:
        return cannot(name, series.metric, "epoch length unknown (no epoch metric or per-epoch evaluation)")
    st, v = finite(series)
    if v.size < MIN_PERIODIC_POINTS:
        return cannot(name, series.metric, f"{series.metric}: {v.size} points, {MIN_PERIODIC_POINTS} needed")
    x, _ = transform(v)
    xu, h = _uniform(st, x)
    lag = int(round(epoch_len / h))
    if lag < MIN_PERIOD or xu.size < MIN_EPOCHS * lag:
        return cannot(name, series.metric, f"{series.metric}: fewer than {MIN_EPOCHS} epochs of {lag} points")
    trend = coarse_trend(xu, 2 * lag + 1)
    r = xu - trend
    a1 = _acf(r, lag)
    # a staircase - one level per epoch, the drop at each boundary (multi-epoch fine-tunes) -
    # leaves a saw-tooth around a rolling trend; around its own epoch means it leaves only
    # noise.  A fixed data order repeats a shape *within* each epoch, which survives both.
    a_steps = _acf_within_epochs(xu, epoch_len / h)
    a1 = min(a1, a_steps)
    d = max(2, lag // EPOCH_PHASES)
    a_near = max(_acf(r, lag - d), _acf(r, lag + d))  # a real epoch pattern peaks exactly at one epoch
    a2 = _acf(r, 2 * lag) if xu.size > MIN_EPOCHS_TWO_LAGS * lag else a1
    # 3 standard errors of a sample autocorrelation of noise: with few points a lone 0.3 is chance
    chance = BAND_SPREADS / math.sqrt(max(1, xu.size - lag))
    measures = dict(acf_epoch=a1, acf_near=a_near, acf_two=a2, acf_chance=chance, epoch_len=float(epoch_len),
                    acf_within=a_steps)
    if a1 >= max(min_acf, chance) and a1 - a_near >= min_peak and a2 >= min_acf / 2:
        conf = confidence(AT_THRESHOLD_RARE, ramp(a1, min_acf, FULL_ACF))
        return fire(name, series.metric, conf,
                    f"{series.metric} repeats every epoch ({fmt(epoch_len)} steps): autocorrelation {a1:.2f} at one epoch, "
                    f"{a_near:.2f} an eighth of an epoch off", st[0], st[-1], **measures)
    return quiet(name, series.metric, **measures)
