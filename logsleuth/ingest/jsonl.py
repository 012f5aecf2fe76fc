"""JSON-lines logs: one object per line, nested keys flattened to `a/b`.

Covers plain metrics.jsonl, W&B history, detectron2 metrics.json, mmengine scalars.json,
MMDetection *.log.json (mode train/val, iter restarting each epoch), MAE/DETR log.txt.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model import empty_table
from .stream import read_streamed, should_stream
from .textio import read_text
from .tidy import STEP_COLUMNS, TIME_COLUMNS, ReadResult, flatten, long_from_columns, parse_time_column, pick_column, wide_to_long

_NONFINITE = {"nan", "-nan", "inf", "-inf", "infinity", "-infinity"}
MAX_DEPTH = 64


def _cell(v: Any) -> Any:
    """A JSON value as a table cell: a written NaN stays visible (as the word "nan"), so it is
    not confused with a key the record does not have."""
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, str):
        return v.strip().lower().replace("infinity", "inf")
    return v


def _keep(key: str, v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    if isinstance(v, str):
        return v.strip().lower() in _NONFINITE or key.lower() in TIME_COLUMNS
    return False


def _plain_numbers(rec: dict[str, Any]) -> bool:
    """A non-empty record of finite-or-infinite numbers only (no NaN, bool, text, nesting or
    mode): flattening, filtering and cell conversion leave it as it is."""
    for v in rec.values():
        t = type(v)
        if t is not int and (t is not float or v != v):
            return False
    return bool(rec)


# json.loads of a stripped line without its Python layers (two regex matches and three calls a
# line, a third of the parse of a small log): the same decoder's C scanner, and a line is one
# value when the scan ends at its end (json.loads' "Extra data" otherwise)
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in JSONDecoder.__init__, not in the stubs


def parse_json_lines(text: str, path: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Records of a JSON-lines text and warnings for lines that are not objects."""
    records: list[dict[str, Any]] = []
    bad: list[int] = []
    lines = text.split("\n")
    last_nonempty = max((i for i, ln in enumerate(lines) if ln.strip()), default=-1)
    truncated = False
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        try:
            obj, end = _SCAN(s, 0)
            if end != len(s):
                raise ValueError("extra data")
        except (StopIteration, ValueError, RecursionError):
            if i == last_nonempty and not text.endswith("\n"):
                truncated = True
            else:
                bad.append(i + 1)
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            bad.append(i + 1)
    warnings = []
    if truncated:
        warnings.append(f"{path}:{last_nonempty + 1}: last line is cut off (a crashed job?); the lines before it were read")
    if bad:
        where = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
        warnings.append(f"{path}: {len(bad)} line(s) that are not JSON objects skipped (line {where})")
    return records, warnings


def _fast_jsonl(path: str, data: bytes | None = None) -> ReadResult | None:
    """pyarrow's JSON-lines reader for large, flat, well-formed files (about 4x pandas.read_json).
    Arrow keeps an absent key (null) apart from a written NaN, so NaN stays evidence.  None
    sends the file to the exact line-by-line path (small, nested, damaged or MMDetection files)."""
    try:
        import pyarrow as pa
        import pyarrow.json as pj
    except ImportError:  # pyarrow is the optional [fast] extra: the exact path reads the same table
        return None
    try:
        import os

        if data is not None:
            if len(data) < FAST_JSONL_BYTES:
                return None
            head = data[:65536]
        else:
            if os.path.getsize(path) < FAST_JSONL_BYTES:
                return None
            with open(path, "rb") as fh:
                head = fh.read(65536)
    except OSError:
        return None
    if head[:2] == b"\x1f\x8b" or b"\x00" in head or b'"mode"' in head or b'"env_info"' in head:
        return None
    try:
        tbl = pj.read_json(path if data is None else pa.BufferReader(data),
                           read_options=pj.ReadOptions(block_size=1 << 24))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError):
        return None
    while any(pa.types.is_struct(f.type) for f in tbl.schema):
        tbl = tbl.flatten()
    if any(pa.types.is_list(f.type) or pa.types.is_large_list(f.type) for f in tbl.schema):
        return None
    names = [n.replace(".", "/") for n in tbl.column_names]
    step_col = pick_column(names, STEP_COLUMNS)
    time_col = pick_column(names, TIME_COLUMNS)
    cols: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    steps = wall = None
    for name, col in zip(names, tbl.columns):
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
            present = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            vals = np.asarray(col.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False), dtype="float64")
        elif name == time_col:
            vals = parse_time_column(pd.Series(col.to_pandas())).to_numpy(dtype="float64")
            present = ~np.isnan(vals)
        else:
            continue  # text, media descriptors
        if name == step_col:
            steps = pd.Series(np.where(present, vals, np.nan)).ffill().bfill().to_numpy(dtype="float64")
        elif name == time_col:
            wall = vals
        elif not name.startswith("_"):
            cols[name] = (vals, present)
    warnings: list[str] = []
    n = tbl.num_rows
    if steps is None:
        steps = np.arange(n, dtype="float64")
        warnings.append(f"{path}: no step column; using the record order as the step" + (" (wall time kept)" if wall is not None else ""))
    return ReadResult(long_from_columns(cols, steps, wall if wall is not None else np.full(n, np.nan)),
                      warnings=warnings, fmt="jsonl")


