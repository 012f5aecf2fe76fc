"""The Markdown report: a summary table across runs, then per run health, symptoms with their
evidence and step ranges, ranked causes with remedies and references, skipped rules.
Everything that came from a log is escaped."""

from __future__ import annotations

import re

from ..model import Analysis, Diagnosis, worst_first
from ..numfmt import step_text
from .common import CAUSES_LISTED, cause_sources, overview_of, shown_symptoms, skipped_by_reason, top_cause, unknown_reason
from .style import NO_PLOT, plottable


def esc(s: object) -> str:
    """Text from a log made inert in Markdown (and in the HTML Markdown may embed)."""
    text = str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return re.sub(r"([\\`*_\[\]|#~])", r"\\\1", text)


def to_markdown(result: Analysis, plots: dict[str, str] | None = None) -> str:
    """The report; `plots` maps run names and sweep figure keys to image paths (write_plot_files)."""
    diags, messages = result.diagnoses, result.messages
    ordered = worst_first(diags)
    out = ["# logsleuth report", ""]
    out += ["| run | health | first cause | score |", "|---|---|---|---|"]
    for d in ordered:
        h = "error" if d.status == "error" else d.health
        score = f"{d.causes[0].score:.2f}" if d.status == "ok" and d.causes and d.health != "healthy" else ""
        out.append(f"| {esc(d.run)} | {h} | {top_cause(d)} | {score} |")
    out.append("")
    out += _overview(result, plots or {})
    for d in ordered:
        out += _run(d, (plots or {}).get(d.run), result.curves.get(d.run))
    if messages:
        out += ["## Notes", ""] + [f"- {esc(m)}" for m in messages] + [""]
    return "\n".join(out).rstrip() + "\n"


def _overview(result: Analysis, plots: dict[str, str]) -> list[str]:
    from ..sweep import config_label, config_outcome, sweep_summary
    from .sweepplots import figure_key

    diags, o = result.diagnoses, overview_of(result)
    out: list[str] = []
    if len(diags) > 1 and o.causes:
        out += ["## Overview", "", "| first cause | runs |", "|---|---|"]
        out += [f"| {c} | {n} |" for c, n in o.causes.items()] + [""]
    for s in o.sweeps:
        out += [f"## Sweep {esc(s.directory)}", "", f"{esc(sweep_summary(s))}.", ""]
        out += [f"- **{esc(st)}**" for st in s.statements]
        if s.statements:
            out.append("")
        for k in s.varying:
            if figure_key(s, k) in plots:
                out += [f"![runs of {esc(s.directory)} by {esc(k)}]({plots[figure_key(s, k)]})", ""]
        out += ["| configuration | outcome |", "|---|---|"]
        out += [f"| {esc(config_label(c))} | {esc(config_outcome(c))} |" for c in s.configs] + [""]
    return out


def _run(d: Diagnosis, plot: str | None, curves=None) -> list[str]:
    out = [f"## {esc(d.run)}", ""]
    if d.status == "error":
        return out + [f"**Could not be read:** {esc(d.error or '')}", ""]
    out.append(f"**Health:** {d.health}" + (f" · formats: {', '.join(esc(f) for f in d.formats)}" if d.formats else ""))
    out.append("")
    if plot:
        out += [f"![curves of {esc(d.run)}]({plot})", ""]
    elif curves and not plottable(curves):
        out += [f"_{NO_PLOT}_", ""]
    shown = shown_symptoms(d)
    if d.health == "healthy":
        out += ["Looks healthy.", ""]
    elif d.health == "unknown":
        out += [f"Not judged - {esc(unknown_reason(d))}.", ""]
    if shown and d.health != "unknown":
        out += ["### Seen", ""]
        for sh in shown:
            f = sh.finding
            where = "" if f.start_step is None else f", steps {step_text(f.start_step)}-{step_text(f.end_step)}"
            out.append(f"{sh.number}. **{f.symptom}** ({f.severity}, {esc(f.metric)}{where}, confidence "
                       f"{f.confidence:.2f}): {esc(sh.evidence)}")
        out.append("")
    if d.health in ("warning", "critical"):
        out += ["### Likely causes", ""]
        for i, c in enumerate(d.causes[:CAUSES_LISTED], 1):
            refs = cause_sources(c, shown, d)
            src = f" (from {', '.join(str(n) for n in refs)})" if refs else ""
            out.append(f"{i}. **{c.id}** - {esc(c.title)}, score {c.score:.2f}{src}")
            for r in c.remedies:
                out.append(f"   - {esc(r)}")
            for ref in c.references:
                out.append(f"   - see: [{esc(ref.get('title', ''))}]({ref.get('url', '')})")
        out.append("")
    out += ["### Metrics", "", "| metric | role | points | steps |", "|---|---|---|---|"]
    for m in d.metrics:
        out.append(f"| {esc(m.metric)} | {m.role} | {m.points} | {step_text(m.first_step)}-{step_text(m.last_step)} |")
    out.append("")
    if d.skipped:
        out += ["<details><summary>Rules that could not run</summary>", ""]
        out += [f"- {esc(reason)}: {', '.join(rules)}" for reason, rules in skipped_by_reason(d)]
        out += ["", "</details>", ""]
    if d.warnings:
        out += ["### Warnings while reading", ""] + [f"- {esc(w)}" for w in d.warnings] + [""]
    return out
