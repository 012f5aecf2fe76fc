"""Rule files: strict loading with file:line messages, user rules that add, override and
disable built-ins, and a generated reference that must not be stale."""

from __future__ import annotations

import os

import pytest

from logsleuth.docs import explain_text, rules_markdown
from logsleuth.errors import RuleError, UsageError
from logsleuth.model import Finding
from logsleuth.ranking import rank
from logsleuth.ruleset import builtin_ruleset, load_rule_file, load_ruleset

from conftest import REPO


def _file(tmp_path, text):
    p = tmp_path / "my_rules.yaml"
    p.write_text(text)
    return str(p)


GOOD = """schema: 1
rules:
  - id: my.flat
    title: Flat loss
    symptom: no_learning
    severity: warning
    metrics: {loss: train_loss}
    detect:
      all:
        - {detector: no_learning, series: loss, params: {tol: 1.0e-3}}
    causes:
      - {id: lr_too_low, weight: 0.7}
"""


def test_good_file_loads(tmp_path):
    rules = load_rule_file(_file(tmp_path, GOOD))
    assert rules[0].id == "my.flat" and rules[0].detect["all"][0]["params"]["tol"] == 0.001


@pytest.mark.parametrize("mutation,expect", [
    (("severity: warning", "severity: loud"), ":6: rule my.flat: severity 'loud' is not one of critical, warning, info"),
    (("detector: no_learning", "detector: no_lerning"), "did you mean 'no_learning'"),
    (("params: {tol: 1.0e-3}", "params: {tolerance: 1.0e-3}"), "has no parameter 'tolerance'"),
    (("{id: lr_too_low, weight: 0.7}", "{id: lr_to_low, weight: 0.7}"), "unknown cause 'lr_to_low' (did you mean 'lr_too_low'?)"),
    (("{id: lr_too_low, weight: 0.7}", "{id: lr_too_low, weight: 7}"), "weight 7 must be a number in [-1, 1]"),
    (("symptom: no_learning", "symptom: no_learnin"), "unknown symptom 'no_learnin'"),
    (("title: Flat loss", "title: Flat loss\n    titel: x"), "unknown key 'titel'"),
    (("title: Flat loss", "title: Flat loss\n    title: again"), "duplicate key 'title'"),
    (("severity: warning", "severity: warning\n    enabled: yes"), "ambiguous value 'yes'"),
    (("series: loss", "series: los"), "series 'los' is not declared"),
    (("schema: 1", "schema: 2"), "'schema' must be 1"),
    # checked against the detector contract (declared inputs, parameters, measures)
    (("params: {tol: 1.0e-3}", "params: {tol: low}"), ":10: rule my.flat detect.all[0]: parameter 'tol' of detector 'no_learning' must be a number"),
    (("params: {tol: 1.0e-3}", "params: {tol: 0.1, from_start: 2}"), "has no parameter 'from_start'"),
    (("series: loss, params", "series: {seriez: loss}, params"),
     ":10: rule my.flat detect.all[0]: detector 'no_learning' has no input 'seriez' (did you mean 'series'?)"),
    (("{detector: no_learning, series: loss, params: {tol: 1.0e-3}}",
      "{name: flat, detector: no_learning, series: loss, require: {measure: flat.chnage, lt: 0.1}}"),
     "detector 'no_learning' (clause 'flat') has no measure 'chnage' (did you mean 'change'?)"),
    (("{id: lr_too_low, weight: 0.7}", "{id: lr_too_low, weight: 0.7, when: {measure: no_learning.late, lt: 0}}"),
     "has no measure 'late' (did you mean 'late_t'?)"),
    (("title: Flat loss", "title: Flat loss\n    message: 'flat, changed {no_learning.chnage:.1%}'"),
     ":5: rule my.flat message placeholder: detector 'no_learning' (clause 'no_learning') has no measure 'chnage'"),
    (("title: Flat loss", "title: Flat loss\n    message: 'flat: {flat.text}'"), "measure 'flat.text' names no clause"),
    (("{id: lr_too_low, weight: 0.7}", "{id: lr_too_low, weight: 0.7}\n      - {id: lr_too_low, weight: 0.2}"),
     ":13: rule my.flat: cause 'lr_too_low' listed twice; give one entry a 'when' and the weight for the other case as 'otherwise'"),
    (("{id: lr_too_low, weight: 0.7}", "{id: lr_too_low, weight: 0.7, otherwise: 0.2}"), "has 'otherwise' but no 'when'"),
    (("{id: lr_too_low, weight: 0.7}", "{id: lr_too_low, when: {measure: no_learning.change, lt: 0.1}, otherwise: high}"),
     "otherwise 'high' must be a number in [-1, 1]"),
])
def test_errors_name_file_line_and_choices(tmp_path, mutation, expect):
    path = _file(tmp_path, GOOD.replace(*mutation))
    with pytest.raises(RuleError) as exc:
        load_rule_file(path)
    text = str(exc.value)
    assert path in text and expect in text, text


