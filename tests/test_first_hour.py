"""Issue 28, the first hour of a new user: a log file's folder is not part of it, `explain`
shows both meanings of an id, exit codes for things named on the command line, progress,
names and paths as the user gave them, a terminal report that says a remedy once and fits
the terminal."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from logsleuth.cli import main
from logsleuth.model import Analysis, CauseScore, Diagnosis, Finding
from logsleuth.report.terminal import to_terminal
from logsleuth.scan import inside_analysed, open_cache

CSV = "step,loss\n" + "".join(f"{s},{2.0 / (s + 1) + 0.01:.4f}\n" for s in range(60))


def cli(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


# ------------------------------------------------------------------ 1. a file's folder is not inside it

def test_a_report_beside_the_log_file_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.csv").write_text(CSV)
    r = cli("analyze", "train.csv", "-o", "report.html", "-q", "--no-cache")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "report.html").is_file()
    # the log itself, and anything inside an analysed directory, stay protected
    assert cli("analyze", "train.csv", "-o", "train.csv", "--format", "json").exit_code == 2
    (tmp_path / "d").mkdir()
    assert inside_analysed(str(tmp_path / "d" / "r.md"), [str(tmp_path / "d")])
    assert not inside_analysed(str(tmp_path / "r.md"), [str(tmp_path / "train.csv")])


def test_a_log_file_in_the_home_folder_keeps_the_cache_on(tmp_path):
    home = tmp_path / "home"
    (home / ".cache" / "logsleuth").mkdir(parents=True)
    (home / "train.csv").write_text(CSV)
    cache, note = open_cache(str(home / ".cache" / "logsleuth" / "d.sqlite"), [str(home / "train.csv")])
    assert cache is not None and note is None
    cache.close()


def test_a_missing_path_gives_no_false_cache_note(tmp_path):
    r = CliRunner().invoke(main, ["analyze", str(tmp_path / "nope"), "--cache", str(tmp_path / "c.sqlite")])
    assert r.exit_code == 2 and "inside an analysed path" not in r.output
    assert "no such file or directory" in r.output


# ------------------------------------------------------------------ 2. explain: both meanings

@pytest.mark.parametrize("ident", ["overfitting", "exploding_gradients", "vanishing_gradients"])
def test_explain_of_a_symptom_that_is_also_a_cause_shows_its_remedies(ident):
    out = cli("explain", ident).output
    assert f"{ident} (symptom)" in out and f"{ident} (cause)" in out
    assert "What to do, easiest first:" in out and "  1. " in out


def test_did_you_mean_names_each_id_once():
    r = CliRunner().invoke(main, ["explain", "overfiting"])
    assert r.exit_code == 2
    near = re.search(r"did you mean (.*)\?", r.output).group(1).split(", ")
    assert "overfitting" in near and len(near) == len(set(near))


# ------------------------------------------------------------------ 7. exit codes

def test_a_non_log_file_named_on_the_command_line_exits_2(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\nworld\n")
    r = CliRunner().invoke(main, ["analyze", str(notes), "-q", "--no-cache"])
    assert r.exit_code == 2 and "not a training log" in r.output


def test_an_unreadable_run_named_on_the_command_line_exits_2_but_not_inside_a_tree(tmp_path):
    ev = tmp_path / "tree" / "bad"
    ev.mkdir(parents=True)
    (ev / "events.out.tfevents.1.host").write_bytes(b"garbage")
    (tmp_path / "tree" / "good").mkdir()
    (tmp_path / "tree" / "good" / "metrics.csv").write_text(CSV)
    assert CliRunner().invoke(main, ["analyze", str(ev), "-q", "--no-cache"]).exit_code == 2
    assert CliRunner().invoke(main, ["analyze", str(ev / "events.out.tfevents.1.host"), "-q", "--no-cache"]).exit_code == 2
    r = CliRunner().invoke(main, ["analyze", str(tmp_path / "tree"), "-q", "--no-cache", "--format", "json"])
    assert r.exit_code == 0 and '"status": "error"' in r.output


# ------------------------------------------------------------------ 6. the terminal report: once, and narrow

def _flagged(name: str, remedy: str = "Lower the learning rate by 3-10x and rerun a short test; keep the largest rate "
             "that does not diverge.") -> Diagnosis:
    cause = CauseScore("lr_too_high", 0.7, ("divergence",), (remedy,), "Learning rate too high")
    f = Finding(rule="div.loss", symptom="divergence", severity="warning", metric="loss", confidence=0.8,
                start_step=0.0, end_step=10.0, causes=(("lr_too_high", 0.5),),
                evidence="loss rose 12x over the run " + "and kept rising, " * 12 + "until the end")
    return Diagnosis(run=name, status="ok", health="warning", symptoms=(f,), causes=(cause,))


def test_a_remedy_is_written_once_then_referred_to():
    text = to_terminal(Analysis(diagnoses=[_flagged("runs/a"), _flagged("runs/b"), _flagged("runs/c")]))
    assert text.count("Lower the learning rate by 3-10x") == 1
    assert text.count("try first: as under runs/a above") == 2


@pytest.mark.parametrize("width", [80, 120])
def test_the_terminal_report_fits_the_width_and_keeps_long_tokens_whole(width):
    path = "runs/" + "very_long_directory_name_" * 3 + "r1"
    text = to_terminal(Analysis(diagnoses=[_flagged(path)]), width=width)
    lines = text.splitlines()
    assert all(len(x) <= width or " " not in x.strip() for x in lines), [x for x in lines if len(x) > width]
    assert path in text  # not broken
    cont = [x for x in lines if x.startswith("       ") and not x.strip().startswith(("try", "0."))]
    assert cont, "a long evidence line wraps with its continuation indented under the text"


def test_the_cli_wraps_to_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    (tmp_path / "metrics.csv").write_text("step,loss\n" + "".join(f"{s},{0.5 * 1.15 ** s:.4f}\n" for s in range(60)))
    r = cli("analyze", str(tmp_path), "--no-cache", "-q", "--no-color")
    assert r.exit_code == 0
    assert all(len(x) <= 70 or " " not in x.strip() for x in r.output.splitlines()), r.output


# ------------------------------------------------------------------ 5. names and paths as the report shows runs

def test_warnings_and_inspect_name_files_as_runs_are_named(tmp_path, monkeypatch):
    run = tmp_path / "logs" / "r1"
    run.mkdir(parents=True)
    (run / "history.csv").write_text("loss,val_loss\n" + "".join(f"{1 / (i + 1):.4f},{1.1 / (i + 1):.4f}\n"
                                                                 for i in range(20)))
    elsewhere = tmp_path / "a" / "b" / "c"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    r = cli("analyze", str(tmp_path / "logs"), "--no-cache", "-q", "--format", "json", "--no-color")
    doc = r.output
    assert "logs/r1" in doc and str(tmp_path) not in doc, doc
    r = cli("inspect", str(tmp_path / "logs"))
    assert "../" not in r.output and str(tmp_path) not in r.output and "logs/r1" in r.output, r.output
    r = cli("inspect", str(tmp_path / "logs"), "--format", "json")
    assert '"logs/r1/history.csv"' in r.output


# ------------------------------------------------------------------ 8. compare: settings and keys

def test_compare_does_not_call_a_log_folders_version_a_setting_and_shares_analyzes_keys(tmp_path, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    a, b = "lr=0.1/version_0", "lr=0.2/version_3"
    for d in (a, b):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "metrics.csv").write_text(CSV)
    doc = json.loads(cli("compare", a, b, "--format", "json").output)
    keys = [h["key"] for h in doc["comparisons"][0]["hyperparameters"]]
    assert "lr" in keys and "version" not in keys
    analyzed = json.loads(cli("analyze", a, "--format", "json", "--no-cache", "-q").output)
    assert {"schema", "logsleuth_version", "runs"} <= set(doc) and {"schema", "logsleuth_version", "runs"} <= set(analyzed)
    assert doc["schema"] == analyzed["schema"] and doc["logsleuth_version"] == analyzed["logsleuth_version"]


# ------------------------------------------------------------------ 3. signs of life on long work

def test_a_phase_with_nothing_finished_still_shows_the_time_spent():
    import io
    import time

    from logsleuth.progress import Progress

    buf = io.StringIO()
    with Progress(1, enabled=True, stream=buf, tick=0.05, what="runs"):
        time.sleep(0.3)  # one very large file being read: no run finishes
    assert "0/1 runs" in buf.getvalue() and "so far)" in buf.getvalue()
    assert buf.getvalue().endswith("\r\x1b[K")  # the line is cleared at the end
    quiet = io.StringIO()
    with Progress(1, enabled=False, stream=quiet, tick=0.05):
        time.sleep(0.1)
    assert quiet.getvalue() == ""


def test_plots_and_reports_have_their_own_progress_line(monkeypatch, capsys):
    import numpy as np

    from logsleuth.model import Analysis as A
    from logsleuth.report.plots import render_all

    st = np.arange(50.0)
    diags, curves = [], {}
    for i in range(3):
        diags.append(Diagnosis(run=f"r{i}", status="ok", health="healthy"))
        curves[f"r{i}"] = {"train_loss": ("loss", st, np.exp(-st / 10))}
    pngs = render_all(A(diagnoses=diags, curves=curves), jobs=1, progress=True)
    assert len(pngs) == 3
    err = capsys.readouterr().err
    assert "3/3 plots" in err and err.endswith("\r\x1b[K")


# ------------------------------------------------------------------ 4. plots

def _curves(**roles):
    import numpy as np

    return {r: (name, np.asarray(st, float), np.asarray(v, float)) for r, (name, st, v) in roles.items()}


def test_a_one_point_run_has_no_empty_plot_but_words():
    from logsleuth.report.html import to_html
    from logsleuth.report.markdown import to_markdown
    from logsleuth.report.plots import NO_PLOT, png_bytes

    d = Diagnosis(run="r", status="ok", health="unknown")
    c = _curves(train_loss=("loss", [5], [0.7]))
    assert png_bytes(d, c) is None
    res = Analysis(diagnoses=[d], curves={"r": c})
    assert NO_PLOT in to_html(res) and NO_PLOT in to_markdown(res)


def test_plot_ticks_are_whole_steps_the_legend_avoids_the_curves_and_accuracies_share_a_scale():
    from logsleuth.report.plots import _TEMPLATES, png_bytes

    d = Diagnosis(run="r", status="ok", health="healthy")
    c = _curves(train_loss=("loss", [0, 1, 2, 3], [1.0, 0.8, 0.7, 0.65]),
                train_accuracy=("acc", [0, 1, 2, 3], [0.2, 0.5, 0.7, 0.8]),
                val_accuracy=("val_acc", [0, 1, 2, 3], [18.0, 45.0, 66.0, 75.0]))  # logged in percent
    assert png_bytes(d, c)
    tpl = _TEMPLATES[True]
    lo, hi = tpl.ax.get_xlim()
    ticks = [t for t in tpl.ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert tpl.ax.get_legend()._loc == 0  # "best"
    ys = [max(tpl.lines[r].get_ydata()) for r in ("train_accuracy", "val_accuracy")]
    assert max(ys) <= 1.0, ys


def test_compare_plots_are_drawn_at_the_run_plots_size():
    import struct

    import numpy as np

    from logsleuth.comparison import Comparison, MetricDiff, PairComparison
    from logsleuth.report.compare import overlay_png
    from logsleuth.report.style import DPI, WIDTH_IN

    st = np.arange(50.0)
    m = MetricDiff(metric="train_loss", role="train_loss", direction="lower", parting_step=20.0, common_from=0.0,
                   common_to=49.0, end_baseline=0.1, end_other=0.5, change=4.0, better="baseline")
    p = PairComparison(baseline="a", other="b", hparams=(), metrics=(m,), only_baseline=(), only_other=())
    c = Comparison(diagnoses=(), pairs=(p,), curves={"a": {"train_loss": (st, np.exp(-st / 10))},
                                                      "b": {"train_loss": (st, np.exp(-st / 30))}})
    png = overlay_png(c, p, m)
    width = struct.unpack(">I", png[16:20])[0]
    assert width == int(WIDTH_IN * DPI)


# ------------------------------------------------------------------ the README's example is a real report

def test_the_readme_terminal_example_is_what_analyze_prints(monkeypatch):
    """The runs, their health and the summary line of the README's example are those of
    `logsleuth analyze sample_logs/` now (the evidence wording may be refined without it)."""
    import os

    from conftest import REPO

    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    block = text.split("```text\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("COLUMNS", "100")
    out = cli("analyze", "sample_logs/", "--no-cache", "-q", "--no-color").output
    heads = [x for x in block.splitlines() if re.match(r"(CRITICAL|WARNING|HEALTHY|UNKNOWN)  ", x)
             or re.match(r"\d+ run\(s\): ", x)]
    assert len(heads) >= 3
    for h in heads:
        assert h in out.splitlines(), h