FAST_JSONL_BYTES = 1 << 20


def read_jsonl(path: str, data: bytes | None = None) -> ReadResult:
    """A JSON-lines log as a tidy table (files over STREAM_BYTES in pieces)."""
    if data is None and should_stream(path):
        return read_streamed(path, lambda p, d: read_jsonl(p, d), header=False)
    fast = _fast_jsonl(path, data)
    if fast is not None:
        return fast
    text, warnings = read_text(path, data)
    if not text.strip():
        raise InputError(path, "empty file")
    records, w = parse_json_lines(text, path)
    warnings += w
    if not records:
        raise InputError(path, "no JSON object found on any line")
    hparams: dict[str, Any] = {}
    rows = []
    modes: list[str] = []
    fmt = "jsonl"
    for rec in records:
        if "env_info" in rec or ("config" in rec and isinstance(rec.get("config"), str)):
            fmt = "mmdet_logjson"
            if isinstance(rec.get("seed"), (int, float)):
                hparams["seed"] = rec["seed"]
            continue
        if "mode" not in rec and _plain_numbers(rec):  # the common record, as the general path below leaves it
            rows.append(rec)
            modes.append("train")
            continue
        try:
            flat = flatten(rec)
        except RecursionError:
            continue
        mode = flat.pop("mode", None)
        row = {k: v for k, v in flat.items() if _keep(k, v)}
        if isinstance(mode, str) and mode.lower() in ("val", "test", "eval"):
            step_keys = set(STEP_COLUMNS)
            row = {(k if k in step_keys or k in TIME_COLUMNS else f"{mode.lower()}/{k}"): v for k, v in row.items()}
        row = {k: (v if k.lower() in TIME_COLUMNS else _cell(v)) for k, v in row.items()}
        if row:
            rows.append(row)
            modes.append(mode.lower() if isinstance(mode, str) else "train")
    if not rows:
        raise InputError(path, "no numeric values in any record")
    df = pd.DataFrame.from_records(rows)
    step_col = pick_column(df.columns, STEP_COLUMNS)
    time_col = pick_column(df.columns, TIME_COLUMNS)
    internal = [c for c in df.columns if str(c).startswith("_") and c not in (step_col, time_col)]
    df = df.drop(columns=internal)  # W&B bookkeeping (_runtime, _step)
    if step_col is not None and str(step_col).lower() in ("iter", "iteration") and "epoch" in df.columns:
        df, w = _global_iterations(df, step_col, modes, path)
        warnings += w
    table, w = wide_to_long(df, path, step_col=step_col)
    return ReadResult(table, hparams=hparams, warnings=warnings + w, fmt=fmt)


def _global_iterations(df: pd.DataFrame, step_col: str, modes: list[str], path: str) -> tuple[pd.DataFrame, list[str]]:
    """MMDetection counts `iter` from 1 in every epoch (other loggers from 0): make it global
    (epoch x the epoch's span + iter); evaluation rows go to the end of their epoch."""
    it = pd.to_numeric(df[step_col], errors="coerce")
    ep = pd.to_numeric(df["epoch"], errors="coerce")
    train = pd.Series([m == "train" for m in modes], index=df.index)
    if not train.any() or it[train].isna().all() or ep[train].isna().all():
        return df, []
    per_epoch_max = it[train].groupby(ep[train]).max()
    per_epoch_min = it[train].groupby(ep[train]).min()
    if len(per_epoch_max) < 2 or not (per_epoch_min.iloc[1:].to_numpy() <= per_epoch_max.iloc[:-1].to_numpy()).any():
        return df, []
    # an epoch spans its counts plus one logging interval: MMDetection's 50, 100, ... 1000 (from 1)
    # is 1000 long, a 0, 50, ... 350 counter (from 0) is 400, so no step is logged twice
    gaps = it[train].groupby(ep[train]).diff()
    gaps = gaps[gaps > 0]
    gap = float(gaps.median()) if len(gaps) else 1.0
    period = float((per_epoch_max - per_epoch_min).max()) + gap
    e0 = float(ep.min())
    df = df.copy()
    df[step_col] = np.where(train, (ep - e0) * period + it, (ep - e0 + 1) * period)
    return df, [f"{path}: {step_col!r} restarts every epoch; steps made global as epoch x {period:g} + {step_col}"]


