"""Weights & Biases run files: `wandb/run-*/run-<id>.wandb` and `offline-run-*/...`, online or
offline.  Since the current W&B clients the history lives only here (no wandb-history.jsonl),
with the config, the summary and the run's start and exit records.

The file is a LevelDB-style log: a 7-byte header (`:W&B`, magic 0xBEE1, version), then 32 KiB
blocks of records, each [u32 CRC32 of type and data][u16 length][u8 type: FULL, FIRST, MIDDLE,
LAST][data]; a record too long for its block is split across blocks.  Each complete record is
a protobuf `Record` (wandb/proto/wandb_internal.proto); the few fields needed are decoded here,
so no W&B package, login, network or service process is needed:

    Record:        history = 2, summary = 3, config = 5, run = 17, exit = 18
    HistoryRecord: item = 1 (key = 1, nested_key = 2, value_json = 16), step = 2 (num = 1)
    ConfigRecord:  update = 1 (ConfigItem: key = 1, nested_key = 2, value_json = 16)
    RunRecord:     run_id = 1, project = 3, config = 4, display_name = 8, starting_step = 14, resumed = 18
    RunExitRecord: exit_code = 1, runtime = 2

A damaged record is skipped to the next block (as LevelDB readers do) with a warning giving the
byte offset; a run still being written, or killed, is read up to its last complete record.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from .sniff import Probe
    from .tidy import ReadResult

IDENT = b":W&B"
MAGIC = 0xBEE1
HEADER = 7
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
MAX_WARNINGS = 20
# a record type's CRC seed: the CRC32 of its type byte (the data's CRC continues from it)
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}


def looks_like_wandb(head: bytes) -> bool:
    return len(head) >= HEADER and head[:4] == IDENT and struct.unpack_from("<H", head, 4)[0] == MAGIC


def looks_like_wandb_file(p: Probe) -> bool:
    """A probed file that starts as a .wandb file does (ingest.formats)."""
    return looks_like_wandb(p.head)


def records(data: bytes, path: str, warnings: list[str]) -> Iterator[tuple[int, bytes]]:
    """(offset, payload) of every complete record; damage skipped to the next block."""
    n = len(data)
    pos = HEADER
    parts: list[bytes] = []
    start = -1
    while pos < n:
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # the block's zero trailer
            pos += left
            continue
        if n - pos < HEADER:
            _warn(warnings, f"{path}: truncated record header at byte {pos} (a run still being written, or killed); "
                            "the records before it were read")
            return
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0 and length == 0 and crc == 0:  # zero padding (preallocated or a crash): the rest of the block
            pos += left
            continue
        end = pos + HEADER + length
        if end > n:
            _warn(warnings, f"{path}: truncated record at byte {pos} (a run still being written, or killed); "
                            "the records before it were read")
            return
        payload = data[pos + HEADER:end]
        if kind not in _TYPE_CRC or length > left - HEADER or zlib.crc32(payload, _TYPE_CRC[kind]) != crc:
            _warn(warnings, f"{path}: corrupt record at byte {pos} (CRC or framing); skipped to the next block")
            pos += left
            parts, start = [], -1
            continue
        if kind == FULL:
            if parts:
                _warn(warnings, f"{path}: record split at byte {start} never finished; skipped")
                parts = []
            yield pos, payload
        elif kind == FIRST:
            parts, start = [payload], pos
        elif parts:
            parts.append(payload)
            if kind == LAST:
                yield start, b"".join(parts)
                parts, start = [], -1
        else:
            _warn(warnings, f"{path}: record part at byte {pos} without its first part; skipped")
        pos = end
    if parts:
        _warn(warnings, f"{path}: last record (from byte {start}) incomplete (a run still being written, or killed)")


def _warn(warnings: list[str], text: str) -> None:
    if len(warnings) < MAX_WARNINGS:
        warnings.append(text)


# --------------------------------------------------------------------------- protobuf fields

def _varint(b: bytes, p: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        if p >= len(b) or shift > 63:
            raise ValueError("malformed varint")
        c = b[p]
        p += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, p
        shift += 7


def fields(b: bytes) -> Iterator[tuple[int, int, Any]]:
    """(number, wire type, value) of a message's fields: an int for varints and fixed widths,
    the bytes of a length-delimited field."""
    p, n = 0, len(b)
    while p < n:
        key, p = _varint(b, p)
        fn, wt = key >> 3, key & 7
        v: Any
        if wt == 0:
            v, p = _varint(b, p)
        elif wt == 1:
            if p + 8 > n:
                raise ValueError("truncated fixed64")
            v, p = int.from_bytes(b[p:p + 8], "little"), p + 8
        elif wt == 2:
            ln, p = _varint(b, p)
            if p + ln > n:
                raise ValueError("truncated field")
            v, p = b[p:p + ln], p + ln
        elif wt == 5:
            if p + 4 > n:
                raise ValueError("truncated fixed32")
            v, p = int.from_bytes(b[p:p + 4], "little"), p + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield fn, wt, v


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _item(b: bytes) -> tuple[str, Any]:
    """key (nested keys joined by '/') and decoded JSON value of a History/Config/Summary item."""
    key, nested, raw = "", [], ""
    for fn, wt, v in fields(b):
        if fn == 1 and wt == 2:
            key = v.decode("utf-8", "replace")
        elif fn == 2 and wt == 2:
            nested.append(v.decode("utf-8", "replace"))
        elif fn == 16 and wt == 2:
            raw = v.decode("utf-8", "replace")
    name = "/".join(nested) if nested else key
    try:
        return name, json.loads(raw) if raw else None
    except ValueError:
        return name, raw


def _flat(name: str, value: Any, out: dict[str, Any]) -> None:
    """Numbers of a logged value; a dict without a media `_type` is a group of metrics."""
    if isinstance(value, bool):
        out[name] = float(value)
    elif isinstance(value, (int, float)):
        out[name] = float(value)
    elif isinstance(value, dict) and "_type" not in value:
        for k, v in value.items():
            _flat(f"{name}/{k}", v, out)
    elif isinstance(value, str) and value in ("NaN", "nan", "Infinity", "-Infinity", "inf", "-inf"):
        out[name] = float(value.replace("Infinity", "inf"))
    # media (images, tables, histograms: a dict with `_type`), strings and lists are not scalars


def _config(b: bytes, into: dict[str, Any]) -> None:
    for fn, wt, v in fields(b):
        if fn == 1 and wt == 2:
            k, val = _item(v)
            if k.startswith("_"):  # W&B's own (_wandb)
                continue
            if isinstance(val, dict) and set(val) <= {"value", "desc"} and "value" in val:
                val = val["value"]  # the config.yaml style wrapper
            if isinstance(val, dict):
                for kk, vv in _flatten_config(k, val):
                    into[kk] = vv
            else:
                into[k] = val


def _flatten_config(prefix: str, d: dict) -> Iterator[tuple[str, Any]]:
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten_config(f"{prefix}.{k}", v)
        else:
            yield f"{prefix}.{k}", v


def _history(rec: bytes, rows: int) -> tuple[float, float, dict[str, Any]]:
    """One history record: its step (`_step`, else the record's step, else the rows before it),
    wall time, and its values by flattened key (media objects and W&B's own `_` keys left out)."""
    row: dict[str, Any] = {}
    media: set[str] = set()
    step_num = None
    for f2, w2, v2 in fields(rec):
        if f2 == 1 and w2 == 2:
            k, val = _item(v2)
            if k.endswith("/_type"):  # a media object logged as nested keys
                media.add(k[: -len("_type")])
            _flat(k, val, row)
        elif f2 == 2 and w2 == 2:
            for f3, w3, v3 in fields(v2):
                if f3 == 1 and w3 == 0:
                    step_num = _signed(v3)
    step = row.pop("_step", None)
    step = float(step_num) if step is None and step_num is not None else step
    step = float(rows) if step is None else step
    wall = row.pop("_timestamp", math.nan)
    row.pop("_runtime", None)
    kept = {k: val for k, val in row.items()
            if not (k.startswith("_") or (media and any(k.startswith(m) for m in media)))}
    return step, wall, kept


# ------------------------------------------------------------------------------------- reader

def read_wandb(path: str) -> ReadResult:
    """History (as metrics), config (as hyperparameters) and the exit record of one .wandb file."""
    import numpy as np
    import pandas as pd

    from ..model import empty_table
    from .tidy import ReadResult

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    if not looks_like_wandb(data[:HEADER]):
        raise InputError(path, "not a W&B run file (no ':W&B' header)")
    warnings: list[str] = []
    hparams: dict[str, Any] = {}
    names: list[str] = []
    steps: list[float] = []
    values: list[float] = []
    walls: list[float] = []
    exit_code: int | None = None
    rows = bad = seen = 0
    first_bad = -1
    for off, rec in records(data, path, warnings):
        seen += 1
        try:
            for fn, wt, v in fields(rec):
                if wt != 2:
                    continue
                if fn == 2:  # history
                    step, wall, row = _history(v, rows)
                    names += row
                    values += row.values()
                    steps += [step] * len(row)
                    walls += [wall] * len(row)
                    rows += 1
                elif fn == 5:  # config
                    _config(v, hparams)
                elif fn == 17:  # run: its config, and a resumed run's flag
                    for f2, w2, v2 in fields(v):
                        if f2 == 4 and w2 == 2:
                            _config(v2, hparams)
                        elif f2 == 18 and w2 == 0 and v2:
                            warnings.append(f"{path}: a resumed run (W&B marks it resumed)")
                elif fn == 18:  # exit
                    exit_code = 0
                    for f2, w2, v2 in fields(v):
                        if f2 == 1 and w2 == 0:
                            exit_code = _signed(v2)
        except ValueError:
            bad += 1
            first_bad = off if first_bad < 0 else first_bad
    if not seen and not warnings:
        raise InputError(path, "only the W&B header: nothing was written to it (the run was killed before W&B flushed "
                               "its first block of records, or has just started)")
    if bad:
        warnings.append(f"{path}: {bad} record(s) that are not W&B records skipped (first at byte {first_bad})")
    if exit_code is None:
        warnings.append(f"{path}: no exit record: the run crashed, was killed, or is still running")
    elif exit_code != 0:
        warnings.append(f"{path}: the run exited with code {exit_code}")
    if not names:
        warnings.append(f"{path}: no scalar history")
        return ReadResult(empty_table(), hparams=hparams, warnings=warnings, fmt="wandb")
    table = pd.DataFrame({"metric": pd.Categorical(names), "step": np.asarray(steps, float),
                          "value": np.asarray(values, float), "wall_time": np.asarray(walls, float)})
    return ReadResult(table, hparams=hparams, warnings=warnings, fmt="wandb")
