"""Batch scans (#5): executors give identical diagnoses, the cache serves unchanged runs and
re-reads changed ones, sweeps are summarised, progress is drawn only on a terminal."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import re
import sqlite3
import time

import numpy as np
import pytest
from click.testing import CliRunner

from logsleuth.cache import DiagnosisCache, curves_blob, curves_from_blob
from logsleuth.cli import main
from logsleuth.model import CauseScore, Diagnosis, MetricInfo, diagnosis_from_dict, diagnosis_to_dict
from logsleuth.pipeline import Options, analyze_source
from logsleuth.progress import Progress, progress_text
from logsleuth.report import to_json
from logsleuth.scan import analyze_paths
from logsleuth.sweep import name_params, overview

import synth
import writers
from conftest import FAULT_CORPUS, REPO


def _mixed_tree(root: str, n: int = 20) -> None:
    gens = list(synth.GENERATORS.values())
    for i in range(n):
        c = gens[i % len(gens)](seed=i)
        d = os.path.join(root, f"group_{i % 3}", f"run_{i:02d}")
        [writers.write_jsonl, writers.write_keras_csv, writers.write_trainer_state][i % 3](
            os.path.join(d, ["metrics.jsonl", "training.log", "trainer_state.json"][i % 3]), c)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch") / "runs"
    _mixed_tree(str(root))
    return str(root)


def _report(result) -> dict:
    return json.loads(to_json(result))


# ---------------------------------------------------------------- executors

def test_jobs_1_and_jobs_2_give_identical_reports(tree):
    one = analyze_paths([tree], jobs=1, curves=False)
    two = analyze_paths([tree], jobs=2, curves=False)
    assert len(one.diagnoses) == 20
    assert [d.run for d in one.diagnoses] == [d.run for d in two.diagnoses]  # discovery order kept
    assert _report(one) == _report(two)
    assert any(d.health != "healthy" for d in one.diagnoses)


def test_dask_local_cluster_gives_identical_reports(tree):
    from dask.distributed import LocalCluster  # in the test extra: a missing dask fails, not skips

    local = analyze_paths([tree], jobs=1, curves=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = analyze_paths([tree], curves=False, executor="dask", scheduler=cluster.scheduler_address)
    assert _report(local) == _report(remote)


def test_cli_dask_executor_without_scheduler_uses_a_local_cluster(tree, tmp_path):
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["analyze", tree, "--executor", "dask", "-j", "2", "--no-cache", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert len(json.loads(out.read_text())["runs"]) == 20


def test_scheduler_without_dask_executor_is_a_usage_error(tree):
    res = CliRunner().invoke(main, ["analyze", tree, "--scheduler", "tcp://127.0.0.1:1"])
    assert res.exit_code == 2 and "--executor dask" in res.output


# ---------------------------------------------------------------- cache

@pytest.mark.skipif(not os.path.isdir(FAULT_CORPUS), reason="shared fault_corpus not present")
def test_cache_roundtrip_keeps_every_field():
    res = analyze_paths([os.path.join(FAULT_CORPUS, n) for n in sorted(os.listdir(FAULT_CORPUS))[:12]
                         if os.path.isdir(os.path.join(FAULT_CORPUS, n))], jobs=1)
    assert res.curves
    for d in res.diagnoses:
        assert diagnosis_from_dict(json.loads(json.dumps(diagnosis_to_dict(d, exact=True)))) == d
        curves = res.curves.get(d.run, {})
        back = curves_from_blob(curves_blob(curves))
        assert back.keys() == curves.keys()
        for role, (m, s, v) in curves.items():
            assert back[role][0] == m
            assert (back[role][1] == s).all()
            assert ((back[role][2] == v) | (back[role][2] != back[role][2])).all()


def test_rescan_is_served_from_the_cache_and_identical(tree, tmp_path):
    cache = DiagnosisCache(str(tmp_path / "c.sqlite"))
    first = analyze_paths([tree], jobs=1, cache=cache, curves=False)
    assert first.stats == {"cached": 0, "analysed": 20}
    again = analyze_paths([tree], jobs=1, cache=cache, curves=False)
    assert again.stats == {"cached": 20, "analysed": 0}
    assert _report(first) == _report(again)
    # curves wanted but not stored: those entries are misses, re-analysed and stored with curves
    with_curves = analyze_paths([tree], jobs=1, cache=cache, curves=True)
    assert with_curves.stats["analysed"] == 20
    assert analyze_paths([tree], jobs=1, cache=cache, curves=True).stats["cached"] == 20


def test_changed_file_is_reread(tmp_path):
    root = tmp_path / "runs"
    _mixed_tree(str(root), n=4)
    cache = DiagnosisCache(str(tmp_path / "c.sqlite"))
    before = {d.run: d for d in analyze_paths([str(root)], jobs=1, cache=cache, curves=False).diagnoses}
    target = root / "group_0" / "run_00" / "metrics.jsonl"
    st = os.stat(target)
    writers.write_jsonl(str(target), synth.diverging(seed=5))  # new content
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: only the content hash differs
    after = analyze_paths([str(root)], jobs=1, cache=cache, curves=False)
    assert after.stats == {"cached": 3, "analysed": 1}
    changed = {d.run: d for d in after.diagnoses}
    name = next(n for n in changed if n.endswith("run_00"))
    assert changed[name] != before[name]


def test_changed_rules_reevaluate(tree, tmp_path):
    from logsleuth.ruleset import load_ruleset

    cache = DiagnosisCache(str(tmp_path / "c.sqlite"))
    analyze_paths([tree], jobs=1, cache=cache, curves=False)
    rules = tmp_path / "mine.yaml"
    rules.write_text("schema: 1\ndisable: [divergence.loss-rises]\n")
    opts = Options(ruleset=load_ruleset([str(rules)]))
    res = analyze_paths([tree], opts, jobs=1, cache=cache, curves=False)
    assert res.stats == {"cached": 0, "analysed": 20}
    assert analyze_paths([tree], opts, jobs=1, cache=cache, curves=False).stats["cached"] == 20


def test_errors_are_not_cached(tmp_path):
    (tmp_path / "runs" / "bad").mkdir(parents=True)
    (tmp_path / "runs" / "bad" / "metrics.csv").write_text("step,loss\n")
    cache = DiagnosisCache(str(tmp_path / "c.sqlite"))
    for _ in range(2):
        res = analyze_paths([str(tmp_path / "runs")], jobs=1, cache=cache, curves=False)
        assert res.diagnoses[0].status == "error" and res.stats["cached"] == 0


def test_corrupt_cache_file_gives_a_notice_and_the_scan_goes_on(tree, tmp_path):
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["analyze", tree, "--cache", str(bad), "-o", str(out)])
    assert res.exit_code == 0
    assert "cache" in res.output and str(bad) in res.output
    assert len(json.loads(out.read_text())["runs"]) == 20


def test_no_cache_writes_no_database(tree, tmp_path):
    db = tmp_path / "c.sqlite"
    res = CliRunner().invoke(main, ["analyze", tree, "--no-cache", "--cache", str(db), "--format", "json"])
    assert res.exit_code == 0 and not db.exists()
    res = CliRunner().invoke(main, ["analyze", tree, "--cache", str(db), "--format", "json", "-q"])
    assert res.exit_code == 0 and db.exists()


def test_cache_inside_analysed_tree_is_refused(tree):
    res = CliRunner().invoke(main, ["analyze", tree, "--cache", os.path.join(tree, "c.sqlite")])
    assert res.exit_code == 2 and "inside an analysed path" in res.output
    assert not os.path.exists(os.path.join(tree, "c.sqlite"))


def _scan(args):
    tree, db = args
    return analyze_paths([tree], jobs=1, cache=DiagnosisCache(db), curves=False).stats


def test_concurrent_scans_share_a_cache_without_corrupting_it(tmp_path):
    root = tmp_path / "runs"
    _mixed_tree(str(root), n=12)
    db = str(tmp_path / "shared.sqlite")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        stats = pool.map(_scan, [(str(root), db)] * 3)
    assert all(s["cached"] + s["analysed"] == 12 for s in stats)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0] == 12
    con.close()
    assert analyze_paths([str(root)], jobs=1, cache=DiagnosisCache(db), curves=False).stats["cached"] == 12


def test_a_statement_sqlite_refuses_as_locked_is_retried_until_the_timeout():
    """Two scans opening a new shared cache at once: one may be refused 'database is locked' while
    switching the file to WAL (SQLite does not wait on its busy timeout there); it is retried."""
    from logsleuth.cache import _retry_busy

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")

    _retry_busy(flaky, timeout=5.0)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):  # not a lock: raised at once
        _retry_busy(lambda: (calls.append(1), sqlite3.connect(":memory:").execute("SELECT * FROM missing_table")), 5.0)
    assert len(calls) == 1
    start = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):  # still locked at the deadline: given up
        _retry_busy(lambda: (_ for _ in ()).throw(sqlite3.OperationalError("database is locked")), timeout=0.05)
    assert time.monotonic() - start < 1.0


# ------------------------------------------------- an unchanged tree: its stored report

def _copy_tree(tree: str, dst) -> str:
    import shutil

    return shutil.copytree(tree, str(dst / "runs"))


def _reports_stored(db: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM diagnoses WHERE key LIKE 'report:%'").fetchone()[0]
    finally:
        con.close()


def test_an_unchanged_tree_gets_its_stored_report_without_analysis_or_cache_reads(tree, tmp_path, monkeypatch):
    runs, db = _copy_tree(tree, tmp_path), str(tmp_path / "c.sqlite")
    args = ["analyze", runs, "--cache", db, "-q", "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "a.txt")]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert _reports_stored(db) == 1
    first = [(tmp_path / n).read_bytes() for n in ("a.json", "a.txt")]
    for n in ("a.json", "a.txt"):
        (tmp_path / n).unlink()

    def no(*a, **k):
        raise AssertionError("the stored report was expected")

    monkeypatch.setattr("logsleuth.scan.analyze_paths", no)
    monkeypatch.setattr(DiagnosisCache, "get_many", no)
    assert CliRunner().invoke(main, args).exit_code == 0
    assert [(tmp_path / n).read_bytes() for n in ("a.json", "a.txt")] == first


def test_a_changed_file_other_options_or_report_kind_mean_a_new_analysis(tree, tmp_path):
    runs, db = _copy_tree(tree, tmp_path), str(tmp_path / "c.sqlite")
    out = str(tmp_path / "r.json")

    def scan(*extra: str) -> dict:
        r = CliRunner().invoke(main, ["analyze", runs, "--cache", db, "-q", "--format", "json", "-o", out, *extra])
        assert r.exit_code == 0, r.output
        with open(out) as fh:
            return json.load(fh)

    before = scan()
    one = os.path.join(runs, "group_0", "run_00", "metrics.jsonl")
    with open(one, "a") as fh:  # the run goes on: a NaN loss
        fh.write(json.dumps({"step": 10_000, "train/loss": float("nan")}) + "\n")
    after = scan()
    changed = next(r for r in after["runs"] if r["run"].endswith("run_00"))
    assert any(s["id"] == "nan_inf" for s in changed["symptoms"])
    assert [r for r in after["runs"] if r is not changed] == [r for r in before["runs"] if not r["run"].endswith("run_00")]
    assert _reports_stored(db) == 2
    rules = tmp_path / "quiet.yaml"
    rules.write_text("schema: 1\ndisable: [nan.sudden]\nrules: []\n")
    disabled = scan("--rules", str(rules))  # other rules: another report
    assert not any(s.get("rule") == "nan.sudden" for r in disabled["runs"] for s in r["symptoms"])
    assert _reports_stored(db) == 3
    r = CliRunner().invoke(main, ["analyze", runs, "--cache", db, "-q", "-v", "--no-color"])
    assert r.exit_code == 0 and _reports_stored(db) == 4  # another report kind: terminal, verbose


def test_the_stored_report_keeps_the_fail_on_exit_code(tree, tmp_path):
    runs, db = _copy_tree(tree, tmp_path), str(tmp_path / "c.sqlite")
    args = ["analyze", runs, "--cache", db, "-q", "--format", "json", "--fail-on", "warning"]
    first = CliRunner().invoke(main, args)
    again = CliRunner().invoke(main, args)
    assert first.exit_code == again.exit_code == 1 and first.output == again.output
    assert _reports_stored(db) == 1
    assert CliRunner().invoke(main, args[:-2]).exit_code == 0  # same report, no --fail-on: exit 0


def test_no_report_is_stored_for_a_tree_with_a_broken_run_or_plot_files_beside_markdown(tree, tmp_path):
    runs, db = _copy_tree(tree, tmp_path), str(tmp_path / "c.sqlite")
    assert CliRunner().invoke(main, ["analyze", runs, "--cache", db, "-q", "-o", str(tmp_path / "r.md")]).exit_code == 0
    assert _reports_stored(db) == 0  # its plots are files beside it
    bad = os.path.join(runs, "group_1", "broken")
    os.makedirs(bad)
    with open(os.path.join(bad, "metrics.jsonl"), "w") as fh:
        fh.write('{"step": 1, "loss": "x"}\n')
    assert CliRunner().invoke(main, ["analyze", runs, "--cache", db, "-q", "--format", "json"]).exit_code == 0
    assert _reports_stored(db) == 0  # an error may be passing (a file being written): analysed each time


def test_only_the_most_recently_used_reports_are_kept(tree, tmp_path):
    from logsleuth.cache import KEEP_REPORTS

    db = DiagnosisCache(str(tmp_path / "c.sqlite"))
    for i in range(KEEP_REPORTS + 3):
        db.put_report(f"report:{i}", [f"text {i}"], "healthy")
        time.sleep(0.002)
    assert db.get_report("report:0") is None and db.get_report(f"report:{KEEP_REPORTS + 2}") == {
        "texts": [f"text {KEEP_REPORTS + 2}".encode()], "worst": "healthy"}
    assert db.stats()["reports"] == KEEP_REPORTS
    db.close()


# ---------------------------------------------------------------- sweeps

def test_planted_hyperparameter_pattern_is_stated(tmp_path):
    root = tmp_path / "sweep"
    writers.write_planted_sweep(str(root))
    res = analyze_paths([str(root)], jobs=1, curves=False)
    o = overview(res.diagnoses)
    assert len(o.sweeps) == 1
    s = o.sweeps[0]
    assert s.varying == ("lr",) and "seed" in s.seeds
    assert len(s.configs) == 7  # seeds folded: 2 high + 5 low learning rates
    assert sorted(len(c.runs) for c in s.configs) == [2, 2, 2, 2, 2, 3, 3]
    first = s.statements[0]
    assert first.startswith("all 6 runs with lr >= 0.3 "), s.statements
    assert first.endswith("none of the 10 with lr <= 0.1 did") or first.endswith("none of the 10 with lr <= 0.1 were")
    # the order puts the failures first
    assert all("lr=0.3" in r or "lr=1" in r for r in o.order[:6])


def test_sweep_statement_in_every_report_format(tmp_path):
    root = tmp_path / "sweep"
    writers.write_planted_sweep(str(root))
    outs = [tmp_path / f"r.{x}" for x in ("json", "md", "html", "txt")]
    args = ["analyze", str(root), "--no-cache", "-q"] + [a for o in outs for a in ("-o", str(o))]
    assert CliRunner().invoke(main, args).exit_code == 0
    for o in outs:
        gt = "&gt;" if o.suffix in (".html", ".md") else ">"  # escaped where the format needs it
        assert f"all 6 runs with lr {gt}= 0.3" in o.read_text(), o
    sweeps = json.loads(outs[0].read_text())["overview"]["sweeps"]
    assert sweeps[0]["varying"] == ["lr"]


def test_sweep_figure_per_varying_setting_in_html_and_markdown(tmp_path):
    root = tmp_path / "sweep"
    writers.write_planted_sweep(str(root))
    out = tmp_path / "out"
    out.mkdir()
    html, md = out / "r.html", out / "r.md"
    assert CliRunner().invoke(main, ["analyze", str(root), "--no-cache", "-q", "-o", str(html), "-o", str(md)]).exit_code == 0
    page = html.read_text()
    assert page.count('<svg') >= 2 and page.count('aria-label="runs of ') == 1 and 'by lr"' in page
    link = re.search(r"!\[runs of [^\]]* by lr\]\((r_files/[^)]+\.png)\)", md.read_text())
    assert link and (out / link.group(1)).stat().st_size > 1000


def test_sweep_figure_without_a_shared_curve_plots_outcomes():
    from logsleuth.report.sweepplots import final_role, sweep_figures

    diags = [_diag(f"s/opt={o},wd={wd}", "critical" if o == "sgd" else "healthy", "lr_too_high" if o == "sgd" else None)
             for o in ("sgd", "adam") for wd in (0.0, 1e-4)]
    o = overview(diags)
    assert o.sweeps[0].varying == ("opt", "wd") and final_role(diags, {}) is None
    figs = sweep_figures(o, diags, {})
    assert len(figs) == 2 and all(png.startswith(b"\x89PNG") for png in figs.values())
    from logsleuth.report.svg import sweep_figures as svg_figures

    svgs = svg_figures(o, diags, {})  # the HTML report's: the same figures as SVG
    assert sorted(svgs) == sorted(figs)
    for svg in svgs.values():
        assert svg.startswith("<svg") and ">critical<" in svg and ">healthy<" in svg and ">outcome<" in svg
        assert "critical (2)" in svg and "healthy (2)" in svg  # the legend counts the runs per health


def _diag(run: str, health: str, cause: str | None = None, **hp) -> Diagnosis:
    causes = (CauseScore(cause, 0.8, (), ()),) if cause else ()
    return Diagnosis(run=run, status="ok", health=health, causes=causes, hparams=hp)


def test_categorical_setting_and_imperfect_split():
    diags = [_diag(f"s/opt={o},seed={i}", "critical" if o == "sgd" else "healthy", "lr_too_high" if o == "sgd" else None)
             for o in ("sgd", "adam") for i in range(4)]
    diags[-1] = _diag("s/opt=adam,seed=9", "critical", "lr_too_high")  # one adam run fails too
    diags += [_diag(f"s/opt=adamw,seed={i}", "healthy") for i in range(4)]
    o = overview(diags)
    st = o.sweeps[0].statements
    assert st[0] == "4 of 4 runs with opt = sgd had lr_too_high as first cause; 1 of the 8 with other opt did" \
        or st[0].startswith("all 4 runs with opt = sgd"), st


def test_no_statement_when_failures_do_not_follow_a_setting():
    diags = [_diag(f"s/lr={lr}/seed_{i}", "critical" if i == 0 else "healthy", "lr_too_high" if i == 0 else None)
             for lr in (0.1, 0.2, 0.3) for i in range(3)]
    s = overview(diags).sweeps[0]
    assert not any(x.startswith("all ") for x in s.statements)
    assert any("seeds disagree at lr=0.1" in x for x in s.statements)
    assert any("no single hyperparameter" in x for x in s.statements)


def test_unrelated_sibling_runs_are_not_a_sweep():
    diags = [_diag(f"runs/{name}", "healthy") for name in ("alpha", "beta", "gamma")]
    assert overview(diags).sweeps == ()


def _measuring(run: str, metrics: dict[str, str], health: str = "healthy", **hp) -> Diagnosis:
    infos = tuple(MetricInfo(m, role, 10, 0.0, 9.0, 0) for m, role in metrics.items())
    return Diagnosis(run=run, status="ok", health=health, metrics=infos, hparams=hp)


HF = {"loss": "train_loss", "learning_rate": "lr", "epoch": "epoch"}


def test_unrelated_projects_side_by_side_are_not_a_sweep():
    """Hugging Face trainer states of unrelated projects in one folder log the same curves, but
    nothing they agree on says they are one experiment: no sweep (was 'a sweep varying epochs')."""
    projects = [_measuring("hf/r03", HF, num_train_epochs=1, max_steps=3000),
                _measuring("hf/r08", HF, num_train_epochs=100, max_steps=25800),
                _measuring("hf/r10", {**HF, "eval_wer": "val_metric"}, "warning", num_train_epochs=10, eval_steps=250,
                           logging_steps=25, train_batch_size=32),
                _measuring("hf/r11", {**HF, "eval_wer": "val_metric"}, "critical", num_train_epochs=20, eval_steps=500,
                           logging_steps=500, train_batch_size=8)]
    assert overview(projects).sweeps == ()


def test_a_recipe_is_shared_settings_or_telling_names():
    base = dict(model="resnet18", optimizer="sgd", batch_size=128)
    logged = [_measuring(f"runs/{n}", HF, lr=lr, **base) for n, lr in (("a", 0.1), ("b", 0.01), ("c", 0.001))]
    assert [s.varying for s in overview(logged).sweeps] == [("lr",)]  # agree on 3 settings, vary one
    too_many = [_measuring(f"runs/{n}", HF, lr=lr, wd=wd, bs=bs, warmup=w, dropout=p, depth=dp)
                for n, lr, wd, bs, w, p, dp in (("a", 0.1, 0, 32, 0, 0.1, 18), ("b", 0.01, 1e-4, 64, 100, 0.2, 34))]
    assert overview(too_many).sweeps == ()  # six knobs apart and nothing shared: two recipes
    named = [_measuring(f"grid/lr={lr}", HF) for lr in (0.1, 0.01)]
    assert [s.varying for s in overview(named).sweeps] == [("lr",)]


def test_two_recipes_in_one_folder_are_two_sweeps():
    gan = {"g_loss": "gan_loss", "d_loss": "gan_loss_d", "fid": "val_metric"}
    runs = [_measuring(f"mix/vit-{n}", {**HF, "eval_accuracy": "val_accuracy"}, lr=lr, arch="vit") for n, lr in (("a", 0.1), ("b", 0.01))]
    runs += [_measuring(f"mix/gan-{n}", gan, lr=lr, arch="dcgan") for n, lr in (("a", 0.2), ("b", 0.02))]
    sweeps = overview(runs).sweeps
    assert len(sweeps) == 2 and all(s.varying == ("lr",) for s in sweeps)
    assert {frozenset(s.runs) for s in sweeps} == {frozenset(r.run for r in runs[:2]), frozenset(r.run for r in runs[2:])}
    assert all("recipe" in s.directory for s in sweeps)


def test_nested_sweeps_are_found_at_their_own_level():
    diags = [_diag(f"exp/a/wd={wd}", "critical" if wd >= 0.1 else "healthy", "over_regularization" if wd >= 0.1 else None)
             for wd in (0.0, 0.001, 0.1, 0.5)]
    diags += [_diag(f"exp/b/bs={bs}", "warning" if bs <= 8 else "healthy", "batch_too_small" if bs <= 8 else None)
              for bs in (4, 8, 64, 128)]
    sw = {s.directory: s for s in overview(diags).sweeps}
    assert set(sw) == {"exp/a", "exp/b"}
    assert sw["exp/a"].statements[0].startswith("all 2 runs with wd >= 0.1 had over_regularization")
    assert sw["exp/b"].statements[0].startswith("all 2 runs with bs <= 8 had batch_too_small")


def test_name_params():
    assert name_params("sw/lr=0.1,bs=32/seed_3") == {"lr": 0.1, "bs": 32.0, "seed": 3.0}
    assert name_params("sw/lr_1e-3__wd-0.01") == {"lr": 0.001, "wd": 0.01}
    assert name_params("runs/metrics_seed216.jsonl") == {"seed": 216.0}
    assert name_params("runs/resnet50/baseline") == {}


# ---------------------------------------------------------------- progress and timeout

def test_progress_text():
    assert progress_text(50, 200, 10.0) == "[######..................]  50/200 runs  5.0 runs/s  ETA 0:30"
    assert "(40 cached)" in progress_text(50, 200, 1.0, cached=40)
    assert progress_text(200, 200, 10.0).endswith("ETA -:--")


def test_progress_draws_only_when_enabled():
    buf = io.StringIO()
    p = Progress(3, enabled=True, stream=buf, min_interval=0)
    for _ in range(3):
        p.update()
    p.close()
    assert buf.getvalue().count("\r") == 4 and "3/3 runs" in buf.getvalue()
    quiet = io.StringIO()
    p = Progress(3, enabled=False, stream=quiet)
    p.update(3)
    p.close()
    assert quiet.getvalue() == ""


def test_no_progress_line_when_stderr_is_not_a_terminal(tree):
    res = CliRunner(mix_stderr=False).invoke(main, ["analyze", tree, "--no-cache", "--format", "json"]) \
        if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else \
        CliRunner().invoke(main, ["analyze", tree, "--no-cache", "--format", "json"])
    assert res.exit_code == 0
    assert "\r" not in res.output and "runs/s" not in res.output


def test_timeout_stops_a_slow_run(monkeypatch, tree):
    from logsleuth import pipeline
    from logsleuth.ingest import discover

    src = discover([tree]).runs[0]
    normal = analyze_source(src, timeout=30).diagnosis
    assert normal.status == "ok"

    def slow(_src, keep=None):
        time.sleep(5)

    monkeypatch.setattr(pipeline, "load_run", slow)
    t = time.monotonic()
    d = analyze_source(src, timeout=0.2).diagnosis
    assert time.monotonic() - t < 2
    assert d.status == "error" and "--timeout" in d.error and src.name in d.error


def test_sample_logs_have_no_sweep_and_an_overview(in_repo=None):
    res = analyze_paths([os.path.join(REPO, "sample_logs")], jobs=1, curves=False)
    o = overview(res.diagnoses)
    assert o.runs == 7 and sum(o.health.values()) == 7
    assert sum(o.causes.values()) == o.health["critical"] + o.health["warning"]


@pytest.mark.skipif(not os.path.isdir(FAULT_CORPUS), reason="shared fault_corpus not present")
def test_only_needed_metrics_gives_the_same_diagnosis(tmp_path):
    """Dropping the metrics no rule or plot uses changes nothing but the metric list."""
    runs = sorted(os.path.join(FAULT_CORPUS, n) for n in os.listdir(FAULT_CORPUS)
                  if os.path.isdir(os.path.join(FAULT_CORPUS, n)))[::3]
    st = np.arange(300, dtype=float)
    extra = {f"layers/{i}/weight_norm": (st, 1 + 0.001 * st) for i in range(200)}
    extra["train/loss"] = (st, 2 * np.exp(-st / 60) + 0.1)
    extra["val/loss"] = (st[::30], 2 * np.exp(-st[::30] / 60) + 0.15)
    writers.write_tensorboard(str(tmp_path / "many_tags"), extra)
    runs.append(str(tmp_path / "many_tags"))
    full = analyze_paths(runs, jobs=1, curves=False)
    lean = analyze_paths(runs, Options(only_needed=True), jobs=1, curves=False)
    for a, b in zip(full.diagnoses, lean.diagnoses):
        assert (a.run, a.health, a.causes, a.symptoms) == (b.run, b.health, b.causes, b.symptoms), a.run
        assert {m.metric for m in b.metrics} <= {m.metric for m in a.metrics}
    many = next(d for d in lean.diagnoses if d.run.endswith("many_tags"))
    assert {m.metric for m in many.metrics} == {"train/loss", "val/loss"}
    assert len(next(d for d in full.diagnoses if d.run.endswith("many_tags")).metrics) == 202


def test_cache_info_and_clear(tree, tmp_path):
    db = str(tmp_path / "c.sqlite")
    assert "no cache yet" in CliRunner().invoke(main, ["cache", "info", "--cache", db]).output
    assert CliRunner().invoke(main, ["analyze", tree, "--cache", db, "--format", "json", "-q"]).exit_code == 0
    assert "20 run(s)" in CliRunner().invoke(main, ["cache", "info", "--cache", db]).output
    assert "cleared" in CliRunner().invoke(main, ["cache", "clear", "--cache", db]).output
    assert not os.path.exists(db)
    res = analyze_paths([tree], jobs=1, cache=DiagnosisCache(db), curves=False)
    assert res.stats["cached"] == 0


def test_random_search_threshold_is_found():
    """Thousands of distinct values (a random search): the split is still found exactly."""
    rng = np.random.default_rng(0)
    diags = []
    for i in range(1500):
        lr = float(10 ** rng.uniform(-4, 0))
        bad = lr > 0.1
        diags.append(_diag(f"rs/trial_{i}", "critical" if bad else "healthy", "lr_too_high" if bad else None,
                           lr=lr, wd=float(rng.choice([0.0, 1e-4])), seed=i))
    s = overview(diags).sweeps[0]
    n_bad = sum(d.health == "critical" for d in diags)
    assert s.varying == ("lr", "wd") and set(s.seeds) == {"seed", "trial"}
    lrs = [d.hparams["lr"] for d in diags]
    lo, hi = max(x for x in lrs if x <= 0.1), min(x for x in lrs if x > 0.1)
    assert s.statements[0] == (f"all {n_bad} runs with lr >= {hi:g} had lr_too_high as first cause; "
                               f"none of the {1500 - n_bad} with lr <= {lo:g} did")


# ----------------------------------------------------------- a scan killed part-way keeps its work

def test_an_interrupted_scan_keeps_what_it_finished_in_the_cache(tree, tmp_path, monkeypatch):
    """Ctrl-C after 7 runs: those 7 are in the cache, the next scan analyses only the other 13,
    and the command says so and exits 130 without a report."""
    import logsleuth.pipeline as pipeline
    from logsleuth.cache import DiagnosisCache

    real = pipeline.analyze_source
    calls = {"n": 0}

    def interrupted_at_8th(src, *a, **k):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return real(src, *a, **k)

    db = str(tmp_path / "c.sqlite")
    monkeypatch.setattr(pipeline, "analyze_source", interrupted_at_8th)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["analyze", tree, "--cache", db, "--jobs", "1", "-o", str(out)])
    assert res.exit_code == 130 and "7 run(s) analysed before it, 7 of them kept in the cache" in res.output
    assert not out.exists() and "Traceback" not in res.output
    monkeypatch.setattr(pipeline, "analyze_source", real)
    from logsleuth.cli import _options

    cache = DiagnosisCache(db)
    res2 = analyze_paths([tree], _options((), None), jobs=1, cache=cache, curves=False)  # as the JSON report did
    cache.close()
    assert res2.stats["cached"] == 7 and res2.stats["analysed"] == 13


def test_a_worker_whose_parent_died_before_its_initializer_exits():
    """The race the kill test met once in three runs: the parent dies between a worker's fork
    and its initializer, so no death signal comes and getppid() is already the new parent."""
    from logsleuth.executors import _watch_parent

    def run(parent: int) -> int | None:
        child = multiprocessing.get_context("fork").Process(target=_watch_parent, args=(parent,))
        child.start()
        child.join(10)
        return child.exitcode

    assert run(os.getpid()) == 0  # its parent is alive: the initializer returns, the worker would serve
    assert run(-1) == 1  # its parent is not the one that forked it: it leaves at once


def test_pool_workers_exit_when_the_parent_is_killed(tree, tmp_path):
    """kill -9 of a scan's parent process: its pool workers do not stay behind."""
    import signal
    import subprocess
    import sys
    import time

    marker = f"logsleuth-orphan-test-{os.getpid()}"
    slow = (f"import time, sys; import logsleuth.pipeline as p; real = p.analyze_source\n"
            f"def slow(*a, **k):\n    time.sleep(2); return real(*a, **k)\n"
            f"p.analyze_source = slow\nfrom logsleuth.cli import main\n"
            f"sys.argv = ['logsleuth', 'analyze', {tree!r}, '--no-cache', '--jobs', '2', '-q', '--format', 'json']\nmain()\n")
    proc = subprocess.Popen([sys.executable, "-c", slow], env={**os.environ, "LOGSLEUTH_TEST_MARKER": marker},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def workers() -> list[int]:
        out = []
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) != proc.pid:
                try:
                    with open(f"/proc/{pid}/environ", "rb") as fh:
                        if marker.encode() in fh.read():
                            out.append(int(pid))
                except OSError:
                    pass
        return out

    deadline = time.time() + 30
    while not workers() and time.time() < deadline:
        time.sleep(0.2)
    assert workers(), "the scan never started its pool"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while workers() and time.time() < deadline:
        time.sleep(0.2)
    assert not workers(), f"workers still alive after the parent was killed: {workers()}"


