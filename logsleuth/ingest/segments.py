"""A step counter that goes back: restarts (new segments), resumes (overlaps) and duplicates.

Every reader keeps each metric's points in the order they were logged (a run's files in the
order they were written), so a counter going back is seen the same way in every format:

- a **restart** or second phase: the counter returns to its start (to the first step of the
  segment or before it, or into its first ``RESTART_FRAC`` of the range: a new `fit`, a new
  fold, a job run again from scratch, a CSV whose second header starts the epochs again).
  Each segment is its own run.
- a **resume**: the counter goes back to a step inside the range already logged, then goes on
  (a job restarted from a checkpoint).  The run stays one run; the points of the abandoned
  stretch are replaced by the later ones, and a warning says which steps and how many points.
- a **duplicate**: the same step logged again, the counter not going back.  The later value
  is kept, and a warning says how many.

Which it is is decided once per run, on its reference counter (the metric with the most points
among those whose counter goes back), so a sparse evaluation curve and a dense training curve
are cut at the same places; wall times place the other metrics' points in their segment when
every point has one, else each metric's own turns are matched with the reference's in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# a counter going back to within this share of the segment's range from its start is a restart
# (a resume from a checkpoint taken that early has thrown away nothing worth keeping)
RESTART_FRAC = 0.02


@dataclass(frozen=True)
class Segment:
    """One segment of a run: its tidy rows (each metric's steps strictly increasing, in the
    order logged) and its step range."""

    table: pd.DataFrame
    first_step: float
    last_step: float


@dataclass(frozen=True)
class Split:
    segments: tuple[Segment, ...]
    warnings: tuple[str, ...]


def fmt_step(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _by_metric(table: pd.DataFrame) -> list[np.ndarray]:
    """Row positions of each metric, in table (= logging) order; a metric whose counter goes
    back at more than half of its points is not in logging order (a file written newest first,
    rows shuffled): its rows come sorted by step (stable: of one step, the later row last)."""
    m = table["metric"]
    codes = m.cat.codes.to_numpy() if isinstance(m.dtype, pd.CategoricalDtype) else pd.factorize(m)[0]
    order = np.argsort(codes, kind="stable")
    cuts = np.flatnonzero(np.diff(codes[order])) + 1
    steps = table["step"].to_numpy(dtype="float64")
    out = []
    for g in np.split(order, cuts):
        if g.size and _turns(steps[g]).size > g.size // 2:
            g = g[np.argsort(steps[g], kind="stable")]
        if g.size:
            out.append(g)
    return out


def _turns(s: np.ndarray) -> np.ndarray:
    """Positions where the counter goes back (strictly below the step before)."""
    return np.flatnonzero(s[1:] < s[:-1]) + 1


def _restarts(s: np.ndarray, turns: np.ndarray) -> np.ndarray:
    """For each turn: True when it is a restart (back to the segment's start), False a resume."""
    out = np.zeros(turns.size, dtype=bool)
    start_pos = 0
    for k, t in enumerate(turns):
        p0 = s[start_pos]
        top = float(np.max(s[start_pos:t]))
        new = s[t]
        if new <= p0 or (new - p0) <= RESTART_FRAC * (top - p0):
            out[k] = True
            start_pos = t
    return out


def monotone(table: pd.DataFrame) -> bool:
    """Whether every metric's steps strictly increase in table order (nothing to do here)."""
    m = table["metric"]
    codes = m.cat.codes.to_numpy() if isinstance(m.dtype, pd.CategoricalDtype) else pd.factorize(m)[0]
    st = table["step"].to_numpy(dtype="float64")
    if codes.size < 2:
        return True
    if not bool(np.all(np.diff(codes) >= 0)):
        order = np.argsort(codes, kind="stable")
        codes, st = codes[order], st[order]
    return not bool(np.any((codes[1:] == codes[:-1]) & (np.diff(st) <= 0)))


def _labels(table: pd.DataFrame, groups: list[np.ndarray], ref: int, ref_turns: np.ndarray,
            ref_restart: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The segment of every row, and the metrics whose segment is a guess."""
    n_seg = 1 + int(ref_restart.sum())
    steps = table["step"].to_numpy(dtype="float64")
    wall = table["wall_time"].to_numpy(dtype="float64")
    label = np.zeros(len(table), dtype=np.int64)
    ref_rows = groups[ref]
    ref_wall = wall[ref_rows]
    if np.isfinite(wall).all() and np.all(np.diff(ref_wall) >= 0):
        starts = ref_wall[ref_turns[ref_restart]]
        if np.all(np.diff(starts) > 0):
            return np.searchsorted(starts, wall, side="right"), []
    guessed = []
    names = table["metric"].to_numpy()
    for g in groups:
        s = steps[g]
        turns = _turns(s)
        if g is ref_rows:
            restart = ref_restart
        elif turns.size == ref_turns.size:
            restart = ref_restart  # the same turns as the reference, in order
        else:
            restart = _restarts(s, turns)
        marks = np.zeros(g.size, dtype=np.int64)
        marks[turns[restart]] = 1
        piece = np.cumsum(marks)
        r = int(restart.sum())
        if r != n_seg - 1:
            guessed.append(str(names[g[0]]))
        # right-aligned: a metric with fewer pieces is placed in the last segments (a second
        # phase that adds a validation set), extra leading pieces go to the first
        label[g] = np.clip(piece + (n_seg - 1 - r), 0, n_seg - 1)
    return label, guessed


@dataclass
class _Merged:
    keep: np.ndarray
    replaced: int = 0
    duplicated: int = 0
    differing: int = 0
    lo: float = np.inf
    hi: float = -np.inf
    dup_lo: float = np.inf
    dup_hi: float = -np.inf
    events: tuple[tuple[float, float], ...] = ()


def _resumes(s: np.ndarray) -> list[tuple[float, float]]:
    """(step gone back to, highest step before) of every turn of a counter."""
    return [(float(s[t]), float(np.max(s[:t]))) for t in _turns(s)]


def _merge(s: np.ndarray, v: np.ndarray, events: list[tuple[float, float]]) -> _Merged:
    """Keep a point only when no later point has its step or an earlier one (the later write
    wins); dropped points are `replaced` when a resume of the run (`events`) re-logged their
    step range, else duplicates."""
    n = s.size
    suffix_min = np.minimum.accumulate(s[::-1])[::-1]
    keep = np.ones(n, dtype=bool)
    keep[:-1] = s[:-1] < suffix_min[1:]
    out = _Merged(keep)
    if keep.all():
        return out
    out.events = tuple(_resumes(s))
    drop = np.flatnonzero(~keep)
    x = s[drop]
    in_resume = np.zeros(drop.size, dtype=bool)
    for new, top in events:
        in_resume |= (x >= new) & (x <= top)
    if in_resume.any():
        out.replaced = int(in_resume.sum())
        out.lo, out.hi = float(x[in_resume].min()), float(x[in_resume].max())
    dups = drop[~in_resume]
    if dups.size:
        out.duplicated = int(dups.size)
        out.dup_lo, out.dup_hi = float(s[dups].min()), float(s[dups].max())
        kept = np.flatnonzero(keep)
        at = np.searchsorted(s[kept], s[dups])
        at = np.clip(at, 0, kept.size - 1)
        later = v[kept[at]]
        same = (later == v[dups]) | (np.isnan(later) & np.isnan(v[dups]))
        out.differing = int((~same).sum())
    return out


def split_segments(table: pd.DataFrame, source: str) -> Split:
    """The run's segments (one when its counter never returns to its start), each resume merged
    and each duplicate dropped, with a warning for each of those."""
    if table.empty or monotone(table):
        return Split((Segment(table, *_range(table)),), ())
    groups = _by_metric(table)
    steps = table["step"].to_numpy(dtype="float64")
    values = table["value"].to_numpy(dtype="float64")
    names = table["metric"].to_numpy()
    ref, ref_turns = -1, np.zeros(0, dtype=np.int64)
    for i, g in enumerate(groups):
        turns = _turns(steps[g])
        if turns.size and (ref < 0 or g.size > groups[ref].size):
            ref, ref_turns = i, turns
    warnings: list[str] = []
    if ref < 0:
        label = np.zeros(len(table), dtype=np.int64)
        n_seg = 1
    else:
        ref_restart = _restarts(steps[groups[ref]], ref_turns)
        n_seg = 1 + int(ref_restart.sum())
        if n_seg > 1:
            label, guessed = _labels(table, groups, ref, ref_turns, ref_restart)
            if guessed:
                warnings.append(f"{source}: {', '.join(sorted(guessed)[:5])}{' ...' if len(guessed) > 5 else ''}: "
                                f"its step counter does not restart with the others; its points are placed in the "
                                f"last segment(s) it could belong to")
        else:
            label = np.zeros(len(table), dtype=np.int64)
    keep = np.zeros(len(table), dtype=bool)
    segs = []
    for k in range(n_seg):
        stats: list[tuple[str, _Merged]] = []
        members = [r for r in (g[label[g] == k] for g in groups) if r.size]
        events = [e for rows in members for e in _resumes(steps[rows])]
        for rows in members:
            mg = _merge(steps[rows], values[rows], events)
            keep[rows[mg.keep]] = True
            stats.append((str(names[rows[0]]), mg))
        where = f"{source}" + (f" (segment {k + 1} of {n_seg})" if n_seg > 1 else "")
        warnings += _merge_warnings(where, stats, ref_name=str(names[groups[ref][0]]) if ref >= 0 else "")
        rows = np.flatnonzero(keep & (label == k))
        seg_table = table.iloc[rows].reset_index(drop=True)
        segs.append(Segment(seg_table, *_range(seg_table)))
    return Split(tuple(segs), tuple(warnings))


def _range(table: pd.DataFrame) -> tuple[float, float]:
    if table.empty:
        return (float("nan"), float("nan"))
    st = table["step"].to_numpy(dtype="float64")
    return float(np.nanmin(st)), float(np.nanmax(st))


def _merge_warnings(where: str, stats: list[tuple[str, _Merged]], ref_name: str) -> list[str]:
    out = []
    resumed = [(n, m) for n, m in stats if m.replaced]
    if resumed:
        ref_events = next((m.events for n, m in stats if n == ref_name and m.events), ())
        events = ref_events or tuple(sorted({e for _, m in stats for e in m.events}))
        turns = ", ".join(f"{fmt_step(top)} -> {fmt_step(new)}" for new, top in events[:4]) + (" ..." if len(events) > 4 else "")
        lo = min(m.lo for _, m in resumed)
        hi = max(m.hi for _, m in resumed)
        n = sum(m.replaced for _, m in resumed)
        out.append(f"{where}: resumed: the step counter went back and went on ({turns}), so steps "
                   f"{fmt_step(lo)}-{fmt_step(hi)} were logged twice; the later values were kept "
                   f"({n} earlier point(s) replaced in {len(resumed)} metric(s)); read as one run")
    dup = [(n, m) for n, m in stats if m.duplicated]
    if dup:
        n = sum(m.duplicated for _, m in dup)
        diff = sum(m.differing for _, m in dup)
        lo = min(m.dup_lo for _, m in dup)
        hi = max(m.dup_hi for _, m in dup)
        metrics = ", ".join(sorted(nm for nm, _ in dup)[:3]) + (" ..." if len(dup) > 3 else "")
        what = f"{diff} of them with a different value" if diff else "all with the same value"
        out.append(f"{where}: {n} point(s) logged again at a step already logged (steps {fmt_step(lo)}-"
                   f"{fmt_step(hi)}, {metrics}; {what}): the later write was kept, the earlier dropped")
    return out


def restart_note(source: str, segments: tuple[Segment, ...]) -> str:
    """What a run read as several segments says about them."""
    spans = ", ".join(f"{fmt_step(s.first_step)}-{fmt_step(s.last_step)}" for s in segments[:6])
    more = " ..." if len(segments) > 6 else ""
    return (f"{source}: the step counter went back to its start {len(segments) - 1} time(s) (a restart or a "
            f"second phase: another fit, another fold, a job run again from scratch): read as {len(segments)} "
            f"segments (steps {spans}{more})")
