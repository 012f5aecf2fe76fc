"""The command line: parses options, calls the pipeline, maps outcomes to exit codes.

Exit codes (CONTRACT.md): 0 analysed; 1 a run reached --fail-on; 2 usage error or
unreadable input given explicitly on the command line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import click

from ._version import __version__
from .errors import LogsleuthError, RuleError, UsageError

FORMATS = ("terminal", "markdown", "html", "json")

# exit codes (CONTRACT.md)
EXIT_OK = 0  # analysed, whatever was found
EXIT_FLAGGED = 1  # a run reached the --fail-on health
EXIT_USAGE = 2  # usage error, or input given explicitly on the command line that cannot be read
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


def _fail(msg: str) -> None:
    click.echo(f"logsleuth: {msg}", err=True)
    sys.exit(EXIT_USAGE)


# options shared by several commands: one definition each
def rules_option(help_text: str = "Extra rule file or directory (repeatable); same ids override."):
    return click.option("--rules", "rules", multiple=True, metavar="PATH", help=help_text)


roles_option = click.option("--roles", type=click.Path(dir_okay=False), help="YAML mapping of metric name/glob to role.")


def cache_option(help_text: str = "Cache file [default: see analyze]."):
    return click.option("--cache", "cache_path", type=click.Path(dir_okay=False), default=None, help=help_text)


def _options(rules: tuple[str, ...], roles: str | None, only_needed: bool = False):
    from .pipeline import Options
    from .roles import load_overrides
    from .ruleset import builtin_ruleset, load_ruleset

    ruleset = load_ruleset(list(rules)) if rules else builtin_ruleset()
    overrides = tuple(load_overrides(roles)) if roles else ()
    return Options(ruleset=ruleset, role_overrides=overrides, only_needed=only_needed)


class _Group(click.Group):
    """Every command: a logsleuth error (bad rules file, bad roles file, missing path, ...) is
    one line on stderr and exit 2, never a traceback; so is an unexpected failure."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LogsleuthError as exc:
            _fail(str(exc))
        except KeyboardInterrupt as exc:
            done = ""
            analysed, cached = getattr(exc, "analysed", None), getattr(exc, "cached", None)
            if analysed is not None:
                done = (f"; {analysed} run(s) analysed before it, {cached} of them kept in the cache "
                        f"(the next scan does only the rest)")
            click.echo(f"\nlogsleuth: interrupted; no report written{done}", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except OSError as exc:
            _fail(f"{getattr(exc, 'filename', None) or ''}: {exc.strerror or exc}".lstrip(": "))
        except Exception as exc:
            _fail(f"internal error: {type(exc).__name__}: {exc} (please report it)")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="logsleuth")
