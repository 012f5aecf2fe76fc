"""From a Logged view to log files: records (one per log call), the simulated clock, and
the dispatch to the format writers (writers_tb, writers_csv, writers_text).

Records are what a logger receives: {"_kind": train | val | episode, "step", "epoch",
name: value}; names come from names.py in the run's naming style.
"""

from __future__ import annotations

import math

import numpy as np

from . import writers_csv, writers_tb, writers_text
from .logview import Logged

TRAIN_ROLES = {"train_loss", "train_acc", "train_box", "train_cls", "train_obj", "train_data", "train_reg", "lr",
               "grad_norm", "loss_D", "loss_G", "D_x", "D_G_z", "entropy", "q_mean", "train_ppl", "epoch"}
STYLE = {"tb_slash": "slash", "tb_caps": "caps", "tb_lightning": "lightning", "tb_hf": "slash", "tb_keras": "keras",
         "pl_default": "lightning", "pl_stepepoch": "lightning", "keras2": "keras", "keras3": "keras",
         "hf_root": "hf", "hf_ckpt": "hf", "jsonl_simple": "simple", "jsonl_wandb": "slash", "jsonl_d2": "d2",
         "jsonl_time": "simple", "csv_plain": "simple", "csv_long": "slash", "text_step": "simple",
         "text_log": "simple", "text_keras": "keras", "text_pytorch": "simple"}


class Clock:
    """Simulated wall time: per-step durations jittered from the run's rng, evaluation pauses,
    a restart gap for resumed runs.  Nothing comes from the machine's clock."""

    def __init__(self, rng: np.random.Generator, steps: int, per_step: float, wall0: float) -> None:
        d = per_step * np.exp(rng.normal(0, 0.08, size=steps + 2))
        self.cum = np.concatenate([[0.0], np.cumsum(d)])
        self.wall0, self.per_step = wall0, per_step
        self.restart = float(rng.uniform(120, 900))

    def __call__(self, step: int) -> float:
        i = min(max(0, step), len(self.cum) - 1)
        return round(self.wall0 + float(self.cum[i]), 3)

    def runtime(self, step: int) -> float:
        return round(self(step) - self.wall0, 4)


def records(lg: Logged, nm: dict[str, str]) -> list[dict]:
    """One record per (group, step): the training values logged together, the evaluation
    values together, episode returns on their own steps unless they coincide with training."""
    groups: dict[tuple[str, float], dict] = {}
    epoch_of = dict(zip(*lg.series["epoch"])) if "epoch" in lg.series else {}
    train_steps = set(lg.series["train_loss"][0].tolist()) if "train_loss" in lg.series else set()
    for role, (steps, vals) in lg.series.items():
        if role not in nm or (role == "epoch" and "epoch" not in nm):
            continue
        kind = "train" if role in TRAIN_ROLES else "episode" if role == "episode_reward" else "val"
        for s, v in zip(steps.tolist(), vals.tolist()):
            k = "train" if kind == "episode" and s in train_steps else kind
            rec = groups.setdefault((k, s), {"_kind": k, "step": int(s)})
            rec[nm[role]] = v
    out = sorted(groups.values(), key=lambda r: (r["step"], {"train": 0, "episode": 1, "val": 2}[r["_kind"]]))
    for r in out:
        r["_epoch"] = float(epoch_of.get(float(r["step"]), (r["step"] - 1) // max(1, lg.epoch_len)))
    return out


def resumed_records(recs: list[dict], resumed: tuple[int, int] | None) -> list[dict]:
    """A resumed job's log: records up to the crash, then again from just after the checkpoint."""
    if not resumed:
        return recs
    crash, ckpt = resumed
    return [r for r in recs if r["step"] <= crash] + [dict(r, _again=True) for r in recs if r["step"] > ckpt]


def fmt_num(v: float, digits: int | str | None = None) -> str:
    """A number as loggers print it: repr, fixed digits, or 'g' (5 significant digits);
    nan/inf as Python prints them."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if digits is None:
        return repr(float(v))
    if digits == "g":
        return f"{v:.5g}"
    return f"{v:.{digits}f}"


def write(run_dir: str, lg: Logged, spec: dict, nm: dict[str, str], clock: Clock, hparams: dict | None) -> list[str]:
    """Write the run's log files in its format; returns their paths."""
    fmt = spec["format"]
    if fmt == "tensorboard":
        return writers_tb.write(run_dir, tb_tags(lg, nm, spec), spec, clock, hparams)
    recs = resumed_records(records(lg, nm), spec.get("resumed"))
    if fmt in ("lightning_csv", "keras_csv", "csv"):
        return writers_csv.write(run_dir, recs, lg, spec, clock, hparams)
    return writers_text.write(run_dir, recs, lg, spec, clock, hparams)


def tb_tags(lg: Logged, nm: dict[str, str], spec: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Tag -> series for TensorBoard; Lightning's step axis is 0-based, Keras' is the epoch
    and its validation values go to the validation/ writer."""
    out = {}
    for role, (s, v) in lg.series.items():
        if role not in nm or (role == "epoch" and spec["flavor"] not in ("tb_lightning", "tb_hf")):
            continue
        steps = s - 1 if spec["flavor"] == "tb_lightning" else s
        name = nm[role]
        if spec["flavor"] == "tb_keras":
            steps = np.floor((s - 1) / max(1, lg.epoch_len))
            if role.startswith("val_") or role == "eval_return":
                name = "validation:epoch_" + name.removeprefix("val_")
            else:
                name = "epoch_" + name
        if spec["flavor"] == "tb_hf" and role.startswith("val_"):
            name = "eval/" + name.split("/", 1)[-1]
        out[name] = (steps, v)
    return out
