"""TensorBoard event files written record by record (TFRecord framing, masked CRC32C), so
the bytes depend only on the run: file names and wall times come from the simulated clock,
never from the machine's.  Flavours: `tb_slash`, `tb_caps`, `tb_lightning`, `tb_hf`
(tags of those loggers) and `tb_keras` (train/ and validation/ sub-directories with
`epoch_*` tensor summaries, as Keras' callback writes them)."""

from __future__ import annotations

import os
import struct

import numpy as np

try:
    from crc32c import crc32c as _crc
except ImportError:  # tensorboard's pure-Python fallback: same bytes, slower
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c as _crc


def _masked(data: bytes) -> int:
    crc = _crc(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _frame(payload: bytes) -> bytes:
    header = struct.pack("<Q", len(payload))
    return header + struct.pack("<I", _masked(header)) + payload + struct.pack("<I", _masked(payload))


def _scalar_event(wall: float, step: int, tag: str, value: float, tf2: bool, first: bool) -> bytes:
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

    if tf2:
        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")) if first else None
        t = tensor_pb2.TensorProto(dtype=1, tensor_shape=tensor_shape_pb2.TensorShapeProto(), float_val=[value])
        val = summary_pb2.Summary.Value(tag=tag, tensor=t, metadata=meta)
    else:
        val = summary_pb2.Summary.Value(tag=tag, simple_value=value)
    return event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=[val])).SerializeToString()


def _hparams_event(wall: float, hparams: dict) -> bytes:
    from google.protobuf import struct_pb2
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2

    ssi = plugin_data_pb2.SessionStartInfo(start_time_secs=wall)
    for k, v in sorted(hparams.items()):
        if isinstance(v, bool) or isinstance(v, str):
            ssi.hparams[k].CopyFrom(struct_pb2.Value(string_value=str(v)))
        elif v is not None:
            ssi.hparams[k].CopyFrom(struct_pb2.Value(number_value=float(v)))
    content = plugin_data_pb2.HParamsPluginData(session_start_info=ssi, version=0).SerializeToString()
    meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="hparams", content=content))
    value = summary_pb2.Summary.Value(tag="_hparams_/session_start_info", metadata=meta)
    return event_pb2.Event(wall_time=wall, step=0, summary=summary_pb2.Summary(value=[value])).SerializeToString()


def _version_event(wall: float) -> bytes:
    from tensorboard.compat.proto import event_pb2

    return event_pb2.Event(wall_time=wall, file_version="brain.Event:2").SerializeToString()


def event_file(path: str, rows: list[tuple[float, int, str, float]], tf2: bool, hparams: dict | None,
               cut: bool = False) -> None:
    """One event file of (wall, step, tag, value) rows; `cut` drops the tail of the last
    record, as a job killed mid-write leaves it."""
    rows = sorted(rows, key=lambda r: (r[1], r[0], r[2]))
    wall0 = rows[0][0] if rows else 0.0
    out = [_frame(_version_event(wall0))]
    if hparams:
        out.append(_frame(_hparams_event(wall0, hparams)))
    seen: set[str] = set()
    for wall, step, tag, value in rows:
        out.append(_frame(_scalar_event(wall, step, tag, float(value), tf2, tag not in seen)))
        seen.add(tag)
    data = b"".join(out)
    if cut and len(out) > 2:
        data = data[:len(data) - len(out[-1]) // 2]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def file_name(wall: float, host: str, pid: int, suffix: str = "") -> str:
    return f"events.out.tfevents.{int(wall)}.{host}.{pid}.0{suffix}"


def write(run_dir: str, tags: dict[str, tuple[np.ndarray, np.ndarray]], spec: dict, clock, hparams: dict | None) -> list[str]:
    """Event file(s) for a run: one, or two for a resumed run (the second restarts at the
    checkpoint, so the steps between checkpoint and crash appear in both)."""
    tf2 = spec["flavor"] in ("tb_keras",) or spec.get("tf2", False)
    host, pid = spec["host"], spec["pid"]
    subdirs = {"": tags}
    if spec["flavor"] == "tb_keras":
        subdirs = {"train": {k: v for k, v in tags.items() if not k.startswith("validation:")},
                   "validation": {k.split(":", 1)[1]: v for k, v in tags.items() if k.startswith("validation:")}}
    files = []
    for sub, tg in subdirs.items():
        d = os.path.join(run_dir, sub) if sub else run_dir
        rows = [(clock(int(s)), int(s), tag, float(v)) for tag, (st, vv) in tg.items() for s, v in zip(st, vv)]
        if spec.get("resumed"):
            crash, ckpt = spec["resumed"]
            first = [r for r in rows if r[1] <= crash]
            again = [(w + clock.restart, s, t, v) for w, s, t, v in rows if s > ckpt]
            p1 = os.path.join(d, file_name(clock(0), host, pid, ".v2" if tf2 else ""))
            p2 = os.path.join(d, file_name(clock(0) + clock.restart + clock.per_step * ckpt, host, pid + 1, ".v2" if tf2 else ""))
            event_file(p1, first, tf2, hparams if not sub or sub == "train" else None)
            event_file(p2, again, tf2, None, cut=spec.get("truncated", False))
            files += [p1, p2]
        else:
            p = os.path.join(d, file_name(clock(0), host, pid, ".v2" if tf2 else ""))
            event_file(p, rows, tf2, hparams if not sub or sub == "train" else None, cut=spec.get("truncated", False))
            files.append(p)
    return files
