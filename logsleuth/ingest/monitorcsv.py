"""Stable-Baselines3 / OpenAI baselines ``Monitor`` files: ``monitor.csv``, ``<rank>.monitor.csv``.

The layout: a JSON comment line ``#{"t_start": 1712345678.9, "env_id": "CartPole-v1"}``
(baselines writes ``# {...}``), a header ``r,l,t`` (more columns when the Monitor was given
``info_keywords``), then one row per finished episode: its return ``r``, its length ``l`` and
the seconds from ``t_start`` to its end ``t``.

Read as ``episode_reward`` (r: the reward role), ``episode_length`` (l) and every other numeric
column under its own name (``True``/``False`` as 1/0), at step = environment timesteps so far
(the running sum of ``l``), wall time ``t_start + t``.

Several monitor files of one directory (one per environment worker of a vectorised env:
``0.monitor.csv``, ``1.monitor.csv``; baselines' ``0.1.monitor.csv``) are one run: their episodes
merged in the order they ended (``t_start + t``) and the timesteps counted over all workers,
which is what SB3's ``load_results`` and ``plot_results`` show (x = timesteps).  A second
``#{...}`` line inside a file (a Monitor told not to override its file: a later job appended)
goes on from there: its episodes come after the earlier ones in time, the count goes on, and a
warning says so.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InputError
from .sniff import MONITOR_SUFFIX as NAME_SUFFIX
from .textio import read_text

if TYPE_CHECKING:  # numpy and pandas when a file is read, not at import: discovery sniffs without them
    import pandas as pd

    from .sniff import Probe
    from .tidy import ReadResult

NEEDED = ("r", "l", "t")  # the columns every Monitor file has
NAMES = {"r": "episode_reward", "l": "episode_length"}  # `t` is the wall time, not a metric
WORDS = {"true": 1.0, "false": 0.0, "nan": math.nan, "inf": math.inf, "-inf": -math.inf}  # an info keyword such as `is_success` written as a bool
MAX_SHOWN = 5  # line numbers quoted in a warning about rows that do not parse


def is_monitor_name(name: str) -> bool:
    """Whether a file name is one a Monitor writes (`monitor.csv`, `0.monitor.csv`)."""
    return os.path.basename(name).lower().endswith(NAME_SUFFIX)


def _comment(line: str) -> str | None:
    """The JSON text of a `#{...}` / `# {...}` line, else None."""
    s = line.strip()
    if not s.startswith("#"):
        return None
    body = s[1:].strip()
    return body if body.startswith("{") else None


def looks_like_monitor(head: str) -> bool:
    """A Monitor file's head: a `#{...}` line, then a header holding r, l and t."""
    lines = [ln for ln in head.replace("\r", "\n").split("\n") if ln.strip()]
    if len(lines) < 2 or _comment(lines[0]) is None:
        return False
    header = {h.strip() for h in lines[1].split(",")}
    return all(c in header for c in NEEDED)


def looks_like_monitor_file(p: Probe) -> bool:
    """A probed file with a Monitor's name and head (ingest.formats)."""
    return is_monitor_name(p.name) and looks_like_monitor(p.head.decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class Episode:
    end: float  # seconds since the epoch (or since t_start when the file does not say it)
    order: int  # files and rows in the order given: equal times keep it
    fields: dict[str, float]


def _t_start(text: str, path: str, lineno: int, warnings: list[str]) -> float | None:
    try:
        meta = json.loads(text)
    except ValueError:
        meta = None
    t0 = meta.get("t_start") if isinstance(meta, dict) else None
    t0 = float(t0) if isinstance(t0, (int, float)) and not isinstance(t0, bool) else None
    if t0 is None:
        warnings.append(f"{path}:{lineno}: a `#{{...}}` line without a readable t_start; its episodes are "
                        "placed by their own times t")
    return t0


def _value(cell: str) -> float | None:
    """A cell as a number (True/False as 1/0), None when it is not one."""
    word = WORDS.get(cell.strip().lower())
    if word is not None:
        return word
    try:
        return float(cell)
    except ValueError:
        return None


def parse_monitor(text: str, path: str, first_order: int = 0) -> tuple[list[Episode], list[str], bool]:
    """The episodes of one Monitor file's text, warnings naming file and line, and whether
    every `#{...}` line gave its t_start (else the episodes' times are relative)."""
    warnings: list[str] = []
    episodes: list[Episode] = []
    bad: list[int] = []
    header: list[str] | None = None
    t0: float | None = None
    sessions = 0
    wall_known = True
    for i, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        meta = _comment(line)
        if meta is not None:
            sessions += 1
            if sessions == 2:
                warnings.append(f"{path}:{i}: a second `#{{...}}` line (a later job appended to the file): its "
                                "episodes are read after the earlier ones, the timestep count going on")
            t0, header = _t_start(meta, path, i, warnings), None
            wall_known = wall_known and t0 is not None
            continue
        try:
            cells = [c.strip() for c in next(csv.reader([line]))]
        except csv.Error:
            bad.append(i)
            continue
        if header is None:
            header = cells
            if not all(c in header for c in NEEDED):
                raise InputError(path, f"a Monitor header without the columns {', '.join(NEEDED)}: {line.strip()[:80]!r}",
                                 where=str(i))
            continue
        values = [_value(c) for c in cells]
        row = dict(zip(header, values))
        if len(cells) != len(header) or any(row[c] is None for c in NEEDED):
            bad.append(i)
            continue
        fields = {NAMES.get(k, k): v for k, v in row.items() if k != "t" and v is not None}
        end = float(row["t"] or 0.0) + (t0 or 0.0)
        episodes.append(Episode(end, first_order + len(episodes), fields))
    if header is None:
        raise InputError(path, "no `#{...}` line and `r,l,t` header of a Monitor file")
    if bad:
        shown = ", ".join(map(str, bad[:MAX_SHOWN])) + (" ..." if len(bad) > MAX_SHOWN else "")
        warnings.append(f"{path}:{bad[0]}: {len(bad)} episode row(s) without numbers for r, l and t or with "
                        f"another number of cells than the header (line {shown}); skipped")
    return episodes, warnings, wall_known


def episodes_table(episodes: Sequence[Episode], known_wall: bool) -> pd.DataFrame:
    """The episodes in the order they ended as tidy rows at step = timesteps so far."""
    import numpy as np
    import pandas as pd

    ordered = sorted(episodes, key=lambda e: (e.end, e.order))
    steps = np.cumsum([e.fields[NAMES["l"]] for e in ordered])
    rows = [(k, float(s), v, e.end if known_wall else np.nan) for e, s in zip(ordered, steps) for k, v in e.fields.items()]
    return pd.DataFrame(rows, columns=["metric", "step", "value", "wall_time"])


def read_monitor(paths: Sequence[str]) -> ReadResult:
    """One run's Monitor files (one per environment worker) as one tidy table."""
    from ..model import empty_table
    from .tidy import ReadResult

    warnings: list[str] = []
    episodes: list[Episode] = []
    known_wall = True
    for p in paths:
        text, w = read_text(p)
        eps, w2, wall = parse_monitor(text, p, first_order=len(episodes))
        warnings += w + w2
        known_wall = known_wall and wall
        episodes += eps
    if not episodes:
        warnings.append(f"{', '.join(paths)}: a Monitor header but no finished episode")
        return ReadResult(empty_table(), warnings=warnings, fmt="sb3_monitor")
    return ReadResult(episodes_table(episodes, known_wall), warnings=warnings, fmt="sb3_monitor")
