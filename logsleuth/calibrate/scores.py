"""Predictions of labelled runs and what they score: top-1, top-3, healthy flagged, the
objective the fit maximises, and the reliability map with its calibration error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..model import Finding
from .corpus import Labelled

HEALTHY_COST = 3.0  # a healthy run flagged costs three missed top-1 faults
BINS = 10  # reliability table and expected calibration error: ten equal-width score bins

# ------------------------------------------------------------------ evidence

def findings_of(item: Labelled, ruleset: Any) -> list[list[Finding]]:
    from ..ruleset import evaluate

    return [evaluate(ruleset, series, hp)[0] for series, hp in item.runs]


@dataclass(frozen=True)
class Prediction:
    causes: tuple[str, ...]
    top_raw: float
    flagged: bool


def predict(per_run: list[list[Finding]], ruleset: Any) -> Prediction:
    """The worst run of a labelled directory (as `logsleuth eval` scores it)."""
    from ..ranking import rank

    best: tuple[int, float, tuple[str, ...]] | None = None
    raw = replace_scores(ruleset)
    for findings in per_run:
        health, causes = rank(findings, raw)
        order = {"critical": 2, "warning": 1}.get(health, 0)
        top = causes[0].score if causes else 0.0
        key = (order, top, tuple(c.id for c in causes))
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return Prediction((), 0.0, False)
    return Prediction(best[2], best[1] if best[0] else 0.0, best[0] > 0)


def replace_scores(ruleset: Any, late: float | None = None) -> Any:
    """The rule set ranking raw scores (no reliability map), with a late discount."""
    cal = dict(getattr(ruleset, "scores", {}) or {})
    cal.pop("map", None)
    cal.pop("healthy", None)
    if late is not None:
        cal["ranking"] = {"late_discount": late}
    return replace(ruleset, scores=cal)


# ------------------------------------------------------------------ scores

@dataclass
class Figures:
    runs: int = 0
    faulty: int = 0
    healthy: int = 0
    top1: float = 0.0
    top3: float = 0.0
    healthy_flagged: float = 0.0
    ece: float | None = None

    def row(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def figures(items: Sequence[Labelled], preds: Sequence[Prediction], probs: Sequence[float] | None = None) -> Figures:
    f = Figures(runs=len(items))
    faulty = [(it, p) for it, p in zip(items, preds) if not it.healthy]
    healthy = [p for it, p in zip(items, preds) if it.healthy]
    f.faulty, f.healthy = len(faulty), len(healthy)
    if faulty:
        f.top1 = sum(bool(p.causes) and p.causes[0] in it.acceptable for it, p in faulty) / len(faulty)
        f.top3 = sum(any(c in it.acceptable for c in p.causes[:3]) for it, p in faulty) / len(faulty)
    if healthy:
        f.healthy_flagged = sum(p.flagged for p in healthy) / len(healthy)
    if probs is not None:
        f.ece = ece(probs, correct(items, preds))
    return f


def correct(items: Sequence[Labelled], preds: Sequence[Prediction]) -> list[bool]:
    """Whether the top cause is right: an acceptable cause, or `healthy` on a healthy run."""
    return [bool(p.causes) and p.causes[0] in it.acceptable for it, p in zip(items, preds)]


def objective(items: Sequence[Labelled], preds: Sequence[Prediction]) -> float:
    """What the fit maximises, in runs: top-1 hits + half the top-3 hits - HEALTHY_COST x flagged healthy runs."""
    t1 = t3 = bad = 0.0
    for it, p in zip(items, preds):
        if it.healthy:
            bad += p.flagged
        else:
            t1 += bool(p.causes) and p.causes[0] in it.acceptable
            t3 += any(c in it.acceptable for c in p.causes[:3])
    return t1 + 0.5 * t3 - HEALTHY_COST * bad


# ------------------------------------------------------------------ reliability

def isotonic(x: Sequence[float], y: Sequence[float]) -> tuple[list[float], list[float]]:
    """Pool-adjacent-violators: the non-decreasing step fit of y on x, as knots (x, p)."""
    order = np.argsort(np.asarray(x, float), kind="stable")
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    blocks: list[list[float]] = []  # [sum y, count, x min, x max]
    for xi, yi in zip(xs, ys):
        blocks.append([yi, 1.0, xi, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, n, lo, _ = blocks.pop(-2)
            blocks[-1] = [blocks[-1][0] + s, blocks[-1][1] + n, lo, blocks[-1][3]]
    raw, p = [], []
    for s, n, lo, hi in blocks:
        raw += [lo, hi] if hi > lo else [lo]
        p += [s / n] * (2 if hi > lo else 1)
    return [round(float(v), 4) for v in raw], [round(float(v), 4) for v in p]


def fit_reliability(items: Sequence[Labelled], preds: Sequence[Prediction]) -> dict[str, Any]:
    """The map from raw top score to how often the top cause was right, and the share of runs
    judged healthy that are healthy (the score of `healthy`)."""
    ok = correct(items, preds)
    flagged = [(p.top_raw, float(c)) for p, c in zip(preds, ok) if p.flagged]
    quiet = [c for p, c in zip(preds, ok) if not p.flagged]
    out: dict[str, Any] = {}
    if len(flagged) >= BINS:
        raw, p = isotonic([a for a, _ in flagged], [b for _, b in flagged])
        out["map"] = {"raw": [0.0] + raw + [1.0], "p": [p[0]] + p + [p[-1]]}
    if quiet:
        out["healthy"] = round(sum(quiet) / len(quiet), 4)
    return out


def probabilities(preds: Sequence[Prediction], cal: Mapping[str, Any]) -> list[float]:
    from ..ranking import reliability

    return [reliability(p.top_raw, cal) if p.flagged else float(cal.get("healthy", 1.0)) for p in preds]


def ece(probs: Sequence[float], ok: Sequence[bool]) -> float:
    """Expected calibration error over BINS equal-width bins."""
    if not probs:
        return 0.0
    pr, y = np.asarray(probs, float), np.asarray(ok, float)
    idx = np.minimum((pr * BINS).astype(int), BINS - 1)
    total = 0.0
    for b in range(BINS):
        m = idx == b
        if m.any():
            total += m.sum() / pr.size * abs(pr[m].mean() - y[m].mean())
    return float(total)


def reliability_table(probs: Sequence[float], ok: Sequence[bool]) -> list[dict[str, Any]]:
    pr, y = np.asarray(probs, float), np.asarray(ok, float)
    idx = np.minimum((pr * BINS).astype(int), BINS - 1)
    rows = []
    for b in range(BINS):
        m = idx == b
        if m.any():
            rows.append({"bin": f"{b / BINS:.1f}-{(b + 1) / BINS:.1f}", "runs": int(m.sum()),
                         "mean_score": round(float(pr[m].mean()), 3), "right": round(float(y[m].mean()), 3)})
    return rows


