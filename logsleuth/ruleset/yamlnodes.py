"""A strict YAML reader that keeps line numbers.

It walks `yaml.compose()` nodes (safe: no tags are constructed as objects) and refuses
duplicate keys and YAML 1.1 booleans written as yes/no/on/off; `1e-3` is read as the number
it looks like (PyYAML would read it as a string).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import RuleError
from ..resources import safe_loader

if TYPE_CHECKING:
    import yaml

_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")
_YAML11_BOOL = {"yes", "no", "on", "off", "y", "n"}


class LDict(dict):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LList(list):
    line: int = 0


def load_yaml(text: str, path: str) -> Any:
    """Plain Python data from YAML text, with line numbers on mappings and lists."""
    import yaml

    try:
        node = yaml.compose(text, Loader=safe_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise RuleError([f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from exc
    if node is None:
        return None
    problems: list[str] = []
    data = _build(node, path, problems)
    if problems:
        raise RuleError(problems)
    return data


def _build(node: yaml.Node, path: str, problems: list[str]) -> Any:
    import yaml

    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = LDict()
        out.line = line
        out.key_lines = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                problems.append(f"{path}:{knode.start_mark.line + 1}: mapping keys must be plain words")
                continue
            key = str(knode.value)
            if key in out:
                problems.append(f"{path}:{knode.start_mark.line + 1}: duplicate key {key!r} (first at line {out.key_lines[key]})")
                continue
            out.key_lines[key] = knode.start_mark.line + 1
            out[key] = _build(vnode, path, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        lst = LList(_build(v, path, problems) for v in node.value)
        lst.line = line
        return lst
    assert isinstance(node, yaml.ScalarNode), "a YAML node is a mapping, a sequence or a scalar"
    return _scalar(node, path, problems)


def _scalar(node: yaml.ScalarNode, path: str, problems: list[str]) -> Any:
    raw = node.value
    if node.style in ("'", '"'):
        return raw
    if raw.lower() in _YAML11_BOOL:
        problems.append(f"{path}:{node.start_mark.line + 1}: ambiguous value {raw!r}; write true/false, or quote it")
        return raw
    if _FLOAT.match(raw):
        return float(raw)
    if node.tag == "tag:yaml.org,2002:str":  # a plain word (most scalars of a rule file): no constructor needed
        return raw
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        return raw
    finally:
        loader.dispose()
