"""What a user would have written down of a History: the cadence of the training log
(every step, every N steps as the value at that step or the mean since the last log,
epoch means), the evaluations, and messy endings (crash, resume).

The result is a `Logged`: role -> (steps, values) with 1-based global steps (the step
count after the update), plus the epoch of every training point; writers rename roles
and shift steps the way their logger does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .train import History

TRAIN_KEYS = {"loss": "train_loss", "acc": "train_acc", "box_loss": "train_box", "cls_loss": "train_cls", "obj_loss": "train_obj",
              "data_loss": "train_data", "reg_loss": "train_reg", "loss_D": "loss_D", "loss_G": "loss_G",
              "D_x": "D_x", "D_G_z": "D_G_z", "entropy": "entropy", "q_mean": "q_mean", "lr": "lr",
              "grad_norm": "grad_norm"}
VAL_KEYS = {"val_loss": "val_loss", "val_acc": "val_acc", "val_knn_acc": "val_acc", "map50": "val_map50",
            "val_box_loss": "val_box", "val_cls_loss": "val_cls", "val_obj_loss": "val_obj", "val_mae": "val_mae",
            "val_token_acc": "val_token_acc", "eval_return": "eval_return", "swd": "val_swd", "modes": "val_modes",
            "dead_frac": "dead_frac", "val_data_loss": "val_data", "val_reg_loss": "val_reg"}
OPTIONAL = {"grad_norm", "dead_frac", "train_reg", "train_data", "val_reg", "val_data", "entropy", "q_mean", "D_x",
            "D_G_z", "val_token_acc", "val_mae", "lr"}


@dataclass
class Logged:
    """Series as logged: role -> (steps, values); `epoch_len` steps per epoch."""

    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    epoch_len: int = 1
    last_step: int = 0
    crashed_at: int | None = None  # the log ends here (crash or NaN guard)
    resumed: tuple[int, int] | None = None  # (crash step, checkpoint step): (k, c] logged twice

    def get(self, role: str) -> tuple[np.ndarray, np.ndarray] | None:
        return self.series.get(role)


def train_points(n: int, cadence: str, every: int, epoch_len: int) -> list[tuple[int, int]]:
    """(first, last) 0-based step ranges whose values make each logged training point."""
    if cadence == "step":
        return [(s, s) for s in range(n)]
    if cadence == "epoch":
        return [(e * epoch_len, min(n, (e + 1) * epoch_len) - 1) for e in range(max(1, -(-n // epoch_len)))]
    return [(s - every + 1, s) for s in range(every - 1, n, every)]


def reduce(col: np.ndarray, spans: list[tuple[int, int]], mean: bool) -> np.ndarray:
    """The value at the end of each span, or the mean over it (a NaN inside makes it NaN,
    as a running mean does)."""
    if not mean:
        return np.array([col[b] for _, b in spans], dtype=float)
    return np.array([float(np.mean(col[a:b + 1])) for a, b in spans], dtype=float)


def build(h: History, spec: dict) -> Logged:
    """The Logged view of a history under a log spec (cadence, every, mean, what is logged)."""
    out = Logged(epoch_len=h.epoch_len)
    n = len(h.train.get("loss", []))
    out.last_step = n
    cadence = spec["train"]  # step | every_n | epoch (a sparse_eval run logs training by step or every N)
    spans = train_points(n, cadence, max(1, spec["every"]), h.epoch_len)
    mean = spec.get("mean", False) or cadence == "epoch"
    steps = np.array([b + 1 for _, b in spans], dtype=float)
    for key, role in TRAIN_KEYS.items():
        if key not in h.train or (role in OPTIONAL and role not in spec["extra"]):
            continue
        if key == "loss" and "loss_D" in h.train:  # a GAN logs its two losses, not their sum
            continue
        col = np.asarray(h.train[key], dtype=float)
        out.series[role] = (steps, reduce(col, spans, mean and key not in ("lr",)))
    out.series["epoch"] = (steps, np.array([b // h.epoch_len for _, b in spans], dtype=float))
    if h.episodes:
        out.series["episode_reward"] = _episodes(h, spans, cadence)
    for st, m in h.evals:
        for key, role in VAL_KEYS.items():
            if key in m and not (role in OPTIONAL and role not in spec["extra"]):
                s, v = out.series.setdefault(role, ([], []))  # type: ignore[arg-type]
                s.append(float(st))
                v.append(float(m[key]))
    for role, (s, v) in list(out.series.items()):
        out.series[role] = (np.asarray(s, dtype=float), np.asarray(v, dtype=float))
    if "ppl" in spec["extra"]:
        for src, dst in (("train_loss", "train_ppl"), ("val_loss", "val_ppl")):
            if src in out.series:
                s, v = out.series[src]
                with np.errstate(over="ignore", invalid="ignore"):
                    out.series[dst] = (s, np.exp(np.minimum(v, 700)))
    if h.stopped:
        out.crashed_at = n
    return out


def _episodes(h: History, spans: list[tuple[int, int]], cadence: str) -> tuple[np.ndarray, np.ndarray]:
    """Episode returns: every finished episode when logging each step; otherwise the mean of
    the episodes finished within each logging window (what SB3's ep_rew_mean reports)."""
    st = np.array([s for s, _ in h.episodes], dtype=float)
    rv = np.array([r for _, r in h.episodes], dtype=float)
    if cadence == "step":
        return st, rv
    out_s, out_v = [], []
    for a, b in spans:
        sel = (st >= a + 1) & (st <= b + 1)
        if sel.any():
            out_s.append(float(b + 1))
            out_v.append(float(np.mean(rv[sel])))
    return np.array(out_s), np.array(out_v)


def crash(lg: Logged, at: int) -> Logged:
    """The log of a job killed at step `at`: nothing after it."""
    for role, (s, v) in list(lg.series.items()):
        keep = s <= at
        lg.series[role] = (s[keep], v[keep])
    lg.crashed_at = at
    return lg


def resume_points(n: int, rng: np.random.Generator) -> tuple[int, int]:
    """(crash step, checkpoint step) of a resumed run: crash at 55-75%, checkpoint 5-20% before."""
    c = int(n * rng.uniform(0.55, 0.75))
    k = max(1, c - int(n * rng.uniform(0.05, 0.2)))
    return c, k


def finite_or_nan(x: float) -> float:
    return x if math.isfinite(x) else math.nan
