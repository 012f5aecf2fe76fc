"""Documentation generated from the rule set: the rule reference and `logsleuth explain`."""

from __future__ import annotations

import difflib
import os
import re

from .errors import UsageError
from .ruleset import builtin_ruleset, cause_text, load_ruleset, taxonomy
from .ruleset.schema import DETECT_GROUPS

REFERENCE_SEEDS = 20  # runs per family of the healthy reference set quoted in docs/rules.md


def rule_cases(cases_dir: str | None) -> dict[str, dict]:
    """The rule case files (tests/rule_cases/<rule-id>.yaml of a checkout), by rule id."""
    import os

    import yaml

    out: dict[str, dict] = {}
    if not cases_dir:
        return out
    if not os.path.isdir(cases_dir):
        raise UsageError(f"{cases_dir}: no such directory of rule cases")
    for fn in sorted(os.listdir(cases_dir)):
        if fn.endswith(".yaml"):
            path = os.path.join(cases_dir, fn)
            try:
                with open(path, encoding="utf-8") as fh:
                    doc = yaml.safe_load(fh)
            except (OSError, yaml.YAMLError) as exc:
                raise UsageError(f"{path}: not a readable YAML file ({exc})") from exc
            if isinstance(doc, dict):
                out[fn[: -len(".yaml")]] = doc
    return out


def _cases_lines(doc: dict | None) -> list[str]:
    if not doc:
        return []
    out = []
    for kind, label in (("fire", "fires on"), ("quiet", "quiet on"), ("near_miss", "near miss"), ("todo", "misses (todo)")):
        for case in doc.get(kind) or []:
            if not isinstance(case, dict):
                continue
            extra = f" - claimed by `{case['claimed_by']}`" if case.get("claimed_by") else ""
            out.append(f"  - {label}: {case.get('about', case.get('spec'))}{extra}")
    return ["- cases (tests/rule_cases):", *out] if out else []