def test_cache_prune_by_age_then_size_oldest_first(tree, tmp_path):
    import sqlite3

    db = str(tmp_path / "c.sqlite")
    assert CliRunner().invoke(main, ["analyze", tree, "--cache", db, "--format", "json", "-q"]).exit_code == 0
    con = sqlite3.connect(db)
    keys = [k for (k,) in con.execute("SELECT key FROM diagnoses WHERE key NOT LIKE 'report:%' ORDER BY run")]
    day = 86400.0
    for i, k in enumerate(keys):  # entry i was stored i days ago
        con.execute("UPDATE diagnoses SET stored = ? WHERE key = ?", (time.time() - i * day - 60, k))
    # the stored report of the whole scan: last used 15 days ago
    assert con.execute("UPDATE diagnoses SET stored = ? WHERE key LIKE 'report:%'", (time.time() - 15 * day,)).rowcount == 1
    con.commit()
    size = {k: n for k, n in con.execute("SELECT key, LENGTH(body) + COALESCE(LENGTH(curves), 0) FROM diagnoses")}
    con.close()
    info = CliRunner().invoke(main, ["cache", "info", "--cache", db]).output
    assert "20 run(s)" in info and "oldest entry 19d old" in info, info
    res = CliRunner().invoke(main, ["cache", "prune", "--cache", db, "--older-than", "10d"])
    assert res.exit_code == 0 and "dropped 10 run(s) and 1 stored report(s); 10 left" in res.output, res.output
    bound = sum(size[k] for k in keys[:4])  # room for the 4 newest
    res = CliRunner().invoke(main, ["cache", "prune", "--cache", db, "--max-size", f"{bound}b"])
    assert res.exit_code == 0 and "dropped 6 run(s); 4 left" in res.output, res.output
    con = sqlite3.connect(db)
    assert sorted(k for (k,) in con.execute("SELECT key FROM diagnoses")) == sorted(keys[:4])
    con.close()
    for bad in (["--older-than", "soon"], ["--max-size", "3 parsecs"]):
        r = CliRunner().invoke(main, ["cache", "prune", "--cache", db, *bad])
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output


