"""The terminal report: a table of every run (worst first) when there are many, then the
details of the runs that need a look, up to a limit, and a line saying how many were left
out.  Within a run each symptom and its evidence appear once, numbered; the causes refer to
those numbers instead of repeating the evidence; a cause's remedy is written under the first run
with that cause, later runs refer to it.  Lines are wrapped to the terminal's width (120
columns in a file), a path or a long name never broken inside itself."""

from __future__ import annotations

import re
import textwrap

from ..model import HEALTH_LEVELS, Analysis, Diagnosis, worst_first
from ..numfmt import step_text
from .common import Shown, cause_sources, overview_of, shown_symptoms, skipped_by_reason, top_cause, unknown_reason

_COLORS = {"critical": "\x1b[31;1m", "warning": "\x1b[33;1m", "healthy": "\x1b[32m", "unknown": "\x1b[36m", "error": "\x1b[35;1m",
           "dim": "\x1b[2m", "bold": "\x1b[1m"}
_RESET = "\x1b[0m"
# From this many runs on, the report starts with a one-line-per-run table and details only the
# runs that need a look: a sweep of 400 runs should fit a scrollback, and the table names them all.
MANY = 12
# Details shown by default in a many-run report: the worst runs; the rest are counted in the last
# line (--all shows them, an HTML report holds everything).
DETAILS = 12
CAUSES_SHOWN = 3
WIDTH = 120  # columns of a report written to a file or a pipe (cli passes a terminal's own)
# what a wrapped line's continuation lines are indented past: a number, a score, a label
_HANG = re.compile(r" *(?:\d+\. |\d\.\d\d  |try first: |warning: |note: |metrics: |first causes: )?")
_WHOLE_LINE_STYLE = re.compile(r"^(\x1b\[[0-9;]*m)([^\x1b]*)\x1b\[0m$")


def _c(text: str, what: str, color: bool) -> str:
    return f"{_COLORS[what]}{text}{_RESET}" if color else text


def _safe(s: str) -> str:
    """Control characters from logs are not sent to the terminal."""
    return "".join(ch if ch.isprintable() or ch == " " else "?" for ch in s)


def _needs_look(d: Diagnosis) -> bool:
    return d.status == "error" or d.health != "healthy"


def to_terminal(result: Analysis, color: bool = False, verbose: bool = False, show_all: bool = False,
                width: int = WIDTH) -> str:
    """The report; `width`: the columns to wrap to."""
    diags, messages = result.diagnoses, result.messages
    said: dict[str, str] = {}  # cause id -> the run under which its remedy was written
    out: list[str] = []
    ordered = worst_first(diags)
    left_out: list[Diagnosis] = []
    if len(diags) >= MANY:
        out.append(_table(ordered, color))
        out.append("")
        flagged = [d for d in ordered if _needs_look(d)]
        shown = ordered if show_all else flagged[:DETAILS]
        left_out = [] if show_all else flagged[DETAILS:]
    else:
        shown = ordered
    for d in shown:
        out.append(_run(d, color, verbose, said))
    out += _overview(result, color)
    for m in messages or []:
        out.append(_c("note: ", "dim", color) + _safe(m))
    counts = {h: sum(1 for d in diags if d.status == "ok" and d.health == h) for h in HEALTH_LEVELS}
    errors = sum(1 for d in diags if d.status == "error")
    out.append(f"{len(diags)} run(s): {counts['critical']} critical, {counts['warning']} warning, "
               + (f"{counts['unknown']} cannot be judged, " if counts["unknown"] else "")
               + f"{counts['healthy']} healthy, {errors} unreadable")
    if left_out:
        out.append(f"details shown for the {len(shown)} worst of the {len(shown) + len(left_out)} runs that need a "
                   f"look; {len(left_out)} left out (in the table above): --all shows every run, "
                   "-o report.html writes them all")
    return "\n".join(wrap_lines("\n".join(out).split("\n"), width)) + "\n"


