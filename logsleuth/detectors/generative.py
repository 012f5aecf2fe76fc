"""Detectors on the sample quality of generative runs (GAN, diffusion).

A GAN's own losses hover around an equilibrium by design (no_learning cannot judge them), so
whether its generator learns is read off the distance between its samples and real data that
such runs evaluate: FID, KID, a sliced Wasserstein distance.  A distance that ends where it
started, relative to its own start, says the generator did not learn; one that repeats exactly
at every evaluation says it is not even computed from a changing generator.
"""

from __future__ import annotations

import re

import numpy as np

from ..kinds import RunContext
from ..model import Evidence, Series
from .base import CONF_RULE, END, END_SPARSE, MIN_CURVE, START, TINY, cannot, detector, finite, fire, fmt, level, quiet, start_level

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


# the discriminator's (or critic's) loss among a GAN's losses, by the names loggers give it
# (loss_D, d_loss, errD, disc_loss, critic_loss, Loss/discriminator)
DISCRIMINATOR_NAME = re.compile(r"(^|[^a-z])(d|disc|discriminator|critic|err_?d)([^a-z]|$)|(^|_)loss_?d($|_)|(^|_)d_?loss", re.I)
# a collapse needs the loss to have stood well above its end first: a discriminator that starts
# near zero is not one that won
COLLAPSE_FROM = 5.0
# a generator loss of its own beside the adversarial one (pix2pix's L1, a perceptual, content or
# cycle-consistency term): the generator learns from it whatever the discriminator does
RECONSTRUCTION_NAME = re.compile(r"l1|l2|recon|perceptual|content|cycle|idt|identity|vgg|feat|mse|pixel", re.I)

MEASURES_DISCRIMINATOR_WINS = {
    "end": "the discriminator's loss at the end (median of the last fifth)",
    "start": "its level at the start (median of its first few points)",
    "metric": "the series read as the discriminator's loss",
}


@detector("discriminator_wins", ("group*",), "discriminator_wins", measures=MEASURES_DISCRIMINATOR_WINS)
def discriminator_wins(group: list[Series], *, max_end: float, ctx: RunContext | None = None) -> Evidence:
    """A GAN's discriminator loss (a BCE or least-squares loss, never negative) falls to `max_end`
    or below and stays there: it tells real from generated samples on nearly every example, so
    the generator's gradient vanishes (Arjovsky & Bottou 2017).  A critic whose loss takes negative
    values (WGAN) has no such floor: it cannot judge."""
    name = "discriminator_wins"
    if ctx is None or ctx.kind != "gan":
        return cannot(name, group[0].metric if group else "", "not a GAN")
    disc = [s for s in group if DISCRIMINATOR_NAME.search(s.metric.replace("/", "_"))]
    if not disc:
        return cannot(name, group[0].metric if group else "", "no loss named as the discriminator's")
    recon = [s.metric for s in group if s not in disc and RECONSTRUCTION_NAME.search(s.metric)]
    if recon:
        return cannot(name, recon[0], f"{recon[0]}: a reconstruction term trains the generator whatever the "
                      "discriminator does (a conditional GAN's discriminator often wins)")
    s = disc[0]
    st, v = finite(s)
    if v.size < MIN_CURVE:
        return cannot(name, s.metric, f"{s.metric}: fewer than {MIN_CURVE} points")
    if np.any(v < 0):
        return cannot(name, s.metric, f"{s.metric} takes negative values (a Wasserstein critic): no floor at 0")
    a, b = start_level(v), level(v, *END)  # its first logged values: a discriminator can win within the first epoch
    measures = dict(end=b, start=a, metric=s.metric)
    if b <= max_end < a and a >= COLLAPSE_FROM * b:
        return fire(name, s.metric, CONF_RULE, f"{s.metric} fell from {fmt(a)} to {fmt(b)}: the discriminator tells "
                    "real from generated samples almost every time", st[0], st[-1], **measures)
    return quiet(name, s.metric, **measures)