def main() -> None:
    """Post-mortem of neural-network training runs: symptoms, ranked causes, remedies."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Report format [default: terminal; with -o, from the file's extension].")
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(dir_okay=False),
              help="Write the report to FILE (repeatable: -o r.html -o r.md writes both from one analysis).")
@rules_option()
@roles_option
@click.option("--fail-on", type=click.Choice(["never", "warning", "critical"]), default="never", show_default=True,
              help="Exit 1 when a run reaches this health.")
@click.option("--no-color", is_flag=True, help="No ANSI colours (also when stdout is not a terminal).")
@click.option("-v", "--verbose", is_flag=True,
              help="Also the rules behind each symptom, every cause, the rules that could not run, every warning.")
@click.option("--all", "show_all", is_flag=True,
              help="Terminal: details of every run (by default, of the 12 worst when there are 12 runs or more).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes [default: all cores].")
@click.option("-q", "--quiet", is_flag=True, help="No progress line and no 'wrote FILE' on stderr.")
@cache_option("SQLite cache of diagnoses [default: $LOGSLEUTH_CACHE, else ~/.cache/logsleuth/diagnoses.sqlite].")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: process pool of --jobs; dask: a Dask distributed cluster (pip install 'logsleuth-training[dask]').")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786); without it, a local Dask cluster of --jobs workers.")
@click.option("--only-needed-metrics", "only_needed", is_flag=True,
              help="Read only the metrics a rule or a plot uses (runs with thousands of tags); the others are not listed.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Stop analysing a run after SECONDS; it is reported as an error (local executor).")
def analyze(paths, fmt, outputs, rules, roles, fail_on, no_color, verbose, show_all, jobs, quiet, cache_path, no_cache,
            executor, scheduler, only_needed, timeout) -> None:
    """Analyse the runs found under PATHS (files, run directories or trees)."""
    from .scan import inside_analysed, open_cache, storable, store_report, stored_report, worst_health

    if scheduler and executor != "dask":
        _fail("--scheduler needs --executor dask")
    for output in outputs:
        if inside_analysed(output, paths):
            _fail(f"{output}: refusing to write inside an analysed path; choose a file outside {', '.join(paths)}")
        parent = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
            _fail(f"{output}: cannot write there ({parent} is not a writable directory)")
    targets = _targets(outputs, fmt)
    colors = [not no_color and output is None and sys.stdout.isatty() for output, _ in targets]
    cache = None
    if not no_cache:
        cache, note = open_cache(cache_path, paths)
        if note:
            click.echo(f"logsleuth: {note}", err=True)
    curves = any(f == "html" or (f == "markdown" and o) for o, f in targets)
    explicit_bad = [f"{p}: no such file or directory" for p in paths if not os.path.exists(p)]
    progress = not quiet and sys.stderr.isatty()
    lookup = None
    try:
        if cache is not None and not explicit_bad and not any(f == "markdown" and o for o, f in targets):
            spec = [[f, bool(o)] for o, f in targets] + [colors, verbose, show_all]
            lookup = stored_report(cache, list(paths), rules, roles, only_needed, spec)
            if lookup.stored is not None and len(lookup.stored["texts"]) == len(targets):
                if progress:
                    click.echo(f"logsleuth: {len(lookup.identities)} run(s) unchanged since the last scan of this "
                               "tree; its stored report", err=True)
                _emit(targets, lookup.stored["texts"], quiet)
                _exit_for(fail_on, lookup.stored.get("worst"))
                return
        from .scan import analyze_paths, plan_scan

        options = _options(rules, roles, only_needed)
        if timeout and executor == "dask":
            click.echo("logsleuth: --timeout applies to the local executor only (Dask runs tasks in threads); ignored",
                       err=True)
        plan = plan_scan(list(paths), options, cache, lookup.found if lookup else None,
                         lookup.identities if lookup else None)
        draw = None
        if curves:  # the workers draw the plots (matplotlib is imported there, not here)
            from .report import plots as _plots

            draw = _plots.drawn
        result = analyze_paths(list(paths), options, jobs=jobs, curves=curves, cache=cache, progress=progress,
                               executor=executor, scheduler=scheduler, timeout=timeout, plan=plan, plots=draw)
        for n in result.notices:
            click.echo(f"logsleuth: {n}", err=True)
        explicit_bad += result.explicit_errors
        pngs = None
        if any(f in ("html", "markdown") and o for o, f in targets):
            from .report.plots import render_all

            pngs = render_all(result, jobs=jobs)
        texts = [_render(result, f, output, pngs, color=color, verbose=verbose, show_all=show_all)
                 for (output, f), color in zip(targets, colors)]
        worst = worst_health(result.diagnoses)
        if lookup is not None and cache is not None and storable(result, explicit_bad):
            note = store_report(cache, lookup.key, texts, worst)
            if note:
                click.echo(f"logsleuth: {note}", err=True)
    finally:
        if cache is not None:
            cache.close()
    _emit(targets, texts, quiet)
    if explicit_bad:
        for p in explicit_bad:
            click.echo(f"logsleuth: {p}", err=True)
        sys.exit(EXIT_USAGE)
    _exit_for(fail_on, worst)


def _exit_for(fail_on: str, worst: str | None) -> None:
    """Exit 1 when the worst run reached the --fail-on health."""
    if fail_on != "never":
        levels = ("warning", "critical") if fail_on == "warning" else ("critical",)
        if worst in levels:
            sys.exit(EXIT_FLAGGED)


def _emit(targets: list[tuple[str | None, str]], texts: Sequence[str | bytes], quiet: bool) -> None:
    """Each report to its file (whole or not at all) or to stdout (stored reports are UTF-8 bytes)."""
    for (output, _), text in zip(targets, texts):
        if output:
            try:
                _write_whole(output, text)
            except OSError as exc:
                _fail(f"{output}: cannot write: {exc.strerror or exc}")
            if not quiet:
                click.echo(f"wrote {output}", err=True)
        else:
            click.echo(text, nl=False)


def _write_whole(path: str, text: str | bytes) -> None:
    """Write a report in one piece: a temporary file beside it, then renamed over it, so an
    interrupted or failed write never leaves half a report (nor removes an older one)."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".logsleuth-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make the report private
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)  # our own temporary file, never the user's
        raise


