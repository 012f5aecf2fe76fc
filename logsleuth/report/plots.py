"""Matplotlib plots of a run's curves with every detected symptom's step range shaded and
labelled; log scale where the range calls for it; LR on a secondary axis when it changes.

Figures are drawn with the object-oriented API (no pyplot state), without tight_layout (a
second full draw) and without log minor ticks, and many runs are drawn in a process pool:
matplotlib costs about 0.1 s a figure, which dominates reports of hundreds of runs.
"""

from __future__ import annotations

import io
import os
import re
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ..model import Analysis, Diagnosis, Outcome, PlotCurves
from .style import DPI, FONT_PT, HEALTH_COLOR, NO_PLOT, SEVERITY_COLOR, WIDTH_IN, number_label, plottable, step_label

__all__ = ["DPI", "FONT_PT", "HEALTH_COLOR", "NO_PLOT", "WIDTH_IN", "number_label", "plottable", "png_bytes", "render_all", "step_label",
           "write_plot_files"]

POOL_MIN_RUNS = 24
# a symptom spanning this share of the plotted steps is named above the plot, not shaded
WHOLE_RUN = 0.8
# symptom names stacked at the top of the loss panel; more would cover the curves (the report lists all)
LABEL_ROWS = 3


def _log_ok(v: np.ndarray) -> bool:
    f = v[np.isfinite(v)]
    return f.size > 1 and bool(np.all(f > 0)) and float(np.max(f) / np.min(f)) > 100


def _varies(v: np.ndarray) -> bool:
    f = v[np.isfinite(v)]
    return f.size > 1 and float(np.max(f)) != float(np.min(f))


