"""Helpers shared by the reports: ordering, number and step formatting."""

from __future__ import annotations

from ..model import HEALTH_RANK, Diagnosis


def worst_first(diags: list[Diagnosis]) -> list[Diagnosis]:
    """Errors first, then critical, warning, unknown, healthy; within a level by top score, then name."""
    def key(d: Diagnosis):
        if d.status == "error":
            return (-1, 0.0, d.run)
        top = d.causes[0].score if d.causes and d.health != "healthy" else 0.0
        return (-HEALTH_RANK[d.health], -top, d.run)

    return sorted(diags, key=key)


def step(x: float | None) -> str:
    if x is None:
        return "-"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def top_cause(d: Diagnosis) -> str:
    if d.status == "error":
        return "-"
    return d.causes[0].id if d.causes else ("-" if d.health == "unknown" else "healthy")


def unknown_reason(d: Diagnosis) -> str:
    """Why a run could not be judged (health `unknown`)."""
    return next((f.evidence for f in d.symptoms if f.symptom == "unknown"), "nothing could be judged")
