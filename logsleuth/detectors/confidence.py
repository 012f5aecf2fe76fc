"""How sure a fired detector is: the confidence floors and the one margin -> confidence map."""

from __future__ import annotations

# How sure a fired detector is.  Evidence with a margin (how far past its threshold) starts at
# the detector's floor when it just crosses and rises linearly with each margin to 1 (see
# `confidence`); the floor says how often healthy runs reach the threshold at all.
AT_THRESHOLD_COMMON = 0.5  # shapes healthy runs also show near the threshold: gaps, plateaus, noise, spikes, slow falls
AT_THRESHOLD_PAST_NOISE = 0.55  # a validation rise already required to clear its own noise (overfitting)
AT_THRESHOLD_RARE = 0.6  # changes healthy runs rarely show: divergence, growth by orders of magnitude, an early climb
AT_THRESHOLD_EXTREME = 0.7  # a layer ratio already three orders of magnitude off (vanishing gradients)
# Evidence without a margin: a fact or a fixed line crossed.
CONF_FACT = 1.0  # read off the log, not estimated: a NaN, a loss equal to ln C with accuracy at 1/C
CONF_EXACT = 0.95  # an exact value over many points (exactly zero, exactly constant): a logging artefact is the other reading
CONF_DIRECT = 0.9  # a direct reading with one plausible other reading (a non-finite norm, a learning rate never changed)
CONF_RULE = 0.8  # a level or a rule of thumb crossed, with no margin measured
CONF_SETTING = 0.7  # a setting's value (the peak learning rate) that the rule judges


def confidence(floor: float, *margins: float) -> float:
    """The one margin -> confidence map: `floor` at the threshold, rising linearly with the mean
    of the margins (each in [0, 1], usually a `ramp`) to 1."""
    m = sum(min(1.0, max(0.0, x)) for x in margins) / len(margins) if margins else 0.0
    return floor + (1.0 - floor) * m


def ramp(x: float, lo: float, hi: float) -> float:
    """0 at lo, 1 at hi, linear between (a confidence from a margin)."""
    if hi == lo:
        return 1.0 if x >= hi else 0.0
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))
