"""The TensorBoard scalar reader in plain numpy: every record of a file handled at once, no
compiler, nothing written at run time.

The jobs: framing the records and checking their CRCs (ingest.tbframe), decoding the fields of
the events (ingest.tbproto), both on the byte machinery of ingest.tbbytes; here, the tags and
the tidy table.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .tbbytes import BLOCK, DECODE_RECORDS, gather, release
from .tbframe import BAD_DATA_CRC, BAD_LEN_CRC, HEADER, OK, TRUNCATED, distinct, frame
from .tbproto import decode
from .tidy import ReadResult, metric_column


def _all_equal(buf: np.ndarray, starts: np.ndarray, length: int) -> bool:
    """Whether the `length` bytes at every start are those at the first, a block at a time."""
    first = buf[starts[0]:starts[0] + length]
    for i in range(0, starts.size, BLOCK):
        if not (gather(buf, starts[i:i + BLOCK], length) == first).all():
            return False
    return True


def _tag_ids(buf: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, list[bytes]]:
    """A small id per value for its tag's bytes, and the tags' bytes by id."""
    import pandas as pd

    n = a.size
    ids = np.zeros(n, np.int64)
    names: list[bytes] = []
    lens = b - a
    for L in distinct(lens):
        sel = np.flatnonzero(lens == L)
        L = int(L)
        if L == 0 or _all_equal(buf, a[sel], L):  # one tag of this length (the common case): no hashing
            uniq_first, inv = np.array([sel[0]]), np.zeros(sel.size, np.int64)
        else:
            rows = gather(buf, a[sel], L)
            h = np.zeros(sel.size, np.uint64)
            for j in range(L):  # a polynomial hash of the bytes, then checked against the bytes
                h = h * np.uint64(1099511628211) + rows[:, j]
            inv, _ = pd.factorize(h)  # a hash table, not a sort; codes in order of first appearance
            first = np.zeros(int(inv.max()) + 1, np.int64)
            first[inv[::-1]] = np.arange(inv.size)[::-1]
            if not (rows == rows[first[inv]]).all():  # a hash collision: exact, slower
                _, first, inv = np.unique(rows.view(np.dtype((np.void, L)))[:, 0], return_index=True, return_inverse=True)
            uniq_first = sel[first]
        base = len(names)
        names += [bytes(buf[a[i]:b[i]]) for i in uniq_first]
        ids[sel] = base + inv.reshape(-1)
    return ids, names


def _decode_chunks(buf: np.ndarray, off: np.ndarray, ln: np.ndarray, status: np.ndarray):
    """decode() and _tag_ids() over DECODE_RECORDS records at a time: per value its step, wall
    time, value, tag id (into the tags' bytes, in order of first appearance), kind and plugin;
    the count of records that are not Events and the byte of the first."""
    cols: list[list[np.ndarray]] = [[] for _ in range(6)]
    ids: dict[bytes, int] = {}
    n_bad, first_bad = 0, -1
    for a in range(0, max(off.size, 1), DECODE_RECORDS):
        b = a + DECODE_RECORDS
        (rec, ta, tb, val, kind, plug), (steps, walls, bad) = decode(buf, off[a:b], ln[a:b], status[a:b])
        if bad.any():
            if not n_bad:
                first_bad = int(off[a + int(np.argmax(bad))]) - HEADER
            n_bad += int(bad.sum())
        tid, raw = _tag_ids(buf, ta, tb)
        remap = np.array([ids.setdefault(t, len(ids)) for t in raw], np.int64)
        for c, x in zip(cols, (steps[rec], walls[rec], val, remap[tid] if tid.size else tid, kind, plug)):
            c.append(x)
        del rec, ta, tb, steps, walls, bad, tid
        release(buf)
    out = []
    for c in cols:  # one column at a time: the chunks' copies go as each is joined
        out.append(c[0] if len(c) == 1 else np.concatenate(c))
        c.clear()
    return (*out, n_bad, first_bad, list(ids))


def read_tensorboard_fast(path: str, prefix: str = "", check_crc: bool = True) -> ReadResult:
    """Scalars (and hparams) of one event file, with CRCs checked; the same data as tbparse."""
    import pandas as pd

    from ..errors import InputError
    from ..model import empty_table

    try:
        size = os.path.getsize(path)
        # a read-only memory map: the file's pages are the OS cache's, not a copy in the heap
        buf = np.memmap(path, dtype=np.uint8, mode="r").view(np.ndarray) if size else np.zeros(0, np.uint8)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    warnings: list[str] = []
    if buf.size == 0:
        return ReadResult(empty_table(), warnings=[f"{path}: empty event file"], fmt="tensorboard")
    off, ln, status = frame(buf, check_crc)
    for i in np.flatnonzero(status != OK)[:20]:
        o = int(off[i]) - (HEADER if status[i] == BAD_DATA_CRC else 0)
        if status[i] == TRUNCATED:
            warnings.append(f"{path}: truncated last record at byte {o} (a crashed job?); the records before it were read")
        elif status[i] == BAD_LEN_CRC:
            warnings.append(f"{path}: corrupt record length at byte {o}; skipped to the next intact record")
        else:
            warnings.append(f"{path}: corrupt record at byte {o} (CRC mismatch); skipped")
    release(buf)
    step_v, wall_v, val, tid, kind, plug, n_bad, first_bad, raw_names = _decode_chunks(buf, off, ln, status)
    del off, ln, status
    if n_bad:
        warnings.append(f"{path}: {n_bad} record(s) that are not TensorBoard events skipped (first at byte {first_bad})")
    hparams: dict[str, Any] = {}
    if (plug == 2).any():
        from .tensorboard import read_tensorboard

        hparams = read_tensorboard(path).hparams
    names = [prefix + n.decode("utf-8", errors="replace") for n in raw_names]
    # a tag's plugin is the first one any of its values names
    tag_plug = np.zeros(len(names), np.int8)
    named = np.flatnonzero(plug != 0)
    tag_plug[tid[named[::-1]]] = plug[named[::-1]]
    # TF2: a tensor is a scalar when its tag's metadata says plugin 'scalars', or when the tag
    # never had metadata and the tensor has a scalar shape; values with only metadata are not data
    tp = tag_plug[tid]
    keep = (kind == 0) | ((kind == 1) & ((tp == 1) | (tp == 0))) | ((kind == 2) & (tp == 1))
    keep &= ~((kind == 2) & (tp != 1))
    if not keep.any():
        return ReadResult(empty_table(), hparams=hparams, warnings=warnings, fmt="tensorboard")
    if not keep.all():
        step_v, wall_v, tid, val = step_v[keep], wall_v[keep], tid[keep], val[keep]
    used = np.flatnonzero(np.bincount(tid, minlength=len(names)))
    cats = sorted({names[i] for i in used})  # two byte strings may decode to one name
    where = {c: k for k, c in enumerate(cats)}
    code_of = np.array([where.get(nm, -1) for nm in names], np.int32)
    table = pd.DataFrame({
        "metric": metric_column(code_of[tid], cats),
        "step": step_v,
        "value": val,
        "wall_time": wall_v,
    }, copy=False)
    return ReadResult(table=table, hparams=hparams, warnings=warnings, fmt="tensorboard")
