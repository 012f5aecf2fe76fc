"""A step counter that goes back, in every format: a restart or second phase starts a new
segment (each its own run), a resume keeps the later values of the overlap (one run, a warning
with the steps and the count), and every duplicate dropped is counted in a warning."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from logsleuth.ingest import discover, load_run, load_runs, segment_name
from logsleuth.ingest.segments import split_segments
from logsleuth.model import Diagnosis, MetricInfo
from logsleuth.sweep import overview, pieces_of_one_run

import writers

FAULT_CORPUS = "/work/shared/fault_corpus"


def _loss(e: float) -> float:
    return 1.5 * math.exp(-e / 4) + 0.2


def _events(phases: list[range]) -> list[tuple[int, float, float]]:
    """(step, loss, val_loss) of each phase in logging order; values differ per phase so a test
    can tell which phase a point came from (phase k adds 10 * k)."""
    return [(s, _loss(s) + 10 * k, _loss(s) + 0.05 + 10 * k) for k, ph in enumerate(phases) for s in ph]


def _run(path) -> object:
    found = discover([str(path)])
    assert len(found.runs) == 1, found
    return load_run(found.runs[0])


def _series(run, metric):
    t = run.table
    rows = t[t["metric"] == metric]
    return rows["step"].to_numpy(), rows["value"].to_numpy()


def _restarted(run, n, spans):
    assert len(run.segments) == n, run.warnings
    assert [s.segment for s in run.segments] == [(k, n) for k in range(1, n + 1)]
    assert [s.name for s in run.segments] == [segment_name(run.name, k, n) for k in range(1, n + 1)]
    assert run.segments[0].name.endswith(f"(segment 1 of {n})")
    for seg, (lo, hi), k in zip(run.segments, spans, range(n)):
        st, v = _series(seg, "loss")
        assert (st[0], st[-1]) == (lo, hi), seg.name
        assert np.all(np.diff(st) > 0)
        assert np.all(v >= 10 * k) and np.all(v < 10 * (k + 1)), seg.name  # no point of another phase
        assert any(f"this is segment {k + 1} of {n}" in w for w in seg.warnings)
    # under the run's own name: its last segment, and a note saying so
    assert run.table.equals(run.segments[-1].table)
    assert any(f"read as {n} segments" in w and "analysed as its last segment" in w for w in run.warnings), run.warnings


def _resumed(run, back_from, back_to, replaced):
    assert not run.segments
    st, v = _series(run, "loss")
    assert np.all(np.diff(st) > 0)
    later = v[st >= back_to]
    assert np.all(later >= 10)  # the overlap keeps the values written after the resume
    w = [x for x in run.warnings if "resumed" in x]
    assert len(w) == 1, run.warnings
    assert f"{back_from} -> {back_to}" in w[0] and f"steps {back_to}-{back_from}" in w[0]
    assert f"{replaced} earlier point(s) replaced" in w[0], w[0]


# ------------------------------------------------------------------ console text

def _keras_console(fits: list[int]) -> str:
    lines = []
    for k, n in enumerate(fits):
        for e in range(1, n + 1):
            lines.append(f"Epoch {e}/{n}")
            lines.append(f"1875/1875 [==============================] - 5s 3ms/step - loss: {_loss(e) + 10 * k:.4f} "
                         f"- accuracy: {0.6 + 0.02 * e:.4f} - val_loss: {_loss(e) + 0.05 + 10 * k:.4f} "
                         f"- val_accuracy: {0.58 + 0.02 * e:.4f}")
    return "\n".join(lines) + "\n"


def test_a_keras_console_log_with_a_second_fit_is_two_segments(tmp_path):
    p = tmp_path / "train.log"
    p.write_text(_keras_console([10, 6]))
    run = _run(p)
    _restarted(run, 2, [(1875, 18750), (1875, 11250)])
    assert [r.name for r in load_runs(discover([str(p)]).runs[0])] == ["train.log (segment 1 of 2)", "train.log (segment 2 of 2)"]
    assert sorted(run.segments[0].table["metric"].unique()) == ["accuracy", "loss", "val_accuracy", "val_loss"]


def test_a_console_log_whose_epochs_go_back_to_a_checkpoint_is_one_resumed_run(tmp_path):
    lines = [f"epoch {e} | loss {_loss(e):.4f} | val_loss {_loss(e) + 0.05:.4f}" for e in range(1, 13)]
    lines += [f"epoch {e} | loss {_loss(e) + 10:.4f} | val_loss {_loss(e) + 10.05:.4f}" for e in range(9, 21)]
    p = tmp_path / "train.log"
    p.write_text("\n".join(lines) + "\n")
    _resumed(_run(p), 12, 9, replaced=8)  # epochs 9-12 of loss and val_loss


def test_k_fold_in_one_console_log_is_one_segment_per_fold(tmp_path):
    lines = []
    for k in range(3):
        lines.append(f"fold {k}")
        lines += [f"epoch {e} loss={_loss(e) + 10 * k:.4f} val_loss={_loss(e) + 0.05 + 10 * k:.4f}" for e in range(0, 8)]
    p = tmp_path / "kfold.log"
    p.write_text("\n".join(lines) + "\n")
    _restarted(_run(p), 3, [(0, 7)] * 3)


def test_a_single_segment_run_keeps_its_name(tmp_path):
    p = tmp_path / "train.log"
    p.write_text(_keras_console([10]))
    assert [r.name for r in load_runs(discover([str(p)]).runs[0])] == ["train.log"]


def test_console_metric_names_stay_as_logged_and_roles_still_follow(tmp_path):
    lines = [f"Epoch [{e:03d}/30] TrainLoss={_loss(e):.4f} | ValLoss={_loss(e) + 0.1:.4f} ValAcc={50 + e:.2f}%"
             for e in range(1, 31)]
    p = tmp_path / "train.log"
    p.write_text("\n".join(lines) + "\n")
    from logsleuth.roles import build_series

    series = build_series(_run(p))
    assert {n: s.role.name for n, s in series.items()} == {
        "TrainLoss": "train_loss", "ValLoss": "val_loss", "ValAcc": "val_accuracy"}


# ------------------------------------------------------------------ CSV flavours

def _csv(events, header="epoch,loss,val_loss", step=True) -> list[str]:
    return [f"{s},{a:.4f},{b:.4f}" if step else f"{a:.4f},{b:.4f}" for s, a, b in events]


def test_a_keras_csvlogger_written_twice_is_two_segments(tmp_path):
    first, second = _csv(_events([range(0, 10)])), _csv(_events([range(0, 6), range(0, 6)])[6:])
    p = tmp_path / "training.log"
    p.write_text("\n".join(["epoch,loss,val_loss", *first, "epoch,loss,val_loss", *second]) + "\n")
    run = _run(p)
    _restarted(run, 2, [(0, 9), (0, 5)])
    assert any("header line comes again at line 12" in w for w in run.warnings), run.warnings
    assert not any("non-numeric" in w for w in run.warnings)


def test_a_history_csv_without_an_epoch_column_restarts_its_row_count_at_a_second_header(tmp_path):
    ev = _events([range(0, 10), range(0, 6)])
    rows = _csv(ev, step=False)
    p = tmp_path / "history.csv"
    p.write_text("\n".join(["loss,val_loss", *rows[:10], "loss,val_loss", *rows[10:]]) + "\n")
    _restarted(_run(p), 2, [(0, 9), (0, 5)])


def test_a_lightning_csv_resumed_from_a_checkpoint_is_one_run(tmp_path):
    ev = _events([range(0, 100, 5), range(60, 200, 5)])
    p = tmp_path / "metrics.csv"
    p.write_text("step,epoch,loss,val_loss\n" + "\n".join(f"{s},{s // 50},{a:.4f},{b:.4f}" for s, a, b in ev) + "\n")
    _resumed(_run(p), 95, 60, replaced=24)  # steps 60-95 of loss, val_loss and epoch


def test_a_long_csv_restarting_its_steps_is_two_segments(tmp_path):
    ev = _events([range(0, 50), range(0, 30)])
    p = tmp_path / "scalars.csv"
    p.write_text("step,tag,value\n" + "\n".join(f"{s},loss,{a:.4f}" for s, a, _ in ev) + "\n")
    _restarted(_run(p), 2, [(0, 49), (0, 29)])


def _within_epoch_rows(epochs: int = 6, per: int = 8, every: int = 50, restart_at: int | None = None) -> list[tuple]:
    """(epoch, iter, loss) rows of a logger that restarts its iteration counter at every epoch
    (iter 0, 50, ... 350, then 0 with the next epoch); `restart_at`: the job starts again from
    epoch 0 at that epoch (epoch and iter both go back)."""
    rows = []
    for e in range(epochs):
        shown = e if restart_at is None or e < restart_at else e - restart_at
        rows += [(shown, i * every, _loss(e + i / per)) for i in range(per)]
    return rows


def test_an_iteration_counter_that_restarts_with_each_epoch_counts_over_the_run(tmp_path):
    """`epoch,iter,loss` with iter back to 0 exactly where the epoch advances: one run whose
    step counts iterations over the whole run (iter 0-350 of epoch 1 are steps 400-750), said in
    a warning, not 6 segments of 8 points."""
    p = tmp_path / "train_log.csv"
    p.write_text("epoch,iter,loss\n" + "\n".join(f"{e},{i},{v:.5f}" for e, i, v in _within_epoch_rows()) + "\n")
    run = _run(p)
    assert not run.segments, run.warnings
    st, _ = _series(run, "loss")
    assert st.size == 48 and np.all(np.diff(st) == 50) and (st[0], st[8], st[-1]) == (0, 400, 2350)
    assert any("'iter' starts again as 'epoch' advances (6 epochs)" in w for w in run.warnings), run.warnings


def test_the_same_counter_in_json_lines_counts_over_the_run(tmp_path):
    p = tmp_path / "metrics.jsonl"
    p.write_text("\n".join(json.dumps({"epoch": e, "iter": i, "loss": v}) for e, i, v in _within_epoch_rows()) + "\n")
    run = _run(p)
    assert not run.segments, run.warnings
    st, _ = _series(run, "loss")
    assert st[-1] == 2350 and np.all(np.diff(st) > 0)


def test_an_iteration_counter_going_back_with_the_epoch_is_still_a_restart(tmp_path):
    """The job run again from epoch 0 at its fourth epoch: epoch and iter both go back, so the
    counter is no within-epoch count there: the run is read as restarted, as any counter that
    goes back elsewhere."""
    p = tmp_path / "train_log.csv"
    rows = _within_epoch_rows(epochs=6, restart_at=3)
    p.write_text("epoch,iter,loss\n" + "\n".join(f"{e},{i},{v:.5f}" for e, i, v in rows) + "\n")
    run = _run(p)
    assert not any("starts again as" in w for w in run.warnings), run.warnings
    assert run.segments, run.warnings


# ------------------------------------------------------------------ JSON lines, trainer_state

def test_a_jsonl_log_appended_to_by_a_resumed_job_is_one_run(tmp_path):
    ev = _events([range(0, 560, 10), range(470, 900, 10)])
    p = tmp_path / "metrics.jsonl"
    p.write_text("\n".join(json.dumps({"step": s, "loss": a, "val_loss": b}) for s, a, b in ev) + "\n")
    _resumed(_run(p), 550, 470, replaced=18)


def test_a_jsonl_log_of_a_job_run_again_from_scratch_is_two_segments(tmp_path):
    ev = _events([range(0, 300, 10), range(0, 500, 10)])
    p = tmp_path / "metrics.jsonl"
    p.write_text("\n".join(json.dumps({"step": s, "loss": a, "val_loss": b}) for s, a, b in ev) + "\n")
    _restarted(_run(p), 2, [(0, 290), (0, 490)])


def test_a_trainer_state_whose_steps_restart_is_two_segments(tmp_path):
    ev = _events([range(10, 200, 10), range(10, 120, 10)])
    hist = [{"epoch": s / 100, "loss": a, "learning_rate": 1e-4, "step": s} for s, a, _ in ev]
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps({"global_step": 110, "log_history": hist}))
    _restarted(_run(p), 2, [(10, 190), (10, 110)])


# ------------------------------------------------------------------ TensorBoard, MLflow, W&B

def _tb(d, phase_steps, k, wall0, suffix):
    st = np.asarray(list(phase_steps), dtype=float)
    writers.write_tensorboard(str(d), {"loss": (st, np.array([_loss(s / 50) + 10 * k for s in st])),
                                       "val_loss": (st[::5], np.array([_loss(s / 50) + 10.05 * k for s in st[::5]]))},
                              wall0=wall0, filename_suffix=suffix)


def test_tensorboard_event_files_of_a_job_run_again_are_two_segments(tmp_path):
    d = tmp_path / "run"
    _tb(d, range(0, 300), 0, 1.0e9, ".a")
    _tb(d, range(0, 200), 1, 1.1e9, ".b")
    _restarted(_run(d), 2, [(0, 299), (0, 199)])


def test_tensorboard_resumed_from_a_checkpoint_in_a_second_event_file_is_one_run(tmp_path):
    d = tmp_path / "run"
    _tb(d, range(0, 560), 0, 1.0e9, ".a")
    _tb(d, range(470, 900), 1, 1.1e9, ".b")
    run = _run(d)
    _resumed(run, 559, 470, replaced=90 + 18)
    st, v = _series(run, "val_loss")
    assert np.all(v[st >= 470] >= 10)  # the sparse curve is merged the same way


def test_mlflow_metric_files_of_a_resumed_run_are_one_run(tmp_path):
    run_dir = tmp_path / "mlruns" / "0" / "abc"
    (run_dir / "metrics").mkdir(parents=True)
    (run_dir / "params").mkdir()
    (run_dir / "meta.yaml").write_text("run_id: abc\nstatus: 3\n")
    ev = _events([range(0, 100), range(80, 150)])
    (run_dir / "metrics" / "loss").write_text(
        "".join(f"{1_700_000_000_000 + i * 1000} {a!r} {s}\n" for i, (s, a, _) in enumerate(ev)))
    _resumed(_run(run_dir), 99, 80, replaced=20)


def test_a_wandb_history_whose_step_goes_back_to_a_checkpoint_is_one_run(tmp_path):
    ev = _events([range(0, 60), range(40, 100)])
    recs = [writers.wandb_history(s, {"loss": a}) for s, a, _ in ev] + [writers.wandb_exit(0)]
    d = tmp_path / "wandb" / "run-1-abc"
    d.mkdir(parents=True)
    (d / "run-abc.wandb").write_bytes(writers.wandb_log(recs))
    _resumed(_run(d), 59, 40, replaced=20)


# ------------------------------------------------------------------ duplicates, the decision itself

def test_duplicates_are_always_counted_even_with_the_same_value(tmp_path):
    p = tmp_path / "metrics.jsonl"
    recs = [{"step": s, "loss": _loss(s)} for s in range(20)] + [{"step": 19, "loss": _loss(19)}]
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    run = _run(p)
    assert any("1 point(s) logged again at a step already logged" in w and "all with the same value" in w
               for w in run.warnings), run.warnings


def test_a_counter_back_to_within_its_first_steps_is_a_restart_further_is_a_resume():
    import pandas as pd

    def table(second_start):
        st = np.r_[np.arange(0, 1000, 10.0), np.arange(second_start, 1500, 10.0)]
        return pd.DataFrame({"metric": pd.Categorical(["loss"] * st.size), "step": st,
                             "value": np.ones(st.size), "wall_time": np.full(st.size, np.nan)})

    assert len(split_segments(table(10), "r").segments) == 2  # back to its second logged step: a restart
    assert len(split_segments(table(500), "r").segments) == 1  # to the middle: a resume
    reversed_rows = table(0).iloc[:100].iloc[::-1].reset_index(drop=True)  # a file written newest first
    assert len(split_segments(reversed_rows, "r").segments) == 1


@pytest.mark.parametrize("run", ["healthy_13", "noisy_labels_02"])
def test_the_fault_corpus_resumed_runs_stay_one_run_with_a_resume_warning(run):
    path = os.path.join(FAULT_CORPUS, run)
    if not os.path.isdir(path):
        pytest.skip("the shared fault corpus is not on this machine")
    r = _run(path)
    assert not r.segments
    assert any("resumed" in w and "later values were kept" in w for w in r.warnings), r.warnings


# ------------------------------------------------------------------ not a sweep

def _d(run, first, last):
    m = (MetricInfo("loss", "train_loss", 10, first, last, 0),)
    return Diagnosis(run=run, status="ok", health="healthy", metrics=m)


def test_a_runs_own_segments_and_resumed_versions_are_not_a_seed_sweep():
    segs = [_d(segment_name("exp/run", k, 3), 0.0, 99.0) for k in (1, 2, 3)]
    assert pieces_of_one_run(segs) and overview(segs).sweeps == ()
    resumed = [_d("exp/lightning_logs/version_0", 0.0, 560.0), _d("exp/lightning_logs/version_1", 470.0, 900.0)]
    assert pieces_of_one_run(resumed) and overview(resumed).sweeps == ()
    seeds = [_d(f"exp/seed_{i}", 0.0, 900.0) for i in range(3)]  # repeats: all from the start
    assert not pieces_of_one_run(seeds) and len(overview(seeds).sweeps) == 1


# ------------------------------------------------------------------ each segment a diagnosed run

def _two_fits(tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    (d / "train.log").write_text(_keras_console([10, 6]))
    return d


def test_each_segment_is_a_diagnosed_run_in_json_and_terminal_reports(tmp_path):
    from click.testing import CliRunner

    from logsleuth.cli import main

    d = _two_fits(tmp_path)
    r = CliRunner().invoke(main, ["analyze", str(d), "--format", "json", "--no-cache"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    runs = json.loads(r.output)["runs"]
    assert [x["run"] for x in runs] == ["logs (segment 1 of 2)", "logs (segment 2 of 2)"]
    assert [x["metrics"]["loss"]["points"] for x in runs] == [10, 6]
    assert all(x["status"] == "ok" for x in runs)
    r = CliRunner().invoke(main, ["analyze", str(d), "--no-cache"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "logs (segment 1 of 2)" in r.output and "logs (segment 2 of 2)" in r.output
    assert "2 run(s):" in r.output  # the summary counts the segments


def test_the_segments_of_a_run_round_trip_through_the_cache(tmp_path):
    from logsleuth.cache import DiagnosisCache
    from logsleuth.scan import analyze_paths

    d = _two_fits(tmp_path)
    cache = DiagnosisCache(str(tmp_path / "cache.sqlite"))
    first = analyze_paths([str(d)], jobs=1, cache=cache)
    again = analyze_paths([str(d)], jobs=1, cache=cache)
    assert again.stats["cached"] == 1 and again.stats["analysed"] == 0
    names = ["logs (segment 1 of 2)", "logs (segment 2 of 2)"]
    assert [x.run for x in first.diagnoses] == [x.run for x in again.diagnoses] == names
    assert first.diagnoses == again.diagnoses
    assert sorted(again.curves) == names
    for name in names:
        for role, (metric, st, v) in first.curves[name].items():
            m2, st2, v2 = again.curves[name][role]
            assert metric == m2 and np.array_equal(st, st2) and np.array_equal(v, v2)
    assert again.curves[names[0]]["train_loss"][1].size == 10 and again.curves[names[1]]["train_loss"][1].size == 6