class _Template:
    """One figure per layout, kept per process: axes and their tick artists are built once
    (the costly part of a matplotlib figure) and each run only swaps data in."""

    def __init__(self, has_acc: bool, width: float = WIDTH_IN) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter

        self.fig = Figure(figsize=(width, 5.6 if has_acc else 3.8), dpi=DPI)
        FigureCanvasAgg(self.fig)
        axes = self.fig.subplots(2 if has_acc else 1, 1, sharex=True, squeeze=False,
                                 gridspec_kw={"height_ratios": [2, 1] if has_acc else [1]})
        self.ax = axes[0][0]
        self.acc_ax = axes[1][0] if has_acc else None
        self.lr_ax = self.ax.twinx()
        self.ax.set_ylabel("loss", fontsize=FONT_PT)
        self.lines = {
            "train_loss": self.ax.plot([], [], lw=0.7, color="#1f77b4")[0],
            "val_loss": self.ax.plot([], [], lw=1.4, color="#d62728", marker=".", ms=3)[0],
            "lr": self.lr_ax.plot([], [], color="#2ca02c", lw=0.8, alpha=0.6)[0],
        }
        if self.acc_ax is not None:
            self.acc_ax.set_ylabel("accuracy / score", fontsize=FONT_PT)
            self.lines.update({
                "train_accuracy": self.acc_ax.plot([], [], lw=0.8, color="#1f77b4")[0],
                "val_accuracy": self.acc_ax.plot([], [], lw=1.2, marker=".", ms=3, color="#d62728")[0],
                "val_score": self.acc_ax.plot([], [], lw=1.2, ls="--", color="#9467bd")[0],
            })
        (self.acc_ax or self.ax).set_xlabel("step", fontsize=FONT_PT)
        for axx in (self.ax, self.lr_ax, self.acc_ax):
            if axx is not None:
                axx.tick_params(labelsize=FONT_PT)
                axx.xaxis.set_major_formatter(FuncFormatter(step_label))
        self.title = self.fig.suptitle("", fontsize=FONT_PT)
        self.extra: list = []

    def draw(self, d: Diagnosis, c: PlotCurves) -> bytes:
        from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

        for a in self.extra:
            a.remove()
        self.extra = []
        shown = []
        acc_scale = _accuracy_scales(c)
        for role, line in self.lines.items():
            if role in c:
                name, st, v = c[role]
                v = v / acc_scale.get(role, 1.0)
                line.set_data(st, np.where(np.isfinite(v), v, np.nan))
                line.set_label(name)
                line.set_visible(True)
                shown.append(role)
            else:
                line.set_data([], [])
                line.set_visible(False)
        ys = [c[r][2] for r in ("train_loss", "val_loss") if r in c]
        self.ax.set_yscale("log" if ys and _log_ok(np.concatenate(ys)) else "linear")
        self.ax.yaxis.set_minor_locator(NullLocator())
        self.ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))  # steps are whole: no 2.5 tick
        self.ax.set_ylabel("loss" if "train_loss" not in c or c["train_loss"][0].lower().endswith("loss")
                           else _short(c["train_loss"][0], 24), fontsize=FONT_PT)
        lr_note = ""
        lr_twin = "lr" in c and _varies(c["lr"][2])
        self.lr_ax.set_visible(lr_twin)
        if lr_twin:
            self.lr_ax.set_yscale("log" if _log_ok(c["lr"][2]) else "linear")
            self.lr_ax.yaxis.set_minor_locator(NullLocator())
            self.lr_ax.set_ylabel(_short(c["lr"][0], 20), color="#2ca02c", fontsize=FONT_PT)
        elif "lr" in c:
            fin = c["lr"][2][np.isfinite(c["lr"][2])]
            lr_note = f"{_short(c['lr'][0], 16)} constant {number_label(fin[0])}" if fin.size else ""
        for role in ("train_loss", "val_loss"):
            if role in c:
                st, v = c[role][1], c[role][2]
                bad = ~np.isfinite(v)
                if bad.any():
                    self.extra.append(self.ax.axvline(st[np.argmax(bad)], color="#9467bd", ls=":", lw=1))
        axes = [self.ax] + ([self.acc_ax] if self.acc_ax is not None else [])
        lo, hi = _x_range(c)
        whole_run = []
        row = 0
        for f in d.symptoms:
            if f.start_step is None or f.end_step is None:
                continue
            a, b = f.start_step, max(f.end_step, f.start_step)
            if lo is not None and hi is not None and hi > lo and (b - a) >= WHOLE_RUN * (hi - lo):
                whole_run.append(f.symptom)  # shading the whole plot hides more than it shows
                continue
            col = SEVERITY_COLOR.get(f.severity, "#7f7f7f")
            for axx in axes:
                self.extra.append(axx.axvspan(a, b if b > a else a + 1e-9, color=col,
                                              alpha=0.08 if f.severity == "info" else 0.15, lw=0))
            if row < LABEL_ROWS:
                self.extra.append(self.ax.annotate(f.symptom, xy=(a, 1.0), xycoords=("data", "axes fraction"),
                                                   xytext=(2, -FONT_PT - 1.2 * FONT_PT * row),
                                                   textcoords="offset points", fontsize=FONT_PT, color=col))
            row += 1
        if whole_run:
            self.extra.append(self.ax.text(0.0, 1.02, _whole_run_label(list(dict.fromkeys(whole_run))),
                                           transform=self.ax.transAxes, fontsize=FONT_PT, color="#555555"))
        for axx in axes + ([self.lr_ax] if lr_twin else []):
            axx.relim(visible_only=True)
            axx.autoscale_view()
            if axx.get_yscale() == "linear":
                axx.yaxis.set_major_formatter(FuncFormatter(number_label))
        if lo is not None:
            self.ax.set_xlim(lo, hi)
        handles = [self.lines[r] for r in ("train_loss", "val_loss") if r in shown]
        # "best": the corner with the fewest points of the curves under it, not always over them
        self.extra.append(self.ax.legend(handles=handles, loc="best", fontsize=FONT_PT, title=lr_note or None,
                                         title_fontsize=FONT_PT))
        if self.acc_ax is not None:
            h = [self.lines[r] for r in ("train_accuracy", "val_accuracy", "val_score") if r in shown]
            if h:
                self.extra.append(self.acc_ax.legend(handles=h, loc="best", fontsize=FONT_PT))
        self.title.set_text(d.run if len(d.run) <= 55 else "..." + d.run[-52:])
        self.fig.subplots_adjust(left=0.18, right=0.80 if lr_twin else 0.97, top=0.86,
                                 bottom=0.11 if self.acc_ax is not None else 0.16, hspace=0.1)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", pil_kwargs={"compress_level": 2})
        return buf.getvalue()


# characters of the "whole run:" line above the loss panel that fit the figure's width at FONT_PT
WHOLE_RUN_CHARS = 46


def _whole_run_label(names: list[str]) -> str:
    text = "whole run: "
    for i, n in enumerate(names):
        more = f" +{len(names) - i} more"
        piece = n if i == 0 else ", " + n
        if len(text + piece) + (len(more) if i < len(names) - 1 else 0) > WHOLE_RUN_CHARS and i > 0:
            return text + more
        text += piece
    return text


