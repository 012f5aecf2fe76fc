"""Reports of `logsleuth compare`: terminal, Markdown, HTML (self-contained) and JSON
(schema: logsleuth/compare_schema.json, documented in the README's compare section)."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Any

import numpy as np

from .._version import __version__
from ..comparison import Comparison, MetricDiff, PairComparison

COMPARE_SCHEMA = 1  # compare_schema.json; bump on a breaking change
PLOT_METRICS = 4  # overlay plots per pair: the key metrics first


def _num(x: float | None) -> str:
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return "-"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


def _val(v: Any) -> str:
    if v is None:
        return "(not set)"
    return _num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _better(m: MetricDiff, p: PairComparison) -> str:
    return {"baseline": f"{p.baseline} ends better", "other": f"{p.other} ends better", "same": "end level within 2%",
            "unknown": "-"}[m.better]


def _parting(m: MetricDiff) -> str:
    if m.parting_step is None:
        return "never: within noise"
    return f"step {_num(m.parting_step)}" if m.axis == "step" else f"{m.parting_step:.0%} of each run"


def _change(m: MetricDiff) -> str:
    return f"{m.change:+.1%}" if math.isfinite(m.change) else "-"


# --------------------------------------------------------------------------------- terminal

def to_terminal(c: Comparison) -> str:
    out = []
    for p in c.pairs:
        out.append(f"COMPARE  {p.other}  against the baseline  {p.baseline}")
        out.append("  hyperparameters that differ (most telling first):")
        if p.hparams:
            for k, a, b in p.hparams:
                out.append(f"    {k:24s} {_val(a):>14s} -> {_val(b)}")
        else:
            out.append("    none known (the logs, configs and paths name the same settings)")
        out.append("  metrics:")
        for m in p.metrics:
            out.append(f"    {m.metric:28s} curves part: {_parting(m):20s} end {_num(m.end_baseline)} -> {_num(m.end_other)} "
                       f"({_change(m)}); {_better(m, p)}")
        if not p.metrics:
            out.append("    no metric in common")
        out.append("  symptoms only in the baseline: " + (", ".join(p.only_baseline) or "none"))
        out.append(f"  symptoms only in {p.other}: " + (", ".join(p.only_other) or "none"))
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------------- JSON

def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.integer, np.floating)):
        return _clean(x.item())
    return x


def to_json(c: Comparison) -> str:
    doc = {
        # the top-level keys of `analyze --format json` (CONTRACT.md), and what kind of report this is
        "schema": COMPARE_SCHEMA, "logsleuth_version": __version__, "kind": "compare",
        "runs": [{"run": d.run, "status": d.status, "health": d.health,
                  "top_causes": [x.id for x in d.causes[:3]], "symptoms": sorted({f.symptom for f in d.symptoms})}
                 for d in c.diagnoses],
        "comparisons": [{
            "baseline": p.baseline, "other": p.other,
            "hyperparameters": [{"key": k, "baseline": _clean(a), "other": _clean(b)} for k, a, b in p.hparams],
            "metrics": [{"metric": m.metric, "role": m.role, "better_is": m.direction,
                         "axis": m.axis, "parting_step": _clean(m.parting_step),
                         "common_steps": [_clean(m.common_from), _clean(m.common_to)],
                         "end_baseline": _clean(m.end_baseline), "end_other": _clean(m.end_other),
                         "change": _clean(m.change), "better": m.better} for m in p.metrics],
            "symptoms_only_baseline": list(p.only_baseline), "symptoms_only_other": list(p.only_other),
        } for p in c.pairs],
    }
    return json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n"


# --------------------------------------------------------------------------------- plots

def overlay_png(c: Comparison, p: PairComparison, m: MetricDiff) -> bytes | None:
    """One metric of both runs on one axis, the parting step marked; drawn at the run plots'
    width and type size (style.py), so its text stays readable on a phone."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from .style import DPI, FONT_PT, WIDTH_IN, number_label, step_label

    names = m.metric.split(" ~ ")
    a = c.curves.get(p.baseline, {}).get(names[0])
    b = c.curves.get(p.other, {}).get(names[-1])
    if a is None or b is None:
        return None
    fig = Figure(figsize=(WIDTH_IN, 3.8), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for (st, v), label, color in ((a, f"baseline: {p.baseline}", "#1f77b4"), (b, p.other, "#d62728")):
        ax.plot(st, v, lw=0.9, color=color, label=label if len(label) <= 40 else "..." + label[-37:])
    va = np.r_[a[1], b[1]]
    va = va[np.isfinite(va)]
    if m.direction != "none" and va.size and np.all(va > 0) and va.max() / max(va.min(), 1e-300) > 30:
        ax.set_yscale("log")
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(number_label))
    if m.parting_step is not None and m.axis == "step":  # a share of each run is not a step of the axis
        ax.axvline(m.parting_step, color="#555", ls="--", lw=1)
        ax.annotate(f"part at {_num(m.parting_step)}", (m.parting_step, 0.95), xycoords=("data", "axes fraction"),
                    fontsize=FONT_PT, ha="left", va="top")
    ax.set_title(m.metric if len(m.metric) <= 50 else "..." + m.metric[-47:], fontsize=FONT_PT)
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(step_label))
    ax.set_xlabel("step", fontsize=FONT_PT)
    ax.tick_params(labelsize=FONT_PT)
    ax.legend(fontsize=FONT_PT, loc="best")
    fig.subplots_adjust(left=0.16, right=0.97, top=0.88, bottom=0.17)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def plots(c: Comparison) -> dict[tuple[int, str], bytes]:
    out = {}
    for i, p in enumerate(c.pairs):
        for m in p.metrics[:PLOT_METRICS]:
            png = overlay_png(c, p, m)
            if png:
                out[(i, m.metric)] = png
    return out


