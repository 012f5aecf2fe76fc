"""MLflow file store: `mlruns/<exp>/<run>/metrics/<name>` ("timestamp value step" lines) and params."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import InputError
from .textio import read_text

if TYPE_CHECKING:
    from .tidy import ReadResult


def is_mlflow_run(dirpath: str, names: list[str]) -> bool:
    return "metrics" in names and ("meta.yaml" in names or "params" in names) and os.path.isdir(os.path.join(dirpath, "metrics"))


def read_mlflow_run(run_dir: str) -> ReadResult:
    """All metrics and params of one MLflow run directory."""
    import numpy as np  # here, not at import: discovery uses is_mlflow_run without pandas
    import pandas as pd

    from ..model import TIDY_COLUMNS, empty_table
    from .tidy import ReadResult, to_float

    warnings: list[str] = []
    frames = []
    mdir = os.path.join(run_dir, "metrics")
    for root, _dirs, files in os.walk(mdir):
        for fn in sorted(files):
            fpath = os.path.join(root, fn)
            name = os.path.relpath(fpath, mdir).replace(os.sep, "/")
            try:
                text, w = read_text(fpath)
            except InputError as exc:
                warnings.append(str(exc))
                continue
            warnings += w
            ts: list[float] = []
            vals: list[float] = []
            steps: list[float] = []
            bad: list[int] = []
            for i, line in enumerate(text.split("\n"), 1):
                parts = line.split()
                if not parts:
                    continue
                t = to_float(parts[0]) if len(parts) >= 2 else None
                v = to_float(parts[1]) if len(parts) >= 2 else None
                s = to_float(parts[2]) if len(parts) > 2 else float(len(vals))
                if t is None or v is None or s is None:
                    bad.append(i)
                    continue
                ts.append(t / 1000.0)
                vals.append(v)
                steps.append(s)
            if bad:
                where = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
                warnings.append(f"{fpath}: {len(bad)} line(s) not of the form 'timestamp value step' skipped (line {where})")
            if vals:
                frames.append(pd.DataFrame({"metric": name, "step": np.asarray(steps, float),
                                            "value": np.asarray(vals, float), "wall_time": np.asarray(ts, float)}))
    params = {}
    pdir = os.path.join(run_dir, "params")
    if os.path.isdir(pdir):
        for fn in sorted(os.listdir(pdir)):
            try:
                with open(os.path.join(pdir, fn), encoding="utf-8", errors="replace") as fh:
                    raw = fh.read(4096).strip()
            except OSError:
                continue
            num = to_float(raw)
            params[fn] = num if num is not None else raw
    table = pd.concat(frames, ignore_index=True)[list(TIDY_COLUMNS)] if frames else empty_table()
    if not frames:
        warnings.append(f"{run_dir}: MLflow run without metric values")
    return ReadResult(table, hparams=params, warnings=warnings, fmt="mlflow")
