"""One x axis per run.

Many training scripts log training metrics per step and validation metrics per epoch
(``writer.add_scalar("val/loss", v, epoch)``): plotted or compared as they are, the validation
curve collapses onto the first thousandth of the run and a train/val detector compares epoch 5
with step 5.  Before any detector or plot sees them, such per-epoch series are put on the step
axis of the run, from what the log itself says, best source first:

1. wall times: the step the training curve had reached when each epoch's value was written;
2. an ``epoch`` metric logged against the step (Lightning, Keras with step logging): the last
   step of each epoch;
3. neither: the mapping is not in the log.  Epochs are then placed as equal shares of the run
   (epoch e of n ends at (e + 1) / n of the step range) and the report says that this is an
   assumption.

Pure: series in, series and notes out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .model import Series
from .numfmt import step_text

# A series is taken to be indexed by epoch when its whole step range is at most this share of
# the run's longest step range (r37: 0-49 against 0-49,982, a share of 0.001): a genuinely
# per-step metric that only covers the first twentieth of a run would share the run's cadence,
# which the next two conditions check.
EPOCH_SHARE = 1 / 20
# ... its steps are consecutive whole numbers (one value per epoch, epochs counted by one) ...
EPOCH_STEP = 1.0
# ... and the per-step curve has at least this many points per epoch value, so the two really
# are logged at different cadences (a short run logging both every step is not converted).
MIN_POINTS_PER_EPOCH = 3
# wall times are usable when both series have them and the epoch series' writes span at least
# this share of the per-step series' wall-time span (both were logged through the same run)
MIN_WALL_OVERLAP = 0.5


@dataclass(frozen=True)
class Aligned:
    series: dict[str, Series]
    notes: tuple[str, ...]


def _looks_per_epoch(s: Series, ref: Series) -> bool:
    st = s.steps
    if st.size < 2 or ref.steps.size < 2 or s is ref:
        return False
    span_ref = float(ref.steps[-1] - ref.steps[0])
    if span_ref <= 0 or float(st[-1]) > EPOCH_SHARE * float(ref.steps[-1]) or st[0] < 0 or st[0] > 1:
        return False
    if not np.all(st == np.round(st)) or float(np.median(np.diff(st))) != EPOCH_STEP:
        return False
    return ref.steps.size >= MIN_POINTS_PER_EPOCH * st.size


def _reference(series: Mapping[str, Series]) -> Series | None:
    """The per-step curve: the series reaching the largest step, most points first."""
    cands = [s for s in series.values() if s.steps.size >= 2 and s.role.kind != "epoch"]
    if not cands:
        return None
    return max(cands, key=lambda s: (float(s.steps[-1]), s.steps.size))


def _by_wall(epoch_wall: np.ndarray, ref_steps: np.ndarray, ref_wall: np.ndarray) -> np.ndarray | None:
    ok = np.isfinite(ref_wall) & (ref_wall > 0)
    if ok.sum() < 2 or not np.all(np.isfinite(epoch_wall)) or np.any(epoch_wall <= 0):
        return None
    rw, rs = np.maximum.accumulate(ref_wall[ok]), ref_steps[ok]
    span = float(rw[-1] - rw[0])
    if span <= 0 or float(epoch_wall.max() - epoch_wall.min()) < MIN_WALL_OVERLAP * span:
        return None
    return np.round(np.interp(epoch_wall, rw, rs))


def _by_epoch_metric(epochs: np.ndarray, epoch_series: Series | None) -> np.ndarray | None:
    if epoch_series is None or epoch_series.steps.size < 2:
        return None
    ev, es = epoch_series.values, epoch_series.steps
    out = np.empty(epochs.size)
    for i, e in enumerate(epochs):
        hit = es[np.isfinite(ev) & (np.round(ev) == e)]
        if hit.size == 0:
            return None
        out[i] = hit.max()
    return out


def align(series: dict[str, Series], walls: Callable[[str], np.ndarray | None] | None = None) -> Aligned:
    """Per-epoch series moved onto the run's step axis; `walls(metric)` gives the wall times of a
    metric's points in the series' step order, or None when the format records none (called only
    when a per-epoch series is found)."""
    ref = _reference(series)
    if ref is None:
        return Aligned(series, ())
    moved = [s for s in series.values() if _looks_per_epoch(s, ref)]
    if not moved:
        return Aligned(series, ())
    epoch_series = next((s for s in series.values() if s.role.kind == "epoch" and s is not ref
                         and not _looks_per_epoch(s, ref)), None)
    out = dict(series)
    how: dict[str, list[str]] = {}
    for s in moved:
        mapped, source = None, ""
        sw, rw = (walls(s.metric), walls(ref.metric)) if walls else (None, None)
        if sw is not None and rw is not None and sw.size == s.steps.size and rw.size == ref.steps.size:
            mapped, source = _by_wall(sw, ref.steps, rw), "wall"
        if mapped is None:
            mapped, source = _by_epoch_metric(s.steps, epoch_series), "epoch"
        if mapped is None:
            n = float(s.steps[-1]) + (1 - float(s.steps[0]))  # epochs counted from 0 or 1
            first, last = float(ref.steps[0]), float(ref.steps[-1])
            share = (s.steps - s.steps[0] + 1) / n
            mapped, source = np.round(first + share * (last - first)), "assumed"
        mapped = np.maximum.accumulate(mapped)
        out[s.metric] = Series(s.metric, s.role, mapped.astype(float), s.values)
        how.setdefault(source, []).append(s.metric)
    notes = []
    for source, names in how.items():
        s0 = series[names[0]]
        what = (f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} logged per epoch "
                f"({step_text(s0.steps[0])}-{step_text(s0.steps[-1])}), {ref.metric} per step ({step_text(ref.steps[0])}-{step_text(ref.steps[-1])})")
        if source == "wall":
            notes.append(f"{what}: each epoch is placed at the step {ref.metric} had reached when it was written "
                         "(wall times)")
        elif source == "epoch":
            notes.append(f"{what}: each epoch is placed at its last step (from {epoch_series.metric})")  # type: ignore[union-attr]
        else:
            notes.append(f"{what}, and the log does not say which step ends each epoch: epochs are assumed equally "
                         "long; where they sit on the step axis (plots, train/val comparisons) is an estimate")
    return Aligned(out, tuple(notes))