def _short(name: str, n: int) -> str:
    return name if len(name) <= n else "..." + name[-(n - 3):]


def _x_range(c) -> tuple[float | None, float | None]:
    """The steps the curves cover (a resumed run starting at step 3249 starts there)."""
    firsts = [float(v[1][0]) for v in c.values() if len(v[1])]
    lasts = [float(v[1][-1]) for v in c.values() if len(v[1])]
    if not firsts:
        return None, None
    lo, hi = min(firsts), max(lasts)
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


_TEMPLATES: dict[bool, _Template] = {}


ACCURACY_ROLES = ("train_accuracy", "val_accuracy", "val_score")


def _accuracy_scales(c: PlotCurves) -> dict[str, float]:
    """Divisors that put the accuracy panel's curves on one scale: when one is logged in percent
    and another as a fraction, the percent one is read as a fraction (else the 0-1 curve is a
    flat line at the bottom of a 0-100 axis)."""
    from ..numfmt import percent_scale

    scales = {r: percent_scale(c[r][2]) for r in ACCURACY_ROLES if r in c}
    if len(set(scales.values())) < 2:
        return {}
    return scales


def png_bytes(d: Diagnosis, curves: PlotCurves) -> bytes | None:
    """The run's plot as PNG, or None when it has nothing to plot (no curve of two points)."""
    if not curves or not plottable(curves):
        return None
    has_acc = any(k in curves for k in ("train_accuracy", "val_accuracy", "val_score"))
    tpl = _TEMPLATES.get(has_acc)
    if tpl is None:
        tpl = _TEMPLATES[has_acc] = _Template(has_acc)
    return tpl.draw(d, curves)


def _png_of(pair: tuple[Diagnosis, PlotCurves]) -> bytes | None:
    return png_bytes(*pair)


def drawn(o: Outcome) -> Outcome:
    """The outcome with its plot (and its segments' plots) drawn, where there is one."""
    png = png_bytes(o.diagnosis, o.curves) if o.diagnosis.status == "ok" else None
    return o._replace(png=png, segments=tuple(drawn(s) for s in o.segments))


def render_all(result: Analysis, jobs: int | None = None, progress: bool = False) -> dict[str, bytes]:
    """PNG bytes per run name, and each sweep's figures (keyed by sweepplots.figure_key): the
    plots the scan's workers drew (`result.pngs`), the others drawn here, in a process pool
    when there are many; `progress`: a progress line on stderr."""
    from ..progress import Progress
    from .common import overview_of
    from .sweepplots import sweep_figures

    todo = [(d, result.curves[d.run]) for d in result.diagnoses
            if d.status == "ok" and result.curves.get(d.run) and d.run not in result.pngs]
    jobs = jobs or os.cpu_count() or 1
    pngs: list[bytes | None] = []
    with Progress(len(todo), enabled=progress, what="plots") as bar:
        if jobs > 1 and len(todo) >= POOL_MIN_RUNS:
            with ProcessPoolExecutor(max_workers=jobs) as ex:
                for png in ex.map(_png_of, todo, chunksize=max(1, len(todo) // (4 * jobs))):
                    pngs.append(png)
                    bar.update()
        else:
            for t in todo:
                pngs.append(_png_of(t))
                bar.update()
    out = {d.run: p for d in result.diagnoses if (p := result.pngs.get(d.run))}
    out.update({d.run: p for (d, _), p in zip(todo, pngs) if p})
    out.update(sweep_figures(overview_of(result), result.diagnoses, result.curves))
    return out


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:120] or "run"


def write_plot_files(pngs: dict[str, bytes], output: str) -> dict[str, str]:
    """PNG files beside a Markdown report (`<report>_files/`); returns run -> relative path."""
    base = os.path.splitext(os.path.basename(output))[0]
    folder = os.path.join(os.path.dirname(output) or ".", f"{base}_files")
    links: dict[str, str] = {}
    used: set[str] = set()
    for run in sorted(pngs):
        os.makedirs(folder, exist_ok=True)
        name = slug(run)
        while name in used:
            name += "_"
        used.add(name)
        with open(os.path.join(folder, name + ".png"), "wb") as fh:
            fh.write(pngs[run])
        links[run] = f"{base}_files/{name}.png"
    return links
