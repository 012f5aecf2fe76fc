"""What every console layout shares (ingest.consolelayouts, ingest.consoleyolo): how a layout
is declared, the rows its parser gives, the number it reads, and the warning about lines that
look like the layout but do not parse."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Row = tuple[str, float, float]  # (metric, step, value), in the order logged

NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
MIN_HITS = 3  # lines of a layout in a file's head before it is taken for that layout (as textlog asks)
MAX_SHOWN = 5  # line numbers quoted in a warning about lines that do not parse


@dataclass(frozen=True)
class ConsoleFormat:
    name: str
    sniff: Callable[[Sequence[str]], bool]
    parse: Callable[[Sequence[str], str], tuple[list[Row], list[str]]]
    rank: int  # sniffed lowest first, most specific first: the first whose sniff accepts a head reads the file
    keep_cr: bool = False  # parse the file's lines with their `\r`-redrawn pieces (a tqdm bar's updates)


def malformed(path: str, what: str, lines: list[int]) -> list[str]:
    """One warning for the lines that looked like the layout but did not parse."""
    if not lines:
        return []
    more = ", ".join(map(str, lines[:MAX_SHOWN])) + (" ..." if len(lines) > MAX_SHOWN else "")
    return [f"{path}:{lines[0]}: {len(lines)} line(s) that look like {what} but do not parse (line {more}); skipped"]
