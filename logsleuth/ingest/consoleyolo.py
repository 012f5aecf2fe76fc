"""The console output of ultralytics YOLOv5/v8/v9: a column header
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
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .consolebase import MAX_SHOWN, ConsoleFormat, Row, malformed

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
    warnings = malformed(path, "YOLO progress or `all` validation lines", sorted(set(bad)))
    if cut:
        warnings.append(f"{path}: epoch(s) {', '.join(cut[:MAX_SHOWN])}{' ...' if len(cut) > MAX_SHOWN else ''} "
                        "stopped before their last batch (the job died in it?); their losses are left out")
    return rows, warnings


def _float(x: str) -> float | None:
    try:
        return float(x)
    except ValueError:
        return None


LAYOUTS = (ConsoleFormat("yolo_console", _yolo_sniff, _yolo_parse, rank=30, keep_cr=True),)
