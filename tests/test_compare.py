"""`logsleuth compare` on a planted pair: the same recipe with the learning rate 10x apart, one
run diverging.  The lr is the first difference named, the curves part early in the divergence,
the divergence is a symptom of only one run; golden reports in every format."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from logsleuth.cli import main
from logsleuth.compare import compare_paths, hparam_diffs, parting
from logsleuth.model import Role, Series

import synth
import writers
from conftest import REPO

GOLDEN = os.path.join(REPO, "tests", "golden")


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths: reports name the runs as given
    good = synth.healthy(seed=1, n=400, epochs=8)
    bad = synth.diverging(seed=1)
    bad.lr = np.full(bad.steps.size, 0.01)
    writers.write_lightning_csv(os.path.join("runs", "lr_0.001", "version_0"), good, hparams={"lr": 0.001, "seed": 1, "batch_size": 64})
    writers.write_lightning_csv(os.path.join("runs", "lr_0.01", "version_0"), bad, hparams={"lr": 0.01, "seed": 1, "batch_size": 64})
    return os.path.join("runs", "lr_0.001"), os.path.join("runs", "lr_0.01")


def test_planted_pair(pair):
    c = compare_paths(list(pair))
    p = c.pairs[0]
    assert p.hparams[0][0] == "lr" and p.hparams[0][1:] == (0.001, 0.01)
    assert "divergence" in p.only_other and "divergence" not in p.only_baseline
    div = next(f for f in c.diagnoses[1].symptoms if f.symptom == "divergence")
    train = next(m for m in p.metrics if m.role == "train_loss")
    assert train.parting_step is not None
    assert train.parting_step <= div.start_step + 0.1 * (div.end_step - div.start_step), (train.parting_step, div)
    assert train.better == "baseline"


def test_curves_that_agree_within_noise_never_part():
    rng = np.random.default_rng(0)
    st = np.arange(500.0)
    role = Role("train", "loss", "lower")
    a = Series("loss", role, st, 2.0 * np.exp(-st / 100) * np.exp(rng.normal(0, 0.1, st.size)) + 0.1)
    b = Series("loss", role, st, 2.0 * np.exp(-st / 100) * np.exp(rng.normal(0, 0.1, st.size)) + 0.1)
    assert parting(a, b)[0] is None


def test_hyperparameters_most_telling_first():
    diffs = hparam_diffs({"lr": 0.1, "seed": 1, "zeta": 1, "batch_size": 32}, {"lr": 0.01, "seed": 2, "zeta": 2, "batch_size": 32})
    assert [k for k, _, _ in diffs] == ["lr", "seed", "zeta"]


@pytest.mark.parametrize("fmt,ext", [("terminal", "txt"), ("markdown", "md"), ("json", "json"), ("html", "html")])
def test_golden_compare_reports(pair, fmt, ext):
    res = CliRunner().invoke(main, ["compare", "--format", fmt, *pair])
    assert res.exit_code == 0, res.output
    text = res.output
    if fmt == "json":
        import jsonschema

        with open(os.path.join(REPO, "logsleuth", "compare_schema.json")) as fh:
            jsonschema.validate(json.loads(text), json.load(fh))
        text = text.replace(json.loads(text)["logsleuth_version"], "VERSION")
    path = os.path.join(GOLDEN, f"compare.{ext}")
    if os.environ.get("LOGSLEUTH_UPDATE_GOLDEN"):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(path, encoding="utf-8") as fh:
        want = fh.read()
    if fmt == "json":  # the last digits of a float differ between numpy builds; 9 significant digits are the report's
        text, want = (json.dumps(_rounded(json.loads(t)), indent=2) for t in (text, want))
    assert text == want, f"compare.{ext} changed; if intended: LOGSLEUTH_UPDATE_GOLDEN=1 pytest tests/test_compare.py"


def _rounded(obj):
    if isinstance(obj, float):
        return float(f"{obj:.9g}")
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def test_html_and_markdown_files_carry_the_overlay_plots(pair, tmp_path):
    out_html, out_md = str(tmp_path / "c.html"), str(tmp_path / "c.md")
    res = CliRunner().invoke(main, ["compare", "-o", out_html, "-o", out_md, *pair])
    assert res.exit_code == 0, res.output
    page = open(out_html).read()
    assert page.count("data:image/png;base64,") >= 2 and "<script" not in page
    md = open(out_md).read()
    links = [ln for ln in md.splitlines() if ln.startswith("![")]
    assert links and all(os.path.isfile(os.path.join(tmp_path, ln.split("(")[1].rstrip(")"))) for ln in links)


def test_bad_arguments_are_usage_errors(pair, tmp_path):
    only = CliRunner().invoke(main, ["compare", pair[0]])
    assert only.exit_code == 2 and "at least two runs" in only.output
    many = CliRunner().invoke(main, ["compare", "runs", pair[0]])
    assert many.exit_code == 2 and "holds 2 runs" in many.output
    missing = CliRunner().invoke(main, ["compare", pair[0], str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "nope" in missing.output and "Traceback" not in missing.output


def test_runs_of_different_lengths_are_aligned_on_progress():
    """A run logged per step and one logged over 10x the steps: their step ranges barely overlap,
    so they are compared on the share of each run done; the same curve never parts."""
    from logsleuth.compare import metric_diffs

    role = Role("train", "loss", "lower")
    t = np.linspace(0, 1, 300)
    a = {"loss": Series("loss", role, t * 100, 2.0 * np.exp(-5 * t) + 0.1)}
    b = {"loss": Series("loss", role, 80 + t * 1000, 2.0 * np.exp(-5 * t) + 0.1)}
    m = metric_diffs(a, b)[0]
    assert m.axis == "progress" and m.parting_step is None and m.better == "same"
