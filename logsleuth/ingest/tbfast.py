"""The TensorBoard scalar reader in plain numpy: every record of a file handled at once, no
compiler, nothing written at run time.

An event file is a sequence of TFRecords: [u64 length][u32 masked CRC32C of the length]
[payload][u32 masked CRC32C of the payload].  Framing looks sequential (each start depends on
the lengths before it) but the length CRC makes every record start recognisable on its own:

0. an intact file written a run of equal-length records at a time (one writer's scalars: the
   length changes only with the step's width or the tag) is framed by following the chain a run
   at a time, each header's length and CRC read one record apart (`_equal_length_runs`);
   any other file goes through steps 1-3;
1. candidates: the byte positions where bytes 4-7 are zero (a length below 4 GiB);
2. starts: the candidates whose 8 bytes have their masked CRC32C in the next 4 bytes,
   computed for all candidates at once (CRC32C is linear over GF(2): per byte position, one
   256-entry table lookup and one xor, see `_crc_matrix`);
3. the chain: in an intact file each start's end is the next start; the rare breaks (a
   truncated tail, a damaged record, a false candidate inside a payload) are walked in
   Python with the same resynchronisation as the protobuf reader;
4. payload CRCs checked per group of equal-length records, the same way (the few long
   records, images and graphs, one by one with the C CRC32C).

The protobuf fields scalars need (Event.wall_time, Event.step, Summary.Value.tag,
simple_value, the number of a TF2 scalar tensor, SummaryMetadata.plugin_name) are decoded by
walking the fields of all messages of one level in lockstep (`_fields`); images, histograms,
graphs and text are skipped by their lengths without being decoded.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np

from .tidy import ReadResult

# status of one record
OK, BAD_DATA_CRC, BAD_LEN_CRC, TRUNCATED = 0, 1, 2, 3
HEADER = 12  # u64 length + u32 length CRC
FOOTER = 4  # u32 payload CRC
MAX_VARINT = 10  # bytes of a 64-bit varint


# ------------------------------------------------------------------------------------- CRC32C

def _crc_table() -> np.ndarray:
    t = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t[i] = c
    return t


_TABLE = _crc_table()
_TABLE_PY = [int(x) for x in _TABLE]
# payloads up to this long are CRC'd as rows of a matrix, all at once; longer ones (images,
# graphs: few) one by one with the C CRC32C
MATRIX_MAX_LEN = 512
_POS_TABLES: dict[int, np.ndarray] = {}


def _zero_step(state: np.ndarray) -> np.ndarray:
    """The CRC register after one more zero byte (a linear map over GF(2))."""
    return _TABLE[state & 0xFF] ^ (state >> np.uint32(8))


def _pos_tables(length: int) -> np.ndarray:
    """length x 256: row j is what byte value b at position j of a `length`-byte message adds
    to the final register (from a zero register): the byte's table entry carried through the
    length-1-j bytes after it.  CRC32C is linear, so the register of a message is the xor of
    its bytes' entries and of the initial register carried through all of them."""
    tabs = _POS_TABLES.get(length)
    if tabs is None:
        tabs = np.empty((length, 256), np.uint32)
        cur = _TABLE.copy()
        for j in range(length - 1, -1, -1):
            tabs[j] = cur
            cur = _zero_step(cur)
        if len(_POS_TABLES) < 1024:
            _POS_TABLES[length] = tabs
    return tabs


def _shift_scalar(state: int, k: int) -> int:
    """A register carried through k zero bytes."""
    t = _TABLE_PY
    for _ in range(k):
        state = t[state & 0xFF] ^ (state >> 8)
    return state


# records handled at once by the payload CRC check, the fixed-layout decoder and the tag check:
# their bytes and temporaries (a few MB for scalar events) stay in the CPU cache, and a
# million-record file never holds a dozen file-sized arrays (fresh memory is slow to touch)
BLOCK = 65_536
RELEASE_BLOCKS = 16  # the CRC check drops the file's pages it read every 16 blocks (~50 MB of scalars)
GATHER_CHUNK = 32_768  # rows per gather: the index block stays in cache


