"""Detectors on RL returns (the `reward` role: episode rewards, evaluation returns).

A return is maximised and noisy by nature: its loss curves (policy, value) move with the data the
policy collects and say little (no_learning cannot judge RL runs), so whether an agent learns is
read off the return itself: how far its best (smoothed) level rose above where it started, and how
much of that rise it kept at the end.  Both are shares of the return's own scale, |start| + |best|,
so that a return in the hundreds and one in [-1, 1] are judged alike, and a return stuck at 0
counts as flat.
"""

from __future__ import annotations

import numpy as np

from ..kinds import RunContext
from ..model import Evidence, Series
from .base import (
    BAND_SPREADS,
    CONF_RULE,
    END_SPARSE,
    START,
    TINY,
    cannot,
    covers_start,
    detector,
    finite,
    fire,
    fmt,
    level,
    median_filter,
    noise,
    quiet,
    step_str,
)

MIN_RETURN_POINTS = 8  # a start, a best and an end of a few episodes or evaluations each
RETURN_SMOOTH = 3  # the best is a running median of 3: one lucky episode is not a level the agent reached
# a return is first logged when the first episodes (or the first rollout) end, so its log starts
# later than a loss's: within the first 15% of the run it still shows the initial policy
RETURN_FIRST_SHARE = 0.15

MEASURES_RETURNS = {
    "start": "median return over the first fifth",
    "best": "best running median (3 points)",
    "end": "median return over the last fifth",
    "rise": "best minus start, as a share of |start| + |best|",
    "kept": "share of that rise the end level keeps",
    "over_noise": "best minus start over the return's episode-to-episode noise",
}


def _levels(series: Series, name: str) -> tuple[tuple[np.ndarray, tuple[float, ...]] | None, Evidence | None]:
    """(steps, (start, best, end, rise, kept, over_noise)), or the evidence that it cannot judge."""
    st, v = finite(series)
    if v.size < MIN_RETURN_POINTS:
        return None, cannot(name, series.metric, f"{series.metric}: fewer than {MIN_RETURN_POINTS} finite points")
    if not (covers_start(st) or st[0] <= RETURN_FIRST_SHARE * st[-1]):
        return None, cannot(name, series.metric, f"{series.metric} is logged from step {step_str(st[0])}, not from the start")
    a, b = level(v, *START), level(v, *END_SPARSE)
    best = float(np.max(median_filter(v, RETURN_SMOOTH)))
    rise = (best - a) / max(abs(a) + abs(best), TINY)
    kept = (b - a) / (best - a) if best - a > TINY else 0.0
    # near a return of 0 the share of |start| + |best| says nothing: the rise must clear the noise too
    over_noise = (best - a) / max(noise(v), TINY)
    return (st, (a, best, b, rise, kept, over_noise)), None


@detector("return_flat", ("series",), "no_learning", measures=MEASURES_RETURNS)
def return_flat(series: Series, *, min_rise: float, min_over_noise: float, ctx: RunContext | None = None) -> Evidence:
    """The return never rose: its best running median lies less than `min_rise` (a share of
    |start| + |best|) or less than `min_over_noise` noise spreads above its start.  An agent that learns
    anything raises its return."""
    name = "return_flat"
    got, bad = _levels(series, name)
    if bad is not None or got is None:
        return bad  # type: ignore[return-value]
    st, vals = got
    a, best, b, rise, kept, over = vals
    m = dict(start=a, best=best, end=b, rise=rise, kept=kept, over_noise=over)
    if m["rise"] < min_rise or m["over_noise"] < min_over_noise:
        txt = (f"{series.metric} never rose above its start: {fmt(m['start'])} over the first fifth, best {fmt(m['best'])} "
               f"({m['rise']:.0%} of its scale), {fmt(m['end'])} at the end")
        return fire(name, series.metric, CONF_RULE, txt, st[0], st[-1], **m)
    return quiet(name, series.metric, **m)


@detector("return_collapse", ("series",), "divergence", measures=MEASURES_RETURNS)
def return_collapse(series: Series, *, min_rise: float, max_kept: float, ctx: RunContext | None = None) -> Evidence:
    """The return rose (by at least `min_rise` of its scale, to a best after its first fifth), then
    fell back: the end level keeps at most `max_kept` of the rise.  A policy that learned and then lost it took steps too large
    for what it had learned (the collapse of policy-gradient methods)."""
    name = "return_collapse"
    got, bad = _levels(series, name)
    if bad is not None or got is None:
        return bad  # type: ignore[return-value]
    st, vals = got
    a, best, b, rise, kept, over = vals
    m = dict(start=a, best=best, end=b, rise=rise, kept=kept, over_noise=over)
    i_best = int(np.argmax(median_filter(finite(series)[1], RETURN_SMOOTH)))
    # the peak must come after the start it is measured from: a best among the first episodes is their noise
    rose_later = i_best >= START[1] * st.size
    if rose_later and m["rise"] >= min_rise and m["over_noise"] >= BAND_SPREADS and m["kept"] <= max_kept:
        txt = (f"{series.metric} rose from {fmt(m['start'])} to {fmt(m['best'])} by step {step_str(st[i_best])}, then fell "
               f"back to {fmt(m['end'])}: {max(m['kept'], 0.0):.0%} of the rise kept")
        return fire(name, series.metric, CONF_RULE, txt, st[i_best], st[-1], **m)
    return quiet(name, series.metric, **m)
