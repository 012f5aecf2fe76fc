"""Helpers shared by the reports: ordering, number and step formatting."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Analysis, CauseScore, Diagnosis, Finding


def overview_of(result: Analysis):
    """The overview across the result's runs: computed on first use and kept in the result, so
    every report written from one analysis (-o a.html -o a.md -o a.json) shares it."""
    if result.overview is None:
        from ..sweep import overview

        result.overview = overview(result.diagnoses)
    return result.overview





def top_cause(d: Diagnosis) -> str:
    if d.status == "error":
        return "-"
    return d.causes[0].id if d.causes else ("-" if d.health == "unknown" else "healthy")


def unknown_reason(d: Diagnosis) -> str:
    """Why a run could not be judged (health `unknown`)."""
    return next((f.evidence for f in d.symptoms if f.symptom == "unknown"), "nothing could be judged")


# causes listed per run in Markdown and HTML (the terminal shows fewer, see terminal.py)
CAUSES_LISTED = 5


def skipped_by_reason(d: Diagnosis) -> list[tuple[str, list[str]]]:
    """Rules that could not run, grouped by why (30 rules skipped because no gradient norm is
    logged are one fact, not 30)."""
    by_reason: dict[str, list[str]] = {}
    for s in d.skipped:
        by_reason.setdefault(s.reason, []).append(s.rule)
    return sorted(by_reason.items())


@dataclass(frozen=True)
class Shown:
    """One symptom as every report lists it: numbered once per run, with the rules that saw it,
    its evidence with clauses already quoted by an earlier symptom replaced by "see N", and
    the causes it supports."""

    number: int
    finding: Finding
    rules: tuple[str, ...]
    evidence: str


def shown_symptoms(d: Diagnosis) -> list[Shown]:
    """The run's findings with each (symptom, evidence) once: two rules that saw the same thing on
    the same curve are one symptom; a clause ('; '-separated) that an earlier symptom already
    states reads "see N" instead of being printed again."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in d.symptoms:
        groups.setdefault((f.symptom, f.evidence), []).append(f)
    seen: dict[str, int] = {}
    out = []
    for n, fs in enumerate(groups.values(), 1):
        parts = []
        for clause in fs[0].evidence.split("; "):
            if clause in seen:
                ref = f"see {seen[clause]}"
                if ref not in parts:
                    parts.append(ref)
            else:
                seen[clause] = n
                parts.append(clause)
        out.append(Shown(n, fs[0], tuple(f.rule for f in fs), "; ".join(parts)))
    return out


def cause_sources(cause: CauseScore, shown: list[Shown], d: Diagnosis) -> list[int]:
    """Numbers of the listed symptoms that support `cause`."""
    by_rule = {f.rule: f for f in d.symptoms}
    return [s.number for s in shown if s.finding.symptom in cause.because
            and any(cid == cause.id for r in s.rules for cid, _ in by_rule[r].causes)]
