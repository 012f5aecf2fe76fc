"""Healthy recipes, one per kind: data size, model, optimizer, schedule, batch and length,
drawn from the ranges practitioners use for such small problems.

Lengths are capped by what the machine can train in the time budget (a transformer step
costs ~20 MLP steps), so the long runs are MLPs and the short ones sequence models."""

from __future__ import annotations

import numpy as np

from .data import separation_for
from .kinds import CLASS_COUNTS, _logu, _pick, _sig, mlp_arch, optim, schedule, steps_for


def _common(rng: np.random.Generator, steps: int, batch: int, clip_p: float = 0.2) -> dict:
    out = {"steps": steps, "batch": batch, **schedule(rng, steps)}
    out["clip"] = 1.0 if rng.random() < clip_p else None
    return out


def classification(rng: np.random.Generator, max_steps: int) -> dict:
    cfg = _classification_draw(rng, max_steps)
    _separate(cfg)
    return cfg


def _classification_draw(rng: np.random.Generator, max_steps: int) -> dict:
    """A classification recipe before its separation is solved (a fine-tune solves it once, for
    its own class count)."""
    c = int(_pick(rng, CLASS_COUNTS))
    if c >= 300:
        return _many_classes(rng, c, max_steps)
    images = c <= 20 and rng.random() < 0.3
    steps = steps_for(rng, 150 if c < 100 else 400, min(max_steps, 5000))
    batch = int(_pick(rng, (16, 32, 64, 128) if c < 100 else (64, 128)))
    cfg = {"n_classes": c, "model": "cnn" if images else "mlp", "dim": int(_pick(rng, (16, 24, 32, 48))),
           "bayes_acc": float(rng.uniform(*BAYES_ACC)), "clusters": int(_pick(rng, (1, 1, 2))),
           "n_train": int(min(30000, max(2000, 40 * c) * rng.uniform(1, 2))), "n_val": int(min(1000, max(300, 2 * c))),
           "images": images, "side": 12, "noise": float(rng.uniform(0.1, 0.3)),
           "arch": mlp_arch(rng, widths=(64, 128, 256), depths=(1, 2, 2, 3) if c < 50 else (1, 2)),
           "dataset": f"{'templates' if images else 'mixture'}{c}"}
    cfg.update(optim(rng))
    cfg.update(_common(rng, steps, batch))
    return cfg


# the nearest-centre (about Bayes) accuracy a mixture task allows: the range small benchmark
# models reach (CIFAR-10 80-95%, MNIST 98%), so a healthy run is one a practitioner calls
# good, at every class count and input width alike
BAYES_ACC = (0.8, 0.97)


def _separate(cfg: dict) -> None:
    """The mixture's `sep` for its drawn accuracy (a function of classes, dim and blobs)."""
    cfg["sep"] = separation_for(cfg["dim"], cfg["n_classes"], cfg.get("clusters", 1), cfg["bayes_acc"])


def _many_classes(rng: np.random.Generator, c: int, max_steps: int) -> dict:
    """300 or 1000 classes: a one-hidden-layer MLP on well separated centres, ~20 samples a
    class, Adam-family or momentum, long enough (600+ steps) to leave ln(C) well behind."""
    steps = steps_for(rng, 600, min(max_steps, 1500))
    cfg = {"n_classes": c, "model": "mlp", "dim": 32, "bayes_acc": float(rng.uniform(*BAYES_ACC)), "clusters": 1,
           "n_train": 20 * c, "n_val": 1000, "images": False, "min_steps": min(600, steps),
           "arch": {"width": int(_pick(rng, (128, 192))), "depth": 1, "act": _pick(rng, ("relu", "gelu", "leaky")),
                    "dropout": float(_pick(rng, (0.0, 0.1)))}, "dataset": f"mixture{c}"}
    cfg.update(optim(rng, ("adam", "adamw", "momentum", "nesterov", "rmsprop"), weights=(4, 4, 1, 1, 1)))
    if cfg["optimizer"] in ("momentum", "nesterov"):
        cfg["lr"] = _sig(_logu(rng, 0.05, 0.15))
    elif cfg["optimizer"] in ("adam", "adamw"):
        cfg["lr"] = _sig(_logu(rng, 1e-3, 3e-3))
    cfg.update(_common(rng, steps, int(_pick(rng, (64, 128)))))
    return cfg