_EXT = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".json": "json",
        ".txt": "terminal", ".log": "terminal"}


def _targets(outputs: tuple[str, ...], fmt: str | None) -> list[tuple[str | None, str]]:
    """(file or None for stdout, format) of every report to write; --format with several -o is refused."""
    if fmt and len(outputs) > 1:
        _fail(f"--format {fmt} with {len(outputs)} -o files: give one -o, or let each file's extension choose its format")
    return [(o, _format_of(o, fmt)) for o in outputs] or [(None, fmt or "terminal")]


def _format_of(output: str, explicit: str | None) -> str:
    """The report format of an -o FILE: --format when given (for every -o), else the extension;
    an extension we do not write is a usage error, not terminal text in report.xml."""
    if explicit:
        return explicit
    ext = os.path.splitext(output)[1].lower()
    if ext not in _EXT:
        _fail(f"{output}: unknown report extension {ext or '(none)'!r}; use one of {', '.join(sorted(_EXT))} or --format")
    return _EXT[ext]


def _render(result, fmt: str, output: str | None, pngs: dict | None, color: bool, verbose: bool,
            show_all: bool = False) -> str:
    from .report import to_json, to_markdown, to_terminal

    if fmt == "json":
        return to_json(result)
    if fmt == "markdown":
        links = None
        if output and pngs:
            from .report.plots import write_plot_files

            links = write_plot_files(pngs, output)
        return to_markdown(result, links)
    if fmt == "html":
        from .report.html import to_html

        if pngs is None:
            from .report.plots import render_all

            pngs = render_all(result)
        return to_html(result, pngs)
    return to_terminal(result, color=color, verbose=verbose, show_all=show_all)


@main.command()
@click.argument("runs", nargs=-1, required=True)
@click.option("--baseline", metavar="RUN", help="Compare every run with this one [default: the first].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Report format [default: terminal; with -o, from the file's extension].")
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(dir_okay=False),
              help="Write the report to FILE (repeatable).")
@rules_option()
@roles_option
def compare(runs, baseline, fmt, outputs, rules, roles) -> None:
    """Why did one run do worse than another: the settings that differ, where the curves part,
    which ends better, the symptoms only one run shows.  Each RUN is a log file or a run
    directory holding one run."""
    from .compare import compare_paths
    from .report import compare as rep
    from .scan import inside_analysed

    targets = _targets(outputs, fmt)
    for output in outputs:
        if inside_analysed(output, tuple(runs) + ((baseline,) if baseline else ())):
            _fail(f"{output}: refusing to write inside a compared run; choose a file elsewhere")
    options = _options(rules, roles)
    result = compare_paths(list(runs), baseline=baseline, options=options)
    pngs = rep.plots(result) if any(f in ("html", "markdown") and o for o, f in targets) else None
    for output, f in targets:
        if f == "json":
            text = rep.to_json(result)
        elif f == "html":
            text = rep.to_html(result, pngs)
        elif f == "markdown":
            links = None
            if output and pngs:
                from .report.plots import write_plot_files

                named = {f"{i}-{m}": png for (i, m), png in pngs.items()}
                files = write_plot_files(named, output)
                links = {(i, m): files[f"{i}-{m}"] for (i, m) in pngs}
            text = rep.to_markdown(result, links)
        else:
            text = rep.to_terminal(result)
        if output:
            _write_whole(output, text)
        else:
            click.echo(text, nl=False)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@roles_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def inspect(paths, roles, fmt) -> None:
    """Show what was read: runs, metrics, roles, points, step ranges, hyperparameters."""
    from .errors import InputError
    from .ingest import discover, load_run
    from .pipeline import metric_infos
    from .roles import build_series, load_overrides
    from .ruleset.context import run_context

    try:
        overrides = load_overrides(roles) if roles else []
    except UsageError as exc:
        _fail(str(exc))
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
        ctx = run_context(series, run.hparams).summary()
        out.append({"run": run.name, "formats": list(run.formats), "files": [os.path.relpath(f) for f in run.files],
                    "context": ctx,
                    "metrics": [m.__dict__ for m in infos], "hparams": {k: str(v) for k, v in run.hparams.items()},
                    "warnings": list(run.warnings), "ignored_lines": _ignored(src)})
    if fmt == "json":
        click.echo(json.dumps({"runs": out, "messages": found.messages}, indent=2))
    else:
        _inspect_text(out, found.messages)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:  # as analyze: the others are shown, then exit 2 for input named on the command line
        _fail("; ".join(f"{p}: no such file or directory" for p in missing))


