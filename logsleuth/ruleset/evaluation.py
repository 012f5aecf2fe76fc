"""Evaluating a rule set on one run: metrics bound by role or pattern, detector clauses run
once each (the evidence memo), `require`/`when` conditions checked, findings with their causes'
weights."""

from __future__ import annotations

import fnmatch
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..detectors import REGISTRY
from ..hparam_names import hparam
from ..model import Evidence, Finding, Series, Severity, SkippedRule
from ..roles import primary
from .loading import Rule, RuleSet
from .schema import DEFAULT_CAUSE_WEIGHT, DETECT_GROUPS
from .text import finding_message

# the comparison operators of `require`/`when` conditions
_COMPARE = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge, "eq": operator.eq,
            "ne": operator.ne, "in": lambda a, b: a in b}


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


class _EvidenceMemo:
    """Each detector call of one run made once: rules sharing a clause (same detector, inputs
    and parameters) share its evidence."""

    def __init__(self, ctx: Any, fitted: Mapping[str, Mapping[str, Any]]) -> None:
        self.ctx = ctx
        self.fitted = fitted  # calibrated parameter values by detector (between declared and clause values)
        self.memo: dict[Any, Evidence] = {}

    def run(self, det: str, args: list[Any], params: Mapping[str, Any], params_key: tuple | None = None) -> Evidence:
        """The evidence of one clause (`params_key`: tuple(sorted(params.items())), when known)."""
        key = (det, tuple(tuple(a.metric for a in x) if isinstance(x, list) else (x.metric if x is not None else None)
                          for x in args), tuple(sorted(params.items())) if params_key is None else params_key)
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
    return _args(_series_names(cl, spec_inputs), spec_inputs, bound)


def _series_names(cl: Mapping[str, Any], spec_inputs: tuple[str, ...]) -> list[Any]:
    """The local metric names a clause passes, in the order of its detector's inputs."""
    series = cl.get("series")
    if isinstance(series, str):
        return [series]
    if isinstance(series, dict):
        return [series.get(i.rstrip("?*")) for i in spec_inputs]
    return list(series or [])


def _args(names: list[Any], spec_inputs: tuple[str, ...], bound: Mapping[str, Any]) -> list[Any] | None:
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

    memo = _EvidenceMemo(run_context(series, hparams), ruleset.params)
    findings: list[Finding] = []
    skipped: list[SkippedRule] = []
    binds: dict[Any, tuple[Any, bool, str]] = {}  # each metric declaration bound once (rules share roles)
    for rule in ruleset.rules:
        bound: dict[str, Any] = {}
        missing = []
        for local, spec in rule.metrics.items():
            key = spec if isinstance(spec, str) else id(spec)  # the rule set's own objects: ids stable meanwhile
            if key not in binds:
                binds[key] = _bind(spec, series)
            val, optional, label = binds[key]
            if val is None and not optional:
                missing.append(label)
            bound[local] = val
        if missing:
            skipped.append(SkippedRule(rule.id, f"{', '.join(sorted(set(missing)))} not logged"))
            continue
        f = _evaluate_rule(rule, bound, memo, hparams, skipped)
        if f is not None:
            findings.append(f)
    findings.sort(key=lambda f: (-Severity(f.severity).rank, -f.confidence, f.rule))
    return findings, skipped


@dataclass(frozen=True)
class _Clause:
    """A detector clause of a rule as evaluation reads it, worked out once per rule."""
    name: str
    det: str
    inputs: tuple[str, ...]
    names: list[Any]  # local metric names, in the detector's input order
    params: Mapping[str, Any]
    params_key: tuple  # tuple(sorted(params.items())): the clause's part of the evidence memo's key
    clause: Mapping[str, Any]


@dataclass(frozen=True)
class _Plan:
    clauses: tuple[_Clause, ...]  # all, any, none, context: in evaluation order
    all_cl: list[str]
    any_cl: list[str]
    none_cl: list[str]
    context_cl: list[str]  # read for the causes' `when` only


# each rule's plan, by the id of the rule object (held, so the id stays its own); a rule set
# has a few dozen rules, a run of the test suite a few thousand
_PLANS: dict[int, tuple[Rule, _Plan]] = {}
MAX_PLANS = 4096


def _plan(rule: Rule) -> _Plan:
    hit = _PLANS.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    clauses = []
    for group in DETECT_GROUPS:
        for cl in rule.detect.get(group, []) or []:
            det = cl["detector"]
            inputs = REGISTRY[det].inputs
            params = cl.get("params", {}) or {}
            clauses.append(_Clause(cl.get("name", det), det, inputs, _series_names(cl, inputs), params,
                                   tuple(sorted(params.items())), cl))
    plan = _Plan(tuple(clauses), *([c.get("name", c["detector"]) for c in rule.detect.get(g, []) or []]
                                   for g in DETECT_GROUPS))
    if len(_PLANS) >= MAX_PLANS:
        _PLANS.clear()
    _PLANS[id(rule)] = (rule, plan)
    return plan


def _evaluate_rule(rule: Rule, bound: Mapping[str, Any], memo: _EvidenceMemo, hparams: Mapping[str, Any],
                   skipped: list[SkippedRule]) -> Finding | None:
    results: dict[str, Evidence] = {}
    passed: dict[str, bool] = {}
    reasons: list[str] = []
    plan = _plan(rule)
    for clause in plan.clauses:
        name = clause.name
        args = _args(clause.names, clause.inputs, bound)
        if args is None:
            passed[name] = False
            reasons.append(f"{name}: input not logged")
            continue
        ev = memo.run(clause.det, args, clause.params, clause.params_key)
        results[name] = ev
        cl = clause.clause
        ok = ev.fired and (check(cl["require"], {**results, "_": ev}, hparams) is True if "require" in cl else True)
        if ev.cannot_judge:
            reasons.append(ev.cannot_judge)
        passed[name] = bool(ok)
    all_cl, any_cl, none_cl = plan.all_cl, plan.any_cl, plan.none_cl
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
    positive: list[Evidence] = []  # what the finding says: its conditions, and the context that fired
    for n in all_cl + [n for n in any_cl if passed.get(n)] + [n for n in plan.context_cl if passed.get(n)]:
        # the same detector on the same series in two groups is the same memoised evidence: it
        # counts, and is said, once
        if n in results and not any(results[n] is e for e in positive):
            positive.append(results[n])
    # all of `all`, one of `any`: the weakest of the conjunction, the strongest of the alternatives
    # (an alternative that also holds, more weakly, does not make the finding less sure)
    confs = [results[n].confidence for n in all_cl if n in results]
    alternatives = [results[n].confidence for n in any_cl if passed.get(n) and n in results]
    if alternatives:
        confs.append(max(alternatives))
    conf = min(confs) if confs else 0.5
    lead = positive[0] if positive else None
    causes = []
    for c in rule.causes:
        w = cause_weight(c, results, hparams)
        if w is not None:
            causes.append((c["id"], w))
    text = finding_message(rule.message, results, positive)
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
