"""The detectors' toolkit in one import, split by job: `registry` (the contract, registration,
fire/quiet/cannot), `confidence` (floors and the margin map), `curves` (windows, smoothing,
levels, noise) and `wording` (numbers in sentences).  Every detector is a pure function
`(inputs..., *, params, ctx) -> Evidence`."""

from __future__ import annotations

from .confidence import *  # noqa: F403
from .curves import *  # noqa: F403
from .registry import *  # noqa: F403
from .wording import *  # noqa: F403