def binary(rng: np.random.Generator, max_steps: int) -> dict:
    steps = steps_for(rng, 150, min(max_steps, 4000))
    cfg = {"n_classes": 2, "model": "mlp", "dim": int(_pick(rng, (4, 8, 16, 32))), "sep": float(rng.uniform(1.6, 2.6)),
           "clusters": int(_pick(rng, (2, 3))), "pos_frac": float(_pick(rng, (0.5, 0.5, 0.3, 0.2))),
           "n_train": int(_pick(rng, (1000, 2000, 4000, 8000))), "n_val": 500, "arch": mlp_arch(rng, widths=(32, 64, 128)),
           "dataset": "binary_mixture"}
    cfg.update(optim(rng))
    cfg.update(_common(rng, steps, int(_pick(rng, (16, 32, 64, 128)))))
    return cfg


def regression(rng: np.random.Generator, max_steps: int) -> dict:
    steps = steps_for(rng, 200, min(max_steps, 5000))
    scale = float(_pick(rng, (0.01, 0.1, 1.0, 1.0, 10.0, 100.0, 1000.0)))
    target = _pick(rng, ("teacher", "sines"))
    cfg = {"model": "mlp", "dim": int(_pick(rng, (4, 8, 16, 32))), "target": target, "target_scale": scale,
           "target_offset": float(_pick(rng, (0.0, 0.0, 3.0 * scale))), "loss_kind": _pick(rng, ("mse", "mse", "mae", "huber")),
           "n_train": int(_pick(rng, (1000, 2000, 4000, 8000))), "n_val": 500,
           "arch": {**mlp_arch(rng, widths=(32, 64, 128)), "dropout": 0.0}, "dataset": f"{target}_x{scale:g}"}
    # plain SGD steps grow with the target scale squared: practitioners use Adam-like
    # optimizers when the targets are not of unit scale
    cfg.update(optim(rng) if scale == 1.0 else optim(rng, ("adam", "adamw", "rmsprop")))
    cfg.update(_common(rng, steps, int(_pick(rng, (16, 32, 64, 128)))))
    return cfg


def language_model(rng: np.random.Generator, max_steps: int) -> dict:
    level = _pick(rng, ("char", "word"))
    model = _pick(rng, ("gru", "lstm", "rnn", "transformer"), (3, 2, 1, 2))
    steps = steps_for(rng, 150, min(max_steps, 800 if model == "transformer" else 1200))
    cfg = {"level": level, "model": model, "seq": 32 if level == "char" else 16,
           "n_sentences": int(_pick(rng, (400, 800, 1600))),
           "arch": {"width": int(_pick(rng, (32, 48, 64))), "depth": 1, "dropout": float(_pick(rng, (0.0, 0.1))),
                    "pre_ln": bool(rng.random() < 0.5)},
           "dataset": f"{level}_text"}
    fam = ("adam", "adamw", "rmsprop", "sgd") if model != "transformer" else ("adam", "adamw")
    cfg.update(optim(rng, fam, weights=(4, 3, 1, 1) if model != "transformer" else None))
    if cfg["optimizer"] == "sgd":
        cfg["lr"] = _sig(_logu(rng, 0.5, 2.0))  # the classic word-LM recipe: SGD lr ~1 with clipping
    elif cfg["optimizer"] in ("adam", "adamw"):
        cfg["lr"] = _sig(_logu(rng, 1.5e-3, 5e-3))
    cfg.update(_common(rng, steps, int(_pick(rng, (16, 32))), clip_p=0.7))
    if cfg["optimizer"] == "sgd":
        cfg["clip"] = 0.5
    if rng.random() < LM_FINE_TUNE_SHARE:  # drawn last: the rest is the recipe of a from-scratch LM
        cfg.update({"pretrain_steps": int(_pick(rng, (500, 800, 1200))), "ft_variant": int(_pick(rng, (1, 2, 3))),
                    "ft_new": round(float(rng.uniform(0.15, 1.0)), 2), "fine_tune": True,
                    "lr": _sig(cfg["lr"] * rng.uniform(0.2, 0.5)), "dataset": f"{level}_text_ft"})
    return cfg


