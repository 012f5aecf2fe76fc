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
- ``epoch_blocks``: blocks opened by an epoch header (decorated: ``**** EPOCH 003 ****``;
  or ``epoch   3`` alone on its line) holding
  one ``name: value`` per line (PointNet's and its forks' ``log_train.txt``, and the loops that
  log the same way).  A name said several times in a block (a running mean printed as the
  epoch goes) counts once, its last value: the epoch's.  A percentage is a fraction and a
  remark in parentheses after the value is not read (``test accuracy: 20.78%, (512570/2466133)``).
- ``step_blocks``: the same with a step header (``Step 500 (10%):``, ``Step  8205 | Time: 3:46:00``
  between rules of ``=``); thousands separators and a unit after the value are read
  (``Tokens Seen: 35,016,704``, ``Batch Time: 88.93ms``); a blank line ends a block, so a
  summary after the last one (``Final Training Loss: 0.114``) is no step's.
- ``step_tag_value``: ``<step> <tag> <value>`` lines (build-nanogpt's ``log.txt``:
  ``250 val 4.81``); its bare split tags are its losses (``train`` -> ``train/loss``).
- ``llmc_log``: llm.c's ``main.log`` (``s:0 trl:10.9656 lr:0.0003 norm:1.25``, ``s:0 tel:10.9689``,
  ``s:0 eval:0.2500``), which modded-nanogpt's first records and nanoGPT forks write too; its
  short tags are named for their roles (``trl`` -> ``train/loss``, ``tel`` -> ``val/loss``).
- ``rl_episodes``: RL summaries of one episode or window a line whose fields carry no metric
  word (``Episode 100  Avg: -133.56  BestAvg: -15.09 | Best: 29.06 | Steps: 8508``);
  the step is the episode, the window's mean score is ``reward/<name>``.
- ``space_table``: tables aligned by spaces, a header of names over rows of numbers (a printed
  pandas DataFrame, whose index is the step; a ``Training Summary`` whose names hold a space,
  ``train loss   va_loss``); each table counts its rows from 1 unless it has an epoch or step
  column, so a second table is a second segment.

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

The layouts read one field a line, episode summaries or tables only where those lines
outnumber the lines that the ``name value`` parser reads (which then keeps the file).

Every parser gives (metric, step, value) rows in the order logged; a counter going back (a
restart) is left to ingest.segments, as for every reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InputError
from .textio import read_text
from .textlog import parse_line

if TYPE_CHECKING:
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

_BLOCK_HEAD = re.compile(
    r"^\s*(?:[*=#-]{2,}\s*epoch\s*[:#]?\s*(?P<n>\d+)\b[^*=#]*?[*=#-]{2,}"  # `**** EPOCH 003 ****`
    r"|epoch\s*[:#]?\s*(?P<bare>\d+)\s*:?)\s*$", re.I)  # `epoch   3` alone on its line (not Keras' `Epoch 3/30`)
# `name: value` alone on a line; a percentage is a fraction; a remark in parentheses after it is
# not read (`test accuracy: 20.78%, (512570/2466133)`)
_ONE_FIELD = re.compile(r"^\s*(?P<name>[A-Za-z][\w ./()%-]{0,60}?)\s*[:=]\s*(?P<val>" + _NUM
                        + r")(?P<unit>%)?\s*(?:[,;]?\s*\([^()]*\))?\s*$", re.I)
MIN_BLOCKS = 2  # epoch headers in the head before a file is taken for epoch blocks


def _one_field(ln: str) -> tuple[str, float] | None:
    """The name and value of a line holding one `name: value` field, or None."""
    m = _ONE_FIELD.match(ln)
    if not m:
        return None
    return m.group("name").strip(), float(m.group("val")) / (100.0 if m.group("unit") else 1.0)


def _block_number(h: re.Match[str]) -> float:
    return float(next(g for g in h.group("n", "bare") if g is not None))


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
            epoch, block = _block_number(h), {}
            continue
        if epoch is None:
            continue
        one = _one_field(ln)
        fields = dict([one]) if one else parse_line(ln)
        for k, v in fields.items():
            block.pop(k, None)  # the last value said, in the order said
            block[k] = v
    close()
    return rows, []


# -- step blocks (`Step 500 (10%):` or `Step  8205 | Time: 3:46:00`, then one `name: value` a line) ----

_STEP_HEAD = re.compile(r"^\s*(?:[*=#-]{2,}\s*)?(?:global\s+)?step\s*[:#]?\s*(?P<n>\d+)\b(?:\s*/\s*\d+)?"
                        r"(?:\s*\(\s*\d+(?:\.\d+)?\s*%\s*\))?\s*(?::|\|.*)?\s*(?:[*=#-]{2,})?\s*$", re.I)
