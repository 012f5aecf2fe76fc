"""Validation of rule files: every problem at once, each with file:line, the bad key or
value, and the valid choices or the closest match."""

from __future__ import annotations

import difflib
from typing import Any

from ..detectors import REGISTRY
from .yamlnodes import LDict

RULE_KEYS = {"id", "title", "symptom", "severity", "metrics", "detect", "message", "causes", "references",
             "docs", "when", "enabled"}
CLAUSE_KEYS = {"name", "detector", "series", "params", "require"}
CAUSE_KEYS = {"id", "weight", "when"}
COND_OPS = {"lt", "le", "gt", "ge", "eq", "ne", "in"}
COND_KEYS = COND_OPS | {"measure", "hparam", "missing"}
SEVERITIES = ("critical", "warning", "info")
METRIC_KEYS = {"role", "pattern", "all", "optional"}


def _near(word: str, choices) -> str:
    m = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f" (did you mean {m[0]!r}?)" if m else ""


def _line(obj: Any, key: str | None = None) -> int:
    if isinstance(obj, LDict):
        return obj.line_of(key) if key else obj.line
    return getattr(obj, "line", 0)


class Checker:
    def __init__(self, path: str, symptoms: set[str], causes: set[str]) -> None:
        self.path = path
        self.symptoms = symptoms
        self.causes = causes
        self.problems: list[str] = []

    def err(self, line: int, msg: str) -> None:
        self.problems.append(f"{self.path}:{line}: {msg}")

    def keys(self, obj: LDict, allowed: set[str], what: str) -> None:
        for k in obj:
            if k not in allowed:
                self.err(obj.line_of(k), f"unknown key {k!r} in {what}{_near(k, allowed)}; valid: {', '.join(sorted(allowed))}")

    def condition(self, cond: Any, line: int, locals_: set[str], what: str) -> None:
        conds = cond if isinstance(cond, list) else [cond]
        for c in conds:
            if not isinstance(c, LDict):
                self.err(_line(c) or line, f"{what}: a condition is a mapping like {{measure: clause.ratio, gt: 3}}")
                continue
            self.keys(c, COND_KEYS, what)
            if ("measure" in c) == ("hparam" in c):
                self.err(c.line, f"{what}: give exactly one of 'measure' or 'hparam'")
            if not any(op in c for op in COND_OPS):
                self.err(c.line, f"{what}: no comparison; use one of {', '.join(sorted(COND_OPS))}")
            m = c.get("measure")
            if isinstance(m, str) and "." in m and m.split(".", 1)[0] not in locals_:
                self.err(c.line_of("measure"), f"{what}: measure {m!r} names no clause{_near(m.split('.', 1)[0], locals_)}; clauses: {', '.join(sorted(locals_)) or 'none'}")

    def rule(self, r: Any, idx: int, seen: dict[str, int]) -> None:
        if not isinstance(r, LDict):
            self.err(_line(r), f"rule #{idx + 1} is not a mapping")
            return
        self.keys(r, RULE_KEYS, f"rule {r.get('id', '#' + str(idx + 1))}")
        rid = r.get("id")
        if not isinstance(rid, str) or not rid:
            self.err(r.line, "rule without an 'id'")
        elif rid in seen:
            self.err(r.line_of("id"), f"duplicate rule id {rid!r} (first at line {seen[rid]})")
        else:
            seen[rid] = r.line_of("id")
        what = f"rule {rid}"
        for req in ("symptom", "severity", "metrics", "detect"):
            if req not in r and r.get("enabled", True) is not False:
                self.err(r.line, f"{what}: missing {req!r}")
        if "symptom" in r and r["symptom"] not in self.symptoms:
            self.err(r.line_of("symptom"), f"{what}: unknown symptom {r['symptom']!r}{_near(r['symptom'], self.symptoms)}")
        if "severity" in r and r["severity"] not in SEVERITIES:
            self.err(r.line_of("severity"), f"{what}: severity {r['severity']!r} is not one of {', '.join(SEVERITIES)}")
        metrics = r.get("metrics", LDict())
        if not isinstance(metrics, LDict):
            self.err(r.line_of("metrics"), f"{what}: 'metrics' maps local names to roles, e.g. {{loss: train_loss}}")
            metrics = LDict()
        for k, v in metrics.items():
            if isinstance(v, LDict):
                self.keys(v, METRIC_KEYS, f"{what} metric {k!r}")
                if ("role" in v) == ("pattern" in v):
                    self.err(v.line, f"{what}: metric {k!r} needs exactly one of 'role' or 'pattern'")
            elif not isinstance(v, str):
                self.err(metrics.line_of(k), f"{what}: metric {k!r} must be a role name or a mapping")
        detect = r.get("detect")
        clause_names: set[str] = set()
        if "detect" in r:
            if not isinstance(detect, LDict) or not any(g in detect for g in ("all", "any", "none")):
                self.err(r.line_of("detect"), f"{what}: 'detect' needs at least one of all / any / none")
            else:
                self.keys(detect, {"all", "any", "none"}, f"{what} detect")
                for g in ("all", "any", "none"):
                    for j, cl in enumerate(detect.get(g, []) or []):
                        self.clause(cl, f"{what} detect.{g}[{j}]", set(metrics), clause_names)
        if "when" in r:
            self.condition(r["when"], r.line_of("when"), clause_names, f"{what} when")
        for c in r.get("causes", []) or []:
            if not isinstance(c, LDict):
                self.err(_line(c) or r.line_of("causes"), f"{what}: a cause is a mapping {{id: ..., weight: ...}}")
                continue
            self.keys(c, CAUSE_KEYS, f"{what} cause")
            if c.get("id") not in self.causes:
                self.err(c.line_of("id"), f"{what}: unknown cause {c.get('id')!r}{_near(c.get('id'), self.causes)}")
            w = c.get("weight", 0.5)
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not -1 <= w <= 1:
                self.err(c.line_of("weight"), f"{what}: weight {w!r} must be a number in [-1, 1]")
            if "when" in c:
                self.condition(c["when"], c.line_of("when"), clause_names, f"{what} cause {c.get('id')}")

    def clause(self, cl: Any, what: str, locals_: set[str], names: set[str]) -> None:
        if not isinstance(cl, LDict):
            self.err(_line(cl), f"{what}: a clause is a mapping {{detector: ..., series: ...}}")
            return
        self.keys(cl, CLAUSE_KEYS, what)
        det = cl.get("detector")
        if det not in REGISTRY:
            self.err(cl.line_of("detector"), f"{what}: unknown detector {det!r}{_near(det, REGISTRY)}; valid: {', '.join(sorted(REGISTRY))}")
            return
        spec = REGISTRY[det]
        name = cl.get("name", det)
        if name in names:
            self.err(cl.line, f"{what}: two clauses named {name!r}; give one a 'name'")
        names.add(name)
        series = cl.get("series")
        given = [series] if isinstance(series, str) else list(series.values()) if isinstance(series, LDict) else list(series or [])
        for s in given:
            if s not in locals_:
                self.err(cl.line_of("series"), f"{what}: series {s!r} is not declared in 'metrics'{_near(s, locals_)}")
        required = [i for i in spec.inputs if not i.endswith("?")]
        if len(given) < len(required):
            self.err(cl.line, f"{what}: detector {det!r} reads {', '.join(spec.inputs)}; {len(given)} series given")
        params = cl.get("params", LDict()) or LDict()
        if isinstance(params, LDict):
            for p in params:
                if p not in spec.params:
                    self.err(params.line_of(p), f"{what}: detector {det!r} has no parameter {p!r}{_near(p, spec.params)}; "
                             f"valid: {', '.join(sorted(spec.params)) or 'none'}")
        if "require" in cl:
            self.condition(cl["require"], cl.line_of("require"), names, what)
