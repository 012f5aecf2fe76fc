"""Loading the rule set: YAML rule files (strict, with line numbers) checked against the
schema and the detectors' declarations, user files overriding built-in rules by id, into a
RuleSet."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import rulecache
from ..errors import RuleError
from ..model import Severity
from ..params import CALIBRATION_FILE, PARAMETERS_FILE, ParameterFileError, builtin_calibration, fitted_values, read_calibration
from ..resources import builtin_rules_dir, safe_loader
from .schema import DEFAULT_CAUSE_WEIGHT, Checker
from .yamlnodes import LDict, load_yaml

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
    # the ranking's fitted numbers: late-onset discount, reliability map, healthy score
    scores: Mapping[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def taxonomy() -> tuple[dict[str, str], dict[str, str]]:
    """Symptom and cause ids with their one-line descriptions (rules/taxonomy.yaml)."""
    data = _builtin_file("taxonomy.yaml")
    return dict(data["symptoms"]), dict(data["causes"])


def _builtin_file(name: str) -> Any:
    """The data of a built-in YAML file that holds no rules: from the compiled copy, else read."""
    data = rulecache.part(name)
    return data if data is not None else _read_yaml(builtin_rules_dir() / name)


def _read_yaml(path: Path) -> Any:
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=safe_loader())


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


def _rule_data(r: Rule) -> dict[str, Any]:
    """A checked rule as the compiled copy of the built-in rules holds it (JSON)."""
    return {**r.__dict__, "severity": str(r.severity), "causes": list(r.causes), "references": list(r.references)}


def _rule_of(d: Mapping[str, Any]) -> Rule:
    return Rule(**{**d, "severity": Severity(d["severity"]), "causes": tuple(d["causes"]),
                   "references": tuple(d["references"])})


def _builtin_rules() -> list[Rule]:
    """The rules of the built-in files, checked (from the compiled copy when it holds them)."""
    compiled = rulecache.part("rules")
    if isinstance(compiled, dict):
        try:
            return [_rule_of(d) for name in sorted(compiled) for d in compiled[name]]
        except (KeyError, TypeError, ValueError):
            pass  # not what this code writes: the files are read
    return [r for f in _rule_files(builtin_rules_dir()) for r in load_rule_file(str(f))]


def compiled_parts() -> dict[str, Any]:
    """What the compiled copy of the built-in rule set holds, read from the YAML files: the data
    of each file without rules (by name) and the checked rules of the others (`rules`, by file)."""
    d = builtin_rules_dir()
    parts: dict[str, Any] = {name: _read_yaml(d / name) for name in NOT_RULE_FILES}
    parts["rules"] = {f.name: [_rule_data(r) for r in load_rule_file(str(f))] for f in _rule_files(d)}
    return parts


def keep_compiled() -> bool:
    """Write the compiled copy of the built-in rule set when it reads back as the YAML files say
    (JSON keeps every value of these files as it is, or the copy is not written); False when it
    was not written."""
    import json

    import yaml

    before = rulecache.compute_key()
    try:
        parts = compiled_parts()
        back = json.loads(json.dumps(parts))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RuleError, TypeError, ValueError):
        return False
    if rulecache.compute_key() != before:  # a file changed while it was read
        return False
    if any(back[name] != parts[name] for name in NOT_RULE_FILES):
        return False
    if any([_rule_of(x) for x in back["rules"][f]] != [_rule_of(x) for x in parts["rules"][f]] for f in parts["rules"]):
        return False
    return rulecache.store(parts, before)


def _load_causes(path: Path) -> dict[str, dict[str, Any]]:
    if path == builtin_rules_dir() / "causes.yaml":
        return dict(_builtin_file("causes.yaml")["causes"])
    return _read_yaml(path)["causes"]


@lru_cache(maxsize=1)
def builtin_ruleset() -> RuleSet:
    """The rule set shipped with logsleuth (its files parsed and checked once, then kept in
    their compiled copy: rulecache)."""
    hit = rulecache.stored() is not None
    ruleset = load_ruleset([])
    if not hit and rulecache.cache_dir() is not None:
        keep_compiled()
    return ruleset


def load_ruleset(extra: list[str], calibrated: bool = True, calibration: dict | None = None) -> RuleSet:
    """The built-in rules plus user files/directories: a user rule with a built-in id replaces
    it; `disable: [id, ...]` in a user file switches rules off; `enabled: false` too.
    `calibration` (data of a calibration.yaml) replaces the one in force."""
    d = builtin_rules_dir()
    causes = _load_causes(d / "causes.yaml")
    symptoms, _ = taxonomy()
    by_id: dict[str, Rule] = {}
    for r in _builtin_rules():
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
    if calibration is None:
        calibration = calibration_in_force(extra) if calibrated else {}  # calibrate fits from the declared values
    rules = apply_weights(rules, calibration.get("weights") or {})
    stray = [r for r in calibration.get("notes_only") or [] if r not in by_id]
    if stray:
        raise RuleError([f"{CALIBRATION_FILE}: notes_only: no rule {r!r}" for r in stray])
    rules = apply_notes(rules, calibration.get("notes_only") or [])
    try:
        fitted = fitted_values(calibration)
    except ParameterFileError as exc:
        raise RuleError([str(exc)]) from None
    version = _digest(rules, causes, fitted, calibration.get("scores"))
    return RuleSet(rules=rules, causes=causes, symptoms=symptoms, version=version, params=fitted,
                   scores=calibration.get("scores") or {})


def calibration_in_force(extra: list[str]) -> dict:
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


def apply_notes(rules: tuple[Rule, ...], notes_only: Sequence[str]) -> tuple[Rule, ...]:
    """Rules the calibration reports as notes (`notes_only: [rule id]`) get severity info."""
    keep = set(notes_only)
    return tuple(replace(r, severity=Severity.INFO) if r.id in keep else r for r in rules)


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
