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
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from .ingest.discover import RunSource
from .model import Outcome, diagnosis_from_dict, diagnosis_to_dict

EDGE = 16 * 1024
DB_SCHEMA = 3  # 2: entries are the report run object, exact (model.diagnosis_to_dict); 3: with a restarted run's segments
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
    """[absolute path, size, mtime_ns, CRC-32 of head+tail]; a missing file gives its path alone.
    (Not realpath: discovery does not follow symlinks out of the root, and stat follows them.)"""
    real = os.path.abspath(path)
    try:
        fd = os.open(real, os.O_RDONLY)
    except OSError as exc:
        try:
            st = os.stat(real)
        except OSError:
            return [real, None]
        return [real, st.st_size, st.st_mtime_ns, f"unreadable: {exc.errno}"]
    # one open, fstat and pread, and a CRC (3x faster than SHA-1; it detects changes, nobody
    # forges a log): a re-scan takes the keys of thousands of files
    try:
        st = os.fstat(fd)
        h = zlib.crc32(os.pread(fd, EDGE, 0))
        if st.st_size > 2 * EDGE:
            h = zlib.crc32(os.pread(fd, EDGE, st.st_size - EDGE), h)
        elif st.st_size > EDGE:
            h = zlib.crc32(os.pread(fd, st.st_size - EDGE, EDGE), h)
    except OSError as exc:
        return [real, st.st_size, st.st_mtime_ns, f"unreadable: {exc.errno}"]
    finally:
        os.close(fd)
    return [real, st.st_size, st.st_mtime_ns, f"{h:08x}"]


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


# Whole-scan reports live in the same table (no second table: older versions still recognise the
# file as their cache), under "report:" keys that no run key (a bare hex digest) can equal
REPORT_RUN = "(report of a whole scan)"
KEEP_REPORTS = 8  # reports of whole scans kept, most recently used first: the trees and report kinds a user re-runs
MAX_REPORT_BYTES = 64 * 1024**2  # a larger report (an HTML page of thousands of runs' plots) is rendered again, not kept


def report_key(sources: str, plan_paths: list[str], identities: list[list[Any]], messages: list[str],
               empty: list[str], spec: Any) -> str:
    """The key of a whole scan's reports: the code, rule and role files (`sources`, see
    sources_fingerprint), every run's identity (name, formats, files), what discovery said, the
    paths as given and `spec` (the report formats and how they are drawn).  The reports are a
    function of these alone: equal keys, equal reports."""
    ident = ["report", sources, list(plan_paths), identities, messages, empty, spec]
    return "report:" + hashlib.sha256(json.dumps(ident, default=str).encode()).hexdigest()


def run_identity(src: RunSource) -> list[Any]:
    """What a run's diagnosis depends on besides the options: its name, its files' kinds and identities."""
    return [src.name, [f.kind for f in src.files], [file_identity(p) for p in _paths_of(src)]]


def run_key(src: RunSource, fingerprint: str, identity: list[Any] | None = None) -> str:
    ident = [fingerprint, *(identity if identity is not None else run_identity(src))]
    return hashlib.sha256(json.dumps(ident, default=str).encode()).hexdigest()


def sources_fingerprint(rules: Iterable[str], roles: str | None, only_needed: bool) -> str:
    """The code, the rule files (every file under a directory) and the roles file, by their
    bytes: what options_fingerprint digests after parsing, known without parsing (a stored
    report is found before the rules are loaded)."""
    h = hashlib.sha256(f"{code_fingerprint()}|{DB_SCHEMA}|{only_needed}".encode())
    for given in [*rules, *([roles] if roles else [])]:
        files = [given]
        if os.path.isdir(given):
            files = sorted(os.path.join(d, n) for d, _, names in os.walk(given) for n in names)
        for f in files:
            h.update(os.path.abspath(f).encode() + b"\0")
            try:
                with open(f, "rb") as fh:
                    h.update(fh.read())
            except OSError as exc:
                h.update(f"unreadable {exc.errno}".encode())
    return h.hexdigest()


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
    import numpy as np

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
    import numpy as np

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


# A restarted run's entry holds all its segments: the body is the last segment's diagnosis with
# the earlier ones under SEGMENTS_KEY, and the curves blob the last one's roles with the earlier
# segments' roles prefixed by their position ("0|train_loss").
SEGMENTS_KEY = "segment_diagnoses"
SEGMENT_SEP = "|"


def _body(o: Outcome) -> dict[str, Any]:
    body = diagnosis_to_dict(o.diagnosis, exact=True)
    if o.segments:
        body[SEGMENTS_KEY] = [diagnosis_to_dict(s.diagnosis, exact=True) for s in o.segments]
    return body


def _all_curves(o: Outcome) -> dict[str, Any]:
    out = dict(o.curves)
    for k, seg in enumerate(o.segments):
        out.update({f"{k}{SEGMENT_SEP}{role}": c for role, c in seg.curves.items()})
    return out


def _outcome(body: dict[str, Any], curves: dict[str, Any]) -> Outcome:
    """The Outcome of an entry (`_body` and `_all_curves`)."""
    plain = [diagnosis_from_dict(d) for d in body.pop(SEGMENTS_KEY, [])]
    per: list[dict[str, Any]] = [{} for _ in plain]
    own = {}
    for role, c in curves.items():
        k, sep, rest = role.partition(SEGMENT_SEP)
        if sep:
            per[int(k)][rest] = c
        else:
            own[role] = c
    return Outcome(diagnosis_from_dict(body), own, tuple(Outcome(d, c) for d, c in zip(plain, per)))


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