# the share of language models fine-tuned from a checkpoint pre-trained on other text (the
# LoRA/SFT runs people share: a loss that starts low, falls a fifth early, then a few percent)
LM_FINE_TUNE_SHARE = 0.4


def fine_tune(rng: np.random.Generator, max_steps: int) -> dict:
    cfg = _classification_draw(rng, max_steps)
    c = int(_pick(rng, (3, 5, 10, 20, 50, 100)))
    steps = steps_for(rng, 100, min(max_steps, 800))
    cfg.update({"n_classes": c, "images": cfg["images"] and c <= 20, "task_shift": float(rng.uniform(0.1, 0.25)),
                "pretrain_steps": int(_pick(rng, (600, 800, 1000))), "n_train": int(max(1000, 30 * c * rng.uniform(1, 1.5))),
                "n_val": int(min(1000, max(300, 3 * c))), "dataset": f"finetune{c}"})
    _separate(cfg)  # for the fine-tune's own class count
    cfg["model"] = "cnn" if cfg["images"] else "mlp"
    cfg["arch"]["dropout"] = 0.0
    cfg["arch_base"] = dict(cfg["arch"])
    cfg.update(optim(rng, ("adam", "adamw", "momentum", "sgd"), scale=0.15, weights=(3, 3, 2, 1)))
    cfg.update(_common(rng, steps, int(_pick(rng, (16, 32, 64)))))
    return cfg


def detection(rng: np.random.Generator, max_steps: int) -> dict:
    c = int(_pick(rng, (3, 5, 10)))
    model = _pick(rng, ("cnn", "mlp"))
    steps = steps_for(rng, 300, min(max_steps, 3000 if model == "mlp" else 1500))
    cfg = {"n_classes": c, "model": model, "n_train": int(_pick(rng, (1500, 3000))), "n_val": 400,
           "arch": {**mlp_arch(rng, widths=(64, 128)), "act": "relu"}, "dataset": f"scenes{c}"}
    cfg.update(optim(rng, ("adam", "adamw", "momentum", "sgd"), weights=(3, 3, 2, 1)))
    cfg.update(_common(rng, steps, int(_pick(rng, (16, 32, 64)))))
    return cfg


def contrastive(rng: np.random.Generator, max_steps: int) -> dict:
    steps = steps_for(rng, 200, min(max_steps, 2500))
    cfg = {"n_classes": int(_pick(rng, (5, 10, 20))), "model": "mlp", "dim": int(_pick(rng, (16, 32))),
           "bayes_acc": float(rng.uniform(*BAYES_ACC)), "emb": int(_pick(rng, (16, 32, 64))), "tau": float(_pick(rng, (0.1, 0.2, 0.5))),
           "n_train": int(_pick(rng, (2000, 4000))), "n_val": 500, "arch": {**mlp_arch(rng, widths=(64, 128)), "dropout": 0.0},
           "dataset": "mixture_views"}
    _separate(cfg)
    cfg.update(optim(rng, ("adam", "adamw", "momentum", "sgd"), weights=(3, 3, 1, 1)))
    cfg.update(_common(rng, steps, int(_pick(rng, (64, 128, 256)))))
    return cfg


def gan(rng: np.random.Generator, max_steps: int) -> dict:
    """The ring-of-Gaussians toy: Adam (beta1 0.5) at 8e-4-2e-3 converges within ~800 steps
    in about 70% of seeds at this size (slower rates mostly collapse to a few modes)."""
    dim = int(_pick(rng, (2, 2, 8)))
    cfg = {"model": "mlp", "dim": dim, "modes": int(_pick(rng, (4, 6, 8))), "radius": 2.0, "std": float(_pick(rng, (0.15, 0.2))),
           "n_train": int(_pick(rng, (2000, 5000))), "arch": {"width": 128, "depth": 2, "act": "relu", "dropout": 0.0},
           "dataset": f"ring{dim}d"}
    cfg.update(optim(rng, ("adam", "rmsprop"), weights=(4, 1)))
    cfg["lr"] = _sig(_logu(rng, 8e-4, 2e-3) if cfg["optimizer"] == "adam" else _logu(rng, 3e-4, 1e-3))
    cfg.update(_common(rng, steps_for(rng, 800, min(max_steps, 1200)), int(_pick(rng, (64, 128))), clip_p=0.0))
    cfg.update({"schedule": "constant"} if rng.random() < 0.7 else {})
    return cfg


