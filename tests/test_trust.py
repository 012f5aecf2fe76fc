"""Trust: no alarm without an anomaly the run itself shows, "cannot judge" when nothing can be
judged, and warnings measured on a healthy reference set of many training families."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from logsleuth.cli import main
from logsleuth.healthy_runs import FAMILIES, make_run, measure
from logsleuth.model import RunData
from logsleuth.pipeline import diagnose
from logsleuth.roles import assign_roles, infer_role

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
REAL = os.path.join(SHARED, "real_logs")


def run_of(curves: dict[str, tuple], hparams: dict | None = None, name: str = "t") -> RunData:
    parts = [pd.DataFrame({"metric": m, "step": np.asarray(st, float), "value": np.asarray(v, float), "wall_time": np.nan})
             for m, (st, v) in curves.items()]
    return RunData(name=name, path=name, formats=("test",), table=pd.concat(parts, ignore_index=True),
                   hparams=hparams or {})


def loud(d) -> set[str]:
    return {f.rule for f in d.symptoms if f.severity in ("warning", "critical")}


# ---------------------------------------------------------------- the cases of the issue

def test_flat_regression_loss_is_not_called_chance_level():
    rng = np.random.default_rng(0)
    st = np.arange(300.0)
    d = diagnose(run_of({"mse_loss": (st, 4.1 * np.exp(rng.normal(0, 0.01, st.size)))}))
    assert "stuck_at_chance" not in {f.symptom for f in d.symptoms}
    assert "ln(" not in " ".join(f.evidence for f in d.symptoms)
    # a loss that never moves from its first value is still no learning (a change the run shows)
    assert "no_learning" in {f.symptom for f in d.symptoms}


def test_chance_level_needs_the_class_count_from_the_hyperparameters():
    rng = np.random.default_rng(1)
    st = np.arange(300.0)
    flat = math.log(10) * np.exp(rng.normal(0, 0.01, st.size))
    vst = st[::30]
    with_acc = diagnose(run_of({"loss": (st, flat), "val_acc": (vst, np.full(vst.size, 0.1) + rng.normal(0, 0.003, vst.size))}))
    # loss ln 10 and accuracy 0.1 agree, but the class count is not given: never read off a loss
    assert "stuck_at_chance" not in {f.symptom for f in with_acc.symptoms}
    assert "no_learning" in {f.symptom for f in with_acc.symptoms}
    with_nc = diagnose(run_of({"loss": (st, flat)}, {"num_classes": 10}))
    assert "stuck_at_chance" in {f.symptom for f in with_nc.symptoms}
    without = diagnose(run_of({"loss": (st, flat)}))
    assert "stuck_at_chance" not in {f.symptom for f in without.symptoms}


def test_lognormal_noise_is_not_a_delayed_start():
    rng = np.random.default_rng(2)
    st = np.arange(2000.0)
    d = diagnose(run_of({"loss": (st, np.exp(rng.normal(0.0, 0.5, st.size)))}))
    assert "delayed_start" not in {f.symptom for f in d.symptoms}
    # noise around a constant level is a loss that never moved: that, and only that, is said
    assert {f.symptom for f in d.symptoms if f.severity != "info"} <= {"no_learning"}


def test_sgd_at_lr_20_with_a_falling_loss_is_not_critical():
    """The word-language-model recipe: plain SGD at lr 20 (clipped), annealed 4x when validation stalls."""
    rng = np.random.default_rng(3)
    st = np.arange(200.0, 36000.0, 200.0)
    # fast fall in the first epoch, then a slow creep down as the rate is annealed (as the log shows)
    loss = 4.9 + 4.0 * np.exp(-(st - 200) / 1500) + 0.6 * (1 - st / 36000) + rng.normal(0, 0.03, st.size)
    lr = np.where(st < 12000, 20.0, np.where(st < 24000, 5.0, 1.25))
    vst = np.arange(2983.0, 36000.0, 2983.0)
    d = diagnose(run_of({"loss": (st, loss), "lr": (st, lr), "valid loss": (vst, 5.2 + 0.6 * np.exp(-vst / 6000))}))
    assert d.health != "critical", [(f.rule, f.evidence) for f in d.symptoms]


def test_all_nan_run_is_critical_not_healthy():
    st = np.arange(168.0)
    d = diagnose(run_of({"loss": (st, np.full(st.size, np.nan)), "valid loss": (st[::14], np.full(12, np.nan))}))
    assert d.health == "critical"
    assert "nan_inf" in {f.symptom for f in d.symptoms}


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_csv_of_nonfinite_rows_is_critical(tmp_path, value):
    f = tmp_path / "metrics.csv"
    f.write_text("step,loss\n" + "".join(f"{i},{value}\n" for i in range(100)))
    res = CliRunner().invoke(main, ["analyze", str(f), "--format", "json", "--no-cache", "-q"])
    import json

    run = json.loads(res.output)["runs"][0]
    assert run["health"] == "critical" and any(s["id"] == "nan_inf" for s in run["symptoms"])


def test_single_record_and_unknown_columns_cannot_be_judged(tmp_path):
    import json

    one = tmp_path / "one" / "results.csv"
    one.parent.mkdir()
    one.write_text("epoch,train/box_loss,metrics/mAP_0.5\n0,0.05,0.3\n")
    foo = tmp_path / "foo" / "log.csv"
    foo.parent.mkdir()
    foo.write_text("foo,bar\n" + "".join(f"{i},{i * 2}\n" for i in range(50)))
    res = CliRunner().invoke(main, ["analyze", str(tmp_path), "--format", "json", "--no-cache", "-q"])
    runs = {r["run"].split("/")[-1]: r for r in json.loads(res.output)["runs"]}
    for name in ("one", "foo"):
        assert runs[name]["health"] == "unknown", runs[name]
        assert runs[name]["causes"] == []
        assert any(s["id"] == "unknown" and "cannot judge" in s["evidence"] for s in runs[name]["symptoms"])
    md = CliRunner().invoke(main, ["analyze", str(tmp_path), "--format", "markdown", "--no-cache", "-q"]).output
    assert "Nothing is wrong" not in md and "Not judged" in md


def test_theta_is_not_eta_and_bare_accuracy_beside_train_loss_is_validation():
    assert infer_role("initial_theta_loss").kind == "loss"
    assert infer_role("eta").kind == "throughput"
    roles = assign_roles(["epoch", "train_loss", "valid_loss", "accuracy", "time"])  # fastai CSVLogger
    assert roles["accuracy"].name == "val_accuracy"
    keras = assign_roles(["loss", "accuracy", "val_loss", "val_accuracy"])
    assert keras["accuracy"].name == "train_accuracy"


def test_gan_losses_are_not_plain_losses():
    assert infer_role("critic_loss").kind == "gan_loss"
    assert infer_role("g_loss").kind == "gan_loss" and infer_role("loss_D").kind == "gan_loss"
    rng = np.random.default_rng(4)
    st = np.arange(3249.0, 4600.0, 50.0)
    critic = rng.normal(-3e-5, 4e-5, st.size) + np.linspace(0, 3e-5, st.size)
    d = diagnose(run_of({"critic_loss": (st, critic), "generator_loss": (st, 0.01 + rng.normal(0, 1e-3, st.size))}))
    assert d.health == "healthy", [(f.rule, f.evidence) for f in d.symptoms]


def test_summed_detection_loss_has_no_ln_classes_reference():
    rng = np.random.default_rng(5)
    st = np.arange(50.0, 37000.0, 50.0)
    loss = 4 + 30 * np.exp(-st / 2000) * np.exp(rng.normal(0, 0.1, st.size))
    vst = np.arange(930.0, 37000.0, 930.0)
    acc = {f"val_{k}_Accuracy": (vst, 80 + rng.normal(0, 1, vst.size)) for k in ("Class", "Obj", "No_Obj")}
    d = diagnose(run_of({"train_loss": (st, loss), **acc}))
    assert "high_initial_loss" not in {f.symptom for f in d.symptoms}


def test_plateau_without_a_reference_is_not_a_warning():
    """A fine-tuned detector's loss that fell 2x and flattened: normal, nothing to act on."""
    rng = np.random.default_rng(6)
    st = np.arange(20.0, 4000.0, 20.0)
    loss = 1.0 + 0.9 * np.exp(-st / 400) + rng.normal(0, 0.03, st.size)
    d = diagnose(run_of({"total_loss": (st, loss), "loss_cls": (st, loss / 3), "loss_box_reg": (st, loss / 2)}))
    assert not loud(d), [(f.rule, f.evidence) for f in d.symptoms]