def rules_markdown(cases_dir: str | None = None) -> str:
    """docs/rules.md: every built-in rule, grouped by symptom, from the YAML, with its false-alarm
    rate measured on the healthy reference set (logsleuth.healthy_runs) and, given the directory
    of the rule case files, its cases."""
    from .healthy_runs import FAMILIES, measure

    cases = rule_cases(cases_dir)
    rs = builtin_ruleset()
    declared = {r.id: r.severity for r in load_ruleset([], calibrated=False).rules}
    symptoms, causes = taxonomy()
    fa = measure(seeds=REFERENCE_SEEDS)
    out = ["# Rule reference", "",
           "Generated from `rules/*.yaml` and `tests/rule_cases/*.yaml` by "
           "`logsleuth rules docs --cases tests/rule_cases -o docs/rules.md`; a test fails when it is stale.", "",
           f"False alarms are measured on the healthy reference set: {fa.runs} generated runs "
           f"({REFERENCE_SEEDS} seeds of {len(FAMILIES)} families: {', '.join(sorted(FAMILIES))}), none of them faulty; "
           f"`logsleuth eval --reference` prints the same. Runs with a warning or worse: "
           f"{len(fa.flagged)}/{fa.runs} ({fa.flagged_rate:.1%}).", ""]
    by_symptom: dict[str, list] = {}
    for r in rs.rules:
        by_symptom.setdefault(r.symptom, []).append(r)
    for sym in sorted(by_symptom):
        out += [f"## {sym}", "", f"_{symptoms.get(sym, '')}_", ""]
        for r in by_symptom[sym]:
            out += [f"### `{r.id}` - {r.title}", ""]
            fitted = "" if declared.get(r.id, r.severity) == r.severity else \
                f" (declared {declared[r.id]}; the calibration reports it as a note: docs/calibration.md)"
            out.append(f"- severity: **{r.severity}**{fitted}; source: `{r.source}`")
            out.append(f"- false alarms on the healthy reference set: {fa.per_rule.get(r.id, 0)}/{fa.runs} runs warned "
                       f"({fa.rate(r.id):.1%}); fired at all (info included) on {fa.per_rule_any.get(r.id, 0)}")
            out.append("- reads: " + ", ".join(f"`{k}` = {v if isinstance(v, str) else v.get('role') or v.get('pattern')}"
                                             for k, v in r.metrics.items()))
            for group in DETECT_GROUPS:
                cls = r.detect.get(group) or []
                if cls:
                    out.append(f"- {group}: " + "; ".join(
                        f"`{c['detector']}`" + (f" {dict(c['params'])}" if c.get("params") else "") for c in cls))
            if r.causes:
                out.append("- supports: " + "; ".join(cause_text(c) for c in r.causes))
            docs = r.docs or {}
            if docs.get("summary"):
                out.append(f"- what: {docs['summary']}")
            if docs.get("why"):
                out.append(f"- why: {docs['why']}")
            if docs.get("reference"):
                out.append(f"- reference: {docs['reference']}")
            if docs.get("confused_with"):
                out.append(f"- confused with: {', '.join(docs['confused_with'])}")
            for ref in r.references:
                out.append(f"- see: [{ref.get('title')}]({ref.get('url')})")
            out += _cases_lines(cases.get(r.id))
            out.append("")
    out += _detectors_markdown()
    out += _constants_markdown()
    out += ["## Causes", ""]
    for cid in sorted(rs.causes):
        c = rs.causes[cid]
        out.append(f"### `{cid}` - {c.get('title', cid)}")
        out.append("")
        out.append(c.get("summary", causes.get(cid, "")))
        out.append("")
        for i, rem in enumerate(c.get("remedies", []) or [], 1):
            out.append(f"{i}. {rem}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _detectors_markdown() -> list[str]:
    """The detector contract: inputs, parameters with defaults, measures with their meaning."""
    from .detectors import REGISTRY

    out = ["## Detectors", "",
           "What rules can call: each detector's inputs (`?` optional, `*` a list of series), parameters "
           "(override per clause with `params:`), and the measures its evidence carries (use them in "
           "`require`/`when` as `clause.measure` and in messages as `{clause.measure}`; every clause also has "
           "`confidence` and `fired`, and messages can use `{clause.text}` and `{clause.metric}`). Rule files are checked against this at load time.", ""]
    for name in sorted(REGISTRY):
        spec = REGISTRY[name]
        out += [f"### `{name}`", "", " ".join(spec.doc.split()), ""]
        out.append(f"- inputs: {', '.join(f'`{i}`' for i in spec.inputs)}; symptom: `{spec.symptom}`")
        if spec.params:
            out.append("- parameters:")
            out += [f"  - `{k}` = {v!r}: {spec.param_docs.get(k, '')}" for k, v in spec.params.items()]
        if spec.measures:
            out.append("- measures: " + "; ".join(f"`{k}`: {v}" for k, v in spec.measures.items()))
        out.append("")
    return out


_CONSTANT = re.compile(r"^([A-Z][A-Z0-9_]*) = (.+?)(?:  # (.+))?$")


def _constants_markdown() -> list[str]:
    """The named constants of the detector modules (windows, smoothing, noise multiples, minimum
    point counts), read off the source with the comment that says why."""
    from . import detectors

    out = ["## How detectors read a curve", "",
           "The numbers inside the detectors that are not parameters: named constants, shared ones in "
           "`logsleuth/detectors/curves.py` and `confidence.py`, the rest at the top of their detector's module (a test refuses "
           "any other number in a detector).", "",
           "| constant | value | module | meaning |", "|---|---|---|---|"]
    folder = os.path.dirname(detectors.__file__)
    for fname in sorted(os.listdir(folder)):
        if not fname.endswith(".py"):
            continue
        above: list[str] = []  # the comment block right above a line
        with open(os.path.join(folder, fname), encoding="utf-8") as fh:
            for line in fh:
                line = line.rstrip("\n")
                m = _CONSTANT.match(line)
                meaning = m and (m.group(3) or " ".join(above))
                if m and meaning and not m.group(2).endswith(("{", "(")):
                    out.append(f"| `{m.group(1)}` | `{m.group(2)}` | {fname[:-3]} | {meaning.replace('|', '/')} |")
                above = above + [line[1:].strip()] if line.startswith("#") else []
    return out + [""]


def explain_text(ident: str) -> str:
    """A symptom or cause id explained, with the rules that involve it; an id that is both (overfitting,
    exploding_gradients, ...) shows both meanings, the symptom first, then the cause and its remedies."""
    rs = builtin_ruleset()
    symptoms, causes = taxonomy()
    parts = []
    if ident in symptoms:
        parts.append(_symptom_text(ident, symptoms, rs))
    if ident in rs.causes or ident in causes:
        parts.append(_cause_text(ident, causes, rs))
    if parts:
        return "\n\n".join(parts)
    near = difflib.get_close_matches(ident, list(dict.fromkeys([*symptoms, *rs.causes, *causes])), n=3)
    raise UsageError(f"unknown symptom or cause {ident!r}" + (f"; did you mean {', '.join(near)}?" if near else ""))


def _symptom_text(ident: str, symptoms: dict[str, str], rs) -> str:
    lines = [f"{ident} (symptom): {symptoms[ident]}", ""]
    for r in rs.rules:
        if r.symptom == ident:
            lines.append(f"- rule {r.id} [{r.severity}]: {r.title}")
            if r.docs.get("why"):
                lines.append(f"    why: {r.docs['why']}")
            if r.causes:
                lines.append("    points to: " + "; ".join(cause_text(c) for c in r.causes))
    return "\n".join(lines).rstrip()


def _cause_text(ident: str, causes: dict[str, str], rs) -> str:
    c = rs.causes.get(ident, {})
    lines = [f"{ident} (cause): {c.get('title', '')}", "", c.get("summary", causes.get(ident, "")), ""]
    seen = [r for r in rs.rules if any(x["id"] == ident for x in r.causes)]
    if seen:
        lines.append("Seen as: " + ", ".join(sorted({r.symptom for r in seen})))
        lines.append("")
    if c.get("remedies"):
        lines.append("What to do, easiest first:")
        lines += [f"  {i}. {r}" for i, r in enumerate(c["remedies"], 1)]
    for ref in c.get("references", []) or []:
        lines.append(f"  see: {ref.get('title')} <{ref.get('url')}>")
    return "\n".join(lines).rstrip()
