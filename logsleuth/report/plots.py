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

from ..model import Diagnosis

_SEV_COLOR = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#7f7f7f"}
POOL_MIN_RUNS = 24


def _log_ok(v: np.ndarray) -> bool:
    f = v[np.isfinite(v)]
    return f.size > 1 and bool(np.all(f > 0)) and float(np.max(f) / np.min(f)) > 100


def _varies(v: np.ndarray) -> bool:
    f = v[np.isfinite(v)]
    return f.size > 1 and float(np.max(f)) != float(np.min(f))


def figure(d: Diagnosis, width: float = 8.0):
    """A matplotlib Figure for one run, or None when it has nothing to plot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, NullLocator

    c = d.curves
    if not c:
        return None
    has_acc = any(k in c for k in ("train_accuracy", "val_accuracy", "val_score"))
    fig = Figure(figsize=(width, 5.0 if has_acc else 3.3), dpi=80)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2 if has_acc else 1, 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": [2, 1] if has_acc else [1]})
    ax = axes[0][0]
    ys = []
    for role, style in (("train_loss", dict(lw=0.7, color="#1f77b4")),
                        ("val_loss", dict(lw=1.4, color="#d62728", marker=".", ms=3))):
        if role in c:
            name, st, v = c[role]
            ax.plot(st, np.where(np.isfinite(v), v, np.nan), label=name, **style)
            ys.append(v)
            bad = ~np.isfinite(v)
            if bad.any():
                ax.axvline(st[np.argmax(bad)], color="#9467bd", ls=":", lw=1)
    if ys and _log_ok(np.concatenate(ys)):
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())
    ax.set_ylabel("loss")
    lr_note = ""
    if "lr" in c:
        name, st, v = c["lr"]
        if _varies(v):
            ax2 = ax.twinx()
            ax2.plot(st, v, color="#2ca02c", lw=0.8, alpha=0.6)
            if _log_ok(v):
                ax2.set_yscale("log")
                ax2.yaxis.set_minor_locator(NullLocator())
            ax2.set_ylabel(name, color="#2ca02c")
        else:
            f = v[np.isfinite(v)]
            lr_note = f"{name} constant {f[0]:.3g}" if f.size else ""
    for i, f in enumerate(d.symptoms):
        if f.start_step is None or f.end_step is None:
            continue
        col = _SEV_COLOR.get(f.severity, "#7f7f7f")
        a, b = f.start_step, max(f.end_step, f.start_step)
        for row in axes:
            row[0].axvspan(a, b if b > a else a + 1e-9, color=col, alpha=0.08 if f.severity == "info" else 0.15, lw=0)
        ax.annotate(f.symptom, xy=(a, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -10 - 10 * (i % 4)),
                    textcoords="offset points", fontsize=7, color=col)
    ax.legend(loc="upper right", fontsize=7, title=lr_note or None, title_fontsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    bottom = ax
    if has_acc:
        ax3 = axes[1][0]
        for role, style in (("train_accuracy", dict(lw=0.8)), ("val_accuracy", dict(lw=1.2, marker=".", ms=3)),
                            ("val_score", dict(lw=1.2, ls="--"))):
            if role in c:
                name, st, v = c[role]
                ax3.plot(st, v, label=name, **style)
        ax3.set_ylabel("accuracy / score")
        ax3.yaxis.set_major_locator(MaxNLocator(4))
        ax3.legend(loc="lower right", fontsize=7)
        bottom = ax3
    bottom.set_xlabel("step")
    fig.suptitle(d.run if len(d.run) <= 90 else "..." + d.run[-87:], fontsize=9)
    fig.subplots_adjust(left=0.09, right=0.88 if "lr" in c and not lr_note else 0.97, top=0.91,
                        bottom=0.1 if has_acc else 0.14, hspace=0.08)
    return fig


def png_bytes(d: Diagnosis) -> bytes | None:
    fig = figure(d)
    if fig is None:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def render_all(diags: list[Diagnosis], jobs: int | None = None) -> dict[str, bytes]:
    """PNG bytes per run name, drawn in a process pool when there are many runs."""
    todo = [d for d in diags if d.status == "ok" and d.curves]
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and len(todo) >= POOL_MIN_RUNS:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            pngs = list(ex.map(png_bytes, todo, chunksize=max(1, len(todo) // (4 * jobs))))
    else:
        pngs = [png_bytes(d) for d in todo]
    return {d.run: p for d, p in zip(todo, pngs) if p}


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
