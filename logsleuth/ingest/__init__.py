"""From files to one tidy model per run: discovery, one reader per format, merging.

Public entry points: :func:`discover` (paths -> run sources) and :func:`load_run`
(run source -> :class:`~logsleuth.model.RunData`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import InputError
from ..model import TIDY_COLUMNS, RunData, empty_table
from .discover import Discovery, LogFile, RunSource, classify, discover
from .formats import grouped, read_together, read_with

if TYPE_CHECKING:
    import pandas as pd

    from .tidy import ReadResult

# The readers (and pandas) are imported when a file is read, not when discovery runs: a re-scan
# served by the cache never needs them.
__all__ = ["Discovery", "LogFile", "RunSource", "classify", "discover", "load_run", "load_runs", "read_file",
           "segment_name"]


def read_file(f: LogFile) -> ReadResult:
    """One log file through the reader of its kind (ingest.formats)."""
    try:
        return read_with(f)
    except InputError:
        raise
    except RecursionError as exc:
        raise InputError(f.path, "nested too deeply to read") from exc
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, MemoryError) as exc:
        raise InputError(f.path, f"cannot parse as {f.kind}: {type(exc).__name__}: {exc}") from exc


def _read_unit(unit: tuple[LogFile, ...]) -> ReadResult:
    """One file through its reader, or the files of a run that are read together (the Monitor
    files of one run, one per environment worker: their episodes merged in time)."""
    if len(unit) == 1:
        return read_file(unit[0])
    return read_together(unit)


def _units(files: tuple[LogFile, ...]) -> list[tuple[LogFile, ...]]:
    """A run's files as they are read: each on its own, those of a kind read together as one."""
    together: dict[str, list[LogFile]] = {}
    units: list[tuple[LogFile, ...]] = []
    for f in files:
        if grouped(f.kind):
            together.setdefault(f.kind, []).append(f)
        else:
            units.append((f,))
    return units + [tuple(fs) for fs in together.values()]


def _metric_names(t: pd.DataFrame) -> set[str]:
    """The metrics a table holds (a categorical's used categories by a count of its codes, not a sort)."""
    import numpy as np
    import pandas as pd

    m = t["metric"]
    if isinstance(m.dtype, pd.CategoricalDtype):
        codes = m.cat.codes.to_numpy()
        used = np.bincount(codes[codes >= 0], minlength=len(m.cat.categories)) > 0
        return {str(c) for c, u in zip(m.cat.categories, used) if u}
    return {str(x) for x in m.unique()}