def test_placeholders_text_and_metric_and_declared_measures_pass(tmp_path):
    ok = GOOD.replace("title: Flat loss", "title: Flat loss\n    message: '{no_learning.metric} {no_learning.text} "
                      "{no_learning.change:.1%} {no_learning.confidence:.2f}'")
    assert load_rule_file(_file(tmp_path, ok))[0].message


def test_validate_command_exits_2_with_one_line_per_problem(tmp_path):
    from click.testing import CliRunner

    from logsleuth.cli import main

    bad = (GOOD.replace("series: loss, params: {tol: 1.0e-3}", "series: {trian: loss}, params: {tol: x, nope: 1}")
           .replace("title: Flat loss", "title: Flat loss\n    message: '{no_learning.ratoi:.1f}'"))
    path = _file(tmp_path, bad)
    for args in (["rules", "validate", path], ["rules", "list", "--rules", path], ["analyze", "--rules", path, str(tmp_path)]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
        lines = [ln for ln in r.output.splitlines() if path in ln]
        assert len(lines) >= 4 and all(f"{path}:" in ln for ln in lines), r.output


def test_all_problems_reported_at_once(tmp_path):
    bad = GOOD.replace("severity: warning", "severity: loud").replace("detector: no_learning", "detector: nope")
    with pytest.raises(RuleError) as exc:
        load_rule_file(_file(tmp_path, bad))
    assert len(exc.value.problems) == 2


def test_invalid_yaml_points_at_line(tmp_path):
    with pytest.raises(RuleError) as exc:
        load_rule_file(_file(tmp_path, "schema: 1\nrules:\n  - id: [unclosed\n"))
    assert ":4:" in str(exc.value) or ":3:" in str(exc.value)


def test_user_rules_add_override_and_disable(tmp_path):
    user = GOOD + """  - id: divergence.loss-rises
    title: my divergence
    symptom: divergence
    severity: info
    metrics: {loss: train_loss}
    detect:
      all:
        - {detector: divergence, series: loss, params: {min_ratio: 10.0}}
disable: [spikes.loss]
"""
    rs = load_ruleset([_file(tmp_path, user)])
    ids = {r.id: r for r in rs.rules}
    assert "my.flat" in ids and "spikes.loss" not in ids
    assert ids["divergence.loss-rises"].severity == "info"
    assert rs.version != builtin_ruleset().version


def test_disable_unknown_id_is_an_error(tmp_path):
    with pytest.raises(RuleError) as exc:
        load_ruleset([_file(tmp_path, "schema: 1\nrules: []\ndisable: [spikes.los]\n")])
    assert "did you mean 'spikes.loss'" in str(exc.value)


def test_builtin_rules_reference_known_ids():
    rs = builtin_ruleset()
    assert len(rs.rules) >= 30
    for r in rs.rules:
        assert r.docs.get("summary") and r.docs.get("why"), r.id
        for c in r.causes:
            assert c["id"] in rs.causes, (r.id, c["id"])


def test_each_builtin_rule_lives_in_the_file_its_id_prefix_names():
    """`noise.loss` is in rules/noise.yaml: a rule seen in a report is found by its id."""
    rs = builtin_ruleset()
    misplaced = [(r.id, r.source) for r in rs.rules
                 if os.path.basename(r.source.rsplit(":", 1)[0]) != r.id.split(".", 1)[0] + ".yaml"]
    assert misplaced == []


def test_rule_reference_is_not_stale():
    path = os.path.join(REPO, "docs", "rules.md")
    assert os.path.isfile(path), "run: logsleuth rules docs --cases tests/rule_cases -o docs/rules.md"
    with open(path, encoding="utf-8") as fh:
        assert fh.read() == rules_markdown(os.path.join(REPO, "tests", "rule_cases")), \
            "docs/rules.md is stale: run logsleuth rules docs --cases tests/rule_cases -o docs/rules.md"


def test_explain():
    assert "Learning rate too high" in explain_text("lr_too_high")
    assert "divergence.loss-rises" in explain_text("divergence")
    with pytest.raises(UsageError) as exc:
        explain_text("lr_to_high")
    assert "lr_too_high" in str(exc.value)


def _f(rule, causes, conf=1.0, severity="warning", symptom=None):
    return Finding(rule, symptom or f"symptom_{rule}", severity, "loss", conf, 0, 1, "", tuple(causes))


def test_ranking_noisy_or_order_independent_with_evidence_against():
    from logsleuth.ruleset import load_ruleset

    rs = load_ruleset([], calibrated=False)  # raw noisy-OR scores (no reliability map)
    fs = [_f("a", [("lr_too_high", 0.5)]), _f("b", [("lr_too_high", 0.5), ("model_too_small", 0.6)]),
          _f("c", [("model_too_small", -0.5)])]
    h1, c1 = rank(fs, rs)
    h2, c2 = rank(list(reversed(fs)), rs)
    assert h1 == h2
    assert [(c.id, c.score) for c in c1] == [(c.id, c.score) for c in c2]
    scores = {c.id: c.score for c in c1}
    assert scores["lr_too_high"] == pytest.approx(0.75)
    assert scores["model_too_small"] == pytest.approx(0.3)
    assert h1 == "warning" and c1[0].id == "lr_too_high"


def test_ranking_healthy_and_ties():
    rs = builtin_ruleset()
    health, causes = rank([_f("a", [("lr_too_high", 0.2)], severity="info")], rs)
    assert health == "healthy" and causes[0].id == "healthy"
    _, causes = rank([_f("a", [("model_too_small", 0.5), ("lr_too_low", 0.5)])], rs)
    assert [c.id for c in causes] == ["lr_too_low", "model_too_small"]


def test_conditional_weight_reads_as_one_entry(tmp_path):
    from logsleuth.model import Evidence
    from logsleuth.ruleset import cause_text, cause_weight

    text = GOOD.replace("{id: lr_too_low, weight: 0.7}",
                        "{id: lr_too_low, weight: 0.7, when: {measure: no_learning.change, lt: 0.1}, otherwise: 0.2}")
    cause = load_rule_file(_file(tmp_path, text))[0].causes[0]
    assert cause_text(cause) == "lr_too_low 0.7 if no_learning.change < 0.1, else 0.2"

    def ev(change):
        return {"no_learning": Evidence(detector="no_learning", metric="loss", fired=True, confidence=0.9,
                                        measures={"change": change})}
    assert cause_weight(cause, ev(0.05), {}) == 0.7
    assert cause_weight(cause, ev(0.5), {}) == 0.2
    hp = dict(cause, when={"hparam": "batch_size", "le": 4})
    assert cause_weight(hp, ev(0.5), {}) is None  # batch size unknown: neither weight applies


@pytest.mark.parametrize("symptom", sorted({r.symptom for r in builtin_ruleset().rules}))
def test_explain_lists_each_cause_once_per_rule(symptom):
    for line in explain_text(symptom).splitlines():
        if line.strip().startswith("points to:"):
            ids = [part.split()[0] for part in line.split(":", 1)[1].split(";")]
            assert len(ids) == len(set(ids)), line


def test_readme_rule_example_is_valid(tmp_path):
    import re

    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        block = re.search(r"```yaml\n(# my_rules\.yaml.*?)```", fh.read(), re.S)
    assert block, "README lost its rule example"
    rs = load_ruleset([_file(tmp_path, block.group(1))])
    mine = [r for r in rs.rules if r.id == "my.tiny-batch-flat"]
    assert mine and [c["id"] for c in mine[0].causes] == ["batch_too_small", "lr_too_low"]
    assert "spikes.loss" not in {r.id for r in rs.rules}


def test_a_detector_once_named_after_a_cause_still_loads_under_its_old_name(tmp_path):
    """`detector: overfitting` (now val_rise: the detector, the symptom and the cause shared one
    id) keeps working, its clause named `overfitting` so `overfitting.rise` still resolves."""
    from logsleuth.detectors import REGISTRY

    assert not {"overfitting", "exploding_gradients", "vanishing_gradients"} & set(REGISTRY)
    text = GOOD.replace("symptom: no_learning", "symptom: overfitting").replace(
        "metrics: {loss: train_loss}", "metrics: {loss: train_loss, val: val_loss}").replace(
        "{detector: no_learning, series: loss, params: {tol: 1.0e-3}}",
        "{detector: overfitting, series: {train: loss, val: val}, require: {measure: overfitting.rise, gt: 0.2}}")
    clause = load_rule_file(_file(tmp_path, text))[0].detect["all"][0]
    assert clause["detector"] == "val_rise" and clause["name"] == "overfitting"
    bad = text.replace("overfitting.rise", "overfitting.rize")
    with pytest.raises(RuleError, match="has no measure 'rize'"):
        load_rule_file(_file(tmp_path, bad))


def test_severity_and_health_are_ordered_levels_that_stay_plain_words():
    import json

    from logsleuth.model import Health, Severity
    from logsleuth.ranking import health_of

    assert Severity.INFO < Severity.WARNING < Severity.CRITICAL and Health.HEALTHY < Health.UNKNOWN < Health.WARNING
    assert max(Severity("warning"), Severity.CRITICAL) is Severity.CRITICAL
    assert Health.WARNING == "warning" and f"{Health.CRITICAL:>9s}" == " critical" and str(Severity.INFO) == "info"
    assert json.dumps({"h": Health.UNKNOWN}) == '{"h": "unknown"}' and {"warning": 1}[Health.WARNING] == 1
    with pytest.raises(ValueError):
        Severity("loud")
    crit = Finding("r", "divergence", "critical", "loss", 0.9, None, None, "e", ())
    assert health_of([crit]) is Health.CRITICAL and health_of([], judged=False) is Health.UNKNOWN
    assert all(isinstance(r.severity, Severity) for r in builtin_ruleset().rules)


# one user rule on the training loss, with its `detect:` groups and causes written out below it
TASK_RULE = """schema: 1
rules:
  - id: my.rule
    title: a user rule
    symptom: divergence
    severity: warning
    metrics: {{loss: train_loss}}
    detect:
      all:
        - {{name: task, detector: task_kind, series: loss}}
{groups}
    causes:
      - {cause}
"""


def _findings(tmp_path, groups: str, cause: str, curves) -> dict:
    """The findings of the built-in rules plus TASK_RULE (raw scores) on one synthetic run, by rule."""
    from logsleuth.roles import build_series
    from logsleuth.ruleset.evaluation import evaluate

    from rule_specs import run_of

    rs = load_ruleset([_file(tmp_path, TASK_RULE.format(groups=groups, cause=cause))], calibrated=False)
    return {f.rule: f for f in evaluate(rs, build_series(run_of(curves)), {})[0]}


def test_one_alternative_of_any_sets_the_confidence_and_a_repeated_clause_is_said_once(tmp_path):
    """`all` is a conjunction (its weakest clause bounds the finding), `any` a disjunction (its
    strongest passing alternative does): a weaker alternative that also holds leaves the finding
    as sure as the task clause; a clause repeated in `any` is one piece of evidence, said once."""
    import synth

    groups = """      any:
        - {name: task2, detector: task_kind, series: loss}
        - {name: spk, detector: spikes, series: loss}"""
    found = _findings(tmp_path, groups, "{id: lr_too_high, weight: 0.5}", synth.spiky())
    assert found["spikes.loss"].confidence < 1.0  # the weaker alternative holds too
    mine = found["my.rule"]
    assert mine.confidence == 1.0
    task_text = mine.evidence.split("; ")[0]
    assert mine.evidence.count(task_text) == 1 and "spike" in mine.evidence


def test_a_context_clause_sets_a_weight_and_never_decides_whether_the_rule_fires(tmp_path):
    """`context:` clauses are evaluated for their measures: a spike detector that stays quiet does
    not stop the rule, and its measure still picks the cause's weight; context alone is no rule."""
    import synth

    groups = """      context:
        - {name: spk, detector: spikes, series: loss}"""
    cause = "{id: lr_too_high, weight: 0.9, when: {measure: spk.fired, eq: true}, otherwise: 0.2}"
    weight = {}
    for name, curves in (("healthy", synth.healthy(seed=3)), ("spiky", synth.spiky())):
        found = _findings(tmp_path, groups, cause, curves)
        assert "my.rule" in found, name
        weight[name] = dict(found["my.rule"].causes)["lr_too_high"]
        assert found["my.rule"].confidence == 1.0  # the context's confidence is not the finding's
    assert weight == {"healthy": 0.2, "spiky": 0.9}
    no_all = TASK_RULE.format(groups=groups, cause=cause).replace(
        "      all:\n        - {name: task, detector: task_kind, series: loss}\n", "")
    with pytest.raises(RuleError, match="needs at least one of all / any / none"):
        load_ruleset([_file(tmp_path, no_all)])
