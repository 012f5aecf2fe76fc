"""CSV/TSV logs: wide (a step column and one column per metric), long (step, tag, value),
Lightning CSVLogger, Keras CSVLogger, ultralytics results.csv, timm summary.csv,
fastai history.csv, DVCLive TSV."""

from __future__ import annotations

import csv
import io
import os
import re

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model import empty_table
from .stream import read_streamed, should_stream
from .textio import read_bytes, read_text
from .tidy import ReadResult, coerce_numeric, pick_column, wide_to_long

_DURATION = re.compile(r"^\s*\d+:\d\d(:\d\d)?(\.\d+)?\s*$")
_LONG_TAG = ("tag", "metric", "name", "key")
_LONG_VALUE = ("value", "val", "scalar")


def read_csv_log(path: str, data: bytes | None = None) -> ReadResult:
    """Any of the CSV-shaped logs, as a tidy table (files over STREAM_BYTES in pieces)."""
    if data is None and should_stream(path):
        return read_streamed(path, lambda p, d: read_csv_log(p, d), header=True)
    probe = _probe(path) if data is None else None
    if probe is not None:
        # a plain file: pandas parses it by path (twice as fast as the same bytes in memory),
        # and only its head and last byte are read here
        first_bytes, ends_nl = probe
        tabbed = _looks_tab_separated(first_bytes.decode("utf-8", errors="replace"))
        sep = "\t" if path.lower().endswith(".tsv") or tabbed else ","
        warnings: list[str] = []
        df = _fast_frame(first_bytes, sep, path, warnings, whole_file=True, ends_nl=ends_nl)
        if df is not None:
            return _finish(df, path, warnings)
    raw, warnings = read_bytes(path, data)
    if _blank(raw):
        raise InputError(path, "empty file")
    head = raw[:65536].decode("utf-8", errors="replace")
    sep = "\t" if path.lower().endswith(".tsv") or _looks_tab_separated(head) else ","
    if b"\r" not in raw[:65536] and probe is None:
        df = _fast_frame(raw, sep, path, warnings)
        if df is not None:
            return _finish(df, path, warnings)
    text, _ = read_text(path, raw)
    rows, bad = _split_rows(text, sep)
    if bad:
        lines = ", ".join(str(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        warnings.append(f"{path}: {len(bad)} malformed line(s) skipped (line {lines})")
    if not rows:
        raise InputError(path, "no header line")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    if not any(header):
        raise InputError(path, "empty header line", where="1")
    header, dup_warn = _dedupe_header(header, path)
    warnings += dup_warn
    if not text.endswith("\n") and body and len(body[-1]) < len(header):
        warnings.append(f"{path}:{len(rows)}: last line is incomplete (a crashed job?); its missing cells are ignored")
    width = len(header)
    body = [r[:width] + [""] * (width - len(r)) for r in body]
    df = pd.DataFrame(body, columns=header, dtype=object)
    df = df.replace({"": None})
    return _finish(df, path, warnings)


def _blank(raw: bytes, start: int = 0) -> bool:
    """Whether raw[start:] is only white space (without copying a large file to find out)."""
    return not raw[start:start + 4096].strip() and not raw[start:].strip()


HEAD_BYTES = 65536  # the head read to sniff a text log (separator, header, binary content)


def _probe(path: str) -> tuple[bytes, bool] | None:
    """(head, ends with a newline) of a file pandas may parse by path: not gzip, no BOM, no NUL
    bytes in its head or at its end (a crash's padding), no carriage returns, mostly UTF-8.
    None sends the file through read_bytes, which reads it whole and says what it found."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
            fh.seek(-1, os.SEEK_END)
            last = fh.read(1)
    except OSError:
        return None
    if (not head or head[:2] == b"\x1f\x8b" or head[:3] == b"\xef\xbb\xbf" or b"\x00" in head or last == b"\x00"
            or b"\r" in head or head.decode("utf-8", errors="replace").count("\ufffd") > 0.1 * len(head)):
        return None
    return head, last == b"\n"


def _fast_frame(raw: bytes, sep: str, path: str, warnings: list[str], whole_file: bool = False,
                ends_nl: bool | None = None) -> pd.DataFrame | None:
    """pandas' C parser on the bytes (on the file itself when `whole_file`: then `raw` is its
    head and `ends_nl` says whether it ends with a newline), for well-formed files (most of
    them); None sends the file to the tolerant row-by-row path.
    Empty cells are absent values; 'nan'/'inf' stay words until coercion, so a written NaN is
    kept as evidence."""
    nl = raw.find(b"\n")
    if nl < 0 or _blank(raw, nl + 1):
        return None
    first = raw[:nl].decode("utf-8", errors="replace")
    if not first.strip():
        return None
    try:
        header = next(csv.reader([first], delimiter=sep, skipinitialspace=True))
    except (csv.Error, StopIteration):
        return None
    header = [h.strip() for h in header]
    if not any(header):
        return None
    names, dup_warn = _dedupe_header(header, path)
    try:
        # skipping blanks after separators costs a third of the parse: only when the head has
        # them (elsewhere a " 0.5" cell is read as text and coerced like any other)
        spaced = f"{sep} ".encode() in raw or f"{sep}\t".encode() in raw
        df = pd.read_csv(path if whole_file else io.BytesIO(raw), compression=None, sep=sep, header=None, names=names, skiprows=1, skipinitialspace=spaced,
                         engine="c", keep_default_na=False, na_values=[""], on_bad_lines="error",
                         index_col=False, encoding="utf-8", encoding_errors="replace")
    except (ValueError, pd.errors.ParserError, csv.Error):
        return None
    if not (raw.endswith(b"\n") if ends_nl is None else ends_nl) and len(df) and df.iloc[-1].isna().any() and df.iloc[-1].notna().any():
        warnings.append(f"{path}:{len(df) + 1}: last line is incomplete (a crashed job?); its missing cells are ignored")
    warnings += dup_warn
    return df


def _finish(df: pd.DataFrame, path: str, warnings: list[str]) -> ReadResult:
    header = [str(c) for c in df.columns]
    if df.empty:
        warnings.append(f"{path}: header only, no data rows")
        return ReadResult(empty_table(), warnings=warnings, fmt="csv")
    fmt = _flavour(path, header)
    df, restarts = _repeated_headers(df, path, warnings)
    long_cols = _long_layout(header)
    if long_cols is not None:
        table, w = _long_to_tidy(df, path, *long_cols)
        return ReadResult(table, warnings=warnings + w, fmt="csv-long")
    # durations like 04:39 (fastai) are not metrics and not wall clocks
    for col in list(df.columns):
        dtype = df[col].dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            continue  # a column of numbers holds no "04:39"
        sample = df[col].iloc[:1000].dropna().head(20)  # the first 20 values, without a pass over the column
        if sample.empty and len(df) > 1000:
            sample = df[col].dropna().head(20)
        if len(sample) and sample.map(lambda s: bool(_DURATION.match(str(s)))).all():
            df = df.drop(columns=[col])
    step_col = None
    if pick_column(df.columns, ("step", "global_step", "iteration", "iter", "epoch", "epochs")) is None:
        # Keras history.csv without an epoch column: the row is the epoch (from 0 again after a
        # repeated header: the log written again)
        rows = np.arange(len(df), dtype="float64")
        if restarts.size:
            rows = rows - np.r_[0.0, restarts.astype("float64")][np.searchsorted(restarts, rows, side="right")]
        df.insert(0, "epoch", rows)
        step_col = "epoch"
        warnings.append(f"{path}: no step or epoch column; row i is epoch i")
    table, w = wide_to_long(df, path, step_col=step_col)
    return ReadResult(table, warnings=warnings + [x for x in w if "row order" not in x], fmt=fmt)


def _repeated_headers(df: pd.DataFrame, path: str, warnings: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The frame without the rows that repeat the header (a log written again into the same
    file, or appended to by a second job), and the positions in the result where each was."""
    text_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if not text_cols or len(df.columns) < 2:
        return df, np.zeros(0, dtype=np.int64)
    same = np.zeros(len(df), dtype=np.int64)
    for c in text_cols:
        name = str(c).strip()
        same += np.fromiter((isinstance(v, str) and v.strip() == name for v in df[c]), dtype=np.int64, count=len(df))
    header_rows = np.flatnonzero(same * 2 >= len(df.columns))
    if not header_rows.size:
        return df, np.zeros(0, dtype=np.int64)
    lines = ", ".join(str(int(i) + 2) for i in header_rows[:5]) + (" ..." if header_rows.size > 5 else "")
    warnings.append(f"{path}: the header line comes again at line {lines} (the log written again, or appended to "
                    f"by another job): read as where the logging starts again")
    keep = np.ones(len(df), dtype=bool)
    keep[header_rows] = False
    return df[keep].reset_index(drop=True), header_rows - np.arange(header_rows.size)


def _looks_tab_separated(text: str) -> bool:
    first = text.split("\n", 1)[0]
    return first.count("\t") > 0 and first.count(",") == 0


def _split_rows(text: str, sep: str) -> tuple[list[list[str]], list[int]]:
    rows: list[list[str]] = []
    bad: list[int] = []
    reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True)
    width = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            bad.append(reader.line_num)
            continue
        if not row or all(not c.strip() for c in row):
            continue
        if width is None:
            width = len(row)
        elif len(row) > width:
            bad.append(reader.line_num)
            continue
        rows.append([c.strip() for c in row])
    return rows, bad


