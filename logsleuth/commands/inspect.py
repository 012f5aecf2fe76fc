"""`logsleuth inspect`: what was read, per run: metrics, roles, points, step ranges, hyperparameters,
warnings and the console lines passed over."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from ..errors import UsageError
from .common import fail, roles_option


@click.command()
@click.argument("paths", nargs=-1, required=True)
@roles_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def inspect(paths, roles, fmt) -> None:
    """Show what was read: runs, metrics, roles, points, step ranges, hyperparameters."""
    from ..errors import InputError
    from ..ingest import discover, load_run
    from ..pipeline import as_named, metric_infos, shown_files
    from ..roles import build_series, load_overrides
    from ..ruleset.context import run_context

    try:
        overrides = load_overrides(roles) if roles else []
    except UsageError as exc:
        fail(str(exc))
    found = discover(list(paths))
    out: list[dict[str, Any]] = []
    for src in found.runs:
        try:
            run = load_run(src)
        except InputError as exc:
            out.append({"run": src.name, "error": str(exc)})
            continue
        series = build_series(run, overrides)
        infos = metric_infos(series)
        shown = shown_files(run.name, run.path, run.files)
        out.append({"run": run.name, "formats": list(run.formats), "files": [shown[f] for f in run.files],
                    "context": run_context(series, run.hparams).summary(),
                    "metrics": [m.__dict__ for m in infos], "hparams": {k: str(v) for k, v in run.hparams.items()},
                    "warnings": [as_named(w, run.name, run.path, run.files) for w in run.warnings],
                    "ignored_lines": _ignored(src)})
    if fmt == "json":
        click.echo(json.dumps({"runs": out, "messages": found.messages}, indent=2))
    else:
        _inspect_text(out, found.messages)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:  # as analyze: the others are shown, then exit 2 for input named on the command line
        fail("; ".join(f"{p}: no such file or directory" for p in missing))


def _ignored(src) -> list[dict[str, Any]]:
    """Per console log of a run: the lines without metric fields that were passed over."""
    from ..errors import InputError
    from ..ingest.textlog import ignored_lines
    from ..pipeline import shown_files

    shown = shown_files(src.name, src.directory, [x.path for x in src.files])
    out = []
    for f in src.files:
        if f.kind == "text":
            try:
                n, first = ignored_lines(f.path)
            except InputError:
                continue
            out.append({"file": shown[f.path], "count": n, "first": [{"line": i, "text": t} for i, t in first]})
    return out


def _inspect_text(out: list[dict[str, Any]], messages: list[str]) -> None:
    from ..numfmt import step_text

    for r in out:
        click.echo(f"{r['run']}")
        if "error" in r:
            click.echo(f"  ERROR {r['error']}")
            continue
        click.echo(f"  formats: {', '.join(r['formats'])}")
        click.echo(f"  kind: {_context_text(r['context'])}")
        for m in r["metrics"]:
            rng = f"{step_text(m['first_step'])}-{step_text(m['last_step'])}"
            nf = f"  ({m['nonfinite']} non-finite)" if m["nonfinite"] else ""
            click.echo(f"  {m['metric']:40s} {m['role']:16s} {m['points']:8d} pts  steps {rng}{nf}")
        if r["hparams"]:
            click.echo("  hparams: " + ", ".join(f"{k}={v}" for k, v in sorted(r["hparams"].items())[:20]))
        for ig in r.get("ignored_lines", []):
            if ig["count"]:
                eg = "; ".join(f"line {x['line']}: {x['text']!r}" for x in ig["first"])
                click.echo(f"  ignored: {ig['count']} line(s) of {ig['file']} without metric fields (e.g. {eg})")
        for w in r["warnings"]:
            click.echo(f"  warning: {w}")
    for m in messages:
        click.echo(f"note: {m}")
    if not out:
        click.echo("no runs found")




def _context_text(c: dict[str, Any]) -> str:
    """The run context in one line: kind and why, then what else is known."""
    facts = [f"{c['n_classes']} classes" if c["n_classes"] else "class count not given",
             f"logged {c['cadence'].replace('_', ' ')}" + (", sparse evaluations" if c["sparse_eval"] else ""),
             f"optimizer {c['optimizer']}" if c["optimizer"] else "", f"lr {c['lr_schedule']}" if c["lr_schedule"] else "",
             "fine-tune" if c["fine_tune"] else ""]
    return f"{c['kind']} ({c['kind_from']}); " + ", ".join(f for f in facts if f)
