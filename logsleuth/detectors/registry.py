"""The detector registry: a detector's contract (inputs, parameters from rules/parameters.yaml,
measures), its registration, and the three ways its evidence ends (fire, quiet, cannot judge)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..model import Evidence
from ..params import PARAMETERS_FILE, declarations


@dataclass(frozen=True)
class DetectorSpec:
    """A detector's contract: the series it reads (in order; `?` optional, `*` a list), its
    parameters with their defaults, the measures its evidence carries (name -> meaning), the
    symptom it sees, and its docstring (what it fires on)."""
    name: str
    func: Callable[..., Evidence]
    inputs: tuple[str, ...]  # names of the series arguments, in order ("series", "train", "val", ...)
    params: dict[str, Any]
    symptom: str
    doc: str
    measures: dict[str, str] = field(default_factory=dict)
    param_docs: dict[str, str] = field(default_factory=dict)  # parameter -> what it means and why its value
    param_units: dict[str, str] = field(default_factory=dict)  # parameter -> its unit (rules/parameters.yaml)

    @property
    def input_names(self) -> tuple[str, ...]:
        """The inputs without their `?` / `*` markers: the keys a rule's `series:` mapping uses."""
        return tuple(i.rstrip("?*") for i in self.inputs)


REGISTRY: dict[str, DetectorSpec] = {}
# detectors once named after a cause id (one id meant a detector, a symptom and a cause): rule
# files that use the old name still load, the clause keeping the old name as its own
RENAMED = {"overfitting": "val_rise", "exploding_gradients": "grad_growth", "vanishing_gradients": "grad_collapse"}


def detector(name: str, inputs: tuple[str, ...], symptom: str, *, measures: dict[str, str]) -> Callable:
    """Register a detector under `name` with its inputs and declared measures.  Its parameters are
    the keyword-only arguments of its signature (typed, without defaults); each must be declared
    once in rules/parameters.yaml (value, unit, reason), and a declaration without its detector
    argument is refused too.  The registered function fills in the declared values, so a direct
    call needs only the series."""

    def wrap(func: Callable[..., Evidence]) -> Callable[..., Evidence]:
        names = [p.name for p in inspect.signature(func).parameters.values()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "ctx"]
        decls = declarations()
        missing = [n for n in names if f"{name}.{n}" not in decls]
        unused = [d.name for d in decls.values() if d.detector == name and d.name not in names]
        if missing or unused:
            raise TypeError(f"detector {name!r}: parameters not declared in {PARAMETERS_FILE}: {missing}; "
                            f"declared but not taken: {unused}")
        defaults = {n: decls[f"{name}.{n}"].default for n in names}

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Evidence:
            return func(*args, **{**defaults, **kwargs})

        REGISTRY[name] = DetectorSpec(name, call, inputs, defaults, symptom, (func.__doc__ or "").strip(), dict(measures),
                                      {n: decls[f"{name}.{n}"].reason for n in names},
                                      {n: decls[f"{name}.{n}"].unit for n in names})
        return call

    return wrap


def quiet(name: str, metric: str, text: str = "", /, **measures: Any) -> Evidence:
    return Evidence(detector=name, metric=metric, fired=False, measures=measures, text=text)


def cannot(name: str, metric: str, reason: str) -> Evidence:
    return Evidence(detector=name, metric=metric, fired=False, cannot_judge=reason, text=reason)


def fire(name: str, metric: str, confidence: float, text: str, start: float | None = None,
         end: float | None = None, /, **measures: Any) -> Evidence:
    return Evidence(detector=name, metric=metric, fired=True, confidence=float(min(1.0, max(0.0, confidence))),
                    start_step=None if start is None else float(start), end_step=None if end is None else float(end),
                    measures=measures, text=text)
