"""Where the built-in rule set lives (top-level rules/, shipped as logsleuth._rules)."""

from __future__ import annotations

from pathlib import Path


def builtin_rules_dir() -> Path:
    """The directory of the built-in YAML rule files."""
    try:
        from importlib.resources import files

        p = Path(str(files("logsleuth._rules")))
        if (p / "roles.yaml").exists():
            return p
    except (ImportError, ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[1] / "rules"
