"""Incremental scans: diagnoses kept in an SQLite database, keyed by everything that could
change them.

The key of a run is a hash of
  * each of its files' identity: real path, size, mtime (ns) and a hash of its first and last
    16 KiB (an appended event file, or a file rewritten with the same size and mtime, differs);
  * the run's name (reports show it);
  * the rule set's digest, the role overrides, and a fingerprint of logsleuth's own code and
    built-in rules (an upgrade re-evaluates everything).

Bodies are JSON, never pickle: loading the cache cannot execute anything.  Writes happen in the
parent process only, in WAL mode with a busy timeout, so concurrent scans sharing one cache
file wait for each other instead of corrupting it.  The cache lives in the user's cache
directory (or where --cache says), never beside the logs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .ingest.discover import RunSource
from .model import Outcome, diagnosis_from_dict, diagnosis_to_dict

EDGE = 16 * 1024
DB_SCHEMA = 2  # 2: entries are the report run object, exact (model.diagnosis_to_dict)
MAX_FILES_PER_DIR_RUN = 10_000  # MLflow runs are directories; hash at most this many files


def default_path() -> str:
    """`$LOGSLEUTH_CACHE`, else `$XDG_CACHE_HOME/logsleuth/diagnoses.sqlite`, else ~/.cache/..."""
    env = os.environ.get("LOGSLEUTH_CACHE")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "logsleuth", "diagnoses.sqlite")


# ------------------------------------------------------------------ keys

def file_identity(path: str) -> list[Any]:
    """[absolute path, size, mtime_ns, sha1 of head+tail]; a missing file gives its path alone.
    (Not realpath: discovery does not follow symlinks out of the root, and stat follows them.)"""
    real = os.path.abspath(path)
    try:
        st = os.stat(real)
    except OSError:
        return [real, None]
    h = hashlib.sha1()
    try:
        with open(real, "rb") as fh:
            h.update(fh.read(EDGE))
            if st.st_size > 2 * EDGE:
                fh.seek(st.st_size - EDGE)
                h.update(fh.read(EDGE))
            elif st.st_size > EDGE:
                h.update(fh.read())
    except OSError as exc:
        return [real, st.st_size, st.st_mtime_ns, f"unreadable: {exc.errno}"]
    return [real, st.st_size, st.st_mtime_ns, h.hexdigest()]


def _paths_of(src: RunSource) -> list[str]:
    out: list[str] = []
    for f in src.files:
        if os.path.isdir(f.path):  # an MLflow run: every file below it
            for dirpath, dirnames, names in os.walk(f.path):
                dirnames.sort()
                out += [os.path.join(dirpath, n) for n in sorted(names)]
                if len(out) > MAX_FILES_PER_DIR_RUN:
                    break
        else:
            out.append(f.path)
    return out + list(src.hparam_files)


def run_key(src: RunSource, fingerprint: str) -> str:
    ident = [fingerprint, src.name, [f.kind for f in src.files], [file_identity(p) for p in _paths_of(src)]]
    return hashlib.sha256(json.dumps(ident, default=str).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of logsleuth's Python files and built-in rule files: changed code, changed cache."""
    from ._version import __version__
    from .resources import builtin_rules_dir

    h = hashlib.sha256(__version__.encode())
    pkg = Path(__file__).resolve().parent
    files = sorted(pkg.rglob("*.py")) + sorted(builtin_rules_dir().glob("*.yaml"))
    for p in files:
        try:
            h.update(str(p.relative_to(pkg.parent)).encode())
            h.update(p.read_bytes())
        except (OSError, ValueError):
            continue
    return h.hexdigest()[:16]


def options_fingerprint(options: Any) -> str:
    """Rule set digest + role overrides + code: what must match for a cached diagnosis to hold."""
    from .ruleset import builtin_ruleset

    ruleset = getattr(options, "ruleset", None) or builtin_ruleset()
    roles = repr(getattr(options, "role_overrides", ())) + repr(getattr(options, "only_needed", False))
    return hashlib.sha256(f"{ruleset.version}|{roles}|{code_fingerprint()}|{DB_SCHEMA}".encode()).hexdigest()[:24]


# ------------------------------------------------------------------ (de)serialisation

def curves_blob(curves: Mapping[str, Any]) -> bytes:
    """Decimated plot curves, compressed: a JSON header then float64 arrays."""
    header, chunks, off = {}, [], 0
    for role, (metric, steps, values) in curves.items():
        s = np.ascontiguousarray(steps, dtype=np.float64).tobytes()
        v = np.ascontiguousarray(values, dtype=np.float64).tobytes()
        header[role] = [metric, off, len(steps)]
        chunks += [s, v]
        off += len(s) + len(v)
    head = json.dumps(header).encode()
    return zlib.compress(len(head).to_bytes(4, "little") + head + b"".join(chunks), 1)


def curves_from_blob(blob: bytes) -> dict:
    raw = zlib.decompress(blob)
    n = int.from_bytes(raw[:4], "little")
    header = json.loads(raw[4:4 + n])
    body = memoryview(raw)[4 + n:]
    out = {}
    for role, (metric, off, count) in header.items():
        steps = np.frombuffer(body[off:off + 8 * count], dtype=np.float64).copy()
        values = np.frombuffer(body[off + 8 * count:off + 16 * count], dtype=np.float64).copy()
        out[role] = (metric, steps, values)
    return out