# --------------------------------------------------------------------------------- Markdown, HTML

def _md_esc(s: object) -> str:
    return str(s).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def to_markdown(c: Comparison, links: dict[tuple[int, str], str] | None = None) -> str:
    out = ["# logsleuth compare", ""]
    for i, p in enumerate(c.pairs):
        out += [f"## `{_md_esc(p.other)}` against the baseline `{_md_esc(p.baseline)}`", "", "### Hyperparameters that differ", ""]
        if p.hparams:
            out += ["| setting | baseline | other |", "|---|---|---|"]
            out += [f"| {_md_esc(k)} | {_md_esc(_val(a))} | {_md_esc(_val(b))} |" for k, a, b in p.hparams]
        else:
            out.append("None known.")
        out += ["", "### Metrics", "", "| metric | curves part at | baseline end | other end | change | |", "|---|---|---|---|---|---|"]
        out += [f"| {_md_esc(m.metric)} | {_parting(m)} | {_num(m.end_baseline)} | {_num(m.end_other)} | {_change(m)} | "
                f"{_md_esc(_better(m, p))} |" for m in p.metrics]
        out += ["", "### Symptoms", "", f"- only in the baseline: {', '.join(p.only_baseline) or 'none'}",
                f"- only in `{_md_esc(p.other)}`: {', '.join(p.only_other) or 'none'}", ""]
        for m in p.metrics:
            link = (links or {}).get((i, m.metric))
            if link:
                out += [f"![{_md_esc(m.metric)}]({link})", ""]
    return "\n".join(out).rstrip() + "\n"


CSS = ("body{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:70rem;overflow-wrap:break-word}"
       "table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #ddd;padding:.3rem;"
       "text-align:left}img{max-width:100%;height:auto}.tw{overflow-x:auto}h2{font-size:1.15rem}"
       "@media (max-width:600px){body{padding:.5rem}td,th{font-size:.8rem}}")


def to_html(c: Comparison, pngs: dict[tuple[int, str], bytes] | None = None) -> str:
    e = lambda x: html.escape(str(x), quote=True)
    out = ["<!doctype html><html lang=en><head><meta charset=utf-8>",
           "<meta name=viewport content='width=device-width, initial-scale=1'><title>logsleuth compare</title>",
           f"<style>{CSS}</style></head><body><h1>logsleuth compare</h1>"]
    for i, p in enumerate(c.pairs):
        out.append(f"<h2>{e(p.other)} against the baseline {e(p.baseline)}</h2><h3>Hyperparameters that differ</h3>")
        if p.hparams:
            out.append("<div class=tw><table><tr><th>setting<th>baseline<th>other</tr>"
                       + "".join(f"<tr><td>{e(k)}<td>{e(_val(a))}<td>{e(_val(b))}</tr>" for k, a, b in p.hparams)
                       + "</table></div>")
        else:
            out.append("<p>None known.</p>")
        out.append("<h3>Metrics</h3><div class=tw><table><tr><th>metric<th>curves part at<th>baseline end<th>other end"
                   "<th>change<th></tr>"
                   + "".join(f"<tr><td>{e(m.metric)}<td>{e(_parting(m))}<td>{e(_num(m.end_baseline))}<td>{e(_num(m.end_other))}"
                             f"<td>{e(_change(m))}<td>{e(_better(m, p))}</tr>" for m in p.metrics)
                   + "</table></div>")
        out.append(f"<h3>Symptoms</h3><ul><li>only in the baseline: {e(', '.join(p.only_baseline) or 'none')}"
                   f"<li>only in {e(p.other)}: {e(', '.join(p.only_other) or 'none')}</ul>")
        for m in p.metrics:
            png = (pngs or {}).get((i, m.metric))
            if png:
                out.append(f"<img alt='{e(m.metric)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
