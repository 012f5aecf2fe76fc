"""Console logs of a known layout that the `name value` line parser (textlog) cannot read: the
registry of layouts and the reader.

The layouts are declared where they are parsed, each module's in its LAYOUTS
(ingest.consolelayouts: pix2pix/CycleGAN loss logs, baselines/SB3 tables, epoch blocks,
`step tag value` lines; ingest.consolesteps: step blocks, llm.c logs, RL episode summaries,
space-aligned tables; ingest.consoleyolo: ultralytics YOLO console output); FORMATS is all of
them by rank.  A new layout is a sniff and a parser in one of those modules and one line in its
LAYOUTS.

Every parser gives (metric, step, value) rows in the order logged; a counter going back (a
restart) is left to ingest.segments, as for every reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError
from . import consolelayouts, consolesteps, consoleyolo
from .consolebase import ConsoleFormat
from .sniff import DEEP_SNIFF_BYTES, long_head
from .textio import read_text
from .textlog import config_dump

if TYPE_CHECKING:
    from .sniff import Probe
    from .tidy import ReadResult

__all__ = ["FORMATS", "ConsoleFormat", "console_format", "looks_like_console", "looks_like_console_further", "read_console"]

FORMATS = tuple(sorted(consolelayouts.LAYOUTS + consolesteps.LAYOUTS + consoleyolo.LAYOUTS, key=lambda f: f.rank))
SNIFF_LINES = 400  # of a file's head, as textlog looks at


def console_format(text: str) -> ConsoleFormat | None:
    """The known layout of a console log's head, or None."""
    lines = text.split("\n")[:SNIFF_LINES]
    return next((f for f in FORMATS if f.sniff(lines)), None)


def looks_like_console(p: Probe) -> bool:
    """A probed file whose head is a known layout (ingest.formats)."""
    return console_format(p.text) is not None


def looks_like_console_further(p: Probe) -> bool:
    """A known layout further into a probed file whose head is filled by something else."""
    return long_head(p) and console_format(p.more(DEEP_SNIFF_BYTES)) is not None


def read_console(path: str) -> ReadResult:
    """A console log of one of the known layouts as a tidy table, in the order logged."""
    import numpy as np  # here, not at import: discovery sniffs without pandas
    import pandas as pd

    from ..model import empty_table
    from .tidy import ReadResult

    raw, warnings = read_text(path, keep_cr=True)
    text = raw.replace("\r", "\n")
    fmt = console_format(text)
    if fmt is None:
        raise InputError(path, f"not a console log of a known layout ({', '.join(f.name for f in FORMATS)})")
    rows, w = fmt.parse((raw if fmt.keep_cr else text).split("\n"), path)
    warnings += w
    hparams = config_dump(text)  # the settings printed before training, as for console text
    if not rows:
        return ReadResult(empty_table(), hparams=hparams, warnings=warnings, fmt=fmt.name)
    table = pd.DataFrame(rows, columns=["metric", "step", "value"])
    table["wall_time"] = np.nan
    return ReadResult(table, hparams=hparams, warnings=warnings, fmt=fmt.name)
