"""Text logs larger than STREAM_BYTES are read in chunks, never whole, with bounded memory.

The file is cut at line ends into CHUNK_BYTES pieces; each piece (with the CSV header
repeated) goes through the format's ordinary reader, and its tidy rows are added to
per-metric buffers.  When the buffers pass POINT_BUDGET points in all, the longest metrics are
thinned: every k-th point is kept, plus every NaN/Inf (evidence) and every point far from its
neighbours (a spike: more than 8 MADs from the median of its block of 64), so divergence,
spikes, NaN and the trend survive while memory stays flat whatever the file's size.  A
warning says how many points were kept.

Peak memory is about CHUNK_BYTES x the parser's overhead plus twice the budget of points,
independent of the file's size (benchmarks/stream_memory.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model import TIDY_COLUMNS
from .tidy import ReadResult

STREAM_BYTES = 256 * 1024**2
CHUNK_BYTES = 16 * 1024**2
POINT_BUDGET = 4_000_000  # points kept in all metrics together (x 24 bytes: step, value, wall time)
MIN_PER_METRIC = 100_000
BLOCK = 64
SPIKE_MADS = 8.0


def should_stream(path: str) -> bool:
    try:
        if os.path.getsize(path) <= STREAM_BYTES:
            return False
        with open(path, "rb") as fh:
            return fh.read(2) != b"\x1f\x8b"  # gzip is decompressed whole (and refused above the text limit)
    except OSError:
        return False


def chunks(path: str, size: int, notes: list[str]):
    """(first line number, bytes) pieces of the file cut after a newline.  A line longer than
    8 pieces is skipped with a note naming it; the lines after it are still read."""
    line = 1
    rest = b""
    skipping = False
    try:
        with open(path, "rb") as fh:
            while True:
                block = fh.read(size)
                if not block:
                    break
                if skipping:
                    nl = block.find(b"\n")
                    if nl < 0:
                        continue
                    block, skipping = block[nl + 1:], False
                    line += 1
                block = rest + block
                cut = block.rfind(b"\n")
                if cut < 0:
                    rest = block
                    if len(rest) > 8 * size:
                        notes.append(f"{path}:{line}: a line longer than {8 * size:,} bytes; skipped")
                        rest, skipping = b"", True
                    continue
                piece, rest = block[:cut + 1], block[cut + 1:]
                yield line, piece
                line += piece.count(b"\n")
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    if rest.strip() and not skipping:
        yield line, rest


def special(values: np.ndarray) -> np.ndarray:
    """Points thinning must keep: non-finite values and spikes (more than SPIKE_MADS MADs from
    the median of their block of BLOCK points)."""
    finite = np.isfinite(values)
    out = ~finite
    n = values.size
    m = (n // BLOCK) * BLOCK
    if m:
        import warnings

        blocks = np.where(finite[:m], values[:m], np.nan).reshape(-1, BLOCK)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(blocks, axis=1, keepdims=True)
            mad = np.nanmedian(np.abs(blocks - med), axis=1, keepdims=True)
            far = np.abs(blocks - med) > SPIKE_MADS * np.maximum(mad, 1e-12 * np.abs(med))
        out[:m] |= far.reshape(-1) & finite[:m]
    return out


class _Series:
    """One metric's kept points: those whose running index is a multiple of `stride`, plus the
    special ones; the stride doubles whenever the metric outgrows its share, so the kept points
    stay evenly spread over the whole run."""

    def __init__(self):
        self.parts: list[tuple[np.ndarray, ...]] = []  # (index, step, value, wall, special)
        self.count = 0
        self.stride = 1
        self.size = 0
        self.last: tuple | None = None  # the final point is always kept (where the run ended)

    def add(self, s: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
        idx = self.count + np.arange(v.size)
        sp = special(v)
        keep = (idx % self.stride == 0) | sp
        self.parts.append((idx[keep], s[keep], v[keep], w[keep], sp[keep]))
        if v.size:
            self.last = (idx[-1], s[-1], v[-1], w[-1])
        self.count += v.size
        self.size += int(keep.sum())

    def coarsen(self) -> None:
        self.stride *= 2
        cols = [np.concatenate([p[i] for p in self.parts]) for i in range(5)]
        keep = (cols[0] % self.stride == 0) | cols[4]
        self.parts = [tuple(c[keep] for c in cols)]
        self.size = int(keep.sum())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx, s, v, w = (np.concatenate([p[i] for p in self.parts]) for i in (0, 1, 2, 3))
        if self.last is not None and (idx.size == 0 or idx[-1] != self.last[0]):
            s, v, w = (np.append(a, x) for a, x in zip((s, v, w), self.last[1:]))
        return s, v, w


class _Buffers:
    def __init__(self, path: str, budget: int):
        self.path = path
        self.budget = budget
        self.series: dict[str, _Series] = {}

    def add(self, table: pd.DataFrame) -> None:
        if table.empty:
            return
        for name, g in table.groupby("metric", sort=False, observed=True):
            ser = self.series.setdefault(str(name), _Series())
            ser.add(g["step"].to_numpy(np.float64), g["value"].to_numpy(np.float64), g["wall_time"].to_numpy(np.float64))
        share = max(MIN_PER_METRIC, self.budget // max(1, len(self.series)))
        for ser in self.series.values():
            while ser.size > share and ser.stride < 2**40:
                before = ser.size
                ser.coarsen()
                if ser.size >= before:  # only special points left: nothing more to drop
                    break
        if sum(x.size for x in self.series.values()) > 4 * self.budget:
            raise InputError(self.path, f"{len(self.series)} metrics: too many to keep within the memory budget "
                                        f"of {self.budget:,} points")

    def table(self) -> tuple[pd.DataFrame, list[str]]:
        frames, warnings = [], []
        for name, ser in self.series.items():
            s, v, w = ser.arrays()
            frames.append(pd.DataFrame({"metric": name, "step": s, "value": v, "wall_time": w}))
            if ser.stride > 1:
                warnings.append(f"{self.path}: {name}: {ser.count:,} points streamed; {s.size:,} kept to bound memory "
                                f"(every {ser.stride}th point, every NaN/Inf, every spike)")
        if not frames:
            return pd.DataFrame({c: [] for c in TIDY_COLUMNS}), warnings
        out = pd.concat(frames, ignore_index=True)
        out["metric"] = out["metric"].astype("category")
        return out[list(TIDY_COLUMNS)], warnings


def read_streamed(path: str, parse: Callable[[str, bytes], ReadResult], header: bool,
                  budget: int | None = None, chunk_bytes: int | None = None) -> ReadResult:
    """Read `path` piece by piece with `parse(path, data)`; `header`: repeat the first line
    (CSV) in front of every later piece."""
    budget = budget or POINT_BUDGET
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    buf = _Buffers(path, budget)
    warnings: list[str] = []
    hparams: dict = {}
    fmt = ""
    head = b""
    offset = 0.0  # record-order steps continue across pieces when the log has no step column
    errors = 0
    for first_line, data in chunks(path, chunk_bytes, warnings):
        if header and first_line == 1:
            nl = data.find(b"\n")
            head = data[:nl + 1]
        elif header:
            data = head + data
        try:
            res = parse(path, data)
        except InputError as exc:
            errors += 1
            warnings.append(f"{exc} (in the piece from line {first_line})")
            continue
        t = res.table
        if any(m in w for w in res.warnings for m in ("record order as the step", "row order", "row i is epoch i")):
            t = t.assign(step=t["step"] + offset)
            offset = float(t["step"].max()) + 1 if len(t) else offset
        buf.add(t)
        for k, v in res.hparams.items():
            hparams.setdefault(k, v)
        fmt = fmt or res.fmt
        for w in res.warnings:
            w = w if first_line == 1 else f"{w} (in the piece from line {first_line})"
            if len(warnings) < 20 and w not in warnings:
                warnings.append(w)
    table, coarsened = buf.table()
    if table.empty:
        raise InputError(path, "no values found in any piece of the file" + (f" ({errors} pieces unreadable)" if errors else ""))
    size = os.path.getsize(path)
    return ReadResult(table, hparams=hparams, warnings=[f"{path}: {size / 1024**3:.1f} GiB; read in pieces", *warnings, *coarsened],
                      fmt=fmt)
