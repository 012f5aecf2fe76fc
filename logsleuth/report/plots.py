"""Matplotlib plots of a run's curves with every detected symptom's step range shaded and
labelled; log scale where the range calls for it; LR on a secondary axis."""

from __future__ import annotations

import io
import os
import re

import numpy as np

from ..model import Diagnosis

_SEV_COLOR = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#7f7f7f"}


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _log_ok(v: np.ndarray) -> bool:
    f = v[np.isfinite(v)]
    return f.size > 1 and bool(np.all(f > 0)) and float(np.max(f) / np.min(f)) > 100


def figure(d: Diagnosis, width: float = 8.0):
    """A figure for one run, or None when it has nothing to plot."""
    plt = _mpl()
    c = d.curves
    if not c:
        return None
    has_acc = any(k in c for k in ("train_accuracy", "val_accuracy", "val_score"))
    fig, axes = plt.subplots(2 if has_acc else 1, 1, figsize=(width, 5.2 if has_acc else 3.4), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": [2, 1] if has_acc else [1]})
    ax = axes[0][0]
    ys = []
    for role, style in (("train_loss", dict(lw=0.7, color="#1f77b4")), ("val_loss", dict(lw=1.4, color="#d62728", marker=".", ms=3))):
        if role in c:
            name, st, v = c[role]
            ax.plot(st, np.where(np.isfinite(v), v, np.nan), label=name, **style)
            ys.append(v)
            bad = ~np.isfinite(v)
            if bad.any():
                ax.axvline(st[np.argmax(bad)], color="#9467bd", ls=":", lw=1)
    if ys and _log_ok(np.concatenate(ys)):
        ax.set_yscale("log")
    ax.set_ylabel("loss")
    if "lr" in c:
        name, st, v = c["lr"]
        ax2 = ax.twinx()
        ax2.plot(st, v, color="#2ca02c", lw=0.8, alpha=0.6, label=name)
        if _log_ok(v):
            ax2.set_yscale("log")
        ax2.set_ylabel("learning rate", color="#2ca02c")
    for i, f in enumerate(d.symptoms):
        if f.start_step is None or f.end_step is None:
            continue
        col = _SEV_COLOR.get(f.severity, "#7f7f7f")
        a, b = f.start_step, max(f.end_step, f.start_step)
        for row in axes:
            row[0].axvspan(a, b if b > a else a + 1e-9, color=col, alpha=0.08 if f.severity == "info" else 0.15, lw=0)
        ax.annotate(f.symptom, xy=(a, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -10 - 10 * (i % 4)),
                    textcoords="offset points", fontsize=7, color=col)
    ax.legend(loc="upper right", fontsize=7)
    if has_acc:
        ax3 = axes[1][0]
        for role, style in (("train_accuracy", dict(lw=0.8)), ("val_accuracy", dict(lw=1.2, marker=".", ms=3)),
                            ("val_score", dict(lw=1.2, ls="--"))):
            if role in c:
                name, st, v = c[role]
                ax3.plot(st, v, label=name, **style)
        ax3.set_ylabel("accuracy / score")
        ax3.legend(loc="lower right", fontsize=7)
        ax3.set_xlabel("step")
    else:
        ax.set_xlabel("step")
    fig.suptitle(d.run, fontsize=9)
    fig.tight_layout()
    return fig


def png_bytes(d: Diagnosis, dpi: int = 80) -> bytes | None:
    fig = figure(d)
    if fig is None:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    _mpl().close(fig)
    return buf.getvalue()


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:120] or "run"


def write_plot_files(result, output: str) -> dict[str, str]:
    """PNG files beside a Markdown report (`<report>_files/`); returns run -> relative path."""
    base = os.path.splitext(os.path.basename(output))[0]
    folder = os.path.join(os.path.dirname(output) or ".", f"{base}_files")
    links: dict[str, str] = {}
    used: set[str] = set()
    for d in result.diagnoses:
        if d.status != "ok":
            continue
        data = png_bytes(d)
        if data is None:
            continue
        os.makedirs(folder, exist_ok=True)
        name = slug(d.run)
        while name in used:
            name += "_"
        used.add(name)
        with open(os.path.join(folder, name + ".png"), "wb") as fh:
            fh.write(data)
        links[d.run] = f"{base}_files/{name}.png"
    return links
