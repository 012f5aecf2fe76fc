"""A fast TensorBoard scalar reader: one compiled pass over the whole file.

numba compiles one loop that walks the TFRecord framing (length, masked CRC32C of the length,
payload, masked CRC32C of the payload), resynchronises after a damaged record, and decodes
only the protobuf fields that scalars need (Event.wall_time, Event.step, Summary.Value.tag,
simple_value, the float/double/int tensor of TF2 scalars, SummaryMetadata.plugin_name).
Images, histograms, graphs and text are skipped without being decoded.  Tags are
identified by a 64-bit FNV-1a hash in the loop and decoded once each in Python.

Why numba: record boundaries depend on the lengths before them, so framing cannot be
vectorised with numpy; a Python loop costs ~1 us a record (tbparse ~15 us), a compiled one
~0.05 us.  Without numba, logsleuth falls back to the protobuf reader in tensorboard.py.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd

from ..model import empty_table
from .tidy import ReadResult


def _cache_dir() -> None:
    """Compiled code is cached beside this module; where that is read-only (a system install),
    in the user's cache directory instead - never next to the logs."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if os.access(os.path.dirname(here), os.W_OK) and (not os.path.exists(here) or os.access(here, os.W_OK)):
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(base, "logsleuth", "numba"))


_cache_dir()
try:
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False


def _crc_table() -> np.ndarray:
    t = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t[i] = c
    return t


_TABLE = _crc_table()

# status codes per record
OK, BAD_DATA_CRC, BAD_LEN_CRC, TRUNCATED = 0, 1, 2, 3

