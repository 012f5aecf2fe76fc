"""Finding runs under the paths a user gives.

A run is the directory holding one training job's logs: several TensorBoard event files
in one directory (restarts) are one run, and so are Keras' `train/` and `validation/`
event sub-directories.  Several CSV/JSON-lines logs side by side in one directory (no
event files) are separate runs, one per file.  Symlinked directories are not followed, so
walks cannot loop or leave the given root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .consolefmt import console_format
from .mlflow import is_mlflow_run
from .mlflowdb import DB_SUFFIXES, is_mlflow_db, list_runs
from .monitorcsv import is_monitor_name, looks_like_monitor
from .textlog import SNIFF_LINES, looks_like_textlog
from .wandbfile import looks_like_wandb

# hyperparameters beside the logs (read by ingest.hparams)
HPARAM_FILES = ("hparams.yaml", "opt.yaml", "args.yaml", "config.yaml", "training_args.json", "hparams.json")
SKIP_DIRS = {".git", "__pycache__", "node_modules", ".hg", ".svn", ".ipynb_checkpoints", "checkpoints_weights"}
SPLIT_DIRS = {"train", "training", "validation", "val", "valid", "eval", "test"}
IGNORED_FILES = {"label.yaml", "meta.yaml", "wandb-summary.json", "wandb-metadata.json", "readme.md",
                 "manifest.md", "requirements.txt", "output.log", "config.json", "index.csv",
                 "debug.log", "debug-internal.log", "debug-core.log"}  # W&B's own logs, not training output
# inside a W&B run directory that has its .wandb file: what would read the same run twice
# (files/wandb-history.jsonl of older clients) or is not training output
WANDB_RUN_SUBDIRS = ("files", "logs", "tmp")
CSV_NAMES = {"training.log"}
JSONL_NAMES = {"metrics.json", "scalars.json", "wandb-history.jsonl", "log.txt"}
TEXT_EXT = (".log", ".txt", ".md", ".out")
SNIFF_BYTES = 8192
# a text log whose first SNIFF_BYTES are set-up output (a TF Estimator's example dumps, pip's
# output) is looked at this far in before it is called no log; only files larger than the sniff
DEEP_SNIFF_BYTES = 256 * 1024
DEEP_SNIFF_LINES = 4000


@dataclass(frozen=True)
class LogFile:
    path: str
    kind: str  # tensorboard | csv | monitor | jsonl | hf | mlflow | mlflowdb | text | console
    prefix: str = ""
    entry: str = ""  # which run inside a file that holds many (an MLflow database: the run id)


@dataclass(frozen=True)
class RunSource:
    """Where one run's logs are; `name` is what reports call it."""

    name: str
    directory: str
    files: tuple[LogFile, ...]
    hparam_files: tuple[str, ...] = ()


@dataclass
class Discovery:
    runs: list[RunSource] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # directories given that hold no readable log (exit 2)


