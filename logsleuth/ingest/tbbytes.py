"""The byte machinery of the numpy TensorBoard reader (ingest.tbfast): rows of bytes gathered
from a file at many offsets at once, their masked CRC32C computed for all rows together, how
many records are handled at a time, and releasing the pages of a memory-mapped file.

CRC32C is linear over GF(2): the register of a message is the xor of what each byte adds at its
position, so a block of equal-length rows is one 256-entry table lookup per byte position
(`crc_matrix`)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np


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


def gather(buf: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
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


def crc_matrix(rows: np.ndarray) -> np.ndarray:
    """Masked CRC32C of each row of a bytes matrix."""
    return _mask(_raw_matrix(rows) ^ np.uint32(_shift_scalar(0xFFFFFFFF, rows.shape[1])))


def u32_cols(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows).view("<u4")[:, 0]


def u32_at(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return u32_cols(gather(buf, pos, 4))


# records decoded at a time: the per-record and per-value matrices of decoding stay bounded
# (a few hundred bytes a record), whatever the file's size
DECODE_RECORDS = 1 << 20


def release(buf: np.ndarray) -> None:
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
