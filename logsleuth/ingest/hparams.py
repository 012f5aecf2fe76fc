"""Hyperparameters found beside the logs: Lightning hparams.yaml, YOLO opt.yaml/args.yaml,
W&B config.yaml, HF training_args.json / config.json."""

from __future__ import annotations

import json
from typing import Any

import yaml

from .discover import HPARAM_FILES

__all__ = ["HPARAM_FILES", "read_hparams_file"]


class _TolerantLoader(yaml.SafeLoader):
    """A safe loader that reads Python-specific tags (tuples, objects) as plain data."""


def _plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    assert isinstance(node, yaml.ScalarNode), "a YAML node is a mapping, a sequence or a scalar"
    return loader.construct_scalar(node)


_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)
_TolerantLoader.add_multi_constructor("!", _plain)


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
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.load(text, Loader=_TolerantLoader)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        return {}, [f"{path}: hyperparameters not readable ({type(exc).__name__}); ignored"]
    if not isinstance(data, dict):
        return {}, []
    return _scalars(data), []
