"""The command line: parses options, calls the pipeline, maps outcomes to exit codes.

Exit codes (CONTRACT.md): 0 analysed; 1 a run reached --fail-on; 2 usage error or
unreadable input given explicitly on the command line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ._version import __version__
from .commands.cache import cache
from .commands.common import EXIT_FLAGGED, EXIT_INTERRUPTED, EXIT_USAGE, cache_option, roles_option, rules_option
from .commands.common import fail as _fail
from .commands.common import options as _options
from .commands.inspect import inspect
from .commands.rules import explain, rules
from .errors import LogsleuthError

if TYPE_CHECKING:
    from .model import Analysis

FORMATS = ("terminal", "markdown", "html", "json")


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
    from .scan import open_cache, storable, store_report, stored_report, worst_health

    if scheduler and executor != "dask":
        _fail("--scheduler needs --executor dask")
    _check_outputs(outputs, paths)
    targets = _targets(outputs, fmt)
    colors = [not no_color and output is None and sys.stdout.isatty() for output, _ in targets]
    width = _columns()
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
            spec = [[f, bool(o)] for o, f in targets] + [colors, verbose, show_all, width]
            lookup = stored_report(cache, list(paths), rules, roles, only_needed, spec)
            if lookup.stored is not None and len(lookup.stored["texts"]) == len(targets):
                if progress:
                    click.echo(f"logsleuth: {len(lookup.identities)} run(s) unchanged since the last scan of this "
                               "tree; its stored report", err=True)
                _emit(targets, lookup.stored["texts"], quiet)
                _exit_for(fail_on, lookup.stored.get("worst"))
                return
        from .scan import analyze_paths, plan_scan

        options = _options(rules, roles, only_needed, analysed=paths)
        if timeout and executor == "dask":
            click.echo("logsleuth: --timeout applies to the local executor only (Dask runs tasks in threads); ignored",
                       err=True)
        plan = plan_scan(list(paths), options, cache, lookup.found if lookup else None,
                         lookup.identities if lookup else None)
        draw = None
        markdown_plots = any(f == "markdown" and o for o, f in targets)
        if markdown_plots:  # the workers draw the PNG plots (matplotlib is imported there, not here); HTML draws SVG
            from .report import plots as _plots

            draw = _plots.drawn
        result = analyze_paths(list(paths), options, jobs=jobs, curves=curves, cache=cache, progress=progress,
                               executor=executor, scheduler=scheduler, timeout=timeout, plan=plan, plots=draw)
        for n in result.notices:
            click.echo(f"logsleuth: {n}", err=True)
        explicit_bad += result.explicit_errors
        texts = _reports(result, targets, colors, jobs=jobs, progress=progress, verbose=verbose, show_all=show_all,
                         width=width)
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


def _check_outputs(outputs: Sequence[str], paths: Sequence[str]) -> None:
    """Refuse (exit 2) an output file inside an analysed path or in a directory it cannot write."""
    from .scan import inside_analysed

    for output in outputs:
        if inside_analysed(output, paths):
            _fail(f"{output}: refusing to write inside an analysed path; choose a file outside {', '.join(paths)}")
        parent = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
            _fail(f"{output}: cannot write there ({parent} is not a writable directory)")


def _reports(result: Analysis, targets: list[tuple[str | None, str]], colors: list[bool], *, jobs: int | None,
             progress: bool, verbose: bool, show_all: bool, width: int | None) -> list[str]:
    """The text of every report asked for, in the order asked (the PNG plots drawn first when a
    Markdown file needs them; HTML draws its figures as SVG)."""
    pngs = None
    if any(f == "markdown" and o for o, f in targets):
        from .report.plots import render_all

        pngs = render_all(result, jobs=jobs, progress=progress)
    from .progress import Progress
    from .report.render import render

    texts = []
    with Progress(len(targets), enabled=progress and len(result.diagnoses) > 1, what="reports") as bar:
        for (output, f), color in zip(targets, colors):
            texts.append(render(result, f, output, pngs, color=color, verbose=verbose, show_all=show_all,
                                width=width if output is None else None))
            bar.update()
    return texts


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


def _columns() -> int | None:
    """The width of a report on stdout: $COLUMNS, else the terminal's; None (the report's own
    width for files and pipes) when neither is known."""
    import shutil

    cols = shutil.get_terminal_size((0, 0)).columns
    return max(60, cols) if cols > 0 else None


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
    from .report.render import render
    from .scan import inside_analysed

    targets = _targets(outputs, fmt)
    for output in outputs:
        if inside_analysed(output, tuple(runs) + ((baseline,) if baseline else ())):
            _fail(f"{output}: refusing to write inside a compared run; choose a file elsewhere")
    options = _options(rules, roles, analysed=tuple(runs) + ((baseline,) if baseline else ()))
    result = compare_paths(list(runs), baseline=baseline, options=options)
    pngs = rep.plots(result) if any(f in ("html", "markdown") and o for o, f in targets) else None
    _emit(targets, [render(result, f, output, pngs) for output, f in targets], quiet=True)


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

    options = _options(rules, None, analysed=(corpus,) if corpus else ())
    if reference:
        from .healthy_runs import measure

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
            ok = not c.flagged if c.cause == "healthy" else bool(set(c.predicted[:1]) & set(c.acceptable))
            click.echo(f"{'ok  ' if ok else 'MISS'} {c.name:32s} {c.cause:24s} -> {', '.join(c.predicted[:3]) or c.error}")


@main.command()
@click.argument("corpus", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Where to write the calibration [default: calibration.yaml of the built-in rules].")
@click.option("--folds", "families", default="kind,classes,cadence", show_default=True,
              help="Fold families to hold out, comma-separated (kind, classes, cadence).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Processes that compute the evidence.")
@click.option("--docs", "docs_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the held-out figures and the reliability table as Markdown here.")
@click.option("--test", "tests", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A labelled corpus never fitted, scored under the fit (repeatable); written to the provenance.")
@click.option("--baseline", "baseline", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A calibration.yaml scored beside the fit on each --test corpus [default: the one in force].")
@rules_option()
def calibrate(corpus, output, families, jobs, docs_path, tests, baseline, rules) -> None:
    """Fit thresholds, cause weights and the score map to a labelled CORPUS (label.yaml with
    kind, n_classes, cadence), report held-out folds, score it on --test corpora beside the
    calibration it would replace, and write the calibration."""
    from . import rulecache
    from .calibrate import FOLD_FAMILIES, fmt_figures, run_calibration, write_calibration
    from .calibrate.run import baseline_of
    from .params import CALIBRATION_FILE
    from .resources import builtin_rules_dir

    rulecache.protect([corpus])
    fams = [f.strip() for f in families.split(",") if f.strip()]
    bad = [f for f in fams if f not in FOLD_FAMILIES]
    if bad:
        _fail(f"--folds: unknown fold family {', '.join(bad)} (choose from {', '.join(FOLD_FAMILIES)})")
    try:
        base = baseline_of(baseline, list(rules)) if tests else None
        doc = run_calibration(corpus, fams, say=lambda m: click.echo(m, err=True), extra_rules=list(rules), jobs=jobs,
                              tests=list(tests), baseline=base)
    except LogsleuthError as exc:
        _fail(str(exc))
    path = output or str(builtin_rules_dir() / CALIBRATION_FILE)
    write_calibration(doc, path)
    if docs_path:
        from .calibrate import calibration_markdown

        with open(docs_path, "w", encoding="utf-8") as fh:
            fh.write(calibration_markdown(doc))
    for fam, fig in doc["provenance"]["held_out"].items():
        click.echo(f"held out by {fam:8s} ({fig['folds']} folds): {fmt_figures(fig)}")
    click.echo(f"train (all runs): {fmt_figures(doc['provenance']['train_figures'])}")
    for t in doc["provenance"].get("tested_on", []):
        click.echo(f"test {t['corpus']} ({t['fit']['runs']} runs, {t['shared_with_fit']} shared with the fit): "
                   f"{fmt_figures(t['fit'])}")
        if "baseline" in t:
            click.echo(f"  baseline {t['baseline']['calibration']}: {fmt_figures(t['baseline'])}")
    click.echo(f"wrote {path}")


main.add_command(inspect)
main.add_command(rules)
main.add_command(cache)
main.add_command(explain)


def run() -> None:
    """The `logsleuth` program (console script and `python -m logsleuth`): `main`, then, on the
    way out, every object still alive is moved out of the collector's sight (gc.freeze), so the
    interpreter's final collection does not walk the ~300k objects of numpy, pandas and the
    rules one last time (~50 ms of a one-run analyze, as long as logsleuth's own imports).
    Files, the cache and worker pools are closed by the commands themselves before this; what a
    frozen object still holds is freed when the process ends. Only the process entry does this:
    a program or test that calls `main` in its own process keeps its collector as it was."""
    import gc

    try:
        main()
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    run()