# a number with thousands separators (`Validation Perplexity: 7,030`), as the block lines print them
_GROUPED = re.compile(r"^\s*(?P<name>[A-Za-z][\w ./()-]{0,60}?)\s*:\s*(?P<val>[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?)\s*$")
# a unit after the value: milliseconds stay milliseconds, a percentage is a fraction
_UNIT_FIELD = re.compile(r"^\s*(?P<name>[A-Za-z][\w ./()-]{0,60}?)\s*:\s*(?P<val>" + _NUM + r")(?P<unit>ms|s|%)\s*$", re.I)


def _block_field(ln: str) -> tuple[str, float] | None:
    """The one `name: value` field of a block line (thousands separators and a unit allowed), or None."""
    one = _one_field(ln)
    if one:
        return one
    g = _GROUPED.match(ln)
    if g:
        return g.group("name").strip(), float(g.group("val").replace(",", ""))
    u = _UNIT_FIELD.match(ln)
    if u:
        return u.group("name").strip(), float(u.group("val")) / (100.0 if u.group("unit") == "%" else 1.0)
    return None


def _step_sniff(lines: Sequence[str]) -> bool:
    heads = sum(1 for ln in lines if _STEP_HEAD.match(ln))
    single = sum(1 for ln in lines if _block_field(ln))
    multi = sum(1 for ln in lines if not _block_field(ln) and len(parse_line(ln)) >= 2)
    return heads >= MIN_BLOCKS and single >= MIN_HITS and single > multi  # else textlog reads the lines better


def _step_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    """One point per block at its step, a name said twice in a block its last value; a block ends
    at the next header or a blank line (a summary after the last block is not that step's)."""
    rows: list[Row] = []
    step: float | None = None
    block: dict[str, float] = {}

    def close() -> None:
        if step is not None:
            rows.extend((k, step, v) for k, v in block.items())

    for ln in lines:
        h = _STEP_HEAD.match(ln)
        if h:
            close()
            step, block = float(h.group("n")), {}
            continue
        if step is None:
            continue
        if not ln.strip():
            close()
            step, block = None, {}
            continue
        one = _block_field(ln)
        if one:
            block.pop(one[0], None)
            block[one[0]] = one[1]
    close()
    return rows, []


# -- llm.c's main.log (`s:0 trl:10.9656 lr:0.0003 norm:1.25`, `s:0 tel:10.9689`, `s:0 eval:0.25`) ------

_LLMC_LINE = re.compile(r"^\s*s:(?P<step>\d+)(?P<fields>(?:\s+[A-Za-z][\w/]*:" + _NUM + r")+)\s*$", re.I)
_LLMC_PAIR = re.compile(r"([A-Za-z][\w/]*):(" + _NUM + r")", re.I)
# llm.c's logger (and the modded-nanogpt / nanoGPT forks that write its file): train loss, val
# loss, HellaSwag accuracy, learning rate, gradient norm
LLMC_TAGS = {"trl": "train/loss", "tel": "val/loss", "eval": "eval/hellaswag_acc", "lr": "lr",
             "norm": "train/grad_norm"}
LLMC_SHARE = 0.9  # of a head's non-blank lines that must be llm.c log lines


def _llmc_sniff(lines: Sequence[str]) -> bool:
    filled = [ln for ln in lines if ln.strip()]
    hits = sum(1 for ln in filled if _LLMC_LINE.match(ln))
    return hits >= MIN_HITS and hits >= LLMC_SHARE * len(filled)


def _llmc_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    bad: list[int] = []
    for i, ln in enumerate(lines, 1):
        if not ln.strip():
            continue
        m = _LLMC_LINE.match(ln)
        if not m:
            bad.append(i)
            continue
        step = float(m.group("step"))
        rows += [(LLMC_TAGS.get(k.lower(), k), step, float(v)) for k, v in _LLMC_PAIR.findall(m.group("fields"))]
    return rows, _malformed(path, "llm.c log lines `s:<step> trl:<value>`", bad)


# -- RL episode summaries (`Episode 100  Avg: -133.56  BestAvg: -inf  ... | Steps: 8508`) -----

_EPISODE = re.compile(r"^\s*Episode\s*[:#]?\s*(?P<n>\d+)\b(?:\s*/\s*\d+)?(?P<rest>.*)$", re.I)
_EP_PAIR = re.compile(r"(?P<name>[^\W\d][\w./-]*(?: [^\W\d][\w./-]*){0,3}?)\s*[:=]\s*(?P<val>" + _NUM + r")(?![\w.])",
                      re.I)
# what an episode summary calls the return (a window's mean of the episodes' scores): a reward
_EP_RETURN = re.compile(r"^(?:avg|average|mean|running|moving)?[ _]?(?:score|scores|return)?\d*$", re.I)


