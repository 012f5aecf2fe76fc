"""Validation of rule files: every problem at once, each with file:line, the bad key or
value, and the valid choices or the closest match."""

from __future__ import annotations

import string
from typing import Any

from ..detectors import REGISTRY
from ..detectors.registry import RENAMED
from ..model import SEVERITIES
from .yamlnodes import LDict

RULE_KEYS = {"id", "title", "symptom", "severity", "metrics", "detect", "message", "causes", "references",
             "docs", "when", "enabled"}
CLAUSE_KEYS = {"name", "detector", "series", "params", "require"}
# the groups of a rule's `detect`: all of `all`, one of `any`, none of `none` must hold; `context`
# clauses are evaluated for their measures only (a cause's `when`), never as a condition
DETECT_GROUPS = ("all", "any", "none", "context")
CAUSE_KEYS = {"id", "weight", "when", "otherwise"}
# a cause listed without a weight: as likely as not, given the symptom
DEFAULT_CAUSE_WEIGHT = 0.5
COND_OPS = {"lt", "le", "gt", "ge", "eq", "ne", "in"}
COND_KEYS = COND_OPS | {"measure", "hparam", "missing"}
METRIC_KEYS = {"role", "pattern", "all", "optional"}
# what every clause's evidence has besides its detector's declared measures
EVIDENCE_FIELDS = ("confidence", "fired")