def test_correlated_rules_do_not_stack_onto_one_cause():
    from logsleuth.model import Finding
    from logsleuth.ranking import rank

    f = lambda rule: Finding(rule, "noisy_loss", "warning", "loss", 1.0, 0, 1, "", (("lr_too_high", 0.5),))
    one = rank([f("a")], None)[1][0].score
    three = rank([f("a"), f("b"), f("c")], None)[1][0].score
    assert one == three == 0.5


# ---------------------------------------------------------------- the healthy reference set

@pytest.fixture(scope="module")
def reference():
    return measure(seeds=20)


def test_reference_set_covers_the_families(reference):
    assert reference.runs == 20 * len(FAMILIES) >= 280
    assert {"lm_pretrain", "finetune", "detection", "segmentation", "regression", "gan", "rl", "step_decay", "sgdr",
            "early_stopped", "keras_epochs", "resumed", "lora_staircase", "lstm_lm"} <= set(FAMILIES)


def test_reference_set_at_most_3_percent_of_runs_warned(reference):
    assert reference.flagged_rate <= 0.03, reference.flagged


def test_reference_set_at_most_1_percent_per_rule(reference):
    worst = {r: reference.rate(r) for r in reference.per_rule}
    assert all(v <= 0.01 for v in worst.values()), worst