# ------------------------------------------------------------------ the database

class CacheError(Exception):
    pass


_COLUMNS = ("key", "run", "stored", "body", "curves")


def check_cache_file(path: str) -> None:
    """Raise CacheError unless `path` is absent, empty, or a logsleuth cache database (checked
    by its schema, not its name): the cache never writes into, or deletes, anything else."""
    if not os.path.exists(path):
        return
    if not os.path.isfile(path):
        raise CacheError(f"{path}: not a file, so not a logsleuth cache; refusing to use or delete it")
    if os.path.getsize(path) == 0:
        return
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head != b"SQLite format 3\x00":
        raise CacheError(f"{path}: not a logsleuth cache (not an SQLite database); refusing to use or delete it")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            cols = tuple(r[1] for r in con.execute("PRAGMA table_info(diagnoses)")) if "diagnoses" in tables else ()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise CacheError(f"{path}: unreadable SQLite file ({exc}); refusing to use or delete it") from exc
    if tables and (tables != {"diagnoses"} or cols != _COLUMNS):
        raise CacheError(f"{path}: an SQLite database that is not a logsleuth cache (tables: "
                         f"{', '.join(sorted(tables))}); refusing to use or delete it")


# what one entry takes: its compressed diagnosis and plot curves (the database adds a little)
_ENTRY_BYTES = "LENGTH(body) + COALESCE(LENGTH(curves), 0)"


class DiagnosisCache:
    """get_many / put_many over an SQLite file; safe to share between concurrent scans."""

    def __init__(self, path: str, timeout: float = 60.0):
        self.path = path
        check_cache_file(path)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
            self.db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS diagnoses (key TEXT PRIMARY KEY, run TEXT NOT NULL, "
                "stored REAL NOT NULL, body BLOB NOT NULL, curves BLOB)")
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(f"{path}: cannot use the cache ({exc}); scanning without it") from exc

    def get_many(self, keys: list[str], want_curves: bool) -> dict[str, Outcome]:
        """The cached diagnoses among `keys`; an entry stored without curves is a miss when
        curves are wanted."""
        out: dict[str, Outcome] = {}
        cols = "key, body, curves" if want_curves else "key, body, NULL"
        try:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                q = f"SELECT {cols} FROM diagnoses WHERE key IN ({','.join('?' * len(part))})"
                for key, body, blob in self.db.execute(q, part):
                    if want_curves and blob is None:
                        continue
                    try:
                        plain = json.loads(zlib.decompress(body))
                        out[key] = Outcome(diagnosis_from_dict(plain), curves_from_blob(blob) if blob is not None else {})
                    except (ValueError, KeyError, TypeError, IndexError, zlib.error):
                        continue  # a damaged entry is a miss; it is overwritten below
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: cache unreadable ({exc}); scanning without it") from exc
        return out

    def put_many(self, items: Iterable[tuple[str, Outcome]], with_curves: bool) -> None:
        rows = []
        now = time.time()
        for key, (d, curves) in items:
            body = zlib.compress(json.dumps(diagnosis_to_dict(d, exact=True), allow_nan=True).encode(), 1)
            blob = curves_blob(curves) if with_curves else None
            rows.append((key, d.run, now, body, blob))
        if not rows:
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO diagnoses VALUES (?, ?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise CacheError(f"{self.path}: could not store results ({exc})") from exc

    def stats(self) -> dict[str, Any]:
        n, size, oldest, newest = self.db.execute(
            f"SELECT COUNT(*), COALESCE(SUM({_ENTRY_BYTES}), 0), MIN(stored), MAX(stored) FROM diagnoses").fetchone()
        return {"path": self.path, "entries": n, "bytes": size, "oldest": oldest, "newest": newest}

    def prune(self, older_than: float | None = None, max_bytes: int | None = None, now: float | None = None) -> int:
        """Drop entries stored more than `older_than` seconds ago, then the oldest entries until
        the rest take at most `max_bytes`; returns how many were dropped."""
        now = time.time() if now is None else now
        before = self.db.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0]
        try:
            self.db.execute("BEGIN IMMEDIATE")
            if older_than is not None:
                self.db.execute("DELETE FROM diagnoses WHERE stored < ?", (now - older_than,))
            if max_bytes is not None:
                kept, doomed = 0, []
                for key, size in self.db.execute(f"SELECT key, {_ENTRY_BYTES} FROM diagnoses ORDER BY stored DESC, key"):
                    kept += size
                    if kept > max_bytes:
                        doomed.append((key,))
                self.db.executemany("DELETE FROM diagnoses WHERE key = ?", doomed)
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            self.db.execute("ROLLBACK")
            raise CacheError(f"{self.path}: could not prune ({exc})") from exc
        dropped = before - self.db.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0]
        if dropped:
            self.db.execute("VACUUM")  # give the space back to the disk
        return dropped

    def clear(self) -> int:
        n = self.db.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0]
        self.db.execute("DELETE FROM diagnoses")
        self.db.execute("VACUUM")
        return n

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass
