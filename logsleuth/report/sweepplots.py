"""One overview figure per varying hyperparameter of a sweep: each run's final metric (or, when
the runs share none, its outcome) against the setting's value, coloured by health.

The figure answers the question a sweep's table cannot at a glance: where along the setting
the runs go wrong, and how far the good ones got.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..model import OUTCOMES_WORST_FIRST, Diagnosis, PlotCurves
from ..sweep import Overview, Sweep, outcome, run_params
from .style import DPI, FONT_PT, HEALTH_COLOR, WIDTH_IN, number_label

HEALTH_ORDER = OUTCOMES_WORST_FIRST[::-1]  # bottom to top of the outcome axis
# the curve whose last value stands for a run's result, first that most runs of the sweep have
FINAL_ROLES = ("val_loss", "val_accuracy", "val_score", "train_loss")
# a curve stands for the sweep when at least this share of its readable runs logged it
MIN_FINAL_SHARE = 2 / 3
# a numeric setting spanning this factor or more (learning rates, weight decays) goes on a log axis
LOG_SPAN = 20.0
# horizontal spread of repeats at one value, as a share of the gap between neighbouring values
JITTER = 0.15


def figure_key(sweep: Sweep, setting: str) -> str:
    """The key of a sweep figure among the report's images (never a run name: it has NULs)."""
    return f"\0sweep\0{sweep.directory}\0{setting}"


def final_value(curves: PlotCurves, role: str) -> float | None:
    """The last finite value of one of the run's plotted curves."""
    if role not in curves:
        return None
    v = np.asarray(curves[role][2], dtype=float)
    v = v[np.isfinite(v)]
    return float(v[-1]) if v.size else None


def final_role(runs: list[Diagnosis], curves: Mapping[str, PlotCurves]) -> str | None:
    ok = [d for d in runs if d.status == "ok"]
    for role in FINAL_ROLES:
        if ok and sum(final_value(curves.get(d.run, {}), role) is not None for d in ok) >= MIN_FINAL_SHARE * len(ok):
            return role
    return None


def _positions(values: list[Any]) -> tuple[np.ndarray, list[str] | None, bool]:
    """x positions, tick labels for a categorical setting (else None), and whether x is log."""
    if all(isinstance(v, float) for v in values):
        arr = np.asarray(values, dtype=float)
        log = bool(np.all(arr > 0) and arr.max() / arr.min() >= LOG_SPAN)
        return arr, None, log
    cats = sorted({str(v) for v in values})
    return np.asarray([cats.index(str(v)) for v in values], dtype=float), cats, False


def _jitter(x: np.ndarray, log: bool) -> np.ndarray:
    """Repeats at one value side by side instead of on top of each other (deterministic)."""
    base = np.log10(x) if log else x
    distinct = np.unique(base)
    gap = float(np.min(np.diff(distinct))) if distinct.size > 1 else 1.0
    out = base.copy()
    for v in distinct:
        idx = np.flatnonzero(base == v)
        if idx.size > 1:
            out[idx] = v + np.linspace(-JITTER, JITTER, idx.size) * gap
    return 10 ** out if log else out


SweepPoints = tuple[list[tuple[Diagnosis, Any]], str | None, np.ndarray, list[str] | None, bool, np.ndarray, str, str]


def sweep_points(setting: str, runs: list[Diagnosis], curves: Mapping[str, PlotCurves]) -> SweepPoints | None:
    """What a sweep's figure of one setting plots, for the PNG and the SVG drawing alike: the runs
    that have a value for it (with the value), the role of the metric most of them log (None:
    their outcome is plotted), their x positions (categories, log axis), and their last value of
    that metric (else their outcome) with its name and the axis label; None when no run has a value for the setting."""
    have = [(d, run_params(d).get(setting)) for d in runs]
    have = [(d, v) for d, v in have if v is not None]
    if not have:
        return None
    role = final_role([d for d, _ in have], curves)
    x, cats, log = _positions([v for _, v in have])
    if role is not None:
        got = [curves.get(d.run, {}) if d.status == "ok" else {} for d, _ in have]
        y = np.asarray([np.nan if (f := final_value(c, role)) is None else f for c in got], dtype=float)
        name = next(c[role][0] for c in got if role in c)
        ylabel = f"last {name}"
    else:
        y = np.asarray([HEALTH_ORDER.index(outcome(d)) for d, _ in have], dtype=float)
        name = ylabel = "outcome"
    return have, role, x, cats, log, y, name, ylabel


def sweep_png(sweep: Sweep, setting: str, runs: list[Diagnosis], curves: Mapping[str, PlotCurves]) -> bytes | None:
    """The figure of one setting, or None when no run has a value for it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullLocator

    pts = sweep_points(setting, runs, curves)
    if pts is None:
        return None
    have, role, x, cats, log, y, name, ylabel = pts
    fig = Figure(figsize=(WIDTH_IN, 3.4), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    xs = _jitter(x, log)
    health = [outcome(d) for d, _ in have]
    for h in HEALTH_ORDER:
        idx = [i for i, hh in enumerate(health) if hh == h and math.isfinite(y[i])]
        if idx:
            ax.scatter(xs[idx], y[idx], s=36, color=HEALTH_COLOR[h], label=f"{h} ({len(idx)})", edgecolors="white",
                       linewidths=0.5, zorder=3)
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
    if cats is not None:
        ax.set_xticks(range(len(cats)), [c if len(c) <= 12 else c[:11] + "\u2026" for c in cats])
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(number_label))
    if role is None:
        used = sorted({int(v) for v in y})
        ax.set_yticks(used, [HEALTH_ORDER[i] for i in used])
        ax.set_ylim(min(used) - 0.5, max(used) + 0.5)
    else:
        finite = y[np.isfinite(y)]
        if finite.size and np.all(finite > 0) and finite.max() / finite.min() >= LOG_SPAN:
            ax.set_yscale("log")
            ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(number_label))
    missing = int(np.sum(~np.isfinite(y)))
    ax.set_xlabel(setting + (f"  ({missing} run{'s' if missing > 1 else ''} without {name} not shown)"
                             if missing else ""), fontsize=FONT_PT)
    ax.set_ylabel(ylabel, fontsize=FONT_PT)
    ax.tick_params(labelsize=FONT_PT)
    ax.grid(alpha=0.3, zorder=0)
    ax.legend(fontsize=FONT_PT - 1, frameon=False, loc="best")
    fig.subplots_adjust(left=0.17, right=0.97, top=0.95, bottom=0.2)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def sweep_figures(o: Overview, diags: list[Diagnosis], curves: Mapping[str, PlotCurves],
                  draw: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Every sweep's figures, keyed by `figure_key`: PNG bytes, or what `draw(sweep, setting,
    runs, curves)` returns (report.svg draws SVG text)."""
    draw = draw or sweep_png
    by_run = {d.run: d for d in diags}
    out = {}
    for s in o.sweeps:
        runs = [by_run[r] for r in s.runs if r in by_run]
        for k in s.varying:
            fig = draw(s, k, runs, curves)
            if fig:
                out[figure_key(s, k)] = fig
    return out