def test_cache_prune_refuses_a_file_that_is_not_a_cache(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    r = CliRunner().invoke(main, ["cache", "prune", "--cache", str(notes), "--older-than", "1d"])
    assert r.exit_code == 2 and notes.read_text() == "my notes\n"


# ------------------------------------------------- killed scans: SIGKILL, Ctrl-C, Dask workers

def _slow_scan_cmd(tree: str, extra: list[str], delay: float) -> list[str]:
    """A real `logsleuth analyze` process whose runs each take `delay` seconds more."""
    import sys

    code = (f"import time, sys; import logsleuth.pipeline as p; real = p.analyze_source\n"
            f"def slow(*a, **k):\n    time.sleep({delay}); return real(*a, **k)\n"
            f"p.analyze_source = slow\nfrom logsleuth.cli import main\n"
            f"sys.argv = ['logsleuth', 'analyze', {tree!r}] + {extra!r}\nmain()\n")
    return [sys.executable, "-c", code]


def _cached_entries(db: str) -> int:
    if not os.path.exists(db):
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:  # not created yet
        return 0


def _wait_for(cond, timeout: float = 60.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_a_scan_killed_with_sigkill_resumes_and_gives_the_same_json(tree, tmp_path):
    """kill -9 part-way: what finished is in the cache, the re-run analyses only the rest, and
    its JSON report equals that of a scan that was never interrupted."""
    import signal
    import subprocess

    db, killed_out = str(tmp_path / "c.sqlite"), tmp_path / "killed.json"
    proc = subprocess.Popen(_slow_scan_cmd(tree, ["--cache", db, "-j", "1", "-q", "-o", str(killed_out)], 0.3),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait_for(lambda: _cached_entries(db) >= 5), "the scan stored nothing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _cached_entries(db)
    assert 5 <= done < 20 and not killed_out.exists()

    from logsleuth.cli import _options

    cache = DiagnosisCache(db)
    resumed = analyze_paths([tree], _options((), None), jobs=1, cache=cache, curves=False)
    cache.close()
    assert resumed.stats["cached"] == done and resumed.stats["analysed"] == 20 - done

    a, b = tmp_path / "resumed.json", tmp_path / "whole.json"
    assert CliRunner().invoke(main, ["analyze", tree, "--cache", db, "-q", "-o", str(a)]).exit_code == 0
    assert CliRunner().invoke(main, ["analyze", tree, "--no-cache", "-q", "-o", str(b)]).exit_code == 0
    assert json.loads(a.read_text()) == json.loads(b.read_text())


def test_ctrl_c_to_the_process_group_exits_130_with_the_count(tree, tmp_path):
    """SIGINT to the whole group (what Ctrl-C in a terminal does): the parent and its pool
    workers get it; the command says how many runs are done and cached, writes no report, no
    traceback from any process, exit 130, and no worker is left behind."""
    import signal
    import subprocess

    db, out = str(tmp_path / "c.sqlite"), tmp_path / "r.json"
    proc = subprocess.Popen(_slow_scan_cmd(tree, ["--cache", db, "-j", "2", "-o", str(out)], 0.5),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert _wait_for(lambda: _cached_entries(db) >= 2), "the scan stored nothing"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    m = re.search(r"interrupted; no report written; (\d+) run\(s\) analysed before it, (\d+) of them kept in the cache", err)
    assert m and int(m.group(2)) == _cached_entries(db) >= 2, err
    assert "Traceback" not in err and not out.exists()
    assert _wait_for(lambda: not _group_alive(proc.pid), 10), "processes of the scan outlived it"


def _group_alive(pgid: int) -> bool:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.getpgid(int(pid)) == pgid:
                    with open(f"/proc/{pid}/stat") as fh:
                        if fh.read().split(") ")[-1].split()[0] != "Z":
                            return True
            except (OSError, IndexError):
                pass
    return False


def test_dask_local_cluster_workers_exit_when_the_parent_is_killed(tree):
    """kill -9 of a scan on a local Dask cluster: its nanny and worker processes do not stay."""
    import signal
    import subprocess

    proc = subprocess.Popen(_slow_scan_cmd(tree, ["--no-cache", "--executor", "dask", "-j", "2", "-q", "--format", "json"], 1.0),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert _wait_for(lambda: len(_group_pids(proc.pid)) >= 3, 60), "the local cluster never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _wait_for(lambda: not _group_alive(proc.pid), 15), f"left behind: {_group_pids(proc.pid)}"
    finally:
        for pid in _group_pids(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _group_pids(pgid: int) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != pgid:
            try:
                if os.getpgid(int(pid)) == pgid:
                    out.append(int(pid))
            except OSError:
                pass
    return out


def test_ctrl_c_while_a_chunk_is_stored_takes_effect_after_it():
    """A chunk's diagnoses are stored and counted, or neither: Ctrl-C inside waits for the end."""
    import signal

    from logsleuth.scan import _ctrl_c_deferred

    done = []
    with pytest.raises(KeyboardInterrupt):
        with _ctrl_c_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            done.append("stored")
    assert done == ["stored"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_one_serialisation_exact_for_the_cache_rounded_for_the_report():
    """model.diagnosis_to_dict is the report's run object; exact, it reads back to an equal
    Diagnosis (NaN/Inf, numpy hyperparameters and each symptom's weighted causes included)."""
    from logsleuth.model import Finding, SkippedRule, diagnosis_from_dict, diagnosis_to_dict
    from logsleuth.report.jsonreport import run_dict

    d = Diagnosis(run="r", status="ok", health="warning",
                  metrics=(MetricInfo("loss", "train_loss", 10, 0.0, float("inf"), 2),),
                  symptoms=(Finding("div.loss", "divergence", "critical", "loss", 0.123456789, 3.0, None, "rose",
                                    (("lr_too_high", 0.8), ("bad_data", 0.2))),),
                  causes=(CauseScore("lr_too_high", 0.987654321, ("divergence",), ("Lower it",), "LR too high",
                                     ({"title": "t", "url": "u"},)),),
                  skipped=(SkippedRule("x.y", "no accuracy logged"),), warnings=("w",),
                  hparams={"lr": 0.1, "layers": np.int64(3), "opt": "adam"}, formats=("csv",))
    back = diagnosis_from_dict(json.loads(json.dumps(diagnosis_to_dict(d, exact=True))))
    assert back == d and back.symptoms[0].causes == (("lr_too_high", 0.8), ("bad_data", 0.2))
    rep = run_dict(d)
    assert rep == diagnosis_to_dict(d) and "causes" not in rep["symptoms"][0]
    assert rep["symptoms"][0]["confidence"] == 0.1235 and rep["metrics"]["loss"]["last_step"] is None


def test_the_stored_report_key_follows_the_rule_and_role_files_bytes(tmp_path):
    from logsleuth.cache import sources_fingerprint

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text("schema: 1\nrules: []\n")
    roles = tmp_path / "roles.yaml"
    roles.write_text("loss_total: train_loss\n")
    first = sources_fingerprint([str(rules)], str(roles), False)
    assert sources_fingerprint([str(rules)], str(roles), False) == first
    assert sources_fingerprint([str(rules)], str(roles), True) != first  # --only-needed-metrics
    (rules / "b.yaml").write_text("schema: 1\nrules: []\n")  # a file added to a rules directory
    second = sources_fingerprint([str(rules)], str(roles), False)
    assert second != first
    roles.write_text("loss_total: val_loss\n")  # a role file edited
    assert sources_fingerprint([str(rules)], str(roles), False) not in (first, second)
    assert sources_fingerprint([], None, False) != first


def _freeze_counts(chunk):
    import gc

    return [gc.get_freeze_count() for _ in chunk]


def test_pool_workers_freeze_what_they_inherit():
    """A pool worker's collections skip the modules and rules it inherited from the parent."""
    from logsleuth.executors import POOL_MIN_RUNS, run_local

    counts = run_local(list(range(POOL_MIN_RUNS)), _freeze_counts, jobs=2, on_done=lambda i, r: None)
    assert len(counts) == POOL_MIN_RUNS and min(counts) > 1000, counts


def test_the_pool_is_closed_when_every_chunk_is_back():
    """Once all results are in, run_local waits for its pool: no worker is left for the exit hook,
    whose race on the pool's wakeup pipe printed an OSError traceback after a finished report."""
    from logsleuth.executors import POOL_MIN_RUNS, run_local

    run_local(list(range(POOL_MIN_RUNS)), _freeze_counts, jobs=2, on_done=lambda i, r: None)
    assert multiprocessing.active_children() == []
