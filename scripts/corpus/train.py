"""The real training loop shared by every kind: optimizer, learning-rate schedule, gradient
clipping, evaluation points, and what happens after a NaN.

A kind supplies a `Task` (model, data, one optimisation step, one evaluation); this module
turns a config into a `History` of what the training measured at full resolution.  The
loggers later decide what of it a user would have written down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "warmup_cosine", "warmup_linear", "onecycle")


@dataclass
class History:
    """Everything one training measured: per-step records, evaluations, RL episode returns."""

    train: dict[str, list[float]] = field(default_factory=dict)  # per optimizer step, same length
    evals: list[tuple[int, dict[str, float]]] = field(default_factory=list)  # (step, metrics)
    episodes: list[tuple[int, float]] = field(default_factory=list)  # RL: (step, episode return)
    epoch_len: int = 1
    planned_steps: int = 0
    nan_step: int | None = None  # first step whose loss was not finite
    stopped: str | None = None  # "nan_guard", "crash": why the log ends early
    higher_is_better: bool = False  # RL return, not a loss
    info: dict = field(default_factory=dict)  # what the task wants in the notes (params, data size)
    initial: dict[str, float] = field(default_factory=dict)  # an evaluation before the first step (not logged)

    def add(self, rec: dict[str, float]) -> None:
        """Append one step's record; keys seen for the first time are back-filled with NaN."""
        n = len(self.train.get("loss", []))
        for k, v in rec.items():
            self.train.setdefault(k, [math.nan] * n).append(float(v))
        for col in self.train.values():
            if len(col) == n:
                col.append(math.nan)


class Task:
    """What a kind provides to the loop.  Subclasses set model/params and implement
    `train_step` (one optimiser update, returns floats incl. 'loss') and `evaluate`."""

    epoch_len: int = 1
    higher_is_better = False
    params: list[torch.Tensor]

    def optimizers(self, cfg: dict) -> list[torch.optim.Optimizer]:
        """One optimizer over all parameters (GAN overrides with two)."""
        self.opts = [make_optimizer(cfg, self.params)]
        return self.opts

    def train_step(self, step: int) -> dict[str, float]:
        raise NotImplementedError

    def evaluate(self) -> dict[str, float]:
        raise NotImplementedError

    def finite(self) -> bool:
        """Whether every parameter is still finite (a NaN weight makes every later loss NaN)."""
        return all(bool(torch.isfinite(p).all()) for p in self.params)

    def info(self) -> dict:
        return {}


def make_optimizer(cfg: dict, params: list[torch.Tensor], lr_mult: float = 1.0) -> torch.optim.Optimizer:
    """The config's optimizer; momentum 0.9 for the momentum family, Adam betas default."""
    name, lr, wd = cfg["optimizer"], cfg["lr"] * lr_mult, cfg.get("wd", 0.0)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=name == "nesterov", weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd if wd else 0.01)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    raise ValueError(f"unknown optimizer {name!r}; choose from {OPTIMIZERS}")


def lr_at(cfg: dict, step: int) -> float:
    """The learning rate of `step` (0-based) under the config's schedule."""
    base, sched, total = cfg["lr"], cfg["schedule"], max(1, cfg.get("sched_steps") or cfg["steps"])
    warm = int(cfg.get("warmup", 0)) if sched.startswith("warmup") else 0
    t = step / total
    if sched == "constant":
        return base
    if sched == "step":
        return base * 0.1 ** sum(t >= m for m in cfg.get("milestones", (0.5, 0.75)))
    if sched == "cosine":
        return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))
    if warm and step < warm:
        return base * (step + 1) / warm
    rest = (step - warm) / max(1, total - warm)
    if sched == "warmup_cosine":
        return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * rest)))
    if sched == "warmup_linear":
        return base * max(0.0, 1.0 - rest)
    if sched == "onecycle":
        up = 0.3 * total
        if step < up:
            return base / 25 + (base - base / 25) * step / up
        return base / 1e4 + (base - base / 1e4) * 0.5 * (1 + math.cos(math.pi * (step - up) / (total - up)))
    raise ValueError(f"unknown schedule {sched!r}; choose from {SCHEDULES}")


def eval_steps(cfg: dict, epoch_len: int, steps: int) -> set[int]:
    """Steps after which the run evaluates: every k epochs or every k steps, and the last."""
    ev = cfg.get("eval", {"unit": "epoch", "every": 1})
    every = max(1, int(ev["every"] * (epoch_len if ev["unit"] == "epoch" else 1)))
    return set(range(every, steps + 1, every)) | {steps}


def run(task: Task, cfg: dict) -> History:
    """Train `task` for cfg['steps'] optimizer steps and record what it measured.

    After the weights turn non-finite nothing can change any more: the remaining steps log
    NaN (as a script without a NaN guard would), or the log stops (cfg['nan_guard'])."""
    hist = History(epoch_len=task.epoch_len, planned_steps=cfg["steps"], higher_is_better=task.higher_is_better)
    opts = task.optimizers(cfg)
    base_lrs = [[g["lr"] for g in o.param_groups] for o in opts]
    evals = eval_steps(cfg, task.epoch_len, cfg["steps"])
    frozen: dict[str, float] | None = None
    if not cfg.get("eval_bug"):  # the reference a healthy check needs; a broken evaluation has none
        hist.initial = task.evaluate()
    for s in range(cfg["steps"]):
        lr = lr_at(cfg, s)
        for o, bl in zip(opts, base_lrs):
            for g, b in zip(o.param_groups, bl):
                g["lr"] = lr * b / cfg["lr"]
        if frozen is None:
            rec = task.train_step(s)
        else:
            rec = {k: math.nan for k in hist.train if k != "lr"}
        rec["lr"] = lr
        hist.add(rec)
        if hist.nan_step is None and not math.isfinite(rec.get("loss", 0.0)):
            hist.nan_step = s + 1
        if frozen is None and hist.nan_step is not None and not task.finite():
            if cfg.get("nan_guard") or task.higher_is_better:
                hist.stopped = "nan_guard" if cfg.get("nan_guard") else "crash"
                break
            frozen = task.evaluate()
        if s + 1 in evals:
            hist.evals.append((s + 1, dict(frozen) if frozen is not None else task.evaluate()))
    hist.episodes = list(getattr(task, "episodes", []))
    hist.info = task.info()
    return hist
