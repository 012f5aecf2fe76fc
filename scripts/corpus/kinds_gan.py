"""A GAN on a 2-D ring of Gaussians (or an 8-D mixture): MLP generator and discriminator,
the non-saturating loss, Adam with beta1 = 0.5 as in DCGAN.

Evaluation measures the samples, not a loss: the sliced Wasserstein distance to held-out
real points (lower is better) and the share of modes the generator covers.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from . import data
from .models import init_weights, mlp
from .train import Task, make_optimizer

Z_DIM = 8


class Gan(Task):
    """One step = one discriminator update and one generator update on a batch."""

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        self.cfg = cfg
        dim = cfg.get("dim", 2)
        n = cfg["n_train"] + 1024
        pts = data.ring(rng, n, cfg["modes"], cfg["radius"], cfg["std"])
        if dim > 2:  # an 8-D mixture: the ring embedded by a fixed random rotation
            rot = np.linalg.qr(np.random.default_rng(cfg["seed"] + 99).normal(size=(dim, dim)))[0][:2]
            pts = np.concatenate([pts[:, :2] @ rot, pts[:, 2:]], 1).astype(np.float32)
        x, mode = pts[:, :-1] * cfg.get("input_scale", 1.0), pts[:, -1]
        k = cfg["n_train"]
        xtr, mtr = x[:k], mode[:k]
        if cfg.get("sorted"):
            order = np.argsort(mtr, kind="stable")
            xtr = xtr[order]
        self.xtr, self.xva = torch.from_numpy(np.ascontiguousarray(xtr)), torch.from_numpy(x[k:])
        self.centers = torch.from_numpy(self._centers(cfg, dim))
        self.G = mlp(Z_DIM, dim, cfg["arch"])
        self.D = mlp(dim, 1, {**cfg["arch"], "out_act": None, "width": cfg.get("d_width", cfg["arch"]["width"]),
                              "dropout": cfg.get("d_dropout", 0.0)})
        for m in (self.G, self.D):
            init_weights(m, cfg.get("init", "default"), cfg.get("init_scale", 1.0), cfg.get("init_bias", 0.0))
        self.params = list(self.G.parameters()) + list(self.D.parameters())
        self.batch = min(cfg["batch"], k)
        self.epoch_len = max(1, k // self.batch)
        self.gen = torch.Generator().manual_seed(cfg["seed"] + 17)
        self.pos, self.order = k, torch.arange(k)
        self.initial_g = [p.detach().clone() for p in self.G.parameters()] if cfg.get("eval_bug") == "frozen" else None
        self.cached: dict[str, float] | None = None

    @staticmethod
    def _centers(cfg: dict, dim: int) -> np.ndarray:
        ang = 2 * np.pi * np.arange(cfg["modes"]) / cfg["modes"]
        c = np.stack([np.cos(ang), np.sin(ang)], 1) * cfg["radius"]
        if dim > 2:
            rot = np.linalg.qr(np.random.default_rng(cfg["seed"] + 99).normal(size=(dim, dim)))[0][:2]
            c = c @ rot
        return (c * cfg.get("input_scale", 1.0)).astype(np.float32)

    def optimizers(self, cfg: dict) -> list[torch.optim.Optimizer]:
        """Discriminator and generator optimizers; the discriminator's rate can be a multiple."""
        self.opt_d = make_optimizer(cfg, list(self.D.parameters()), cfg.get("d_lr_mult", 1.0))
        self.opt_g = make_optimizer(cfg, list(self.G.parameters()))
        for o in (self.opt_d, self.opt_g):
            for g in o.param_groups:
                if "betas" in g:
                    g["betas"] = (0.5, 0.999)
        self.opts = [self.opt_d, self.opt_g]
        return self.opts

    def real_batch(self) -> torch.Tensor:
        k = self.xtr.shape[0]
        if self.pos + self.batch > k:
            self.order = torch.randperm(k, generator=self.gen) if self.cfg.get("shuffle", True) else torch.arange(k)
            self.pos = 0
        idx = self.order[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return self.xtr[idx]

    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        if self.cfg.get("naive_loss"):  # log(sigmoid) by hand: -inf once D saturates
            return -(torch.log(torch.sigmoid(d_real)) + torch.log(1 - torch.sigmoid(d_fake))).mean()
        bce = nn.functional.binary_cross_entropy_with_logits
        return bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))

    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        if self.cfg.get("minimax"):  # the saturating log(1 - D(G(z))): no gradient once D wins
            return -nn.functional.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        if self.cfg.get("naive_loss"):
            return -torch.log(torch.sigmoid(d_fake)).mean()
        return nn.functional.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))

    def train_step(self, step: int) -> dict[str, float]:
        """A discriminator step on real and generated points, then a generator step."""
        x = self.real_batch()
        z = torch.randn(self.batch, Z_DIM, generator=self.gen)
        fake = self.G(z)
        d_real, d_fake = self.D(x), self.D(fake.detach())
        ld = self.d_loss(d_real, d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        ld.backward()
        clip = self.cfg.get("clip") or float("inf")
        gd = float(torch.nn.utils.clip_grad_norm_(self.D.parameters(), clip))
        self.opt_d.step()
        lg = self.g_loss(self.D(fake))
        self.opt_g.zero_grad(set_to_none=True)
        lg.backward()
        gg = float(torch.nn.utils.clip_grad_norm_(self.G.parameters(), clip))
        self.opt_g.step()
        return {"loss": ld.item() + lg.item(), "loss_D": ld.item(), "loss_G": lg.item(), "grad_norm": gg,
                "grad_norm_D": gd, "D_x": torch.sigmoid(d_real).mean().item(), "D_G_z": torch.sigmoid(d_fake).mean().item()}

    def evaluate(self) -> dict[str, float]:
        """Sliced Wasserstein distance of 512 samples to held-out real points (relative to the
        data's scale) and the share of modes holding at least 2% of the samples."""
        if self.cfg.get("eval_bug") == "stale" and self.cached is not None:
            return dict(self.cached)
        gen = torch.Generator().manual_seed(self.cfg["seed"] + 41)
        with torch.no_grad():
            keep = None
            if self.initial_g is not None:
                keep = [p.detach().clone() for p in self.G.parameters()]
                for p, q in zip(self.G.parameters(), self.initial_g):
                    p.copy_(q)
            fake = self.G(torch.randn(512, Z_DIM, generator=gen))
            if keep is not None:
                for p, q in zip(self.G.parameters(), keep):
                    p.copy_(q)
            real = self.xva[:512]
            proj = torch.randn(real.shape[1], 32, generator=gen)
            proj = proj / proj.norm(dim=0, keepdim=True)
            a, b = torch.sort(real @ proj, 0)[0], torch.sort(fake @ proj, 0)[0]
            scale = float(self.centers.norm(dim=1).mean()) or 1.0
            swd = float((a - b).abs().mean()) / scale
            dist = torch.cdist(fake, self.centers)
            near = dist.min(1)
            ok = near.values < 3 * self.cfg["std"] * self.cfg.get("input_scale", 1.0)
            counts = torch.bincount(near.indices[ok], minlength=self.centers.shape[0])
            modes = float((counts >= 0.02 * 512).float().mean())
        res = {"swd": swd if math.isfinite(swd) else math.nan, "modes": modes}
        if self.cfg.get("eval_bug") == "stale":
            self.cached = dict(res)
        return res

    def info(self) -> dict:
        return {"n_train": int(self.xtr.shape[0]), "params": sum(p.numel() for p in self.params)}
