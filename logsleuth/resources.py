"""Where the built-in rule set lives: `logsleuth/_rules/` in an installed wheel (the top-level
`rules/` folder, shipped as package data), `rules/` beside the package in a source checkout;
and the YAML loader its files and the user's are read with."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def builtin_rules_dir() -> Path:
    """The directory of the built-in YAML rule files."""
    for cand in (_HERE / "_rules", _HERE.parent / "rules"):
        if (cand / "roles.yaml").is_file():
            return cand
    raise FileNotFoundError(f"logsleuth's rule set is missing (looked in {_HERE / '_rules'} and {_HERE.parent / 'rules'})")


def safe_loader() -> type:
    """PyYAML's safe loader, libyaml's when present (the same values and safety, 10-15x faster).
    PyYAML is imported here, when a file is read: a process whose built-in rules come from their
    compiled copy (rulecache) and that reads no YAML of its own never imports it."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)
