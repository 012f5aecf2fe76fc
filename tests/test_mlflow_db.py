"""MLflow's database store (mlflow.db): runs written by the real MLflow read as the same runs
from its file store, read-only, with NaN/Inf, params and the run status kept."""

from __future__ import annotations

import math
import os
import sqlite3

import numpy as np
import pytest

from logsleuth.errors import InputError
from logsleuth.ingest import discover, load_run
from logsleuth.ingest.discover import classify
from logsleuth.ingest.mlflowdb import read_mlflow_db_run
from logsleuth.scan import analyze_paths

T0 = 1_796_175_378_000  # ms


def _curves():
    st = np.arange(60)
    return {
        ("exp-a", "good"): ({"train_loss": 2.3 * np.exp(-st / 12) + 0.05, "val_loss": 2.4 * np.exp(-st / 12) + 0.1},
                            {"lr": "0.001", "optimizer": "Adam", "batch_size": "32"}, "FINISHED"),
        ("exp-a", "diverged"): ({"loss": 2.3 * np.exp(st / 12)}, {"lr": "3.0"}, "FAILED"),
        ("exp-b", "with-nan"): ({"loss": np.r_[2.3 * np.exp(-st[:40] / 12), [np.nan] * 10, [np.inf] * 10]}, {}, "KILLED"),
    }


def _write(client, curves) -> None:
    from mlflow.entities import Metric, Param

    exps: dict[str, str] = {}
    for (exp, name), (metrics, params, status) in curves.items():
        if exp not in exps:
            exps[exp] = client.create_experiment(exp)
        run = client.create_run(exps[exp], run_name=name)
        rid = run.info.run_id
        ms = [Metric(k, float(v), T0 + 1000 * i, i) for k, vals in metrics.items() for i, v in enumerate(vals)]
        for i in range(0, len(ms), 500):
            client.log_batch(rid, metrics=ms[i:i + 500])
        if params:
            client.log_batch(rid, params=[Param(k, v) for k, v in params.items()])
        client.set_terminated(rid, status)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # the legacy file store, to compare with
    curves = _curves()
    db = root / "db" / "mlflow.db"
    db.parent.mkdir()
    _write(MlflowClient(tracking_uri=f"sqlite:///{db}"), curves)
    _write(MlflowClient(tracking_uri=f"file:{root / 'fs' / 'mlruns'}"), curves)
    del mlflow
    return {"db": str(db), "fs": str(root / "fs" / "mlruns"), "curves": curves}


def test_every_run_of_every_experiment_is_found(stores):
    names = sorted(r.name.split("mlflow.db/")[-1] for r in discover([os.path.dirname(stores["db"])]).runs)
    assert names == ["exp-a/diverged", "exp-a/good", "exp-b/with-nan"]
    assert classify(stores["db"]) == "mlflowdb"
    assert discover([stores["db"]]).runs[0].name.endswith("mlflow.db/exp-a/diverged")


def test_values_params_and_status_are_what_was_logged(stores):
    runs = {r.name.split("mlflow.db/")[-1]: load_run(r) for r in discover([stores["db"]]).runs}
    for (exp, name), (metrics, params, status) in stores["curves"].items():
        run = runs[f"{exp}/{name}"]
        for k, vals in metrics.items():
            t = run.table[run.table.metric.astype(str) == k].sort_values("step")
            assert np.array_equal(t.step.to_numpy(), np.arange(len(vals), dtype=float))
            assert np.allclose(t.value.to_numpy(), np.asarray(vals, float).astype(np.float32), equal_nan=True, rtol=1e-6)
            assert np.array_equal(np.isinf(t.value.to_numpy()), np.isinf(vals))
            assert t.wall_time.iloc[0] == pytest.approx(T0 / 1000)
        for k, v in params.items():
            got = run.hparams[k]
            assert got == (float(v) if v.replace(".", "", 1).isdigit() else v)
        assert any(f"status {status}" in w for w in run.warnings) == (status in ("FAILED", "KILLED"))


def test_file_store_and_database_give_the_same_diagnoses(stores):
    def by_run(path):
        res = analyze_paths([path], jobs=1, curves=False)
        return {"/".join(d.run.split("/")[-2:]): (d.health, [c.id for c in d.causes[:3]], sorted(f.rule for f in d.symptoms))
                for d in res.diagnoses}

    db, fs = by_run(stores["db"]), by_run(stores["fs"])
    assert len(db) == len(fs) == 3
    # the file store names runs by directory (experiment id / run id): match them by content
    assert sorted(db.values()) == sorted(fs.values())
    assert db["exp-a/diverged"][0] == "critical" and db["exp-a/good"][0] == "healthy"


def test_the_database_is_never_written(stores):
    db = stores["db"]
    d = os.path.dirname(db)
    before = (sorted(os.listdir(d)), os.stat(db).st_mtime_ns, open(db, "rb").read())
    analyze_paths([d], jobs=1, curves=False)
    assert (sorted(os.listdir(d)), os.stat(db).st_mtime_ns, open(db, "rb").read()) == before


