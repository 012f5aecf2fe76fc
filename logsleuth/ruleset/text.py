"""The rule set's sentences: a finding's evidence from its rule's message template, and
conditions and cause entries as a reader says them (docs, `rules show`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Evidence
from .schema import DEFAULT_CAUSE_WEIGHT

_OP_TEXT = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "ne": "!=", "in": "in"}


def condition_text(cond: Any) -> str:
    """`{measure: trend.onset_frac, lt: 0.2}` as `trend.onset_frac < 0.2`."""
    parts = []
    for c in cond if isinstance(cond, list) else [cond]:
        subject = c.get("measure") or c.get("hparam")
        parts += [f"{subject} {_OP_TEXT[op]} {str(c[op]).lower() if isinstance(c[op], bool) else c[op]}"
                  for op in _OP_TEXT if op in c]
    return " and ".join(parts)


def cause_text(cause: Mapping[str, Any]) -> str:
    """A cause entry as a reader says it: `lr_too_high 0.85 if trend.onset_frac < 0.2, else 0.5`."""
    text = f"{cause['id']} {cause.get('weight', DEFAULT_CAUSE_WEIGHT)}"
    if "when" in cause:
        text += f" if {condition_text(cause['when'])}"
        if "otherwise" in cause:
            text += f", else {cause['otherwise']}"
    return text


def finding_message(message: str | None, results: Mapping[str, Evidence], positive: list[Evidence]) -> str:
    """A finding's evidence: the rule's `message` with `{clause.measure}` filled in, else the
    sentences of the clauses that fired."""
    if message:
        values: dict[str, Any] = {}
        for n, ev in results.items():
            values[f"{n}.text"] = ev.text
            values[f"{n}.metric"] = ev.metric
            for k, v in ev.measures.items():
                values[f"{n}.{k}"] = v
        try:
            return message.format_map(_Flat(values))
        except (ValueError, KeyError, IndexError, AttributeError):
            pass
    return "; ".join(e.text for e in positive if e.text)


class _Flat(dict):
    """format_map helper: `{clause.measure}` looks up the flat key."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__()
        self._values = values  # not `values`: that would shadow dict.values()

    def __missing__(self, key: str) -> Any:
        return _Obj(key, self._values)


class _Obj:
    def __init__(self, prefix: str, values: dict[str, Any]) -> None:
        self.prefix, self.values = prefix, values

    def __getattr__(self, name: str) -> Any:
        return self.values.get(f"{self.prefix}.{name}", "?")