if HAVE_NUMBA:
    _jit = numba.njit(cache=True, nogil=True)

    @_jit
    def _masked_crc(buf, start, end, table):
        crc = np.uint32(0xFFFFFFFF)
        for i in range(start, end):
            crc = table[(crc ^ buf[i]) & 0xFF] ^ (crc >> np.uint32(8))
        c = np.uint64(crc ^ np.uint32(0xFFFFFFFF))
        m = ((c >> np.uint64(15)) | (c << np.uint64(17))) & np.uint64(0xFFFFFFFF)
        return np.uint32((m + np.uint64(0xA282EAD8)) & np.uint64(0xFFFFFFFF))

    @_jit
    def _u32(buf, p):
        return np.uint32(buf[p]) | (np.uint32(buf[p + 1]) << 8) | (np.uint32(buf[p + 2]) << 16) | (np.uint32(buf[p + 3]) << 24)

    @_jit
    def _u64(buf, p):
        v = np.uint64(0)
        for k in range(8):
            v |= np.uint64(buf[p + k]) << np.uint64(8 * k)
        return v

    @_jit
    def _varint(buf, p, end):
        """(value, next position) of a protobuf varint; position -1 when malformed.  Signed
        int64 throughout: mixing uint64 and int64 makes numba go through float64."""
        v = np.int64(0)
        shift = np.int64(0)
        while p < end:
            b = np.int64(buf[p])
            p += 1
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v, p
            shift += 7
            if shift > 63:
                return v, np.int64(-1)
        return v, np.int64(-1)

    @_jit
    def _skip(buf, p, end, wt):
        if wt == 0:
            _, p = _varint(buf, p, end)
            return p
        if wt == 1:
            return p + 8 if p + 8 <= end else -1
        if wt == 2:
            ln, p = _varint(buf, p, end)
            if p < 0 or p + ln > end:
                return -1
            return p + ln
        if wt == 5:
            return p + 4 if p + 4 <= end else -1
        return -1

    @_jit
    def _fnv(buf, a, b):
        h = np.uint64(0xCBF29CE484222325)
        for i in range(a, b):
            h = (h ^ np.uint64(buf[i])) * np.uint64(0x100000001B3)
        return h

    @_jit
    def _f32(buf, p):
        """IEEE-754 binary32 at p, by bit arithmetic (no allocation in the hot loop)."""
        bits = _u32(buf, p)
        sign = -1.0 if (bits >> np.uint32(31)) else 1.0
        e = np.int64((bits >> np.uint32(23)) & np.uint32(0xFF))
        m = np.int64(bits & np.uint32(0x7FFFFF))
        if e == 255:
            return np.nan if m else sign * np.inf
        if e == 0:
            return sign * math.ldexp(np.float64(m), -149)
        return sign * math.ldexp(np.float64(m | 0x800000), int(e - 150))

    @_jit
    def _f64(buf, p):
        """IEEE-754 binary64 at p, by bit arithmetic."""
        bits = _u64(buf, p)
        sign = -1.0 if (bits >> np.uint64(63)) else 1.0
        e = np.int64((bits >> np.uint64(52)) & np.uint64(0x7FF))
        m = np.int64(bits & np.uint64(0xFFFFFFFFFFFFF))
        if e == 2047:
            return np.nan if m else sign * np.inf
        if e == 0:
            return sign * math.ldexp(np.float64(m), -1074)
        return sign * math.ldexp(np.float64(m | (1 << 52)), int(e - 1075))

    @_jit
    def _tensor(buf, p, end):
        """(value, ok, scalar_shape) of a TensorProto holding one number."""
        dtype = 0
        scalar = True
        val = np.nan
        have = False
        content_a = -1
        content_b = -1
        while p < end:
            key, p = _varint(buf, p, end)
            if p < 0:
                return np.nan, False, False
            fn = key >> 3
            wt = key & 7
            if fn == 1 and wt == 0:
                d, p = _varint(buf, p, end)
                dtype = d
            elif fn == 2 and wt == 2:  # TensorShapeProto: any dim of size != 1 is not a scalar
                ln, p = _varint(buf, p, end)
                q, qe = p, p + ln
                while q < qe:
                    k2, q = _varint(buf, q, qe)
                    if q < 0:
                        break
                    if (k2 >> 3) == 2 and (k2 & 7) == 2:
                        dl, q = _varint(buf, q, qe)
                        r, re_ = q, q + dl
                        while r < re_:
                            k3, r = _varint(buf, r, re_)
                            if r < 0:
                                break
                            if (k3 >> 3) == 1 and (k3 & 7) == 0:
                                size, r = _varint(buf, r, re_)
                                if size != 1:
                                    scalar = False
                            else:
                                r = _skip(buf, r, re_, k3 & 7)
                                if r < 0:
                                    break
                        q = re_
                    else:
                        q = _skip(buf, q, qe, k2 & 7)
                        if q < 0:
                            break
                p = qe
            elif fn == 4 and wt == 2:
                ln, p = _varint(buf, p, end)
                content_a, content_b = p, p + ln
                p = content_b
            elif fn == 5 and wt == 2 and not have:  # packed float_val
                ln, p = _varint(buf, p, end)
                if ln >= 4:
                    val = _f32(buf, p)
                    have = True
                p += ln
            elif fn == 5 and wt == 5 and not have:
                val = _f32(buf, p)
                have = True
                p += 4
            elif fn == 6 and wt == 2 and not have:  # packed double_val
                ln, p = _varint(buf, p, end)
                if ln >= 8:
                    val = _f64(buf, p)
                    have = True
                p += ln
            elif fn == 6 and wt == 1 and not have:
                val = _f64(buf, p)
                have = True
                p += 8
            elif (fn == 7 or fn == 10) and wt == 2 and not have:  # packed int_val / int64_val
                ln, p = _varint(buf, p, end)
                q = p
                v, q = _varint(buf, q, p + ln)
                if q > 0 and ln > 0:
                    val = np.float64(v)
                    have = True
                p += ln
            elif (fn == 7 or fn == 10) and wt == 0 and not have:
                v, p = _varint(buf, p, end)
                val = np.float64(v)
                have = True
            else:
                p = _skip(buf, p, end, wt)
                if p < 0:
                    return np.nan, False, False
        if not have and content_a >= 0:
            n = content_b - content_a
            if dtype == 1 and n >= 4:
                val = _f32(buf, content_a)
                have = True
            elif dtype == 2 and n >= 8:
                val = _f64(buf, content_a)
                have = True
            elif dtype == 3 and n >= 4:
                val = np.float64(np.int32(_u32(buf, content_a)))
                have = True
            elif dtype == 9 and n >= 8:
                val = np.float64(np.int64(_u64(buf, content_a)))
                have = True
        ok = have and (dtype in (1, 2, 3, 9))
        return val, ok, scalar

    @_jit
    def _scan(buf, table, check):
        n = buf.size
        cap = max(16, n // 24)
        rec_off = np.empty(cap, np.int64)
        rec_len = np.empty(cap, np.int64)
        status = np.empty(cap, np.int8)
        nrec = 0
        pos = 0
        while pos < n:
            if nrec == cap:
                cap *= 2
                rec_off = np.concatenate((rec_off, np.empty(cap - rec_off.size, np.int64)))
                rec_len = np.concatenate((rec_len, np.empty(cap - rec_len.size, np.int64)))
                status = np.concatenate((status, np.empty(cap - status.size, np.int8)))
            if n - pos < 12:
                rec_off[nrec] = pos
                rec_len[nrec] = n - pos
                status[nrec] = TRUNCATED
                nrec += 1
                break
            length = np.int64(_u64(buf, pos))
            if check and _masked_crc(buf, pos, pos + 8, table) != _u32(buf, pos + 8):
                rec_off[nrec] = pos
                rec_len[nrec] = 0
                status[nrec] = BAD_LEN_CRC
                nrec += 1
                q = pos + 1
                found = -1
                while q + 12 <= n:
                    ln = np.int64(_u64(buf, q))
                    if 0 <= ln <= n and _masked_crc(buf, q, q + 8, table) == _u32(buf, q + 8):
                        found = q
                        break
                    q += 1
                if found < 0:
                    break
                pos = found
                continue
            end = pos + 12 + length + 4
            if length < 0 or end > n:
                rec_off[nrec] = pos
                rec_len[nrec] = n - pos
                status[nrec] = TRUNCATED
                nrec += 1
                break
            rec_off[nrec] = pos + 12
            rec_len[nrec] = length
            if check and _masked_crc(buf, pos + 12, pos + 12 + length, table) != _u32(buf, end - 4):
                status[nrec] = BAD_DATA_CRC
            else:
                status[nrec] = OK
            nrec += 1
            pos = end
        return rec_off[:nrec], rec_len[:nrec], status[:nrec]

    @_jit
    def _decode(buf, rec_off, rec_len, status, v_rec, v_tid, v_val, v_kind, steps, walls, bad,
                tab_hash, tab_id, tag_pos, tag_len, tag_plug, info, h_scalars, h_hparams):
        """Fills the value arrays (kind: 0 simple_value, 1 tensor scalar, 2 other tensor,
        3 metadata only) up to their size and returns how many values there are; the caller
        allocates and calls again when that is more (growing arrays inside the loop would
        make numba refcount them on every access, 8x slower).

        Tags get small ids through an open-addressing table of their FNV hashes (tab_hash,
        tab_id); per tag: where its name is (tag_pos, tag_len) and its first plugin (tag_plug:
        1 scalars, 2 hparams, 3 other).  info[0] = number of tags, info[1] = 1 when the tag
        arrays were too small (the caller retries bigger), info[2] = 1 when any value carries
        hparams plugin data."""
        nrec = rec_off.size
        cap = v_rec.size
        nv = 0
        for r in range(nrec):
            if status[r] != 0:
                continue
            p = rec_off[r]
            end = p + rec_len[r]
            while p < end:
                key, p = _varint(buf, p, end)
                if p < 0:
                    bad[r] = 1
                    break
                fn = key >> 3
                wt = key & 7
                if fn == 1 and wt == 1:
                    walls[r] = _f64(buf, p)
                    p += 8
                elif fn == 2 and wt == 0:
                    s, p = _varint(buf, p, end)
                    steps[r] = np.float64(np.int64(s))
                elif fn == 5 and wt == 2:  # Summary
                    ln, p = _varint(buf, p, end)
                    se = p + ln
                    if p < 0 or se > end:
                        bad[r] = 1
                        break
                    while p < se:
                        k2, p = _varint(buf, p, se)
                        if p < 0:
                            bad[r] = 1
                            break
                        if (k2 >> 3) == 1 and (k2 & 7) == 2:  # Summary.Value
                            vl, p = _varint(buf, p, se)
                            ve = p + vl
                            taga, tagb = -1, -1
                            kind = -1
                            val = np.nan
                            plug = np.uint64(0)
                            while p < ve:
                                k3, p = _varint(buf, p, ve)
                                if p < 0:
                                    bad[r] = 1
                                    break
                                f3 = k3 >> 3
                                w3 = k3 & 7
                                if f3 == 1 and w3 == 2:
                                    tl, p = _varint(buf, p, ve)
                                    taga, tagb = p, p + tl
                                    p = tagb
                                elif f3 == 2 and w3 == 5:
                                    val = _f32(buf, p)
                                    kind = 0
                                    p += 4
                                elif f3 == 8 and w3 == 2:
                                    tl, p = _varint(buf, p, ve)
                                    tv, ok, sc = _tensor(buf, p, p + tl)
                                    if ok:
                                        val = tv
                                        kind = 1 if sc else 2
                                    else:
                                        kind = 2
                                    p += tl
                                elif f3 == 9 and w3 == 2:  # SummaryMetadata -> plugin_data -> plugin_name
                                    ml, p = _varint(buf, p, ve)
                                    me = p + ml
                                    q = p
                                    while q < me:
                                        k4, q = _varint(buf, q, me)
                                        if q < 0:
                                            break
                                        if (k4 >> 3) == 1 and (k4 & 7) == 2:
                                            pl, q = _varint(buf, q, me)
                                            pe = q + pl
                                            while q < pe:
                                                k5, q = _varint(buf, q, pe)
                                                if q < 0:
                                                    break
                                                if (k5 >> 3) == 1 and (k5 & 7) == 2:
                                                    nl, q = _varint(buf, q, pe)
                                                    plug = _fnv(buf, q, q + nl)
                                                    q += nl
                                                else:
                                                    q = _skip(buf, q, pe, k5 & 7)
                                                    if q < 0:
                                                        break
                                            q = pe
                                        else:
                                            q = _skip(buf, q, me, k4 & 7)
                                            if q < 0:
                                                break
                                    p = me
                                else:
                                    p = _skip(buf, p, ve, w3)
                                    if p < 0:
                                        bad[r] = 1
                                        break
                            if bad[r]:
                                break
                            if (kind >= 0 or plug != 0) and nv < cap:
                                h = _fnv(buf, taga, tagb) if taga >= 0 else np.uint64(0)
                                mask = tab_hash.size - 1
                                j = np.int64(h & np.uint64(mask))
                                tid = -1
                                while True:
                                    if tab_id[j] < 0:
                                        t = info[0]
                                        if t >= tag_pos.size:
                                            info[1] = 1
                                            tid = 0
                                            break
                                        tab_id[j] = t
                                        tab_hash[j] = h
                                        tag_pos[t] = taga
                                        tag_len[t] = tagb - taga if taga >= 0 else 0
                                        tag_plug[t] = 0
                                        info[0] = t + 1
                                        tid = t
                                        break
                                    if tab_hash[j] == h:
                                        tid = tab_id[j]
                                        break
                                    j = (j + 1) & mask
                                if plug != 0:
                                    pc = 1 if plug == h_scalars else (2 if plug == h_hparams else 3)
                                    if pc == 2:
                                        info[2] = 1
                                    if tag_plug[tid] == 0:
                                        tag_plug[tid] = pc
                                v_rec[nv] = r
                                v_tid[nv] = tid
                                v_val[nv] = val
                                v_kind[nv] = kind if kind >= 0 else 3
                            if kind >= 0 or plug != 0:
                                nv += 1
                            p = ve
                        else:
                            p = _skip(buf, p, se, k2 & 7)
                            if p < 0:
                                bad[r] = 1
                                break
                    p = se
                else:
                    p = _skip(buf, p, end, wt)
                    if p < 0:
                        bad[r] = 1
                        break
        return nv


def _decode_all(buf, off, ln, status):
    """Value arrays (record index, tag id, value, kind), per-record steps/walls/bad flags, and
    per-tag name positions and plugins; 17 bytes a value and 17 a record."""
    cap = off.size + 16
    nrec = off.size
    ntag_cap = 4096
    while True:
        vals = (np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(cap, np.float64), np.empty(cap, np.int8))
        steps, walls, bad = np.zeros(nrec, np.float64), np.zeros(nrec, np.float64), np.zeros(nrec, np.int8)
        tags = (np.zeros(2 * ntag_cap, np.uint64), np.full(2 * ntag_cap, -1, np.int32), np.empty(ntag_cap, np.int64),
                np.empty(ntag_cap, np.int64), np.empty(ntag_cap, np.int8))
        info = np.zeros(3, np.int64)
        nv = _decode(buf, off, ln, status, *vals, steps, walls, bad, *tags, info, np.uint64(_SCALARS), np.uint64(_HPARAMS))
        if info[1]:
            ntag_cap *= 8
            continue
        if nv <= cap:
            nt = int(info[0])
            return (tuple(a[:nv] for a in vals), (steps, walls, bad),
                    (tags[2][:nt], tags[3][:nt], tags[4][:nt]), bool(info[2]))
        cap = nv


def _fnv_py(b: bytes) -> int:
    h = 0xCBF29CE484222325
    for x in b:
        h = ((h ^ x) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


_SCALARS = _fnv_py(b"scalars")
_HPARAMS = _fnv_py(b"hparams")


def read_tensorboard_fast(path: str, prefix: str = "", check_crc: bool = True) -> ReadResult:
    """Scalars (and hparams) of one event file, with CRCs checked; same data as tbparse."""
    from ..errors import InputError

    try:
        size = os.path.getsize(path)
        # a read-only memory map: the file's pages are the OS cache's, not a copy in the heap
        buf = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    raw = buf
    warnings: list[str] = []
    if buf.size == 0:
        return ReadResult(empty_table(), warnings=[f"{path}: empty event file"], fmt="tensorboard")
    off, ln, status = _scan(buf, _TABLE, check_crc)
    for i in np.flatnonzero(status != OK)[:20]:
        o = int(off[i]) - (12 if status[i] == BAD_DATA_CRC else 0)
        if status[i] == TRUNCATED:
            warnings.append(f"{path}: truncated last record at byte {o} (a crashed job?); the records before it were read")
        elif status[i] == BAD_LEN_CRC:
            warnings.append(f"{path}: corrupt record length at byte {o}; skipped to the next intact record")
        else:
            warnings.append(f"{path}: corrupt record at byte {o} (CRC mismatch); skipped")
    (rec, tid, val, kind), (steps, walls, bad), (tag_pos, tag_len, tag_plug), any_hparams = \
        _decode_all(buf, off, ln, status)
    if bad.any():
        nb = int(bad.sum())
        warnings.append(f"{path}: {nb} record(s) that are not TensorBoard events skipped (first at byte {int(off[np.argmax(bad)])})")
    del off, ln, status, bad  # the record index is not needed any more: free it before the table is built
    hparams: dict[str, Any] = {}
    if any_hparams and (kind == 3).any():
        from .tensorboard import read_tensorboard

        hparams = read_tensorboard(path).hparams
    names = [bytes(raw[p:p + n]).decode("utf-8", errors="replace") if p >= 0 else "" for p, n in zip(tag_pos, tag_len)]
    # TF2: a tensor is a scalar when its tag's metadata says plugin 'scalars', or when the tag
    # never had metadata and the tensor has a scalar shape
    keep = kind == 0
    tens = (kind == 1) | (kind == 2)
    if tens.any():
        tp = tag_plug[tid]
        keep |= tens & ((tp == 1) | ((tp == 0) & (kind == 1)))
        keep &= ~((kind == 2) & (tp != 1))
        del tp
    del tens
    if not keep.any():
        return ReadResult(empty_table(), hparams=hparams, warnings=warnings, fmt="tensorboard")
    if not keep.all():
        rec, tid, val = rec[keep], tid[keep], val[keep]
    del keep, kind
    cats = [prefix + n for n in names]
    order = np.argsort(np.array(cats, dtype=object), kind="stable") if cats else np.zeros(0, np.int64)
    rank = np.empty(len(cats), np.int32)
    rank[order] = np.arange(len(cats), dtype=np.int32)
    used = np.zeros(len(cats), bool)
    used[tid] = True  # tags that only carried metadata are not categories
    codes = rank[tid]
    del tid
    cat_names = [cats[i] for i in order]
    if not used.all():  # drop unused categories, keeping the sorted order
        keep_cat = used[order]
        new_rank = np.cumsum(keep_cat, dtype=np.int32) - 1
        codes = new_rank[codes]
        cat_names = [c for c, k in zip(cat_names, keep_cat) if k]
    step = steps[rec]
    wall = walls[rec]
    del rec, steps, walls
    table = pd.DataFrame({
        "metric": pd.Categorical.from_codes(codes, categories=cat_names),
        "step": step,
        "value": val,
        "wall_time": wall,
    }, copy=False)  # already in TIDY_COLUMNS order (selecting columns again costs ~2 ms a file)
    return ReadResult(table=table, hparams=hparams, warnings=warnings, fmt="tensorboard")
