"""Helpers shared by the reports: ordering, number and step formatting."""

from __future__ import annotations

from ..model import Diagnosis


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
