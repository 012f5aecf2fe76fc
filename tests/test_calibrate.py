"""`logsleuth calibrate`: the fitting machinery on a small labelled corpus written by the tests
(synthetic curves; the generated torch corpus is what the shipped calibration is fitted to)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from logsleuth import calibrate as cal

import synth
from writers import write_jsonl

# (generator, cause, kind) of the small corpus: two kinds, so that a leave-one-kind-out fold exists
PLAN = [("healthy", "healthy"), ("diverging", "lr_too_high"), ("overfitting", "overfitting"),
        ("slow", "lr_too_low"), ("unshuffled", "data_not_shuffled")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for kind in ("classification", "regression"):
        for gen, cause in PLAN:
            for seed in range(3 if gen == "healthy" else 2):
                d = root / f"{kind}_{gen}_{seed}"
                write_jsonl(str(d / "metrics.jsonl"), synth.GENERATORS[gen](seed=seed + 11))
                (d / "label.yaml").write_text(yaml.safe_dump({
                    "run": d.name, "cause": cause, "also_acceptable": [], "kind": kind,
                    "n_classes": 10 if kind == "classification" else None, "cadence": "step"}))
    (root / "corpus.yaml").write_text("seed: 7\n")
    return str(root)


def test_isotonic_is_non_decreasing_and_pools_violators():
    _, p = cal.isotonic([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
    assert p == sorted(p)
    assert p[0] == 0.0 and p[-1] == 1.0
    assert 0.5 in p  # 0.2 (right) and 0.3 (wrong) pooled


def test_ece_is_zero_when_scores_match_frequencies_and_large_when_overconfident():
    assert cal.ece([0.75] * 4, [True, True, True, False]) == pytest.approx(0.0)
    assert cal.ece([0.95] * 4, [True, False, False, False]) == pytest.approx(0.7)


def test_class_ranges_never_guess():
    assert cal.class_range(None) == "none" and cal.class_range(2) == "2"
    assert cal.class_range(10) == "3-10" and cal.class_range(1000) == "101+" and cal.class_range(True) == "none"


def test_folds_hold_out_each_group_once(corpus):
    items = cal.load_corpus(corpus)
    assert len(items) == 22
    fs = cal.folds(items, ["kind"])
    assert {g for _, g, _, _ in fs} == {"classification", "regression"}
    for _, g, train, test in fs:
        assert not set(train) & set(test) and all(items[i].kind == g for i in test)


def test_calibration_document_has_provenance_held_out_figures_and_loads(corpus, tmp_path):
    grid = {"val_rise.min_rise": [0.05, 0.1, 0.2]}
    doc = cal.run_calibration(corpus, families=["kind"], say=lambda _m: None, grids=grid)
    prov = doc["provenance"]
    assert prov["corpus_seed"] == 7 and prov["runs"] == 22 and prov["healthy"] == 6
    assert {r["held_out"] for r in prov["folds"]} == {"classification", "regression"}
    assert set(prov["held_out"]["kind"]) == {"folds", "top1", "top3", "healthy_flagged", "ece"}
    assert set(doc["parameters"]) <= set(grid)
    for w in doc["weights"].values():
        assert all(-1.0 <= x <= 1.0 for x in w.values())
    m = doc["scores"].get("map")
    if m:
        assert m["p"] == sorted(m["p"]) and m["raw"] == sorted(m["raw"])
    rules = tmp_path / "rules"
    rules.mkdir()
    cal.write_calibration(doc, str(rules / "calibration.yaml"))
    from logsleuth.ruleset import load_ruleset

    rs = load_ruleset([str(rules)])
    assert rs.scores.get("ranking") == doc["scores"]["ranking"]
    assert rs.version != load_ruleset([]).version or not (doc["weights"] or doc["parameters"] or m)


def test_a_fitted_weight_replaces_the_declared_one_and_keeps_otherwise_in_ratio():
    from logsleuth.ruleset import apply_weights, builtin_ruleset

    rs = builtin_ruleset()
    rule = next(r for r in rs.rules if any("otherwise" in c for c in r.causes))
    c = next(c for c in rule.causes if "otherwise" in c)
    new = apply_weights(rs.rules, {rule.id: {c["id"]: c["weight"] / 2}})
    got = next(x for r in new if r.id == rule.id for x in r.causes if x["id"] == c["id"])
    assert got["weight"] == pytest.approx(c["weight"] / 2)
    assert got["otherwise"] == pytest.approx(max(-1.0, min(1.0, c["otherwise"] / 2)))


def test_late_findings_are_discounted_in_the_ranking():
    from logsleuth.model import Finding
    from logsleuth.ranking import rank

    early = Finding("a", "divergence", "warning", "loss", 0.8, 0.0, 100.0, "", (("lr_too_high", 0.8),))
    late = Finding("b", "overfitting", "warning", "val", 0.9, 900.0, 1000.0, "", (("overfitting", 0.8),))

    from types import SimpleNamespace

    flat = SimpleNamespace(causes={}, scores={"ranking": {"late_discount": 0.0}})
    assert rank([early, late], flat)[1][0].id == "overfitting"
    first_leads = SimpleNamespace(causes={}, scores={"ranking": {"late_discount": 0.5}})
    assert rank([early, late], first_leads)[1][0].id == "lr_too_high"


def test_a_calibration_with_a_value_of_the_wrong_kind_is_refused(tmp_path):
    from logsleuth.errors import RuleError
    from logsleuth.ruleset import load_ruleset

    d = tmp_path / "r"
    d.mkdir()
    (d / "calibration.yaml").write_text("parameters: {val_rise.min_rise: high}\n")
    with pytest.raises(RuleError, match=r"val_rise\.min_rise"):
        load_ruleset([str(d)])
    (d / "calibration.yaml").write_text("parameters: {val_rise.no_such: 1.0}\n")
    with pytest.raises(RuleError, match="no such parameter"):
        load_ruleset([str(d)])


def test_the_shipped_calibration_says_where_it_came_from():
    from logsleuth.params import builtin_calibration

    doc = builtin_calibration()
    if not doc:
        pytest.fail("rules/calibration.yaml is missing: run `logsleuth calibrate` (README, Calibration)")
    prov = doc["provenance"]
    assert prov["runs"] >= 1000 and len(prov["kinds"]) >= 8
    assert {"kind", "classes", "cadence"} <= set(prov["held_out"])
    assert np.isfinite(prov["held_out"]["kind"]["top1"])
    assert os.path.basename(prov["corpus"])
    # the shipped values load, and docs/calibration.md is the calibration's own rendering
    from logsleuth.calibrate import calibration_markdown

    from conftest import REPO

    with open(os.path.join(REPO, "docs", "calibration.md"), encoding="utf-8") as fh:
        assert fh.read() == calibration_markdown(doc), "docs/calibration.md is stale: rerun logsleuth calibrate --docs"


@pytest.mark.xfail(strict=True, reason="issue 25 not met yet: the shipped fit saw 2,690 generated runs (seeds 200, "
                   "300 and 400) and reached held-out (by kind) top-1 0.222, top-3 0.336, healthy flagged 0.050, ECE 0.086 "
                   "(targets 0.85, 0.95, 0.03, 0.05); strict, so reaching them fails here")
def test_the_shipped_calibration_meets_the_issue_targets():
    from logsleuth.params import builtin_calibration

    prov = builtin_calibration()["provenance"]
    assert prov["runs"] >= 2000
    kind = prov["held_out"]["kind"]
    assert kind["top1"] >= 0.85 and kind["top3"] >= 0.95 and kind["healthy_flagged"] <= 0.03 and kind["ece"] <= 0.05


def test_inspect_shows_the_kind_of_training_and_what_is_known():
    import json

    from click.testing import CliRunner

    from logsleuth.cli import main

    from conftest import REPO

    out = CliRunner().invoke(main, ["inspect", os.path.join(REPO, "sample_logs", "keras"), "--format", "json"]).output
    ctx = json.loads(out)["runs"][0]["context"]
    assert ctx["kind"] == "classification" and ctx["n_classes"] is None
    assert set(ctx) >= {"kind", "kind_from", "cadence", "optimizer", "lr_schedule", "fine_tune"}
    text = CliRunner().invoke(main, ["inspect", os.path.join(REPO, "sample_logs", "keras")]).output
    assert "kind: classification (one accuracy and one loss are logged); class count not given" in text


def test_a_rule_that_warns_only_on_healthy_runs_is_fitted_to_a_note():
    from types import SimpleNamespace

    from logsleuth.calibrate.corpus import Labelled
    from logsleuth.calibrate.fit import Fitter, demote
    from logsleuth.model import Finding
    from logsleuth.ruleset import builtin_ruleset

    def f(rule, cause):
        return Finding(rule, "plateau", "warning", "loss", 0.9, 0.0, 10.0, "", ((cause, 0.8),))

    items = [Labelled(f"h{i}", "healthy", ("healthy",), "classification", "3-10", "step") for i in range(4)]
    items += [Labelled(f"f{i}", "lr_too_high", ("lr_too_high",), "classification", "3-10", "step") for i in range(4)]
    # "noisy.rule" warns on 3 of 4 healthy runs and ranks no fault; "good.rule" finds every fault
    found = [[[f("noisy.rule", "model_too_small")]] for _ in range(3)] + [[[]]]
    found += [[[f("good.rule", "lr_too_high"), f("noisy.rule", "model_too_small")]] for _ in range(4)]
    bank = SimpleNamespace(ruleset=builtin_ruleset(), grids={}, findings=lambda i, chosen: found[i])
    fit = Fitter(bank, range(len(items)), items).fit()  # type: ignore[arg-type]
    assert fit.demoted == ("noisy.rule",)
    assert fit.train.healthy_flagged == 0.0 and fit.train.top1 == 1.0
    assert all(x.severity == "info" for fr in demote(found, {"noisy.rule"}) for fs in fr for x in fs if x.rule == "noisy.rule")


def test_a_critical_rule_is_never_fitted_to_a_note():
    """The same run set, with the noisy rule critical: the user is never told a broken run is
    fine because the fit saw the rule on healthy runs; it stays critical and healthy flagged."""
    from types import SimpleNamespace

    from logsleuth.calibrate.corpus import Labelled
    from logsleuth.calibrate.fit import Fitter
    from logsleuth.model import Finding
    from logsleuth.ruleset import builtin_ruleset

    def f(rule, cause, severity):
        return Finding(rule, "divergence", severity, "loss", 0.9, 0.0, 10.0, "", ((cause, 0.8),))

    items = [Labelled(f"h{i}", "healthy", ("healthy",), "classification", "3-10", "step") for i in range(4)]
    items += [Labelled(f"f{i}", "lr_too_high", ("lr_too_high",), "classification", "3-10", "step") for i in range(4)]
    found = [[[f("loud.rule", "exploding_gradients", "critical")]] for _ in range(3)] + [[[]]]
    found += [[[f("good.rule", "lr_too_high", "warning"), f("loud.rule", "exploding_gradients", "critical")]]
              for _ in range(4)]
    bank = SimpleNamespace(ruleset=builtin_ruleset(), grids={}, findings=lambda i, chosen: found[i])
    fit = Fitter(bank, range(len(items)), items).fit()  # type: ignore[arg-type]
    assert fit.demoted == ()
    assert fit.train.healthy_flagged == 0.75


def test_rules_named_notes_only_in_a_calibration_report_as_notes(tmp_path):
    from logsleuth.errors import RuleError
    from logsleuth.ruleset import load_ruleset

    d = tmp_path / "r"
    d.mkdir()
    (d / "calibration.yaml").write_text("notes_only: [underfit.train-val-close]\n")
    rs = load_ruleset([str(d)])
    assert next(r for r in rs.rules if r.id == "underfit.train-val-close").severity == "info"
    assert next(r for r in load_ruleset([str(d)], calibrated=False).rules if r.id == "underfit.train-val-close").severity == "warning"
    (d / "calibration.yaml").write_text("notes_only: [underfit.train-val-clos]\n")
    with pytest.raises(RuleError, match="notes_only"):
        load_ruleset([str(d)])


def test_the_seed_of_a_corpus_of_corpora_lists_its_parts(tmp_path):
    for name, seed in (("a", 200), ("b", 300)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "corpus.yaml").write_text(f"seed: {seed}\n")
    from logsleuth.calibrate.run import corpus_seed

    assert corpus_seed(str(tmp_path)) == [200, 300]
    (tmp_path / "corpus.yaml").write_text("seed: 7\n")
    assert corpus_seed(str(tmp_path)) == 7


def _labelled(root, name, gen, cause, seed, kind="classification"):
    d = root / name
    write_jsonl(str(d / "metrics.jsonl"), synth.GENERATORS[gen](seed=seed))
    (d / "label.yaml").write_text(yaml.safe_dump({
        "run": name, "cause": cause, "also_acceptable": [], "kind": kind, "n_classes": 10, "cadence": "step",
        "seed": seed, "notes": f"{gen} curve, seed {seed}"}))


def test_a_refit_is_scored_on_test_corpora_beside_the_calibration_it_would_replace(tmp_path):
    """`--test` corpora are never fitted: the fit and the baseline are scored on them, and a test
    run whose recipe (training seed and description) is also in the fitted corpus is counted,
    since a test sharing the fit's runs is not unseen."""
    from click.testing import CliRunner

    from logsleuth.cli import main

    fit_dir, test_dir = tmp_path / "fit", tmp_path / "test"
    for kind in ("classification", "regression"):
        for gen, cause in PLAN:
            for seed in (11, 12):
                _labelled(fit_dir, f"{kind}_{gen}_{seed}", gen, cause, seed, kind)
    _labelled(test_dir, "same_recipe", "diverging", "lr_too_high", 11)  # the fit saw this one
    for gen, cause in PLAN:
        _labelled(test_dir, f"new_{gen}", gen, cause, 31)
    base = tmp_path / "old.yaml"
    base.write_text(yaml.safe_dump({"schema": 1, "provenance": {"fitted": "2026-01-01", "corpus": "/x/older"},
                                    "notes_only": ["overfit.val-turns-up"]}))
    out, md = tmp_path / "calibration.yaml", tmp_path / "calibration.md"
    r = CliRunner().invoke(main, ["calibrate", str(fit_dir), "--folds", "kind", "-j", "1", "-o", str(out),
                                  "--docs", str(md), "--test", str(test_dir), "--baseline", str(base)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    t = yaml.safe_load(out.read_text())["provenance"]["tested_on"][0]
    assert t["shared_with_fit"] == 1 and t["fit"]["runs"] == 6 and t["fit"]["healthy"] == 1
    assert t["baseline"]["calibration"].startswith("old.yaml (fitted 2026-01-01, older)")
    assert set(t["baseline"]) >= {"top1", "top3", "healthy_flagged", "ece"}
    assert f"({6} runs, 1 shared with the fit)" in r.output and "baseline old.yaml" in r.output
    text = md.read_text()
    assert "## Tested on corpora the fit did not see" in text and "| `test` |" in text and "`old.yaml" in text


def test_a_test_corpus_without_labels_is_a_clear_error(corpus, tmp_path):
    from click.testing import CliRunner

    from logsleuth.cli import main

    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(main, ["calibrate", corpus, "--folds", "kind", "-o", str(tmp_path / "c.yaml"),
                                  "--test", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "no labelled runs" in r.output and "Traceback" not in r.output


def test_a_baseline_that_does_not_load_is_refused_before_the_fit(corpus, tmp_path):
    from click.testing import CliRunner

    from logsleuth.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: 1\nnotes_only: [no.such-rule]\n")
    r = CliRunner().invoke(main, ["calibrate", corpus, "--folds", "kind", "-o", str(tmp_path / "c.yaml"),
                                  "--test", corpus, "--baseline", str(bad)])
    assert r.exit_code == 2 and "--baseline" in r.output and "no.such-rule" in r.output
    assert not (tmp_path / "c.yaml").exists()
