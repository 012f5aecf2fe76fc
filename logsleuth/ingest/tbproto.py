"""The protobuf fields of many TensorBoard events at once, in numpy (ingest.tbfast).

The protobuf fields scalars need (Event.wall_time, Event.step, Summary.Value.tag,
simple_value, the number of a TF2 scalar tensor, SummaryMetadata.plugin_name) are decoded by
walking the fields of all messages of one level in lockstep (`Fields`); images, histograms,
graphs and text are skipped by their lengths without being decoded.
"""

from __future__ import annotations

import numpy as np

from .tbbytes import BLOCK, gather
from .tbframe import OK

MAX_VARINT = 10  # bytes of a 64-bit varint


def _varints(buf: np.ndarray, p: np.ndarray, lim: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, position after, ok) of the varint at each position, read below its limit."""
    inb = p < lim
    b0 = buf[np.where(inb, p, 0)]
    one = inb & (b0 < 0x80)
    if one.all():  # the common case: keys and small numbers are one byte
        return b0.astype(np.uint64), p + 1, one
    val = np.where(one, b0, 0).astype(np.uint64)
    q = p + one
    done = one.copy()
    live = np.flatnonzero(inb & ~one)
    for k in range(MAX_VARINT):
        if live.size == 0:
            break
        b = buf[q[live]].astype(np.uint64)
        val[live] |= (b & np.uint64(0x7F)) << np.uint64(7 * k)
        q[live] += 1
        fin = b < 0x80
        done[live[fin]] = True
        live = live[~fin]
        live = live[q[live] < lim[live]]
    return val, q, done


class Fields:
    """The fields of many messages (spans [start, end) of `buf`), read in lockstep: round k
    reads the k-th field of every message that has one.  `get(number, wire_type)` gives, for the
    fields with that number and wire type in field order, the message each belongs to, its
    varint value (wire type 0) and its payload span.  `bad` marks messages with a malformed
    field (their fields before it are kept)."""

    def __init__(self, buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        self.n = start.size
        self.rounds: list[tuple[np.ndarray, ...]] = []
        self.bad = np.zeros(start.size, bool)
        cur = start.astype(np.int64)
        act = np.flatnonzero(cur < end)
        while act.size:
            lim = end[act]
            key, p, ok = _varints(buf, cur[act], lim)
            fn = (key >> np.uint64(3)).astype(np.int64)
            wt = (key & np.uint64(7)).astype(np.int64)
            val = np.zeros(act.size, np.uint64)
            a, b = p, p.copy()
            w0 = np.flatnonzero(wt == 0)
            if w0.size:
                v, q, ok0 = _varints(buf, p[w0], lim[w0])
                val[w0], b[w0] = v, q
                ok[w0] &= ok0
            b[wt == 1] += 8
            b[wt == 5] += 4
            w2 = np.flatnonzero(wt == 2)
            if w2.size:
                ln, q, ok2 = _varints(buf, p[w2], lim[w2])
                big = ln > np.uint64(1 << 40)  # longer than any file: malformed
                a = a.copy()
                a[w2] = q
                b[w2] = q + np.where(big, 0, ln).astype(np.int64)
                ok[w2] &= ok2 & ~big
            ok &= ((wt == 0) | (wt == 1) | (wt == 2) | (wt == 5)) & (b <= lim)
            if not ok.all():
                self.bad[act[~ok]] = True
                g = np.flatnonzero(ok)
                act, fn, wt, val, a, b, lim = act[g], fn[g], wt[g], val[g], a[g], b[g], lim[g]
            self.rounds.append((act, fn, wt, val, a, b))
            cur[act] = b
            more = b < lim
            act = act[more] if not more.all() else act

    def get(self, fn: int, wt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(message, varint value, payload start, payload end) of the fields fn/wt, in order."""
        parts = []
        for act, f, w, val, a, b in self.rounds:
            sel = np.flatnonzero((f == fn) & (w == wt))
            if sel.size:
                parts.append((act[sel], val[sel], a[sel], b[sel]))
        if not parts:
            z = np.zeros(0, np.int64)
            return z, z.astype(np.uint64), z, z
        if len(parts) == 1:
            return parts[0]
        msg, val, a, b = (np.concatenate(c) for c in zip(*parts))
        return msg, val, a, b

    def last(self, fn: int, wt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per message (index array `has`), the last field fn/wt: (has, value, start, end);
        proto3 keeps the last value of a repeated scalar field."""
        msg, val, a, b = self.get(fn, wt)
        pick = np.full(self.n, -1, np.int64)
        pick[msg] = np.arange(msg.size)  # later fields overwrite earlier ones
        has = np.flatnonzero(pick >= 0)
        i = pick[has]
        return has, val[i], a[i], b[i]

    def first(self, fn: int, wt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per message, the first field fn/wt: (has, value, start, end)."""
        msg, val, a, b = self.get(fn, wt)
        pick = np.full(self.n, -1, np.int64)
        pick[msg[::-1]] = np.arange(msg.size)[::-1]
        has = np.flatnonzero(pick >= 0)
        i = pick[has]
        return has, val[i], a[i], b[i]


def f32_at(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return gather(buf, pos, 4).view("<f4")[:, 0].astype(np.float64)


def f64_at(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return gather(buf, pos, 8).view("<f8")[:, 0].copy()


def _equals(buf: np.ndarray, a: np.ndarray, b: np.ndarray, word: bytes) -> np.ndarray:
    """Whether each span [a, b) holds exactly `word`."""
    out = (b - a) == len(word)
    idx = np.flatnonzero(out)
    if idx.size:
        rows = gather(buf, a[idx], len(word))
        out[idx] = (rows == np.frombuffer(word, np.uint8)).all(axis=1)
    return out


# TensorProto dtypes with a scalar number: DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64 = 1, 2, 3, 9


def _as_int64(v: np.ndarray) -> np.ndarray:
    return v.astype(np.uint64).view(np.int64)


def _tensors(buf: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, holds one number of a scalar dtype, has a scalar shape) of TensorProtos."""
    n = a.size
    f = Fields(buf, a, b)
    val = np.full(n, np.nan)
    have = np.zeros(n, bool)
    dtype = np.zeros(n, np.int64)
    has, v, _, _ = f.last(1, 0)
    dtype[has] = _as_int64(v)
    # shape: any dim whose size is not 1 makes it a non-scalar
    scalar = np.ones(n, bool)
    smsg, _, sa, sb = f.get(2, 2)
    if smsg.size:
        sf = Fields(buf, sa, sb)
        dmsg, _, da, db = sf.get(2, 2)
        if dmsg.size:
            df = Fields(buf, da, db)
            zmsg, zval, _, _ = df.get(1, 0)
            not_one = zmsg[_as_int64(zval) != 1]
            scalar[smsg[dmsg[not_one]]] = False
    # the first number of the typed repeated fields, packed or not
    for fn, wt, kind in ((5, 2, "f4"), (5, 5, "f4"), (6, 2, "f8"), (6, 1, "f8"), (7, 2, "v"), (7, 0, "v"),
                         (10, 2, "v"), (10, 0, "v")):
        has, v, pa, pb = f.first(fn, wt)
        sel = np.flatnonzero(~have[has])
        if sel.size == 0:
            continue
        has, v, pa, pb = has[sel], v[sel], pa[sel], pb[sel]
        if kind in ("f4", "f8"):
            width = 4 if kind == "f4" else 8
            enough = (pb - pa) >= width
            has, pa = has[enough], pa[enough]
            val[has] = f32_at(buf, pa) if kind == "f4" else f64_at(buf, pa)
        elif wt == 0:
            val[has] = _as_int64(v).astype(np.float64)
        else:
            pv, _, ok = _varints(buf, pa, pb)
            has = has[ok]
            val[has] = _as_int64(pv[ok]).astype(np.float64)
        have[has] = True
    # else tensor_content, read by dtype
    has, _, ca, cb = f.last(4, 2)
    for dt, width in ((DT_FLOAT, 4), (DT_DOUBLE, 8), (DT_INT32, 4), (DT_INT64, 8)):
        sel = np.flatnonzero(~have[has] & (dtype[has] == dt) & ((cb - ca) >= width))
        if sel.size == 0:
            continue
        rows = gather(buf, ca[sel], width)
        code = {DT_FLOAT: "<f4", DT_DOUBLE: "<f8", DT_INT32: "<i4", DT_INT64: "<i8"}[dt]
        val[has[sel]] = rows.view(code)[:, 0].astype(np.float64)
        have[has[sel]] = True
    ok = have & np.isin(dtype, (DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64)) & ~f.bad
    return val, ok, scalar


def _plugins(buf: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plugin of SummaryMetadata spans: 1 scalars, 2 hparams, 3 another, 0 none."""
    out = np.zeros(a.size, np.int8)
    m = Fields(buf, a, b)
    pmsg, _, pa, pb = m.get(1, 2)  # plugin_data
    if pmsg.size == 0:
        return out
    p = Fields(buf, pa, pb)
    has, _, na, nb = p.first(1, 2)  # plugin_name
    code = np.full(has.size, 3, np.int8)
    code[_equals(buf, na, nb, b"scalars")] = 1
    code[_equals(buf, na, nb, b"hparams")] = 2
    owner = pmsg[has]
    out[owner[::-1]] = code[::-1]  # the first plugin_name of a message counts
    return out


SIMPLE_WINDOW = 22  # bytes read at once from the start of each record: wall, step (up to 5 bytes), summary head


def _simple_layout(buf: np.ndarray, off: np.ndarray, ln: np.ndarray):
    """`_simple_block` over blocks of BLOCK records (their temporaries stay in the CPU cache
    instead of a dozen arrays the size of the file being touched fresh), results joined."""
    if off.size <= BLOCK:
        return _simple_block(buf, off, ln)
    parts = []
    for a in range(0, off.size, BLOCK):
        idx, got = _simple_block(buf, off[a:a + BLOCK], ln[a:a + BLOCK])
        if got is not None:
            parts.append((idx + a, *got))
    if not parts:
        return np.zeros(0, np.int64), None
    cols = [np.concatenate(c) for c in zip(*parts)]
    return cols[0], tuple(cols[1:])


def _simple_block(buf: np.ndarray, off: np.ndarray, ln: np.ndarray):
    """The records laid out as every TF1/PyTorch/tensorboardX scalar event is: wall_time, step
    (a varint of up to 5 bytes), and a summary of one value holding a tag (under 128 bytes) and
    a simple_value, each field once and in order.  Their fields are at fixed places once the
    step's varint length is known, so they are read from one window per record and one gather
    for the value.  Returns (which records, (step, wall, tag start, tag end, value)); the others
    go through the general decoder."""
    idx = np.flatnonzero(ln >= SIMPLE_WINDOW)
    if idx.size == 0:
        return idx, None
    o, L = off[idx], ln[idx]
    win = gather(buf, o, SIMPLE_WINDOW)
    cont = [win[:, 10 + j] >= 0x80 for j in range(5)]  # continuation bits of the step's varint (bytes 10..14)
    k = np.ones(idx.size, np.int64)  # its length: the first byte without one
    run = cont[0].copy()
    for j in range(1, 5):
        k += run
        run &= cont[j]
    sel = (win[:, 0] == 0x09) & (win[:, 9] == 0x10) & ~run
    taglen = np.zeros(idx.size, np.int64)
    ok = np.zeros(idx.size, bool)
    for kk in range(1, 6):  # per length of the step's varint, the summary head is at fixed columns
        at = sel & (k == kk)
        if not at.any():
            continue
        c = 10 + kk
        if c + 6 > SIMPLE_WINDOW:
            continue
        # 0x2a len 0x0a len 0x0a taglen, compared in place on the window's columns (no copies)
        h0, h1, h2, h3, h4, t = (win[:, c + j] for j in range(6))
        ok |= at & (h0 == 0x2A) & (h1 < 0x80) & (h1 >= 2) & (h1 == L - c - 2) & (h2 == 0x0A) & (h3 == h1 - 2) \
            & (h4 == 0x0A) & (t < 0x80) & (h3 == t + 7)
        taglen = np.where(at, t, taglen)
    sel = ok
    s_rel = 10 + k  # the summary's key, relative to the record
    g = np.flatnonzero(sel)
    if g.size == 0:
        return g, None
    if g.size < idx.size:  # (an all-scalar file keeps its arrays: no copies)
        idx, o, k, win, s_rel, taglen = idx[g], o[g], k[g], win[g], s_rel[g], taglen[g]
    vkey = o + s_rel + 6 + taglen
    tail = gather(buf, vkey, 5)
    ok = tail[:, 0] == 0x15
    if not ok.all():
        idx, o, k, win, s_rel, taglen, tail = idx[ok], o[ok], k[ok], win[ok], s_rel[ok], taglen[ok], tail[ok]
    step = np.zeros(idx.size, np.uint64)
    for j in range(5):  # the varint's bytes, 7 bits each, up to its length
        if (k > j).any():
            step |= ((win[:, 10 + j] & 0x7F) * (k > j)).astype(np.uint64) << np.uint64(7 * j)
    wall = np.ascontiguousarray(win[:, 1:9]).view("<f8")[:, 0]
    value = np.ascontiguousarray(tail[:, 1:5]).view("<f4")[:, 0].astype(np.float64)
    tag_a = o + s_rel + 6
    return idx, (_as_int64(step).astype(np.float64), wall.copy(), tag_a, tag_a + taglen, value)


def decode(buf: np.ndarray, off: np.ndarray, ln: np.ndarray, status: np.ndarray):
    """Per value: record index, tag span (start, end), value, kind (0 simple_value, 1 scalar
    tensor, 2 other tensor, 3 metadata only) and plugin (see _plugins); per record: step, wall
    time, and whether it is not an Event."""
    nrec = off.size
    steps, walls = np.zeros(nrec), np.zeros(nrec)
    bad = np.zeros(nrec, bool)
    good = np.flatnonzero(status == OK)
    fast, got = _simple_layout(buf, off[good], ln[good])
    parts = []
    if got is not None:
        rec = good[fast]
        st, wl, ta, tb, v = got
        steps[rec], walls[rec] = st, wl
        parts.append((rec, ta, tb, v, np.zeros(rec.size, np.int8), np.zeros(rec.size, np.int8)))
        rest = np.ones(good.size, bool)
        rest[fast] = False
        good = good[rest]
    if good.size:
        parts.append(_decode_general(buf, off, ln, good, steps, walls, bad))
    cols = [np.concatenate(c) for c in zip(*parts)] if len(parts) > 1 else list(parts[0]) if parts else \
        [np.zeros(0, t) for t in (np.int64, np.int64, np.int64, np.float64, np.int8, np.int8)]
    if len(parts) > 1:  # back to file order (the values of one record keep theirs)
        order = np.argsort(cols[0], kind="stable")
        cols = [c[order] for c in cols]
    return tuple(cols), (steps, walls, bad)


def _decode_general(buf, off, ln, good, steps, walls, bad):
    """Any Event record, field by field in lockstep (see Fields)."""
    ev = Fields(buf, off[good], off[good] + ln[good])
    bad[good[ev.bad]] = True
    has, _, a, _ = ev.last(1, 1)
    walls[good[has]] = f64_at(buf, a)
    has, v, _, _ = ev.last(2, 0)
    steps[good[has]] = _as_int64(v).astype(np.float64)
    smsg, _, sa, sb = ev.get(5, 2)
    sf = Fields(buf, sa, sb)
    bad[good[smsg[sf.bad]]] = True
    vmsg, _, va, vb = sf.get(1, 2)
    v_rec = good[smsg[vmsg]]
    vf = Fields(buf, va, vb)
    bad[v_rec[vf.bad]] = True
    nv = vmsg.size
    tag_a, tag_b = np.zeros(nv, np.int64), np.zeros(nv, np.int64)
    has, _, a, b = vf.last(1, 2)
    tag_a[has], tag_b[has] = a, b
    value = np.full(nv, np.nan)
    kind = np.full(nv, -1, np.int8)
    has, _, a, _ = vf.last(2, 5)
    value[has] = f32_at(buf, a)
    kind[has] = 0
    has, _, a, b = vf.last(8, 2)
    sel = kind[has] < 0
    has, a, b = has[sel], a[sel], b[sel]
    if has.size:
        tv, ok, sc = _tensors(buf, a, b)
        value[has[ok]] = tv[ok]
        kind[has] = np.where(ok & sc, 1, 2)
    plug = np.zeros(nv, np.int8)
    has, _, a, b = vf.last(9, 2)
    if has.size:
        plug[has] = _plugins(buf, a, b)
    keep = (kind >= 0) | (plug != 0)
    kind = np.where(kind >= 0, kind, 3).astype(np.int8)
    return v_rec[keep], tag_a[keep], tag_b[keep], value[keep], kind[keep], plug[keep]
