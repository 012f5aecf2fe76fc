"""How a detector reads a curve: windows, smoothing, bucketing, robust levels and noise.  They
work on log-values where a series is positive, so that the same curve times 1000 gives the same
verdict, and on robust statistics (medians, MAD) so that a few wild points do not decide."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ..model import Series

T = TypeVar("T")

TINY = 1e-12  # the floor of a span or spread that divides (a run of one step, a curve without noise)
MAX_POINTS = 20_000  # trend detectors work on bucket medians above this
EXACT_TREND_POINTS = 50_000  # below this a wide rolling median is cheap enough to be exact
# a log covers the start of training when its first step lies within this share of its span
# (a resumed run logged from step 3249 of 3249-4599 does not: its first value is no initial loss)
START_SHARE = 0.05



def covers_start(steps: np.ndarray) -> bool:
    """True when a log starts at (or near) the start of training, not mid-way (resumed runs)."""
    return bool(steps.size >= 2 and (steps[0] <= 1 or steps[0] <= START_SHARE * (steps[-1] - steps[0])))


# a log at a fixed interval whose first point is one interval in (a trainer logging every 10 steps
# writes steps 10, 20, ...) saw training from its first step: its first value is the mean (or a
# sample) of the first interval like every later one.  Unless that interval is more than a fifth of
# the run (the START window): then too much of the start went unseen to say "never moved"
FIRST_INTERVAL_SHARE = 0.2
# the log's interval is read from its first few gaps: a log that thins out later (every step, then
# every 10) still starts at its first interval
FIRST_GAPS = 4


def logged_from_start(steps: np.ndarray) -> bool:
    """True when no stretch of training before the first point went unlogged: `covers_start`, or
    a first step no further from 0 than the log's own interval (+1, a counter from 1) and within
    the first fifth of the run.  Not the same as "the first value is an initial loss"."""
    if covers_start(steps):
        return True
    if steps.size < 2 or not math.isfinite(float(steps[0])) or steps[0] < 0:
        return False
    gap = median_gap(np.diff(steps[: min(steps.size, FIRST_GAPS + 1)]))
    return bool(steps[0] <= gap + 1 and steps[0] <= FIRST_INTERVAL_SHARE * steps[-1])


DECIMAL_BASE = 10.0  # values are written in decimal: a unit in the last digit is a power of ten


def significant_digits(x: float) -> int:
    """Significant digits of a float as written (`repr`): 0.25 -> 2, 2.2945587635040283 -> 17."""
    if not math.isfinite(x) or x == 0.0:
        return 0
    mant = repr(abs(x)).lower().split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    return len(mant)


def written_resolution(x: float) -> float:
    """The smallest change a value written like `x` could show, relative to it: a unit in its last
    significant digit over its size (0.05 -> 0.2, 2.3026 -> 4e-5); 0 for 0 or a non-finite value."""
    digits = significant_digits(x)
    if digits == 0:
        return 0.0
    return float(DECIMAL_BASE ** (math.floor(math.log10(abs(x))) - digits + 1) / abs(x))


# How a detector reads a curve.  Shares of a curve's points (after bucketing); `level(x, *END)`
# is the median of the last 15%.  A detector takes the window its symptom needs and the names say
# which; every number that shapes a verdict is here, a parameter, or a commented constant of its
# detector module (tests/test_detector_contract.py refuses other number literals in detectors).
END = (0.85, 1.0)  # where a curve ends: its last 15%, several epochs of a short run, so one noisy epoch does not set it
RECENT_SHARE = 0.1  # where a curve stands now: its last tenth (divergence, the train fall meanwhile, the level before a NaN)
END_RECENT = (1 - RECENT_SHARE, 1.0)  # the window of the last tenth, for `level`
END_SPARSE = (0.8, 1.0)  # where a curve of few points ends: evaluations, per-epoch scalars, the stretch after an lr drop
END_VAL = (0.75, 1.0)  # where a validation curve or a train/val gap ends: a quarter, it is noisier per point than training
START = (0.0, 0.2)  # where a curve starts, in level comparisons with a middle or second half: its first fifth
SECOND_HALF = (0.5, 1.0)  # "since the middle of the run": a loss that kept falling there is learning
# Start, middle and end windows of equal width: a straight fall has its middle half-way between
THIRDS_NARROW = ((0.0, 0.1), (0.45, 0.55), (0.9, 1.0))  # start, middle, end of a smoothed curve, a tenth wide (slow convergence)
THIRDS = ((0.0, 0.2), (0.4, 0.6), (0.8, 1.0))  # start, middle, end of a raw curve, a fifth wide (still improving)
QUARTERS = ((0.0, 0.25), (0.35, 0.65), (0.75, 1.0))  # first quarter, middle 30%, last quarter (no learning; a flat stretch)

# Rolling-median windows, as a share of the curve's points (see `smooth`)
SMOOTH_BATCH = 0.05  # per-batch training curves: 5% of the run smooths batch noise and keeps epoch-scale shape
SMOOTH_EVAL = 0.1  # validation and per-epoch curves: fewer points, each noisier, so a wider share
SMOOTH_BURST = 0.03  # gradient norms: narrow, so that a burst of a few percent of the run still shows

# Noise: a change counts when it clears this many step-to-step noise spreads (`noise`)
NOISE_SPREADS = 2.0  # twice the wobble: a level change, not batch noise
BAND_SPREADS = 3.0  # a band around a curve that a noisy but healthy curve stays inside (3 spreads, ~99%)

# Confidence margins (`ramp(x, threshold, FULL_AT * threshold)`): how far past its threshold a
# measure is unmistakable
FULL_AT = 3.0  # the usual: three times the threshold
FULL_AT_SMALL = 5.0  # thresholds set just past noise (a 10% rise, a 2x ratio): five times
FULL_AT_LARGE = 10.0  # counts and ratios whose threshold is already a clear sign (1 spike; 3x val/train): ten times

INITIAL_SHARE = 0.05  # a curve's initial level: the median of its first 5% (a few points at least), before training moves it
TREND_MIN_WINDOW = 5  # a trend (rolling median) at least 5 points wide, or it follows the noise
MIN_CURVE = 5  # fewer finite points are no curve: no start, end or turn can be told from one noisy point
FEW_POINTS = 3  # the fewest points a level is read from: a median of three outvotes one noisy value
PERCENT = 100.0  # accuracies print as points (0.15 -> 15 points); a logger's accuracy above 1 is in percent
START_SHARE_FEW = 0.1  # a curve's start level (`start_level`): its first tenth, at most START_POINTS points:
START_POINTS = 3  # the initial loss before the first updates move it, past one noisy batch


def head(x: np.ndarray, share: float, least: int = 1, most: int | None = None) -> np.ndarray:
    """The first `share` of x's points, at least `least` and at most `most` of them."""
    k = max(least, int(x.size * share) if most is None else min(most, int(x.size * share)))
    return x[:k]


