"""The JSON report of CONTRACT.md (schema 1)."""

from __future__ import annotations

import json
from typing import Any

from .._version import __version__
from ..model import Analysis, Diagnosis, diagnosis_to_dict, report_number
from .common import overview_of

SCHEMA = 1


def run_dict(d: Diagnosis) -> dict[str, Any]:
    return diagnosis_to_dict(d)


def overview_dict(result: Analysis) -> dict[str, Any]:
    o = overview_of(result)
    return {
        "runs": o.runs,
        "health": o.health,
        "causes": o.causes,
        "order": list(o.order),
        "sweeps": [
            {"directory": s.directory, "runs": list(s.runs), "varying": list(s.varying), "seeds": list(s.seeds),
             "configs": [{"params": {k: report_number(v) for k, v in c.params}, "runs": list(c.runs),
                          "health": dict(c.health), "causes": dict(c.causes)} for c in s.configs],
             "statements": list(s.statements)}
            for s in o.sweeps
        ],
    }


def to_json_dict(result: Analysis) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "logsleuth_version": __version__,
        "runs": [run_dict(d) for d in sorted(result.diagnoses, key=lambda d: d.run)],
        "overview": overview_dict(result),
        "messages": list(result.messages),
    }


PRETTY_MAX_RUNS = 200


def to_json(result: Analysis) -> str:
    """Indented JSON; above PRETTY_MAX_RUNS runs each run (and the overview) is one compact line:
    the same data, written by the C encoder (Python's indenting encoder takes ~0.5 ms a run)."""
    doc = to_json_dict(result)
    if len(doc["runs"]) <= PRETTY_MAX_RUNS:
        return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    enc = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
    lines = ["{"]
    keys = list(doc)
    for i, k in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        if k == "runs":
            lines.append('  "runs": [')
            lines += [f"    {enc.encode(r)}{',' if j < len(doc['runs']) - 1 else ''}" for j, r in enumerate(doc["runs"])]
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {enc.encode(k)}: {enc.encode(doc[k])}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"
