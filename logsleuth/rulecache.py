"""The built-in rule set kept between processes: what the YAML files of `rules/` say, once
read and checked, as one JSON file under logsleuth's own cache directory, so that a process
does not parse and check 30 YAML files again (~15 ms of every start).

The file is named by a key of everything its content depends on: the bytes of every built-in
rule file, the size and modification time of the code that reads and checks them (the
package's top-level modules, `ruleset/` and `detectors/`), PyYAML's, and logsleuth's and
Python's versions.  A missing, stale, corrupt or unreadable copy is a miss: the files are
parsed as without it.  A copy is written only when it reads back equal to what the YAML gave
(ruleset.loading checks that), in one piece (a temporary file renamed), never inside a path
being analysed (`protect`), and a directory that cannot be written is left alone, silently:
the copy only saves time.

Where: the directory of `$LOGSLEUTH_CACHE` when it is set, else `$XDG_CACHE_HOME/logsleuth`,
else `~/.cache/logsleuth`, in `compiled-rules/`; `LOGSLEUTH_RULES_CACHE` names another
directory, or `off` for none.  Only the built-in files are kept: user rule files (`--rules`)
are always parsed, with their line numbers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ._version import __version__
from .pathguard import inside_analysed
from .resources import builtin_rules_dir

FORMAT = 1  # of the JSON file: a change of what it holds or how it is read
KEEP = 8  # compiled copies kept in the directory (other versions, other checkouts); older ones are removed
_HERE = os.path.dirname(os.path.abspath(__file__))
_CODE_DIRS = ("", "ruleset", "detectors")
_protected: list[str] = []


def cache_dir() -> str | None:
    """The directory of the compiled copies, None when switched off."""
    env = os.environ.get("LOGSLEUTH_RULES_CACHE")
    if env is not None and env.strip().lower() in ("off", "0", "no", "false", ""):
        return None
    if env:
        return env
    diagnoses = os.environ.get("LOGSLEUTH_CACHE")
    if diagnoses:
        return os.path.join(os.path.dirname(os.path.abspath(diagnoses)), "compiled-rules")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "logsleuth", "compiled-rules")


def protect(paths: Iterable[str]) -> None:
    """Never write a copy inside these paths (the ones being analysed)."""
    _protected.extend(os.path.realpath(p) for p in paths)


def _stat_line(path: str, label: str) -> bytes:
    try:
        st = os.stat(path)
    except OSError:
        return f"{label} missing\0".encode()
    return f"{label} {st.st_size} {st.st_mtime_ns}\0".encode()


@lru_cache(maxsize=1)
def key() -> str:
    """The key of the files as this process first saw them: the copy it may read."""
    return compute_key()


def compute_key() -> str:
    """What a compiled copy must have been made from to hold now (see the module's docstring)."""
    import hashlib
    from importlib.util import find_spec

    h = hashlib.sha256(f"{FORMAT}|{__version__}|{sys.version_info[:2]}\0".encode())
    rules = builtin_rules_dir()
    for name in sorted(os.listdir(rules)):
        if name.endswith(".yaml"):
            with open(os.path.join(rules, name), "rb") as fh:
                h.update(name.encode() + b"\0" + fh.read() + b"\0")
    for sub in _CODE_DIRS:
        d = os.path.join(_HERE, sub)
        for name in sorted(os.listdir(d)):
            if name.endswith(".py"):
                h.update(_stat_line(os.path.join(d, name), f"{sub}/{name}"))
    spec = find_spec("yaml")  # PyYAML's own file, not imported: a new PyYAML, a new key
    h.update(_stat_line(spec.origin, spec.origin) if spec and spec.origin else b"no yaml")
    return h.hexdigest()[:32]


def _path(k: str) -> str | None:
    d = cache_dir()
    return None if d is None else os.path.join(d, f"rules-{k}.json")


@lru_cache(maxsize=1)
def stored() -> dict[str, Any] | None:
    """The parts of the compiled copy made from the files as they are now, or None."""
    import json

    try:
        path = _path(key())
        if path is None:
            return None
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != key() \
            or not isinstance(doc.get("parts"), dict):
        return None
    return doc["parts"]


def part(name: str) -> Any:
    """One part of the compiled copy (the data of a built-in file, by its name), or None."""
    parts = stored()
    return None if parts is None else parts.get(name)


def store(parts: dict[str, Any], k: str) -> bool:
    """Write the compiled copy of files whose key was `k` (computed before they were read);
    False when it was not written."""
    import json
    import tempfile

    try:
        path = _path(k)
        if path is None:
            return False
        d = os.path.dirname(path)
        if inside_analysed(d, _protected):
            return False
        os.makedirs(d, exist_ok=True)
        # the keys in their order, not sorted: the order of the files' mappings is kept (cause order, ...)
        text = json.dumps({"format": FORMAT, "key": k, "parts": parts})
        fd, tmp = tempfile.mkstemp(prefix=".rules-", suffix=".tmp", dir=d)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        _prune(d, path)
    except (OSError, ValueError, TypeError):
        return False
    return True


def _ours(name: str) -> bool:
    """A file name logsleuth writes here: `rules-` + the 32 hex digits of a key + `.json`
    (LOGSLEUTH_RULES_CACHE may name a directory that holds other files: those are never touched)."""
    mid = name[len("rules-"):-len(".json")]
    return name.startswith("rules-") and name.endswith(".json") and len(mid) == 32 and all(c in "0123456789abcdef" for c in mid)


def _prune(d: str, keep: str) -> None:
    """Remove the oldest compiled copies beyond KEEP (copies of other versions of the files)."""
    try:
        copies = [e for e in os.scandir(d) if _ours(e.name) and e.path != keep]
        copies.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for e in copies[KEEP - 1:]:
            os.unlink(e.path)
    except OSError:
        pass