def _near(word: object, choices) -> str:
    import difflib

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

    def condition(self, cond: Any, line: int, clauses: dict[str, str], what: str) -> None:
        """A `when`/`require` condition; `clauses` maps the clause names in scope to their detectors."""
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
            if m is not None:
                self.measure_ref(m, c.line_of("measure"), clauses, what)

    def measure_ref(self, ref: Any, line: int, clauses: dict[str, str], what: str, extra: tuple[str, ...] = ()) -> None:
        """`clause.measure`: the clause exists and its detector declares the measure."""
        if not isinstance(ref, str) or "." not in ref:
            self.err(line, f"{what}: measure {ref!r} must be 'clause.measure'; clauses: {', '.join(sorted(clauses)) or 'none'}")
            return
        name, key = ref.split(".", 1)
        if name not in clauses:
            self.err(line, f"{what}: measure {ref!r} names no clause{_near(name, clauses)}; clauses: "
                     f"{', '.join(sorted(clauses)) or 'none'}")
            return
        spec = REGISTRY[clauses[name]]
        valid = set(spec.measures) | set(EVIDENCE_FIELDS) | set(extra)
        if key not in valid:
            self.err(line, f"{what}: detector {spec.name!r} (clause {name!r}) has no measure {key!r}{_near(key, valid)}; "
                     f"valid: {', '.join(sorted(valid))}")

    def placeholders(self, message: Any, line: int, clauses: dict[str, str], what: str) -> None:
        """Every `{clause.measure}` of a message template names a declared measure."""
        if not isinstance(message, str):
            self.err(line, f"{what}: 'message' must be a string")
            return
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(message) if f is not None]
        except ValueError as exc:
            self.err(line, f"{what}: message is not a valid template: {exc}")
            return
        for f in fields:
            self.measure_ref(f, line, clauses, f"{what} message placeholder", extra=("text", "metric"))

    def param(self, spec: Any, name: str, value: Any, line: int, what: str) -> None:
        """A clause parameter has the type of the detector's default (None defaults take a number)."""
        default = spec.params[name]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), "true or false"
        elif isinstance(default, (int, float)) or default is None:
            ok, want = number or (default is None and value is None), "a number"
            if ok and isinstance(default, int) and not isinstance(default, bool) and number and value != int(value):
                ok, want = False, "a whole number"
        elif isinstance(default, str):
            ok, want = isinstance(value, str), "a string"
        else:
            ok, want = True, ""
        if not ok:
            self.err(line, f"{what}: parameter {name!r} of detector {spec.name!r} must be {want} (got {value!r}; "
                     f"default {default!r})")

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
            self.err(r.line_of("severity"), f"{what}: severity {r['severity']!r} is not one of {', '.join(SEVERITIES[::-1])}")
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
        clause_names: dict[str, str] = {}
        if "detect" in r:
            if not isinstance(detect, LDict) or not any(g in detect for g in ("all", "any", "none")):
                self.err(r.line_of("detect"), f"{what}: 'detect' needs at least one of all / any / none")
            else:
                self.keys(detect, set(DETECT_GROUPS), f"{what} detect")
                for g in DETECT_GROUPS:
                    for j, cl in enumerate(detect.get(g, []) or []):
                        self.clause(cl, f"{what} detect.{g}[{j}]", set(metrics), clause_names)
        if "when" in r:
            self.condition(r["when"], r.line_of("when"), clause_names, f"{what} when")
        if r.get("message") is not None:
            self.placeholders(r["message"], r.line_of("message"), clause_names, what)
        listed: set[Any] = set()
        for c in r.get("causes", []) or []:
            if not isinstance(c, LDict):
                self.err(_line(c) or r.line_of("causes"), f"{what}: a cause is a mapping {{id: ..., weight: ...}}")
                continue
            self.keys(c, CAUSE_KEYS, f"{what} cause")
            if c.get("id") not in self.causes:
                self.err(c.line_of("id"), f"{what}: unknown cause {c.get('id')!r}{_near(c.get('id'), self.causes)}")
            for key in ("weight", "otherwise"):
                w = c.get(key, DEFAULT_CAUSE_WEIGHT)
                if not isinstance(w, (int, float)) or isinstance(w, bool) or not -1 <= w <= 1:
                    self.err(c.line_of(key), f"{what}: {key} {w!r} must be a number in [-1, 1]")
            if "when" in c:
                self.condition(c["when"], c.line_of("when"), clause_names, f"{what} cause {c.get('id')}")
            elif "otherwise" in c:
                self.err(c.line_of("otherwise"), f"{what}: cause {c.get('id')!r} has 'otherwise' but no 'when'")
            if c.get("id") in listed:
                self.err(c.line_of("id"), f"{what}: cause {c.get('id')!r} listed twice; give one entry a 'when' "
                         "and the weight for the other case as 'otherwise'")
            listed.add(c.get("id"))

    def clause(self, cl: Any, what: str, locals_: set[str], names: dict[str, str]) -> None:
        if not isinstance(cl, LDict):
            self.err(_line(cl), f"{what}: a clause is a mapping {{detector: ..., series: ...}}")
            return
        self.keys(cl, CLAUSE_KEYS, what)
        det = cl.get("detector")
        if det in RENAMED:  # an old name: the clause keeps it as its name, so `overfitting.rise` still resolves
            cl.setdefault("name", det)
            cl["detector"] = det = RENAMED[det]
        if det not in REGISTRY:
            self.err(cl.line_of("detector"), f"{what}: unknown detector {det!r}{_near(det, REGISTRY)}; valid: {', '.join(sorted(REGISTRY))}")
            return
        spec = REGISTRY[det]
        name = cl.get("name", det)
        if name in names:
            self.err(cl.line, f"{what}: two clauses named {name!r}; give one a 'name'")
        names[name] = det
        series = cl.get("series")
        if isinstance(series, LDict):
            for key in series:
                if key not in spec.input_names:
                    self.err(series.line_of(key), f"{what}: detector {det!r} has no input {key!r}"
                             f"{_near(key, spec.input_names)}; its inputs: {', '.join(spec.inputs)}")
        given = [series] if isinstance(series, str) else list(series.values()) if isinstance(series, LDict) else list(series or [])
        for s in given:
            if s not in locals_:
                self.err(cl.line_of("series"), f"{what}: series {s!r} is not declared in 'metrics'{_near(s, locals_)}")
        required = [i for i in spec.inputs if not i.endswith("?")]
        if isinstance(series, LDict):
            missing = [i.rstrip("*") for i in required if i.rstrip("*") not in series]
            if missing and all(k in spec.input_names for k in series):
                self.err(cl.line_of("series"), f"{what}: detector {det!r} needs input(s) {', '.join(missing)}")
        elif len(given) < len(required):
            self.err(cl.line, f"{what}: detector {det!r} reads {', '.join(spec.inputs)}; {len(given)} series given")
        params = cl.get("params", LDict()) or LDict()
        if isinstance(params, LDict):
            for p in params:
                if p not in spec.params:
                    self.err(params.line_of(p), f"{what}: detector {det!r} has no parameter {p!r}{_near(p, spec.params)}; "
                             f"valid: {', '.join(sorted(spec.params)) or 'none'}")
                else:
                    self.param(spec, p, params[p], params.line_of(p), what)
        elif params:
            self.err(cl.line_of("params"), f"{what}: 'params' maps parameter names to values")
        if "require" in cl:
            self.condition(cl["require"], cl.line_of("require"), names, what)