def _ignored(src) -> list[dict[str, Any]]:
    """Per console log of a run: the lines without metric fields that were passed over."""
    from .errors import InputError
    from .ingest.textlog import ignored_lines

    out = []
    for f in src.files:
        if f.kind == "text":
            try:
                n, first = ignored_lines(f.path)
            except InputError:
                continue
            out.append({"file": os.path.relpath(f.path), "count": n, "first": [{"line": i, "text": t} for i, t in first]})
    return out


def _inspect_text(out: list[dict[str, Any]], messages: list[str]) -> None:
    from .numfmt import step_text

    for r in out:
        click.echo(f"{r['run']}")
        if "error" in r:
            click.echo(f"  ERROR {r['error']}")
            continue
        click.echo(f"  formats: {', '.join(r['formats'])}")
        c = r["context"]
        facts = [f"{c['n_classes']} classes" if c["n_classes"] else "class count not given",
                 f"logged {c['cadence'].replace('_', ' ')}" + (", sparse evaluations" if c["sparse_eval"] else ""),
                 f"optimizer {c['optimizer']}" if c["optimizer"] else "", f"lr {c['lr_schedule']}" if c["lr_schedule"] else "",
                 "fine-tune" if c["fine_tune"] else ""]
        click.echo(f"  kind: {c['kind']} ({c['kind_from']}); " + ", ".join(f for f in facts if f))
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


@main.command("eval")
@click.argument("corpus", type=click.Path(), required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@rules_option()
@click.option("-v", "--verbose", is_flag=True, help="One line per labelled run.")
@click.option("--reference", "reference", is_flag=True,
              help="Measure false alarms per rule on the generated healthy reference set instead.")
@click.option("--seeds", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="With --reference: runs per training family.")
def eval_cmd(corpus, fmt, rules, verbose, reference, seeds) -> None:
    """Score the diagnosis: against the label.yaml files under CORPUS, against an OUTCOMES.yaml
    file (expectations for the real runs beside it), against the real-runs reference set (a
    directory of manifest.yaml files, split by repository), or (--reference) on healthy
    generated runs."""
    from .evaluate import evaluate_corpus, evaluate_outcomes, format_outcomes, format_reference, format_scores

    options = _options(rules, None)
    if reference:
        from .reference import measure

        fa = measure(seeds=seeds, options=options)
        if fmt == "json":
            click.echo(json.dumps({"runs": fa.runs, "flagged": fa.flagged, "per_rule": dict(fa.per_rule),
                                   "per_rule_any": dict(fa.per_rule_any)}, indent=2, sort_keys=True))
        else:
            click.echo(format_reference(fa, [r.id for r in options.ruleset.rules]))
        return
    if corpus is None:
        _fail("give a labelled corpus directory, an OUTCOMES.yaml file, or --reference")
    if os.path.isfile(corpus):
        cases = evaluate_outcomes(corpus, options)
        if fmt == "json":
            click.echo(json.dumps([c.__dict__ for c in cases], indent=2, sort_keys=True))
        else:
            click.echo(format_outcomes(cases, verbose))
        return
    from .evaluate import format_real_reference, label_dirs, real_manifests, real_reference_figures

    if os.path.isdir(corpus) and real_manifests(corpus) and not label_dirs(corpus):
        from .evaluate import evaluate_real_reference

        runs = evaluate_real_reference(corpus, options)
        if fmt == "json":
            click.echo(json.dumps({"halves": real_reference_figures(runs), "runs": [r.__dict__ for r in runs]},
                                  indent=2, default=list))
        else:
            click.echo(format_real_reference(runs, verbose))
        return
    try:
        scores = evaluate_corpus(corpus, options)
    except LogsleuthError as exc:
        _fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(scores.as_dict(), indent=2))
        return
    click.echo(format_scores(scores))
    if verbose:
        click.echo("")
        for c in scores.cases:
            ok = c.predicted[:1] == ("healthy",) if c.cause == "healthy" else bool(set(c.predicted[:1]) & set(c.acceptable))
            click.echo(f"{'ok  ' if ok else 'MISS'} {c.name:32s} {c.cause:24s} -> {', '.join(c.predicted[:3]) or c.error}")