def wrap_lines(lines: list[str], width: int) -> list[str]:
    """Lines longer than `width` wrapped at spaces, continuation lines indented past the line's
    number, score or label; words (paths, run ids) are never broken, and a line styled as a
    whole keeps its style on every piece (other styled lines are left as they are)."""
    out = []
    for line in lines:
        style, text = "", line
        m = _WHOLE_LINE_STYLE.match(line)
        if m:
            style, text = m.group(1), m.group(2)
        if len(text) <= width or "\x1b" in text:
            out.append(line)
            continue
        hang = " " * min(len(_HANG.match(text).group(0)), width // 2)  # type: ignore[union-attr]
        pieces = textwrap.wrap(text, width=width, subsequent_indent=hang, break_long_words=False,
                               break_on_hyphens=False) or [text]
        out += [f"{style}{p}{_RESET}" if style else p for p in pieces]
    return out


def _overview(result: Analysis, color: bool) -> list[str]:
    """Counts per first cause, then each sweep with its configurations and statements."""
    from ..sweep import config_label, config_outcome, sweep_summary

    diags, o = result.diagnoses, overview_of(result)
    out = []
    if len(diags) > 1 and o.causes:
        out.append("first causes: " + ", ".join(f"{c} {n}" for c, n in o.causes.items()))
    for s in o.sweeps:
        out.append(_c(f"sweep {_safe(s.directory)}: {_safe(sweep_summary(s))}", "bold", color))
        for c in s.configs[:20]:
            out.append(f"  {_safe(config_label(c))}: {_safe(config_outcome(c))}")
        if len(s.configs) > 20:
            out.append(f"  ... {len(s.configs) - 20} more configuration(s)")
        for st in s.statements:
            out.append(f"  -> {_safe(st)}")
    if out:
        out.append("")
    return out


def _table(ordered: list[Diagnosis], color: bool) -> str:
    width = min(60, max(len(d.run) for d in ordered))
    lines = [f"{'run':{width}s}  {'health':8s}  {'first cause':24s}  score"]
    for d in ordered:
        h = "error" if d.status == "error" else d.health
        score = f"{d.causes[0].score:.2f}" if d.status == "ok" and d.causes and d.health != "healthy" else ""
        name = _safe(d.run)
        name = name if len(name) <= width else "..." + name[-(width - 3):]
        lines.append(f"{name:{width}s}  {_c(f'{h:8s}', h, color)}  {top_cause(d):24s}  {score}")
    return "\n".join(lines)


def _symptom_line(s: Shown, verbose: bool) -> str:
    f = s.finding
    where = "" if f.start_step is None else f", steps {step_text(f.start_step)}-{step_text(f.end_step)}"
    sev = "" if f.severity != "info" else " (info)"
    by = f" [{', '.join(s.rules)}]" if verbose else ""
    return f"    {s.number}. {f.symptom}{sev}{where}: {_safe(s.evidence)}{by}"


def _run(d: Diagnosis, color: bool, verbose: bool, said: dict[str, str] | None = None) -> str:
    name = _safe(d.run)
    if d.status == "error":
        return f"{_c('ERROR', 'error', color)}  {name}\n  {_safe(d.error or '')}\n"
    lines = [f"{_c(d.health.upper(), d.health, color)}  {_c(name, 'bold', color)}"]
    metrics = ", ".join(f"{_safe(m.metric)} ({m.role}, {m.points})" for m in d.metrics[:8])
    more = f" and {len(d.metrics) - 8} more" if len(d.metrics) > 8 else ""
    lines.append(_c(f"  metrics: {metrics}{more}", "dim", color))
    if d.health == "unknown":
        lines.append(f"  {_safe(unknown_reason(d))}")
    elif d.health != "healthy":
        shown = shown_symptoms(d)
        lines.append("  seen:")
        for s in shown:
            lines.append(_symptom_line(s, verbose))
        lines.append("  likely causes:")
        for c in d.causes[: None if verbose else CAUSES_SHOWN]:
            refs = [str(n) for n in cause_sources(c, shown, d)]
            lines.append(f"    {c.score:.2f}  {c.id}: {c.title}" + (f"  (from {', '.join(refs)})" if refs else ""))
            if c.remedies and said is not None and c.id in said:
                lines.append(_c(f"          try first: as under {_safe(said[c.id])} above", "dim", color))
            elif c.remedies:
                lines.append(f"          try first: {c.remedies[0]}")
                if said is not None:
                    said[c.id] = d.run
        if not verbose and len(d.causes) > CAUSES_SHOWN:
            lines.append(_c(f"    ... {len(d.causes) - CAUSES_SHOWN} less likely cause(s) (--verbose)", "dim", color))
    else:
        notes = sorted({f.symptom for f in d.symptoms})
        lines.append("  looks healthy" + (f"; noted: {', '.join(notes)}" if notes else ""))
    if verbose and d.skipped:
        lines += _skipped(d, color)
    for w in d.warnings[:3 if not verbose else None]:
        lines.append(_c(f"  warning: {_safe(w)}", "dim", color))
    if len(d.warnings) > 3 and not verbose:
        lines.append(_c(f"  ... {len(d.warnings) - 3} more warning(s) (--verbose)", "dim", color))
    return "\n".join(lines) + "\n"


def _skipped(d: Diagnosis, color: bool) -> list[str]:
    """Rules that could not run, one line per reason."""
    return [_c(f"  not judged ({len(rules)} rule{'s' if len(rules) > 1 else ''}: {', '.join(rules)}): {reason}",
               "dim", color) for reason, rules in skipped_by_reason(d)]
