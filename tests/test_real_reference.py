"""The real-runs reference set (tests/data/real_runs): runs written by other people in public
repositories, labelled by what their own source says, split by repository into a half the rules
may be tuned on and a half that is only reported.  The figures of the reported half are the
ones asserted here (issue 26)."""

from __future__ import annotations

import functools
import os

import pytest
import yaml

from logsleuth.evaluate import REPORT_HALF, TUNE_HALF, evaluate_real_reference, half_of, real_manifests, real_reference_figures

from conftest import REPO

ROOT = os.path.join(REPO, "tests", "data", "real_runs")
REQUIRED = {"repo", "path", "commit", "format", "kind", "outcome", "source_says"}


@functools.cache
def _runs():
    return evaluate_real_reference(ROOT, jobs=2)


def _records():
    out = {}
    for m in real_manifests(ROOT):
        with open(m, encoding="utf-8") as fh:
            for rid, rec in (yaml.safe_load(fh) or {}).items():
                out[(os.path.dirname(m), rid)] = rec
    return out


def test_the_set_is_large_varied_and_has_provenance():
    recs = _records()
    assert len(recs) >= 300, len(recs)
    repos = {r["repo"].lower() for r in recs.values()}
    assert len(repos) >= 150, len(repos)
    assert len({r["kind"] for r in recs.values()}) >= 8
    for (d, rid), r in recs.items():
        missing = REQUIRED - set(r)
        assert not missing, f"{rid}: {missing}"
        assert len(str(r["commit"])) == 40 and os.path.isdir(os.path.join(d, rid)), rid
        assert r["outcome"] in ("fine", "problem", "unknown")
        assert (r["outcome"] == "unknown") == (not r.get("expect")), f"{rid}: an expectation only where the source says"


def test_the_stored_series_stay_small():
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(ROOT) for f in files)
    assert total <= 30 * 2 ** 20, total


def test_halves_are_fixed_by_the_repository_name():
    assert half_of("Owner/Name") == half_of("owner/name")
    halves = {half_of(r["repo"]) for r in _records().values()}
    assert halves == {TUNE_HALF, REPORT_HALF}


def test_reported_half_fine_runs_are_never_critical_and_rarely_warned():
    """The issue's target for fine runs: none critical, at most 5% warned; and no rule on more
    than one of them (a change that warns more good runs fails here)."""
    f = real_reference_figures(_runs())[REPORT_HALF]
    assert f["fine"] >= 30, f
    assert f["fine_critical"] == 0, f
    assert f["fine_flagged"] <= 0.05 * f["fine"], f
    assert max(f["per_rule_on_fine"].values(), default=0) <= 1, f["per_rule_on_fine"]


def test_reported_half_no_rule_fires_on_more_than_one_percent_of_fine_runs():
    f = real_reference_figures(_runs())[REPORT_HALF]
    assert max(f["per_rule_on_fine"].values(), default=0) <= 0.01 * f["fine"], f["per_rule_on_fine"]


def test_reported_half_problem_runs_name_their_cause():
    runs = [r for r in _runs() if r.half == REPORT_HALF and "top3_any" in r.want]
    assert runs
    missed = [(r.run, r.want["top3_any"], r.top3) for r in runs if not r.verdict]
    assert len(missed) <= len(runs) // 2, missed


@pytest.mark.parametrize("half", [TUNE_HALF, REPORT_HALF])
def test_every_half_is_diagnosed_without_errors_that_hide_runs(half):
    runs = [r for r in _runs() if r.half == half]
    assert runs
    assert sum(bool(r.error) for r in runs) <= 0.1 * len(runs), [r.run for r in runs if r.error][:10]
