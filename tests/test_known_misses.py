"""Known misses on the shared fault corpus, recorded rather than deleted (strict xfail: when a
change fixes one, this test fails and the entry must go)."""

from __future__ import annotations

import os

import pytest
import yaml

from logsleuth.ingest import discover
from logsleuth.pipeline import analyze_source

from conftest import FAULT_CORPUS

KNOWN_MISSES = {
    "over_regularization_01": "AdamW weight decay 5.0 (not logged) gives train ~ val at 88% accuracy: with no "
                              "reference for what this model could reach, nothing the run shows is an anomaly",
}


def _first_cause(d):
    runs = [analyze_source(s).diagnosis for s in discover([d]).runs]
    worst = max(runs, key=lambda x: ({"healthy": 0, "warning": 1, "critical": 2}[x.health], x.causes[0].score))
    return worst.causes[0].id


@pytest.mark.skipif(not os.path.isdir(FAULT_CORPUS), reason="shared fault_corpus not present")
@pytest.mark.parametrize("run", sorted(KNOWN_MISSES))
def test_known_miss(run, request):
    request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[run]))
    d = os.path.join(FAULT_CORPUS, run)
    with open(os.path.join(d, "label.yaml")) as fh:
        lab = yaml.safe_load(fh)
    assert _first_cause(d) in [lab["cause"], *(lab.get("also_acceptable") or [])]
