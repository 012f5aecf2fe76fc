"""The one exception hierarchy of logsleuth.

    LogsleuthError              anything logsleuth raises on purpose
    ├── InputError              a log file cannot be read (names the file and where)
    ├── RuleError               a rule file is invalid (names file:line, key, valid choices)
    └── UsageError              the command line or a config file is wrong

User errors are reported as one line, never as a traceback.
"""

from __future__ import annotations


class LogsleuthError(Exception):
    """Base class of every error logsleuth raises on purpose."""


class InputError(LogsleuthError):
    """A log file (or run directory) cannot be read."""

    def __init__(self, path: str, message: str, where: str | None = None) -> None:
        self.path = str(path)
        self.where = where
        self.message = message
        loc = f"{self.path}:{where}" if where else self.path
        super().__init__(f"{loc}: {message}")


class RuleError(LogsleuthError):
    """One or more problems in a rule file; every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UsageError(LogsleuthError):
    """The command line or a configuration file is wrong."""
