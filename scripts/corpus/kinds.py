"""The nine kinds of training, each a healthy recipe sampled from the rng, and `build`,
which turns a (possibly faulty) config into a Task.

Healthy learning rates are the usual ones per optimizer family (SGD 0.05-0.2, momentum
0.01-0.05, Adam 5e-4-3e-3, RMSprop 2e-4-1e-3), scaled per kind where practice differs
(fine-tuning lower, RNN LMs with clipping, GANs with Adam beta1 = 0.5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # recipes and plans need numpy only; building a task imports torch
    from .train import Task

KINDS = ("classification", "binary", "regression", "language_model", "fine_tune", "detection", "contrastive",
         "gan", "rl")
CLASS_COUNTS = (3, 5, 10, 20, 50, 100, 300, 1000)
LR_RANGE = {"sgd": (0.05, 0.2), "momentum": (0.01, 0.05), "nesterov": (0.01, 0.05), "adam": (5e-4, 3e-3),
            "adamw": (5e-4, 3e-3), "rmsprop": (2e-4, 1e-3)}
LOSS_KIND = {"classification": "ce", "binary": "bce", "language_model": "lm_ce", "fine_tune": "ce",
             "detection": "multi", "contrastive": "infonce", "gan": "gan", "rl": "rl"}


def _pick(rng: np.random.Generator, options, weights=None):
    """One of `options` (weights need not sum to one)."""
    w = None if weights is None else np.asarray(weights, float) / np.sum(weights)
    return options[int(rng.choice(len(options), p=w))]


def _logu(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _sig(x: float) -> float:
    """Two significant digits, as people write rates (3e-3, 0.05)."""
    return float(f"{x:.2g}")


def optim(rng: np.random.Generator, families=tuple(LR_RANGE), scale: float = 1.0, weights=None) -> dict:
    """An optimizer and a healthy learning rate for it, and a weight decay for AdamW."""
    name = _pick(rng, families, weights)
    lo, hi = LR_RANGE[name]
    out = {"optimizer": name, "lr": _sig(_logu(rng, lo * scale, hi * scale))}
    if name == "adamw":
        out["wd"] = _pick(rng, (0.01, 0.05, 0.1))
    return out


def schedule(rng: np.random.Generator, steps: int, allow=("constant", "step", "cosine", "warmup_cosine",
                                                            "warmup_linear", "onecycle")) -> dict:
    """A learning-rate schedule; warmups take 3-10% of the run."""
    w = {"constant": 3, "step": 1.5, "cosine": 2, "warmup_cosine": 1.5, "warmup_linear": 1, "onecycle": 1}
    name = _pick(rng, allow, [w[a] for a in allow])
    out = {"schedule": name}
    if name.startswith("warmup"):
        out["warmup"] = max(5, int(steps * rng.uniform(0.03, 0.1)))
    if name == "step":
        out["milestones"] = _pick(rng, ((0.5, 0.75), (0.6, 0.85), (0.33, 0.66)))
    return out


def mlp_arch(rng: np.random.Generator, widths=(64, 128, 256), depths=(1, 2, 2, 3)) -> dict:
    return {"width": int(_pick(rng, widths)), "depth": int(_pick(rng, depths)),
            "act": _pick(rng, ("relu", "relu", "relu", "gelu", "leaky", "tanh")),
            "dropout": float(_pick(rng, (0.0, 0.0, 0.0, 0.1, 0.2)))}


def steps_for(rng: np.random.Generator, lo: int, hi: int) -> int:
    """A run length, log-uniform; rounded like a configured max_steps."""
    s = _logu(rng, min(lo, hi), hi)
    step = 10 if s < 500 else 50 if s < 2000 else 100
    return int(round(s / step) * step)


def sample(kind: str, rng: np.random.Generator, seed: int, max_steps: int = 5000) -> dict:
    """A healthy config of `kind`; max_steps caps the run length (the CI sample is short)."""
    from .recipes import RECIPES, cap_steps
    cfg = {"kind": kind, "seed": seed, "fine_tune": kind == "fine_tune", "shuffle": True, "init": "default"}
    cfg.update(RECIPES[kind](rng, max_steps))
    cfg.setdefault("loss_kind", LOSS_KIND.get(kind, "mse"))
    cfg.setdefault("n_classes", None)
    return cap_steps(cfg, floor=cfg.pop("min_steps", 60 if kind == "rl" else 100))


def build(cfg: dict) -> Task:
    """The Task of a config: data and model made from the config's own seed."""
    import torch

    from .kinds_gan import Gan
    from .kinds_rl import Dqn, Reinforce
    from .kinds_seq import LanguageModel
    from .kinds_tab import Binary, Classification, FineTune, Regression
    from .kinds_vis import Contrastive, Detection

    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    table = {"classification": Classification, "binary": Binary, "regression": Regression,
             "language_model": LanguageModel, "fine_tune": FineTune, "detection": Detection,
             "contrastive": Contrastive, "gan": Gan}
    if cfg["kind"] == "rl":
        return Reinforce(cfg, rng) if cfg["algo"] == "reinforce" else Dqn(cfg, rng)
    return table[cfg["kind"]](cfg, rng)
