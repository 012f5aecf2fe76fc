"""TensorBoard event files: scalars (TF1 simple_value and TF2 tensors) and hparams.

Records are read with their TFRecord framing and both CRCs checked; a corrupt record is
skipped with a warning naming the byte offset, and reading goes on after it.  Images,
histograms, graphs and text are skipped.  tbparse remains the reference (tests compare
against it) and the fallback when this reader fails on something it does not know.
"""

from __future__ import annotations

import struct
from typing import Any

import crc32c as _crc32c_mod  # the C (SSE4.2 / ARMv8 CRC) implementation
import numpy as np
import pandas as pd

from ..errors import InputError
from ..model import TIDY_COLUMNS, empty_table
from .tidy import ReadResult


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC32C."""
    crc = _crc32c_mod.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


_SCALAR_DTYPES = {1, 2, 3, 4, 5, 6, 9, 10, 19, 14}  # float, double, int32, uint8, int16, int8, int64, bool, half, bfloat16


def iter_records(buf: bytes, path: str, warnings: list[str]):
    """Yield (offset, payload) for every intact record; warn on damage and resync."""
    n = len(buf)
    pos = 0
    while pos < n:
        if n - pos < 12:
            warnings.append(f"{path}: truncated record header at byte {pos} (a crashed job?); {n - pos} trailing byte(s) ignored")
            return
        header = buf[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", buf[pos + 8:pos + 12])
        if masked_crc(header) != len_crc:
            nxt = _resync(buf, pos + 1)
            warnings.append(
                f"{path}: corrupt record length at byte {pos}; "
                + (f"skipped to the next intact record at byte {nxt}" if nxt is not None else "nothing readable after it")
            )
            if nxt is None:
                return
            pos = nxt
            continue
        end = pos + 12 + length + 4
        if end > n:
            warnings.append(f"{path}: truncated last record at byte {pos} (a crashed job?); the records before it were read")
            return
        payload = buf[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", buf[end - 4:end])
        if masked_crc(payload) != data_crc:
            warnings.append(f"{path}: corrupt record at byte {pos} (CRC mismatch); skipped")
        else:
            yield pos, payload
        pos = end


def _resync(buf: bytes, start: int) -> int | None:
    n = len(buf)
    for p in range(start, n - 12):
        header = buf[p:p + 8]
        (length,) = struct.unpack("<Q", header)
        if length > n:
            continue
        if masked_crc(header) == struct.unpack("<I", buf[p + 8:p + 12])[0]:
            return p
    return None


def read_tensorboard(path: str, prefix: str = "") -> ReadResult:
    """Scalars and hparams of one event file."""
    from tensorboard.compat.proto import event_pb2

    try:
        with open(path, "rb") as fh:
            buf = fh.read()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    warnings: list[str] = []
    tags: list[str] = []
    steps: list[int] = []
    vals: list[float] = []
    walls: list[float] = []
    hparams: dict[str, Any] = {}
    scalar_tags: dict[str, bool] = {}
    n_records = 0
    n_bad = 0
    for offset, payload in iter_records(buf, path, warnings):
        n_records += 1
        try:
            ev = event_pb2.Event.FromString(payload)
        except Exception:
            n_bad += 1
            if n_bad <= 3:
                warnings.append(f"{path}: record at byte {offset} is not a TensorBoard event; skipped")
            continue
        if not ev.HasField("summary"):
            continue
        for v in ev.summary.value:
            kind = v.WhichOneof("value")
            plugin = v.metadata.plugin_data.plugin_name if v.HasField("metadata") else ""
            if plugin == "hparams":
                hparams.update(_hparams_from(v.metadata.plugin_data.content))
                continue
            if kind == "simple_value":
                value = float(v.simple_value)
            elif kind == "tensor":
                if plugin:
                    scalar_tags[v.tag] = plugin == "scalars"
                if not scalar_tags.get(v.tag, plugin == "" and len(v.tensor.tensor_shape.dim) == 0):
                    continue
                scalar = _tensor_scalar(v.tensor)
                if scalar is None:
                    continue
                value = scalar
            else:
                continue
            tags.append(prefix + v.tag)
            steps.append(ev.step)
            vals.append(value)
            walls.append(ev.wall_time)
    if n_records == 0 and not warnings:
        warnings.append(f"{path}: empty event file")
    if not tags:
        table = empty_table()
    else:
        table = pd.DataFrame(
            {
                "metric": pd.Series(tags, dtype=object),
                "step": np.asarray(steps, dtype="float64"),
                "value": np.asarray(vals, dtype="float64"),
                "wall_time": np.asarray(walls, dtype="float64"),
            }
        )[list(TIDY_COLUMNS)]
    return ReadResult(table=table, hparams=hparams, warnings=warnings, fmt="tensorboard")


def _tensor_scalar(t: Any) -> float | None:
    if t.dtype not in _SCALAR_DTYPES:
        return None
    if any(d.size != 1 for d in t.tensor_shape.dim):
        return None
    if t.float_val:
        return float(t.float_val[0])
    if t.double_val:
        return float(t.double_val[0])
    if t.int_val:
        return float(t.int_val[0])
    if t.int64_val:
        return float(t.int64_val[0])
    if t.half_val:
        return float(np.array([t.half_val[0]], dtype=np.uint16).view(np.float16)[0])
    if t.bool_val:
        return float(t.bool_val[0])
    if t.tensor_content:
        dt = {1: "<f4", 2: "<f8", 3: "<i4", 9: "<i8", 19: "<f2", 4: "u1", 5: "<i2", 6: "i1", 10: "?"}.get(t.dtype)
        if dt is None:
            return None
        arr = np.frombuffer(t.tensor_content, dtype=dt)
        return float(arr[0]) if arr.size else None
    return None


def _hparams_from(content: bytes) -> dict[str, Any]:
    try:
        from tensorboard.plugins.hparams import plugin_data_pb2
    except ImportError:  # pragma: no cover
        return {}
    try:
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
    except Exception:
        return {}
    if not data.HasField("session_start_info"):
        return {}
    out: dict[str, Any] = {}
    for name, val in data.session_start_info.hparams.items():
        k = val.WhichOneof("kind")
        if k == "number_value":
            out[name] = val.number_value
        elif k == "string_value":
            out[name] = val.string_value
        elif k == "bool_value":
            out[name] = val.bool_value
    return out


def read_with_tbparse(path: str, prefix: str = "") -> ReadResult:
    """The reference reader (slow): used as a fallback and as the oracle in tests."""
    import warnings as _w

    from tbparse import SummaryReader

    with _w.catch_warnings():
        _w.simplefilter("ignore")
        reader = SummaryReader(path, pivot=False, extra_columns={"wall_time"})
        frames = [reader.scalars]
        tens = reader.tensors  # TF2 writes scalars as tensors
        if tens is not None and not tens.empty:
            tens = tens[tens["value"].map(lambda v: np.ndim(v) == 0 and isinstance(v.item() if hasattr(v, "item") else v, (int, float)))].copy()
            tens["value"] = tens["value"].astype("float64")
            frames.append(tens)
    frames = [f for f in frames if f is not None and not f.empty]
    if not frames:
        return ReadResult(table=empty_table(), fmt="tensorboard")
    df = pd.concat(frames, ignore_index=True)
    table = pd.DataFrame(
        {
            "metric": prefix + df["tag"].astype(str),
            "step": df["step"].astype("float64"),
            "value": df["value"].astype("float64"),
            "wall_time": df["wall_time"].astype("float64"),
        }
    )
    return ReadResult(table=table, fmt="tensorboard")
