"""Seeded generators of training curves that return the curve and its truth.

Each generator returns a `Curves` with per-step training loss, per-epoch validation loss and
accuracy, learning rate, and `truth`: the symptom ids the curve was built to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Curves:
    steps: np.ndarray
    train_loss: np.ndarray
    val_steps: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    train_acc: np.ndarray
    lr: np.ndarray
    truth: set[str] = field(default_factory=set)
    grad_norm: np.ndarray | None = None
    epoch_len: int = 50
    n_classes: int = 10  # the class count a real run's hyperparameters would record


def _base(seed: int, n: int, epochs: int):
    rng = np.random.default_rng(seed)
    steps = np.arange(1, n + 1, dtype=float)
    epoch_len = n // epochs
    val_steps = np.arange(epoch_len, n + 1, epoch_len, dtype=float)
    return rng, steps, val_steps, epoch_len


def _noise(rng, n, sigma):
    return np.exp(rng.normal(0.0, sigma, n))


def healthy(seed: int = 0, n: int = 600, epochs: int = 12, classes: int = 10, noise: float = 0.15) -> Curves:
    """Fast then slowing decrease from ln(classes); validation a little above training."""
    rng, st, vst, el = _base(seed, n, epochs)
    start = np.log(classes)
    trend = 0.04 + (start - 0.04) * np.exp(-st / (n / 8))
    train = trend * _noise(rng, n, noise)
    vt = np.interp(vst, st, trend)
    val = vt * 1.25 + 0.03 + rng.normal(0, 0.005, vst.size)
    acc = np.clip(1 - vt / start * 0.9 - 0.02, 1 / classes, 1) + rng.normal(0, 0.003, vst.size)
    tacc = np.clip(acc + 0.02, 0, 1)
    return Curves(st, train, vst, val, acc, tacc, np.full(n, 1e-3), set(), grad_norm=0.5 * _noise(rng, n, 0.2), epoch_len=el)


def diverging(seed: int = 1, n: int = 400, epochs: int = 8) -> Curves:
    """Loss rises from the start to tens of times its first value (learning rate too high)."""
    rng, st, vst, el = _base(seed, n, epochs)
    trend = 2.3 * np.exp(3.5 * st / n)
    train = trend * _noise(rng, n, 0.2)
    val = np.interp(vst, st, trend) * 1.05
    acc = 0.1 + rng.normal(0, 0.004, vst.size)
    return Curves(st, train, vst, val, acc, acc.copy(), np.full(n, 1.0), {"divergence"},
                  grad_norm=np.exp(6 * st / n) * _noise(rng, n, 0.2), epoch_len=el)


def overfitting(seed: int = 2, n: int = 800, epochs: int = 40) -> Curves:
    """Training loss keeps falling; validation loss bottoms out early then rises."""
    rng, st, vst, el = _base(seed, n, epochs)
    trend = 0.002 + 2.3 * np.exp(-st / 60)
    train = trend * _noise(rng, n, 0.1)
    x = vst / n
    val = 0.25 + 2.0 * np.exp(-vst / 40) + 0.6 * np.clip(x - 0.2, 0, None) + rng.normal(0, 0.004, vst.size)
    # held-out accuracy slips as validation loss climbs (worse generalisation, not only over-confidence)
    acc = np.clip(0.93 - 0.04 * np.clip(x - 0.2, 0, None) + rng.normal(0, 0.003, vst.size), 0, 1)
    tacc = np.clip(1 - np.interp(vst, st, trend) / 2.3, 0, 1)
    return Curves(st, train, vst, val, acc, tacc, np.full(n, 1e-3), {"overfitting"}, epoch_len=el)


def nan_sudden(seed: int = 3, n: int = 600, epochs: int = 12, at: float = 0.7) -> Curves:
    """A healthy run whose loss turns NaN without any blow-up before it."""
    c = healthy(seed, n, epochs)
    k = int(n * at)
    c.train_loss = c.train_loss.copy()
    c.train_loss[k:] = np.nan
    c.val_loss = np.where(c.val_steps > k, np.nan, c.val_loss)
    c.truth = {"nan_inf"}
    return c


def stuck(seed: int = 4, n: int = 500, epochs: int = 10, classes: int = 10) -> Curves:
    """Loss sits at ln(classes) and accuracy at 1/classes for the whole run."""
    rng, st, vst, el = _base(seed, n, epochs)
    train = np.log(classes) * _noise(rng, n, 0.004)
    val = np.log(classes) + rng.normal(0, 0.0005, vst.size)
    acc = 1 / classes + rng.normal(0, 0.002, vst.size)
    return Curves(st, train, vst, val, acc, acc.copy(), np.full(n, 0.05), {"stuck_at_chance", "no_learning"},
                  grad_norm=np.full(n, 1e-7) * _noise(rng, n, 0.1), epoch_len=el)


def slow(seed: int = 5, n: int = 1000, epochs: int = 20) -> Curves:
    """A slow, nearly linear decrease that is still going at the end (learning rate too low)."""
    rng, st, vst, el = _base(seed, n, epochs)
    trend = 2.3 - 0.9 * st / n
    train = trend * _noise(rng, n, 0.01)
    val = np.interp(vst, st, trend) * 1.01
    acc = 0.1 + 0.5 * vst / n
    return Curves(st, train, vst, val, acc, acc.copy(), np.full(n, 1e-5), {"slow_convergence"}, epoch_len=el)


def unshuffled(seed: int = 6, n: int = 960, epochs: int = 12) -> Curves:
    """A healthy decrease with a saw-tooth that repeats every epoch (data in a fixed order)."""
    c = healthy(seed, n, epochs, noise=0.05)
    phase = (c.steps % c.epoch_len) / c.epoch_len
    c.train_loss = c.train_loss * np.exp(1.2 * (phase - 0.5))
    c.truth = {"periodic_pattern"}
    return c


def spiky(seed: int = 7, n: int = 800, epochs: int = 16, count: int = 6) -> Curves:
    """A healthy run with isolated spikes 20x their neighbourhood."""
    c = healthy(seed, n, epochs, noise=0.1)
    rng = np.random.default_rng(seed)
    idx = rng.choice(np.arange(100, n - 10), size=count, replace=False)
    c.train_loss = c.train_loss.copy()
    c.train_loss[idx] *= 20.0
    c.truth = {"loss_spikes"}
    return c


def warmup_missing(seed: int = 8, n: int = 500, epochs: int = 10) -> Curves:
    """Early blow-up to 20x the first loss within the first steps, then normal training."""
    c = healthy(seed, n, epochs)
    c.train_loss = c.train_loss.copy()
    bump = np.exp(-((c.steps - 12) / 6) ** 2) * 40.0
    c.train_loss = c.train_loss * (1 + bump)
    c.truth = {"early_instability"}
    return c


def frozen_eval(seed: int = 9, n: int = 600, epochs: int = 12) -> Curves:
    """Healthy training with a validation accuracy that never changes: computed with integer
    division (correct // total), it is 0 at every evaluation while the validation loss falls."""
    c = healthy(seed, n, epochs)
    c.val_acc = np.zeros(c.val_steps.size)
    c.truth = {"metric_frozen"}
    return c


GENERATORS = {
    "healthy": healthy, "diverging": diverging, "overfitting": overfitting, "nan_sudden": nan_sudden,
    "stuck": stuck, "slow": slow, "unshuffled": unshuffled, "spiky": spiky, "warmup_missing": warmup_missing,
    "frozen_eval": frozen_eval,
}
