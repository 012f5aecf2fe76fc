"""Numbers as every report and message writes them: one function per convention.

    step_text(2980.0) == "2980"; step_text(12.5) == "12.5"; step_text(None) == "-"
    as_fraction([12.0, 87.5]) -> array([0.12, 0.875])   (a 0-100 accuracy read as 0-1)
"""

from __future__ import annotations

from typing import Any

# a bounded metric (accuracy, score) whose largest value is above this is logged in percent
PERCENT = 100.0


def step_text(x: float | None) -> str:
    """A step as the run logged it: whole steps without a decimal point or an exponent (2980,
    not 2.98e+03), fractional ones (epochs as steps) with their fraction; None is '-'."""
    if x is None:
        return "-"
    f = float(x)
    if f.is_integer():
        return str(int(f))
    if abs(f) >= 1e5:
        return f"{f:.0f}"
    return f"{f:.6g}"


def percent_scale(values: Any) -> float:
    """100 when a bounded metric's values are in percent (its largest finite value is above 1),
    else 1: divide by it to read the values as fractions."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return PERCENT if v.size and float(np.max(v)) > 1.0 else 1.0


def as_fraction(values: Any) -> Any:
    """A bounded metric's values as fractions in [0, 1]: values in percent are divided by 100."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    return v / percent_scale(v)
