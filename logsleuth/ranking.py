"""From findings to ranked causes.

Method (order-independent): every finding f supports causes with weights w in [-1, 1] (after
its `when` conditions).  Its strength is s = |w| x confidence(f).  A cause's score is the
noisy-OR of its supporting strengths, multiplied by the complement of the noisy-OR of the
strengths against it:

    score(c) = (1 - prod_{w>0} (1 - s)) x prod_{w<0} (1 - s)

Health is the highest severity among the findings (info findings do not count).  A run with
no warning or critical finding is healthy and lists `healthy` first.  Ties are broken by the
cause id, so the ranking is deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from .model import CauseScore, Finding

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


def health_of(findings: Iterable[Finding]) -> str:
    worst = max((SEVERITY_ORDER[f.severity] for f in findings), default=0)
    return {0: "healthy", 1: "warning", 2: "critical"}[worst]


def rank(findings: list[Finding], ruleset) -> tuple[str, list[CauseScore]]:
    """Health level and causes sorted best first (`healthy` first for a healthy run)."""
    pos: dict[str, float] = defaultdict(lambda: 1.0)
    neg: dict[str, float] = defaultdict(lambda: 1.0)
    because: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        for cid, w in f.causes:
            s = min(1.0, abs(w) * f.confidence)
            if w >= 0:
                pos[cid] *= 1.0 - s
                if f.symptom not in because[cid]:
                    because[cid].append(f.symptom)
            else:
                neg[cid] *= 1.0 - s
    health = health_of(findings)
    scored = []
    for cid in set(pos) | set(neg):
        score = (1.0 - pos[cid]) * neg[cid] if cid in pos else 0.0
        if score <= 0.0:
            continue
        scored.append((round(score, 4), cid))
    scored.sort(key=lambda t: (-t[0], t[1]))
    causes = [_cause(cid, score, because[cid], ruleset) for score, cid in scored]
    if health == "healthy":
        causes = [_cause("healthy", 1.0, [], ruleset)] + causes
    return health, causes


def _cause(cid: str, score: float, because: list[str], ruleset) -> CauseScore:
    meta = ruleset.causes.get(cid, {}) if ruleset is not None else {}
    return CauseScore(
        id=cid, score=score, because=tuple(because), remedies=tuple(meta.get("remedies", []) or []),
        title=meta.get("title", cid), references=tuple(meta.get("references", []) or []),
    )
