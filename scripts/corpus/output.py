"""One run's files: the Logged view under its spec, a crash or a resume where the spec is
messy, the metric names of its style, the hyperparameters it writes, and the writer."""

from __future__ import annotations

import numpy as np

from . import logview, names, writers
from .train import History


def hparams_of(cfg: dict, spec: dict) -> dict:
    """What a script would put in hparams.yaml / TB hparams / a config: the optimizer, rates,
    batch, length, model and, for classifiers, the class count; fine-tunes name their
    checkpoint.  The injected fault is never named."""
    hp = {"optimizer": cfg["optimizer"], "lr": cfg["lr"], "batch_size": cfg["batch"], "max_steps": cfg["steps"],
          "scheduler": cfg["schedule"], "model": cfg.get("model"), "seed": cfg["seed"]}
    if cfg.get("wd"):
        hp["weight_decay"] = cfg["wd"]
    if cfg.get("n_classes") and cfg["kind"] in ("classification", "binary", "fine_tune", "detection", "contrastive"):
        hp["num_classes" if spec["names_variant"] else "n_classes"] = cfg["n_classes"]
    if cfg.get("arch"):
        hp["hidden"] = cfg["arch"].get("width")
        hp["dropout"] = cfg["arch"].get("dropout", 0.0)
    if (cfg["kind"] == "fine_tune" or cfg.get("pretrain_steps")) and not cfg.get("skip_pretrained"):
        hp["init_from" if spec["names_variant"] else "pretrained"] = "checkpoints/pretrain_last.pt" if spec["names_variant"] else True
    if spec["flavor"].startswith("hf"):
        hp = {"learning_rate": hp.pop("lr"), "per_device_train_batch_size": hp.pop("batch_size"), **hp}
    return {k: v for k, v in hp.items() if v is not None}


def style_of(spec: dict) -> str:
    return writers.STYLE[spec["flavor"]]


def emit(run_dir: str, hist: History, cfg: dict, spec: dict, rng: np.random.Generator
         ) -> tuple[logview.Logged, dict, list[str]]:
    """Write the run's log files; returns the Logged view (what the files hold, before a
    resume's duplicates), the completed spec and the file paths."""
    spec = {**spec, "batch_size": cfg["batch"], "steps": cfg["steps"], "n_val": cfg.get("n_val", 500),
            "eval_every": cfg.get("eval", {}).get("every")}
    lg = logview.build(hist, spec)
    n = lg.last_step
    if spec.get("messy") == "truncated" and n > 20:
        logview.crash(lg, int(n * rng.uniform(0.6, 0.95)))
        spec["truncated"] = True
    elif spec.get("messy") == "resumed" and n > 40:
        spec["resumed"] = logview.resume_points(n, rng)
        lg.resumed = spec["resumed"]
    else:
        spec.pop("messy", None)
    nm = names.names(style_of(spec), cfg["kind"], spec["names_variant"], cfg["optimizer"], cfg.get("loss_kind", ""))
    if spec["format"] == "text" and spec.get("hparams"):
        spec["hparams_text"] = hparams_of(cfg, spec)
    hp = hparams_of(cfg, spec) if spec.get("hparams") and spec["format"] != "text" else None
    wall0 = spec["wall0"]
    clock = writers.Clock(rng, max(n, cfg["steps"]) + 1, spec["per_step"], wall0)
    files = writers.write(run_dir, lg, spec, nm, clock, hp)
    return lg, spec, files
