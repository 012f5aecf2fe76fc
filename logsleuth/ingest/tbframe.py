"""TFRecord framing of a TensorBoard event file in numpy (ingest.tbfast): every record's payload
offset, length and status at once.

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
   256-entry table lookup and one xor, see `tbbytes.crc_matrix`);
3. the chain: in an intact file each start's end is the next start; the rare breaks (a
   truncated tail, a damaged record, a false candidate inside a payload) are walked in
   Python with the same resynchronisation as the protobuf reader;
4. payload CRCs checked per group of equal-length records, the same way (the few long
   records, images and graphs, one by one with the C CRC32C).
"""

from __future__ import annotations

import numpy as np

from .tbbytes import BLOCK, DECODE_RECORDS, MATRIX_MAX_LEN, RELEASE_BLOCKS, crc_matrix, gather, release, u32_at, u32_cols

# status of one record
OK, BAD_DATA_CRC, BAD_LEN_CRC, TRUNCATED = 0, 1, 2, 3
HEADER = 12  # u64 length + u32 length CRC
FOOTER = 4  # u32 payload CRC


def _header_ok(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Whether the 8 bytes at each position are followed by their masked CRC32C."""
    head = gather(buf, pos, HEADER)
    return crc_matrix(head[:, :8]) == u32_cols(head[:, 8:])


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
    length = u32_at(buf, pos).astype(np.int64) if pos.size else np.zeros(0, np.int64)
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
        if length >= 1 << 32 or int(crc_matrix(head[None, :8])[0]) != crc:
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
    release(buf)  # every header was read: the pages go, the CRC check touches them again
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
    if n < HEADER:
        return np.array([0], np.int64), np.array([n], np.int64), np.array([TRUNCATED], np.int8)
    # the chain, followed record by record: from the start at 0 (else a damaged head,
    # resynchronised at the first start)
    off, ln, status = _follow(n, pos, end, nxt, length)
    if check:
        _check_payloads(buf, off, ln, status)
    return off, ln, status


def _follow(n: int, pos: np.ndarray, end: np.ndarray, nxt: np.ndarray,
            length: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chain of a damaged file of n bytes followed record by record, from the start at 0
    (else from a damaged head, resynchronised at the first start): (offset, length, status)
    of every record, a damaged length at its offset and a truncated tail last."""
    off_l: list[int] = []
    len_l: list[int] = []
    st_l: list[int] = []
    pos_l, end_l, nxt_l, len_py = pos.tolist(), end.tolist(), nxt.tolist(), length.tolist()
    npos = len(pos_l)
    i = 0
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
    return np.array(off_l, np.int64), np.array(len_l, np.int64), np.array(st_l, np.int8)


def distinct(a: np.ndarray) -> np.ndarray:
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
    for L in distinct(lens):
        idx = good[lens == L]
        L = int(L)
        if L <= MATRIX_MAX_LEN:  # payload and its CRC in one gather, a block of records at a time
            for i in range(0, idx.size, BLOCK):
                part = idx[i:i + BLOCK]
                rows = gather(buf, off[part], L + FOOTER)
                crc, stored = crc_matrix(rows[:, :L]), u32_cols(rows[:, L:])
                status[part[crc != stored]] = BAD_DATA_CRC
                if (i // BLOCK) % RELEASE_BLOCKS == RELEASE_BLOCKS - 1:
                    release(buf)
        else:  # long records (images, graphs) are few: the C CRC32C, one call each
            from .tensorboard import masked_crc

            for r in idx:
                o = int(off[r])
                if masked_crc(buf[o:o + L].tobytes()) != int.from_bytes(buf[o + L:o + L + FOOTER].tobytes(), "little"):
                    status[r] = BAD_DATA_CRC
