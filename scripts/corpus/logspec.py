"""How one run is logged: format and flavour (as real loggers write them), training-log
interval, running means, which optional metrics, hyperparameters in some runs only, messy
endings in a few percent, and the simulated machine (host, pid, start time, step time).

Choices are balanced with shared counters so every format, flavour and cadence recurs.
"""

from __future__ import annotations

import numpy as np

FLAVORS = {"tensorboard": ("tb_slash", "tb_caps", "tb_lightning", "tb_hf", "tb_keras"),
           "lightning_csv": ("pl_default", "pl_stepepoch"), "keras_csv": ("keras2", "keras3"),
           "hf_trainer_state": ("hf_root", "hf_ckpt"), "jsonl": ("jsonl_simple", "jsonl_wandb", "jsonl_d2", "jsonl_time"),
           "csv": ("csv_plain", "csv_long"), "text": ("text_step", "text_log", "text_keras", "text_pytorch")}
BY_CADENCE = {"epoch": {"tb_keras", "tb_lightning", "tb_slash", "tb_caps", "pl_default", "keras2", "keras3", "jsonl_simple",
                        "jsonl_wandb", "csv_plain", "text_keras"},
              "step": {"tb_slash", "tb_caps", "tb_lightning", "pl_default", "pl_stepepoch", "hf_root", "jsonl_simple",
                       "jsonl_wandb", "jsonl_d2", "jsonl_time", "csv_plain", "csv_long", "text_step", "text_log"}}
BY_CADENCE["every_n"] = BY_CADENCE["step"] | {"tb_hf", "hf_ckpt", "text_pytorch"}
BY_CADENCE["sparse_eval"] = BY_CADENCE["every_n"]
BY_KIND = {"rl": {"tb_slash", "tb_caps", "jsonl_simple", "jsonl_wandb", "csv_plain", "csv_long", "text_step", "text_log"},
           "gan": {"tb_slash", "tb_caps", "tb_lightning", "pl_default", "jsonl_simple", "jsonl_wandb", "csv_plain", "csv_long",
                   "text_step", "text_log"}}
ONLY = {"jsonl_d2": {"detection"}, "text_pytorch": {"language_model"}}
NO_KIND = {"keras2": {"language_model"}, "keras3": {"language_model"}, "text_keras": {"language_model"}}
INTERVALS = (5, 10, 20, 25, 50, 100)
GRAD_CAUSES = {"exploding_gradients", "vanishing_gradients", "bad_weight_init", "lr_too_high", "dead_relu"}


def cadence_for(kind: str) -> list[str]:
    """Cadences a kind is logged with (RL has no epochs; LMs are logged by step)."""
    return ["step", "every_n", "sparse_eval"] if kind in ("rl", "language_model") else ["step", "every_n", "epoch", "sparse_eval"]


def flavors_for(kind: str, cadence: str) -> list[str]:
    ok = BY_CADENCE[cadence] & BY_KIND.get(kind, BY_CADENCE[cadence])
    ok = {f for f in ok if kind in ONLY.get(f, {kind}) and kind not in NO_KIND.get(f, set())}
    return sorted(ok)


def fmt_of(flavor: str) -> str:
    return next(f for f, fl in FLAVORS.items() if flavor in fl)


def _count_pick(rng, options: list[str], counts: dict, key: str) -> str:
    low = min(counts.get((key, o), 0) for o in options)
    pick = [o for o in options if counts.get((key, o), 0) == low]
    c = pick[int(rng.integers(0, len(pick)))]
    counts[(key, c)] = counts.get((key, c), 0) + 1
    return c


def log_spec(kind: str, cadence: str, base: dict, rng: np.random.Generator, counts: dict, small: bool,
             cause: str = "healthy") -> dict:
    """The log spec of one run of a group with this cadence."""
    flavors = flavors_for(kind, cadence)
    fmt = _count_pick(rng, sorted({fmt_of(f) for f in flavors}), counts, "fmt")
    flavor = _count_pick(rng, [f for f in flavors if fmt_of(f) == fmt], counts, "flavor")
    steps = base["steps"]
    train = "epoch" if cadence == "epoch" else "step" if cadence == "step" else "every_n"
    every = 1
    if train == "every_n":
        ok = [n for n in INTERVALS if n <= max(5, steps // 20)]
        every = int(rng.choice(ok if not small else [n for n in ok if n >= 10] or ok))
        if cadence == "sparse_eval" and rng.random() < 0.3 and not small:
            train, every = "step", 1
    if fmt == "hf_trainer_state" and train == "step":
        every = 1
    spec = {"format": fmt, "flavor": flavor, "cadence": cadence, "train": train, "every": every,
            "mean": flavor in ("hf_root", "hf_ckpt", "tb_hf", "text_pytorch") or (train == "every_n" and rng.random() < 0.3),
            "extra": sorted(_extras(kind, base, flavor, rng, cause)), "hparams": _hparams_style(fmt, flavor, rng),
            "names_variant": int(rng.random() < 0.5), "host": f"gpu-node-{int(rng.integers(1, 24)):02d}",
            "pid": int(rng.integers(1000, 60000)), "wall0": float(1.70e9 + int(rng.integers(0, 30_000_000))),
            "per_step": float(round(rng.uniform(0.02, 0.25), 4))}
    spec.update(_messy(fmt, flavor, rng, small))
    return spec


def _extras(kind: str, base: dict, flavor: str, rng: np.random.Generator, cause: str) -> set[str]:
    """Optional metrics this run logs (learning rate, grad norm, dead fraction, perplexity...)."""
    out: set[str] = set()
    if rng.random() < 0.6 or flavor in ("hf_root", "hf_ckpt", "tb_hf", "keras3", "text_pytorch"):
        out.add("lr")
    if rng.random() < (0.55 if cause in GRAD_CAUSES else 0.3) or flavor in ("hf_root", "hf_ckpt", "tb_hf"):
        out.add("grad_norm")
    if base.get("arch", {}).get("act") == "relu" and rng.random() < (0.4 if cause == "dead_relu" else 0.12):
        out.add("dead_frac")
    if kind == "language_model" and (rng.random() < 0.5 or flavor == "text_pytorch"):
        out.add("ppl")
    if rng.random() < 0.5:
        out |= {"train_reg", "train_data", "val_mae", "val_token_acc", "entropy", "q_mean", "D_x", "D_G_z"}
    if flavor in ("text_keras", "keras2", "keras3", "tb_keras"):
        out.discard("grad_norm")  # Keras' CSVLogger and progress bar carry the epoch's metrics only
        out.discard("dead_frac")
    return out


def _hparams_style(fmt: str, flavor: str, rng: np.random.Generator) -> bool:
    """Whether the run writes its hyperparameters where its format carries them."""
    p = {"tensorboard": 0.35, "lightning_csv": 0.7, "hf_trainer_state": 0.3, "jsonl": 0.3 if flavor == "jsonl_wandb" else 0.12,
         "text": 0.3, "csv": 0.0, "keras_csv": 0.0}[fmt]
    return bool(rng.random() < p) and flavor not in ("tb_keras", "text_keras", "jsonl_time", "jsonl_d2")


def _messy(fmt: str, flavor: str, rng: np.random.Generator, small: bool) -> dict:
    """A resumed job (overlapping steps logged twice) or a crash that cut the last record."""
    r = rng.random()
    if r < 0.025 and fmt not in ("keras_csv", "hf_trainer_state") and flavor not in ("tb_keras", "text_keras"):
        return {"messy": "resumed"}
    if r < 0.05 and fmt != "hf_trainer_state" and flavor != "tb_keras":
        return {"messy": "truncated"}
    return {}
