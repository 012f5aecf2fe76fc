"""The supervised task every kind but GAN and RL builds on: batches (shuffled or in stored
order), forward, loss with its parts, an optional L2 term, clipping, gradient norm, and the
evaluation -- including the broken evaluations of eval_bug.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from .models import init_weights
from .train import Task


class SupervisedTask(Task):
    """Subclasses set self.model and the four tensors, then call `setup(cfg)`; they implement
    `loss(out, y) -> (tensor, parts)` and may extend `metrics(out, y)`."""

    model: nn.Module
    xtr: torch.Tensor
    ytr: torch.Tensor
    xva: torch.Tensor
    yva: torch.Tensor
    has_acc = False

    def setup(self, cfg: dict) -> None:
        """Initialise weights, batching and the evaluation (after the data and model exist)."""
        self.cfg = cfg
        init_weights(self.model, cfg.get("init", "default"), cfg.get("init_scale", 1.0), cfg.get("init_bias", 0.0))
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        n = self.xtr.shape[0]
        self.batch = min(cfg["batch"], n)
        self.epoch_len = max(1, n // self.batch)
        self.gen = torch.Generator().manual_seed(cfg["seed"] + 17)
        self.order = torch.arange(n)
        self.pos = n  # start a new epoch at the first step
        self.initial = copy.deepcopy(self.model) if cfg.get("eval_bug") == "frozen" else None
        self.cached: dict[str, float] | None = None
        self.relus = [m for m in self.model.modules() if isinstance(m, nn.ReLU)]

    def next_batch(self) -> torch.Tensor:
        """Indices of the next batch; a new permutation each epoch unless cfg['shuffle'] is off
        (then the stored order, which a data_not_shuffled run has sorted by label)."""
        n = self.xtr.shape[0]
        if self.pos + self.batch > n:
            self.order = torch.randperm(n, generator=self.gen) if self.cfg.get("shuffle", True) else torch.arange(n)
            self.pos = 0
        idx = self.order[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return idx

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model on a batch; `input_norm` standardises by the batch's own statistics,
        with an epsilon (`batch`) or without one (`batch_noeps`: 0/0 once a feature is
        constant within a batch)."""
        norm = self.cfg.get("input_norm")
        if norm:
            x = (x - x.mean(0)) / (x.std(0) + (1e-5 if norm == "batch" else 0.0))
        return self.model(x)

    def train_step(self, step: int) -> dict[str, float]:
        """One update: loss (+ L2 term), backward, clip, step; returns loss, parts, grad_norm."""
        idx = self.next_batch()
        self.model.train()
        loss, parts = self.batch_loss(idx)
        if self.has_acc:  # Keras-style running accuracy of the training batches
            parts = {**parts, "acc": self._batch_acc}
        l2 = self.cfg.get("l2", 0.0)
        if l2:
            reg = l2 * sum((p ** 2).sum() for p in self.params if p.dim() >= 2)
            parts = {**parts, "data_loss": loss.item(), "reg_loss": float(reg.item())}
            loss = loss + reg
        for o in self.opts:
            o.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.cfg.get("clip")
        gn = float(torch.nn.utils.clip_grad_norm_(self.params, clip if clip else float("inf")))
        for o in self.opts:
            o.step()
        return {"loss": loss.item(), "grad_norm": gn, **parts}

    def batch_loss(self, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss of one batch and its parts (and the batch accuracy, kept aside)."""
        out = self.forward(self.xtr[idx])
        if self.has_acc:
            with torch.no_grad():
                self._batch_acc = self.train_accuracy(out.detach(), self.ytr[idx])
        return self.loss(out, self.ytr[idx])

    def train_accuracy(self, out: torch.Tensor, y: torch.Tensor) -> float:
        """Accuracy of a training batch (never with the evaluation's bugs)."""
        if (out.dim() == 2 and out.shape[1] == 1) or out.dim() == 1:
            return float(((out.reshape(-1) > 0).float() == y).float().mean())
        return float((out.argmax(-1) == y).float().mean())

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def val_metrics(self) -> dict[str, float]:
        """The validation metrics of the model now in self.model (no grad, eval mode)."""
        return self.metrics(self.forward(self.xva), self.yva)

    def metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Validation loss and parts; classification kinds add accuracy."""
        loss, parts = self.loss(out, y)
        res = {"val_loss": float(loss), **{f"val_{k}": v for k, v in parts.items()}}
        if self.has_acc:
            res["val_acc"] = self.accuracy(out, y)
        return res

    def accuracy(self, out: torch.Tensor, y: torch.Tensor) -> float:
        pred = out.argmax(-1)
        correct, total = int((pred == y).sum()), int(y.numel())
        if self.cfg.get("eval_bug") == "int_acc":
            return float(correct // total)  # integer division: 0 until every sample is right
        return correct / total

    def evaluate(self) -> dict[str, float]:
        """Validation metrics (in eval mode, no grad), the dead-ReLU fraction, and the broken
        evaluations: `frozen` scores the initial weights, `stale` returns its first result
        forever, `int_acc` divides integers."""
        if self.cfg.get("eval_bug") == "stale" and self.cached is not None:
            return dict(self.cached)
        keep = self.model
        if self.initial is not None:
            self.model = self.initial
        self.model.eval()
        acts: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda _m, _i, o: acts.append(o)) for m in self.relus]
        try:
            with torch.no_grad():
                res = self.val_metrics()
        finally:
            for h in hooks:
                h.remove()
            self.model = keep
        if acts:
            res["dead_frac"] = float(np.mean([float((a.reshape(-1, a.shape[-1]) <= 0).all(0).float().mean()) for a in acts]))
        self.model.train()
        res = {k: (v if math.isfinite(v) else math.nan) for k, v in res.items()}
        if self.cfg.get("eval_bug") == "stale":
            self.cached = dict(res)
        return res

    def info(self) -> dict:
        return {"n_train": int(self.xtr.shape[0]), "n_val": int(self.xva.shape[0]),
                "params": sum(p.numel() for p in self.params)}


def sort_by(x: np.ndarray, y: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training set sorted by `key` (its label or target): data_not_shuffled's order."""
    order = np.argsort(key, kind="stable")
    return x[order], y[order]


def flip_labels(rng: np.random.Generator, y: np.ndarray, frac: float, n_classes: int) -> np.ndarray:
    """Replace a fraction of the labels by random other classes (noisy_labels)."""
    y = y.copy()
    bad = rng.random(y.shape[0]) < frac
    y[bad] = (y[bad] + rng.integers(1, max(2, n_classes), size=int(bad.sum()))) % n_classes
    return y


def stable_ce(out: torch.Tensor, y: torch.Tensor, naive: bool) -> torch.Tensor:
    """Cross-entropy; `naive` is the hand-written log(softmax) that gives inf once a
    probability underflows (numerical_instability)."""
    if naive:
        p = torch.softmax(out, -1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
        return -torch.log(p).mean()
    return nn.functional.cross_entropy(out, y)
