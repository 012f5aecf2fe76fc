"""Reports a person can read and check (issue 15): the terminal for many runs, each symptom and
its evidence once per run, numbers quoted from the data, one x axis per run."""

from __future__ import annotations

import os
import re

import pytest

from logsleuth.model import CauseScore, Diagnosis, Finding
from logsleuth.report.common import shown_symptoms
from logsleuth.report.terminal import DETAILS, MANY, to_terminal

from conftest import REAL_LOGS, REPO

GOLDEN = os.path.join(REPO, "tests", "golden")
UPDATE = os.environ.get("LOGSLEUTH_UPDATE_GOLDEN") == "1"


def _finding(rule: str, symptom: str, evidence: str, causes=(("lr_too_high", 0.5),)) -> Finding:
    return Finding(rule=rule, symptom=symptom, severity="warning", metric="loss", confidence=0.8, start_step=0.0,
                   end_step=10.0, evidence=evidence, causes=tuple(causes))


def _diag(name: str, health: str = "warning", findings=(), causes=()) -> Diagnosis:
    return Diagnosis(run=name, status="ok", health=health, symptoms=tuple(findings), causes=tuple(causes))


def _many(n_flagged: int, n_healthy: int) -> list[Diagnosis]:
    cause = CauseScore("lr_too_high", 0.7, ("divergence",), ("Lower the learning rate",), "Learning rate too high")
    flagged = [_diag(f"runs/bad{i:02d}", findings=[_finding("div.loss", "divergence", f"loss rose {i + 2}x")],
                     causes=[cause]) for i in range(n_flagged)]
    return flagged + [_diag(f"runs/ok{i:02d}", "healthy") for i in range(n_healthy)]


def test_many_runs_table_names_every_run_and_counts_the_left_out():
    diags = _many(DETAILS + 5, 10)
    text = to_terminal(diags)
    for d in diags:
        assert d.run in text.split("\n\n")[0], f"{d.run} missing from the table"
    details = re.findall(r"^WARNING  (\S+)$", text, flags=re.M)
    assert len(details) == DETAILS
    assert f"{DETAILS} worst of the {DETAILS + 5} runs that need a look; 5 left out" in text
    assert "--all" in text


def test_all_shows_every_run_and_no_left_out_line():
    diags = _many(DETAILS + 5, 3)
    text = to_terminal(diags, show_all=True)
    assert len(re.findall(r"^(WARNING|HEALTHY)  ", text, flags=re.M)) == len(diags)
    assert "left out" not in text


def test_few_runs_have_no_table_and_no_left_out_line():
    text = to_terminal(_many(3, 2))
    assert "first cause  " not in text and "left out" not in text
    assert len(re.findall(r"^(WARNING|HEALTHY)  ", text, flags=re.M)) == 5
    assert MANY > 5


def test_each_symptom_once_and_causes_refer_to_it():
    shared = "loss stayed flat at 2.3 from step 0 to 90 (changed 1.0%)"
    f1 = _finding("flat.loss", "no_learning", shared, [("bad_weight_init", 0.5), ("lr_too_high", 0.3)])
    f2 = _finding("flat.loss-too", "no_learning", shared, [("lr_too_high", 0.3)])  # same thing, another rule
    f3 = _finding("lr.high", "lr_value", "peak learning rate 1 is above 0.5; " + shared, [("lr_too_high", 0.6)])
    causes = [CauseScore("lr_too_high", 0.8, ("no_learning", "lr_value"), ("Lower it",), "Learning rate too high"),
              CauseScore("bad_weight_init", 0.4, ("no_learning",), ("Default init",), "Bad weight initialisation")]
    d = _diag("r", "warning", [f1, f2, f3], causes)
    shown = shown_symptoms(d)
    assert [s.number for s in shown] == [1, 2]
    assert shown[0].rules == ("flat.loss", "flat.loss-too")
    assert shown[1].evidence == "peak learning rate 1 is above 0.5; as in 1"
    text = to_terminal([d])
    assert text.count(shared) == 1
    assert "lr_too_high: Learning rate too high  (from 1, 2)" in text
    assert "bad_weight_init: Bad weight initialisation  (from 1)" in text


def _clauses(run_block: str) -> list[str]:
    out = []
    for line in run_block.splitlines():
        m = re.match(r"^    \d+\. [^:]+: (.*)$", line)
        if m:
            out += [c for c in m.group(1).split("; ") if not c.startswith("as in ")]
    return out


@pytest.fixture(scope="module")
def real_terminal():
    if not os.path.isdir(REAL_LOGS):
        pytest.skip(f"{REAL_LOGS} not present")
    from logsleuth.pipeline import analyze_paths

    cwd = os.getcwd()
    os.chdir(os.path.dirname(REAL_LOGS))
    try:
        res = analyze_paths([os.path.basename(REAL_LOGS)])
    finally:
        os.chdir(cwd)
    return res, to_terminal(res.diagnoses, res.messages)


def test_real_runs_terminal_golden(real_terminal):
    res, text = real_terminal
    table = text.split("\n\n")[0]
    for d in res.diagnoses:
        assert d.run in table or ("..." + d.run[-40:]) in table or d.run[-50:] in table, d.run
    flagged = [d for d in res.diagnoses if d.status == "error" or d.health != "healthy"]
    left = len(flagged) - DETAILS
    assert left > 0 and f"{left} left out" in text
    for block in text.split("\n\n")[1:]:
        clauses = _clauses(block)
        assert len(clauses) == len(set(clauses)), f"an evidence sentence repeats in:\n{block}"
    path = os.path.join(GOLDEN, "real_logs.txt")
    if UPDATE or not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(path, encoding="utf-8") as fh:
        assert text == fh.read(), "real_logs.txt changed; if intended: LOGSLEUTH_UPDATE_GOLDEN=1 pytest"
