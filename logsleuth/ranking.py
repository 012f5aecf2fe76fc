"""From findings to ranked causes.

Method (order-independent): every finding f supports causes with weights w in [-1, 1] (after
its `when` conditions).  Its strength is s = |w| x confidence(f).  Findings of one symptom are
one piece of evidence, however many rules saw it (three noise rules on one noisy curve are one
noisy curve): per symptom and cause only the strongest counts.  A cause's score is the
noisy-OR of those per-symptom strengths, multiplied by the complement of the noisy-OR of the
strengths against it:

    score(c) = (1 - prod_{symptoms, w>0} (1 - s)) x prod_{symptoms, w<0} (1 - s)

A finding that starts late is discounted: with `late_discount` d (fitted, rules/calibration.yaml
`ranking:`), a finding whose onset lies a share x of the way from the first finding's onset to
the last finding's end counts (1 - d x) of its strength, so the fault that came first and
explains the rest leads over a late secondary symptom or one spike on the last step.  The
scores are then mapped through the fitted reliability map (`scores:`), a non-decreasing
function from the raw score to how often the top cause was right on held-out runs; the order
is the raw order.

Health is the highest severity among the findings (info findings do not count).  A run with
no warning or critical finding is healthy and lists `healthy` first, unless nothing in it could
be judged: then it is `unknown`, with no causes.  Ties are broken by the
cause id, so the ranking is deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from .model import CauseScore, Finding, Health, Severity


def health_of(findings: Iterable[Finding], judged: bool = True) -> Health:
    """critical / warning from the worst finding; else healthy, or unknown when nothing was judged."""
    worst = max((Severity(f.severity) for f in findings), default=Severity.INFO)
    if worst == Severity.INFO:
        return Health.HEALTHY if judged else Health.UNKNOWN
    return Health(worst.value)


def rank(findings: list[Finding], ruleset, judged: bool = True) -> tuple[str, list[CauseScore]]:
    """Health level and causes sorted best first (`healthy` first for a healthy run; none for
    a run that could not be judged)."""
    cal: Mapping[str, Any] = getattr(ruleset, "scores", None) or {}
    late = onset_factors(findings, float((cal.get("ranking") or {}).get("late_discount", 0.0)))
    strongest: dict[tuple[str, str, bool], float] = {}
    because: dict[str, list[str]] = defaultdict(list)
    for i, f in enumerate(findings):
        for cid, w in f.causes:
            s = min(1.0, abs(w) * f.confidence * late.get(i, 1.0))
            key = (cid, f.symptom, w >= 0)
            strongest[key] = max(strongest.get(key, 0.0), s)
            if w >= 0 and f.symptom not in because[cid]:
                because[cid].append(f.symptom)
    pos: dict[str, float] = defaultdict(lambda: 1.0)
    neg: dict[str, float] = defaultdict(lambda: 1.0)
    for (cid, _, positive), s in strongest.items():
        if positive:
            pos[cid] *= 1.0 - s
        else:
            neg[cid] *= 1.0 - s
    health = health_of(findings, judged)
    if health == "unknown":
        return health, []
    scored = []
    for cid in set(pos) | set(neg):
        score = (1.0 - pos[cid]) * neg[cid] if cid in pos else 0.0
        if score <= 0.0:
            continue
        scored.append((round(score, 4), cid))
    scored.sort(key=lambda t: (-t[0], t[1]))
    causes = [_cause(cid, reliability(score, cal), because[cid], ruleset) for score, cid in scored]
    if health == "healthy":
        causes = [_cause("healthy", float(cal.get("healthy", 1.0)), [], ruleset)] + causes
    return health, causes


def onset_factors(findings: list[Finding], late_discount: float) -> dict[int, float]:
    """Per finding (by index), the share of its strength it keeps for starting late."""
    timed = [(i, f) for i, f in enumerate(findings) if f.start_step is not None and f.severity != "info"]
    if late_discount <= 0 or len(timed) < 2:
        return {}
    first = min(float(f.start_step) for _, f in timed)  # type: ignore[arg-type]
    last = max(float(f.end_step if f.end_step is not None else f.start_step) for _, f in timed)  # type: ignore[arg-type]
    if last <= first:
        return {}
    return {i: 1.0 - late_discount * (float(f.start_step) - first) / (last - first) for i, f in timed}  # type: ignore[arg-type]


def reliability(score: float, cal: Mapping[str, Any]) -> float:
    """A raw score mapped through the fitted reliability map (identity without one)."""
    m = cal.get("map") or {}
    raw, p = m.get("raw"), m.get("p")
    if not raw or not p:
        return score
    import numpy as np  # only with a map: a stored report is written without numpy

    return round(float(np.interp(score, raw, p)), 4)


def _cause(cid: str, score: float, because: list[str], ruleset) -> CauseScore:
    meta = ruleset.causes.get(cid, {}) if ruleset is not None else {}
    return CauseScore(
        id=cid, score=score, because=tuple(because), remedies=tuple(meta.get("remedies", []) or []),
        title=meta.get("title", cid), references=tuple(meta.get("references", []) or []),
    )
