"""Detection-like and contrastive tasks.

Detection: one object (a class template patch) per 16x16 scene, or none; the model
predicts a box (cx, cy, w, h), class logits and an objectness logit, and the loss is the
YOLO/detectron2-like sum of an L1 + GIoU box term, a class CE and an objectness BCE.
Contrastive: SimCLR-like NT-Xent (InfoNCE) on two augmented views of mixture samples.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import data
from .kinds_base import SupervisedTask, stable_ce
from .kinds_tab import prepare
from .models import SmallCNN, mlp

SIDE = 16


def scenes(rng: np.random.Generator, n: int, n_classes: int, tpl: np.ndarray, big: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Images with one object in 80% of them, and targets [cx, cy, w, h, class, obj];
    `big` > 0 makes the objects larger (a shifted validation set)."""
    x = rng.normal(0.0, 0.15, size=(n, 1, SIDE, SIDE)).astype(np.float32)
    t = np.zeros((n, 6), dtype=np.float32)
    for i in range(n):
        if rng.random() < 0.2:
            continue
        s = min(SIDE - 2, int(rng.integers(3, 7) + round(big * 3)))
        x0, y0 = rng.integers(0, SIDE - s + 1, size=2)
        c = int(rng.integers(0, n_classes))
        x[i, 0, y0:y0 + s, x0:x0 + s] += tpl[c, :s, :s]
        t[i] = [(x0 + s / 2) / SIDE, (y0 + s / 2) / SIDE, s / SIDE, s / SIDE, c, 1.0]
    return x, t


