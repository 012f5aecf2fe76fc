"""Plain-text console logs made of `key value` fields, as printed by many training scripts:

    | epoch   1 |   200/ 2983 batches | lr 20.0000 | ms/batch 11.77 | loss  9.09 | ppl  8835.03
    | end of epoch   1 | time: 36.35s | valid loss  5.61 | valid ppl   273.43
    Epoch 3 step 1200: loss=0.4312, acc=0.91, lr=1e-3

A line counts when it has at least two `name value` fields.  The step is the running
batch count (epoch x batches-per-epoch + batch) when the line gives `i/N batches`, else
the epoch, else the line order.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from ..errors import InputError
from .sniff import DEEP_SNIFF_BYTES, DEEP_SNIFF_LINES, long_head
from .textio import read_text

if TYPE_CHECKING:
    from .sniff import Probe
    from .tidy import ReadResult

_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
# a name of one to four words, then `=` or `:` (spaces optional) or spaces, then a number:
# `loss 0.41`, `loss: 0.41`, `loss=0.41`, `valid loss  5.61`, `ValAcc=60.94%`
_FIELD = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_./-]*(?: [A-Za-z][A-Za-z0-9_./-]*){0,3}?)(?:\s*[:=]\s*|\s+)(?P<val>" + _NUM
                    + r")(?P<unit>s|%)?(?=\s|$|,|\||:\s|\]|\)|/)", re.I)
# batch i of N: `200/ 2983 batches`, `iter 1200/5000`, Keras' and tqdm's `1875/1875 [====`
_BATCH = re.compile(r"(\d+)\s*/\s*(\d+)\s*(?:(?:batches|batch|steps|iters|it)\b|\[)", re.I)
_EPOCH_HEADER = re.compile(r"^\s*epoch\s*\[?\s*(\d+)\s*/\s*\d+\s*\]?\s*:?\s*$", re.I)  # Keras' `Epoch 3/30` line
# `{'loss': 0.51, 'learning_rate': 4e-05, 'epoch': 0.3}`: the dicts Hugging Face's Trainer prints
_DICT_PAIR = re.compile(r"""['"]([^'"]{1,80})['"]\s*:\s*(""" + _NUM + r")(?=\s*[,}])", re.I)
NOT_METRICS = {"v_num"}  # Lightning's version number in its progress bar
STEP_FIELDS = ("step", "global_step", "global step", "iter", "iteration")  # a line's own step counter
_EPOCH = re.compile(r"\bepoch\s*[:=]?\s*\[?\s*(\d+)", re.I)
# what Python's logging (and most loggers) put before the message: a time stamp, a logger name,
# a level; `2024-05-01 10:00:00,123 - INFO - ...`, `[2024-05-01 10:00:00] INFO: ...`, `INFO:root:...`
_LEVEL_PREFIX = re.compile(r"^.{0,80}?\b(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\b\]?(?:\s*-\s*|:[\w.]*:\s*|:\s*|\s+)", re.S)
_TIME_PREFIX = re.compile(r"^\s*\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\]?\s*[-|:]?\s*")
# the repr of an argparse Namespace or a config object, also behind a label (`Args:Namespace(...)`):
# settings, not metrics
_DUMP_CALL = r"(?:\w+\.)*\w*(?:Namespace|Config|Arguments|Args|Params)\s*\("
_CONFIG_DUMP = re.compile(r"^\s*(?:\w+\s*[:=]\s*)?(?=" + _DUMP_CALL + ")", re.I)


# TF Estimator's evaluation summary: `Saving dict for global step 5468: eval_accuracy = 0.85, ..., loss = 0.72`
_TF_EVAL = re.compile(r"^\s*Saving dict for global step (\d+):\s*", re.I)
# words that mark a line as metrics, not prose: `step 4 | eval_return 17.75` (an RL evaluation) counts,
# and so do a regression's error names standing alone or after `train_`/`val_` (`train_mse 1.65`)
_METRIC_WORD = re.compile(r"loss|acc|ppl|perplexity|error|\blr\b|reward|returns?\b|score|(?<![a-z])(?:r?mse|mae|mape|huber)(?![a-z])",
                          re.I)


def _message(line: str) -> str:
    """The message of a logger's line, without its time stamp, logger name and level."""
    m = _LEVEL_PREFIX.match(line)
    if m:
        return line[m.end():]
    return _TIME_PREFIX.sub("", line, count=1)


def parse_line(line: str) -> dict[str, float]:
    """The `name value` fields of one console line (none for command lines and prose), under the
    names the line gives them (`TrainLoss`, `valid loss`: roles are read from names elsewhere);
    a name seen twice on a line, in any case, counts once."""
    out: dict[str, float] = {}
    line = _message(line)
    tf_eval = _TF_EVAL.match(line)
    if tf_eval:  # a TF Estimator's evaluation: its `loss` is the evaluation's (a written `eval_loss` wins)
        fields = parse_line(line[tf_eval.end():])
        said = [k for k in fields if k.lower().startswith("eval") or k.lower() in STEP_FIELDS]
        out.update((k, fields[k]) for k in said)
        for k, v in fields.items():
            if k not in said:
                out.setdefault(f"eval_{k}", v)
        out["global_step"] = float(tf_eval.group(1))
        return out
    if line.lstrip().startswith("{") and _DICT_PAIR.search(line):  # a printed dict of metrics
        pairs: dict[str, float] = {}
        for k, v in _DICT_PAIR.findall(line):
            pairs.setdefault(k.strip(), float(v))
        if any(k.lower() == "train_runtime" for k in pairs):  # the Trainer's end-of-training summary: averages, not a step
            return out
        return pairs if any(_METRIC_WORD.search(k) for k in pairs) else out
    if "--" in line or not _METRIC_WORD.search(line) or _CONFIG_DUMP.match(line):
        return out
    pieces = re.split(r"\s*[|,;]\s*", line.strip())
    seen: set[str] = set()
    for piece in pieces:
        for m in _FIELD.finditer(piece):
            name = re.sub(r"\s+", " ", m.group("name").strip())
            name = re.sub(r"^end of ", "", name, flags=re.I)
            low = name.lower()
            if low in seen or low in NOT_METRICS:
                continue
            seen.add(low)
            # `ValAcc=60.94%` is an accuracy of 0.6094 (but `45%|` of a progress bar has no name)
            out[name] = float(m.group("val")) / (100.0 if m.group("unit") == "%" else 1.0)
    return out


def _field(fields: dict[str, float], low: str) -> float | None:
    """The value of the field whose name is `low` in any case (`Epoch`, `epoch`), or None."""
    if low in fields:
        return fields[low]
    return next((v for k, v in fields.items() if k.lower() == low), None)


MIN_LINES = 3  # lines with two or more fields before a text is taken for a console log
SNIFF_LINES = 400


def looks_like_textlog(text: str, max_lines: int = SNIFF_LINES) -> bool:
    """True when enough of the first `max_lines` lines carry two or more `name value` fields."""
    lines = [ln for ln in re.split(r"[\r\n]+", text)[:max_lines] if ln.strip()]  # a progress bar redraws with \r
    hits = 0
    for ln in lines:
        hits += len(parse_line(ln)) >= 2
        if hits >= MIN_LINES:
            return True
    return False


def looks_like_text(p: Probe) -> bool:
    """Metric lines in a probed file's head (ingest.formats); or, in a file short enough to be
    read whole, fewer of them that name a loss: a run that stopped after its first epoch or two
    (Keras' `Epoch 1/1` and one progress line) is a log to say "cannot judge" of, not a stray file."""
    return looks_like_textlog(p.text) or (not long_head(p) and _short_loss_log(p.text))


_LOSS_NAME = re.compile(r"loss", re.I)  # a short file is taken for a log only when it logs a loss


def _names_loss(fields: dict[str, float]) -> bool:
    """A metric line of two or more fields, one of them a loss."""
    return len(fields) >= 2 and any(_LOSS_NAME.search(k) for k in fields)


def _short_loss_log(text: str) -> bool:
    """A line or two with two or more `name value` fields, one of them a loss."""
    return any(_names_loss(parse_line(ln)) for ln in re.split(r"[\r\n]+", text)[:SNIFF_LINES] if ln.strip())


def looks_like_text_further(p: Probe) -> bool:
    """Metric lines further into a probed file whose head is filled by something else."""
    return long_head(p) and looks_like_textlog(p.more(DEEP_SNIFF_BYTES), DEEP_SNIFF_LINES)


def ignored_lines(path: str, examples: int = 3) -> tuple[int, list[tuple[int, str]]]:
    """How many non-blank lines of a console log carry no metric fields, and the first few
    (line number, text): what `inspect` shows so a reader can check nothing was missed."""
    text, _ = read_text(path)
    count = 0
    first: list[tuple[int, str]] = []
    for i, ln in enumerate(text.split("\n"), 1):
        if ln.strip() and len(parse_line(ln)) < 2 and not _EPOCH_HEADER.match(_message(ln)):
            count += 1
            if len(first) < examples:
                first.append((i, ln.strip()[:100]))
    return count, first


CONFIG_LINES = 200  # a script prints its settings before it trains: a dump is looked for in the first lines
CONFIG_CHARS = 20_000  # longer than any settings line; a longer one is not parsed


def config_dump(text: str) -> dict[str, int | float | str | bool]:
    """The settings a script printed before training, `print(args)` of an argparse Namespace
    (`Namespace(lr=0.001, n_classes=10, optimizer='adam')`, a logger's prefix allowed): each
    keyword whose value is a number, a string or a bool.  Values that are no literal (`device(...)`)
    are left out; nothing is evaluated (ast.literal_eval).  The first dump wins."""
    for ln in text.split("\n")[:CONFIG_LINES]:
        msg = _message(ln)
        dump = _CONFIG_DUMP.match(msg)
        if not dump or len(msg) > CONFIG_CHARS:
            continue
        msg = msg[dump.end():].strip()
        try:
            call = ast.parse(msg, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            continue
        if not isinstance(call, ast.Call) or not call.keywords:
            continue
        out: dict[str, int | float | str | bool] = {}
        for kw in call.keywords:
            try:
                v = ast.literal_eval(kw.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                continue
            if kw.arg and isinstance(v, (int, float, str, bool)):
                out[kw.arg] = v
        if out:
            return out
    return {}


def read_textlog(path: str) -> ReadResult:
    import numpy as np  # here, not at import: discovery uses looks_like_textlog without pandas
    import pandas as pd

    from ..model import empty_table
    from .tidy import ReadResult

    text, warnings = read_text(path)
    rows = []
    per_epoch = None
    for m in _BATCH.finditer(text):
        per_epoch = int(m.group(2))
        break
    # epochs count from 0 (Lightning) or from 1 (Keras, the PyTorch examples)
    base = 0 if any(int(m.group(1)) == 0 for m in _EPOCH.finditer(text)) else 1
    parsed = []
    current = None  # the epoch of the last `Epoch 3/30` header line (Keras)
    for ln in text.split("\n"):
        h = _EPOCH_HEADER.match(_message(ln))
        if h:
            current = float(h.group(1))
            continue
        fields = parse_line(ln)
        if len(fields) >= 2:
            e = _EPOCH.search(ln)
            said = _field(fields, "epoch")
            epoch = said if said is not None else float(e.group(1)) if e else current
            parsed.append((fields, _BATCH.search(ln), epoch))
    if len(parsed) < MIN_LINES and not any(_names_loss(fields) for fields, _, _ in parsed):
        raise InputError(path, f"plain text without `name value` metric lines (need at least {MIN_LINES} lines like "
                               "'loss 0.41 | acc 0.9', or one that names a loss)")
    # fractional epochs (Hugging Face's `'epoch': 0.35`) are the step axis themselves
    fractional = any(ep is not None and not float(ep).is_integer() for _, _, ep in parsed)
    order = 0
    for fields, b, epoch in parsed:
        order += 1
        if fractional:
            b = None
        if b and epoch is not None:
            step = (epoch - base) * int(b.group(2)) + int(b.group(1))
        elif epoch is not None and per_epoch and not fractional:
            step = epoch * per_epoch
        elif epoch is not None:
            step = epoch
        else:
            step = float(order)
        own = next((v for v in (_field(fields, k) for k in STEP_FIELDS) if v is not None), None)
        if own is not None:  # the line says its step: `step 1200`, `iter 1200/5000`, `global_step=1200`
            step = own
        for k in list(fields):
            low = k.lower()
            if low in ("epoch", "batches", "end of epoch", *STEP_FIELDS) or (b and low.endswith("batches")):
                fields.pop(k)
        for k, v in fields.items():
            rows.append((k, float(step), v))
    hparams = config_dump(text)  # the settings printed before training
    if not rows:
        return ReadResult(empty_table(), hparams=hparams, warnings=warnings, fmt="text")
    # in the order logged: a step printed again (a progress bar redrawn in place, a counter that
    # goes back) is load_run's to merge and say (ingest.segments)
    table = pd.DataFrame(rows, columns=["metric", "step", "value"])
    table["wall_time"] = np.nan
    return ReadResult(table, hparams=hparams, warnings=warnings, fmt="text")

