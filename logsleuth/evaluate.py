"""`logsleuth eval`: score diagnoses against label.yaml files (format in CONTRACT.md).

A labelled directory may hold several runs; its diagnosis is the worst of them (highest
health level, then highest top score), so a healthy directory is a false alarm when any of
its runs is flagged.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import UsageError
from .ingest import discover
from .model import Diagnosis, Health
from .pipeline import Options, analyze_source


@dataclass
class Case:
    name: str
    cause: str
    acceptable: tuple[str, ...]
    symptoms: tuple[str, ...]
    predicted: tuple[str, ...] = ()
    found_symptoms: tuple[str, ...] = ()
    health: str = "healthy"
    error: str | None = None
    runs: int = 0


@dataclass
class Scores:
    cases: list[Case] = field(default_factory=list)

    def _faulty(self) -> list[Case]:
        return [c for c in self.cases if c.cause != "healthy"]

    def _healthy(self) -> list[Case]:
        return [c for c in self.cases if c.cause == "healthy"]

    def top_k(self, k: int) -> float:
        f = self._faulty()
        return sum(1 for c in f if set(c.predicted[:k]) & set(c.acceptable)) / len(f) if f else float("nan")

    def detection(self) -> float:
        f = self._faulty()
        return sum(1 for c in f if c.predicted[:1] != ("healthy",)) / len(f) if f else float("nan")

    def false_alarms(self) -> float:
        h = self._healthy()
        return sum(1 for c in h if c.predicted[:1] != ("healthy",)) / len(h) if h else float("nan")

    def symptom_recall(self) -> float:
        want = sum(len(c.symptoms) for c in self.cases)
        got = sum(len(set(c.symptoms) & set(c.found_symptoms)) for c in self.cases)
        return got / want if want else float("nan")

    def per_cause(self) -> list[tuple[str, int, int, int]]:
        rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for c in self.cases:
            r = rows[c.cause]
            r[0] += 1
            if c.cause == "healthy":
                r[1] += c.predicted[:1] == ("healthy",)
                r[2] += c.predicted[:1] == ("healthy",)
            else:
                r[1] += bool(set(c.predicted[:1]) & set(c.acceptable))
                r[2] += bool(set(c.predicted[:3]) & set(c.acceptable))
        return [(k, v[0], v[1], v[2]) for k, v in sorted(rows.items())]

    def confusions(self) -> list[tuple[str, str, int]]:
        cnt: Counter = Counter()
        for c in self.cases:
            top = c.predicted[0] if c.predicted else "none"
            ok = top == "healthy" if c.cause == "healthy" else top in c.acceptable
            if not ok:
                cnt[(c.cause, top)] += 1
        return [(a, b, n) for (a, b), n in sorted(cnt.items(), key=lambda t: (-t[1], t[0]))]

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": len(self.cases), "faulty": len(self._faulty()), "healthy": len(self._healthy()),
            "top1": self.top_k(1), "top3": self.top_k(3), "detection_rate": self.detection(),
            "false_alarm_rate": self.false_alarms(), "symptom_recall": self.symptom_recall(),
            "per_cause": [{"cause": c, "runs": n, "top1": t1, "top3": t3} for c, n, t1, t3 in self.per_cause()],
            "confusions": [{"label": a, "predicted": b, "count": n} for a, b, n in self.confusions()],
            "cases": [{"run": c.name, "cause": c.cause, "predicted": list(c.predicted[:3]), "health": c.health,
                       "error": c.error} for c in self.cases],
        }


def _worst(diags: list[Diagnosis]) -> Diagnosis | None:
    ok = [d for d in diags if d.status == "ok"]
    if not ok:
        return None
    return max(ok, key=lambda d: (Health(d.health).rank, d.causes[0].score if d.causes and d.health != "healthy" else 0.0, d.run))


def label_dirs(corpus: str) -> list[str]:
    out = []
    for root, dirs, files in os.walk(corpus, followlinks=False):
        dirs.sort()
        if "label.yaml" in files:
            out.append(root)
            dirs[:] = []
    return sorted(out)


def evaluate_corpus(corpus: str, options: Options | None = None) -> Scores:
    """Diagnose every labelled run directory under `corpus` and score the result."""
    if not os.path.isdir(corpus):
        raise UsageError(f"{corpus}: not a directory")
    dirs = label_dirs(corpus)
    if not dirs:
        raise UsageError(f"{corpus}: no label.yaml found (see CONTRACT.md for the format)")
    scores = Scores()
    for d in dirs:
        with open(os.path.join(d, "label.yaml"), encoding="utf-8") as fh:
            lab = yaml.safe_load(fh) or {}
        cause = str(lab.get("cause", "healthy"))
        case = Case(name=os.path.relpath(d, corpus), cause=cause,
                    acceptable=tuple([cause] + list(lab.get("also_acceptable") or [])),
                    symptoms=tuple(lab.get("symptoms") or []))
        srcs = discover([d]).runs
        diags = [analyze_source(s, options, curves=False).diagnosis for s in srcs]
        case.runs = len(diags)
        worst = _worst(diags)
        if worst is None:
            case.error = "; ".join(x.error or "" for x in diags) or "no run found"
        else:
            case.predicted = tuple(c.id for c in worst.causes)
            case.found_symptoms = tuple(sorted({f.symptom for dg in diags for f in dg.symptoms}))
            case.health = worst.health
        scores.cases.append(case)
    return scores


def format_scores(s: Scores) -> str:
    lines = [
        f"runs: {len(s.cases)} ({len(s._faulty())} faulty, {len(s._healthy())} healthy)",
        f"top-1 accuracy (faulty):   {s.top_k(1):.3f}",
        f"top-3 accuracy (faulty):   {s.top_k(3):.3f}",
        f"detection rate (faulty):   {s.detection():.3f}",
        f"false alarms (healthy):    {s.false_alarms():.3f}",
        f"symptom recall:            {s.symptom_recall():.3f}",
        "",
        f"{'cause':26s} {'runs':>4s} {'top1':>5s} {'top3':>5s}",
    ]
    for c, n, t1, t3 in s.per_cause():
        lines.append(f"{c:26s} {n:4d} {t1:5d} {t3:5d}")
    conf = s.confusions()
    if conf:
        lines += ["", "confusions (label -> first cause):"]
        lines += [f"  {a} -> {b}: {n}" for a, b, n in conf]
    return "\n".join(lines)


# ---------------------------------------------------------------- stated outcomes of real runs

@dataclass
class OutcomeCase:
    run: str
    want: dict[str, Any]
    ok: bool
    got: str
    expect_healthy: bool


def _expectations(path: str) -> dict[str, dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from exc
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a mapping of run ids to expectations (OUTCOMES.yaml)")
    out = {}
    for rid, v in raw.items():
        want = v.get("expect") if isinstance(v, dict) and "expect" in v else v
        if isinstance(v, dict) and "outcome" in v and "expect" not in v:
            want = None
        if isinstance(want, dict) and want:
            out[str(rid)] = want
    if not out:
        raise UsageError(f"{path}: no run with an expectation (expect_healthy, not_critical, top3_any, symptom_any); "
                         "is this an OUTCOMES.yaml?")
    return out


def evaluate_outcomes(path: str, options: Options | None = None) -> list[OutcomeCase]:
    """Score the runs beside an OUTCOMES.yaml file (run id -> expect_healthy | not_critical |
    top3_any | symptom_any) the way ../shared/tools/score_outcomes.py does."""
    from .pipeline import analyze_paths

    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such outcomes file")
    wants = _expectations(path)
    root = os.path.dirname(os.path.abspath(path))
    analysis = analyze_paths([root], options, jobs=1, curves=False)
    cases = []
    for rid, want in sorted(wants.items()):
        mine = [d for d in analysis.diagnoses if ("/" + d.run.strip("/") + "/").find("/" + rid + "/") >= 0]
        ok_runs = [d for d in mine if d.status == "ok"]
        verdict, got = False, "not found" if not mine else "error"
        if ok_runs:
            top3 = [c.id for d in ok_runs for c in d.causes[:3]]
            syms = {f.symptom for d in ok_runs for f in d.symptoms}
            health = {d.health for d in ok_runs}
            if "top3_any" in want:
                verdict, got = bool(set(want["top3_any"]) & set(top3)), f"top3={top3}"
            elif "symptom_any" in want:
                verdict, got = bool(set(want["symptom_any"]) & syms), f"symptoms={sorted(syms)}"
            elif want.get("expect_healthy"):
                verdict, got = health <= {"healthy"}, f"health={sorted(health)} top3={top3}"
            elif want.get("not_critical"):
                verdict, got = "critical" not in health, f"health={sorted(health)} top3={top3}"
        cases.append(OutcomeCase(rid, dict(want), bool(verdict), got, bool(want.get("expect_healthy"))))
    return cases


def format_outcomes(cases: list[OutcomeCase], verbose: bool = False) -> str:
    fine = [c for c in cases if c.expect_healthy]
    flagged = [c for c in fine if not c.ok]
    good = sum(c.ok for c in cases)
    lines = [f"{'ok  ' if c.ok else 'MISS'} {c.run:28s} want={c.want} got {c.got}" for c in cases if verbose or not c.ok]
    lines += [f"agreement: {good}/{len(cases)} ({good / len(cases):.2f})" if cases else "agreement: no expectations",
              f"expected healthy but flagged: {len(flagged)}/{len(fine)}"]
    return "\n".join(lines)


def format_reference(fa, rules: list[str]) -> str:
    """Warnings raised on the healthy reference set, per rule (logsleuth.reference.measure)."""
    lines = [f"healthy reference runs: {fa.runs}; with a warning or worse: {len(fa.flagged)} ({fa.flagged_rate:.1%})", ""]
    for r in rules:
        if fa.per_rule.get(r) or fa.per_rule_any.get(r):
            lines.append(f"  {r:40s} warning+ {fa.per_rule.get(r, 0):3d} ({fa.rate(r):.1%})   fired at all {fa.per_rule_any.get(r, 0):3d}")
    lines += [""] + [f"  flagged: {x}" for x in fa.flagged]
    return "\n".join(lines).rstrip()
