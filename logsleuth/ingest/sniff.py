"""What a file is, by its name and its first bytes: the probe every sniff of ingest.formats reads,
the names discovery knows, and the content tests of the text families (CSV, JSON lines, trainer
state, saved history) whose readers import pandas (so their tests live here, not beside them).
"""

from __future__ import annotations

import functools
import os
import re

# hyperparameters beside the logs (read by ingest.hparams)
HPARAM_FILES = ("hparams.yaml", "opt.yaml", "args.yaml", "config.yaml", "training_args.json", "hparams.json")
IGNORED_FILES = {"label.yaml", "meta.yaml", "wandb-summary.json", "wandb-metadata.json", "readme.md",
                 "manifest.md", "requirements.txt", "output.log", "config.json", "index.csv",
                 "debug.log", "debug-internal.log", "debug-core.log"}  # W&B's own logs, not training output
CSV_NAMES = {"training.log"}
JSONL_NAMES = {"metrics.json", "scalars.json", "wandb-history.jsonl", "log.txt"}
CSV_EXT = (".csv", ".tsv", ".csv.gz")
MONITOR_SUFFIX = "monitor.csv"  # what SB3's Monitor appends to every file name it is given
JSONL_EXT = (".jsonl", ".ndjson", ".log.json")
TEXT_EXT = (".log", ".txt", ".md", ".out")
DB_EXT = (".db", ".sqlite", ".sqlite3")  # SQLite files: an MLflow database
SNIFF_BYTES = 8192
# a text log whose first SNIFF_BYTES are set-up output (a TF Estimator's example dumps, pip's
# output) is looked at this far in before it is called no log; only files larger than the sniff
DEEP_SNIFF_BYTES = 256 * 1024
DEEP_SNIFF_LINES = 4000
MORE_BYTES = 1 << 20  # how far a JSON document is searched for a trainer state's `log_history`


def read_head(path: str, size: int = SNIFF_BYTES) -> bytes:
    """A file's first `size` bytes (nothing when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


class Probe:
    """One file as the sniffs see it: its lower-case name, then (read once, when first asked)
    its head, the head as text, and a longer stretch."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = os.path.basename(path).lower()
        self._more: dict[int, str] = {}

    @functools.cached_property
    def head(self) -> bytes:
        """The first SNIFF_BYTES, as read."""
        return read_head(self.path)

    @functools.cached_property
    def body(self) -> bytes:
        """The head without a NUL tail (a crash's, not a binary file's)."""
        return self.head.rstrip(b"\x00")

    @functools.cached_property
    def binary(self) -> bool:
        """Empty, or NUL bytes in the first KB."""
        return not self.body or b"\x00" in self.body[:1024]

    @functools.cached_property
    def text(self) -> str:
        """The head as text, from its first character that is not a BOM or a blank."""
        return self.body.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")

    def more(self, size: int = MORE_BYTES) -> str:
        """The first `size` bytes as text."""
        if size not in self._more:
            self._more[size] = read_head(self.path, size).decode("utf-8", errors="replace")
        return self._more[size]


# -- the content tests of the text families ------------------------------------------------------

# a saved Keras history: a JSON object whose first value (or that of a `history` key) is a list of numbers
_HISTORY = re.compile(r'\{\s*(?:"(?:history|metrics)"\s*:\s*\{\s*)?"[^"]{1,200}"\s*:\s*\[\s*(?:[-+.\d]|nan|NaN|null|"?-?(?:inf|Infinity|nan|NaN))')
# ... or whose `history` (or `metrics`) key holds a list of per-epoch records
_HISTORY_RECORDS = re.compile(r'^\{.{0,4000}?"(?:history|metrics)"\s*:\s*\[\s*\{', re.S)
# ... or whose settings come first (`{"model_type": "cnn", "epochs": 24, "accuracy": [...], ...}`): a list
# of numbers under a metric's name among its first keys
_HISTORY_AFTER_SETTINGS = re.compile(
    r'\{(?:\s*"[^"]{1,200}"\s*:\s*(?:"[^"]{0,200}"|[-+.\deE]+|true|false|null)\s*,){1,40}'
    r'\s*"[^"]{0,100}(?:loss|acc|error|mae|mse|auc|f1|reward|score)[^"]{0,100}"\s*:\s*\[\s*[-+.\d]', re.I)
