"""Writers of real log files for tests and sample logs: TensorBoard (the tensorboard
package's own EventFileWriter), CSV flavours, JSON lines, trainer_state.json, MLflow."""

from __future__ import annotations

import json
import os

import numpy as np

from synth import Curves


def write_tensorboard(logdir: str, scalars: dict[str, tuple[np.ndarray, np.ndarray]], tf2: bool = False,
                      hparams: dict | None = None, wall0: float = 1.7e9, filename_suffix: str = "") -> str:
    """Event file with one scalar per (tag, step); TF2 style writes tensors with scalar metadata."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    os.makedirs(logdir, exist_ok=True)
    w = EventFileWriter(logdir, filename_suffix=filename_suffix)
    rows = []
    for tag, (st, v) in scalars.items():
        for s, x in zip(st, v):
            rows.append((float(s), tag, float(x)))
    rows.sort(key=lambda r: (r[0], r[1]))
    seen = set()
    for s, tag, x in rows:
        if tf2:
            meta = None
            if tag not in seen:
                meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
                seen.add(tag)
            t = tensor_pb2.TensorProto(dtype=1, tensor_shape=tensor_shape_pb2.TensorShapeProto(), float_val=[x])
            val = summary_pb2.Summary.Value(tag=tag, tensor=t, metadata=meta)
        else:
            val = summary_pb2.Summary.Value(tag=tag, simple_value=x)
        w.add_event(event_pb2.Event(wall_time=wall0 + s, step=int(s), summary=summary_pb2.Summary(value=[val])))
    if hparams:
        from google.protobuf import struct_pb2
        from tensorboard.plugins.hparams import plugin_data_pb2

        ssi = plugin_data_pb2.SessionStartInfo()
        for k, v in hparams.items():
            if isinstance(v, str):
                ssi.hparams[k].CopyFrom(struct_pb2.Value(string_value=v))
            else:
                ssi.hparams[k].CopyFrom(struct_pb2.Value(number_value=float(v)))
        content = plugin_data_pb2.HParamsPluginData(session_start_info=ssi, version=0).SerializeToString()
        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="hparams", content=content))
        w.add_event(event_pb2.Event(wall_time=wall0, step=0, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="_hparams_/session_start_info", metadata=meta)])))
    w.close()
    return w.get_logdir()


def curves_scalars(c: Curves, names=("train/loss", "val/loss", "val/acc", "lr")) -> dict:
    out = {names[0]: (c.steps, c.train_loss), names[1]: (c.val_steps, c.val_loss), names[2]: (c.val_steps, c.val_acc)}
    if len(names) > 3:
        out[names[3]] = (c.steps, c.lr)
    if c.grad_norm is not None:
        out["train/grad_norm"] = (c.steps, c.grad_norm)
    return out


def _fmt(x: float) -> str:
    return "" if x is None else ("nan" if np.isnan(x) else repr(float(x)))


def write_lightning_csv(path: str, c: Curves, hparams: dict | None = None) -> None:
    """metrics.csv as Lightning's CSVLogger writes it: sparse rows, epoch and step columns."""
    os.makedirs(path, exist_ok=True)
    lines = ["epoch,lr-SGD,step,train_loss,val_acc,val_loss"]
    vi = 0
    for i, s in enumerate(c.steps):
        ep = int((s - 1) // c.epoch_len)
        lines.append(f"{ep},{_fmt(c.lr[i])},{int(s)},{_fmt(c.train_loss[i])},,")
        if vi < c.val_steps.size and s == c.val_steps[vi]:
            lines.append(f"{ep},,{int(s)},,{_fmt(c.val_acc[vi])},{_fmt(c.val_loss[vi])}")
            vi += 1
    with open(os.path.join(path, "metrics.csv"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    if hparams:
        with open(os.path.join(path, "hparams.yaml"), "w") as fh:
            for k, v in hparams.items():
                fh.write(f"{k}: {v}\n")


def write_keras_csv(path: str, c: Curves) -> None:
    """training.log as Keras' CSVLogger writes it: one row per epoch."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    lines = ["epoch,accuracy,loss,val_accuracy,val_loss"]
    for e, vs in enumerate(c.val_steps):
        lo = c.steps <= vs
        hi = c.steps > vs - c.epoch_len
        m = float(np.nanmean(c.train_loss[lo & hi]))
        lines.append(f"{e},{_fmt(c.train_acc[e])},{_fmt(m)},{_fmt(c.val_acc[e])},{_fmt(c.val_loss[e])}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def write_jsonl(path: str, c: Curves) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    vi = 0
    with open(path, "w") as fh:
        for i, s in enumerate(c.steps):
            rec = {"step": int(s), "train/loss": float(c.train_loss[i]), "lr": float(c.lr[i])}
            if c.grad_norm is not None:
                rec["grad_norm"] = float(c.grad_norm[i])
            fh.write(json.dumps(rec) + "\n")
            if vi < c.val_steps.size and s == c.val_steps[vi]:
                fh.write(json.dumps({"step": int(s), "epoch": vi, "val/loss": float(c.val_loss[vi]),
                                     "val/acc": float(c.val_acc[vi])}) + "\n")
                vi += 1


def write_trainer_state(path: str, c: Curves, every: int = 10) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    hist = []
    vi = 0
    for i in range(every - 1, c.steps.size, every):
        s = int(c.steps[i])
        window = c.train_loss[i - every + 1:i + 1]
        hist.append({"epoch": round(s / c.epoch_len, 4), "learning_rate": float(c.lr[i]),
                     "loss": round(float(np.mean(window)), 4), "step": s})
        while vi < c.val_steps.size and c.val_steps[vi] <= s:
            hist.append({"epoch": round(s / c.epoch_len, 4), "eval_loss": float(c.val_loss[vi]),
                         "eval_accuracy": float(c.val_acc[vi]), "eval_runtime": 0.1, "step": s})
            vi += 1
    hist.append({"epoch": round(c.steps[-1] / c.epoch_len, 4), "step": int(c.steps[-1]), "train_loss": 1.0,
                 "train_runtime": 12.0})
    state = {"global_step": int(c.steps[-1]), "train_batch_size": 32, "log_history": hist}
    with open(path, "w") as fh:
        json.dump(state, fh, indent=2, allow_nan=True)


def write_mlflow(root: str, c: Curves, run_id: str = "0123456789abcdef") -> str:
    run = os.path.join(root, "mlruns", "0", run_id)
    os.makedirs(os.path.join(run, "metrics"), exist_ok=True)
    os.makedirs(os.path.join(run, "params"), exist_ok=True)
    with open(os.path.join(run, "meta.yaml"), "w") as fh:
        fh.write(f"run_id: {run_id}\nstatus: 3\n")
    with open(os.path.join(run, "metrics", "loss"), "w") as fh:
        for s, v in zip(c.steps, c.train_loss):
            fh.write(f"{int(1.7e12 + s * 1000)} {float(v)!r} {int(s)}\n")
    with open(os.path.join(run, "metrics", "val_loss"), "w") as fh:
        for s, v in zip(c.val_steps, c.val_loss):
            fh.write(f"{int(1.7e12 + s * 1000)} {float(v)!r} {int(s)}\n")
    with open(os.path.join(run, "params", "lr"), "w") as fh:
        fh.write("0.001")
    return run


def write_planted_sweep(root: str, high=(0.3, 1.0), low=(0.001, 0.003, 0.01, 0.03, 0.1),
                        seeds_high=3, seeds_low=2) -> None:
    """A sweep where every run with lr in `high` diverges and every run in `low` trains well:
    `root/lr=<lr>/seed_<s>/` in rotating formats, lr in the path and (for CSV) logged too."""
    from synth import diverging, healthy

    i = 0
    for lrs, seeds, gen in ((high, seeds_high, diverging), (low, seeds_low, healthy)):
        for lr in lrs:
            for s in range(seeds):
                c = gen(seed=100 + i)
                d = os.path.join(root, f"lr={lr:g}", f"seed_{s}")
                kind = i % 3
                if kind == 0:
                    write_jsonl(os.path.join(d, "metrics.jsonl"), c)
                elif kind == 1:
                    write_lightning_csv(os.path.join(d, "version_0"), c, hparams={"lr": lr, "seed": s})
                else:
                    write_trainer_state(os.path.join(d, "trainer_state.json"), c)
                i += 1


# ------------------------------------------------------------------------------ W&B run files

WANDB_BLOCK = 32768


def _pb_varint(n: int) -> bytes:
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _pb_len(field: int, payload: bytes) -> bytes:
    return _pb_varint(field << 3 | 2) + _pb_varint(len(payload)) + payload


def wandb_history(step: int, items: dict) -> bytes:
    """A W&B Record holding one history row (keys and JSON values, `_step` first)."""
    row = b"".join(_pb_len(1, _pb_len(1, k.encode()) + _pb_len(16, json.dumps(v).encode()))
                   for k, v in {"_step": step, **items}.items())
    return _pb_len(2, row)


def wandb_config(cfg: dict) -> bytes:
    return _pb_len(5, b"".join(_pb_len(1, _pb_len(1, k.encode()) + _pb_len(16, json.dumps(v).encode())) for k, v in cfg.items()))


def wandb_exit(code: int) -> bytes:
    return _pb_len(18, b"\x08" + _pb_varint(code & 0xFFFFFFFFFFFFFFFF))


def wandb_log(records: list[bytes]) -> bytes:
    """The bytes of a .wandb file holding these records (LevelDB log framing, as the client writes)."""
    import struct
    import zlib

    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))

    def put(kind: int, chunk: bytes) -> None:
        out.extend(struct.pack("<IHB", zlib.crc32(chunk, zlib.crc32(bytes([kind]))), len(chunk), kind) + chunk)

    for rec in records:
        data, first = rec, True
        while True:
            left = WANDB_BLOCK - len(out) % WANDB_BLOCK
            if left < 7:
                out.extend(b"\x00" * left)
                continue
            if len(data) <= left - 7:
                put(1 if first else 4, data)  # FULL or LAST
                break
            put(2 if first else 3, data[:left - 7])  # FIRST or MIDDLE
            data, first = data[left - 7:], False
    return bytes(out)


def write_wandb(run_dir: str, c: Curves, run_id: str = "abcd1234") -> str:
    """A W&B run directory whose run-<id>.wandb holds the curves' history, a config and an exit record."""
    os.makedirs(run_dir, exist_ok=True)
    recs = [wandb_config({"lr": float(c.lr[0]), "batch_size": 32})]
    vi = {float(s): i for i, s in enumerate(c.val_steps)}
    for i, s in enumerate(c.steps):
        row = {"train/loss": float(c.train_loss[i]), "lr": float(c.lr[i])}
        if float(s) in vi:
            j = vi[float(s)]
            row.update({"val/loss": float(c.val_loss[j]), "val/acc": float(c.val_acc[j])})
        recs.append(wandb_history(int(s), row))
    recs.append(wandb_exit(0))
    path = os.path.join(run_dir, f"run-{run_id}.wandb")
    with open(path, "wb") as fh:
        fh.write(wandb_log(recs))
    return path


FORMATS = ("jsonl", "lightning_csv", "keras_csv", "trainer_state", "tensorboard")


def write_in_format(d: str, c: Curves, kind: int, hparams: dict | None = None) -> None:
    """One run of curves `c` in directory `d`, in the format FORMATS[kind % 5] (the benchmarks and
    the diagnosis-sample test spread runs over the formats this way)."""
    fmt = FORMATS[kind % len(FORMATS)]
    if fmt == "jsonl":
        write_jsonl(os.path.join(d, "metrics.jsonl"), c)
    elif fmt == "lightning_csv":
        write_lightning_csv(os.path.join(d, "version_0"), c, hparams=hparams)
    elif fmt == "keras_csv":
        write_keras_csv(os.path.join(d, "training.log"), c)
    elif fmt == "trainer_state":
        write_trainer_state(os.path.join(d, "trainer_state.json"), c)
    else:
        write_tensorboard(d, curves_scalars(c))
