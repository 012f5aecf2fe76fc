"""The deciding numbers of the detectors, declared once as data (`rules/parameters.yaml`), and
the fitted values `logsleuth calibrate` writes beside them (`rules/calibration.yaml`).

A detector's signature names its parameters (keyword-only, typed, without defaults); their
values come from here.  Precedence, lowest first: the declared `default`, the calibration's
fitted value, a rule clause's `params:`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import rulecache
from .resources import builtin_rules_dir, safe_loader

PARAMETERS_FILE = "parameters.yaml"
CALIBRATION_FILE = "calibration.yaml"


@dataclass(frozen=True)
class ParamDecl:
    """One declared parameter: `detector.name`, its value, unit and why that value."""
    detector: str
    name: str
    default: Any
    unit: str
    reason: str

    @property
    def key(self) -> str:
        return f"{self.detector}.{self.name}"


class ParameterFileError(ValueError):
    """A parameters or calibration file that does not say what it must (named in the message)."""


def _read(path: Path) -> dict:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=safe_loader()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterFileError(f"{path}: cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise ParameterFileError(f"{path}: expected a mapping at the top")
    return data


def _read_builtin(name: str) -> dict:
    """A built-in parameters or calibration file: from the compiled copy of the rule set, else read."""
    data = rulecache.part(name)
    return data if isinstance(data, dict) else _read(builtin_rules_dir() / name)


def parse_declarations(data: dict, where: str) -> dict[str, ParamDecl]:
    """`parameters:` of a parameters file -> declarations by `detector.name` key."""
    out: dict[str, ParamDecl] = {}
    for key, entry in (data.get("parameters") or {}).items():
        if not isinstance(entry, dict) or "default" not in entry or not entry.get("reason"):
            raise ParameterFileError(f"{where}: {key}: needs `default` and `reason`")
        if isinstance(entry["default"], str):
            # YAML 1.1 reads `1e-5` as text: the number needs its dot (`1.0e-5`)
            raise ParameterFileError(f"{where}: {key}: default {entry['default']!r} is text, not a number "
                                     "(write exponents with a dot: 1.0e-5)")
        det, _, name = str(key).partition(".")
        if not name:
            raise ParameterFileError(f"{where}: {key}: parameters are named `detector.parameter`")
        out[key] = ParamDecl(det, name, entry["default"], str(entry.get("unit") or ""), " ".join(str(entry["reason"]).split()))
    return out


@functools.lru_cache(maxsize=1)
def declarations() -> dict[str, ParamDecl]:
    """The built-in declarations (read once per process)."""
    path = builtin_rules_dir() / PARAMETERS_FILE
    return parse_declarations(_read_builtin(PARAMETERS_FILE), str(path))


def same_type(default: Any, value: Any) -> bool:
    """A value may replace a default of the same kind: a bool for a bool, a number for a number
    (a whole number where the default is an int)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, (int, float)) and float(value).is_integer()
    if isinstance(default, float) or default is None:
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def parse_calibration(data: dict, where: str, decls: dict[str, ParamDecl]) -> dict[str, dict[str, Any]]:
    """`parameters:` of a calibration file -> fitted values by detector, checked against the declarations."""
    fitted: dict[str, dict[str, Any]] = {}
    for key, value in (data.get("parameters") or {}).items():
        decl = decls.get(key)
        if decl is None:
            raise ParameterFileError(f"{where}: {key}: no such parameter (see {PARAMETERS_FILE})")
        if not same_type(decl.default, value):
            raise ParameterFileError(f"{where}: {key}: {value!r} is not of the declared kind ({decl.default!r})")
        fitted.setdefault(decl.detector, {})[decl.name] = int(value) if isinstance(decl.default, int) and not isinstance(decl.default, bool) else value
    return fitted


def read_calibration(path: Path) -> dict:
    """A calibration file as data (empty when there is none)."""
    return _read(path) if path.is_file() else {}


@functools.lru_cache(maxsize=1)
def builtin_calibration() -> dict:
    if not (builtin_rules_dir() / CALIBRATION_FILE).is_file():
        return {}
    return _read_builtin(CALIBRATION_FILE)


def fitted_values(calibration: dict | None = None, where: str = CALIBRATION_FILE) -> dict[str, dict[str, Any]]:
    """Fitted parameter values by detector from a calibration (the built-in one by default)."""
    data = builtin_calibration() if calibration is None else calibration
    return parse_calibration(data, where, declarations())


def declaration_grids() -> dict[str, list[Any]]:
    """Parameters whose declaration carries a `fit:` grid (the values `logsleuth calibrate` tries),
    in declaration order."""
    path = builtin_rules_dir() / PARAMETERS_FILE
    out: dict[str, list[Any]] = {}
    for key, entry in (_read(path).get("parameters") or {}).items():
        grid = entry.get("fit") if isinstance(entry, dict) else None
        if grid:
            out[str(key)] = list(grid)
    return out
