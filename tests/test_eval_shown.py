"""`logsleuth eval` also scores the faulty runs whose label names a symptom: a fault whose
curves show none is beyond any reader of the logs, and the figure says how much of a miss
rate is that."""

from __future__ import annotations

from logsleuth.evaluate import Case, Scores, format_scores


def _case(name, cause, symptoms, predicted):
    return Case(name, cause, (cause,), tuple(symptoms), predicted=tuple(predicted))


def test_faulty_runs_without_a_labelled_symptom_leave_the_shown_figures():
    s = Scores([
        _case("a", "lr_too_high", ["divergence"], ["lr_too_high"]),
        _case("b", "lr_too_low", [], ["healthy"]),  # no symptom in its curves: missed by anyone
        _case("c", "overfitting", ["overfitting"], ["healthy", "overfitting"]),
        _case("h", "healthy", [], ["healthy"]),
    ])
    v = s.shown()
    assert [c.name for c in v.cases] == ["a", "c", "h"]  # healthy runs stay: their false alarms count
    assert s.top_k(1) == 1 / 3 and v.top_k(1) == 1 / 2
    assert v.detection() == 1 / 2 and v.top_k(3) == 1.0
    text = format_scores(s)
    assert "names a symptom: 2 (1 name none): top-1 0.500, top-3 1.000, detection 0.500" in text
    assert s.as_dict()["with_symptoms"] == {"faulty": 2, "top1": 0.5, "top3": 1.0, "detection_rate": 0.5}


def test_the_line_is_left_out_when_every_faulty_label_names_a_symptom():
    s = Scores([_case("a", "lr_too_high", ["divergence"], ["lr_too_high"]), _case("h", "healthy", [], ["healthy"])])
    assert "names a symptom" not in format_scores(s)


def test_a_run_nothing_could_be_judged_on_is_neither_an_alarm_nor_a_detection():
    """Health unknown (two logged epochs) or an unreadable run: no first cause.  "Cannot judge" is
    an honest answer, not a warning on a good run, and not a found fault either."""
    s = Scores([
        _case("h1", "healthy", [], []),  # cannot judge
        _case("h2", "healthy", [], ["healthy"]),
        _case("h3", "healthy", [], ["overfitting", "healthy"]),  # a false alarm
        _case("f1", "lr_too_high", ["divergence"], []),  # cannot judge
        _case("f2", "lr_too_high", ["divergence"], ["lr_too_high"]),
    ])
    assert s.false_alarms() == 1 / 3 and s.detection() == 1 / 2
    assert ("healthy", "none", 1) not in s.confusions() and ("healthy", "overfitting", 1) in s.confusions()
    assert dict((c, (n, t1)) for c, n, t1, _ in s.per_cause())["healthy"] == (3, 2)
    assert "not judged (cannot judge or unreadable): 1 faulty, 1 healthy" in format_scores(s)
