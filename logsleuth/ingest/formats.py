"""The formats logsleuth reads: what reads each, and how a file is recognised.

Two tables, the only place a format is declared:

- ``FORMATS``: a kind (`LogFile.kind`) and its reader as ``"module:function"`` (a module of
  this package, imported when the first file of that kind is read: discovery needs no pandas).
- ``SNIFFS``: the steps :func:`classify` takes, in order.  A step names the kind it decides, a
  test of the lower-case file name (no I/O), and optionally a test of the file's
  :class:`~logsleuth.ingest.sniff.Probe` as ``"module:function"`` (imported when a file's name
  first passes).  The first step whose tests pass decides; a step of kind None says the file is
  not a log (no later step may claim it).

Adding a format: write ``ingest/<name>.py`` with ``read_<name>(path) -> ReadResult`` (pandas
imported inside it) and a test ``looks_like_<name>(probe) -> bool``, then add one line to each
table here, the sniff where it must win over the steps after it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .sniff import CSV_EXT, CSV_NAMES, DB_EXT, HPARAM_FILES, IGNORED_FILES, JSONL_EXT, JSONL_NAMES, MONITOR_SUFFIX, TEXT_EXT, Probe, stamped

if TYPE_CHECKING:
    from .discover import LogFile
    from .tidy import ReadResult


@dataclass(frozen=True)
class Format:
    kind: str
    reader: str  # "module:function" in logsleuth.ingest
    # how the reader is called: with the path (`path`), the LogFile (`file`: a prefix or an entry
    # to pass on), or with the paths of all of a run's files of this kind at once (`paths`)
    takes: str = "path"


FORMATS = (
    Format("tensorboard", "events:read_event_file", takes="file"),
    Format("wandb", "wandbfile:read_wandb"),
    Format("hf", "jsonl:read_trainer_state"),
    Format("monitor", "monitorcsv:read_monitor", takes="paths"),
    Format("csv", "csvlog:read_csv_log"),
    Format("mlflowdb", "mlflowdb:read_log_file", takes="file"),
    Format("mlflow", "mlflow:read_mlflow_run"),  # a run directory (discover._walk finds it)
    Format("jsonl", "jsonl:read_jsonl"),
    Format("history", "jsonl:read_keras_history"),
    Format("console", "consolefmt:read_console"),
    Format("text", "textlog:read_textlog"),
)
BY_KIND = {f.kind: f for f in FORMATS}


def anyname(low: str) -> bool:
    """Every file name: the content decides."""
    return True


def _text_named(low: str) -> bool:
    """A name text logs have (`.log`, `.txt`, `.md`, `.out`, Keras' `training.log`)."""
    return low.endswith(TEXT_EXT) or low in CSV_NAMES


@dataclass(frozen=True)
class Sniff:
    kind: str | None  # None: not a log
    names: Callable[[str], bool]
    test: str | None = None  # "module:function" taking a Probe; None: the name decides


SNIFFS = (
    Sniff("tensorboard", lambda low: "tfevents" in low),
    Sniff("wandb", lambda low: low.endswith(".wandb"), "wandbfile:looks_like_wandb_file"),
    Sniff(None, lambda low: low.endswith(".wandb")),  # without the W&B header
    Sniff(None, lambda low: low in IGNORED_FILES or low in HPARAM_FILES),  # metadata, hyperparameters, tools' own logs
    Sniff("hf", lambda low: low == "trainer_state.json"),
    Sniff("monitor", lambda low: low.endswith(MONITOR_SUFFIX), "monitorcsv:looks_like_monitor_file"),
    Sniff("csv", lambda low: low.endswith(CSV_EXT)),
    Sniff("mlflowdb", lambda low: low.endswith(DB_EXT), "mlflowdb:looks_like_mlflow_db"),
    Sniff(None, lambda low: low.endswith(DB_EXT)),  # an SQLite file without MLflow's tables
    Sniff("jsonl", lambda low: low.endswith(JSONL_EXT)),
    # by content from here on
    Sniff("jsonl", lambda low: low in JSONL_NAMES, "sniff:jsonl_by_name"),  # MAE/DETR's log.txt
    Sniff(None, anyname, "sniff:is_binary"),  # empty, or binary content
    Sniff("hf", anyname, "sniff:trainer_state_head"),
    Sniff("jsonl", anyname, "sniff:json_lines"),
    Sniff("hf", anyname, "sniff:trainer_state_far"),
    Sniff("history", anyname, "sniff:saved_history"),
    Sniff(None, anyname, "sniff:json_document"),  # a JSON document of no format read here
    # Keras' `training.log` is a CSV, unless its lines are a logger's that a console reader reads
    Sniff("console", lambda low: low in CSV_NAMES, "formats:stamped_console"),
    Sniff("text", lambda low: low in CSV_NAMES, "formats:stamped_text"),
    Sniff("csv", lambda low: low in CSV_NAMES, "sniff:csv_first_line"),
    Sniff("csv", lambda low: _text_named(low) and low not in JSONL_NAMES, "sniff:csv_table"),
    Sniff("console", lambda low: _text_named(low) or low in JSONL_NAMES, "consolefmt:looks_like_console"),
    Sniff("text", lambda low: _text_named(low) or low in JSONL_NAMES, "textlog:looks_like_text"),
    Sniff("jsonl", lambda low: low in JSONL_NAMES),  # log.txt that is neither: read as JSON lines, to say why not
    # a long text log whose head is set-up output: looked at further in
    Sniff("console", _text_named, "consolefmt:looks_like_console_further"),
    Sniff("text", _text_named, "textlog:looks_like_text_further"),
)

def stamped_console(p: Probe) -> bool:
    """Logger lines (a date and time first) of a known console layout."""
    return stamped(p) and resolve("consolefmt:looks_like_console")(p)


def stamped_text(p: Probe) -> bool:
    """Logger lines (a date and time first) holding `name value` fields."""
    return stamped(p) and resolve("textlog:looks_like_text")(p)


_resolved: dict[str, Callable[..., Any]] = {}


def resolve(ref: str) -> Callable[..., Any]:
    """`module:function` of this package, imported on first use."""
    fn = _resolved.get(ref)
    if fn is None:
        module, _, name = ref.partition(":")
        fn = _resolved[ref] = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    return fn


def classify(path: str) -> str | None:
    """The log kind of one file, by name and then by content; None when it is not a log."""
    p = Probe(path)
    for s in SNIFFS:
        if s.names(p.name) and (s.test is None or resolve(s.test)(p)):
            return s.kind
    return None


def read_with(f: LogFile) -> ReadResult:
    """One file through the reader of its kind."""
    fmt = BY_KIND[f.kind]
    reader = resolve(fmt.reader)
    if fmt.takes == "file":
        return reader(f)
    return reader([f.path]) if fmt.takes == "paths" else reader(f.path)


def read_together(files: tuple[LogFile, ...]) -> ReadResult:
    """A run's files of one kind that are read together (`takes="paths"`)."""
    return resolve(BY_KIND[files[0].kind].reader)([f.path for f in files])


def grouped(kind: str) -> bool:
    """Whether a run's files of this kind are read together, as one table."""
    return BY_KIND[kind].takes == "paths"
