"""Console logs of a known layout that the `name value` line parser (textlog) cannot read.

Each layout is one small parser, written by many repositories because they copy one codebase:

- ``pix2pix``: pix2pix / CycleGAN's ``loss_log.txt``, one line per print
  (``(epoch: 1, iters: 100, time: 0.32, data: 0.17) G_GAN: 1.2 G_L1: 3.4 D_real: 0.5 D_fake: 0.6``),
  a ``==== Training Loss (date) ====`` header at every (re)start.  ``iters`` counts within the
  epoch, so the step is ``(epoch - 1) x iters-per-epoch + iters``; the losses are named as the
  code names them (``loss_G_GAN``), which is what makes G_*/D_* read as adversarial losses.
- ``baselines``: the key-value tables of OpenAI baselines' and Stable-Baselines3's logger
  (``| ep_rew_mean | 20.5 |`` rows between dashed rules, SB3's ``rollout/`` section rows);
  the step is the table's timestep counter (``total_timesteps``), else the table's order.
- ``epoch_blocks``: blocks opened by a decorated epoch header (``**** EPOCH 003 ****``) holding
  one ``name: value`` per line (PointNet's and its forks' ``log_train.txt``).  A name said
  several times in a block (a running mean printed as the epoch goes) counts once, its last
  value: the epoch's.
- ``step_tag_value``: ``<step> <tag> <value>`` lines (build-nanogpt's ``log.txt``:
  ``250 val 4.81``); its bare split tags are its losses (``train`` -> ``train/loss``).
- ``yolo_console``: ultralytics YOLOv5/v8/v9's console output: a column header
  (``Epoch  GPU_mem  box_loss  cls_loss  dfl_loss  Instances  Size``), tqdm progress lines
  (``17/199  61.6G  1.097  0.8743  1.234  213  640: 100%|###| 60/60 [...]``, an epoch's updates
  often glued by ``\r``), and a validation header (``Class Images Instances Box(P R mAP50
  mAP50-95)``) with its ``all`` row.  An epoch's last update (its losses are running means: the
  epoch's) gives ``train/<name>_loss`` at step = the epoch as printed; an epoch whose last bar
  stops short (the job died in it) is left out and said.  The first ``all`` row after it gives
  ``metrics/precision``, ``metrics/recall``, ``metrics/mAP50``, ``metrics/mAP50-95`` (a second
  group, a segmentation or pose model's masks, with the suffix ``(M)``/``(P)``) at that epoch;
  later ``all`` rows before the next epoch (the final validation of best.pt) are not that epoch's.
  GPU memory, instance count and image size are not read.  Line numbers in its warnings are the
  file's as ``grep -n`` counts them (``\r`` does not end a line).

Every parser gives (metric, step, value) rows in the order logged; a counter going back (a
restart) is left to ingest.segments, as for every reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InputError
from .sniff import DEEP_SNIFF_BYTES, long_head
from .textio import read_text
from .textlog import parse_line

if TYPE_CHECKING:
    from .sniff import Probe
    from .tidy import ReadResult

Row = tuple[str, float, float]

_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
MIN_HITS = 3  # lines of a layout in a file's head before it is taken for that layout (as textlog asks)
MAX_SHOWN = 5  # line numbers quoted in a warning about lines that do not parse


def _malformed(path: str, what: str, lines: list[int]) -> list[str]:
    """One warning for the lines that looked like the layout but did not parse."""
    if not lines:
        return []
    more = ", ".join(map(str, lines[:MAX_SHOWN])) + (" ..." if len(lines) > MAX_SHOWN else "")
    return [f"{path}:{lines[0]}: {len(lines)} line(s) that look like {what} but do not parse (line {more}); skipped"]


# -- pix2pix / CycleGAN loss_log.txt ---------------------------------------------------------------

_P2P_HEADER = re.compile(r"^\s*=+\s*Training Loss\b.*=+\s*$")
_P2P_START = re.compile(r"^\s*\(\s*epoch:", re.I)
# a loss name: pix2pix's `G_GAN`, DeblurGAN's `D_real+fake`
_P2P_LINE = re.compile(r"^\s*\((?P<head>[^()]*)\)(?P<losses>(?:\s*[A-Za-z][\w.+-]*:\s*" + _NUM + r")+)\s*$", re.I)
_PAIR = re.compile(r"([A-Za-z][\w.+-]*):\s*(" + _NUM + r")", re.I)
# the timings of the head: seconds per image of the step and of data loading
P2P_TIMES = {"time": "time", "data": "data_time"}


def _p2p_sniff(lines: Sequence[str]) -> bool:
    return sum(1 for ln in lines if _P2P_LINE.match(ln) and _P2P_START.match(ln)) >= MIN_HITS


def _p2p_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    sections: list[list[tuple[float, float, dict[str, float]]]] = [[]]
    bad: list[int] = []
    for i, ln in enumerate(lines, 1):
        if _P2P_HEADER.match(ln):
            if sections[-1]:
                sections.append([])
            continue
        if not _P2P_START.match(ln):
            continue
        m = _P2P_LINE.match(ln)
        head = dict((k.lower(), float(v)) for k, v in _PAIR.findall(m.group("head"))) if m else {}
        if not m or "epoch" not in head or "iters" not in head:
            bad.append(i)
            continue
        fields = {P2P_TIMES[k]: v for k, v in head.items() if k in P2P_TIMES}
        fields.update((f"loss_{k}", float(v)) for k, v in _PAIR.findall(m.group("losses")))
        sections[-1].append((head["epoch"], head["iters"], fields))
    rows: list[Row] = []
    for sec in sections:
        if not sec:
            continue
        per_epoch = max(it for _, it, _ in sec)  # the longest epoch seen: every step then lands after the one before
        for epoch, it, fields in sec:
            step = (epoch - 1) * per_epoch + it
            rows += [(k, step, v) for k, v in fields.items()]
    return rows, _malformed(path, "pix2pix loss lines `(epoch: N, iters: N, ...) name: value ...`", bad)


# -- OpenAI baselines / Stable-Baselines3 key-value tables -----------------------------------------

_RULE = re.compile(r"^\s*-{3,}\s*$")
_TROW = re.compile(r"^\s*\|\s*(?P<key>[^|]*?)\s*\|\s*(?P<val>[^|]*?)\s*\|\s*$")
_TNUM = re.compile(r"^" + _NUM + r"$", re.I)
# the timestep counters the loggers write, best first (compared in lower case, sections kept)
BASELINES_STEPS = ("time/total_timesteps", "total_timesteps", "misc/total_timesteps", "timestepssofar",
                   "total timesteps", "timesteps", "serial_timesteps", "time/iterations", "nupdates",
                   "misc/nupdates", "iterations", "n_updates", "train/n_updates")


def _bl_sniff(lines: Sequence[str]) -> bool:
    rows = [m for m in (_TROW.match(ln) for ln in lines) if m]
    numeric = sum(1 for m in rows if _TNUM.match(m.group("val")))
    return any(_RULE.match(ln) for ln in lines) and numeric >= MIN_HITS


def _bl_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    tables: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    section = ""
    bad: list[int] = []
    for i, ln in enumerate(lines, 1):
        if _RULE.match(ln):
            if current:
                tables.append(current)
            current, section = {}, ""
            continue
        if current is None:
            continue
        m = _TROW.match(ln)
        if not m:
            if ln.lstrip().startswith("|"):  # a damaged row: the table goes on
                bad.append(i)
                continue
            if current:  # a table cut by another line: what it had is kept
                tables.append(current)
            current = None
            continue
        key, val = m.group("key"), m.group("val")
        if not val and key.endswith("/"):  # SB3's section row: `| rollout/ |  |`
            section = key
            continue
        if _TNUM.match(val):
            current[(section + key) if section and "/" not in key else key] = float(val)
        elif val and not re.search(r"[A-Za-z]", val):
            bad.append(i)
    if current:
        tables.append(current)
    rows: list[Row] = []
    warnings = _malformed(path, "rows of a baselines/SB3 table `| key | value |`", bad)
    low = {k.lower(): k for t in tables for k in t}
    step_key = next((low[k] for k in BASELINES_STEPS if k in low), None)
    if step_key is None and tables:
        warnings.append(f"{path}: no timestep counter in its tables ({', '.join(BASELINES_STEPS[:3])}, ...); "
                        "using the table order as the step")
    uncounted = 0
    for n, t in enumerate(tables, 1):
        if step_key and step_key not in t:  # a table without the counter the others have: placed nowhere
            uncounted += 1
            continue
        step = t[step_key] if step_key else float(n)
        rows += [(k, step, v) for k, v in t.items() if k != step_key]
    if uncounted:
        warnings.append(f"{path}: {uncounted} table(s) without {step_key!r}, which the others have; skipped")
    return rows, warnings


# -- epoch blocks (PointNet's log_train.txt) -------------------------------------------------------

_BLOCK_HEAD = re.compile(r"^\s*[*=#-]{2,}\s*epoch\s*[:#]?\s*(?P<n>\d+)\b[^*=#]*?[*=#-]{2,}\s*$", re.I)
_ONE_FIELD = re.compile(r"^\s*(?P<name>[A-Za-z][\w ./()%-]{0,60}?)\s*[:=]\s*(?P<val>" + _NUM + r")\s*$", re.I)
MIN_BLOCKS = 2  # epoch headers in the head before a file is taken for epoch blocks


def _block_sniff(lines: Sequence[str]) -> bool:
    heads = sum(1 for ln in lines if _BLOCK_HEAD.match(ln))
    single = sum(1 for ln in lines if _ONE_FIELD.match(ln))
    multi = sum(1 for ln in lines if not _ONE_FIELD.match(ln) and len(parse_line(ln)) >= 2)
    return heads >= MIN_BLOCKS and single >= MIN_HITS and single > multi  # else textlog reads the lines better


def _block_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    epoch: float | None = None
    block: dict[str, float] = {}

    def close() -> None:
        if epoch is not None:
            rows.extend((k, epoch, v) for k, v in block.items())

    for ln in lines:
        h = _BLOCK_HEAD.match(ln)
        if h:
            close()
            epoch, block = float(h.group("n")), {}
            continue
        if epoch is None:
            continue
        m = _ONE_FIELD.match(ln)
        fields = {m.group("name").strip(): float(m.group("val"))} if m else parse_line(ln)
        for k, v in fields.items():
            block.pop(k, None)  # the last value said, in the order said
            block[k] = v
    close()
    return rows, []


# -- step tag value (build-nanogpt's log.txt) ------------------------------------------------------

_TRIPLE = re.compile(r"^\s*(?P<step>\d+)\s+(?P<tag>[A-Za-z][\w/.-]*)\s+(?P<val>" + _NUM + r")\s*$", re.I)
# build-nanogpt's tags: its train and val losses, and its HellaSwag evaluation's accuracy
STV_TAGS = {"train": "train/loss", "val": "val/loss", "valid": "val/loss", "test": "test/loss",
            "hella": "eval/hellaswag_acc"}
STV_SHARE = 0.9  # of a head's non-blank lines that must be `step tag value`


def _stv_sniff(lines: Sequence[str]) -> bool:
    filled = [ln for ln in lines if ln.strip()]
    hits = sum(1 for ln in filled if _TRIPLE.match(ln))
    return hits >= MIN_HITS and hits >= STV_SHARE * len(filled)


def _stv_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    bad: list[int] = []
    for i, ln in enumerate(lines, 1):
        if not ln.strip():
            continue
        m = _TRIPLE.match(ln)
        if not m:
            bad.append(i)
            continue
        tag = m.group("tag")
        rows.append((STV_TAGS.get(tag.lower(), tag), float(m.group("step")), float(m.group("val"))))
    return rows, _malformed(path, "`step tag value` lines", bad)


# -- ultralytics YOLOv5/v8/v9 console output -------------------------------------------------------

_Y_HEAD = re.compile(r"^\s*Epoch\s+(?P<rest>gpu_mem\s+.*?)\s*$", re.I)
_Y_PROGRESS = re.compile(r"^\s*(?P<ep>\d+)/(?P<of>\d+)\s+(?P<vals>[^:|]*?)\s*"
                         r"(?::\s*(?P<pct>\d+)%\|[^|]*\|\s*(?P<i>\d+)/(?P<n>\d+).*)?$")
_Y_PROGRESS_START = re.compile(r"^\s*\d+/\d+\s+\S")  # what a progress line starts with, parsed or not
_Y_VAL_HEAD = re.compile(r"^\s*Class\s+Images\s+(?:Instances|Labels|Targets)\s+(?P<rest>.*?)\s*(?::\s*\d+%\|.*|:)?\s*$", re.I)
_Y_ALL = re.compile(r"^\s*all\s+\d+\s+\d+\s+(?P<vals>.*?)\s*$")
# the header's short loss names of older YOLOv5 (`box obj cls total`) and of YOLOv3
YOLO_SHORT_LOSSES = {"box", "obj", "cls", "dfl", "total", "giou", "seg", "kobj", "pose"}
# a validation column -> its metric, as ultralytics' results.csv names them
YOLO_VAL = {"p": "precision", "r": "recall", "map50": "mAP50", "map@.5": "mAP50", "map_0.5": "mAP50",
            "map@0.5": "mAP50", "map50-95": "mAP50-95", "map@.5:.95": "mAP50-95", "map_0.5:0.95": "mAP50-95",
            "map@0.5:0.95": "mAP50-95"}


def _y_segments(lines: Sequence[str]):
    """(line number, piece) of every piece of a line a carriage return redrew, in order."""
    for i, ln in enumerate(lines, 1):
        for seg in ln.split("\r"):
            if seg.strip():
                yield i, seg


def _y_train_names(rest: str) -> list[str | None]:
    """The metric of each header column after `Epoch` (None: not read)."""
    out: list[str | None] = []
    for col in rest.split():
        low = col.lower()
        out.append(f"train/{col}" if "loss" in low else f"train/{low}_loss" if low in YOLO_SHORT_LOSSES else None)
    return out


def _y_val_names(rest: str) -> list[str]:
    """The metric of each validation column after `Class Images Instances`."""
    out: list[str] = []
    group = ""
    for col in rest.split():
        if "(" in col:  # `Box(P`, `Mask(P`: a new group of four; the first is the boxes'
            head, col = col.split("(", 1)
            group = "" if head.lower() == "box" or not out else f"({head[:1].upper()})"
        col = col.rstrip(")")
        out.append(f"metrics/{YOLO_VAL.get(col.lower(), col)}{group}")
    return out


def _yolo_sniff(lines: Sequence[str]) -> bool:
    width = None
    for _, seg in _y_segments(lines):
        h = _Y_HEAD.match(seg)
        if h:
            width = len(h.group("rest").split())
            continue
        m = _Y_PROGRESS.match(seg) if width is not None else None
        if m and len(m.group("vals").split()) == width:
            return True
    return False


def _yolo_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    bad: list[int] = []
    cut: list[str] = []
    train: list[str | None] | None = None
    val: list[str] | None = None
    epoch: float | None = None  # the epoch of the last progress update
    last: tuple[dict[str, float], bool] | None = None  # its losses, and whether its bar was at its end
    validated = True  # whether the epoch's `all` row was read

    def close() -> None:
        if epoch is None or last is None:
            return
        if last[1]:
            rows.extend((k, epoch, v) for k, v in last[0].items())
        else:
            cut.append(f"{epoch:g}")

    for i, seg in _y_segments(lines):
        h = _Y_HEAD.match(seg)
        if h:
            train = _y_train_names(h.group("rest"))
            continue
        v = _Y_VAL_HEAD.match(seg)
        if v:
            val = _y_val_names(v.group("rest"))
            continue
        a = _Y_ALL.match(seg)
        if a and val is not None:
            nums = [_float(x) for x in a.group("vals").split()]
            if len(nums) != len(val) or None in nums:
                bad.append(i)
            elif not validated and epoch is not None:
                rows.extend((k, epoch, x) for k, x in zip(val, nums) if x is not None)
                validated = True
            continue
        if train is None or not _Y_PROGRESS_START.match(seg):
            continue
        m = _Y_PROGRESS.match(seg)
        if m is None:
            bad.append(i)
            continue
        vals = m.group("vals").split()
        fields = {k: _float(x) for k, x in zip(train, vals) if k}
        if len(vals) != len(train) or None in fields.values():
            bad.append(i)
            continue
        e = float(m.group("ep"))
        if e != epoch:
            close()
            epoch, validated = e, False
        done = m.group("i") is None or int(m.group("i")) >= int(m.group("n"))
        last = ({k: x for k, x in fields.items() if x is not None}, done)
    close()
    warnings = _malformed(path, "YOLO progress or `all` validation lines", sorted(set(bad)))
    if cut:
        warnings.append(f"{path}: epoch(s) {', '.join(cut[:MAX_SHOWN])}{' ...' if len(cut) > MAX_SHOWN else ''} "
                        "stopped before their last batch (the job died in it?); their losses are left out")
    return rows, warnings


def _float(x: str) -> float | None:
    try:
        return float(x)
    except ValueError:
        return None


# -- the registry ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsoleFormat:
    name: str
    sniff: Callable[[Sequence[str]], bool]
    parse: Callable[[Sequence[str], str], tuple[list[Row], list[str]]]
    keep_cr: bool = False  # parse the file's lines with their `\r`-redrawn pieces (a tqdm bar's updates)


# most specific first: the first whose sniff accepts a head reads the file
FORMATS = (
    ConsoleFormat("pix2pix_loss_log", _p2p_sniff, _p2p_parse),
    ConsoleFormat("baselines_table", _bl_sniff, _bl_parse),
    ConsoleFormat("yolo_console", _yolo_sniff, _yolo_parse, keep_cr=True),
    ConsoleFormat("step_tag_value", _stv_sniff, _stv_parse),
    ConsoleFormat("epoch_blocks", _block_sniff, _block_parse),
)
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
        raise InputError(path, "not a console log of a known layout (pix2pix loss_log, baselines/SB3 tables, "
                               "YOLO console output, epoch blocks, `step tag value` lines)")
    rows, w = fmt.parse((raw if fmt.keep_cr else text).split("\n"), path)
    warnings += w
    if not rows:
        return ReadResult(empty_table(), warnings=warnings, fmt=fmt.name)
    table = pd.DataFrame(rows, columns=["metric", "step", "value"])
    table["wall_time"] = np.nan
    return ReadResult(table, warnings=warnings, fmt=fmt.name)
