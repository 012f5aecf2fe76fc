"""Classification (3 to 1000 classes), binary, regression and fine-tuning tasks on
Gaussian mixtures, structured images and teacher-network targets.

Faults reach these tasks only through config keys, applied where a real pipeline would
get them wrong: the data (`label_noise`, `input_scale`, `shift`, `sorted`), the model
(`arch`, `init`), the loss (`naive_loss`, `input_norm`) and the evaluation (`eval_bug`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import data
from .kinds_base import SupervisedTask, flip_labels, sort_by, stable_ce
from .models import SmallCNN, mlp


def prepare(cfg: dict, rng: np.random.Generator, xtr: np.ndarray, ytr: np.ndarray, xva: np.ndarray,
            yva: np.ndarray, n_classes: int | None) -> tuple[np.ndarray, ...]:
    """The data faults of a run, in the order a pipeline meets them: raw-scale features,
    a sparse flag column, label noise, a shifted validation set, a sorted training set."""
    if cfg.get("input_scale"):
        s = cfg["input_scale"]
        if xtr.ndim == 2:  # tabular: every column its own unit, like raw measurements
            scale = np.exp(rng.uniform(0, np.log(s), size=xtr.shape[1])).astype(np.float32)
            off = rng.uniform(0, s, size=xtr.shape[1]).astype(np.float32)
        else:  # images: raw 0..255 pixels
            scale, off = np.float32(s), np.float32(0)
        xtr, xva = xtr * scale + off, xva * scale + off
    if cfg.get("flag_p"):
        xtr = np.concatenate([xtr, (rng.random((xtr.shape[0], 1)) < cfg["flag_p"]).astype(np.float32)], 1)
        xva = np.concatenate([xva, (rng.random((xva.shape[0], 1)) < cfg["flag_p"]).astype(np.float32)], 1)
    if cfg.get("label_noise"):
        if n_classes:
            ytr = flip_labels(rng, ytr, cfg["label_noise"], n_classes)
        else:  # regression: gross outliers in a fraction of the targets
            bad = rng.random(ytr.shape[0]) < cfg["label_noise"]
            ytr = np.where(bad, rng.normal(0, 3 * (ytr.std() + 1e-6), size=ytr.shape), ytr).astype(np.float32)
    if cfg.get("shift"):
        xva = _shifted(rng, xva, cfg["shift"])
    if cfg.get("sorted"):
        xtr, ytr = sort_by(xtr, ytr, ytr if ytr.ndim == 1 else ytr[:, 0])
    return xtr, ytr, xva, yva


def _shifted(rng: np.random.Generator, x: np.ndarray, strength: float) -> np.ndarray:
    """Validation data from another distribution: an offset and rescaling of every feature
    (another sensor, another hospital), or brightness/contrast for images."""
    if x.ndim == 2:
        off = rng.normal(0, strength, size=x.shape[1]).astype(np.float32) * x.std(0)
        return (x * (1 + 0.3 * strength) + off).astype(np.float32)
    return np.clip(1.0 - x * (0.5 + 0.5 / (1 + strength)) + 0.1 * strength, 0, 1).astype(np.float32)


def _tensors(task: SupervisedTask, xtr, ytr, xva, yva) -> None:
    task.xtr, task.ytr = torch.from_numpy(np.ascontiguousarray(xtr)), torch.from_numpy(np.ascontiguousarray(ytr))
    task.xva, task.yva = torch.from_numpy(np.ascontiguousarray(xva)), torch.from_numpy(np.ascontiguousarray(yva))


class Classification(SupervisedTask):
    """Multi-class cross-entropy on a Gaussian mixture (MLP) or structured images (CNN)."""

    has_acc = True

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        c = cfg["n_classes"]
        xtr, ytr, xva, yva = self.make_data(cfg, rng)
        xtr, ytr, xva, yva = prepare(cfg, rng, xtr, ytr, xva, yva, c)
        _tensors(self, xtr, ytr, xva, yva)
        self.model = self.make_model(cfg, xtr, c)
        self.setup(cfg)

    @staticmethod
    def make_data(cfg: dict, rng: np.random.Generator, variant: float = 0.0) -> tuple[np.ndarray, ...]:
        """Train/val split of the run's data; `variant` moves the class centres (a related
        task for fine-tuning).  The centres come from a generator of their own, so the
        pre-training task and the fine-tune task share them."""
        n, c = cfg["n_train"] + cfg["n_val"], cfg["n_classes"]
        crng = np.random.default_rng(cfg["seed"] + 99)
        if cfg.get("images"):
            x, y, tpl = data.images(crng, 1, cfg["side"], c, cfg["noise"])
            tpl = tpl + variant * crng.normal(0, 0.3, size=tpl.shape)
            x, y, _ = data.images(rng, n, cfg["side"], c, cfg["noise"], templates=np.clip(tpl, 0, 1))
        else:
            _, _, centers = data.mixture(crng, 1, cfg["dim"], c, cfg["sep"], cfg.get("clusters", 1))
            centers = centers + variant * crng.normal(0, 1, size=centers.shape)
            x, y, _ = data.mixture(rng, n, cfg["dim"], c, cfg["sep"], cfg.get("clusters", 1), centers=centers)
        k = cfg["n_train"]
        return x[:k], y[:k], x[k:], y[k:]

    @staticmethod
    def make_model(cfg: dict, xtr: np.ndarray, d_out: int) -> nn.Module:
        if cfg["model"] == "cnn":
            return SmallCNN(xtr.shape[-1], d_out, cfg["arch"])
        return mlp(int(np.prod(xtr.shape[1:])), d_out, cfg["arch"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x if self.cfg["model"] == "cnn" else x.reshape(x.shape[0], -1))

    def loss(self, out, y):
        return stable_ce(out * self.cfg.get("logit_scale", 1.0), y, bool(self.cfg.get("naive_loss"))), {}


class Binary(Classification):
    """One logit and binary cross-entropy; imbalanced classes in some runs."""

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        n = cfg["n_train"] + cfg["n_val"]
        crng = np.random.default_rng(cfg["seed"] + 99)
        _, _, centers = data.mixture(crng, 1, cfg["dim"], 2, cfg["sep"], cfg.get("clusters", 2))
        x, y, _ = data.mixture(rng, n, cfg["dim"], 2, cfg["sep"], cfg.get("clusters", 2), centers=centers)
        pos = cfg.get("pos_frac", 0.5)
        keep = (y == 0) | (rng.random(n) < pos / (1 - pos))  # thin the positives to the prior
        x, y = x[keep], y[keep]
        k = min(cfg["n_train"], int(0.8 * len(y)))
        xtr, ytr, xva, yva = prepare(cfg, rng, x[:k], y[:k], x[k:], y[k:], 2)
        _tensors(self, xtr, ytr.astype(np.float32), xva, yva.astype(np.float32))
        self.model = mlp(xtr.shape[1], 1, cfg["arch"])
        self.setup(cfg)

    def loss(self, out, y):
        z = out.squeeze(-1)
        if self.cfg.get("naive_loss"):  # -log(sigmoid) by hand: log(0) once a logit passes -88
            p = torch.sigmoid(z)
            return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean(), {}
        return nn.functional.binary_cross_entropy_with_logits(z, y), {}

    def accuracy(self, out, y):
        correct, total = int(((out.squeeze(-1) > 0).float() == y).sum()), int(y.numel())
        return float(correct // total) if self.cfg.get("eval_bug") == "int_acc" else correct / total


class Regression(SupervisedTask):
    """MSE, MAE or Huber on teacher targets times the run's target scale; the model predicts
    normalised targets and a fixed de-normalising factor brings them back (unless the
    targets are left unnormalised: then it must reach the raw scale itself)."""

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        n = cfg["n_train"] + cfg["n_val"]
        crng = np.random.default_rng(cfg["seed"] + 99)
        _, _, teacher = data.regression(crng, 1, cfg["dim"], cfg.get("target", "teacher"))
        x, y, _ = data.regression(rng, n, cfg["dim"], cfg.get("target", "teacher"), teacher)
        y = (y * cfg["target_scale"] + cfg.get("target_offset", 0.0)).astype(np.float32)
        k = cfg["n_train"]
        xtr, ytr, xva, yva = prepare(cfg, rng, x[:k], y[:k], x[k:], y[k:], None)
        _tensors(self, xtr, ytr, xva, yva)
        self.model = mlp(xtr.shape[1], 1, cfg["arch"])
        self.denorm = 1.0 if cfg.get("raw_targets") else cfg["target_scale"]
        self.offset = 0.0 if cfg.get("raw_targets") else cfg.get("target_offset", 0.0)
        self.setup(cfg)

    def forward(self, x):
        return super().forward(x).squeeze(-1) * self.denorm + self.offset

    def loss(self, out, y):
        kind = self.cfg["loss_kind"]
        if self.cfg.get("naive_loss"):  # MSLE without a clamp: log of a negative prediction
            return ((torch.log(out) - torch.log(y.abs() + 1)) ** 2).mean(), {}
        if kind == "mae":
            return nn.functional.l1_loss(out, y), {}
        if kind == "huber":
            return nn.functional.huber_loss(out, y, delta=self.cfg["target_scale"]), {}
        return nn.functional.mse_loss(out, y), {}

    def metrics(self, out, y):
        res = super().metrics(out, y)
        res["val_mae"] = float((out - y).abs().mean())
        return res


_PRETRAINED: dict[str, list[torch.Tensor]] = {}


class FineTune(Classification):
    """Classification fine-tuned from weights pre-trained (not logged) on a related task:
    the same classes with moved centres.  The pre-training is cached per seed and config,
    so a faulty run and its twin start from the same weights."""

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        super().__init__(cfg, rng)
        if not cfg.get("skip_pretrained"):  # skip: "forgot to load the checkpoint"
            weights = self.pretrained(cfg)
            with torch.no_grad():  # by position: dropout or an output activation add no parameters
                for p, q in zip(self.params, weights):
                    p.copy_(q)

    @staticmethod
    def make_data(cfg, rng, variant=0.0):
        return Classification.make_data(cfg, rng, variant=cfg["task_shift"] if variant == 0.0 else variant)

    def pretrained(self, cfg: dict) -> list[torch.Tensor]:
        key = repr(sorted((k, str(v)) for k, v in cfg.items() if k in PRETRAIN_KEYS))
        if key not in _PRETRAINED:
            _PRETRAINED[key] = _pretrain(cfg, self.xtr)
        return _PRETRAINED[key]


PRETRAIN_KEYS = ("seed", "n_classes", "dim", "sep", "clusters", "images", "side", "noise", "model", "arch_base")


def _pretrain(cfg: dict, xtr_like: torch.Tensor) -> list[torch.Tensor]:
    """Adam on the source task (centres not moved, 4x the data) for cfg['pretrain_steps']."""
    torch.manual_seed(cfg["seed"] + 5)
    src = {**cfg, "n_train": 4 * cfg["n_train"], "arch": cfg["arch_base"]}
    rng = np.random.default_rng(cfg["seed"] + 5)
    xtr, ytr, _, _ = Classification.make_data(src, rng, variant=1e-9)
    model = Classification.make_model(src, xtr, cfg["n_classes"])
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x, y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    g = torch.Generator().manual_seed(cfg["seed"] + 6)
    for _ in range(cfg["pretrain_steps"]):
        idx = torch.randint(0, x.shape[0], (64,), generator=g)
        xb = x[idx] if cfg["model"] == "cnn" else x[idx].reshape(64, -1)
        loss = nn.functional.cross_entropy(model(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]
