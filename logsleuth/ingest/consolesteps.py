"""Console layouts of one record per step, episode or row that the `name value` line parser
(textlog) cannot read:

- ``step_blocks``: the same with a step header (``Step 500 (10%):``, ``Step  8205 | Time: 3:46:00``
  between rules of ``=``); thousands separators and a unit after the value are read
  (``Tokens Seen: 35,016,704``, ``Batch Time: 88.93ms``); a blank line ends a block, so a
  summary after the last one (``Final Training Loss: 0.114``) is no step's.
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

The layouts that read one field a line, episode summaries or tables take a file only where
those lines outnumber the lines the ``name value`` parser reads (which then keeps the file).
Each is declared in LAYOUTS; ingest.consolefmt tries every module's layouts by rank.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .consolebase import MIN_HITS, NUM, ConsoleFormat, Row, malformed
from .consolelayouts import MIN_BLOCKS, one_field
from .textlog import parse_line

# -- step blocks (`Step 500 (10%):` or `Step  8205 | Time: 3:46:00`, then one `name: value` a line) ----

_STEP_HEAD = re.compile(r"^\s*(?:[*=#-]{2,}\s*)?(?:global\s+)?step\s*[:#]?\s*(?P<n>\d+)\b(?:\s*/\s*\d+)?"
                        r"(?:\s*\(\s*\d+(?:\.\d+)?\s*%\s*\))?\s*(?::|\|.*)?\s*(?:[*=#-]{2,})?\s*$", re.I)
# a number with thousands separators (`Validation Perplexity: 7,030`), as the block lines print them
_GROUPED = re.compile(r"^\s*(?P<name>[A-Za-z][\w ./()-]{0,60}?)\s*:\s*(?P<val>[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?)\s*$")
# a unit after the value: milliseconds stay milliseconds, a percentage is a fraction
_UNIT_FIELD = re.compile(r"^\s*(?P<name>[A-Za-z][\w ./()-]{0,60}?)\s*:\s*(?P<val>" + NUM + r")(?P<unit>ms|s|%)\s*$", re.I)


def _block_field(ln: str) -> tuple[str, float] | None:
    """The one `name: value` field of a block line (thousands separators and a unit allowed), or None."""
    one = one_field(ln)
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

_LLMC_LINE = re.compile(r"^\s*s:(?P<step>\d+)(?P<fields>(?:\s+[A-Za-z][\w/]*:" + NUM + r")+)\s*$", re.I)
_LLMC_PAIR = re.compile(r"([A-Za-z][\w/]*):(" + NUM + r")", re.I)
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
    return rows, malformed(path, "llm.c log lines `s:<step> trl:<value>`", bad)


# -- RL episode summaries (`Episode 100  Avg: -133.56  BestAvg: -inf  ... | Steps: 8508`) -----

_EPISODE = re.compile(r"^\s*Episode\s*[:#]?\s*(?P<n>\d+)\b(?:\s*/\s*\d+)?(?P<rest>.*)$", re.I)
_EP_PAIR = re.compile(r"(?P<name>[^\W\d][\w./-]*(?: [^\W\d][\w./-]*){0,3}?)\s*[:=]\s*(?P<val>" + NUM + r")(?![\w.])",
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
NUMS = re.compile(r"^\s*(?:" + NUM + r")(?:\s+(?:" + NUM + r"))+\s*$", re.I)
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
        if not _WORDS.match(lines[i]) or i + 1 >= len(lines) or not NUMS.match(lines[i + 1]):
            i += 1
            continue
        width = len(lines[i + 1].split())
        fit = _table_names(lines[i], width)
        if fit is None or not any(_TABLE_METRIC.search(n) for n in fit[0]):
            i += 1
            continue
        rows = []
        j = i + 1
        while j < len(lines) and NUMS.match(lines[j]):
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
    return rows, malformed(path, "rows of a table of numbers, with another number of columns than its header", bad)


LAYOUTS = (
    ConsoleFormat("llmc_log", _llmc_sniff, _llmc_parse, rank=45),
    ConsoleFormat("step_blocks", _step_sniff, _step_parse, rank=55),
    ConsoleFormat("rl_episodes", _episode_sniff, _episode_parse, rank=60),
    ConsoleFormat("space_table", _table_sniff, _table_parse, rank=70),
)