# ------------------------------------------------- hand-made databases: no MLflow package needed

SCHEMA = """
CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, name TEXT, status TEXT, start_time INTEGER, end_time INTEGER,
                   lifecycle_stage TEXT, experiment_id INTEGER);
CREATE TABLE metrics (key TEXT, value REAL, timestamp INTEGER, run_uuid TEXT, step INTEGER, is_nan BOOLEAN);
CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT);
"""


def _db(path, runs):
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    con.execute("INSERT INTO experiments VALUES (1, 'e')")
    for rid, name, status, end, stage, values in runs:
        con.execute("INSERT INTO runs VALUES (?, ?, ?, 0, ?, ?, 1)", (rid, name, status, end, stage))
        for i, (v, nan) in enumerate(values):
            con.execute("INSERT INTO metrics VALUES ('loss', ?, ?, ?, ?, ?)", (v, T0 + i, rid, i, nan))
    con.commit()
    con.close()
    return str(path)


def test_nan_and_inf_as_mlflow_stores_them(tmp_path):
    p = _db(tmp_path / "mlflow.db", [("r1", "run", "FINISHED", 5, "active", [(1.0, 0), (0.0, 1), (1.7976931348623157e308, 0),
                                                                             (-1.7976931348623157e308, 0)])])
    v = read_mlflow_db_run(p, "r1").table.value.to_numpy()
    assert v[0] == 1.0 and math.isnan(v[1]) and v[2] == math.inf and v[3] == -math.inf


def test_deleted_runs_skipped_same_names_made_unique_and_running_said(tmp_path):
    p = _db(tmp_path / "t.sqlite", [("aaaaaaaa1", "same", "FINISHED", 5, "active", [(1.0, 0)] * 3),
                                    ("bbbbbbbb2", "same", "RUNNING", None, "active", [(1.0, 0)] * 3),
                                    ("cccccccc3", "gone", "FINISHED", 5, "deleted", [(1.0, 0)] * 3)])
    runs = discover([p]).runs
    assert sorted(r.name.split("t.sqlite/")[-1] for r in runs) == ["e/same", "e/same-bbbbbbbb"]
    running = next(r for r in runs if r.name.endswith("bbbbbbbb"))
    assert any("RUNNING with no end time" in w for w in load_run(running).warnings)


def test_other_sqlite_files_are_not_logs_and_a_damaged_database_names_the_file(tmp_path):
    other = tmp_path / "app.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE users (id INTEGER)")
    con.close()
    assert classify(str(other)) is None
    assert not discover([str(tmp_path)]).runs
    p = _db(tmp_path / "mlflow.db", [("r1", "run", "FINISHED", 5, "active", [(1.0, 0)] * 3)])
    with pytest.raises(InputError, match="no run nope"):
        read_mlflow_db_run(p, "nope")
    data = bytearray(open(p, "rb").read())
    data[100:] = b"\xff" * (len(data) - 100)
    open(p, "wb").write(bytes(data))
    res = analyze_paths([str(tmp_path)], jobs=1, curves=False)
    assert not res.diagnoses or all(d.status == "error" for d in res.diagnoses)
    assert any("mlflow.db" in m for m in res.messages) or any("mlflow.db" in (d.error or "") for d in res.diagnoses)


def test_wandb_mlruns_and_mlflow_db_side_by_side_each_run_once(tmp_path):
    """A project directory as people have it: wandb/, mlruns/ and mlflow.db together, no flags."""
    import json as _json

    from click.testing import CliRunner

    from logsleuth.cli import main

    import synth
    import writers

    c = synth.healthy(seed=1)
    writers.write_wandb(str(tmp_path / "wandb" / "run-20260101_000000-aaaa1111"), c, run_id="aaaa1111")
    writers.write_wandb(str(tmp_path / "wandb" / "offline-run-20260102_000000-bbbb2222"), synth.diverging(), run_id="bbbb2222")
    writers.write_mlflow(str(tmp_path / "mlruns" / "1"), c)
    _db(tmp_path / "mlflow.db", [("r1", "db-run", "FINISHED", 5, "active", [(1.0 / (i + 1), 0) for i in range(30)]),
                                 ("r2", "db-failed", "FAILED", 5, "active", [(1.0 + i, 0) for i in range(30)])])
    names = sorted(r.name for r in discover([str(tmp_path)]).runs)
    assert len(names) == len(set(names)) == 5, names
    assert sum("/wandb/" in n for n in names) == 2 and sum("mlflow.db/" in n for n in names) == 2
    assert sum("/mlruns/" in n for n in names) == 1
    res = CliRunner().invoke(main, ["inspect", "--format", "json", str(tmp_path)])
    assert res.exit_code == 0
    kinds = sorted(f for r in _json.loads(res.output)["runs"] for f in r["formats"])
    assert kinds == ["mlflow", "mlflow-db", "mlflow-db", "wandb", "wandb"], kinds
    res = CliRunner().invoke(main, ["analyze", "--no-cache", "--format", "json", str(tmp_path)])
    assert res.exit_code == 0 and len(_json.loads(res.output)["runs"]) == 5
