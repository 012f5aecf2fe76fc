"""Detectors: pure functions from series to evidence, registered by name."""

from __future__ import annotations

from . import generalization, generative, instability, reference, returns, scalars, trend  # noqa: F401  (registration)
from .base import REGISTRY, DetectorSpec

__all__ = ["REGISTRY", "DetectorSpec"]
