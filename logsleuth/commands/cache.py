"""`logsleuth cache` (info, clear, prune): the diagnosis cache's file, its size, its age."""

from __future__ import annotations

import os
import time

import click

from .common import cache_option, fail


@click.group()
def cache() -> None:
    """Where the diagnosis cache is, how big it is; clear it."""


@cache.command("info")
@cache_option()
def cache_info(cache_path) -> None:
    """Path, number of cached runs and size of the cache."""
    from ..cache import DiagnosisCache, default_path

    path = cache_path or default_path()
    if not os.path.exists(path):
        click.echo(f"{path}: no cache yet")
        return
    try:
        c = DiagnosisCache(path)
        st = c.stats()
        c.close()
    except Exception as exc:
        fail(f"{path}: unreadable cache ({exc}); delete the file to start again")
    ages = ""
    if st["entries"]:
        now = time.time()
        ages = f"; oldest entry {_age(now - st['oldest'])} old, newest {_age(now - st['newest'])}"
    reports = f" and {st['reports']} stored report(s) of whole scans" if st["reports"] else ""
    click.echo(f"{st['path']}: {st['entries']} run(s){reports}, {os.path.getsize(path) / 1e6:.1f} MB on disk{ages}")


_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNITS_B = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}
# the bound `cache prune` keeps the cache under unless told otherwise: about 150,000 runs' diagnoses
# (plot curves take more), small beside the logs it stands for
DEFAULT_CACHE_MAX = "500MB"


def _age(seconds: float) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= n:
            return f"{seconds / n:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def _quantity(text: str, units: dict[str, int], what: str, example: str) -> float:
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text or "")
    if not m or m.group(2).lower() not in units:
        raise click.BadParameter(f"{text!r} is not a {what} like {example} (units: {', '.join(k for k in units if k)})")
    return float(m.group(1)) * units[m.group(2).lower()]


@cache.command("clear")
@cache_option()
def cache_clear(cache_path) -> None:
    """Remove every cached diagnosis (the next scan re-reads every run)."""
    from ..cache import CacheError, check_cache_file, default_path

    path = cache_path or default_path()
    try:
        check_cache_file(path)
    except CacheError as exc:
        fail(str(exc))
    removed = 0
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
            removed += 1
    click.echo(f"{path}: cleared" if removed else f"{path}: no cache to clear")


@cache.command("prune")
@cache_option()
@click.option("--older-than", metavar="AGE", default=None, help="Drop entries stored longer ago than AGE (30d, 12h, 2w).")
@click.option("--max-size", metavar="SIZE", default=DEFAULT_CACHE_MAX, show_default=True,
              help="Then drop the oldest entries until the rest take at most SIZE (300MB, 2GB).")
def cache_prune(cache_path, older_than, max_size) -> None:
    """Drop old cache entries: those older than --older-than, then the oldest until the cache
    is under --max-size (the runs they stood for are simply analysed again next time)."""
    from ..cache import CacheError, DiagnosisCache, check_cache_file, default_path

    seconds = _quantity(older_than, _UNITS_S, "duration", "30d") if older_than is not None else None
    limit = int(_quantity(max_size, _UNITS_B, "size", "500MB"))
    path = cache_path or default_path()
    if not os.path.exists(path):
        click.echo(f"{path}: no cache yet")
        return
    try:
        check_cache_file(path)
        c = DiagnosisCache(path)
        before = c.stats()
        c.prune(seconds, limit)
        left = c.stats()
        c.close()
    except CacheError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"{path}: unreadable cache ({exc}); delete the file to start again")
    reports = before["reports"] - left["reports"]
    also = f" and {reports} stored report(s)" if reports else ""
    click.echo(f"{path}: dropped {before['entries'] - left['entries']} run(s){also}; {left['entries']} left "
               f"({left['bytes'] / 1e6:.1f} MB of entries)")
