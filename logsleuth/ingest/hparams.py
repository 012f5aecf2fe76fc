"""Hyperparameters found beside the logs: Lightning hparams.yaml, YOLO opt.yaml/args.yaml,
W&B config.yaml, HF training_args.json / config.json.

A YAML file of `name: value` lines only, each value a plain number, true/false/null or a word
(what Lightning writes for flat hyperparameters) is read by `flat_yaml`, to the data PyYAML
gives (a test checks it against PyYAML); anything else is read by PyYAML, imported then (its
import is ~9 ms, more than reading such a file)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from .discover import HPARAM_FILES

__all__ = ["HPARAM_FILES", "flat_yaml", "read_hparams_file"]


@lru_cache(maxsize=1)
def _tolerant_loader() -> type:
    """A safe loader that reads Python-specific tags (tuples, objects) as plain data."""
    import yaml

    class _TolerantLoader(yaml.SafeLoader):
        pass

    def _plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        assert isinstance(node, yaml.ScalarNode), "a YAML node is a mapping, a sequence or a scalar"
        return loader.construct_scalar(node)

    _TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)
    _TolerantLoader.add_multi_constructor("!", _plain)
    return _TolerantLoader


# `name: value` with a value that YAML 1.1 (PyYAML) reads without doubt: a decimal int without
# leading zeros, a float with digits on both sides of its dot (and a signed exponent, as
# yaml.dump writes 1.0e-05), true/false, null, or a word that starts with a letter, `_` or `/`
_FLAT_LINE = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*):[ ]+"
    r"(?:(?P<int>-?(?:0|[1-9][0-9]*))|(?P<float>-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+][0-9]+)?)"
    r"|(?P<word>[A-Za-z_/][A-Za-z0-9_./-]*))[ ]*")
# words YAML 1.1 reads as booleans or null, in any case (declined unless written as below)
_SPECIAL_WORDS = {"yes", "no", "true", "false", "on", "off", "null"}
_CONSTANTS = {"true": True, "false": False, "True": True, "False": False, "null": None, "Null": None, "NULL": None}


def flat_yaml(text: str) -> dict[str, Any] | None:
    """The mapping of a YAML text of `name: value` lines only (see _FLAT_LINE), as PyYAML's safe
    loader reads it; None for anything else (nesting, quotes, comments, tags, other scalars)."""
    out: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line.strip():
            continue
        m = _FLAT_LINE.fullmatch(line)
        if m is None or m.group(1).lower() in _SPECIAL_WORDS:
            return None
        if m.group("int") is not None:
            out[m.group(1)] = int(m.group("int"))
        elif m.group("float") is not None:
            out[m.group(1)] = float(m.group("float"))
        else:
            word = m.group("word")
            if word in _CONSTANTS:
                out[m.group(1)] = _CONSTANTS[word]
            elif word.lower() in _SPECIAL_WORDS:
                return None
            else:
                out[m.group(1)] = word
    return out or None


def _scalars(obj: Any, parent: str = "", depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if depth > 8 or not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        key = f"{parent}.{k}" if parent else str(k)
        if isinstance(v, dict):
            if set(v) >= {"value"} and not isinstance(v["value"], (dict, list)):  # W&B config.yaml
                out[key] = v["value"]
            else:
                out.update(_scalars(v, key, depth + 1))
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[key] = v
    return out


def read_hparams_file(path: str) -> tuple[dict[str, Any], list[str]]:
    """Scalar hyperparameters of one file; a warning instead of an exception on bad content."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            text = fh.read(1_000_000)
    except OSError as exc:
        return {}, [f"{path}: cannot read hyperparameters: {exc.strerror or exc}"]
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return {}, [f"{path}: hyperparameters not readable ({type(exc).__name__}); ignored"]
    else:
        data = flat_yaml(text)
        if data is None:
            import yaml

            try:
                data = yaml.load(text, Loader=_tolerant_loader())
            except (yaml.YAMLError, ValueError, RecursionError) as exc:
                return {}, [f"{path}: hyperparameters not readable ({type(exc).__name__}); ignored"]
    if not isinstance(data, dict):
        return {}, []
    return _scalars(data), []
