"""Hostile inputs for the readers: mutations of real logs and hand-made monsters.

Used by tests/test_fuzz.py (hypothesis drives the choices) and scripts/fuzz_readers.py
(a seeded random generator drives them, 10,000+ inputs from the fault corpus).

The contract checked by `check_one`: reading a file either gives a tidy table (with warnings)
or raises InputError with a message naming the file; the whole run analysis never raises.
Anything else - another exception, a table with wrong columns - is a crash.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import traceback
from dataclasses import dataclass

MUTATORS = ("truncate", "bitflip", "garbage_lines", "invalid_utf8", "absurd_numbers", "duplicate_block",
            "drop_bytes", "swap_lines", "nan_strings", "crlf")
MONSTERS = ("empty", "long_line", "many_columns", "deep_json", "binary", "binary_no_nul", "gzip_csv", "only_header",
            "only_newlines", "nul_bytes", "huge_numbers")


def mutate(data: bytes, how: str, rnd: random.Random) -> bytes:
    """One mutation of a file's bytes."""
    n = len(data)
    if n == 0:
        return data
    if how == "truncate":
        return data[: rnd.randrange(n)]
    if how == "bitflip":
        b = bytearray(data)
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(n)
            b[i] ^= 1 << rnd.randrange(8)
        return bytes(b)
    if how == "drop_bytes":
        i = rnd.randrange(n)
        return data[:i] + data[i + rnd.randint(1, 64):]
    lines = data.split(b"\n")
    if how == "garbage_lines":
        for _ in range(rnd.randint(1, 5)):
            junk = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 80)))
            lines.insert(rnd.randrange(len(lines) + 1), junk)
        return b"\n".join(lines)
    if how == "invalid_utf8":
        i = rnd.randrange(n)
        return data[:i] + rnd.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]) + data[i:]
    if how in ("absurd_numbers", "nan_strings"):
        words = [b"1e308", b"-1e308", b"1e999", b"-inf", b"inf", b"NaN", b"nan", b"\"NaN\"", b"-0", b"1e-320",
                 b"99999999999999999999999"] if how == "absurd_numbers" else [b"NaN", b"\"nan\"", b"None", b"null", b"-"]
        out = bytearray()
        import re

        for m in re.split(rb"(-?\d+\.?\d*(?:[eE][-+]?\d+)?)", data):
            if m and m[:1] in b"-0123456789" and rnd.random() < 0.05:
                out += rnd.choice(words)
            else:
                out += m
        return bytes(out)
    if how == "duplicate_block":
        i, j = sorted((rnd.randrange(len(lines)), rnd.randrange(len(lines))))
        return b"\n".join(lines[:j] + lines[i:j] + lines[j:])  # a resumed run writes steps again
    if how == "swap_lines":
        if len(lines) > 2:
            i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)
    if how == "crlf":
        return data.replace(b"\n", b"\r\n")
    raise ValueError(how)


def monster(kind: str, fmt: str) -> bytes:
    """Hand-made inputs of the issue's list, shaped for the format `fmt`."""
    if kind == "empty":
        return b""
    if kind == "long_line":  # a 5 MB single line
        if fmt == "jsonl":
            return b'{"step": 1, "loss": 0.5, "junk": "' + b"x" * 5_000_000 + b'"}\n'
        return b"step,loss\n1," + b"9" * 5_000_000 + b"\n2,0.5\n"
    if kind == "many_columns":  # 10,000 columns
        if fmt == "jsonl":
            rec = {f"m{i}": float(i) for i in range(10_000)}
            return (json.dumps({"step": 1, **rec}) + "\n" + json.dumps({"step": 2, **rec}) + "\n").encode()
        head = "step," + ",".join(f"m{i}" for i in range(10_000))
        rows = [f"{s}," + ",".join("0.5" for _ in range(10_000)) for s in range(3)]
        return ("\n".join([head] + rows) + "\n").encode()
    if kind == "deep_json":  # 5,000-deep nesting
        deep = "[" * 5000 + "]" * 5000
        return ('{"step": 1, "loss": ' + deep + "}\n" + '{"step": 2, "loss": 0.4}\n').encode()
    if kind == "binary":
        rnd = random.Random(7)
        return bytes(rnd.randrange(256) for _ in range(4096))
    if kind == "binary_no_nul":  # compressed or encrypted data without a NUL in it
        rnd = random.Random(8)
        return bytes(rnd.randrange(1, 256) for _ in range(4096))
    if kind == "gzip_csv":
        return gzip.compress(b"step,loss\n1,0.9\n2,0.8\n3,0.7\n")
    if kind == "only_header":
        return b"step,train_loss,val_loss\n" if fmt != "jsonl" else b"{}\n"
    if kind == "only_newlines":
        return b"\n" * 10_000
    if kind == "nul_bytes":
        return b"step,loss\n1,0.5\n" + b"\x00" * 1000 + b"\n3,0.4\n"
    if kind == "huge_numbers":
        return b"step,loss\n1,1e308\n2,-1e308\n3,1e999\n4,NaN\n5,-inf\n" if fmt != "jsonl" else \
            b'{"step": 1, "loss": 1e308}\n{"step": 1e400, "loss": -1e308}\n{"step": 3, "loss": "NaN"}\n'
    raise ValueError(kind)


# ----------------------------------------------------------------------------- checking

@dataclass
class Outcome:
    status: str  # read | rejected | crash
    detail: str = ""


def kind_of(path: str) -> str:
    from logsleuth.ingest import classify

    k = classify(path)
    if k:
        return k
    low = path.lower()
    return "jsonl" if low.endswith((".json", ".jsonl")) else "csv"


def check_one(path: str, kind: str | None = None) -> Outcome:
    """Read one file with the reader of its kind, then analyse its directory as a run."""
    from logsleuth.errors import InputError
    from logsleuth.ingest import LogFile, RunSource, read_file
    from logsleuth.model import TIDY_COLUMNS
    from logsleuth.pipeline import analyze_source

    kind = kind or kind_of(path)
    try:
        res = read_file(LogFile(path, kind))
        if tuple(res.table.columns) != TIDY_COLUMNS and not res.table.empty:
            return Outcome("crash", f"columns {list(res.table.columns)}")
        status = "read"
    except InputError as exc:
        if path not in str(exc) and os.path.basename(path) not in str(exc):
            return Outcome("crash", f"InputError without the file name: {exc}")
        status = "rejected"
    except Exception:
        return Outcome("crash", traceback.format_exc(limit=6))
    try:
        d = analyze_source(RunSource(os.path.basename(path), os.path.dirname(path), (LogFile(path, kind),)),
                           timeout=None).diagnosis
        if d.status == "error" and not d.error:
            return Outcome("crash", "error diagnosis without a message")
    except Exception:
        return Outcome("crash", "analysis: " + traceback.format_exc(limit=6))
    return Outcome(status)