BUSY_RETRY_FIRST = 0.01  # seconds before the first retry of a statement SQLite refused as busy; doubles each time


def _retry_busy(statement: Callable[[], object], timeout: float) -> None:
    """Run a statement that SQLite may refuse with 'database is locked' without waiting (switching
    a new file to WAL, or creating its table, while another scan does the same: the busy timeout
    does not cover these), retried with a growing pause for up to `timeout` seconds."""
    deadline, pause = time.monotonic() + timeout, BUSY_RETRY_FIRST
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


class DiagnosisCache:
    """get_many / put_many over an SQLite file; safe to share between concurrent scans."""

    def __init__(self, path: str, timeout: float = 60.0):
        self.path = path
        check_cache_file(path)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
            self.db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            _retry_busy(lambda: self.db.execute("PRAGMA journal_mode = WAL"), timeout)
            self.db.execute("PRAGMA synchronous = NORMAL")
            _retry_busy(lambda: self.db.execute(
                "CREATE TABLE IF NOT EXISTS diagnoses (key TEXT PRIMARY KEY, run TEXT NOT NULL, "
                "stored REAL NOT NULL, body BLOB NOT NULL, curves BLOB)"), timeout)
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
                        out[key] = _outcome(json.loads(zlib.decompress(body)),
                                            curves_from_blob(blob) if blob is not None else {})
                    except (ValueError, KeyError, TypeError, IndexError, zlib.error):
                        continue  # a damaged entry is a miss; it is overwritten below
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: cache unreadable ({exc}); scanning without it") from exc
        return out

    def put_many(self, items: Iterable[tuple[str, Outcome]], with_curves: bool) -> None:
        rows = []
        now = time.time()
        for key, o in items:
            body = zlib.compress(json.dumps(_body(o), allow_nan=True).encode(), 1)
            blob = curves_blob(_all_curves(o)) if with_curves else None
            rows.append((key, o.diagnosis.run, now, body, blob))
        if not rows:
            return
        with self._transaction("could not store results") as db:
            db.executemany("INSERT OR REPLACE INTO diagnoses VALUES (?, ?, ?, ?, ?)", rows)

    @contextmanager
    def _transaction(self, failure: str):
        """One write transaction; any SQLite error rolls it back and is a CacheError saying `failure`."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            yield self.db
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise CacheError(f"{self.path}: {failure} ({exc})") from exc

    def get_report(self, key: str) -> dict[str, Any] | None:
        """A stored whole-scan report ({"texts": [UTF-8 bytes, ...], "worst": health}) under
        `key`, or None; a hit counts as a use (it is kept longer)."""
        try:
            row = self.db.execute("SELECT body FROM diagnoses WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            body = memoryview(row[0])
            nl = bytes(body[:4096]).index(b"\n")
            meta = json.loads(bytes(body[:nl]))
            texts, at = [], nl + 1
            for n in meta["lengths"]:
                texts.append(bytes(body[at:at + n]))
                at += n
            if at != len(body):
                return None
            self.db.execute("UPDATE diagnoses SET stored = ? WHERE key = ?", (time.time(), key))
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            return None  # a damaged or busy entry is a miss: the scan runs
        return {"texts": texts, "worst": meta.get("worst")}

    def put_report(self, key: str, texts: list[str], worst: str | None) -> None:
        """Store a whole scan's rendered reports (uncompressed: a hit is a read, not a
        decompression); only the KEEP_REPORTS most recently used stay, none over MAX_REPORT_BYTES."""
        parts = [t.encode("utf-8") for t in texts]
        if sum(len(b) for b in parts) > MAX_REPORT_BYTES:
            return
        body = json.dumps({"lengths": [len(b) for b in parts], "worst": worst}).encode() + b"\n" + b"".join(parts)
        with self._transaction("could not store the report") as db:
            db.execute("INSERT OR REPLACE INTO diagnoses VALUES (?, ?, ?, ?, NULL)", (key, REPORT_RUN, time.time(), body))
            db.execute("DELETE FROM diagnoses WHERE key IN (SELECT key FROM diagnoses WHERE run = ? "
                       "ORDER BY stored DESC, key LIMIT -1 OFFSET ?)", (REPORT_RUN, KEEP_REPORTS))

    def stats(self) -> dict[str, Any]:
        n, size, oldest, newest = self.db.execute(
            f"SELECT COUNT(*), COALESCE(SUM({_ENTRY_BYTES}), 0), MIN(stored), MAX(stored) FROM diagnoses").fetchone()
        reports = self.db.execute("SELECT COUNT(*) FROM diagnoses WHERE run = ?", (REPORT_RUN,)).fetchone()[0]
        return {"path": self.path, "entries": n - reports, "reports": reports, "bytes": size, "oldest": oldest,
                "newest": newest}

    def prune(self, older_than: float | None = None, max_bytes: int | None = None, now: float | None = None) -> int:
        """Drop entries stored more than `older_than` seconds ago, then the oldest entries until
        the rest take at most `max_bytes`; returns how many were dropped."""
        now = time.time() if now is None else now
        before = self.db.execute("SELECT COUNT(*) FROM diagnoses").fetchone()[0]
        with self._transaction("could not prune") as db:
            if older_than is not None:
                db.execute("DELETE FROM diagnoses WHERE stored < ?", (now - older_than,))
            if max_bytes is not None:
                kept, doomed = 0, []
                for key, size in db.execute(f"SELECT key, {_ENTRY_BYTES} FROM diagnoses ORDER BY stored DESC, key"):
                    kept += size
                    if kept > max_bytes:
                        doomed.append((key,))
                db.executemany("DELETE FROM diagnoses WHERE key = ?", doomed)
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
