"""Nothing is written inside the logs being analysed: the one test of whether a path lies in them."""

from __future__ import annotations

import os
from collections.abc import Sequence


def inside_analysed(path: str, roots: Sequence[str]) -> bool:
    """Whether writing `path` would write inside an analysed path: a directory given is
    protected with everything under it; a file given, only itself (its siblings are not part
    of it); a path that does not exist protects nothing beside itself."""
    real = os.path.realpath(os.path.abspath(path))
    for r in roots:
        rr = os.path.realpath(r)
        if real == rr or (os.path.isdir(rr) and real.startswith(rr.rstrip(os.sep) + os.sep)):
            return True
    return False