def _ep_fields(rest: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in _EP_PAIR.finditer(rest):
        out.setdefault(m.group("name").strip(), float(m.group("val")))
    return out


def _episode_sniff(lines: Sequence[str]) -> bool:
    eps = [m for m in (_EPISODE.match(ln) for ln in lines) if m]
    hits = sum(1 for m in eps if len(_ep_fields(m.group("rest"))) >= 2)
    multi = sum(1 for ln in lines if len(parse_line(ln)) >= 2)
    return hits >= MIN_HITS and hits > multi  # else textlog reads the lines (`Episode 100  Average Score: 1.87`)


def _episode_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    """Each summary at its episode; the window's mean score (`Avg`, `Average Score`) is named
    `reward/<name>`, the rest (`BestAvg`, the sigma, `Steps`, `Noise`) as logged."""
    rows: list[Row] = []
    for ln in lines:
        m = _EPISODE.match(ln)
        if not m:
            continue
        step = float(m.group("n"))
        for k, v in _ep_fields(m.group("rest")).items():
            name = f"reward/{k}" if _EP_RETURN.match(k) and k.strip() else k
            rows.append((name, step, v))
    return rows, []


# -- space-aligned tables (a printed pandas DataFrame, a `Training Summary` of columns) ------------

_WORDS = re.compile(r"^\s*[A-Za-z][\w./()%-]*(?:\s+[A-Za-z][\w./()%-]*)+\s*$")
_NUMS = re.compile(r"^\s*(?:" + _NUM + r")(?:\s+(?:" + _NUM + r"))+\s*$", re.I)
_TABLE_METRIC = re.compile(r"loss|acc|err|ppl|perplexity|reward|return", re.I)


def _table_names(header: str, width: int) -> tuple[list[str], bool] | None:
    """The column names of a header over rows of `width` numbers, and whether the rows start with
    an index (pandas prints one); None when the header does not fit them."""
    for names in (re.split(r"\s{2,}", header.strip()), header.split()):
        if len(names) == width:
            return names, False
        if len(names) == width - 1:
            return names, True
    return None


def _tables(lines: Sequence[str], bad: list[int] | None = None):
    """(names, whether indexed, [row values]) of each table: a header of names, then rows of as
    many numbers (one more: an index); a row of another width is skipped, its line put in `bad`."""
    i = 0
    while i < len(lines):
        if not _WORDS.match(lines[i]) or i + 1 >= len(lines) or not _NUMS.match(lines[i + 1]):
            i += 1
            continue
        width = len(lines[i + 1].split())
        fit = _table_names(lines[i], width)
        if fit is None or not any(_TABLE_METRIC.search(n) for n in fit[0]):
            i += 1
            continue
        rows = []
        j = i + 1
        while j < len(lines) and _NUMS.match(lines[j]):
            if len(lines[j].split()) == width:
                rows.append([float(x) for x in lines[j].split()])
            elif bad is not None:
                bad.append(j + 1)
            j += 1
        yield fit[0], fit[1], rows
        i = j


def _table_sniff(lines: Sequence[str]) -> bool:
    rows = sum(len(t[2]) for t in _tables(lines))
    multi = sum(1 for ln in lines if len(parse_line(ln)) >= 2)
    return rows >= MIN_HITS and rows > multi


STEP_COLUMNS = ("epoch", "step", "iter", "iteration", "global_step")


def _table_parse(lines: Sequence[str], path: str) -> tuple[list[Row], list[str]]:
    """Each row at its index (a printed DataFrame's), its epoch or step column, else its place in
    its table counted from 1; each table a new count (a second table is a second run)."""
    rows: list[Row] = []
    bad: list[int] = []
    for names, indexed, body in _tables(lines, bad):
        low = [n.lower() for n in names]
        col = next((low.index(c) for c in STEP_COLUMNS if c in low), None)
        for k, vals in enumerate(body, 1):
            index = vals[0] if indexed else float(k)
            vals = vals[1:] if indexed else vals
            step = vals[col] if col is not None else index
            rows += [(n, step, v) for c, (n, v) in enumerate(zip(names, vals)) if c != col]
    return rows, _malformed(path, "rows of a table of numbers, with another number of columns than its header", bad)


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
    ConsoleFormat("llmc_log", _llmc_sniff, _llmc_parse),
    ConsoleFormat("epoch_blocks", _block_sniff, _block_parse),
    ConsoleFormat("step_blocks", _step_sniff, _step_parse),
    ConsoleFormat("rl_episodes", _episode_sniff, _episode_parse),
    ConsoleFormat("space_table", _table_sniff, _table_parse),
)
SNIFF_LINES = 400  # of a file's head, as textlog looks at


def console_format(text: str) -> ConsoleFormat | None:
    """The known layout of a console log's head, or None."""
    lines = text.split("\n")[:SNIFF_LINES]
    return next((f for f in FORMATS if f.sniff(lines)), None)


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
    if not rows:
        return ReadResult(empty_table(), warnings=warnings, fmt=fmt.name)
    table = pd.DataFrame(rows, columns=["metric", "step", "value"])
    table["wall_time"] = np.nan
    return ReadResult(table, warnings=warnings, fmt=fmt.name)
