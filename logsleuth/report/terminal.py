"""The terminal report: per run a health line, top causes with the evidence behind them;
a compact table, worst first, when there are many runs."""

from __future__ import annotations

from ..model import HEALTH_LEVELS, Diagnosis, worst_first
from .common import step, top_cause, unknown_reason

_COLORS = {"critical": "\x1b[31;1m", "warning": "\x1b[33;1m", "healthy": "\x1b[32m", "unknown": "\x1b[36m", "error": "\x1b[35;1m",
           "dim": "\x1b[2m", "bold": "\x1b[1m"}
_RESET = "\x1b[0m"
MANY = 12


def _c(text: str, what: str, color: bool) -> str:
    return f"{_COLORS[what]}{text}{_RESET}" if color else text


def _safe(s: str) -> str:
    """Control characters from logs are not sent to the terminal."""
    return "".join(ch if ch.isprintable() or ch == " " else "?" for ch in s)


def to_terminal(diags: list[Diagnosis], messages: list[str] | None = None, color: bool = False,
                verbose: bool = False) -> str:
    out: list[str] = []
    ordered = worst_first(diags)
    if len(diags) >= MANY and not verbose:
        out.append(_table(ordered, color))
        out.append("")
        shown = [d for d in ordered if d.status == "error" or d.health != "healthy"][:MANY]
    else:
        shown = ordered
    for d in shown:
        out.append(_run(d, color, verbose))
    out += _overview(diags, color)
    for m in messages or []:
        out.append(_c("note: ", "dim", color) + _safe(m))
    counts = {h: sum(1 for d in diags if d.status == "ok" and d.health == h) for h in HEALTH_LEVELS}
    errors = sum(1 for d in diags if d.status == "error")
    out.append(f"{len(diags)} run(s): {counts['critical']} critical, {counts['warning']} warning, "
               + (f"{counts['unknown']} cannot be judged, " if counts["unknown"] else "")
               + f"{counts['healthy']} healthy, {errors} unreadable")
    return "\n".join(out) + "\n"


def _overview(diags: list[Diagnosis], color: bool) -> list[str]:
    """Counts per first cause, then each sweep with its configurations and statements."""
    from ..sweep import config_label, config_outcome, overview, sweep_summary

    o = overview(diags)
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


def _run(d: Diagnosis, color: bool, verbose: bool) -> str:
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
        for c in d.causes[:3]:
            lines.append(f"  {c.score:.2f}  {c.id}: {c.title}")
            for f in d.symptoms:
                if f.symptom in c.because and any(cid == c.id for cid, _ in f.causes):
                    lines.append(f"        {f.symptom} (steps {step(f.start_step)}-{step(f.end_step)}): {_safe(f.evidence)}")
                    break
            if c.remedies:
                lines.append(f"        try first: {c.remedies[0]}")
    else:
        notes = [f for f in d.symptoms]
        lines.append("  looks healthy" + (f"; noted: {', '.join(sorted({f.symptom for f in notes}))}" if notes else ""))
    if verbose:
        for f in d.symptoms:
            lines.append(f"  [{f.severity}] {f.symptom} ({f.rule}): {_safe(f.evidence)}")
        for s in d.skipped:
            lines.append(_c(f"  skipped {s.rule}: {s.reason}", "dim", color))
    for w in d.warnings[:3 if not verbose else None]:
        lines.append(_c(f"  warning: {_safe(w)}", "dim", color))
    if len(d.warnings) > 3 and not verbose:
        lines.append(_c(f"  ... {len(d.warnings) - 3} more warning(s) (--verbose)", "dim", color))
    return "\n".join(lines) + "\n"