def tail(x: np.ndarray, share: float, least: int = 1) -> np.ndarray:
    """The last `share` of x's points, at least `least` of them."""
    return x[-max(least, int(x.size * share)):]


CACHED_SERIES = 64  # the finite/bucket caches hold the series of one run (a run has a few dozen)
# ... and the transformed curves at most this many points (8 bytes each: 64 MB; a copy of a run's
# long curves, made after reading, below the peak of reading them)
CACHED_POINTS = 8_000_000
_FINITE_CACHE: dict[int, tuple[Series, np.ndarray, np.ndarray]] = {}


def finite(s: Series) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of the finite points (cached for the last few series: many detectors ask)."""
    hit = _FINITE_CACHE.get(id(s))
    if hit is not None and hit[0] is s:
        return hit[1], hit[2]
    ok = np.isfinite(s.values)
    out = (s.steps, s.values) if ok.all() else (s.steps[ok], s.values[ok])
    if len(_FINITE_CACHE) > CACHED_SERIES:
        _FINITE_CACHE.clear()
    _FINITE_CACHE[id(s)] = (s, out[0], out[1])
    return out


_BUCKET_CACHE: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def bucket(steps: np.ndarray, values: np.ndarray, n: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most n points: bucket medians (trend detectors; spike detectors see every point).
    Computed once per series: a dozen detectors ask for the same long curve (the result is
    read-only, and the cache holds the inputs so that their ids stay theirs)."""
    if values.size <= n:
        return steps, values
    key = (id(values), id(steps), n)
    hit = _BUCKET_CACHE.get(key)
    if hit is not None and hit[0] is values and hit[1] is steps:
        return hit[2], hit[3]
    k = int(math.ceil(values.size / n))
    m = values.size // k * k
    v = row_medians(values[:m].reshape(-1, k))
    st = steps[:m].reshape(-1, k)[:, k // 2].copy()
    v.flags.writeable = st.flags.writeable = False
    if len(_BUCKET_CACHE) > CACHED_SERIES:
        _BUCKET_CACHE.clear()
    _BUCKET_CACHE[key] = (values, steps, st, v)
    return st, v


MAX_ZERO_SHARE = 0.2  # a loss exactly 0 on fewer than a fifth of its points is still a positive loss (tiny batches)
ZERO_LIFT = 1e-3  # ... its zeros lifted to a thousandth of its median: far below it, still on the log scale


def positive(values: np.ndarray) -> bool:
    return values.size > 0 and bool(np.all(values > 0))


_TRANSFORM_CACHE: dict[int, tuple[np.ndarray, np.ndarray, str]] = {}


def transform(values: np.ndarray) -> tuple[np.ndarray, str]:
    """log of a positive series (exact zeros lifted to 1e-3 x the median, so a loss that is
    sometimes 0 stays on the log scale); else the series over its robust spread.  Both are
    scale-free: the same curve times 1000 gives the same transformed shape.  A curve is
    transformed once for every detector that asks (read-only then; the cache holds the curves
    of one run, at most CACHED_POINTS points of them), so the buckets and the smoothings of the
    transformed curve are shared too."""
    hit = _TRANSFORM_CACHE.get(id(values))
    if hit is not None and hit[0] is values:
        return hit[1], hit[2]
    x, kind = _transform(values)
    x.flags.writeable = False
    if len(_TRANSFORM_CACHE) > CACHED_SERIES or sum(h[1].size for h in _TRANSFORM_CACHE.values()) + x.size > CACHED_POINTS:
        _TRANSFORM_CACHE.clear()
    _TRANSFORM_CACHE[id(values)] = (values, x, kind)
    return x, kind


def _transform(values: np.ndarray) -> tuple[np.ndarray, str]:
    if positive(values):
        return np.log(values), "log"
    if values.size and bool(np.all(values >= 0)):
        med = float(np.median(values))
        if med > 0 and float(np.mean(values == 0)) < MAX_ZERO_SHARE:
            return np.log(values + ZERO_LIFT * med), "log"
    spread = mad(values) or float(np.std(values)) or 1.0
    return values / spread, "scaled"


# Odd windows of up to PARTITION_MAX_SIZE finite points (and any window of up to 64 on a long
# series) take partial sorts of BLOCK_CELLS values (a block of windows) at a time: a block stays
# in the CPU cache, and it is 1.3-3.7x faster than pandas' skiplist there, on short series most
# (its per-call cost dominates).  Wider windows take the skiplist (O(log w) a step; a partial
# sort is O(w)).  An even window on a long series takes the upper of its two middle values; on
# a short one (and with non-finite values) pandas', the mean of the two.
MIN_WINDOW = 3  # the narrowest rolling median: a point and its two neighbours
PARTITION_MIN_POINTS = 100_000  # long series: windows of up to LONG_PARTITION_MAX_SIZE points, even ones too
LONG_PARTITION_MAX_SIZE = 64
PARTITION_MAX_SIZE = 128  # any series: odd windows of finite values up to this
BLOCK_CELLS = 1 << 18
# windows this wide or wider are sorted whole instead (numpy's SIMD sorts of short rows): the same
# middle value (NaN sorts last in both), 15-30% faster from ~20 points up, 5-15% slower below
SORT_MIN_SIZE = 20


def forget() -> None:
    """Empty the caches of curves (finite points, buckets, transforms, smoothings, memo): what
    they hold belongs to one run; a worker moving on to the next keeps none of it."""
    for cache in (_FINITE_CACHE, _BUCKET_CACHE, _TRANSFORM_CACHE, _SMOOTH_CACHE, _MEMO):
        cache.clear()


def median_filter(x: np.ndarray, size: int, mode: str = "nearest") -> np.ndarray:
    """Rolling median, edges padded with the edge values (scipy.ndimage's mode='nearest'; for an
    even size, the upper of the two middle values on long series, their mean on short ones).
    Exact: the value at i is the median of its window, by three min/max for a size of 3, by
    partial (or, from SORT_MIN_SIZE, whole) sorts of blocks of windows for windows of up to
    PARTITION_MAX_SIZE points, else by pandas' rolling median."""
    x = np.asarray(x, dtype="float64")
    size = max(1, int(size))
    n = x.size
    if size <= 1 or n == 0:
        return x.copy()
    if size == MIN_WINDOW:  # the median of three neighbours, exactly, without a sort
        a, c = np.empty(n), np.empty(n)
        a[0], a[1:], c[:-1], c[-1] = x[0], x[:-1], x[1:], x[-1]
        return np.maximum(np.minimum(a, x), np.minimum(np.maximum(a, x), c))
    h = size // 2
    if n > PARTITION_MIN_POINTS and size in NETWORK_SIZES and bool(np.isfinite(x).all()):
        return _network_median(x, size)
    xp = np.empty(n + size - 1)  # edge-padded
    xp[:h], xp[h:h + n], xp[h + n:] = x[0], x, x[-1]
    long = n > PARTITION_MIN_POINTS and size <= LONG_PARTITION_MAX_SIZE
    if long or (size <= PARTITION_MAX_SIZE and size % 2 == 1 and bool(np.isfinite(x).all())):
        # window i is xp[i:i + size]: a view, rows overlapping (sliding_window_view's, without its cost per call)
        windows = np.ndarray((n, size), dtype=np.float64, buffer=xp, strides=(xp.itemsize, xp.itemsize))
        out = np.empty(n)
        block = max(1, BLOCK_CELLS // size)
        for i in range(0, n, block):
            rows = windows[i:i + block]
            out[i:i + block] = (np.sort(rows, axis=1) if size >= SORT_MIN_SIZE else np.partition(rows, h, axis=1))[:, h]
        return out
    import pandas as pd

    return pd.Series(xp).rolling(size).median().to_numpy()[size - 1:]


# A partial sort around one position is several times faster than around two or three on a long
# array (numpy's single-pivot selection), so long arrays select the middle alone and find the
# lower middle and any NaN by a max over each side; short ones select all in one call.
ONE_PIVOT_POINTS = 4096
# rows of five (1M points bucketed to the oscillation's 200,000): the median by the exchanges of
# N. Devillard's opt_med5 ("Fast median search", 1998), exact, twice as fast as sorting the rows
MED5 = 5
MED5_EXCHANGES = ((0, 1), (3, 4), (0, 3), (1, 4), (1, 2), (2, 3), (1, 2))
SORTED_ROWS = 64  # row medians of rows up to this many values sort the rows (SIMD sorts, 5x np.median); wider ones select


# A long series' rolling median over 2^m - 1 points (the spikes' 15) by min/max networks over
# whole arrays of window positions, NETWORK_BLOCK positions at a time (they stay in the CPU
# cache): every window of 2^m points sorted by merging the sorted halves that neighbouring
# windows share (Batcher's odd-even merge), then the middle two of each, of which one is the
# median of the window without its last point.  Exact, 1.6x faster than the partial sorts (1M points).
NETWORK_SIZES = (7, 15, 31)
NETWORK_BLOCK = 1 << 14


def _oddeven_merge(lo: int, hi: int, r: int):
    """Batcher's comparators merging the sorted halves of positions lo..hi (r: their stride)."""
    step = r * 2
    if step < hi - lo:
        yield from _oddeven_merge(lo, hi, step)
        yield from _oddeven_merge(lo + r, hi, step)
        yield from ((i, i + r) for i in range(lo + r, hi - r, step))
    else:
        yield (lo, lo + r)


def _network_median(x: np.ndarray, size: int) -> np.ndarray:
    """median_filter(x, size) of finite x for size = 2^m - 1 (see NETWORK_SIZES)."""
    n, h = x.size, size // 2
    half = (size + 1) // 2
    merges = {length: list(_oddeven_merge(0, 2 * length - 1, 1)) for length in (2 ** k for k in range(size.bit_length()))}
    # edge-padded as the windows are, and one point more: the last point of the last 2^m window
    xq = np.concatenate([np.full(h, x[0]), x, np.full(size - h, x[-1])])
    out = np.empty(n)
    for s in range(0, n, NETWORK_BLOCK):
        e = min(n, s + NETWORK_BLOCK)
        m = e - s
        runs = [xq[s:e + size]]  # runs[j][i]: the j-th smallest of the sorted run of `length` points from s + i
        length = 1
        while length < half:
            c = [r[:-length] for r in runs] + [r[length:] for r in runs]
            for p, q in merges[length]:
                c[p], c[q] = np.minimum(c[p], c[q]), np.maximum(c[p], c[q])
            runs, length = c, length * 2
        a, b = [r[:m] for r in runs], [r[half:half + m] for r in runs]
        # the half-th and (half+1)-th smallest of the 2^m points: the least over the ways to take
        # j of them from the first run and the rest from the second of the largest so taken
        lo = np.minimum(a[half - 1], b[half - 1])
        for j in range(1, half):
            lo = np.minimum(lo, np.maximum(a[j - 1], b[half - j - 1]))
        hi = np.maximum(a[half - 1], b[0])
        for j in range(1, half):
            hi = np.minimum(hi, np.maximum(a[j - 1], b[half - j]))
        # without the last point: the upper one when it was at or below the lower one, else the lower
        out[s:e] = np.where(xq[s + size:e + size] <= lo, hi, lo)
    return out


def median(x: np.ndarray) -> float:
    """np.median of a 1-D array, the same value (NaN when one is NaN, the mean of the two middle
    values of an even count) without its generic machinery: detectors take tens of thousands of
    medians of short slices, where that machinery is most of the cost."""
    return _median(np.asarray(x, dtype="float64"), own=False)


def median_gap(gaps: np.ndarray) -> float:
    """median(gaps) of step gaps, without a selection when every gap is the same (a log at a
    fixed interval, bucket centres: most runs; 1M steps, 2 ms saved)."""
    lo, hi = float(gaps.min()), float(gaps.max())
    return lo if lo == hi else median(gaps)


def _median(x: np.ndarray, own: bool) -> float:
    """median(x); `own`: x is a scratch array of the caller's, reordered in place (no copy)."""
    n = x.size
    if n == 0:
        return math.nan
    k = n // 2
    if n >= ONE_PIVOT_POINTS:
        if own:
            x.partition(k)
        part = x if own else np.partition(x, k)  # NaN sorts last: any NaN lies at k or above it
        if math.isnan(float(part[k:].max())):
            return math.nan
        return float(part[k]) if n % 2 else float((part[:k].max() + part[k]) / 2)
    kth = (k, n - 1) if n % 2 else (k - 1, k, n - 1)
    if own:
        x.partition(kth)
    part = x if own else np.partition(x, kth)
    if math.isnan(part[-1]):
        return math.nan
    return float(part[k]) if n % 2 else float((part[k - 1] + part[k]) / 2)


def row_medians(a: np.ndarray) -> np.ndarray:
    """np.median(a, axis=1) of a 2-D array, the same values, by sorting short rows or selecting
    the middle of long ones (np.median's selection around two positions is several times slower)."""
    w = a.shape[1]
    if w == 0 or a.shape[0] == 0 or not bool(np.isfinite(a).all()):
        return np.median(a, axis=1)
    k = w // 2
    if w == MED5:  # Devillard's seven min/max exchanges over whole columns (no per-row loop)
        c = [np.ascontiguousarray(a[:, j]) for j in range(w)]
        for i, j in MED5_EXCHANGES:
            c[i], c[j] = np.minimum(c[i], c[j]), np.maximum(c[i], c[j])
        return c[k]
    if w <= SORTED_ROWS:
        srt = np.sort(a, axis=1)
        return srt[:, k].copy() if w % 2 else (srt[:, k - 1] + srt[:, k]) / 2
    part = np.partition(a, k, axis=1)
    return part[:, k].copy() if w % 2 else (part[:, :k].max(axis=1) + part[:, k]) / 2


MAD_TO_SD = 1.4826  # the median absolute deviation times this is the standard deviation of normal noise


def mad(x: np.ndarray, scratch: bool = False) -> float:
    """The median absolute deviation times MAD_TO_SD; `scratch`: x is a float64 temporary of the
    caller's (a difference it will not read again), whose values are reordered in place, not copied."""
    if x.size == 0:
        return 0.0
    own = scratch and x.dtype == np.float64 and x.flags.writeable
    dev = np.subtract(x, _median(x, own=True) if own else median(x), dtype="float64")
    np.abs(dev, out=dev)  # a scratch array: its median is selected in place
    return float(MAD_TO_SD * _median(dev, own=True))


_MEMO: dict[tuple[str, tuple[int, ...]], tuple[tuple[np.ndarray, ...], Any]] = {}
MEMO_ENTRIES = 4 * CACHED_SERIES  # a few measures per curve of one run


def memo(tag: str, x: np.ndarray | tuple[np.ndarray, ...], compute: Callable[[], T]) -> T:
    """compute(), once per array (or arrays) and tag: what several detectors (or one detector's
    rules with other thresholds) measure alike on the same curve.  Keyed by the arrays'
    identities, which the memo holds (as the finite and bucket caches do), for one run's curves."""
    arrays = x if isinstance(x, tuple) else (x,)
    key = (tag, tuple(id(a) for a in arrays))
    hit = _MEMO.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], arrays)):
        return hit[1]
    out = compute()
    if len(_MEMO) > MEMO_ENTRIES:
        _MEMO.clear()
    _MEMO[key] = (arrays, out)
    return out


