"""How evidence sentences print numbers and steps."""

from __future__ import annotations

import math

import numpy as np

SCI_ABOVE, SCI_BELOW = 1e5, 1e-3  # evidence numbers outside these print as 1.23e+05 (3 significant digits either way)


def fmt(x: float) -> str:
    """Numbers in evidence sentences: 3 significant digits."""
    if x is None or not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= SCI_ABOVE or abs(x) < SCI_BELOW):
        return f"{x:.2e}"
    return f"{x:.3g}"


def logged_index(steps: np.ndarray, x: float) -> int:
    """Index of the logged step nearest to x (steps ascending): a quoted step is one the log has."""
    i = int(np.searchsorted(steps, x))
    if i <= 0:
        return 0
    if i >= steps.size:
        return int(steps.size - 1)
    return i if steps[i] - x < x - steps[i - 1] else i - 1


def times_lower(ratio: float) -> str:
    """'1.83x lower'; a ratio that prints as 1 is 'no lower' (never 'fell 1x')."""
    return f"{fmt(ratio)}x lower" if fmt(ratio) not in ("1", "1.0") and ratio > 1 else "no lower"


def step_str(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
