"""Helpers every reader shares: wide rows -> tidy long table, numeric coercion."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..model import TIDY_COLUMNS, empty_table

# Column names that carry the x-axis, best first.
STEP_COLUMNS = (
    "step", "global_step", "trainer/global_step", "iteration", "iter", "it",
    "total_steps", "num_steps", "steps", "batch", "_step", "epoch", "epochs",
)
TIME_COLUMNS = ("wall_time", "walltime", "timestamp", "_timestamp", "time", "datetime", "date")

_NONFINITE_WORDS = {
    "nan": math.nan, "-nan": math.nan, "+nan": math.nan,
    "inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
    "-inf": -math.inf, "-infinity": -math.inf,
}


METRIC_DTYPES = 1024  # the metric-name dtypes kept: a scan of many runs sees a few sets of names again and again


@lru_cache(maxsize=METRIC_DTYPES)
def _metric_dtype(names: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(names))


def metric_column(codes: np.ndarray, names: Sequence[str]) -> pd.Categorical:
    """pd.Categorical.from_codes(codes, categories=names), its dtype made once per set of names
    (building one costs ~60 us, most of a small table's construction; dtypes are immutable)."""
    return pd.Categorical.from_codes(codes, dtype=_metric_dtype(tuple(names)))


@dataclass
class ReadResult:
    """What one reader got out of one file."""

    table: pd.DataFrame
    hparams: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fmt: str = ""


def to_float(x: Any) -> float | None:
    """A cell as float; NaN/Inf spelled as words count; None for non-numeric cells."""
    if x is None:
        return None
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    if isinstance(x, str):
        s = x.strip()
        if not s:
            return None
        try:
            return float(s)
        except ValueError:
            return _NONFINITE_WORDS.get(s.lower())
    return None


def coerce_numeric(col: pd.Series) -> tuple[pd.Series, int]:
    """Numeric version of a column and how many non-empty cells were not numbers."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.astype("float64"), 0
    num = pd.to_numeric(col, errors="coerce")
    bad = num.isna() & col.notna()
    if bad.any():
        fixed = col[bad].map(to_float)
        num = num.astype("float64")
        num[bad] = fixed.astype("float64")
        still = bad & num.isna() & ~col[bad].map(lambda v: isinstance(v, str) and v.strip().lower() in _NONFINITE_WORDS).reindex(col.index, fill_value=False)
        blank = col.map(lambda v: isinstance(v, str) and not v.strip())
        n_bad = int((still & ~blank).sum())
        return num.astype("float64"), n_bad
    return num.astype("float64"), 0


def parse_time_column(col: pd.Series) -> pd.Series:
    """Seconds since the epoch from numbers (s or ms) or ISO date strings; NaN where unknown."""
    num = pd.to_numeric(col, errors="coerce")
    if num.notna().mean() > 0.5:
        num = num.astype("float64")
        med = float(np.nanmedian(num.to_numpy())) if num.notna().any() else 0.0
        if med > 1e11:  # milliseconds
            num = num / 1000.0
        if med < 1e8:  # durations ("03:12", seconds since start): not a wall clock
            return num
        return num
    try:
        dt = pd.to_datetime(col, errors="coerce", utc=True)
    except (ValueError, TypeError):
        return pd.Series(np.nan, index=col.index, dtype="float64")
    out = (dt - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return out.astype("float64")


def pick_column(columns: Iterable[str], candidates: Sequence[str]) -> str | None:
    """First candidate present among the columns (case-insensitive)."""
    lower = {str(c).strip().lower(): c for c in columns}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


def wide_to_long(
    df: pd.DataFrame,
    source: str,
    step_col: str | None = None,
    time_col: str | None = None,
    prefix: str = "",
) -> tuple[pd.DataFrame, list[str]]:
    """Turn a wide frame (one row per logging event) into the tidy long table.

    The step column is chosen from :data:`STEP_COLUMNS` unless given; without one the
    row order is the step.  Cells that are not numbers are dropped with a warning;
    NaN and Inf are kept (they are evidence).  The table's attrs["ordered"] says whether it
    is already sorted by metric and step with no step logged twice.
    """
    warnings: list[str] = []
    if df.empty or len(df.columns) == 0:
        return empty_table(), warnings
    df = df.reset_index(drop=True)
    if step_col is None:
        step_col = pick_column(df.columns, STEP_COLUMNS)
    if time_col is None:
        time_col = pick_column(df.columns, TIME_COLUMNS)
    if time_col is not None and time_col == step_col:
        time_col = None
    step_arr = _step_axis(df, source, step_col, time_col, warnings)
    wall_arr = parse_time_column(df[time_col]).to_numpy(dtype="float64") if time_col is not None else None
    cols = _value_columns(df, {step_col, time_col}, prefix, step_arr, wall_arr, source, warnings)
    names, whole, counts, st_parts, val_parts, wall_parts = cols
    if not names:
        return empty_table(), warnings
    names, uniq = _distinct_names(names)
    # steps strictly increasing row after row (with finite ends: all finite): so are each
    # metric's, and a table grouped by metric has nothing to sort or de-duplicate (load_run)
    ordered = bool(np.isfinite(step_arr[[0, -1]]).all() and np.all(step_arr[1:] > step_arr[:-1]))
    if ordered and len(whole) == len(names) and whole == list(range(whole[0], whole[0] + len(whole))) \
            and whole[0] >= 0 and not wall_parts:
        out = _whole_block(df, whole[0], names, step_arr)
        out.attrs["ordered"] = True
        return out, warnings
    rank = {nm: i for i, nm in enumerate(uniq)}
    remap = np.array([rank[nm] for nm in names], dtype=np.int8 if len(uniq) < 128 else np.int32)
    by_name = np.argsort(remap, kind="stable")  # metrics in category order: the table comes out sorted
    total = sum(counts)
    out = pd.DataFrame({
        "metric": metric_column(np.repeat(remap[by_name], np.asarray(counts)[by_name]), uniq),
        "step": np.concatenate([st_parts[i] for i in by_name], dtype=np.float64),
        "value": np.concatenate([val_parts[i] for i in by_name]),
        # no time column: one NaN seen `total` times, not `total` NaNs in fresh memory
        "wall_time": np.concatenate([wall_parts[i] for i in by_name]) if wall_parts
        else np.broadcast_to(np.float64(np.nan), (total,)),
    }, copy=False)  # (copy=False: the columns stay separate arrays, not stacked into one block)
    out.attrs["ordered"] = ordered
    return out, warnings


def _step_axis(df: pd.DataFrame, source: str, step_col: str | None, time_col: str | None,
               warnings: list[str]) -> np.ndarray:
    """Each row's step: the step column's numbers (gaps filled), else the row order (said in a warning)."""
    step_arr: np.ndarray | None = None
    if step_col is not None:
        dtype = df[step_col].dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iu":
            # numpy integers: every row has its step; made float64 as the long table is built
            step_arr = df[step_col].to_numpy()
        else:
            steps, _ = coerce_numeric(df[step_col])
        if step_arr is not None:
            pass
        elif steps.notna().sum() == 0:
            steps = pd.Series(np.arange(len(df), dtype="float64"))
            warnings.append(f"{source}: column {step_col!r} holds no numbers; using the row order as the step")
        else:
            steps = _fill_steps(steps)
    else:
        steps = pd.Series(np.arange(len(df), dtype="float64"))
        if time_col is not None:
            warnings.append(f"{source}: no step column; using the record order as the step (wall time kept)")
        else:
            warnings.append(f"{source}: no step or epoch column; using the row order as the step")
    if step_arr is None:
        step_arr = steps.to_numpy(dtype="float64")
    if step_col in WITHIN_EPOCH_COLUMNS:
        step_arr = _over_epochs(df, source, step_col, step_arr, warnings)
    return step_arr


# Counters that loggers often restart at every epoch (`epoch,iter,loss`: iter 0, 50, ... 350, then
# 0 again with the next epoch): beside an epoch column that advances exactly where they go back,
# they count batches within the epoch, not a restarted run
WITHIN_EPOCH_COLUMNS = ("iteration", "iter", "it", "batch")
EPOCH_COLUMNS = ("epoch", "epochs")


def _over_epochs(df: pd.DataFrame, source: str, step_col: str, steps: np.ndarray, warnings: list[str]) -> np.ndarray:
    """A within-epoch counter made a count over the run: each epoch's rows shifted past the
    previous epoch's last count by one logging interval (the median gap between its rows).
    Only when the counter goes back at least once, every time on a row where the epoch column
    advances, and that column never goes back; otherwise the steps are returned as given (a
    counter that goes back elsewhere is a restart, which the segmenting of the run reads)."""
    ep_col = pick_column(df.columns, EPOCH_COLUMNS)
    if ep_col is None or steps.size < 3 or not np.isfinite(steps).all():
        return steps
    epochs, _ = coerce_numeric(df[ep_col])
    ep = epochs.to_numpy(dtype="float64")
    if not np.isfinite(ep).all():
        return steps
    d_step, d_ep = np.diff(steps), np.diff(ep)
    back = d_step < 0
    if not back.any() or np.any(d_ep < 0) or np.any(back & (d_ep <= 0)):
        return steps
    within = d_step[(d_ep == 0) & (d_step > 0)]
    gap = float(np.median(within)) if within.size else 1.0
    starts = np.r_[0, np.flatnonzero(back) + 1]
    out = steps.astype("float64").copy()
    offset = 0.0
    for i, j in zip(starts, np.r_[starts[1:], steps.size]):
        out[i:j] = steps[i:j] + offset
        offset = out[j - 1] + gap - (steps[j] if j < steps.size else 0.0)
    warnings.append(f"{source}: {step_col!r} starts again as {ep_col!r} advances ({starts.size} epochs): it counts within each "
                    f"epoch, so the step is its count over the run")
    return out


def _value_columns(df: pd.DataFrame, skip: set, prefix: str, step_arr: np.ndarray, wall_arr: np.ndarray | None,
                   source: str, warnings: list[str]):
    """The metric columns' numbers with their steps (and wall times), cells without a number
    left out: (names, whole, counts, steps, values, wall times) per column that holds one;
    `whole` is the column's position when it is float64 with a value in every row, else -1."""
    names: list[str] = []
    whole: list[int] = []  # positions of float64 columns with a value in every row (-1: another dtype)
    counts: list[int] = []
    st_parts, val_parts, wall_parts = [], [], []
    n_bad_total = 0
    bad_cols = []
    for pos, col in enumerate(df.columns):
        if col in skip:
            continue
        cells = df[col]
        numbers = isinstance(cells.dtype, np.dtype) and cells.dtype.kind in "fiu"  # numpy numbers: no cell is text
        if numbers:  # coerce_numeric's answer without its pandas calls (a few dozen us a column)
            v, n_bad = cells.to_numpy(dtype="float64"), 0
        else:
            vals, n_bad = coerce_numeric(cells)
            v = vals.to_numpy(dtype="float64")
        if n_bad:
            n_bad_total += n_bad
            bad_cols.append(str(col))
        if v.size and not np.isnan(np.add.reduce(v)):  # no NaN (one sum, no mask): every row has a value
            whole.append(pos if cells.dtype == np.float64 and (numbers or vals.dtype == np.float64) else -1)
            names.append(prefix + str(col).strip())
            counts.append(v.size)
            st_parts.append(step_arr)
            val_parts.append(v)
            if wall_arr is not None:
                wall_parts.append(wall_arr)
            continue
        present = ~np.isnan(v)
        if not numbers and not pd.api.types.is_numeric_dtype(cells):
            present |= _was_nonfinite_word(cells).to_numpy(dtype=bool)
        if not present.any():
            continue
        all_present = bool(present.all())
        names.append(prefix + str(col).strip())
        counts.append(v.size if all_present else int(present.sum()))
        st_parts.append(step_arr if all_present else step_arr[present])
        val_parts.append(v if all_present else v[present])
        if wall_arr is not None:
            wall_parts.append(wall_arr if all_present else wall_arr[present])
    if n_bad_total:
        cols = ", ".join(bad_cols[:5]) + (" ..." if len(bad_cols) > 5 else "")
        warnings.append(f"{source}: {n_bad_total} non-numeric cell(s) ignored (columns: {cols})")
    return names, whole, counts, st_parts, val_parts, wall_parts


def _distinct_names(names: list[str]) -> tuple[list[str], list[str]]:
    """The names with a name said twice (after stripping and prefixing) kept apart as `name#2`,
    and their sorted set."""
    uniq = sorted(set(names))
    if len(uniq) < len(names):
        seen: dict[str, int] = {}
        for i, nm in enumerate(names):
            seen[nm] = seen.get(nm, 0) + 1
            if seen[nm] > 1:
                names[i] = f"{nm}#{seen[nm]}"
        uniq = sorted(set(names))
    return names, uniq


def _whole_block(df: pd.DataFrame, first: int, names: list[str], step_arr: np.ndarray) -> pd.DataFrame:
    """The long table of adjacent float64 columns with a value in every row: their values read
    column after column out of the frame's own block (pandas keeps a parsed file's float
    columns as one; no copy then), the metrics in column order (grouped, not sorted by name)."""
    n, k = len(df), len(names)
    values = df.iloc[:, first:first + k].to_numpy(dtype=np.float64).T.reshape(-1)
    return pd.DataFrame({
        "metric": metric_column(np.repeat(np.arange(k, dtype=np.int8 if k < 128 else np.int32), n), names),
        "step": np.concatenate([step_arr] * k, dtype=np.float64),
        "value": values,
        "wall_time": np.broadcast_to(np.float64(np.nan), (n * k,)),
    }, copy=False)


def long_from_columns(cols: dict[str, tuple[np.ndarray, np.ndarray]], steps: np.ndarray, wall: np.ndarray) -> pd.DataFrame:
    """The tidy table from per-metric (values, present) arrays sharing one step and wall axis."""
    names = sorted(n for n, (_, pr) in cols.items() if pr.any())
    if not names:
        return empty_table()
    codes, st, vals, wt = [], [], [], []
    for i, n in enumerate(names):
        v, pr = cols[n]
        codes.append(np.full(int(pr.sum()), i, dtype=np.int32))
        st.append(steps[pr])
        vals.append(v[pr])
        wt.append(wall[pr])
    return pd.DataFrame({"metric": metric_column(np.concatenate(codes), names),
                         "step": np.concatenate(st), "value": np.concatenate(vals),
                         "wall_time": np.concatenate(wt)}, copy=False)[list(TIDY_COLUMNS)]


def _was_nonfinite_word(col: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col):
        return pd.Series(False, index=col.index)
    return col.map(lambda v: isinstance(v, str) and v.strip().lower() in ("nan", "-nan", "+nan"))


def _fill_steps(steps: pd.Series) -> pd.Series:
    """Rows without a step take the last step seen (first rows: the next one)."""
    if steps.isna().any():
        steps = steps.ffill().bfill()
    return steps.astype("float64")


def flatten(obj: Mapping[str, Any], parent: str = "", sep: str = "/", depth: int = 0) -> dict[str, Any]:
    """Nested dicts flattened to `a/b` keys; lists of numbers kept as `a/0`, `a/1` (first 16)."""
    out: dict[str, Any] = {}
    if depth > 32:
        return out
    for k, v in obj.items():
        key = f"{parent}{sep}{k}" if parent else str(k)
        if isinstance(v, Mapping):
            out.update(flatten(v, key, sep, depth + 1))
        elif isinstance(v, list):
            if v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v) and len(v) <= 16:
                for i, x in enumerate(v):
                    out[f"{key}{sep}{i}"] = x
        else:
            out[key] = v
    return out
