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

    @property
    def flagged(self) -> bool:
        """A first cause other than `healthy`: a warning or worse.  A run nothing could be judged
        on (health unknown, no cause) or that could not be read is not flagged - "cannot judge"
        is no alarm, and no detection either."""
        return bool(self.predicted) and self.predicted[0] != "healthy"


@dataclass
class Scores:
    cases: list[Case] = field(default_factory=list)

    def _faulty(self) -> list[Case]:
        return [c for c in self.cases if c.cause != "healthy"]

    def _healthy(self) -> list[Case]:
        return [c for c in self.cases if c.cause == "healthy"]

    def shown(self) -> Scores:
        """The faulty runs whose label names a symptom (with every healthy run): a fault whose
        curves show none of the taxonomy's symptoms is beyond any reader of the logs."""
        return Scores([c for c in self.cases if c.cause == "healthy" or c.symptoms])

    def top_k(self, k: int) -> float:
        f = self._faulty()
        return sum(1 for c in f if set(c.predicted[:k]) & set(c.acceptable)) / len(f) if f else float("nan")

    def detection(self) -> float:
        f = self._faulty()
        return sum(1 for c in f if c.flagged) / len(f) if f else float("nan")

    def false_alarms(self) -> float:
        h = self._healthy()
        return sum(1 for c in h if c.flagged) / len(h) if h else float("nan")

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
                r[1] += not c.flagged
                r[2] += not c.flagged
            else:
                r[1] += bool(set(c.predicted[:1]) & set(c.acceptable))
                r[2] += bool(set(c.predicted[:3]) & set(c.acceptable))
        return [(k, v[0], v[1], v[2]) for k, v in sorted(rows.items())]

    def confusions(self) -> list[tuple[str, str, int]]:
        cnt: Counter = Counter()
        for c in self.cases:
            top = c.predicted[0] if c.predicted else "none"
            ok = not c.flagged if c.cause == "healthy" else top in c.acceptable
            if not ok:
                cnt[(c.cause, top)] += 1
        return [(a, b, n) for (a, b), n in sorted(cnt.items(), key=lambda t: (-t[1], t[0]))]

    def _shown_dict(self) -> dict[str, Any]:
        v = self.shown()
        return {"faulty": len(v._faulty()), "top1": v.top_k(1), "top3": v.top_k(3), "detection_rate": v.detection()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": len(self.cases), "faulty": len(self._faulty()), "healthy": len(self._healthy()),
            "top1": self.top_k(1), "top3": self.top_k(3), "detection_rate": self.detection(),
            "false_alarm_rate": self.false_alarms(), "symptom_recall": self.symptom_recall(),
            "with_symptoms": self._shown_dict(),
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


def _shown_lines(s: Scores) -> list[str]:
    """The same figures over the faulty runs whose label names a symptom, when some name none."""
    v = s.shown()
    n, hidden = len(v._faulty()), len(s._faulty()) - len(v._faulty())
    if not hidden or not n:
        return []
    return [f"faulty runs whose label names a symptom: {n} ({hidden} name none): top-1 {v.top_k(1):.3f}, "
            f"top-3 {v.top_k(3):.3f}, detection {v.detection():.3f}"]


def _unjudged_lines(s: Scores) -> list[str]:
    """How many runs got no verdict (nothing could be judged, or unreadable): neither alarms nor detections."""
    f = sum(1 for c in s._faulty() if not c.predicted)
    h = sum(1 for c in s._healthy() if not c.predicted)
    if not f and not h:
        return []
    return [f"not judged (cannot judge or unreadable): {f} faulty, {h} healthy"]


def format_scores(s: Scores) -> str:
    lines = [
        f"runs: {len(s.cases)} ({len(s._faulty())} faulty, {len(s._healthy())} healthy)",
        f"top-1 accuracy (faulty):   {s.top_k(1):.3f}",
        f"top-3 accuracy (faulty):   {s.top_k(3):.3f}",
        f"detection rate (faulty):   {s.detection():.3f}",
        f"false alarms (healthy):    {s.false_alarms():.3f}",
        f"symptom recall:            {s.symptom_recall():.3f}",
        *_shown_lines(s),
        *_unjudged_lines(s),
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
    from .scan import analyze_paths

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
    """Warnings raised on the healthy reference set, per rule (logsleuth.healthy_runs.measure)."""
    lines = [f"healthy reference runs: {fa.runs}; with a warning or worse: {len(fa.flagged)} ({fa.flagged_rate:.1%})", ""]
    for r in rules:
        if fa.per_rule.get(r) or fa.per_rule_any.get(r):
            lines.append(f"  {r:40s} warning+ {fa.per_rule.get(r, 0):3d} ({fa.rate(r):.1%})   fired at all {fa.per_rule_any.get(r, 0):3d}")
    lines += [""] + [f"  flagged: {x}" for x in fa.flagged]
    return "\n".join(lines).rstrip()


# ---------------------------------------------------------------- the real-runs reference set

REPORT_HALF = "report"
TUNE_HALF = "tune"


def half_of(repo: str) -> str:
    """The half a repository's runs belong to, fixed by its name: the first hex digit of the
    sha256 of the lower-case `owner/name`, even -> tune, odd -> report.  A whole repository is on
    one side, so that runs of one author never sit on both."""
    import hashlib

    return TUNE_HALF if int(hashlib.sha256(repo.lower().encode()).hexdigest()[0], 16) % 2 == 0 else REPORT_HALF


@dataclass
class RealRun:
    run: str
    repo: str
    half: str
    outcome: str
    want: dict[str, Any]
    kind: str = ""
    health: str = ""
    top3: tuple[str, ...] = ()
    flagging_rules: tuple[str, ...] = ()  # rules with a warning or critical finding
    symptoms: tuple[str, ...] = ()
    error: str = ""

    @property
    def verdict(self) -> bool | None:
        """Whether the diagnosis meets the expectation (None: no expectation)."""
        w = self.want
        if not w or self.error:
            return None if not w else False
        if "top3_any" in w:
            return bool(set(w["top3_any"]) & set(self.top3))
        if "symptom_any" in w:
            return bool(set(w["symptom_any"]) & set(self.symptoms))
        if w.get("expect_healthy"):
            return self.health == "healthy"
        if w.get("not_critical"):
            return self.health != "critical"
        return None


def real_manifests(root: str) -> list[str]:
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        if "manifest.yaml" in files:
            out.append(os.path.join(d, "manifest.yaml"))
    return sorted(out)


def _manifest(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{where}: cannot be read as a manifest of real runs ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of run ids to records")
    return data


def evaluate_real_reference(root: str, options: Options | None = None, jobs: int | None = None) -> list[RealRun]:
    """Diagnose every run of the real-runs reference set (manifest.yaml files under `root`:
    run id -> repo, path, commit, outcome, expect) and say how each fares."""
    from .scan import analyze_paths

    manifests = real_manifests(root)
    if not manifests:
        raise UsageError(f"{root}: no manifest.yaml of real runs found")
    recs: dict[str, tuple[str, dict[str, Any]]] = {}
    for m in manifests:
        data = _manifest(m)
        for rid, rec in data.items():
            d = os.path.join(os.path.dirname(m), str(rid))
            if isinstance(rec, dict) and os.path.isdir(d):
                recs[os.path.abspath(d)] = (os.path.relpath(d, root), rec)
    analysis = analyze_paths(sorted(recs), options, jobs=jobs, curves=False)
    by_base = {os.path.basename(d): d for d in recs}  # run ids are unique across manifests
    by_dir: dict[str, list[Any]] = {}
    for dg in analysis.diagnoses:
        parts = dg.run.replace("\\", "/").split("/")
        hit = next((by_base[p] for p in reversed(parts) if p in by_base), None)
        if hit is None:  # a segment: `<run> (segment k of n)`
            hit = next((by_base[p.split(" (segment ")[0]] for p in reversed(parts) if p.split(" (segment ")[0] in by_base), None)
        if hit is not None:
            by_dir.setdefault(hit, []).append(dg)
    out = []
    for d, (name, rec) in sorted(recs.items(), key=lambda t: t[1][0]):
        repo = str(rec.get("repo", ""))
        r = RealRun(run=name, repo=repo, half=half_of(repo), outcome=str(rec.get("outcome", "unknown")),
                    want=dict(rec.get("expect") or {}), kind=str(rec.get("kind", "")))
        ok = [dg for dg in by_dir.get(d, []) if dg.status == "ok"]
        if not ok:
            r.error = "; ".join(dg.error or "" for dg in by_dir.get(d, [])) or "no run found"
        else:
            order = {"critical": 2, "warning": 1, "healthy": 0, "unknown": -1}
            r.health = max((dg.health for dg in ok), key=lambda h: order.get(h, -1))
            r.top3 = tuple(c.id for dg in ok for c in dg.causes[:3])
            r.flagging_rules = tuple(sorted({f.rule for dg in ok for f in dg.symptoms if f.severity != "info"}))
            r.symptoms = tuple(sorted({f.symptom for dg in ok for f in dg.symptoms}))
        out.append(r)
    return out


def real_reference_figures(runs: list[RealRun]) -> dict[str, Any]:
    """Per half: fine runs flagged (warning+), critical on fine runs, per-rule fire rate on fine
    runs, problem runs whose labelled cause is in the top 3, and agreement with expectations."""
    out: dict[str, Any] = {}
    for half in (TUNE_HALF, REPORT_HALF):
        rs = [r for r in runs if r.half == half]
        fine = [r for r in rs if r.outcome == "fine" and not r.error]
        per_rule: dict[str, int] = {}
        for r in fine:
            for rule in r.flagging_rules:
                per_rule[rule] = per_rule.get(rule, 0) + 1
        problems = [r for r in rs if "top3_any" in r.want]
        judged = [r for r in rs if r.verdict is not None]
        out[half] = {
            "runs": len(rs), "repos": len({r.repo for r in rs}), "fine": len(fine),
            "fine_flagged": sum(r.health in ("warning", "critical") for r in fine),
            "fine_critical": sum(r.health == "critical" for r in fine),
            "per_rule_on_fine": dict(sorted(per_rule.items(), key=lambda t: (-t[1], t[0]))),
            "problems_with_cause": len(problems), "problems_cause_in_top3": sum(bool(r.verdict) for r in problems),
            "agreement": sum(bool(r.verdict) for r in judged), "with_expectation": len(judged),
            "errors": sum(bool(r.error) for r in rs),
        }
    return out


def format_real_reference(runs: list[RealRun], verbose: bool = False) -> str:
    figs = real_reference_figures(runs)
    lines = [f"real runs: {len(runs)} from {len({r.repo for r in runs})} repositories (split by repository)"]
    for half, f in figs.items():
        fine = f["fine"] or 1
        lines += ["", f"{half} half: {f['runs']} runs, {f['repos']} repositories, {f['fine']} presented as fine",
                  f"  fine runs flagged (warning+): {f['fine_flagged']}/{f['fine']} ({f['fine_flagged'] / fine:.1%}); "
                  f"critical: {f['fine_critical']}",
                  f"  problem runs with the labelled cause in the top 3: {f['problems_cause_in_top3']}/{f['problems_with_cause']}",
                  f"  expectations met: {f['agreement']}/{f['with_expectation']}; unreadable: {f['errors']}",
                  "  per rule, fine runs it flags:"]
        lines += [f"    {rule:40s} {n:3d} ({n / fine:.1%})" for rule, n in f["per_rule_on_fine"].items()] or ["    (none)"]
    if verbose:
        lines += [""] + [f"{'ok  ' if r.verdict else 'MISS' if r.verdict is False else '    '} [{r.half}] {r.run:45s} "
                         f"{r.outcome:8s} {r.health or r.error[:40]} {list(r.top3)}" for r in runs]
    return "\n".join(lines)
