"""`logsleuth rules` (list, show, validate, docs) and `logsleuth explain`."""

from __future__ import annotations

import sys

import click

from ..errors import RuleError, UsageError
from .common import EXIT_USAGE, fail, options, rules_option


@click.group()
def rules() -> None:
    """List, show, validate and document the rule set."""


@rules.command("list")
@rules_option()
def rules_list(rules) -> None:
    """Every active rule: id, severity, symptom, title."""
    rs = options(rules, None).ruleset
    for r in rs.rules:
        click.echo(f"{r.id:40s} {r.severity:8s} {r.symptom:24s} {r.title}")


@rules.command("show")
@click.argument("rule_id")
def rules_show(rule_id) -> None:
    """One rule in full."""
    import difflib
    from enum import Enum

    import yaml

    rs = options((), None).ruleset
    for r in rs.rules:
        if r.id == rule_id:
            d = {k: str(v) if isinstance(v, Enum) else v for k, v in r.__dict__.items() if v not in (None, (), {}, "")}
            d["causes"] = [dict(c) for c in r.causes]
            d["references"] = [dict(x) for x in r.references]
            click.echo(yaml.safe_dump(d, sort_keys=False, allow_unicode=True))
            return
    near = difflib.get_close_matches(rule_id, [r.id for r in rs.rules], n=3)
    fail(f"no rule {rule_id!r}" + (f"; did you mean {', '.join(near)}?" if near else "; see 'logsleuth rules list'"))


@rules.command("validate")
@click.argument("files", nargs=-1, required=True)
def rules_validate(files) -> None:
    """Check rule files; every problem is listed with file:line."""
    from ..ruleset import load_rule_file

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
    from ..docs import rules_markdown

    text = rules_markdown(cases_dir)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)



@click.command()
@click.argument("ident")
def explain(ident) -> None:
    """What a symptom or cause means, how it looks, what to do."""
    from ..docs import explain_text

    try:
        click.echo(explain_text(ident))
    except UsageError as exc:
        fail(str(exc))
