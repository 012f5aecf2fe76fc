"""MLflow's database store: `mlflow.db` (SQLite, the default tracking backend since MLflow 3.7).

Every run of every experiment is a run (named `<experiment>/<run name or id>`) with its metrics
(key, step, value, timestamp; `is_nan` for NaN, +-1.797e308 for +-inf, as MLflow stores them),
params as hyperparameters, and its status (FAILED or KILLED, or RUNNING with an end time never
written, is said in the warnings).  The database is opened read-only and immutable: no lock is
taken and nothing is written beside it (no journal, no -wal/-shm file).

The SQL below is the only thing a server backend (PostgreSQL, MySQL: the same schema) would
change: `connect` and the parameter style.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import InputError

if TYPE_CHECKING:
    from .discover import LogFile
    from .sniff import Probe
    from .tidy import ReadResult

SQLITE_MAGIC = b"SQLite format 3\x00"
TABLES = {"runs", "metrics", "experiments", "params"}
FLOAT_MAX = 1.7976931348623157e308  # MLflow's SQL store writes +-inf as +-sys.float_info.max

SQL_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
SQL_RUNS = """
    SELECT r.run_uuid, r.name, e.name, r.status, r.end_time
    FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id
    WHERE r.lifecycle_stage IS NULL OR r.lifecycle_stage != 'deleted'
    ORDER BY e.name, r.start_time, r.run_uuid
"""
SQL_METRICS = "SELECT key, step, value, timestamp, is_nan FROM metrics WHERE run_uuid = ? ORDER BY key, timestamp, step"
SQL_PARAMS = "SELECT key, value FROM params WHERE run_uuid = ?"
SQL_RUN = "SELECT status, end_time FROM runs WHERE run_uuid = ?"


@contextmanager
def connect(path: str) -> Iterator[sqlite3.Connection]:
    """A read-only, immutable connection: no lock, no journal, nothing written."""
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise InputError(path, f"cannot open as an SQLite database: {exc}") from exc
    with closing(con):
        yield con


def looks_like_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def is_mlflow_db(path: str) -> bool:
    """An SQLite file with MLflow's tracking tables."""
    if not looks_like_sqlite(path):
        return False
    try:
        with connect(path) as con:
            names = {r[0] for r in con.execute(SQL_TABLES)}
    except (InputError, sqlite3.Error):
        return False
    return TABLES <= names


def list_runs(path: str) -> list[tuple[str, str]]:
    """(run id, `<experiment>/<run name or id>`) of every run not deleted, names made unique."""
    try:
        with connect(path) as con:
            rows = con.execute(SQL_RUNS).fetchall()
    except sqlite3.Error as exc:
        raise InputError(path, f"not a readable MLflow database: {exc}") from exc
    out, seen = [], set()
    for run_id, name, exp, _status, _end in rows:
        label = f"{exp or 'experiment'}/{name or run_id}"
        if label in seen:
            label = f"{label}-{run_id[:8]}"
        seen.add(label)
        out.append((str(run_id), label))
    return out


def _status_warning(path: str, run_id: str, status: str | None, end_time: Any) -> list[str]:
    if status in ("FAILED", "KILLED"):
        return [f"{path}: run {run_id} ended with status {status}"]
    if status == "RUNNING" and end_time is None:
        return [f"{path}: run {run_id} is RUNNING with no end time: still training, or it died without ending the run"]
    return []


def looks_like_mlflow_db(p: Probe) -> bool:
    """A probed file that is an MLflow database (ingest.formats)."""
    return is_mlflow_db(p.path)


def read_log_file(f: LogFile) -> ReadResult:
    """The run `f.entry` of the database `f.path` (ingest.formats)."""
    return read_mlflow_db_run(f.path, f.entry)


def read_mlflow_db_run(path: str, run_id: str) -> ReadResult:
    """One run of an MLflow database: metrics, params and status."""
    import numpy as np
    import pandas as pd

    from ..model import empty_table
    from .tidy import ReadResult, to_float

    try:
        with connect(path) as con:
            found = con.execute(SQL_RUN, (run_id,)).fetchone()
            if found is None:
                raise InputError(path, f"no run {run_id} in this MLflow database")
            rows = con.execute(SQL_METRICS, (run_id,)).fetchall()
            params = con.execute(SQL_PARAMS, (run_id,)).fetchall()
    except sqlite3.Error as exc:
        raise InputError(path, f"not a readable MLflow database: {exc}") from exc
    warnings = _status_warning(path, run_id, *found)
    hparams: dict[str, Any] = {}
    for k, v in params:
        num = to_float(v) if isinstance(v, str) else None
        hparams[str(k)] = num if num is not None else v
    if not rows:
        warnings.append(f"{path}: run {run_id} has no metric values")
        return ReadResult(empty_table(), hparams=hparams, warnings=warnings, fmt="mlflow-db")
    keys, steps, values, stamps, is_nan = zip(*rows)
    value = np.asarray([np.nan if v is None else v for v in values], float)
    value[np.asarray(is_nan, bool)] = np.nan
    value[value >= FLOAT_MAX] = np.inf
    value[value <= -FLOAT_MAX] = -np.inf
    table = pd.DataFrame({
        "metric": pd.Categorical([str(k) for k in keys]),
        "step": np.asarray([0 if s is None else s for s in steps], float),
        "value": value,
        "wall_time": np.asarray([np.nan if t is None else t for t in stamps], float) / 1000.0,
    })
    return ReadResult(table, hparams=hparams, warnings=warnings, fmt="mlflow-db")