@main.command()
@click.argument("corpus", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Where to write the calibration [default: calibration.yaml of the built-in rules].")
@click.option("--folds", "families", default="kind,classes,cadence", show_default=True,
              help="Fold families to hold out, comma-separated (kind, classes, cadence).")
@rules_option()
def calibrate(corpus, output, families, rules) -> None:
    """Fit thresholds, cause weights and the score map to a labelled CORPUS (label.yaml with
    kind, n_classes, cadence), report held-out folds, and write the calibration."""
    from .calibrate import FOLD_FAMILIES, fmt_figures, run_calibration, write_calibration
    from .params import CALIBRATION_FILE
    from .resources import builtin_rules_dir

    fams = [f.strip() for f in families.split(",") if f.strip()]
    bad = [f for f in fams if f not in FOLD_FAMILIES]
    if bad:
        _fail(f"--folds: unknown fold family {', '.join(bad)} (choose from {', '.join(FOLD_FAMILIES)})")
    try:
        doc = run_calibration(corpus, fams, say=lambda m: click.echo(m, err=True), extra_rules=list(rules))
    except LogsleuthError as exc:
        _fail(str(exc))
    path = output or str(builtin_rules_dir() / CALIBRATION_FILE)
    write_calibration(doc, path)
    for fam, fig in doc["provenance"]["held_out"].items():
        click.echo(f"held out by {fam:8s} ({fig['folds']} folds): {fmt_figures(fig)}")
    click.echo(f"train (all runs): {fmt_figures(doc['provenance']['train_figures'])}")
    click.echo(f"wrote {path}")


@main.group()
def rules() -> None:
    """List, show, validate and document the rule set."""


@rules.command("list")
@rules_option()
def rules_list(rules) -> None:
    """Every active rule: id, severity, symptom, title."""
    rs = _options(rules, None).ruleset
    for r in rs.rules:
        click.echo(f"{r.id:40s} {r.severity:8s} {r.symptom:24s} {r.title}")


@rules.command("show")
@click.argument("rule_id")
def rules_show(rule_id) -> None:
    """One rule in full."""
    import difflib
    from enum import Enum

    import yaml

    rs = _options((), None).ruleset
    for r in rs.rules:
        if r.id == rule_id:
            d = {k: str(v) if isinstance(v, Enum) else v for k, v in r.__dict__.items() if v not in (None, (), {}, "")}
            d["causes"] = [dict(c) for c in r.causes]
            d["references"] = [dict(x) for x in r.references]
            click.echo(yaml.safe_dump(d, sort_keys=False, allow_unicode=True))
            return
    near = difflib.get_close_matches(rule_id, [r.id for r in rs.rules], n=3)
    _fail(f"no rule {rule_id!r}" + (f"; did you mean {', '.join(near)}?" if near else "; see 'logsleuth rules list'"))


@rules.command("validate")
@click.argument("files", nargs=-1, required=True)
def rules_validate(files) -> None:
    """Check rule files; every problem is listed with file:line."""
    from .ruleset import load_rule_file

    problems = []
    n = 0
    for f in files:
        try:
            n += len(load_rule_file(f))
        except RuleError as exc:
            problems += exc.problems
    if problems:
        for p in problems:
            click.echo(p, err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"{len(files)} file(s), {n} rule(s): valid")


@rules.command("docs")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@click.option("--cases", "cases_dir", type=click.Path(file_okay=False),
              help="Directory of rule case files (tests/rule_cases in a checkout) to list with each rule.")
def rules_docs(output, cases_dir) -> None:
    """The rule reference (docs/rules.md), generated from the YAML."""
    from .docs import rules_markdown

    text = rules_markdown(cases_dir)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@main.group()
def cache() -> None:
    """Where the diagnosis cache is, how big it is; clear it."""


@cache.command("info")
@cache_option()
def cache_info(cache_path) -> None:
    """Path, number of cached runs and size of the cache."""
    from .cache import DiagnosisCache, default_path

    path = cache_path or default_path()
    if not os.path.exists(path):
        click.echo(f"{path}: no cache yet")
        return
    try:
        c = DiagnosisCache(path)
        st = c.stats()
        c.close()
    except Exception as exc:
        _fail(f"{path}: unreadable cache ({exc}); delete the file to start again")
    ages = ""
    if st["entries"]:
        now = time.time()
        ages = f"; oldest entry {_age(now - st['oldest'])} old, newest {_age(now - st['newest'])}"
    reports = f" and {st['reports']} stored report(s) of whole scans" if st["reports"] else ""
    click.echo(f"{st['path']}: {st['entries']} run(s){reports}, {os.path.getsize(path) / 1e6:.1f} MB on disk{ages}")


_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNITS_B = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}
# the bound `cache prune` keeps the cache under unless told otherwise: about 150,000 runs' diagnoses
# (plot curves take more), small beside the logs it stands for
DEFAULT_CACHE_MAX = "500MB"


