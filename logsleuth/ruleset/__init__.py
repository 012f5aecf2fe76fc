"""The YAML rule set: loading (strict, with line numbers), overriding, and evaluation.

A rule names the metrics it reads (by role or tag pattern), detector clauses combined with
all / any / none, the symptom it establishes, a severity, and the causes it supports with
weights (optionally only `when` a measure or hyperparameter condition holds).
"""

from __future__ import annotations

import fnmatch
import math
import operator
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..detectors import REGISTRY
from ..detectors.base import hparam
from ..errors import RuleError
from ..model import Evidence, Finding, Series, Severity, SkippedRule
from ..params import CALIBRATION_FILE, PARAMETERS_FILE, ParameterFileError, builtin_calibration, fitted_values, read_calibration
from ..resources import builtin_rules_dir
from ..roles import primary
from .schema import DEFAULT_CAUSE_WEIGHT, Checker
from .yamlnodes import SAFE_LOADER as _SAFE
from .yamlnodes import LDict, load_yaml

__all__ = ["Rule", "RuleSet", "builtin_ruleset", "evaluate", "load_rule_file", "load_ruleset", "taxonomy"]

SCHEMA_VERSION = 1
# the data files of a rules directory that hold no rules
NOT_RULE_FILES = ("roles.yaml", "causes.yaml", "taxonomy.yaml", PARAMETERS_FILE, CALIBRATION_FILE)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    symptom: str
    severity: str
    metrics: Mapping[str, Any]
    detect: Mapping[str, Any]
    causes: tuple[Mapping[str, Any], ...]
    message: str | None = None
    when: Any = None
    references: tuple[Mapping[str, str], ...] = ()
    docs: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    causes: Mapping[str, Mapping[str, Any]]
    symptoms: Mapping[str, str]
    version: str = ""
    # fitted detector parameter values by detector (rules/calibration.yaml); a clause's params win
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # the map from a cause's raw score to how often it is right (rules/calibration.yaml `scores`)
    scores: Mapping[str, Any] = field(default_factory=dict)


# the comparison operators of `require`/`when` conditions
_COMPARE = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge, "eq": operator.eq,
            "ne": operator.ne, "in": lambda a, b: a in b}


@lru_cache(maxsize=1)
def taxonomy() -> tuple[dict[str, str], dict[str, str]]:
    """Symptom and cause ids with their one-line descriptions (rules/taxonomy.yaml)."""
    with open(builtin_rules_dir() / "taxonomy.yaml", encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_SAFE)
    return dict(data["symptoms"]), dict(data["causes"])


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x


