"""Where the built-in rule set lives: `logsleuth/_rules/` in an installed wheel (the top-level
`rules/` folder, shipped as package data), `rules/` beside the package in a source checkout."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def builtin_rules_dir() -> Path:
    """The directory of the built-in YAML rule files."""
    for cand in (_HERE / "_rules", _HERE.parent / "rules"):
        if (cand / "roles.yaml").is_file():
            return cand
    raise FileNotFoundError(f"logsleuth's rule set is missing (looked in {_HERE / '_rules'} and {_HERE.parent / 'rules'})")
