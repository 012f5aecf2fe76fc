"""A healthy reference set: generated training runs of many families, each with its natural
noise, length and logging cadence, none of them faulty.  It measures how often each rule
raises a warning on runs that need no action (`logsleuth eval --reference`, the false-alarm
column of docs/rules.md, and a test that holds the rates down).

Every family is a function `(rng) -> (metrics, hparams)` where metrics maps a metric name to
(steps, values).  Runs are seeded: the same (family, seed) gives the same curves.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Curves = dict[str, tuple[np.ndarray, np.ndarray]]


def _noisy(rng, v: np.ndarray, sigma: float) -> np.ndarray:
    """Multiplicative batch noise (lognormal), what a per-batch loss looks like."""
    return v * np.exp(rng.normal(0.0, sigma, v.size))


def _warmup_cosine(steps: np.ndarray, peak: float, warm: float) -> np.ndarray:
    t = steps / steps[-1]
    return np.where(t < warm, peak * t / max(warm, 1e-9), peak * 0.5 * (1 + np.cos(np.pi * (t - warm) / (1 - warm))))


def _every(n_steps: int, every: int, start: int = 0) -> np.ndarray:
    return np.arange(start + every, n_steps + 1, every, dtype=float)


def lm_pretrain(rng) -> tuple[Curves, dict]:
    """Language-model pretraining: power-law decay from ln(vocab), warmup + cosine, 10^4-10^5 steps."""
    n = int(rng.integers(10_000, 100_000))
    st = _every(n, max(10, n // 2000))
    vocab = int(rng.choice([8000, 32000, 50257]))
    floor, alpha, t0 = rng.uniform(2.0, 3.5), rng.uniform(0.3, 0.6), rng.uniform(50, 400)
    curve = lambda s: floor + (math.log(vocab) - floor) * (1 + s / t0) ** -alpha
    train = _noisy(rng, curve(st), rng.uniform(0.01, 0.04))
    vst = _every(n, max(500, n // 40))
    val = curve(vst) * rng.uniform(1.0, 1.03)
    lr = _warmup_cosine(st, rng.uniform(3e-4, 1e-3), rng.uniform(0.01, 0.05))
    return {"train/loss": (st, train), "val/loss": (vst, val), "lr": (st, lr)}, {"optimizer": "AdamW"}


def finetune(rng) -> tuple[Curves, dict]:
    """Fine-tune from pretrained weights: low start, small relative drop, eval every N steps."""
    n = int(rng.integers(1000, 8000))
    st = _every(n, 10)
    c = int(rng.choice([2, 3, 5]))  # a new head starts near ln(C); pretrained features start below it
    start, drop = math.log(c) * rng.uniform(0.6, 1.0), rng.uniform(1.2, 2.0)
    end = start / drop
    tau = rng.uniform(0.1, 0.3) * n
    curve = lambda s: end + (start - end) * np.exp(-s / tau)
    train = _noisy(rng, curve(st), rng.uniform(0.05, 0.2))
    vst = _every(n, int(rng.choice([100, 250, 500])))
    val = curve(vst) * rng.uniform(1.02, 1.15) * np.exp(rng.normal(0, 0.01, vst.size))
    # the accuracy a calibrated model reaches at that loss (loss and accuracy of one model agree)
    from .detectors.reference import calibrated_loss

    grid = np.linspace(1.0 / c, 0.999, 400)
    top = float(grid[np.argmin(np.abs(np.array([calibrated_loss(a, c) for a in grid]) - end * rng.uniform(0.8, 1.2)))])
    acc = np.clip(top - 0.05 * np.exp(-vst / tau) + rng.normal(0, 0.005, vst.size), 0, 1)
    lr = np.where(st < 0.06 * n, 5e-5 * st / (0.06 * n), 5e-5 * (1 - st / n))
    return {"loss": (st, train), "eval_loss": (vst, val), "eval_accuracy": (vst, acc), "learning_rate": (st, lr)}, {}


def detection(rng) -> tuple[Curves, dict]:
    """YOLO-style detection: box/obj/cls losses per epoch, mAP rising."""
    ep = int(rng.integers(50, 300))
    st = np.arange(ep, dtype=float)
    out: Curves = {}
    for part, (a, b) in {"box": (0.08, 0.02), "obj": (0.04, 0.015), "cls": (0.05, 0.005)}.items():
        tau = rng.uniform(0.1, 0.3) * ep
        v = b + (a - b) * np.exp(-st / tau)
        out[f"train/{part}_loss"] = (st, _noisy(rng, v, 0.01))
        out[f"val/{part}_loss"] = (st, _noisy(rng, v * rng.uniform(0.7, 1.1), 0.01))
    top = rng.uniform(0.5, 0.95)
    out["metrics/mAP_0.5"] = (st, np.clip(top * (1 - np.exp(-st / (0.2 * ep))) + rng.normal(0, 0.01, ep), 0, 1))
    out["x/lr0"] = (st, _warmup_cosine(st + 1, 0.01, 0.03))
    return out, {"optimizer": "SGD", "batch_size": 16}


def segmentation(rng) -> tuple[Curves, dict]:
    """Keras U-Net: BCE+dice loss, dice score and pixel accuracy (background dominates), epoch logs."""
    ep = int(rng.integers(20, 80))
    st = np.arange(ep, dtype=float)
    tau = rng.uniform(0.1, 0.3) * ep
    loss = 0.05 + 0.4 * np.exp(-st / tau)
    dice = 0.85 - 0.5 * np.exp(-st / tau)
    acc = 0.99 - 0.03 * np.exp(-st / tau)
    return {"loss": (st, _noisy(rng, loss, 0.02)), "val_loss": (st, _noisy(rng, loss * 1.1, 0.03)),
            "dice_coef": (st, dice + rng.normal(0, 0.005, ep)), "val_dice_coef": (st, dice - 0.03 + rng.normal(0, 0.01, ep)),
            "accuracy": (st, acc), "val_accuracy": (st, acc - 0.002)}, {}


def regression(rng) -> tuple[Curves, dict]:
    """Regression on standardised targets: MSE from about 1 down to its noise floor, MAE beside it."""
    ep = int(rng.integers(30, 200))
    st = np.arange(ep, dtype=float)
    floor = rng.uniform(0.05, 0.4)
    tau = rng.uniform(0.05, 0.3) * ep
    mse = floor + (1.0 - floor) * np.exp(-st / tau)
    return {"loss": (st, _noisy(rng, mse, 0.02)), "val_loss": (st, _noisy(rng, mse * rng.uniform(1.0, 1.2), 0.03)),
            "val_mae": (st, np.sqrt(mse) * 0.8)}, {}


def gan(rng) -> tuple[Curves, dict]:
    """GAN: generator and discriminator losses hovering around an equilibrium, with drift."""
    n = int(rng.integers(2000, 20000))
    st = _every(n, 10)
    d = math.log(4) * rng.uniform(0.8, 1.1) + 0.1 * np.sin(st / n * rng.uniform(2, 8))
    g = rng.uniform(0.7, 2.0) + 0.3 * (st / n) * rng.uniform(-1, 1)
    # FID every 5% of the run: from a few hundred for the first samples down to a floor
    ev = _every(n, n // 20)
    fid = rng.uniform(10, 60) + rng.uniform(150, 350) * np.exp(-ev / (rng.uniform(0.05, 0.3) * n))
    return {"d_loss": (st, _noisy(rng, d, 0.15)), "g_loss": (st, _noisy(rng, g, 0.2)), "eval/fid": (ev, _noisy(rng, fid, 0.05))}, {}


def rl(rng) -> tuple[Curves, dict]:
    """RL: episode returns rising with high variance, a noisy value loss."""
    n = int(rng.integers(200, 2000))
    st = np.arange(n, dtype=float)
    ret = 200 * (1 - np.exp(-st / (0.3 * n))) + rng.normal(0, 40, n)
    vloss = _noisy(rng, 5 + 20 * np.exp(-st / (0.2 * n)), 0.5)
    return {"episode_reward": (st, ret), "value_loss": (st, vloss)}, {}


def step_decay(rng) -> tuple[Curves, dict]:
    """CIFAR-style classifier with step decay: a staircase at each 10x cut."""
    n = int(rng.integers(20_000, 80_000))
    st = _every(n, 50)
    cuts = (0.5 * n, 0.75 * n)
    lr = np.where(st < cuts[0], 0.1, np.where(st < cuts[1], 0.01, 0.001))
    base = 0.25 + 2.05 * np.exp(-st / (0.08 * n))
    base = base * np.where(st < cuts[0], 1.0, np.where(st < cuts[1], 0.45, 0.35))
    vst = _every(n, n // 100)
    vbase = np.interp(vst, st, base) * 1.25
    acc = np.clip(1 - np.interp(vst, st, base) / 2.5, 0, 1)
    return {"train_loss": (st, _noisy(rng, base, 0.1)), "val_loss": (vst, vbase * np.exp(rng.normal(0, 0.02, vst.size))),
            "val_acc": (vst, acc), "lr-SGD": (st, lr)}, {"batch_size": 128}


def sgdr(rng) -> tuple[Curves, dict]:
    """Cosine annealing with warm restarts: the loss bumps up at each restart, then falls lower."""
    n = int(rng.integers(10_000, 40_000))
    st = _every(n, 20)
    period = n / int(rng.integers(3, 6))
    phase = (st % period) / period
    lr = 0.05 * 0.5 * (1 + np.cos(np.pi * phase))
    base = 0.3 + 1.9 * np.exp(-st / (0.15 * n)) + 0.15 * lr / 0.05
    return {"train_loss": (st, _noisy(rng, base, 0.08)), "lr-SGD": (st, lr)}, {"batch_size": 128}


def early_stopped(rng) -> tuple[Curves, dict]:
    """Early stopping did its job: validation flattens, creeps up a few percent, training stops."""
    ep = int(rng.integers(15, 60))
    st = np.arange(ep, dtype=float)
    tau = rng.uniform(0.1, 0.25) * ep
    train = 0.2 + 1.5 * np.exp(-st / tau) - 0.002 * st
    best = int(0.8 * ep)
    creep = rng.uniform(0.01, 0.06) * (0.45 + 1.3 * math.exp(-best / tau))  # a few percent by the stop
    val = 0.45 + 1.3 * np.exp(-st / tau) + np.where(st > best, creep * (st - best) / max(ep - 1 - best, 1), 0.0)
    acc = 0.9 - 0.6 * np.exp(-st / tau)
    return {"loss": (st, _noisy(rng, train, 0.01)), "val_loss": (st, _noisy(rng, val, 0.01)),
            "accuracy": (st, acc + 0.02), "val_accuracy": (st, acc + rng.normal(0, 0.005, ep))}, {}


def keras_epochs(rng) -> tuple[Curves, dict]:
    """Keras history of a classifier, 5-100 epoch means, a small gap."""
    ep = int(rng.integers(5, 100))
    st = np.arange(ep, dtype=float)
    c = int(rng.choice([2, 5, 10, 100]))
    tau = rng.uniform(0.1, 0.4) * ep
    floor = rng.uniform(0.05, 0.3) * math.log(c)
    train = floor + (math.log(c) * 0.8 - floor) * np.exp(-st / tau)
    acc = 1 / c + (0.95 - 1 / c) * (1 - np.exp(-st / tau))
    return {"loss": (st, _noisy(rng, train, 0.01)), "val_loss": (st, _noisy(rng, train * 1.08, 0.02)),
            "accuracy": (st, acc), "val_accuracy": (st, acc - 0.02 + rng.normal(0, 0.005, ep))}, {"num_classes": c}


def resumed(rng) -> tuple[Curves, dict]:
    """A run resumed from a checkpoint: the log starts mid-way, the loss already near its floor."""
    off = int(rng.integers(5000, 50000))
    n = int(rng.integers(2000, 20000))
    st = off + _every(n, 10)
    floor = rng.uniform(0.2, 1.0)
    train = floor * (1 + 0.1 * np.exp(-(st - off) / n))
    return {"train_loss": (st, _noisy(rng, train, 0.08)), "lr": (st, np.full(st.size, 1e-4))}, {}


def lora_staircase(rng) -> tuple[Curves, dict]:
    """Multi-epoch LoRA fine-tune: the training loss drops at each epoch boundary."""
    epochs = int(rng.integers(2, 5))
    per = int(rng.integers(100, 600))
    n = epochs * per
    st = _every(n, 5)
    e = np.floor((st - 1) / per)
    train = rng.uniform(1.0, 1.8) * (0.8 ** e) * (1 + 0.3 * np.exp(-st / (0.1 * per)))
    vst = _every(n, per)
    val = np.interp(vst, st, train) * np.linspace(1.05, 1.25, vst.size)
    val = np.minimum.accumulate(val)
    return {"loss": (st, _noisy(rng, train, 0.05)), "eval_loss": (vst, val), "epoch": (st, st / per)}, {}


def lstm_lm(rng) -> tuple[Curves, dict]:
    """Small LSTM/transformer language model with warmup: from ln(vocab) to a few nats, val close."""
    n = int(rng.integers(5000, 40000))
    st = _every(n, 50)
    vocab = int(rng.choice([65, 256, 10000]))
    floor = rng.uniform(0.3, 0.6) * math.log(vocab)
    warm = rng.uniform(0.02, 0.1) * n
    tau = rng.uniform(0.05, 0.2) * n
    prog = np.clip((st - warm * 0.5) / tau, 0, None)
    train = floor + (math.log(vocab) - floor) * np.exp(-prog)
    vst = _every(n, n // 20)
    val = np.interp(vst, st, train) * rng.uniform(1.0, 1.05)
    lr = np.where(st < warm, 1e-3 * st / warm, 1e-3 * np.sqrt(warm / st))
    return {"train_loss": (st, _noisy(rng, train, 0.02)), "val_loss": (vst, val), "lr": (st, lr)}, {"optimizer": "Adam"}


FAMILIES: dict[str, Callable[[Any], tuple[Curves, dict]]] = {
    f.__name__: f for f in (lm_pretrain, finetune, detection, segmentation, regression, gan, rl, step_decay, sgdr,
                            early_stopped, keras_epochs, resumed, lora_staircase, lstm_lm)
}


def make_run(family: str, seed: int):
    """One healthy run of a family as RunData (a tidy table, as a reader would give it)."""
    import pandas as pd

    from .model import RunData

    rng = np.random.default_rng([seed, sorted(FAMILIES).index(family)])
    curves, hparams = FAMILIES[family](rng)
    parts = [pd.DataFrame({"metric": name, "step": st.astype(float), "value": v.astype(float), "wall_time": np.nan})
             for name, (st, v) in sorted(curves.items())]
    table = pd.concat(parts, ignore_index=True)
    name = f"{family}/seed{seed}"
    return RunData(name=name, path=name, formats=("reference",), table=table, hparams=hparams)


@dataclass
class FalseAlarms:
    """Warnings raised on healthy runs: per rule and per run."""

    runs: int = 0
    flagged: list[str] = field(default_factory=list)  # runs with a warning or worse
    per_rule: Counter = field(default_factory=Counter)  # rule id -> runs where it raised warning/critical
    per_rule_any: Counter = field(default_factory=Counter)  # rule id -> runs where it fired at all (info too)

    def rate(self, rule: str) -> float:
        return self.per_rule.get(rule, 0) / self.runs if self.runs else 0.0

    @property
    def flagged_rate(self) -> float:
        return len(self.flagged) / self.runs if self.runs else 0.0


def measure(seeds: int = 20, options=None, families: list[str] | None = None) -> FalseAlarms:
    """Diagnose `seeds` runs of every family and count the warnings (none is deserved)."""
    from .pipeline import diagnose

    out = FalseAlarms()
    for fam in families or sorted(FAMILIES):
        for seed in range(seeds):
            d = diagnose(make_run(fam, seed), options)
            out.runs += 1
            loud = {f.rule for f in d.symptoms if f.severity in ("warning", "critical")}
            out.per_rule.update(loud)
            out.per_rule_any.update({f.rule for f in d.symptoms})
            if loud:
                out.flagged.append(f"{d.run}: {', '.join(sorted(loud))}")
    return out