# a JSON list of per-epoch records, `[{"epoch": 1, "train_loss": 0.70, ...}, ...]`
_RECORD_LIST = re.compile(r'\[\s*\{[^{}\[\]]{0,2000}?"(?:epoch|step|iteration|iter|global_step)"\s*:\s*[-+.\d]', re.I)
# a line that starts with a date and time: a logger's, not a CSV header
_STAMPED = re.compile(r"^\s*\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
_IDENT = re.compile(r"^[A-Za-z_][\w ./\-\[\]@()%]*$")
_NUMBER = re.compile(r"^\s*(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|NaN|inf|-inf|Inf|-Inf|)\s*$")


def looks_like_csv(text: str) -> bool:
    """A metrics table: a header of two or more names separated by commas or tabs, then at least
    two rows with as many fields, mostly numbers (a prose or console log is not)."""
    lines = [ln.rstrip("\r") for ln in text.split("\n")[:50] if ln.strip()]
    if len(lines) < 3:
        return False
    sep = "\t" if lines[0].count("\t") >= 1 else ","
    header = [h.strip().strip('"') for h in lines[0].split(sep)]
    if len(header) < 2 or not all(_IDENT.match(h) for h in header if h):
        return False
    rows = [ln.split(sep) for ln in lines[1:-1] or lines[1:]]  # the last line may be cut by the sniff
    if len(rows) < 2 or any(len(r) != len(header) for r in rows):
        return False
    cells = [c for r in rows for c in r]
    return sum(bool(_NUMBER.match(c)) for c in cells) >= 0.8 * len(cells)


def csv_table(p: Probe) -> bool:
    """A metrics table by content (a Keras CSVLogger file called `training_logs(3).log`)."""
    return looks_like_csv(p.text)


def csv_first_line(p: Probe) -> bool:
    """Keras' `training.log`: a first line with commas and no `|` (not a console table)."""
    first = p.text.split("\n", 1)[0]
    return first.count(",") >= 1 and "|" not in first


def stamped(p: Probe) -> bool:
    """A first line that starts with a date and time: a logger's (`2023-05-15 22:50:17,398 INFO:...`
    holds a comma too), not a CSV header."""
    return bool(_STAMPED.match(p.text.split("\n", 1)[0]))


def is_binary(p: Probe) -> bool:
    """Empty, or binary content (past the tests by name: no log)."""
    return p.binary


def json_document(p: Probe) -> bool:
    """Text that starts as a JSON object does, or a `.json` file's array."""
    return p.text.startswith("{") or (p.text.startswith("[") and p.name.endswith(".json"))


def jsonl_by_name(p: Probe) -> bool:
    """A file JSON lines by its name: binary (read as such, to say what is wrong) or starting with `{`."""
    return p.binary or p.text.startswith("{")


def trainer_state_head(p: Probe) -> bool:
    """`log_history` in the head (or, in a `.json` file, in its first MB)."""
    return p.text.startswith("{") and ('"log_history"' in p.text or (p.name.endswith(".json") and '"log_history"' in p.more()))


def trainer_state_far(p: Probe) -> bool:
    """`log_history` in the first MB of a JSON object that is not JSON lines."""
    return p.text.startswith("{") and '"log_history"' in p.more()


def json_lines(p: Probe) -> bool:
    """Objects on consecutive lines: the second line starts with `{` too."""
    t = p.text
    return t.startswith("{") and "\n" in t.strip() and t.split("\n", 1)[1].lstrip().startswith("{")


def saved_history(p: Probe) -> bool:
    """A `.json` file holding a Keras history (its settings may come first), or per-epoch records
    under a `history` key or as the whole document."""
    if not p.name.endswith(".json"):
        return False
    if p.text.startswith("["):
        return bool(_RECORD_LIST.match(p.text))
    return p.text.startswith("{") and bool(_HISTORY.match(p.text) or _HISTORY_RECORDS.search(p.text)
                                           or _HISTORY_AFTER_SETTINGS.match(p.text))


def long_head(p: Probe) -> bool:
    """A head that fills the sniff: the file goes on past it."""
    return len(p.body) >= SNIFF_BYTES
