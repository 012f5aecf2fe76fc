"""No command prints a traceback on bad input: a bad rules file, a bad roles file, a missing
path, a directory where a file is expected.  Each gets one line naming what is wrong and exit 2."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from logsleuth.cli import EXIT_INTERRUPTED, EXIT_USAGE, main

BAD_RULES = "schema: 1\nrules:\n  - id: my.rule\n    detect: {all: [{detector: nope, series: loss}]}\n"
BAD_ROLES = "loss: [not, a, role\n"


@pytest.fixture
def inputs(tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "metrics.csv").write_text("step,loss\n" + "".join(f"{i},{2.3 / (1 + i)}\n" for i in range(30)))
    (tmp_path / "bad_rules.yaml").write_text(BAD_RULES)
    (tmp_path / "bad_roles.yaml").write_text(BAD_ROLES)
    return {"runs": str(tmp_path / "runs"), "rules": str(tmp_path / "bad_rules.yaml"), "roles": str(tmp_path / "bad_roles.yaml"),
            "missing": str(tmp_path / "no_such_thing"), "dir": str(tmp_path / "runs"), "tmp": str(tmp_path)}


CASES = [
    ("analyze --rules", ["analyze", "--no-cache", "--rules", "{rules}", "{runs}"], "{rules}"),
    ("analyze --roles", ["analyze", "--no-cache", "--roles", "{roles}", "{runs}"], "{roles}"),
    ("analyze missing path", ["analyze", "--no-cache", "{missing}"], "{missing}"),
    ("analyze --rules missing", ["analyze", "--no-cache", "--rules", "{missing}", "{runs}"], "{missing}"),
    ("analyze -o unknown extension", ["analyze", "--no-cache", "-o", "{tmp}/report.xml", "{runs}"], "report.xml"),
    ("analyze --format with two -o", ["analyze", "--no-cache", "--format", "json", "-o", "{tmp}/a.json", "-o", "{tmp}/a.md", "{runs}"],
     "--format json"),
    ("analyze -o into a directory", ["analyze", "--no-cache", "-o", "{tmp}", "{runs}"], ""),
    ("inspect --roles", ["inspect", "--roles", "{roles}", "{runs}"], "{roles}"),
    ("inspect missing path", ["inspect", "{missing}"], "{missing}"),
    ("eval --rules", ["eval", "--rules", "{rules}", "{runs}"], "{rules}"),
    ("eval missing corpus", ["eval", "{missing}"], "{missing}"),
    ("eval a file that is not OUTCOMES", ["eval", "{rules}"], "{rules}"),
    ("rules list --rules", ["rules", "list", "--rules", "{rules}"], "{rules}"),
    ("rules validate", ["rules", "validate", "{rules}"], "{rules}"),
    ("rules validate missing", ["rules", "validate", "{missing}"], "{missing}"),
    ("rules show unknown", ["rules", "show", "no.such.rule"], "no.such.rule"),
    ("rules docs --cases missing", ["rules", "docs", "--cases", "{missing}"], "{missing}"),
    ("explain unknown", ["explain", "no_such_cause"], "no_such_cause"),
    ("cache info not a cache", ["cache", "info", "--cache", "{rules}"], "{rules}"),
    ("cache clear not a cache", ["cache", "clear", "--cache", "{rules}"], "{rules}"),
    ("cache prune not a cache", ["cache", "prune", "--cache", "{rules}"], "{rules}"),
]


@pytest.mark.parametrize("label,args,named", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_message_and_exit_2(inputs, label, args, named):
    argv = [a.format(**inputs) for a in args]
    r = CliRunner().invoke(main, argv)
    out = r.output + (r.stderr if r.stderr_bytes is not None else "")
    assert r.exit_code == EXIT_USAGE, (label, r.exit_code, out)
    assert "Traceback" not in out, out
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), repr(r.exception)
    if named:
        assert named.format(**inputs) in out, out
    assert os.path.exists(inputs["rules"]), "an error path must never delete the user's file"


def test_ctrl_c_exits_130_without_a_traceback(inputs, monkeypatch):
    import logsleuth.scan as scan

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(scan, "analyze_paths", interrupted)
    out = os.path.join(inputs["tmp"], "report.md")
    r = CliRunner().invoke(main, ["analyze", "--no-cache", "-o", out, inputs["runs"]])
    assert r.exit_code == EXIT_INTERRUPTED, r.output
    assert "Traceback" not in r.output and "interrupted" in r.output
    assert not os.path.exists(out)


def test_an_interrupted_write_keeps_the_old_report(tmp_path, monkeypatch):
    from logsleuth import cli

    target = tmp_path / "report.md"
    target.write_text("old report")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        cli._write_whole(str(target), "new report")
    assert target.read_text() == "old report"
    assert os.listdir(tmp_path) == ["report.md"], "the temporary file is removed"
