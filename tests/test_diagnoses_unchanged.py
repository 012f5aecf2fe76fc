"""Diagnoses stay the same when only how they are computed changes (issue 29: bucketing before
smoothing, a vectorised rolling median, chunked readers).

A sample of runs — every run of sample_logs/, every third run of the real-runs reference set
and the seeded generators of tests/synth.py written in five formats, plus two long runs that
take the detectors' long-series paths — is diagnosed and compared with
tests/golden/diagnosis_sample.json, stored before the speed work.  Findings (rule, metric,
severity, steps, confidence, sentence) and ranked causes must match; on the two long runs,
whose 100k+ point validation curves are smoothed on bucket medians since, the same findings
and causes in the same order, confidences and scores within LONG_TOLERANCE.  A change on
purpose is stored again with LOGSLEUTH_UPDATE_GOLDEN=1 and explained in its commit.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from logsleuth.errors import InputError
from logsleuth.ingest import discover, load_runs
from logsleuth.model import Diagnosis, RunData
from logsleuth.pipeline import diagnose

import synth
import writers
from conftest import REPO

GOLDEN = os.path.join(REPO, "tests", "golden", "diagnosis_sample.json")
UPDATE = os.environ.get("LOGSLEUTH_UPDATE_GOLDEN") == "1"
DIGITS = 6  # confidences and scores compared to 6 decimals: exact up to float printing


def summary(d: Diagnosis) -> dict:
    return {
        "health": d.health,
        "findings": [[f.rule, f.metric, f.severity, f.start_step, f.end_step, round(f.confidence, DIGITS), f.evidence]
                     for f in d.symptoms],
        "causes": [[c.id, round(c.score, DIGITS)] for c in d.causes],
    }


def _write_synth(root: str) -> None:
    for i, (name, gen) in enumerate(sorted(synth.GENERATORS.items())):
        for seed in (i, 100 + i):
            c = gen(seed=seed)
            d = os.path.join(root, f"{name}_{seed}")
            kind = (i + seed) % 5
            writers.write_in_format(d, c, kind, hparams={"lr": 0.001})


def long_run(n: int, val_every: int, seed: int, overfit: bool) -> RunData:
    """A long run (training loss, grad norm, lr every step; validation every `val_every` steps)
    whose validation turns up at 60% when `overfit`: the long-series paths of the detectors."""
    rng = np.random.default_rng(seed)
    st = np.arange(1, n + 1, dtype=float)
    base = 0.05 + 2.25 * np.exp(-st / (n / 8))
    loss = base * np.exp(rng.normal(0, 0.2, n))
    vst = st[::val_every]
    val = np.interp(vst, st, base) * 1.2 * np.exp(rng.normal(0, 0.05, vst.size))
    if overfit:
        val = val * (1 + 2.0 * np.clip(vst / n - 0.6, 0, None))
    parts = {"train/loss": (st, loss), "train/grad_norm": (st, 0.5 * np.exp(rng.normal(0, 0.3, n))),
             "lr": (st, np.full(n, 1e-3)), "val/loss": (vst, val), "val/acc": (vst, 1 - val / 3)}
    table = pd.concat([pd.DataFrame({"metric": k, "step": s, "value": v, "wall_time": np.nan})
                       for k, (s, v) in parts.items()], ignore_index=True)
    table["metric"] = table["metric"].astype("category")
    return RunData(name=f"long_{n}_{val_every}_{int(overfit)}", path=".", formats=("synthetic",), table=table)


def sample_diagnoses(tmp: str) -> dict[str, dict]:
    synth_root = os.path.join(tmp, "synth")
    _write_synth(synth_root)
    real = os.path.join(REPO, "tests", "data", "real_runs")
    real_dirs = sorted(os.path.join(real, k, r) for k in sorted(os.listdir(real)) for r in os.listdir(os.path.join(real, k)))
    out: dict[str, dict] = {}
    for label, roots in (("sample_logs", [os.path.join(REPO, "sample_logs")]), ("real_runs", real_dirs[::3]),
                         ("synth", [synth_root])):
        for root in roots:
            for src in discover([root]).runs:
                prefix = os.path.relpath(src.directory, os.path.dirname(root)).replace(os.sep, "/")
                try:
                    runs = load_runs(src)
                except InputError as exc:
                    out[f"{label}/{prefix}"] = {"error": str(exc).replace(REPO, "").replace(tmp, "")}
                    continue
                for run in runs:
                    out[f"{label}/{prefix}: {run.name.rsplit('/', 1)[-1]}"] = summary(diagnose(run))
    for n, every, overfit in ((200_000, 1, True), (120_000, 2, False)):
        run = long_run(n, every, seed=n, overfit=overfit)
        out[f"long/{run.name}"] = summary(diagnose(run))
    return out


LONG_TOLERANCE = 0.005  # long runs: their validation curve is smoothed on bucket medians now


def _close(got: dict, want: dict) -> bool:
    """The same findings (rule, metric, severity, steps) and causes in the same order, with
    confidences and scores within LONG_TOLERANCE (the sentence may differ in its last digit)."""
    if got.get("health") != want.get("health") or len(got["findings"]) != len(want["findings"]) \
            or [c[0] for c in got["causes"]] != [c[0] for c in want["causes"]]:
        return False
    same_findings = all(g[:5] == w[:5] and abs(g[5] - w[5]) <= LONG_TOLERANCE
                        for g, w in zip(got["findings"], want["findings"]))
    return same_findings and all(abs(g[1] - w[1]) <= LONG_TOLERANCE for g, w in zip(got["causes"], want["causes"]))


def test_diagnoses_of_the_sample_are_unchanged(tmp_path):
    got = json.loads(json.dumps(sample_diagnoses(str(tmp_path))))
    if UPDATE or not os.path.exists(GOLDEN):
        with open(GOLDEN, "w", encoding="utf-8") as fh:
            json.dump(got, fh, indent=1, sort_keys=True)
            fh.write("\n")
    with open(GOLDEN, encoding="utf-8") as fh:
        want = json.load(fh)
    assert sorted(got) == sorted(want), "the sample's runs changed"
    changed = [k for k in want if not (_close(got[k], want[k]) if k.startswith("long/") else got[k] == want[k])]
    assert not changed, f"{len(changed)} diagnoses changed, first {changed[0]}: {got[changed[0]]} != {want[changed[0]]}"
