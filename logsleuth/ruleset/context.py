"""Run-level facts detectors may use: epoch length in steps, number of classes."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..model import Series
from ..roles import primary


def epoch_length(series: Mapping[str, Series]) -> float | None:
    """Steps per epoch, from an epoch metric, else from the spacing of per-epoch evaluations."""
    ep = primary(series, "epoch")
    if ep is not None and len(ep) >= 3:
        st, v = ep.steps, ep.values
        ok = np.isfinite(v)
        st, v = st[ok], np.floor(v[ok] + 1e-9)
        change = np.nonzero(np.diff(v) > 0)[0]
        if change.size >= 2:
            firsts = st[change + 1]
            d = np.diff(firsts)
            if d.size and np.median(d) > 0:
                return float(np.median(d))
    tl = primary(series, "train_loss")
    for role in ("val_loss", "val_accuracy"):
        vs = primary(series, role)
        if vs is not None and len(vs) >= 3 and tl is not None and len(tl) >= 5 * len(vs):
            d = np.diff(vs.steps)
            d = d[d > 0]
            if d.size and np.std(d) <= 0.1 * np.median(d):
                return float(np.median(d))
    return None


def n_classes(hparams: Mapping[str, Any]) -> int | None:
    for k in ("num_classes", "n_classes", "nc", "num_labels", "classes"):
        v = hparams.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 2 <= v <= 100000:
            return int(v)
    return None


def run_context(series: Mapping[str, Series], hparams: Mapping[str, Any]) -> dict[str, Any]:
    return {"epoch_len": epoch_length(series), "n_classes": n_classes(hparams), "hparams": dict(hparams)}
