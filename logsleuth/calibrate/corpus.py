"""The labelled corpus a calibration is fitted to: label.yaml directories read once into series."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import InputError
from ..model import Series

CLASS_RANGES = ((2, 2, "2"), (3, 10, "3-10"), (11, 100, "11-100"), (101, 100_000, "101+"))  # else "none"



@dataclass
class Labelled:
    """One labelled run directory, read once: its series, hyperparameters and label."""
    name: str
    cause: str
    acceptable: tuple[str, ...]
    kind: str
    classes: str
    cadence: str
    runs: list[tuple[dict[str, Series], dict[str, Any]]] = field(default_factory=list)
    recipe: str = ""  # the label's training seed and notes: the same recipe in two corpora is the same run

    @property
    def healthy(self) -> bool:
        return self.cause == "healthy"


def class_range(n: Any) -> str:
    for lo, hi, name in CLASS_RANGES:
        if isinstance(n, (int, float)) and not isinstance(n, bool) and lo <= n <= hi:
            return name
    return "none"


def load_corpus(corpus: str, progress: Callable[[int, int], None] | None = None) -> list[Labelled]:
    """Every labelled run directory under `corpus`, its runs read into series once."""
    from ..evaluate import label_dirs
    from ..ingest import discover, load_run
    from ..pipeline import run_series

    out = []
    dirs = label_dirs(corpus)
    for i, d in enumerate(dirs):
        with open(os.path.join(d, "label.yaml"), encoding="utf-8") as fh:
            lab = yaml.safe_load(fh) or {}
        cause = str(lab.get("cause", "healthy"))
        item = Labelled(name=os.path.relpath(d, corpus), cause=cause,
                        acceptable=tuple([cause] + list(lab.get("also_acceptable") or [])),
                        kind=str(lab.get("kind", "unknown")), classes=class_range(lab.get("n_classes")),
                        cadence=str(lab.get("cadence", "unknown")),
                        recipe=f"{lab.get('seed')}|{lab.get('notes')}" if lab.get("seed") is not None else "")
        for src in discover([d]).runs:
            try:
                run = load_run(src)
            except InputError:  # a broken run of the corpus is left out, not the fit
                continue
            item.runs.append((run_series(run).series, dict(run.hparams)))
        if item.runs:
            out.append(item)
        if progress:
            progress(i + 1, len(dirs))
    return out