def _dedupe_header(header: list[str], path: str) -> tuple[list[str], list[str]]:
    seen: dict[str, int] = {}
    out = []
    warnings = []
    for i, h in enumerate(header):
        name = h or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            new = f"{name}#{seen[name]}"
            warnings.append(f"{path}: duplicate column {name!r} (column {i + 1}) read as {new!r}")
            name = new
        else:
            seen[name] = 1
        out.append(name)
    return out, warnings


def _flavour(path: str, header: list[str]) -> str:
    base = os.path.basename(path).lower()
    lower = [h.lower() for h in header]
    if base == "metrics.csv" and "step" in lower and "epoch" in lower:
        return "lightning_csv"
    if base == "results.csv" and any(h.startswith("metrics/") for h in lower):
        return "yolo_results_csv"
    if base == "summary.csv" and "eval_top1" in lower:
        return "timm_summary_csv"
    if base in ("training.log", "history.csv"):
        return "keras_csv"
    if path.lower().endswith(".tsv"):
        return "dvclive_tsv"
    return "csv"


def _long_layout(header: list[str]) -> tuple[str, str, str] | None:
    lower = {h.lower(): h for h in header}
    tag = next((lower[c] for c in _LONG_TAG if c in lower), None)
    val = next((lower[c] for c in _LONG_VALUE if c in lower), None)
    step = next((lower[c] for c in ("step", "global_step", "iteration", "epoch") if c in lower), None)
    if tag and val and step and len(header) <= 5:
        return tag, val, step
    return None


def _long_to_tidy(df: pd.DataFrame, path: str, tag: str, val: str, step: str) -> tuple[pd.DataFrame, list[str]]:
    warnings = []
    values, n_bad = coerce_numeric(df[val])
    steps, _ = coerce_numeric(df[step])
    if n_bad:
        warnings.append(f"{path}: {n_bad} non-numeric value(s) ignored")
    wall_col = pick_column(df.columns, ("wall_time", "walltime", "timestamp", "time"))
    wall = pd.to_numeric(df[wall_col], errors="coerce") if wall_col else pd.Series(np.nan, index=df.index)
    keep = df[tag].notna() & steps.notna() & (values.notna() | df[val].astype(str).str.lower().str.strip().eq("nan"))
    out = pd.DataFrame(
        {
            "metric": df.loc[keep, tag].astype(str).str.strip(),
            "step": steps[keep].astype("float64"),
            "value": values[keep].astype("float64"),
            "wall_time": wall[keep].astype("float64"),
        }
    ).reset_index(drop=True)
    return out, warnings