def step_ratios(v: np.ndarray) -> np.ndarray:
    """v[:-1] / v[1:], read-only, once per array (the learning-rate detectors all look for its drops)."""
    def compute() -> np.ndarray:
        out = v[:-1] / v[1:]
        out.flags.writeable = False
        return out
    return memo("step_ratios", v, compute)


def noise(x: np.ndarray) -> float:
    """Step-to-step noise: robust spread of first differences / sqrt(2) (once per read-only
    curve: a transformed or bucketed one, which several detectors ask about)."""
    if x.size < MIN_WINDOW:
        return 0.0
    if x.flags.writeable:
        return mad(np.diff(x), scratch=True) / math.sqrt(2.0)
    return memo("noise", x, lambda: mad(np.diff(x), scratch=True) / math.sqrt(2.0))


_SMOOTH_CACHE: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def smooth(x: np.ndarray, frac: float = SMOOTH_BATCH, min_window: int = MIN_WINDOW) -> np.ndarray:
    """Rolling median with a window of `frac` of the length (odd, at least min_window).  A
    read-only curve (a bucketed or transformed one, which many detectors smooth alike) is
    smoothed once per window; the result is read-only then."""
    if x.size < MIN_WINDOW:
        return x.copy()
    w = max(min_window, int(x.size * frac))
    w = min(w, x.size)
    if w % 2 == 0:
        w -= 1
    if w < MIN_WINDOW:
        return x.copy()
    if x.flags.writeable or x.size > MAX_POINTS:
        return median_filter(x, size=w, mode="nearest")
    key = (id(x), w)
    hit = _SMOOTH_CACHE.get(key)
    if hit is not None and hit[0] is x:
        return hit[1]
    out = median_filter(x, size=w, mode="nearest")
    out.flags.writeable = False
    if len(_SMOOTH_CACHE) > CACHED_SERIES:
        _SMOOTH_CACHE.clear()
    _SMOOTH_CACHE[key] = (x, out)
    return out