def _whole_json(path: str, text: str) -> Any:
    """A file that is one JSON document, or an error naming the file and the line:column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg}", where=f"{exc.lineno}:{exc.colno}") from exc
    except RecursionError as exc:
        raise InputError(path, "JSON nested too deeply") from exc


def read_trainer_state(path: str) -> ReadResult:
    """Hugging Face Trainer `trainer_state.json`: `log_history` train and eval rows."""
    text, warnings = read_text(path)
    state = _whole_json(path, text)
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise InputError(path, "no 'log_history' list: not a Hugging Face trainer_state.json")
    hparams = {
        k: state[k]
        for k in ("train_batch_size", "num_train_epochs", "max_steps", "logging_steps", "eval_steps", "global_step")
        if isinstance(state.get(k), (int, float)) and not isinstance(state.get(k), bool)
    }
    rows = []
    for rec in state["log_history"]:
        if not isinstance(rec, dict):
            continue
        if "train_runtime" in rec:  # the final summary row (averages), not a logging event
            continue
        row = {k: v for k, v in flatten(rec).items() if _keep(k, v)}
        row = {k: _cell(v) for k, v in row.items()}
        if row:
            rows.append(row)
    if not rows:
        warnings.append(f"{path}: log_history is empty")
        return ReadResult(empty_table(), hparams=hparams, warnings=warnings, fmt="hf_trainer_state")
    df = pd.DataFrame.from_records(rows)
    table, w = wide_to_long(df, path, step_col="step" if "step" in df.columns else None)
    return ReadResult(table, hparams=hparams, warnings=warnings + w, fmt="hf_trainer_state")


# a Keras `json.dump(history.history)`: {"loss": [...], "val_loss": [...], ...}, one value per
# epoch; some scripts nest it ({"history": {...}, "epoch": [...]}, model.history.__dict__)
HISTORY_NEST = ("history", "metrics")


def _history_lists(obj: Any) -> dict[str, list[Any]]:
    if not isinstance(obj, dict):
        return {}
    lists = {str(k): v for k, v in obj.items() if isinstance(v, list) and v and all(
        (isinstance(x, (int, float)) and not isinstance(x, bool)) or x is None or isinstance(x, str) for x in v)}
    if set(lists) - {"epoch"}:  # the epoch numbers alone are no history
        return lists
    for k in HISTORY_NEST:
        if isinstance(obj.get(k), dict):
            return _history_lists(obj[k])
    return {}


# a history saved as a list of per-epoch records under one of HISTORY_NEST's keys:
# {"config": {...}, "history": [{"epoch": 1, "train_loss": 1.1, "val_loss": 1.05}, ...]}
HPARAM_NEST = ("config", "args", "hparams", "params")


def _history_records(obj: Any) -> list[dict[str, Any]]:
    if isinstance(obj, list):  # the records alone: `[{"epoch": 1, "train_loss": 0.70, ...}, ...]`
        return obj if obj and all(isinstance(r, dict) for r in obj) else []
    if not isinstance(obj, dict):
        return []
    for k in HISTORY_NEST:
        recs = obj.get(k)
        if isinstance(recs, list) and recs and all(isinstance(r, dict) for r in recs):
            return recs
    return []


def _read_history_records(path: str, obj: Any, records: list[dict[str, Any]],
                          warnings: list[str]) -> ReadResult:
    """Per-epoch records as a tidy table (the step from their step or epoch key), the
    settings beside them as hyperparameters."""
    rows = [{k: _cell(v) for k, v in flatten(r).items() if _keep(k, v)} for r in records]
    rows = [r for r in rows if r]
    if not rows:
        raise InputError(path, "its history records hold no numbers")
    hparams = {}
    for k in HPARAM_NEST if isinstance(obj, dict) else ():
        if isinstance(obj.get(k), dict):
            hparams = {hk: hv for hk, hv in flatten(obj[k]).items() if isinstance(hv, (int, float, str, bool))}
            break
    table, w = wide_to_long(pd.DataFrame.from_records(rows), path)
    return ReadResult(table, hparams=hparams, warnings=warnings + w, fmt="history_records")


def read_keras_history(path: str) -> ReadResult:
    """A metrics history saved as JSON lists (Keras `history.history`, settings beside them
    left out): each list one metric, its index the epoch (from 0, as Keras counts them); or as
    a list of per-epoch records, on its own or under a `history` key."""
    text, warnings = read_text(path)
    obj = _whole_json(path, text)
    records = _history_records(obj)
    if records:
        return _read_history_records(path, obj, records, warnings)
    lists = _history_lists(obj)
    lists.pop("epoch", None)  # the epoch numbers themselves are the axis
    if not lists:
        raise InputError(path, "no metric lists: not a saved training history")
    n = max(len(v) for v in lists.values())
    cols = {}
    for k, v in lists.items():
        vals = np.full(n, np.nan)
        present = np.zeros(n, dtype=bool)
        for i, x in enumerate(v):
            f = _history_number(x)
            if f is not None:
                vals[i], present[i] = f, True
        cols[k] = (vals, present)
    lengths = sorted({len(v) for v in lists.values()})
    if len(lengths) > 1:
        warnings.append(f"{path}: the metric lists differ in length ({', '.join(map(str, lengths))} values); "
                        "each is read from epoch 0")
    return ReadResult(long_from_columns(cols, np.arange(n, dtype=float), np.full(n, np.nan)), warnings=warnings,
                      fmt="keras_history")


def _history_number(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, (int, float)):
        return float(x)
    try:
        return float(str(x).strip())  # "nan", "inf" and numbers written as text
    except ValueError:
        return None