def load_rule_file(path: str, causes: set[str] | None = None, symptoms: set[str] | None = None) -> list[Rule]:
    """Rules of one YAML file, validated; RuleError lists every problem at once."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise RuleError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    data = load_yaml(text, path)
    sym, cau = taxonomy()
    symptoms = set(sym) | set(symptoms or ())
    causes = set(cau) | set(causes or ())
    if not isinstance(data, LDict):
        raise RuleError([f"{path}:1: a rule file is a mapping with 'schema: 1' and 'rules: [...]'"])
    chk = Checker(path, symptoms, causes)
    chk.keys(data, {"schema", "rules", "disable", "causes", "symptoms"}, "the file")
    if data.get("schema") != SCHEMA_VERSION:
        chk.err(data.line_of("schema"), f"'schema' must be {SCHEMA_VERSION} (got {data.get('schema')!r})")
    seen: dict[str, int] = {}
    rules_data = data.get("rules", []) or []
    for i, r in enumerate(rules_data):
        chk.rule(r, i, seen)
    if chk.problems:
        raise RuleError(chk.problems)
    out = []
    for r in rules_data:
        out.append(Rule(
            id=r["id"], title=r.get("title", r["id"]), symptom=r.get("symptom", ""), severity=Severity(r.get("severity", "info")),
            metrics=_plain(r.get("metrics", {})), detect=_plain(r.get("detect", {})),
            causes=tuple(_plain(c) for c in r.get("causes", []) or []), message=r.get("message"),
            when=_plain(r.get("when")), references=tuple(_plain(x) for x in r.get("references", []) or []),
            docs=_plain(r.get("docs", {}) or {}), source=f"{os.path.basename(path)}:{r.line}",
            enabled=r.get("enabled", True) is not False,
        ))
    return out


def _rule_files(p: Path) -> list[Path]:
    if p.is_dir():
        return sorted(f for f in p.glob("*.yaml") if f.name not in NOT_RULE_FILES)
    return [p]


def _load_causes(path: Path) -> dict[str, dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_SAFE)["causes"]


@lru_cache(maxsize=1)
def builtin_ruleset() -> RuleSet:
    """The rule set shipped with logsleuth."""
    return load_ruleset([])


def load_ruleset(extra: list[str], calibrated: bool = True) -> RuleSet:
    """The built-in rules plus user files/directories: a user rule with a built-in id replaces
    it; `disable: [id, ...]` in a user file switches rules off; `enabled: false` too."""
    d = builtin_rules_dir()
    causes = _load_causes(d / "causes.yaml")
    symptoms, _ = taxonomy()
    by_id: dict[str, Rule] = {}
    for f in _rule_files(d):
        for r in load_rule_file(str(f)):
            by_id[r.id] = r
    problems: list[str] = []
    disabled: set[str] = set()
    for e in extra:
        p = Path(e)
        if not p.exists():
            problems.append(f"{e}: no such rule file or directory")
            continue
        for f in _rule_files(p):
            try:
                data = load_yaml(f.read_text(encoding="utf-8"), str(f)) or {}
                user_causes = data.get("causes", {}) if isinstance(data, dict) else {}
                for cid, c in (user_causes or {}).items():
                    causes[cid] = _plain(c)
                for r in load_rule_file(str(f), causes=set(causes)):
                    by_id[r.id] = r
                disabled |= set((data or {}).get("disable", []) or [])
            except RuleError as exc:
                problems += exc.problems
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{f}: cannot read: {exc}")
    unknown = sorted(x for x in disabled if x not in by_id)
    for u in unknown:
        import difflib

        m = difflib.get_close_matches(u, list(by_id), n=1)
        problems.append(f"disable: no rule {u!r}" + (f" (did you mean {m[0]!r}?)" if m else ""))
    if problems:
        raise RuleError(problems)
    rules = tuple(r for rid, r in sorted(by_id.items()) if rid not in disabled and r.enabled)
    calibration = _calibration(d, extra) if calibrated else {}  # calibrate fits from the declared values
    rules = apply_weights(rules, calibration.get("weights") or {})
    try:
        fitted = fitted_values(calibration)
    except ParameterFileError as exc:
        raise RuleError([str(exc)]) from None
    version = _digest(rules, causes, fitted, calibration.get("scores"))
    return RuleSet(rules=rules, causes=causes, symptoms=symptoms, version=version, params=fitted,
                   scores=calibration.get("scores") or {})


def _calibration(builtin: Path, extra: list[str]) -> dict:
    """The calibration in force: the built-in one, replaced by a `calibration.yaml` in a user rules
    directory (the last one given wins)."""
    data = builtin_calibration()
    for e in extra:
        p = Path(e)
        if p.is_dir() and (p / CALIBRATION_FILE).is_file():
            try:
                data = read_calibration(p / CALIBRATION_FILE)
            except ParameterFileError as exc:
                raise RuleError([str(exc)]) from None
    return data


def apply_weights(rules: tuple[Rule, ...], weights: Mapping[str, Mapping[str, float]]) -> tuple[Rule, ...]:
    """Rules with their cause weights replaced by fitted ones (`weights: {rule: {cause: w}}`); an
    entry's `otherwise` weight keeps its ratio to the weight it replaces."""
    if not weights:
        return rules
    out = []
    for r in rules:
        w = weights.get(r.id)
        if w:
            r = replace(r, causes=tuple(_reweigh(c, float(w[c["id"]])) if c.get("id") in w else c for c in r.causes))
        out.append(r)
    return tuple(out)