def coarse_trend(x: np.ndarray, window: int) -> np.ndarray:
    """A rolling-median-like trend in O(n): medians of consecutive blocks of `window` points,
    linearly interpolated back to every point (for long series where a true rolling median with
    a wide window would cost n x window)."""
    n = x.size
    window = max(1, int(window))
    if window <= 1 or n < 2 * window or n <= EXACT_TREND_POINTS:
        return median_filter(x, size=max(1, window | 1), mode="nearest")
    m = n // window * window
    meds = row_medians(x[:m].reshape(-1, window))
    centers = np.arange(meds.size) * window + (window - 1) / 2.0
    if m < n:
        meds = np.r_[meds, median(x[m:])]
        centers = np.r_[centers, (m + n - 1) / 2.0]
    return np.interp(np.arange(n, dtype=float), centers, meds)


def level(x: np.ndarray, a: float, b: float) -> float:
    """Median of the part of x between fractions a and b of its length."""
    n = x.size
    i, j = int(n * a), max(int(n * a) + 1, int(math.ceil(n * b)))
    return median(x[i:j])


def start_level(x: np.ndarray) -> float:
    """A curve's start level: the median of its first few points (up to 3, a tenth of a short curve)."""
    return median(head(x, START_SHARE_FEW, 1, START_POINTS))