def _concat(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """One long table; the metric column stays categorical (one string per metric)."""
    import pandas as pd

    tables = [t for t in tables if len(t)]
    if not tables:
        return empty_table()
    if len(tables) == 1:
        return tables[0].reset_index(drop=True)
    cats = [t["metric"] if isinstance(t["metric"].dtype, pd.CategoricalDtype) else t["metric"].astype(str).astype("category")
            for t in tables]
    metric = pd.api.types.union_categoricals([pd.Categorical(c) for c in cats], ignore_order=True)
    out = pd.concat([t.drop(columns="metric") for t in tables], ignore_index=True)
    out.insert(0, "metric", metric)
    return out


def _sort_by_metric_step(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy table sorted by metric then step (stable), built from numpy arrays: pandas'
    sort_values costs ~2 ms a call, which dominates runs of a few hundred points."""
    import numpy as np
    import pandas as pd

    codes = table["metric"].cat.codes.to_numpy()
    steps = table["step"].to_numpy(dtype="float64")
    if codes.size > 1:
        dc = np.diff(codes)
        if not np.all((dc > 0) | ((dc == 0) & (np.diff(steps) >= 0))):
            order = np.lexsort((steps, codes))  # stable: equal keys keep their order
            return pd.DataFrame({
                "metric": pd.Categorical.from_codes(codes[order], dtype=table["metric"].dtype),
                "step": steps[order],
                "value": table["value"].to_numpy(dtype="float64")[order],
                "wall_time": table["wall_time"].to_numpy(dtype="float64")[order],
            }, copy=False)
    table = table.reset_index(drop=True)
    return table if tuple(table.columns) == TIDY_COLUMNS else table[list(TIDY_COLUMNS)]


def load_run(src: RunSource, keep: Callable[[list[str]], list[str]] | None = None) -> RunData:
    """Read every file of a run into one tidy table; raises InputError when nothing is readable.
    `keep(names) -> names` drops the other metrics as soon as each file is read."""
    import numpy as np

    from .segments import fmt_step, restart_note, split_segments

    tables, warnings, hparams, formats, errors = _read_files(src, keep)
    if errors and not tables:
        raise InputError(src.name, "; ".join(errors))
    warnings = [*errors, *warnings]
    # one table that its reader built sorted, with finite steps none logged twice
    # (tidy.wide_to_long): its subsets are too, so there is nothing to drop, de-duplicate or sort
    ordered = len(tables) == 1 and bool(tables[0].attrs.get("ordered"))
    table = _concat(tables)
    table.attrs.pop("ordered", None)
    bad_step = np.zeros(0, dtype=bool) if ordered else ~np.isfinite(table["step"].to_numpy(dtype="float64"))
    if bad_step.any():  # a step of NaN or 1e999 places a value nowhere on the curve
        warnings.append(f"{src.name}: {int(bad_step.sum())} value(s) with a step that is not a finite number; ignored")
        table = table[~bad_step].reset_index(drop=True)
    split = None
    if not ordered:
        # each metric's points in the order they were logged: a counter that goes back is a
        # restart (segments), a resume (overlap merged) or a duplicate, each said in a warning
        split = split_segments(table, src.name)
        warnings += split.warnings
        table = split.segments[-1].table
    if table.empty:
        raise InputError(src.name, "no scalar values found in " + ", ".join(os.path.basename(f.path) for f in src.files))
    formats_t = tuple(formats)
    files = tuple(f.path for f in src.files)
    if split is None or len(split.segments) == 1:
        return RunData(name=src.name, path=src.directory, formats=formats_t, table=_tidy(table, ordered),
                       hparams=hparams, warnings=tuple(warnings), files=files)
    n = len(split.segments)
    note = restart_note(src.name, split.segments)
    parts = tuple(
        RunData(name=segment_name(src.name, k + 1, n), path=src.directory, formats=formats_t,
                table=_tidy(seg.table, False, prune=True), hparams=hparams,
                warnings=(*warnings, f"{note}, each analysed as a run of its own; this is segment {k + 1} of {n}"),
                files=files,
                segment=(k + 1, n))
        for k, seg in enumerate(split.segments) if not seg.table.empty)
    last = split.segments[-1]
    return RunData(name=src.name, path=src.directory, formats=formats_t, table=parts[-1].table, hparams=hparams,
                   warnings=(*warnings, f"{note}; this run is analysed as its last segment ({n} of {n}, steps "
                                        f"{fmt_step(last.first_step)}-{fmt_step(last.last_step)})"),
                   files=files, segments=parts)


def _prefixed(table: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The table with `prefix` before every metric name (DVCLive's `train/` directory of a `loss.tsv`)."""
    import pandas as pd

    m = table["metric"]
    if isinstance(m.dtype, pd.CategoricalDtype):
        return table.assign(metric=m.cat.rename_categories([prefix + str(c) for c in m.cat.categories]))
    return table.assign(metric=prefix + m.astype(str))


def _read_files(src: RunSource, keep: Callable[[list[str]], list[str]] | None
                ) -> tuple[list[pd.DataFrame], list[str], dict, list[str], list[str]]:
    """Every file of a run through its reader: (tables, warnings, hyperparameters, formats,
    errors), with the metrics `keep` drops left out and those another file already gave (the
    same run in two formats) read once."""
    import pandas as pd

    tables: list[pd.DataFrame] = []
    warnings: list[str] = []
    hparams: dict = {}
    formats: list[str] = []
    errors: list[str] = []
    seen_metrics: set[str] = set()
    for hp in src.hparam_files:
        from .hparams import read_hparams_file  # PyYAML: imported for runs that have such a file

        h, w = read_hparams_file(hp)
        hparams.update(h)
        warnings += w
    for unit in _units(src.files):
        f = unit[0]
        try:
            res = _read_unit(unit)
        except InputError as exc:
            errors.append(str(exc))
            continue
        warnings += res.warnings
        for k, v in res.hparams.items():
            hparams.setdefault(k, v)
        if res.fmt and res.fmt not in formats:
            formats.append(res.fmt)
        t = res.table
        if f.prefix and f.kind != "tensorboard" and len(t):  # the event-file readers name their metrics with it themselves
            t = _prefixed(t, f.prefix)
        if keep is not None and len(t):
            names = [str(x) for x in t["metric"].unique()]
            wanted = set(keep(names))
            if len(wanted) < len(names):
                t = t[t["metric"].isin(wanted)]
                if isinstance(t["metric"].dtype, pd.CategoricalDtype):
                    t = t.assign(metric=t["metric"].cat.remove_unused_categories())
        if f.kind != "tensorboard" and seen_metrics:
            clash = _metric_names(t) & seen_metrics
            if clash and len(src.files) > 1:
                # the same run in two formats (YOLO writes results.csv and event files)
                t = t[~t["metric"].isin(clash)]
        tables.append(t)
        if len(src.files) > 1:  # only a second file can clash with the metrics seen so far
            seen_metrics |= _metric_names(t)
    return tables, warnings, hparams, formats, errors


def segment_name(run: str, k: int, n: int) -> str:
    """What reports call segment k of n of a run: `<run> (segment 2 of 3)`."""
    return f"{run} (segment {k} of {n})"


def load_runs(src: RunSource, keep: Callable[[list[str]], list[str]] | None = None) -> list[RunData]:
    """The runs one run source holds: itself, or each of its segments when its step counter went
    back to its start (`RunData.segments`, named by :func:`segment_name`)."""
    run = load_run(src, keep)
    return list(run.segments) or [run]


def _tidy(table: pd.DataFrame, ordered: bool, prune: bool = False) -> pd.DataFrame:
    """The table sorted by metric then step, its metric column categorical (sorted categories;
    `prune`: only the metrics it holds, for a segment that lacks some of the run's)."""
    import pandas as pd

    if not isinstance(table["metric"].dtype, pd.CategoricalDtype):
        table = table.assign(metric=table["metric"].astype(str).astype("category"))  # one string per metric
    if ordered:  # grouped by metric (in the file's column order), each metric's steps increasing
        return table.reset_index(drop=True)
    if prune:
        table = table.assign(metric=table["metric"].cat.remove_unused_categories())
    cats = list(table["metric"].cat.categories)
    if cats != sorted(cats):
        table = table.assign(metric=table["metric"].cat.reorder_categories(sorted(cats)))
    return _sort_by_metric_step(table)
