"""A progress line on stderr: done / total, rate, ETA, for each phase of a scan that can take
more than a second (analysing runs, drawing plots, writing reports).  Drawn only on a
terminal; while nothing finishes (one very large file being read) the line still shows the
time spent, redrawn every second."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

# every write of a progress line holds this lock; a fork (the process pools) waits for a write in
# progress, so no worker starts with stderr's buffer locked by the ticker thread
_WRITING = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_WRITING.acquire, after_in_parent=_WRITING.release, after_in_child=_WRITING.release)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def progress_text(done: int, total: int, elapsed: float, cached: int = 0, width: int = 24, what: str = "runs") -> str:
    """`[#####.....]  412/2000 runs  38.1 runs/s  ETA 0:41` (rate and ETA from the items done
    now, not those served from the cache)."""
    frac = done / total if total else 1.0
    fill = int(round(frac * width))
    bar = "#" * fill + "." * (width - fill)
    fresh = done - cached
    rate = fresh / elapsed if elapsed > 0 else 0.0
    eta = _clock((total - done) / rate) if rate > 0 and done < total else "-:--"
    extra = f" ({cached} cached)" if cached else ""
    return f"[{bar}] {done:>{len(str(total))}}/{total} {what}{extra}  {rate:.1f} {what}/s  ETA {eta}"


class Progress:
    """Call `update(n)` as items finish and `close()` at the end; silent unless `enabled`.
    `what` names the items (runs, plots, reports); `tick` seconds without an update redraw the
    line with the time spent (0: never)."""

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None, min_interval: float = 0.1,
                 what: str = "runs", tick: float = 1.0):
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.done = 0
        self.cached = 0
        self.what = what
        self.start = time.monotonic()
        self.last = 0.0
        self.min_interval = min_interval
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if self.enabled and tick > 0:
            self._ticker = threading.Thread(target=self._tick, args=(tick,), daemon=True, name="logsleuth-progress")
            self._ticker.start()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            now = time.monotonic()
            if now - self.last >= every:
                self._draw(now, waiting=True)

    def _draw(self, now: float, waiting: bool = False) -> None:
        text = progress_text(self.done, self.total, now - self.start, self.cached, what=self.what)
        if waiting:
            text += f"  ({_clock(now - self.start)} so far)"
        with _WRITING:
            if self._stop.is_set():
                return
            self.last = now
            self.stream.write("\r" + text + "\x1b[K")
            self.stream.flush()

    def skip(self, n: int) -> None:
        """`n` items served from the cache."""
        self.cached += n
        self.update(n)

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= self.min_interval or self.done >= self.total:
            self._draw(now)

    def close(self) -> None:
        if not self.enabled:
            return
        with _WRITING:
            self._stop.set()
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        if self._ticker is not None:
            self._ticker.join(timeout=2)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
