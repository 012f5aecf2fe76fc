"""Every number an evidence sentence quotes can be checked against the log.

A sentence says "V at step S" only when the series it names has the value V at step S (to the
three significant digits it prints), "from step A to B" / "steps A-B" name steps the series has,
a finding's step range is made of logged steps, and no sentence prints a non-number ("nan x")
or a sign that contradicts its words ("widened by -3 points").  Checked over the firing case
of every rule (tests/rule_cases) and, when ../shared is beside the checkout, over the real runs.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest
from test_rule_cases import CASES

from logsleuth.pipeline import diagnose, run_series

from conftest import SHARED
from rule_specs import build

MINUS = "\u2212"  # what plot labels print; sentences use the ASCII hyphen
NUM = r"[-\u2212]?\d+(?:\.\d+)?(?:e[+-]?\d+)?"
VALUE_AT_STEP = re.compile(rf"(?<![\w.])({NUM}|NaN|Inf|-Inf|NaN/Inf)(?![x%\w]) at step ({NUM})")
STEP_RANGE = re.compile(rf"(?:from step ({NUM}) to ({NUM})|steps ({NUM})-({NUM})|\bstep ({NUM}))")
NONSENSE = [re.compile(p) for p in (r"\bnanx\b", r"\bnan\b(?! *=)", r"\binfx\b", r"widened by -", r"by -0\b",
                                    r"fell only 1x", r"only 1x")]


def _num(text: str) -> float:
    return float(text.replace(MINUS, "-"))


def _same(quoted: str, actual: float) -> bool:
    """Does a printed number stand for this value (printed to 3 significant digits)?"""
    if quoted in ("NaN", "Inf", "-Inf", "NaN/Inf"):
        return not math.isfinite(actual)
    q = _num(quoted)
    if not math.isfinite(actual):
        return False
    mantissa = quoted.replace(MINUS, "").lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    digits = max(len(mantissa), 1)
    # half a unit in the last printed digit, relative to the value's magnitude
    unit = 10 ** (math.floor(math.log10(abs(actual) or 1)) - digits + 1)
    return abs(q - actual) <= 0.51 * unit + 1e-12


def _metric_before(sentence: str, pos: int, names: list[str]) -> str | None:
    """The series a number belongs to: the last series name written before it in its clause."""
    clause = sentence[:pos].split("; ")[-1]
    best, at = None, -1
    for n in names:
        i = clause.rfind(n)
        # a name is a whole token (val/loss is not train/val/loss's tail)
        while i >= 0 and ((i > 0 and (clause[i - 1].isalnum() or clause[i - 1] in "_/")) or
                          (i + len(n) < len(clause) and (clause[i + len(n)].isalnum() or clause[i + len(n)] in "_/"))):
            i = clause.rfind(n, 0, i)
        if i > at:
            best, at = n, i
    return best


def problems(diagnosis, series) -> list[str]:
    """What is wrong with the numbers one diagnosis quotes, given the series its detectors read."""
    out: list[str] = []
    names = sorted(series, key=len, reverse=True)
    all_steps = np.unique(np.concatenate([s.steps for s in series.values()])) if series else np.array([])

    def logged(step: float, metric: str | None) -> bool:
        steps = series[metric].steps if metric in series else all_steps
        return bool(np.any(np.isclose(steps, step, rtol=0, atol=0.5 if step == int(step) else 1e-9)))

    for f in diagnosis.symptoms:
        where = f"{f.rule}: {f.evidence!r}"
        for edge in (f.start_step, f.end_step):
            if edge is not None and not logged(edge, f.metric):
                out.append(f"{where}: step range edge {edge} is not a logged step of {f.metric}")
        for m in VALUE_AT_STEP.finditer(f.evidence):
            metric = _metric_before(f.evidence, m.start(), names)
            step = _num(m.group(2))
            if metric is None:
                out.append(f"{where}: {m.group(0)!r} names no series")
                continue
            s = series[metric]
            hit = np.flatnonzero(np.isclose(s.steps, step, rtol=0, atol=0.5))
            if hit.size == 0:
                out.append(f"{where}: {metric} has no step {m.group(2)}")
            elif not any(_same(m.group(1), float(s.values[i])) for i in hit):
                out.append(f"{where}: {metric} at step {m.group(2)} is {s.values[hit[0]]:.4g}, not {m.group(1)}")
        for m in STEP_RANGE.finditer(f.evidence):
            metric = _metric_before(f.evidence, m.start(), names)
            for g in m.groups():
                if g is not None and not logged(_num(g), metric):
                    out.append(f"{where}: step {g} is not a logged step of {metric or 'any series'}")
        out += [f"{where}: reads {p.pattern!r}" for p in NONSENSE if p.search(f.evidence)]
    return out


def test_checker_catches_wrong_quotes():
    from logsleuth.model import Diagnosis, Finding, Role, Series

    st = np.arange(0, 10.0)
    val = Series("valid_loss", Role("val", "loss", "lower"), st, np.array([.9, .7, .5, .4, .35, .317, .231, .3, .4, .6]))
    good = "valid_loss rose from its best 0.231 at step 6 to 0.6 at step 9 (2.6x)"
    for text, ok in ((good, True), ("valid_loss rose from its best 0.287 at step 5", False),
                     ("valid_loss stayed flat over steps 2-8.5", False), ("valid_loss is only nanx below", False),
                     ("a gap that widened by -0 points", False), ("valid_loss became NaN at step 3", False)):
        d = Diagnosis(run="r", status="ok", health="warning", symptoms=(Finding(rule="x", symptom="overfitting", severity="warning",
                                                                    metric="valid_loss", confidence=1.0, start_step=6.0,
                                                                    end_step=9.0, evidence=text, causes=()),))
        assert (problems(d, {"valid_loss": val}) == []) is ok, text


def _fire_cases():
    return [pytest.param(case, id=f"{rid}-fire{i}") for rid, kind, i, case in CASES if kind == "fire"]


@pytest.mark.parametrize("case", _fire_cases())
def test_rule_case_quotes_match_the_data(case):
    run, _ = build({k: case[k] for k in ("spec", "args", "hparams", "drop") if k in case})
    d = diagnose(run)
    assert not problems(d, run_series(run).series)


REAL = os.path.join(SHARED, "real_logs")


@pytest.mark.skipif(not os.path.isdir(REAL), reason="needs ../shared/real_logs")
def test_real_runs_quotes_match_the_data():
    from logsleuth.errors import LogsleuthError
    from logsleuth.ingest import load_run
    from logsleuth.ingest.discover import discover

    bad = []
    for src in discover([REAL]).runs:
        try:
            run = load_run(src)
        except LogsleuthError:  # unreadable runs are the ingestion tests' business
            continue
        bad += problems(diagnose(run), run_series(run).series)
    assert not bad, "\n".join(bad)


def test_sentences_match_their_numbers():
    """Words that fit the measure: a 12% wobble is 'no clear progress', not 'stayed flat'; a curve
    that is not a positive loss quotes its start instead of a ratio it does not have ('nanx')."""
    from logsleuth.detectors.trend import no_learning, plateau
    from logsleuth.model import Role, Series

    rng = np.random.default_rng(0)
    st = np.arange(1, 401, dtype=float)
    wobble = 1.0 + 0.12 * (st > 200) + rng.normal(0, 0.01, st.size)
    ev = no_learning(Series("loss", Role("train", "loss", "lower"), st, wobble), tol=0.15)
    assert ev.fired and "no clear progress" in ev.text and "stayed flat" not in ev.text, ev.text
    flat = no_learning(Series("loss", Role("train", "loss", "lower"), st, 1.0 + rng.normal(0, 0.001, st.size)))
    assert flat.fired and "stayed flat at 1 from step 1 to 400" in flat.text, flat.text
    # an ELBO-like objective below zero that levels off
    neg = -50.0 * np.exp(-st / 40) - 10.0 + rng.normal(0, 0.01, st.size)
    ev = plateau(Series("neg_elbo", Role("train", "loss", "lower"), st, -neg - 100.0))
    assert ev.fired and "nan" not in ev.text.lower() and "at its start" in ev.text, ev.text
