"""The command line (exit codes of CONTRACT.md), the JSON report against its schema, golden
Markdown and JSON for sample_logs/, and escaping of everything that comes from a log."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from logsleuth.cli import main
from logsleuth.report import to_json, to_markdown
from logsleuth.scan import analyze_paths

from conftest import FAULT_CORPUS, REPO

GOLDEN = os.path.join(REPO, "tests", "golden")
UPDATE = os.environ.get("LOGSLEUTH_UPDATE_GOLDEN") == "1"
HOSTILE = "<img src=x onerror=alert(1)>"


def cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def _golden(name: str, text: str) -> None:
    path = os.path.join(GOLDEN, name)
    if UPDATE or not os.path.exists(path):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(path, encoding="utf-8") as fh:
        assert text == fh.read(), f"{name} changed; if intended: LOGSLEUTH_UPDATE_GOLDEN=1 pytest"


def test_golden_json_and_markdown_of_sample_logs(in_repo):
    res = analyze_paths(["sample_logs"])
    assert len(res.diagnoses) == 7 and all(d.status == "ok" for d in res.diagnoses)
    _golden("sample_logs.json", to_json(res))
    _golden("sample_logs.md", to_markdown(res))


def test_json_report_follows_schema(in_repo):
    jsonschema = pytest.importorskip("jsonschema")
    r = cli("analyze", "sample_logs", "--format", "json")
    assert r.exit_code == 0
    doc = json.loads(r.output)
    with open(os.path.join(REPO, "logsleuth", "report_schema.json")) as fh:
        jsonschema.validate(doc, json.load(fh))
    assert doc["schema"] == 1
    for run in doc["runs"]:
        scores = [c["score"] for c in run["causes"]]
        assert scores == sorted(scores, reverse=True) or run["causes"][0]["id"] == "healthy"


def test_exit_codes(in_repo, tmp_path):
    assert cli("analyze", "sample_logs").exit_code == 0
    assert cli("analyze", "sample_logs", "--fail-on", "critical").exit_code == 1
    assert cli("analyze", "sample_logs/tensorboard/healthy_tf2", "--fail-on", "warning").exit_code == 0
    r = cli("analyze", "sample_logs", str(tmp_path / "missing"))
    assert r.exit_code == 2 and "missing" in r.output
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"")
    assert cli("analyze", str(bad)).exit_code == 2
    assert cli("analyze", "sample_logs", "--format", "nope").exit_code == 2


def test_broken_run_in_tree_is_status_error_not_exit_2(tmp_path):
    (tmp_path / "t" / "good").mkdir(parents=True)
    (tmp_path / "t" / "good" / "m.jsonl").write_text('{"step": 1, "loss": 2}\n{"step": 2, "loss": 1}\n')
    (tmp_path / "t" / "bad").mkdir()
    (tmp_path / "t" / "bad" / "metrics.csv").write_text("")
    r = cli("analyze", str(tmp_path / "t"), "--format", "json")
    assert r.exit_code == 0
    status = sorted(x["status"] for x in json.loads(r.output)["runs"])
    assert status == ["error", "ok"]


def test_refuses_to_write_inside_analysed_tree(tmp_path, in_repo):
    import shutil

    shutil.copytree(os.path.join(REPO, "sample_logs", "keras"), tmp_path / "logs")
    r = cli("analyze", str(tmp_path / "logs"), "--format", "markdown", "-o", str(tmp_path / "logs" / "r.md"))
    assert r.exit_code == 2 and "refusing" in r.output
    assert not (tmp_path / "logs" / "r.md").exists()


def _tree_hash(root):
    h = hashlib.sha256()
    for dirpath, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            h.update(p.encode())
            h.update(open(p, "rb").read())
    return h.hexdigest()


def test_nothing_written_inside_analysed_tree(tmp_path, in_repo):
    import shutil

    shutil.copytree(os.path.join(REPO, "sample_logs"), tmp_path / "logs")
    before = _tree_hash(tmp_path / "logs")
    cache = tmp_path / "cache.sqlite"
    for fmt in ("terminal", "json", "markdown", "html"):
        out = tmp_path / f"report.{fmt}"
        assert cli("analyze", str(tmp_path / "logs"), "--format", fmt, "-o", str(out), "--cache", str(cache)).exit_code == 0
    assert _tree_hash(tmp_path / "logs") == before
    assert (tmp_path / "report_files").is_dir()
    assert cache.is_file()  # the cache was on, and wrote outside the tree


def _hostile_run(tmp_path):
    from writers import write_tensorboard

    st = np.arange(60, dtype=float)
    d = tmp_path / "logs" / f"run {HOSTILE}"
    write_tensorboard(str(d), {f"loss/{HOSTILE}": (st, 2 * np.exp(-st / 20) + 0.1), "val/acc": (st[::10], np.linspace(0.1, 0.9, 6))})
    return str(tmp_path / "logs")


def test_html_and_markdown_escape_log_text(tmp_path):
    root = _hostile_run(tmp_path)
    out = tmp_path / "out" / "r.html"
    out.parent.mkdir()
    assert cli("analyze", root, "--format", "html", "-o", str(out)).exit_code == 0
    html = out.read_text()
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    md = to_markdown(analyze_paths([root]))
    assert HOSTILE not in md


def test_html_is_self_contained(in_repo, tmp_path):
    out = tmp_path / "r.html"
    assert cli("analyze", "sample_logs", "--format", "html", "-o", str(out)).exit_code == 0
    html = out.read_text()
    assert "<svg" in html and 'role="img"' in html and "<img" not in html  # plots are inline SVG
    body = html.split("<body>", 1)[1]
    # nothing is loaded from elsewhere; the references are links a reader may follow
    for needle in ('src="http', "src='http", 'src="/', "<link", "url(", "@import"):
        assert needle not in body
    assert 'href="https://cs231n.github.io/' in body


def test_inspect_rules_explain_commands(in_repo, tmp_path):
    r = cli("inspect", "sample_logs/keras")
    assert r.exit_code == 0 and "val_loss" in r.output and "val_loss " in r.output
    assert "divergence.loss-rises" in cli("rules", "list").output
    assert "lr_too_high" in cli("rules", "show", "divergence.loss-rises").output
    assert cli("rules", "show", "divergence.loss-rise").exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: 1\nrules:\n  - id: x\n    severity: loud\n")
    r = cli("rules", "validate", str(bad))
    assert r.exit_code == 2 and f"{bad}:" in r.output
    assert cli("rules", "validate", os.path.join(REPO, "rules", "divergence.yaml")).exit_code == 0
    assert "Learning rate too high" in cli("explain", "lr_too_high").output
    assert cli("explain", "nonsense").exit_code == 2
    r = cli("--version")
    assert r.exit_code == 0 and "0.1.0" in r.output


@pytest.mark.skipif(not os.path.isdir(FAULT_CORPUS), reason="shared fault_corpus not present")
def test_eval_on_the_fault_corpus_raises_no_false_alarm():
    """The fault corpus is a report, never a target; what must hold there is trust: no healthy
    run flagged, and the eval itself works."""
    r = cli("eval", FAULT_CORPUS, "--format", "json")
    assert r.exit_code == 0
    s = json.loads(r.output)
    assert s["false_alarm_rate"] == 0.0, s["false_alarm_rate"]


@pytest.mark.skipif(not os.path.isdir(FAULT_CORPUS), reason="shared fault_corpus not present")
@pytest.mark.xfail(strict=True, reason="report below the issue's 0.90 / 0.97 since class counts are no longer read off "
                   "loss values and the fit came from the generated corpus (rules whose warnings cost more on its "
                   "healthy runs than they find report as notes, slow.still-falling among them): 0.646 / 0.833 measured")
def test_eval_on_the_fault_corpus_reaches_the_reported_figures_of_the_issue():
    s = json.loads(cli("eval", FAULT_CORPUS, "--format", "json").output)
    assert s["top1"] >= 0.90 and s["top3"] >= 0.97




def test_the_overview_is_computed_once_for_every_report_of_one_analysis(tmp_path, monkeypatch):
    """-o a.html -o a.md -o a.json and the terminal: one overview, carried in the Analysis."""
    import logsleuth.sweep as sweep

    calls = []
    real = sweep.overview
    monkeypatch.setattr(sweep, "overview", lambda diags: calls.append(1) or real(diags))
    outs = [str(tmp_path / f"r.{x}") for x in ("html", "md", "json")]
    args = [a for o in outs for a in ("-o", o)]
    res = cli("analyze", os.path.join(REPO, "sample_logs"), "--no-cache", "-q", *args)
    assert res.exit_code == 0 and all(os.path.getsize(o) > 0 for o in outs)
    assert len(calls) == 1