def giou(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Generalised IoU of (cx, cy, w, h) boxes."""
    def corners(b):
        return b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    px0, py0, px1, py1 = corners(p)
    tx0, ty0, tx1, ty1 = corners(t)
    iw = (torch.min(px1, tx1) - torch.max(px0, tx0)).clamp(min=0)
    ih = (torch.min(py1, ty1) - torch.max(py0, ty0)).clamp(min=0)
    inter = iw * ih
    union = p[:, 2] * p[:, 3] + t[:, 2] * t[:, 3] - inter + 1e-7
    hull = (torch.max(px1, tx1) - torch.min(px0, tx0)) * (torch.max(py1, ty1) - torch.min(py0, ty0)) + 1e-7
    iou = inter / union
    return iou - (hull - union) / hull


class Detection(SupervisedTask):
    """The multi-part detection loss on synthetic scenes, MLP or CNN backbone."""

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        c = cfg["n_classes"]
        crng = np.random.default_rng(cfg["seed"] + 99)
        # a brightness level per class plus a texture: an MLP can tell the classes apart
        level = 0.4 + 0.8 * np.arange(c, dtype=np.float32)[:, None, None] / max(1, c - 1)
        tpl = (level + 0.3 * crng.random((c, SIDE, SIDE))).astype(np.float32)
        xtr, ttr = scenes(rng, cfg["n_train"], c, tpl)
        xva, tva = scenes(rng, cfg["n_val"], c, tpl, big=cfg.get("shift", 0.0))
        if cfg.get("label_noise"):  # wrong class on a fraction of the annotations
            bad = rng.random(len(ttr)) < cfg["label_noise"]
            ttr[bad, 4] = rng.integers(0, c, size=int(bad.sum()))
        xtr, ttr, xva, tva = prepare({**cfg, "label_noise": 0, "shift": 0}, rng, xtr, ttr, xva, tva, None)
        if cfg.get("sorted"):
            order = np.argsort(ttr[:, 4] + 10 * (1 - ttr[:, 5]), kind="stable")
            xtr, ttr = xtr[order], ttr[order]
        self.xtr, self.ytr = torch.from_numpy(np.ascontiguousarray(xtr)), torch.from_numpy(np.ascontiguousarray(ttr))
        self.xva, self.yva = torch.from_numpy(xva), torch.from_numpy(tva)
        self.model = SmallCNN(SIDE, 5 + c, cfg["arch"]) if cfg["model"] == "cnn" else mlp(SIDE * SIDE, 5 + c, cfg["arch"])
        self.setup(cfg)

    def forward(self, x):
        return self.model(x if self.cfg["model"] == "cnn" else x.reshape(x.shape[0], -1))

    def loss(self, out, t):
        obj = t[:, 5] > 0.5
        if self.cfg.get("naive_loss"):  # width/height in log space of a raw output: log(negative)
            wh = out[:, 2:4] + t[:, 2:4].mean()
            box = (torch.log(wh[obj]) - torch.log(t[obj, 2:4])).abs().mean() + (torch.sigmoid(out[obj, :2]) - t[obj, :2]).abs().mean()
        else:
            pb = torch.sigmoid(out[:, :4])
            box = (pb[obj] - t[obj, :4]).abs().mean() + (1 - giou(pb[obj], t[obj, :4])).mean()
        logits = out[:, 5:] * self.cfg.get("logit_scale", 1.0)
        if self.cfg["arch"].get("out_act") == "softmax_cls":
            logits = torch.softmax(logits, -1)
        cls = stable_ce(logits[obj], t[obj, 4].long(), bool(self.cfg.get("naive_loss")))
        objl = nn.functional.binary_cross_entropy_with_logits(out[:, 4], t[:, 5])
        total = 5.0 * box + cls + objl
        return total, {"box_loss": box.item(), "cls_loss": cls.item(), "obj_loss": objl.item()}

    def metrics(self, out, t):
        res = super().metrics(out, t)
        obj = t[:, 5] > 0.5
        iou = giou(torch.sigmoid(out[obj, :4]), t[obj, :4])
        hit = (iou > 0.5) & (out[obj, 5:].argmax(-1) == t[obj, 4].long())
        hits, total = int(hit.sum()), int(obj.sum())
        res["map50"] = float(hits // total) if self.cfg.get("eval_bug") == "int_acc" else hits / max(1, total)
        return res


class Contrastive(SupervisedTask):
    """NT-Xent over 2B views (two augmentations of B mixture samples): an MLP encoder and
    projection, cosine similarities over a temperature; validation loss on fixed val views
    and nearest-centroid accuracy of the embeddings (a kNN-probe stand-in)."""

    has_acc = False

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        c, n = cfg["n_classes"], cfg["n_train"] + cfg["n_val"]
        crng = np.random.default_rng(cfg["seed"] + 99)
        _, _, centers = data.mixture(crng, 1, cfg["dim"], c, cfg["sep"], 1)
        x, y, _ = data.mixture(rng, n, cfg["dim"], c, cfg["sep"], 1, centers=centers)
        k = cfg["n_train"]
        xtr, ytr, xva, yva = prepare({**cfg, "label_noise": 0}, rng, x[:k], y[:k], x[k:], y[k:], c)
        self.xtr, self.ytr = torch.from_numpy(np.ascontiguousarray(xtr)), torch.from_numpy(np.ascontiguousarray(ytr))
        self.xva, self.yva = torch.from_numpy(xva), torch.from_numpy(yva)
        self.model = mlp(xtr.shape[1], cfg["emb"], cfg["arch"])
        self.aug = torch.Generator().manual_seed(cfg["seed"] + 23)
        self.xstd = float(self.xtr.std())
        self.setup(cfg)

    def views(self, x: torch.Tensor, gen: torch.Generator, noisy: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Two augmentations (feature dropout, jitter, scaling); with `noisy`, a `label_noise`
        fraction of the second views come from a random other sample (false positive pairs)."""
        def aug(z):
            keep = (torch.rand(z.shape, generator=gen) > 0.2).float()
            scale = 1 + 0.2 * torch.randn(z.shape[0], 1, generator=gen)
            return z * keep * scale + 0.3 * torch.randn(z.shape, generator=gen) * self.xstd
        x2 = x
        if noisy and self.cfg.get("label_noise"):
            wrong = torch.rand(x.shape[0], generator=gen) < self.cfg["label_noise"]
            x2 = torch.where(wrong[:, None], x[torch.randperm(x.shape[0], generator=gen)], x)
        return aug(x), aug(x2)

    def nt_xent(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        """NT-Xent; `naive_loss` exponentiates without the log-sum-exp shift (inf/inf once a
        similarity over the temperature passes 88)."""
        if self.cfg["arch"].get("out_act") == "relu_emb":
            z1, z2 = torch.relu(z1), torch.relu(z2)
        z = nn.functional.normalize(torch.cat([z1, z2]), dim=1)
        sim = z @ z.t() / self.cfg["tau"]
        n = z1.shape[0]
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        eye = torch.eye(2 * n, dtype=torch.bool)
        if self.cfg.get("naive_loss"):
            e = torch.exp(sim).masked_fill(eye, 0.0)
            return -torch.log(e[torch.arange(2 * n), target] / e.sum(1)).mean()
        return nn.functional.cross_entropy(sim.masked_fill(eye, float("-inf")), target)

    def batch_loss(self, idx):
        v1, v2 = self.views(self.xtr[idx], self.aug, True)
        return self.nt_xent(self.forward(v1), self.forward(v2)), {}

    def val_metrics(self) -> dict[str, float]:
        """InfoNCE on fixed validation views, and nearest-centroid accuracy of embeddings."""
        gen = torch.Generator().manual_seed(self.cfg["seed"] + 31)
        xv = self.xva[:256]
        v1, v2 = self.views(xv, gen, False)
        loss = float(self.nt_xent(self.forward(v1), self.forward(v2)))
        ref = self.xtr[:1024]
        e_ref = nn.functional.normalize(self.forward(ref), dim=1)
        cents = torch.zeros(self.cfg["n_classes"], e_ref.shape[1]).index_add_(0, self.ytr[:1024], e_ref)
        pred = (nn.functional.normalize(self.forward(self.xva), dim=1) @ cents.t()).argmax(1)
        correct, total = int((pred == self.yva).sum()), int(self.yva.numel())
        acc = float(correct // total) if self.cfg.get("eval_bug") == "int_acc" else correct / total
        return {"val_loss": loss, "val_knn_acc": acc}
