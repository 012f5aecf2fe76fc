"""Detectors on the sample quality of generative runs (GAN, diffusion).

A GAN's own losses hover around an equilibrium by design (no_learning cannot judge them), so
whether its generator learns is read off the distance between its samples and real data that
such runs evaluate: FID, KID, a sliced Wasserstein distance.  A distance that ends where it
started, relative to its own start, says the generator did not learn; one that repeats exactly
at every evaluation says it is not even computed from a changing generator.
"""

from __future__ import annotations

import numpy as np

from ..kinds import RunContext
from ..model import Evidence, Series
from .base import CONF_RULE, END_SPARSE, START, TINY, cannot, detector, finite, fire, fmt, level, quiet

GENERATIVE_KINDS = frozenset({"gan", "diffusion"})
# a start, a middle and an end: fewer evaluations of a noisy distance say nothing of its trend
MIN_QUALITY_EVALS = 3

MEASURES_QUALITY_FLAT = {
    "start": "the distance at the start (median of the first fifth of the evaluations)",
    "end": "the distance at the end (median of the last fifth)",
    "gain": "share of the start distance gone by the end (0.5: halved; negative: worse)",
    "frozen": "whether the distance is exactly the same at every evaluation",
    "evals": "evaluations",
}


@detector("quality_flat", ("series",), "no_learning", measures=MEASURES_QUALITY_FLAT)
def quality_flat(series: Series, *, min_gain: float, ctx: RunContext | None = None) -> Evidence:
    """A generative run's sample-quality distance (lower is better) ends less than `min_gain`
    of its start below it: the generator did not get closer to the data."""
    name = "quality_flat"
    if ctx is None or ctx.kind not in GENERATIVE_KINDS:
        return cannot(name, series.metric, f"not a generative run ({ctx.kind if ctx else 'unknown'}): a distance to the data is not its quality")
    st, v = finite(series)
    if v.size < MIN_QUALITY_EVALS:
        return cannot(name, series.metric, f"{series.metric}: {v.size} evaluation(s), {MIN_QUALITY_EVALS} needed")
    a, b = level(v, *START), level(v, *END_SPARSE)
    gain = (a - b) / max(abs(a), TINY)
    frozen = bool(np.all(v == v[0]))
    measures = dict(start=a, end=b, gain=gain, frozen=frozen, evals=int(v.size))
    if gain < min_gain:
        how = (f"{series.metric} is exactly {fmt(a)} at all {v.size} evaluations" if frozen else
               f"{series.metric} went from {fmt(a)} to {fmt(b)} ({-gain:+.0%}) over {v.size} evaluations")
        return fire(name, series.metric, CONF_RULE, how + ": the samples got no closer to the data", st[0], st[-1], **measures)
    return quiet(name, series.metric, **measures)
