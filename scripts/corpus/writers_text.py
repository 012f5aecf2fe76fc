"""JSON and console logs: JSON lines (plain, W&B history with `_step`/`_runtime`,
detectron2's metrics.json, a timestamps-only hand-rolled log), Hugging Face's
trainer_state.json (loss = mean since the last log, rounded to 4 digits), and console
text (`step 100 | loss 2.31 | lr 1e-3`, logging-prefixed lines, Keras progress lines,
the PyTorch word-LM example's `| epoch 1 | 200/2983 batches |` lines)."""

from __future__ import annotations

import datetime as dt
import json
import os

from .logview import Logged


def _metrics(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_") and k not in ("step", "epoch")}


def _save(path: str, lines: list[str], truncated: bool, end: str = "\n") -> str:
    text = end.join(lines) + end
    if truncated and len(lines) > 3:
        text = text[:len(text) - len(end) - len(lines[-1]) // 2]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def jsonl(run_dir: str, recs: list[dict], lg: Logged, spec: dict, clock, hparams: dict | None) -> list[str]:
    fl, lines, files = spec["flavor"], [], []
    for i, r in enumerate(recs):
        m, s = _metrics(r), r["step"]
        if fl == "jsonl_wandb":
            obj = {**m, "trainer/global_step": s, **({"epoch": r["_epoch"]} if r["_kind"] == "train" else {}),
                   "_step": i, "_runtime": clock.runtime(s), "_timestamp": clock(s)}
        elif fl == "jsonl_d2":
            obj = {"data_time": round(0.002 + 0.001 * (i % 7), 6), "iteration": s - 1, **m, "time": round(clock.per_step, 6)}
        elif fl == "jsonl_time":
            obj = {"time": _iso(clock(s)), **m}
        else:
            obj = {"step": s, **({"epoch": int(r["_epoch"])} if r["_kind"] == "train" else {}), **m}
        lines.append(json.dumps(obj))
    name = {"jsonl_wandb": "wandb-history.jsonl", "jsonl_d2": "metrics.json", "jsonl_time": "log.jsonl"}.get(fl, "metrics.jsonl")
    files.append(_save(os.path.join(run_dir, name), lines, spec.get("truncated", False)))
    if hparams and fl == "jsonl_wandb":
        files.append(_save(os.path.join(run_dir, "config.yaml"),
                           [f"{k}:\n  desc: null\n  value: {json.dumps(v)}" for k, v in hparams.items()], False))
    elif hparams:
        files.append(_save(os.path.join(run_dir, "hparams.json"), [json.dumps(hparams, indent=2)], False))
    return files


def hf(run_dir: str, recs: list[dict], lg: Logged, spec: dict, clock, hparams: dict | None) -> list[str]:
    """trainer_state.json: train rows with loss rounded to 4 digits, eval rows with runtimes,
    the closing summary row, and the Trainer's own bookkeeping keys."""
    hist, ep = [], max(1, lg.epoch_len)
    for r in recs:
        m = _metrics(r)
        row = {"epoch": round(r["step"] / ep, 4), **{k: (round(v, 4) if k == "loss" else v) for k, v in m.items()}, "step": r["step"]}
        if r["_kind"] == "val":
            n = spec.get("n_val", 500)
            rt = round(0.05 + n * 2e-4, 4)
            row.update({"eval_runtime": rt, "eval_samples_per_second": round(n / rt, 3), "eval_steps_per_second": round(n / rt / 8, 3)})
        hist.append(dict(sorted(row.items())))
    last = lg.crashed_at or lg.last_step
    if not lg.crashed_at and not spec.get("truncated"):
        losses = [r["loss"] for r in hist if "loss" in r]
        rt = clock.runtime(last)
        hist.append({"epoch": round(last / ep, 4), "step": last, "total_flos": 1.0e12 * last / 1000,
                     "train_loss": sum(losses) / max(1, len(losses)), "train_runtime": rt,
                     "train_samples_per_second": round(last * spec["batch_size"] / rt, 3),
                     "train_steps_per_second": round(last / rt, 3)})
    state = {"best_metric": None, "best_model_checkpoint": None, "epoch": round(last / ep, 4), "eval_steps": spec.get("eval_every"),
             "global_step": last, "is_hyper_param_search": False, "is_local_process_zero": True, "is_world_process_zero": True,
             "log_history": hist, "logging_steps": spec["every"], "max_steps": spec["steps"],
             "num_train_epochs": max(1, -(-spec["steps"] // ep)), "save_steps": 500, "total_flos": 1.0e12 * last / 1000,
             "train_batch_size": spec["batch_size"], "trial_name": None, "trial_params": None}
    d = os.path.join(run_dir, f"checkpoint-{last}") if spec["flavor"] == "hf_ckpt" else run_dir
    text = json.dumps(state, indent=2)
    files = [_save(os.path.join(d, "trainer_state.json"), text.split("\n"), spec.get("truncated", False))]
    if hparams:
        files.append(_save(os.path.join(d, "training_args.json"), [json.dumps(hparams, indent=2)], False))
    return files


def _pairs(m: dict) -> list[str]:
    """`name value` fields as print() with `:.5g` writes them; rates in e-notation."""
    from .writers import fmt_num
    return [f"{k} {v:.2e}" if k in ("lr", "learning_rate") else f"{k} {fmt_num(v, 'g')}" for k, v in m.items()]


def text(run_dir: str, recs: list[dict], lg: Logged, spec: dict, clock) -> list[str]:
    fl, lines = spec["flavor"], []
    if fl == "text_keras":
        lines = _keras_lines(recs, lg, spec)
    for r in recs if fl != "text_keras" else []:
        m, s = _metrics(r), r["step"]
        if fl == "text_pytorch":
            lines.append(_pytorch_line(r, m, lg, spec, clock))
            continue
        body = " | ".join([f"step {s}", *_pairs(m)])
        if fl == "text_log":
            t = dt.datetime.fromtimestamp(clock(s), dt.timezone.utc)
            body = f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} - train - INFO - epoch {int(r['_epoch'])} | {body}"
        lines.append(body)
    header = ["Namespace(" + ", ".join(f"{k}={v!r}" for k, v in (spec.get("hparams_text") or {}).items()) + ")"] if spec.get("hparams_text") else []
    return [_save(os.path.join(run_dir, spec.get("file", "train.log")), header + lines, spec.get("truncated", False))]


def _pytorch_line(r: dict, m: dict, lg: Logged, spec: dict, clock) -> str:
    from .writers import fmt_num
    ep = max(1, lg.epoch_len)
    s = r["step"]
    if r["_kind"] == "val":
        parts = [f"valid {k.removeprefix('val_')} {fmt_num(v, 2):>8}" for k, v in m.items()]
        if s % ep == 0 or s == lg.last_step:  # the example's evaluation at the end of an epoch
            return f"| end of epoch {int((s - 1) // ep) + 1:3d} | time: {clock.runtime(s):7.2f}s | " + " | ".join(parts)
        return f"| step {s:6d} | time: {clock.runtime(s):7.2f}s | " + " | ".join(parts)
    batch = (s - 1) % ep + 1
    lr = m.pop("lr", None)
    parts = [f"lr {lr:.4g}"] if lr is not None else []
    parts += [f"ms/batch {1000 * clock.per_step:5.2f}"] + [f"{k} {fmt_num(v, 2):>6}" for k, v in m.items()]
    return f"| epoch {int((s - 1) // ep) + 1:3d} | {batch:5d}/{ep:5d} batches | " + " | ".join(parts)


def _keras_lines(recs: list[dict], lg: Logged, spec: dict) -> list[str]:
    """`Epoch 3/20` then the progress bar's last state with the epoch's metrics."""
    ep = max(1, lg.epoch_len)
    epochs: dict[int, dict] = {}
    for r in recs:
        e = int(r["_epoch"]) if r["_kind"] == "train" else int((r["step"] - 1) // ep)
        epochs.setdefault(e, {}).update(_metrics(r))
    total, out = max(epochs) + 1 if epochs else 0, []
    ms = max(1, int(1000 * spec.get("per_step", 0.01)))
    for e in sorted(epochs):
        out.append(f"Epoch {e + 1}/{spec.get('epochs', total)}")
        fields = " - ".join(f"{k}: {_keras_num(v)}" for k, v in epochs[e].items())
        out.append(f"{ep}/{ep} [==============================] - {max(1, ep * ms // 1000)}s {ms}ms/step - {fields}")
    return out


def _keras_num(v: float) -> str:
    """Keras' progress bar: 4 decimals, or e-notation below 1e-3."""
    from .writers import fmt_num
    return fmt_num(v, 4) if not abs(v) <= 1e-3 else f"{v:.4e}"


def write(run_dir: str, recs: list[dict], lg: Logged, spec: dict, clock, hparams: dict | None) -> list[str]:
    if spec["format"] == "jsonl":
        return jsonl(run_dir, recs, lg, spec, clock, hparams)
    if spec["format"] == "hf_trainer_state":
        return hf(run_dir, recs, lg, spec, clock, hparams)
    return text(run_dir, recs, lg, spec, clock)
