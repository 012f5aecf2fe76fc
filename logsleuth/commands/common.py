"""What the commands share: exit codes (CONTRACT.md), the one-line error, the options given
to several commands, and the rule set and role overrides they make."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

EXIT_OK = 0  # analysed, whatever was found
EXIT_FLAGGED = 1  # a run reached the --fail-on health
EXIT_USAGE = 2  # usage error, or input given explicitly on the command line that cannot be read
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


def fail(msg: str) -> None:
    click.echo(f"logsleuth: {msg}", err=True)
    sys.exit(EXIT_USAGE)


# options shared by several commands: one definition each
def rules_option(help_text: str = "Extra rule file or directory (repeatable); same ids override."):
    return click.option("--rules", "rules", multiple=True, metavar="PATH", help=help_text)


roles_option = click.option("--roles", type=click.Path(dir_okay=False), help="YAML mapping of metric name/glob to role.")


def cache_option(help_text: str = "Cache file [default: see analyze]."):
    return click.option("--cache", "cache_path", type=click.Path(dir_okay=False), default=None, help=help_text)


def options(rules: tuple[str, ...], roles: str | None, only_needed: bool = False, analysed: Sequence[str] = ()):
    """The pipeline options of --rules, --roles and --only-needed-metrics (the compiled copy of
    the built-in rules is never written inside the `analysed` paths)."""
    from .. import rulecache
    from ..pipeline import Options
    from ..roles import load_overrides
    from ..ruleset import builtin_ruleset, load_ruleset

    rulecache.protect(analysed)

    ruleset = load_ruleset(list(rules)) if rules else builtin_ruleset()
    overrides = tuple(load_overrides(roles)) if roles else ()
    return Options(ruleset=ruleset, role_overrides=overrides, only_needed=only_needed)


