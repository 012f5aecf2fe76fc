from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared"))
FAULT_CORPUS = os.environ.get("LOGSLEUTH_FAULT_CORPUS", os.path.join(SHARED, "fault_corpus"))
REAL_LOGS = os.environ.get("LOGSLEUTH_REAL_LOGS", os.path.join(SHARED, "real_logs"))
REPO = os.path.normpath(os.path.join(HERE, ".."))
# subprocesses (`python -c ...`, `python -m logsleuth`) import this checkout, not whichever copy
# is installed in the environment (an editable install of another worktree)
os.environ["PYTHONPATH"] = os.pathsep.join([REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The CLI's default cache goes to a throwaway directory, not the user's ~/.cache."""
    old = os.environ.get("LOGSLEUTH_CACHE")
    os.environ["LOGSLEUTH_CACHE"] = str(tmp_path_factory.mktemp("cache") / "diagnoses.sqlite")
    yield
    if old is None:
        os.environ.pop("LOGSLEUTH_CACHE", None)
    else:
        os.environ["LOGSLEUTH_CACHE"] = old


@pytest.fixture
def write(tmp_path):
    """write(relative_path, text or bytes) -> absolute path."""

    def _w(rel: str, content) -> str:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
        return str(p)

    return _w


@pytest.fixture
def declared_values(monkeypatch):
    """The built-in rules at their declared values, without the fitted calibration: rule cases
    and rule unit tests pin the logic of each rule at the values rules/parameters.yaml and the
    rule files declare (the shipped fit moves some; tests/test_calibrate.py checks the fit)."""
    import logsleuth.ruleset as ruleset_pkg
    from logsleuth.ruleset import loading

    rs = loading.load_ruleset([], calibrated=False)
    monkeypatch.setattr(loading, "builtin_ruleset", lambda: rs)
    monkeypatch.setattr(ruleset_pkg, "builtin_ruleset", lambda: rs)
    return rs


def series_of(table, name):
    """Steps and values of one metric of a tidy table, as lists."""
    g = table[table.metric == name]
    return list(g.step), list(g.value)


def load_one(path):
    """The one run discovered at `path`, loaded."""
    from logsleuth.ingest import discover, load_run

    runs = discover([str(path)]).runs
    assert len(runs) == 1, runs
    return load_run(runs[0])