def _reweigh(cause: Mapping[str, Any], weight: float) -> dict[str, Any]:
    old = float(cause.get("weight", DEFAULT_CAUSE_WEIGHT))
    new = {**cause, "weight": weight}
    if "otherwise" in cause and old:
        new["otherwise"] = max(-1.0, min(1.0, float(cause["otherwise"]) * weight / old))
    return new


def _digest(rules: tuple[Rule, ...], causes: Mapping[str, Any], *more: Any) -> str:
    import hashlib
    import json

    h = hashlib.sha256()
    h.update(json.dumps([r.__dict__ for r in rules], sort_keys=True, default=str).encode())
    h.update(json.dumps(causes, sort_keys=True, default=str).encode())
    h.update(json.dumps(more, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- evaluation

def needed(ruleset: RuleSet) -> tuple[frozenset[str], tuple[str, ...]]:
    """(roles, name patterns) the rules read: a metric matching neither is never used."""
    roles: set[str] = set()
    patterns: list[str] = []
    for r in ruleset.rules:
        for spec in r.metrics.values():
            if isinstance(spec, str):
                roles.add(spec.rstrip("?"))
            elif "pattern" in spec:
                patterns.append(str(spec["pattern"]))
            elif "role" in spec:
                roles.add(str(spec["role"]))
    roles |= {"test_" + x[4:] for x in roles if x.startswith("val_")}  # test_* stands in for val_*
    from .context import CONTEXT_ROLES

    return frozenset(roles | CONTEXT_ROLES), tuple(sorted(set(patterns)))


def _bind(spec: Any, series: Mapping[str, Series]) -> tuple[Any, bool, str]:
    """(value, optional, role text) of one metric declaration; value None when absent."""
    optional = False
    want_all = False
    if isinstance(spec, str):
        role = spec
        if role.endswith("?"):
            role, optional = role[:-1], True
        return primary(series, role), optional, role
    optional = bool(spec.get("optional", False))
    want_all = bool(spec.get("all", False))
    if "pattern" in spec:
        hits = [s for n, s in sorted(series.items()) if fnmatch.fnmatchcase(n, spec["pattern"])]
        label = spec["pattern"]
    else:
        hits = [s for n, s in sorted(series.items()) if s.role.name == spec["role"]]
        label = spec["role"]
        if not want_all:
            return primary(series, spec["role"]), optional, label  # primary() also knows test-for-val
    if want_all:
        return (hits or None), optional, label
    return (hits[0] if hits else None), optional, label


def _measure(ref: str, clauses: Mapping[str, Evidence]) -> Any:
    name, _, key = ref.partition(".")
    ev = clauses.get(name)
    if ev is None:
        return None
    if key in ("confidence", "fired"):
        return getattr(ev, key)
    return ev.measures.get(key)


def check(cond: Any, clauses: Mapping[str, Evidence], hparams: Mapping[str, Any]) -> bool | None:
    """True/False, or None when a hyperparameter it needs is unknown."""
    conds = cond if isinstance(cond, list) else [cond]
    for c in conds:
        if "measure" in c:
            val = _measure(c["measure"], clauses)
        else:
            val = hparam(hparams, c["hparam"])
            if val is None:
                if "missing" in c:
                    if not c["missing"]:
                        return False
                    continue
                return None
        if val is None:
            return False
        for op in ("lt", "le", "gt", "ge", "eq", "ne", "in"):
            if op not in c:
                continue
            ref = c[op]
            try:
                if isinstance(val, str) and not isinstance(ref, (str, list)):
                    val = float(val)
                ok = bool(_COMPARE[op](val, ref))
            except (TypeError, ValueError):
                return False
            if isinstance(val, float) and math.isnan(val):
                ok = False
            if not ok:
                return False
    return True


class _Cache:
    def __init__(self, ctx: Any, fitted: Mapping[str, Mapping[str, Any]]) -> None:
        self.ctx = ctx
        self.fitted = fitted
        self.memo: dict[Any, Evidence] = {}

    def run(self, det: str, args: list[Any], params: Mapping[str, Any]) -> Evidence:
        key = (det, tuple(tuple(a.metric for a in x) if isinstance(x, list) else (x.metric if x is not None else None)
                          for x in args), tuple(sorted(params.items())))
        if key not in self.memo:
            spec = REGISTRY[det]
            p = {**spec.params, **self.fitted.get(det, {}), **params}
            try:
                self.memo[key] = spec.func(*args, ctx=self.ctx, **p)
            except (ValueError, TypeError, ArithmeticError, IndexError, MemoryError) as exc:
                # a detector bug must not cost the user the other rules; tests keep this path cold
                self.memo[key] = Evidence(detector=det, metric="", fired=False,
                                          cannot_judge=f"detector {det} failed: {type(exc).__name__}: {exc}")
        return self.memo[key]


def _clause_args(cl: Mapping[str, Any], spec_inputs: tuple[str, ...], bound: Mapping[str, Any]) -> list[Any] | None:
    series = cl.get("series")
    names: list[Any]
    if isinstance(series, str):
        names = [series]
    elif isinstance(series, dict):
        names = [series.get(i.rstrip("?*")) for i in spec_inputs]
    else:
        names = list(series or [])
    args = []
    for i, inp in enumerate(spec_inputs):
        nm = names[i] if i < len(names) else None
        val = bound.get(nm) if nm else None
        if val is None and not inp.endswith("?"):
            return None
        args.append(val)
    return args


def evaluate(ruleset: RuleSet, series: Mapping[str, Series], hparams: Mapping[str, Any]) -> tuple[list[Finding], list[SkippedRule]]:
    """Every rule of the set on one run's series: the findings, and the rules skipped (why)."""
    from .context import run_context

    cache = _Cache(run_context(series, hparams), ruleset.params)
    findings: list[Finding] = []
    skipped: list[SkippedRule] = []
    for rule in ruleset.rules:
        bound: dict[str, Any] = {}
        missing = []
        for local, spec in rule.metrics.items():
            val, optional, label = _bind(spec, series)
            if val is None and not optional:
                missing.append(label)
            bound[local] = val
        if missing:
            skipped.append(SkippedRule(rule.id, f"{', '.join(sorted(set(missing)))} not logged"))
            continue
        f = _evaluate_rule(rule, bound, cache, hparams, skipped)
        if f is not None:
            findings.append(f)
    findings.sort(key=lambda f: (-Severity(f.severity).rank, -f.confidence, f.rule))
    return findings, skipped


def _evaluate_rule(rule: Rule, bound: Mapping[str, Any], cache: _Cache, hparams: Mapping[str, Any],
                   skipped: list[SkippedRule]) -> Finding | None:
    results: dict[str, Evidence] = {}
    passed: dict[str, bool] = {}
    reasons: list[str] = []
    for group in ("all", "any", "none"):
        for cl in rule.detect.get(group, []) or []:
            det = cl["detector"]
            name = cl.get("name", det)
            args = _clause_args(cl, REGISTRY[det].inputs, bound)
            if args is None:
                passed[name] = False
                reasons.append(f"{name}: input not logged")
                continue
            ev = cache.run(det, args, cl.get("params", {}) or {})
            results[name] = ev
            ok = ev.fired and (check(cl["require"], {**results, "_": ev}, hparams) is True if "require" in cl else True)
            if ev.cannot_judge:
                reasons.append(ev.cannot_judge)
            passed[name] = bool(ok)
    all_cl = [c.get("name", c["detector"]) for c in rule.detect.get("all", []) or []]
    any_cl = [c.get("name", c["detector"]) for c in rule.detect.get("any", []) or []]
    none_cl = [c.get("name", c["detector"]) for c in rule.detect.get("none", []) or []]
    fired = all(passed.get(n, False) for n in all_cl) and (not any_cl or any(passed.get(n, False) for n in any_cl)) \
        and not any(passed.get(n, False) for n in none_cl)
    if not fired:
        if reasons and all(not passed.get(n, False) for n in all_cl[:1]) and all_cl and results.get(all_cl[0]) is not None \
                and results[all_cl[0]].cannot_judge:
            skipped.append(SkippedRule(rule.id, f"cannot judge: {results[all_cl[0]].cannot_judge}"))
        return None
    if rule.when is not None:
        holds = check(rule.when, results, hparams)
        if holds is None:
            conds = rule.when if isinstance(rule.when, list) else [rule.when]
            names = sorted({c["hparam"] for c in conds if "hparam" in c and hparam(hparams, c["hparam"]) is None})
            skipped.append(SkippedRule(rule.id, f"hyperparameter {', '.join(names)} not known"))
            return None
        if not holds:
            return None
    positive = [results[n] for n in all_cl + [n for n in any_cl if passed.get(n)] if n in results]
    conf = min(e.confidence for e in positive) if positive else 0.5
    lead = positive[0] if positive else None
    causes = []
    for c in rule.causes:
        w = cause_weight(c, results, hparams)
        if w is not None:
            causes.append((c["id"], w))
    text = _message(rule, results, positive)
    return Finding(rule=rule.id, symptom=rule.symptom, severity=rule.severity, metric=lead.metric if lead else "",
                   confidence=round(conf, 4), start_step=lead.start_step if lead else None,
                   end_step=lead.end_step if lead else None, evidence=text, causes=tuple(causes))


def cause_weight(cause: Mapping[str, Any], results: Mapping[str, Evidence], hparams: Mapping[str, Any]) -> float | None:
    """A cause entry's weight for this run: `weight`, or when its `when` does not hold, `otherwise`
    (the entry is left out when there is no `otherwise`, or a hyperparameter it needs is unknown)."""
    if "when" not in cause:
        return float(cause.get("weight", DEFAULT_CAUSE_WEIGHT))
    holds = check(cause["when"], results, hparams)
    if holds is True:
        return float(cause.get("weight", DEFAULT_CAUSE_WEIGHT))
    if holds is False and "otherwise" in cause:
        return float(cause["otherwise"])
    return None


_OP_TEXT = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "ne": "!=", "in": "in"}


def condition_text(cond: Any) -> str:
    """`{measure: trend.onset_frac, lt: 0.2}` as `trend.onset_frac < 0.2`."""
    parts = []
    for c in cond if isinstance(cond, list) else [cond]:
        subject = c.get("measure") or c.get("hparam")
        parts += [f"{subject} {_OP_TEXT[op]} {str(c[op]).lower() if isinstance(c[op], bool) else c[op]}"
                  for op in _OP_TEXT if op in c]
    return " and ".join(parts)


def cause_text(cause: Mapping[str, Any]) -> str:
    """A cause entry as a reader says it: `lr_too_high 0.85 if trend.onset_frac < 0.2, else 0.5`."""
    text = f"{cause['id']} {cause.get('weight', DEFAULT_CAUSE_WEIGHT)}"
    if "when" in cause:
        text += f" if {condition_text(cause['when'])}"
        if "otherwise" in cause:
            text += f", else {cause['otherwise']}"
    return text


class _Fmt(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _message(rule: Rule, results: Mapping[str, Evidence], positive: list[Evidence]) -> str:
    if rule.message:
        values: dict[str, Any] = {}
        for n, ev in results.items():
            values[f"{n}.text"] = ev.text
            values[f"{n}.metric"] = ev.metric
            for k, v in ev.measures.items():
                values[f"{n}.{k}"] = v
        try:
            return rule.message.format_map(_Flat(values))
        except (ValueError, KeyError, IndexError, AttributeError):
            pass
    return "; ".join(e.text for e in positive if e.text)


class _Flat(dict):
    """format_map helper: `{clause.measure}` looks up the flat key."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__()
        self._values = values  # not `values`: that would shadow dict.values()

    def __missing__(self, key: str) -> Any:
        return _Obj(key, self._values)


class _Obj:
    def __init__(self, prefix: str, values: dict[str, Any]) -> None:
        self.prefix, self.values = prefix, values

    def __getattr__(self, name: str) -> Any:
        return self.values.get(f"{self.prefix}.{name}", "?")
