"""One runner for the rule case files, tests/rule_cases/<rule-id>.yaml (see the README there).

Every built-in rule has a file with at least one `fire`, one `quiet` and one `near_miss` case.
A case names a seeded synthetic run (tests/rule_specs.py) and which other rules may fire on it
(`also_fires`); every rule not listed must stay quiet.  `todo` cases are what the rule should
catch and does not yet: strict xfail, so a fix shows up as a failure to move them.
"""

from __future__ import annotations

import functools
import os

import pytest
import yaml

from logsleuth.healthy_runs import FAMILIES, make_run
from logsleuth.pipeline import diagnose
from logsleuth.ruleset import builtin_ruleset

from rule_specs import build

pytestmark = pytest.mark.usefixtures("declared_values")  # the rules at their declared values

CASE_DIR = os.path.join(os.path.dirname(__file__), "rule_cases")
KINDS = ("fire", "quiet", "near_miss", "todo")
CASE_KEYS = {"about", "spec", "args", "hparams", "drop", "also_fires", "claimed_by", "reason"}
RULES = {r.id: r for r in builtin_ruleset().rules}


def _load() -> dict[str, dict]:
    files = {}
    for fn in sorted(os.listdir(CASE_DIR)):
        if fn.endswith(".yaml"):
            with open(os.path.join(CASE_DIR, fn), encoding="utf-8") as fh:
                files[fn[:-len(".yaml")]] = yaml.safe_load(fh) or {}
    return files


FILES = _load()
CASES = [(rid, kind, i, case) for rid, doc in FILES.items() for kind in KINDS for i, case in enumerate(doc.get(kind) or [])]


@functools.cache
def _fired(key: str) -> tuple[frozenset[str], frozenset[str]]:
    """(rules fired, symptoms the spec was built to show) of one case, memoised by its YAML."""
    run, truth = build(yaml.safe_load(key))
    return frozenset(f.rule for f in diagnose(run).symptoms), frozenset(truth)


def _outcome(case: dict):
    spec = {k: case[k] for k in ("spec", "args", "hparams", "drop") if k in case}
    return _fired(yaml.safe_dump(spec, sort_keys=True))


def test_every_rule_has_fire_quiet_and_near_miss_cases():
    missing = {rid: [k for k in ("fire", "quiet", "near_miss") if not (FILES.get(rid) or {}).get(k)] for rid in RULES}
    missing = {rid: kinds for rid, kinds in missing.items() if kinds}
    assert not missing, f"rules without cases (add tests/rule_cases/<rule-id>.yaml): {missing}"


def test_case_files_are_well_formed():
    problems = []
    for rid, doc in FILES.items():
        if rid not in RULES:
            problems.append(f"{rid}.yaml: no built-in rule {rid!r}")
        if doc.get("rule") != rid:
            problems.append(f"{rid}.yaml: rule: {doc.get('rule')!r} does not match the file name")
        problems += [f"{rid}.yaml: unknown key {k!r}" for k in set(doc) - {"rule", *KINDS}]
    for rid, kind, i, case in CASES:
        where = f"{rid}.yaml {kind}[{i}]"
        problems += [f"{where}: unknown key {k!r}" for k in set(case) - CASE_KEYS]
        problems += [f"{where}: also_fires names unknown rule {o!r}" for o in case.get("also_fires", []) if o not in RULES]
        if not case.get("about"):
            problems.append(f"{where}: say what the case is about")
        if kind == "near_miss" and case.get("claimed_by") not in RULES:
            problems.append(f"{where}: claimed_by must name the neighbouring rule, got {case.get('claimed_by')!r}")
        if kind == "near_miss" and case.get("claimed_by") == rid:
            problems.append(f"{where}: a near miss is claimed by another rule")
        if kind == "todo" and not case.get("reason"):
            problems.append(f"{where}: a todo says why the rule misses it")
    assert not problems, "\n".join(problems)


def _params():
    for rid, kind, i, case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.get("reason", ""))] if kind == "todo" else []
        yield pytest.param(rid, kind, case, id=f"{rid}:{kind}:{i}", marks=marks)


@pytest.mark.parametrize("rid,kind,case", list(_params()))
def test_rule_case(rid, kind, case):
    fired, truth = _outcome(case)
    allowed = set(case.get("also_fires", []))
    if kind in ("fire", "todo"):
        assert rid in fired, f"{rid} did not fire on: {case['about']} (fired: {sorted(fired)})"
        if truth:  # a synth generator's own label: the run shows what it was built to show
            assert truth & {RULES[r].symptom for r in fired}, (truth, sorted(fired))
        others = fired - {rid}
    elif kind == "quiet":
        assert rid not in fired, f"{rid} fired on: {case['about']}"
        others = fired
    else:
        assert rid not in fired, f"{rid} claimed its near miss: {case['about']}"
        assert case["claimed_by"] in fired, f"{case['claimed_by']} did not claim: {case['about']} (fired: {sorted(fired)})"
        others = fired - {case["claimed_by"]}
    assert others <= allowed, f"rules that must stay quiet fired: {sorted(others - allowed)}"


# ------------------------------------------- the healthy reference set, as quiet cases for every rule

REFERENCE_SEEDS = range(3)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reference_runs_are_quiet_cases_of_every_rule(family):
    """A healthy run of every reference family raises no warning from any rule (the rate over
    20 seeds per family is test_trust's; here the first seeds, rule by rule)."""
    for seed in REFERENCE_SEEDS:
        d = diagnose(make_run(family, seed))
        loud = [f.rule for f in d.symptoms if f.severity != "info"]
        assert not loud, f"{family}/seed{seed}: {loud}"