def natural_key(path: str) -> list:
    """Event files in the order they were written: the numbers in their names (time stamp, pid,
    writer counter) compared as numbers, so `...0001.host.7.9` comes before `...0001.host.7.10`."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", os.path.basename(path))]


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(SNIFF_BYTES)
    except OSError:
        return b""


def classify(path: str) -> str | None:
    """The log kind of one file, by name and then by content; None when it is not a log."""
    name = os.path.basename(path)
    low = name.lower()
    if "tfevents" in low:
        return "tensorboard"
    if low.endswith(".wandb"):
        return "wandb" if looks_like_wandb(_head(path)) else None
    if low in IGNORED_FILES or low in HPARAM_FILES:
        return None
    if low == "trainer_state.json":
        return "hf"
    if low.endswith((".csv", ".tsv", ".csv.gz")):
        if is_monitor_name(low) and looks_like_monitor(_head(path).decode("utf-8", errors="replace")):
            return "monitor"  # SB3/baselines' Monitor: a `#{...}` line before its header
        return "csv"
    if low.endswith(DB_SUFFIXES):
        return "mlflowdb" if is_mlflow_db(path) else None
    if low.endswith((".jsonl", ".ndjson", ".log.json")):
        return "jsonl"
    head = _head(path).rstrip(b"\x00")  # a NUL tail is a crash's, not a binary file's
    if not head or b"\x00" in head[:1024]:
        return "jsonl" if low in JSONL_NAMES else None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if low in JSONL_NAMES:  # by name JSON lines (MAE/DETR's log.txt), unless a console log says otherwise
        return "jsonl" if text.startswith("{") else (_text_kind(text) or "jsonl")
    if text.startswith("{"):
        if '"log_history"' in text or (low.endswith(".json") and '"log_history"' in _head_more(path)):
            return "hf"
        if "\n" in text.strip() and text.split("\n", 1)[1].lstrip().startswith("{"):
            return "jsonl"
        if '"log_history"' in _head_more(path):
            return "hf"
        if low.endswith(".json") and (_HISTORY.match(text) or _HISTORY_RECORDS.search(text)
                                      or _HISTORY_AFTER_SETTINGS.match(text)):
            return "history"
        return None
    if text.startswith("[") and low.endswith(".json"):
        return "history" if _RECORD_LIST.match(text) else None
    if low in CSV_NAMES:
        first = text.split("\n", 1)[0]
        # a logger's lines (`2023-05-15 22:50:17,398 INFO:Epoch 1: Train Loss=0.07, ...`) hold commas too
        if first.count(",") >= 1 and "|" not in first and not (_STAMPED.match(first) and _text_kind(text)):
            return "csv"
    if low.endswith(TEXT_EXT) or low in CSV_NAMES:
        # by content: a Keras CSVLogger file called `training_logs(3).log`, a console log
        if looks_like_csv(text):
            return "csv"
        return _text_kind(text) or (_text_kind(_head_more(path, DEEP_SNIFF_BYTES), DEEP_SNIFF_LINES)
                                    if len(head) >= SNIFF_BYTES else None)
    return None


def _text_kind(text: str, max_lines: int = SNIFF_LINES) -> str | None:
    """`console` for a console log of a known layout (judged on its head), `text` for `name value`
    lines among its first `max_lines`, else None."""
    if console_format(text):
        return "console"
    return "text" if looks_like_textlog(text, max_lines) else None


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


def _head_more(path: str, size: int = 1 << 20) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(size).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _display_name(given: str, rel: str) -> str:
    rel = "" if rel == "." else rel.replace(os.sep, "/")
    if os.path.isabs(given):
        base = os.path.basename(os.path.normpath(given)) or "."
        return f"{base}/{rel}" if rel else base
    g = os.path.normpath(given).replace(os.sep, "/")
    if not rel:
        return g
    return rel if g == "." else f"{g}/{rel}"


def discover(paths: list[str]) -> Discovery:
    """All runs under the given files and directories, sorted by name."""
    out = Discovery()
    seen: set[tuple[int, int]] = set()
    for given in paths:
        if os.path.isfile(given):
            kind = classify(given)
            if kind == "mlflowdb":
                base = os.path.normpath(given).replace(os.sep, "/") if not os.path.isabs(given) else os.path.basename(given)
                _add_db_runs(given, base, out)
                continue
            if kind is None:
                kind = "csv" if given.lower().endswith(".log") else "jsonl" if given.lower().endswith(".json") else None
            if kind is None:
                out.messages.append(f"{given}: not a training log logsleuth can read (TensorBoard, CSV, JSON lines, trainer_state.json, MLflow, console text)")
                continue
            d = os.path.dirname(given) or "."
            names = _list(d, out.messages)
            out.runs.append(RunSource(
                name=os.path.normpath(given).replace(os.sep, "/") if not os.path.isabs(given) else os.path.basename(given),
                directory=d, files=(LogFile(given, kind),),
                hparam_files=tuple(os.path.join(d, n) for n in HPARAM_FILES if n in names)))
            continue
        if not os.path.isdir(given):
            out.messages.append(f"{given}: no such file or directory")
            continue
        before = len(out.runs)
        looked = _walk(given, out, seen)
        if len(out.runs) == before:
            out.empty.append(given)
            out.messages.append(f"{given}: no training log found" + (f" among {len(looked)} file(s)" if looked else " (no files)"))
            for p in looked[:MAX_SKIP_REASONS]:
                out.messages.append(f"skipped {p}: {why_not(p)}")
            if len(looked) > MAX_SKIP_REASONS:
                out.messages.append(f"... and {len(looked) - MAX_SKIP_REASONS} more file(s)")
    out.runs.sort(key=lambda r: r.name)
    return out


def _add_db_runs(path: str, base: str, out: Discovery) -> None:
    """One run source per run of an MLflow database, named `<base>/<experiment>/<run>`."""
    from ..errors import InputError

    try:
        runs = list_runs(path)
    except InputError as exc:
        out.messages.append(str(exc))
        return
    if not runs:
        out.messages.append(f"{path}: an MLflow database without runs")
    for run_id, label in runs:
        out.runs.append(RunSource(f"{base}/{label}", os.path.dirname(path) or ".", (LogFile(path, "mlflowdb", entry=run_id),)))


MAX_SKIP_REASONS = 10  # files named with their reason when a directory yields no run


def why_not(path: str) -> str:
    """Why a file is not read as a log, in a few words."""
    low = os.path.basename(path).lower()
    if low in IGNORED_FILES or low in HPARAM_FILES:
        return "a known file that is not a training log (metadata, hyperparameters or a tool's own log)"
    head = _head(path).rstrip(b"\x00")
    if not head:
        return "empty"
    if b"\x00" in head[:1024]:
        return "binary content"
    if low.endswith(TEXT_EXT) or low.endswith((".json", ".jsonl")):
        return (f"no metric lines (`name value` fields, a table of numbers or JSON records) in its first "
                f"{SNIFF_BYTES // 1024} KB")
    return "not a log format logsleuth reads, by name or by content"


def _list(d: str, messages: list[str]) -> list[str]:
    try:
        return sorted(os.listdir(d))
    except OSError as exc:
        messages.append(f"{d}: cannot list: {exc.strerror or exc}")
        return []


def _tree(root: str, onerror: Callable[[OSError], None]):
    """os.walk(root, topdown=True, followlinks=False), with the files as DirEntry objects (their
    symlink bit without a syscall): (dirpath, dirnames to prune in place, file entries)."""
    stack = [root]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                entries = list(it)
        except OSError as exc:
            onerror(exc)
            continue
        dirnames, files, linked = [], [], set()
        for e in entries:
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                dirnames.append(e.name)
                if e.is_symlink():
                    linked.add(e.name)
            else:
                files.append(e)
        yield top, dirnames, files
        # a symlinked directory is listed, not entered
        stack += [os.path.join(top, d) for d in reversed(dirnames) if d not in linked]


def _walk(given: str, out: Discovery, seen: set[tuple[int, int]]) -> list[str]:
    """Add the runs under `given` to `out`; the files looked at that were not logs."""
    root = given
    passed: list[str] = []
    real_root = os.path.realpath(root)

    def onerror(exc: OSError) -> None:
        out.messages.append(f"{exc.filename}: cannot list: {exc.strerror or exc}")

    consumed: set[str] = set()
    for dirpath, dirnames, entries in _tree(root, onerror):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        try:
            st = os.stat(dirpath)
            real = (st.st_dev, st.st_ino)  # the same directory reached twice (bind mounts, given twice)
        except OSError:
            continue
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        if dirpath in consumed:
            continue
        links = {e.name for e in entries if e.is_symlink()}
        names = sorted(e.name for e in entries)
        rel = dirpath[len(root):].lstrip(os.sep) or "."  # dirpath is root joined with the names below it
        if is_mlflow_run(dirpath, names + dirnames):
            out.runs.append(RunSource(_display_name(given, rel), dirpath, (LogFile(dirpath, "mlflow"),)))
            dirnames[:] = []
            continue
        files: list[LogFile] = []
        for fn in names:
            p = os.path.join(dirpath, fn)
            if fn in links and not os.path.realpath(p).startswith(real_root + os.sep):
                out.messages.append(f"{p}: symlink pointing outside {given}; skipped")
                continue
            kind = classify(p)
            if kind == "wandb":
                consumed.update(os.path.join(dirpath, d) for d in WANDB_RUN_SUBDIRS)
            if kind == "mlflowdb":  # a database holds many runs: each is its own
                _add_db_runs(p, f"{_display_name(given, rel)}/{fn}", out)
            elif kind:
                files.append(LogFile(p, kind))
            elif len(passed) < 1000:
                passed.append(p)
        # Keras/TF2 layout: train/ and validation/ sub-directories of event files
        for sub in list(dirnames):
            if sub.lower() in SPLIT_DIRS:
                sp = os.path.join(dirpath, sub)
                ev = [f for f in _list(sp, out.messages) if "tfevents" in f.lower() and os.path.isfile(os.path.join(sp, f))]
                if ev:
                    files += [LogFile(os.path.join(sp, f), "tensorboard", prefix=f"{sub}/") for f in ev]
                    consumed.add(sp)
        if not files:
            continue
        hp = tuple(os.path.join(dirpath, n) for n in HPARAM_FILES if n in names)
        tb = sorted((f for f in files if f.kind == "tensorboard"), key=lambda f: (f.prefix, natural_key(f.path)))
        other = [f for f in files if f.kind not in ("tensorboard", "monitor")]
        monitors = tuple(sorted((f for f in files if f.kind == "monitor"), key=lambda f: natural_key(f.path)))
        name = _display_name(given, rel)
        separate = (not tb and len(other) + bool(monitors) > 1
                    and not all(f.path.lower().endswith(".tsv") for f in other + list(monitors)))
        if separate:
            if monitors:  # one file per environment worker: one run (ingest.monitorcsv)
                out.runs.append(RunSource(f"{name}/monitor", dirpath, monitors, hp))
            for f in other:
                stem = os.path.basename(f.path)
                for ext in (".jsonl", ".json", ".csv", ".tsv", ".log", ".txt"):
                    if stem.lower().endswith(ext):
                        stem = stem[: -len(ext)]
                        break
                out.runs.append(RunSource(f"{name}/{stem}", dirpath, (f,), hp))
        else:
            out.runs.append(RunSource(name, dirpath, tuple(tb + other) + monitors, hp))
    return passed