def rl(rng: np.random.Generator, max_steps: int) -> dict:
    algo = _pick(rng, ("reinforce", "dqn"))
    cfg = {"algo": algo, "model": "mlp", "arch": {"width": int(_pick(rng, (32, 64))), "depth": int(_pick(rng, (1, 2))),
                                                  "act": _pick(rng, ("relu", "tanh")), "dropout": 0.0}}
    if algo == "reinforce":
        cfg.update({"max_len": 100, "entropy": 0.01, "dataset": "cartpole", "optimizer": "adam",
                    "lr": _sig(_logu(rng, 3e-3, 1e-2))})
        cfg.update(_common(rng, steps_for(rng, 60, min(max_steps, 200)), int(_pick(rng, (4, 6, 8))), clip_p=0.3))
    else:
        cfg.update({"corridor": int(_pick(rng, (6, 8, 10))), "dataset": "corridor", "optimizer": _pick(rng, ("adam", "rmsprop")),
                    "lr": _sig(_logu(rng, 5e-4, 2e-3))})
        cfg.update(_common(rng, steps_for(rng, 800, min(max_steps, 3000)), int(_pick(rng, (32, 64))), clip_p=0.5))
    cfg["schedule"] = _pick(rng, ("constant", "constant", "cosine")) if cfg["schedule"] != "constant" else "constant"
    return cfg


# seconds of single-thread training a healthy recipe may cost (the 45-minute budget for the
# full corpus on 2 shared cores): most runs are short, one in seven may run long
BUDGET_S, LONG_BUDGET_S, LONG_SHARE = 0.6, 2.5, 0.15


def step_seconds(cfg: dict) -> float:
    """A rough cost model of one optimizer step on this machine (fitted on a few timings):
    per-step overhead plus 6 x batch x parameters at ~60 GFLOP/s for MLPs, measured
    constants for the CNN, sequence, GAN and RL recipes."""
    k, b, a = cfg["kind"], cfg["batch"], cfg.get("arch", {})
    if k == "language_model":
        return (0.006 if cfg["model"] == "transformer" else 0.0035) * (b / 24) ** 0.5 * (a["width"] / 48)
    if k == "rl":
        return 0.005 * b if cfg["algo"] == "reinforce" else 0.0012
    if k == "gan":  # the toy GAN needs ~800 steps: it may take twice the budget
        return (0.0018 + b * a["width"] ** 2 * 2 * 6 / 6e10) / 2
    if cfg.get("model") == "cnn":
        return 0.0015 + b * 9e-5
    d_in = {"detection": 256}.get(k, cfg.get("dim", 16))
    d_out = {"detection": 5 + (cfg.get("n_classes") or 0)}.get(k, cfg.get("emb") or cfg.get("n_classes") or 1)
    w, depth = a.get("width", 64), a.get("depth", 2)
    params = d_in * w + max(0, depth - 1) * w * w + w * d_out
    return 0.0004 + 6 * b * params / 6e10


def cap_steps(cfg: dict, floor: int = 100) -> dict:
    """Shorten a recipe whose estimated cost exceeds its budget (never below `floor`); the
    budget is the long one for a fixed share of seeds."""
    budget = LONG_BUDGET_S if np.random.default_rng([cfg["seed"], 11]).random() < LONG_SHARE else BUDGET_S
    est = cfg["steps"] * step_seconds(cfg)
    if est > budget:
        n = max(floor, int(cfg["steps"] * budget / est))
        cfg["steps"] = int(round(n / 10) * 10)
        if cfg.get("warmup"):
            cfg["warmup"] = max(5, min(cfg["warmup"], cfg["steps"] // 10))
    return cfg


RECIPES = {"classification": classification, "binary": binary, "regression": regression,
           "language_model": language_model, "fine_tune": fine_tune, "detection": detection,
           "contrastive": contrastive, "gan": gan, "rl": rl}
