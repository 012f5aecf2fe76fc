"""Console layouts that the `name value` line parser (textlog) cannot read, each one small
parser (the layouts are written by many repositories because they copy one codebase):

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
- ``step_tag_value``: ``<step> <tag> <value>`` lines (build-nanogpt's ``log.txt``:
  ``250 val 4.81``); its bare split tags are its losses (``train`` -> ``train/loss``).

Each is declared in LAYOUTS; ingest.consolefmt tries every module's layouts by rank.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .consolebase import MIN_HITS, NUM, ConsoleFormat, Row, malformed
from .textlog import parse_line

# -- pix2pix / CycleGAN loss_log.txt ---------------------------------------------------------------

_P2P_HEADER = re.compile(r"^\s*=+\s*Training Loss\b.*=+\s*$")
_P2P_START = re.compile(r"^\s*\(\s*epoch:", re.I)
# a loss name: pix2pix's `G_GAN`, DeblurGAN's `D_real+fake`
_P2P_LINE = re.compile(r"^\s*\((?P<head>[^()]*)\)(?P<losses>(?:\s*[A-Za-z][\w.+-]*:\s*" + NUM + r")+)\s*$", re.I)
_PAIR = re.compile(r"([A-Za-z][\w.+-]*):\s*(" + NUM + r")", re.I)
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
    return rows, malformed(path, "pix2pix loss lines `(epoch: N, iters: N, ...) name: value ...`", bad)


# -- OpenAI baselines / Stable-Baselines3 key-value tables -----------------------------------------

_RULE = re.compile(r"^\s*-{3,}\s*$")
_TROW = re.compile(r"^\s*\|\s*(?P<key>[^|]*?)\s*\|\s*(?P<val>[^|]*?)\s*\|\s*$")
_TNUM = re.compile(r"^" + NUM + r"$", re.I)
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
    warnings = malformed(path, "rows of a baselines/SB3 table `| key | value |`", bad)
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
    # `------start train 3/20------`: a banner that starts epoch 3 of 20 (numpy-CNN logs after PointNet's)
    r"|[*=#-]{2,}\s*start\s+(?:train(?:ing)?|epoch)\s*[:#]?\s*(?P<start>\d+)(?:\s*/\s*\d+)?\s*[*=#-]{2,}"
    r"|epoch\s*[:#]?\s*(?P<bare>\d+)\s*:?)\s*$", re.I)  # `epoch   3` alone on its line (not Keras' `Epoch 3/30`)
# `name: value` alone on a line; a percentage is a fraction; a remark in parentheses after it is
# not read (`test accuracy: 20.78%, (512570/2466133)`)
_ONE_FIELD = re.compile(r"^\s*(?P<name>[A-Za-z][\w ./()%-]{0,60}?)\s*[:=]\s*(?P<val>" + NUM
                        + r")(?P<unit>%)?\s*(?:[,;]?\s*\([^()]*\))?\s*$", re.I)
MIN_BLOCKS = 2  # epoch headers in the head before a file is taken for epoch blocks


def one_field(ln: str) -> tuple[str, float] | None:
    """The name and value of a line holding one `name: value` field, or None."""
    m = _ONE_FIELD.match(ln)
    if not m:
        return None
    return m.group("name").strip(), float(m.group("val")) / (100.0 if m.group("unit") else 1.0)


def _block_number(h: re.Match[str]) -> float:
    return float(next(g for g in h.group("n", "start", "bare") if g is not None))


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
        one = one_field(ln)
        fields = dict([one]) if one else parse_line(ln)
        for k, v in fields.items():
            block.pop(k, None)  # the last value said, in the order said
            block[k] = v
    close()
    return rows, []


# -- step tag value (build-nanogpt's log.txt) ------------------------------------------------------

_TRIPLE = re.compile(r"^\s*(?P<step>\d+)\s+(?P<tag>[A-Za-z][\w/.-]*)\s+(?P<val>" + NUM + r")\s*$", re.I)
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
    return rows, malformed(path, "`step tag value` lines", bad)


LAYOUTS = (
    ConsoleFormat("pix2pix_loss_log", _p2p_sniff, _p2p_parse, rank=10),
    ConsoleFormat("baselines_table", _bl_sniff, _bl_parse, rank=20),
    ConsoleFormat("step_tag_value", _stv_sniff, _stv_parse, rank=40),
    ConsoleFormat("epoch_blocks", _block_sniff, _block_parse, rank=50),
)