def test_reference_runs_are_seeded():
    a, b = make_run("lm_pretrain", 3), make_run("lm_pretrain", 3)
    assert a.table.equals(b.table)
    assert not a.table.equals(make_run("lm_pretrain", 4).table)


def test_eval_reference_cli():
    res = CliRunner().invoke(main, ["eval", "--reference", "--seeds", "2"])
    assert res.exit_code == 0 and "healthy reference runs: 28" in res.output


# ---------------------------------------------------------------- real runs and their stated outcomes

@pytest.mark.skipif(not os.path.isfile(os.path.join(REAL, "OUTCOMES.yaml")), reason="../shared/real_logs not present")
def test_real_runs_agree_with_their_stated_outcomes():
    from logsleuth.evaluate import evaluate_outcomes

    cases = evaluate_outcomes(os.path.join(REAL, "OUTCOMES.yaml"))
    fine = [c for c in cases if c.want.get("expect_healthy")]
    calm = [c for c in cases if c.want.get("not_critical")]
    problems = [c for c in cases if "top3_any" in c.want or "symptom_any" in c.want]
    assert all(c.ok for c in fine), [(c.run, c.got) for c in fine if not c.ok]
    assert all(c.ok for c in calm), [(c.run, c.got) for c in calm if not c.ok]
    assert sum(c.ok for c in problems) >= 11, [(c.run, c.got) for c in problems if not c.ok]


# ---------------------------------------------------------------- the cache deletes only caches

def test_cache_clear_refuses_files_that_are_not_a_logsleuth_cache(tmp_path):
    import sqlite3

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    res = CliRunner().invoke(main, ["cache", "clear", "--cache", str(notes)])
    assert res.exit_code == 2 and notes.read_text() == "my notes\n" and "refusing" in res.output
    foreign = tmp_path / "app.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE users (id INTEGER)")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    res = CliRunner().invoke(main, ["cache", "clear", "--cache", str(foreign)])
    assert res.exit_code == 2 and foreign.read_bytes() == before
    # analyze with such a --cache neither writes into it nor fails the scan
    res = CliRunner().invoke(main, ["analyze", os.path.join(os.path.dirname(__file__), "..", "sample_logs"),
                                    "--cache", str(foreign), "-q", "--format", "json"])
    assert res.exit_code == 0 and foreign.read_bytes() == before
    ours = tmp_path / "c.sqlite"
    CliRunner().invoke(main, ["analyze", os.path.join(os.path.dirname(__file__), "..", "sample_logs"),
                              "--cache", str(ours), "-q", "--format", "json"])
    assert ours.exists()
    res = CliRunner().invoke(main, ["cache", "clear", "--cache", str(ours)])
    assert res.exit_code == 0 and not ours.exists()
