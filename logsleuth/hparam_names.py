"""The names loggers and trainers give the same hyperparameter: rules' `when: {hparam: ...}`, the
run context and the detectors that read one look them up here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HPARAM_ALIASES = {
    "batch_size": ("batch_size", "train_batch_size", "per_device_train_batch_size", "batch", "bs", "data.batch_size"),
    "lr": ("lr", "learning_rate", "lr0", "opt_learning_rate", "optimizer.lr"),
    "weight_decay": ("weight_decay", "wd", "opt_weight_decay"),
    "optimizer": ("optimizer", "opt_name", "optim", "optimizer_name", "optimizer.name", "opt"),
    "num_classes": ("num_classes", "n_classes", "nc", "num_labels", "classes"),
}


def hparam_values(hparams: Mapping[str, Any], name: str) -> list[Any]:
    """Every value the run gives a hyperparameter under any of its aliases, in alias order."""
    return [hparams[k] for k in HPARAM_ALIASES.get(name, (name,)) if hparams.get(k) is not None]


def hparam(hparams: Mapping[str, Any], name: str) -> Any:
    """The hyperparameter under its first alias the run has, or None."""
    vals = hparam_values(hparams, name)
    return vals[0] if vals else None
