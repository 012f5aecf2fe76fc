"""What every plot shares: sizes, colours, tick labels and when there is nothing to draw (the run plots of plots.py, the sweep
figures of sweepplots.py and the compare figures draw with them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HEALTH_COLOR = {"critical": "#d62728", "warning": "#ff7f0e", "unknown": "#7f7f7f", "healthy": "#2ca02c",
                "unreadable": "#9467bd"}
SEVERITY_COLOR = {"critical": HEALTH_COLOR["critical"], "warning": HEALTH_COLOR["warning"],
                  "info": HEALTH_COLOR["unknown"]}
# One image for every screen: 480 px wide (6 in at 80 dpi) is shown at its own size on a desktop
# and scaled to ~374 px on a 390 px phone (0.78x).  Text of 12 pt is 13.3 px in the image, so at
# least 10 px on the phone, the smallest size people read without zooming.
WIDTH_IN, DPI, FONT_PT = 6.0, 80, 12
MINUS = "\u2212"  # the typographic minus: a hyphen is easy to miss, and is lost by some fonts


def number_label(x: float, _pos: object = None) -> str:
    """A y tick label: three significant digits, scientific notation for tiny and huge values,
    the minus sign kept (no offset text above the axis that a title can cover)."""
    if x == 0:
        return "0"
    # scientific below 0.001 and from 100,000: 1.25e-4 is narrower than 0.000125
    text = f"{x:.3g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.2e}"
    if "e" in text:
        mant, exp = text.split("e")
        mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
        text = f"{mant}e{int(exp)}"
    return text.replace("-", MINUS)


def step_label(x: float, _pos: object = None) -> str:
    """An x tick label: whole steps, with k/M for long runs (49,982 reads 50k)."""
    a = abs(x)
    if a >= 1e6:
        text = f"{x / 1e6:.3g}M"
    elif a >= 1e4:
        text = f"{x / 1e3:.3g}k"
    else:
        text = f"{x:.4g}"
    return text.replace("-", MINUS)


# what a run without a plot shows in its place (its curves have a single point each)
NO_PLOT = "No plot: no curve has two or more points to draw."


def plottable(curves: Mapping[str, Any]) -> bool:
    """Whether a run has a curve to draw: one with two or more points (a single point is a dot
    on an empty axis; the report says so in words instead)."""
    return any(len(st) >= 2 for _, st, _ in curves.values())