def _age(seconds: float) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= n:
            return f"{seconds / n:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def _quantity(text: str, units: dict[str, int], what: str, example: str) -> float:
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text or "")
    if not m or m.group(2).lower() not in units:
        raise click.BadParameter(f"{text!r} is not a {what} like {example} (units: {', '.join(k for k in units if k)})")
    return float(m.group(1)) * units[m.group(2).lower()]


@cache.command("clear")
@cache_option()
def cache_clear(cache_path) -> None:
    """Remove every cached diagnosis (the next scan re-reads every run)."""
    from .cache import CacheError, check_cache_file, default_path

    path = cache_path or default_path()
    try:
        check_cache_file(path)
    except CacheError as exc:
        _fail(str(exc))
    removed = 0
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
            removed += 1
    click.echo(f"{path}: cleared" if removed else f"{path}: no cache to clear")


@cache.command("prune")
@cache_option()
@click.option("--older-than", metavar="AGE", default=None, help="Drop entries stored longer ago than AGE (30d, 12h, 2w).")
@click.option("--max-size", metavar="SIZE", default=DEFAULT_CACHE_MAX, show_default=True,
              help="Then drop the oldest entries until the rest take at most SIZE (300MB, 2GB).")
def cache_prune(cache_path, older_than, max_size) -> None:
    """Drop old cache entries: those older than --older-than, then the oldest until the cache
    is under --max-size (the runs they stood for are simply analysed again next time)."""
    from .cache import CacheError, DiagnosisCache, check_cache_file, default_path

    seconds = _quantity(older_than, _UNITS_S, "duration", "30d") if older_than is not None else None
    limit = int(_quantity(max_size, _UNITS_B, "size", "500MB"))
    path = cache_path or default_path()
    if not os.path.exists(path):
        click.echo(f"{path}: no cache yet")
        return
    try:
        check_cache_file(path)
        c = DiagnosisCache(path)
        before = c.stats()
        c.prune(seconds, limit)
        left = c.stats()
        c.close()
    except CacheError as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"{path}: unreadable cache ({exc}); delete the file to start again")
    reports = before["reports"] - left["reports"]
    also = f" and {reports} stored report(s)" if reports else ""
    click.echo(f"{path}: dropped {before['entries'] - left['entries']} run(s){also}; {left['entries']} left "
               f"({left['bytes'] / 1e6:.1f} MB of entries)")


@main.command()
@click.argument("ident")
def explain(ident) -> None:
    """What a symptom or cause means, how it looks, what to do."""
    from .docs import explain_text

    try:
        click.echo(explain_text(ident))
    except UsageError as exc:
        _fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
