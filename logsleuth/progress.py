"""A progress line on stderr: runs done / total, rate, ETA.  Drawn only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def progress_text(done: int, total: int, elapsed: float, cached: int = 0, width: int = 24) -> str:
    """`[#####.....]  412/2000 runs  38.1 runs/s  ETA 0:41` (rate and ETA from the runs analysed
    now, not those served from the cache)."""
    frac = done / total if total else 1.0
    fill = int(round(frac * width))
    bar = "#" * fill + "." * (width - fill)
    fresh = done - cached
    rate = fresh / elapsed if elapsed > 0 else 0.0
    eta = _clock((total - done) / rate) if rate > 0 and done < total else "-:--"
    extra = f" ({cached} cached)" if cached else ""
    return f"[{bar}] {done:>{len(str(total))}}/{total} runs{extra}  {rate:.1f} runs/s  ETA {eta}"


class Progress:
    """Call `update(n)` as runs finish and `close()` at the end; silent unless `enabled`."""

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None, min_interval: float = 0.1):
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.done = 0
        self.cached = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.min_interval = min_interval

    def skip(self, n: int) -> None:
        """`n` runs served from the cache."""
        self.cached += n
        self.update(n)

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= self.min_interval or self.done >= self.total:
            self.last = now
            self.stream.write("\r" + progress_text(self.done, self.total, now - self.start, self.cached) + "\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