def _rows(buf: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """The `length` bytes at each start as a rows x length matrix.  Starts that step by a
    constant stride (records of one writer, one tag after another) are copied through a strided
    view of the file; others are gathered in cache-sized blocks."""
    n = starts.size
    out = np.empty((n, length), np.uint8)
    if n >= 1024:
        d = np.diff(starts)
        cut = np.flatnonzero(d[1:] != d[:-1]) + 1  # where the stride changes
        if cut.size < n // 64 and (d > 0).all():
            bounds = np.r_[0, cut, n - 1]
            for a, b in itertools.pairwise(bounds):
                view = np.lib.stride_tricks.as_strided(buf[starts[a]:], shape=(b - a + 1, length), strides=(int(d[a]), 1),
                                                       writeable=False)
                out[a:b + 1] = view
            return out
    cols = np.arange(length, dtype=np.int64)
    for i in range(0, n, GATHER_CHUNK):
        out[i:i + GATHER_CHUNK] = buf[starts[i:i + GATHER_CHUNK, None] + cols]
    return out


def _raw_matrix(rows: np.ndarray) -> np.ndarray:
    """What each row of bytes adds to the register (from zero): one 256-entry table lookup per
    byte position (the table stays in the L1 cache), over the columns of the transposed block."""
    n, length = rows.shape
    tabs = _pos_tables(length)
    crc = np.zeros(n, np.uint32)
    cols = np.ascontiguousarray(rows.T)
    for j in range(length):
        crc ^= tabs[j].take(cols[j])
    return crc


def _mask(state: np.ndarray) -> np.ndarray:
    state = state ^ np.uint32(0xFFFFFFFF)
    return ((state >> np.uint32(15)) | (state << np.uint32(17))) + np.uint32(0xA282EAD8)


def _crc_matrix(rows: np.ndarray) -> np.ndarray:
    """Masked CRC32C of each row of a bytes matrix."""
    return _mask(_raw_matrix(rows) ^ np.uint32(_shift_scalar(0xFFFFFFFF, rows.shape[1])))


def _u32_cols(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows).view("<u4")[:, 0]


def _u32_at(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _u32_cols(_rows(buf, pos, 4))


# ------------------------------------------------------------------------------------ framing

def _header_ok(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Whether the 8 bytes at each position are followed by their masked CRC32C."""
    head = _rows(buf, pos, HEADER)
    return _crc_matrix(head[:, :8]) == _u32_cols(head[:, 8:])


def _starts(buf: np.ndarray, exact: bool = False) -> np.ndarray:
    """Positions that hold a record header with a valid length CRC.  Candidates are positions
    whose length's bytes 4-7 are zero; by default also whose CRC's first byte is not (one
    candidate per record instead of the four a zero run offers), which misses 1 header in 256:
    `frame` checks those where the chain reaches them, and asks for the `exact` set (every
    candidate, CRC-checked) when a damaged file needs resynchronising."""
    n = buf.size
    if n < HEADER:
        return np.zeros(0, np.int64)
    mark = np.zeros(n, bool)
    for r in range(4):  # 4-byte words at offsets r, r+4, ...: a zero word at w is bytes i+4..i+7, i = w - 4
        k = (n - r) // 4
        words = buf[r:r + 4 * k].view("<u4")
        i = r + 4 * np.flatnonzero(words == 0) - 4
        i = i[(i >= 0) & (i <= n - HEADER)]
        mark[i if exact else i[buf[i + 8] != 0]] = True
    pos = np.flatnonzero(mark).astype(np.int64)  # in file order without a sort
    if pos.size == 0:
        return pos
    return pos[_header_ok(buf, pos)]


def _links(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per start: its payload length, its end, and the index of the first start at or after
    that end (pos.size when none)."""
    length = _u32_at(buf, pos).astype(np.int64) if pos.size else np.zeros(0, np.int64)
    end = pos + HEADER + length + FOOTER
    return length, end, np.searchsorted(pos, end)


RUN_PROBE = 65_536  # most headers checked at once along a run of equal-length records
FIRST_PROBE = 64  # headers checked first (doubled while the run goes on: short runs cost little)
MIN_RUN = 256  # mean records per run: below it (lengths that vary) the general framing is faster
MAX_RUNS = 4_096  # runs followed at most


def _equal_length_runs(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(starts, payload lengths) of an intact file whose records come in long runs of equal
    length (one writer logging scalars: the length changes only with the step's width or the
    tag), or None.  From byte 0 the chain is followed a run at a time: the headers one record
    length apart are read as a strided view and the run goes on while they hold the same
    length with its CRC. No candidate scan of every byte. Anything else (a damaged or truncated
    record, short runs) returns None and `frame` does it the general way."""
    n = buf.size
    runs: list[list[int]] = []  # [first start, stride, records] of each run
    p, probe, done = 0, FIRST_PROBE, 0
    while p < n:
        if n - p < HEADER or len(runs) >= MAX_RUNS or (len(runs) >= 8 and done < MIN_RUN * len(runs)):
            return None
        head = buf[p:p + HEADER]
        length = int(head[:8].view("<u8")[0])
        crc = int(head[8:].view("<u4")[0])
        if length >= 1 << 32 or int(_crc_matrix(head[None, :8])[0]) != crc:
            return None
        stride = HEADER + length + FOOTER
        m = min((n - p) // stride, probe)
        if m == 0:  # the last record runs past the end of the file
            return None
        # each header's length and CRC read in place, one record apart (unaligned strided views)
        lens_at = np.lib.stride_tricks.as_strided(buf[p:p + 8].view("<u8"), shape=(m,), strides=(stride,), writeable=False)
        crcs_at = np.lib.stride_tricks.as_strided(buf[p + 8:p + 12].view("<u4"), shape=(m,), strides=(stride,), writeable=False)
        same = (lens_at == length) & (crcs_at == crc)
        k = m if same.all() else int(np.argmin(same))  # records of this run (the first always matches)
        if runs and runs[-1][1] == stride and runs[-1][0] + runs[-1][1] * runs[-1][2] == p:
            runs[-1][2] += k  # the same run, probed further
        else:
            runs.append([p, stride, k])
        probe = min(RUN_PROBE, probe * 2) if k == m else FIRST_PROBE
        p += k * stride
        done += k
    if not runs:
        return None
    _release(buf)  # every header was read: the pages go, the CRC check touches them again
    total = sum(c for _, _, c in runs)
    starts, lengths = np.empty(total, np.int64), np.empty(total, np.int64)
    i = 0
    for first, stride, count in runs:  # filled in pieces: no temporary of the file's record count
        lengths[i:i + count] = stride - HEADER - FOOTER
        for j in range(0, count, DECODE_RECORDS):
            k = min(count, j + DECODE_RECORDS)
            starts[i + j:i + k] = np.arange(first + j * stride, first + k * stride, stride, dtype=np.int64)
        i += count
    return starts, lengths


def frame(buf: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(payload offset, payload length, status) of every record, in file order; a damaged
    length is reported at its offset (status BAD_LEN_CRC, length 0) and skipped to the next
    intact header, a truncated tail ends the file.

    Every start knows the start its end leads to (`_links`); the records are the chain from
    the first start, followed in one pass.  An intact file is one unbroken chain; a damaged one
    is re-framed on the exact set of valid headers, so that resynchronising finds the same next
    header as a byte-by-byte scan would."""
    n = buf.size
    runs = _equal_length_runs(buf) if n >= HEADER else None
    if runs is not None:  # intact, and in runs of equal-length records: framed without a scan
        pos, length = runs
        off, status = pos + HEADER, np.zeros(pos.size, np.int8)
        if check:
            _check_payloads(buf, off, length, status)
        return off, length, status
    pos = _starts(buf)
    length, end, nxt = _links(buf, pos)
    linked = (nxt < pos.size) & (pos[np.minimum(nxt, max(pos.size - 1, 0))] == end) if pos.size else nxt == 0
    broken = ~linked & (end <= n - HEADER)  # leads somewhere inside the file that is not a known start
    if broken.any():  # headers the candidate filter passed over (their CRC starts with a zero byte)?
        targets = np.unique(end[broken])
        found = targets[_header_ok(buf, targets)]
        if found.size == targets.size:
            pos = np.union1d(pos, found)
            length, end, nxt = _links(buf, pos)
            broken = np.zeros(0, bool)
    if (pos.size and pos[0] != 0) or broken.any():  # damage: frame on every valid header
        pos = _starts(buf, exact=True)
        length, end, nxt = _links(buf, pos)
    if n >= HEADER and pos.size and pos[0] == 0 and (nxt[:-1] == np.arange(1, pos.size)).all() \
            and (pos[1:] == end[:-1]).all() and end[-1] >= n:
        # one unbroken chain from byte 0 to the end of the file (a last record may run past it)
        whole = end[-1] == n
        off = np.r_[pos[:-1] + HEADER, pos[-1] + HEADER if whole else pos[-1]]
        ln = np.r_[length[:-1], length[-1] if whole else n - pos[-1]]
        status = np.zeros(pos.size, np.int8)
        status[-1] = OK if whole else TRUNCATED
        if check:
            _check_payloads(buf, off, ln, status)
        return off, ln, status
    # the chain, followed record by record: from the start at 0 (else a damaged head,
    # resynchronised at the first start)
    off_l: list[int] = []
    len_l: list[int] = []
    st_l: list[int] = []
    pos_l, end_l, nxt_l, len_py = pos.tolist(), end.tolist(), nxt.tolist(), length.tolist()
    npos = len(pos_l)
    i = 0
    if n < HEADER:
        return np.array([0], np.int64), np.array([n], np.int64), np.array([TRUNCATED], np.int8)
    if not npos or pos_l[0] != 0:
        off_l.append(0)
        len_l.append(0)
        st_l.append(BAD_LEN_CRC)
    while i < npos:
        p, e = pos_l[i], end_l[i]
        if e > n:  # a record running past the end of the file
            off_l.append(p)
            len_l.append(n - p)
            st_l.append(TRUNCATED)
            break
        off_l.append(p + HEADER)
        len_l.append(len_py[i])
        st_l.append(OK)
        j = nxt_l[i]
        if e == n:
            break
        if j < npos and pos_l[j] == e:
            i = j
            continue
        if n - e < HEADER:
            off_l.append(e)
            len_l.append(n - e)
            st_l.append(TRUNCATED)
            break
        off_l.append(e)  # no valid header where this record ends: resynchronise at the next one
        len_l.append(0)
        st_l.append(BAD_LEN_CRC)
        i = j
    off, ln, status = np.array(off_l, np.int64), np.array(len_l, np.int64), np.array(st_l, np.int8)
    if check:
        _check_payloads(buf, off, ln, status)
    return off, ln, status


def _distinct(a: np.ndarray) -> np.ndarray:
    """The distinct values of an array whose values come in runs (record lengths, tag lengths):
    sorted, from the first value of each run (np.unique sorts the whole array)."""
    if a.size == 0:
        return a
    return np.unique(a[np.r_[True, a[1:] != a[:-1]]])


def _check_payloads(buf: np.ndarray, off: np.ndarray, ln: np.ndarray, status: np.ndarray) -> None:
    """Status BAD_DATA_CRC where a payload's CRC does not match, per group of equal lengths."""
    good = np.flatnonzero(status == OK)
    if good.size == 0:
        return
    lens = ln[good]
    for L in _distinct(lens):
        idx = good[lens == L]
        L = int(L)
        if L <= MATRIX_MAX_LEN:  # payload and its CRC in one gather, a block of records at a time
            for i in range(0, idx.size, BLOCK):
                part = idx[i:i + BLOCK]
                rows = _rows(buf, off[part], L + FOOTER)
                crc, stored = _crc_matrix(rows[:, :L]), _u32_cols(rows[:, L:])
                status[part[crc != stored]] = BAD_DATA_CRC
                if (i // BLOCK) % RELEASE_BLOCKS == RELEASE_BLOCKS - 1:
                    _release(buf)
        else:  # long records (images, graphs) are few: the C CRC32C, one call each
            from .tensorboard import masked_crc

            for r in idx:
                o = int(off[r])
                if masked_crc(buf[o:o + L].tobytes()) != int.from_bytes(buf[o + L:o + L + FOOTER].tobytes(), "little"):
                    status[r] = BAD_DATA_CRC


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


def _f32_at(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _rows(buf, pos, 4).view("<f4")[:, 0].astype(np.float64)


def _f64_at(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return _rows(buf, pos, 8).view("<f8")[:, 0].copy()


def _equals(buf: np.ndarray, a: np.ndarray, b: np.ndarray, word: bytes) -> np.ndarray:
    """Whether each span [a, b) holds exactly `word`."""
    out = (b - a) == len(word)
    idx = np.flatnonzero(out)
    if idx.size:
        rows = _rows(buf, a[idx], len(word))
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
            val[has] = _f32_at(buf, pa) if kind == "f4" else _f64_at(buf, pa)
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
        rows = _rows(buf, ca[sel], width)
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
    win = _rows(buf, o, SIMPLE_WINDOW)
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
    tail = _rows(buf, vkey, 5)
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
    walls[good[has]] = _f64_at(buf, a)
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
    value[has] = _f32_at(buf, a)
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


# ------------------------------------------------------------------------------------- the table

def _all_equal(buf: np.ndarray, starts: np.ndarray, length: int) -> bool:
    """Whether the `length` bytes at every start are those at the first, a block at a time."""
    first = buf[starts[0]:starts[0] + length]
    for i in range(0, starts.size, BLOCK):
        if not (_rows(buf, starts[i:i + BLOCK], length) == first).all():
            return False
    return True


def _tag_ids(buf: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, list[bytes]]:
    """A small id per value for its tag's bytes, and the tags' bytes by id."""
    import pandas as pd

    n = a.size
    ids = np.zeros(n, np.int64)
    names: list[bytes] = []
    lens = b - a
    for L in _distinct(lens):
        sel = np.flatnonzero(lens == L)
        L = int(L)
        if L == 0 or _all_equal(buf, a[sel], L):  # one tag of this length (the common case): no hashing
            uniq_first, inv = np.array([sel[0]]), np.zeros(sel.size, np.int64)
        else:
            rows = _rows(buf, a[sel], L)
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


# records decoded at a time: the per-record and per-value matrices of decoding stay bounded
# (a few hundred bytes a record), whatever the file's size
DECODE_RECORDS = 1 << 20


def _release(buf: np.ndarray) -> None:
    """Drop the pages of a memory-mapped file read so far from this process (they stay in the
    OS cache and come back on the next touch): a file read once does not count twice."""
    import mmap

    base: Any = buf
    while base is not None and not hasattr(base, "_mmap"):
        base = getattr(base, "base", None)
    mm = getattr(base, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        try:
            mm.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass


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
        _release(buf)
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
    _release(buf)
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
        "metric": pd.Categorical.from_codes(code_of[tid], categories=cats),
        "step": step_v,
        "value": val,
        "wall_time": wall_v,
    }, copy=False)
    return ReadResult(table=table, hparams=hparams, warnings=warnings, fmt="tensorboard")
