"""The committed sample of the generated corpus (tests/data/gen_sample/, written by
scripts/make_corpus.py --sample): labels valid against the taxonomy, every kind, cadence
and format present, a healthy share like the full corpus's, index.csv in step with the
label files; and the generator's determinism (needs torch: skipped without it)."""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, SHARED

SAMPLE = os.path.join(REPO, "tests", "data", "gen_sample")
KINDS = {"classification", "binary", "regression", "language_model", "fine_tune", "detection", "contrastive", "gan", "rl"}
CADENCES = {"step", "every_n", "epoch", "sparse_eval"}
FORMATS = {"tensorboard", "lightning_csv", "keras_csv", "hf_trainer_state", "jsonl", "csv", "text"}
LOSS_KINDS = {"ce", "bce", "mse", "mae", "huber", "lm_ce", "multi", "infonce", "gan", "rl"}
KEYS = ("run", "format", "cause", "also_acceptable", "symptoms", "notes", "kind", "n_classes", "loss_kind", "cadence",
        "flavor", "model", "optimizer", "lr", "schedule", "batch_size", "steps", "fine_tune", "seed", "effect")


def _taxonomy() -> tuple[set[str], set[str]]:
    """(symptom ids, cause ids): the shared taxonomy when it is here, else the rule set's copy."""
    shared = os.path.join(SHARED, "taxonomy.yaml")
    if os.path.exists(shared):
        with open(shared, encoding="utf-8") as fh:
            t = yaml.safe_load(fh)
        return set(t["symptoms"]), set(t["causes"])
    with open(os.path.join(REPO, "rules", "taxonomy.yaml"), encoding="utf-8") as fh:
        symptoms = set(yaml.safe_load(fh)["symptoms"])
    with open(os.path.join(REPO, "rules", "causes.yaml"), encoding="utf-8") as fh:
        causes = set(yaml.safe_load(fh)["causes"])
    return symptoms, causes


def _labels() -> dict[str, dict]:
    out = {}
    for name in sorted(os.listdir(SAMPLE)):
        p = os.path.join(SAMPLE, name, "label.yaml")
        if os.path.exists(p):
            with open(p, encoding="utf-8") as fh:
                out[name] = yaml.safe_load(fh)
    return out


LABELS = _labels()


def test_sample_is_there_and_small():
    assert len(LABELS) >= 80
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(SAMPLE) for f in fs)
    assert total <= 4 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(LABELS))
def test_label_is_valid(name):
    symptoms, causes = _taxonomy()
    lab = LABELS[name]
    assert all(k in lab for k in KEYS), [k for k in KEYS if k not in lab]
    assert lab["run"] == name
    assert lab["cause"] in causes
    assert set(lab["also_acceptable"]) <= causes - {"healthy", lab["cause"]}
    assert set(lab["symptoms"]) <= symptoms
    assert lab["kind"] in KINDS and lab["cadence"] in CADENCES and lab["format"] in FORMATS
    assert lab["loss_kind"] in LOSS_KINDS
    assert lab["n_classes"] is None or (isinstance(lab["n_classes"], int) and lab["n_classes"] >= 2)
    assert isinstance(lab["fine_tune"], bool) and lab["fine_tune"] == (lab["kind"] == "fine_tune")
    assert (lab["cause"] == "healthy") == (not lab["effect"])  # faults carry what was measured vs the twin
    for f in lab["files"]:
        assert os.path.isfile(os.path.join(SAMPLE, f)), f


def test_every_kind_cadence_and_format_is_present():
    assert {lab["kind"] for lab in LABELS.values()} == KINDS
    assert {lab["cadence"] for lab in LABELS.values()} == CADENCES
    assert {lab["format"] for lab in LABELS.values()} == FORMATS
    for kind in KINDS:
        causes = {lab["cause"] for lab in LABELS.values() if lab["kind"] == kind}
        assert "healthy" in causes and len(causes) >= 2, kind


def test_healthy_share():
    share = sum(lab["cause"] == "healthy" for lab in LABELS.values()) / len(LABELS)
    assert 0.2 <= share <= 0.45


def test_twins_are_healthy_runs_of_the_sample():
    for lab in LABELS.values():
        if lab.get("twin"):
            assert LABELS[lab["twin"]]["cause"] == "healthy"
            assert LABELS[lab["twin"]]["kind"] == lab["kind"]


def test_index_matches_labels():
    with open(os.path.join(SAMPLE, "index.csv"), encoding="utf-8", newline="") as fh:
        rows = {r["run"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(LABELS)
    for name, lab in LABELS.items():
        r = rows[name]
        for key in ("format", "flavor", "cause", "kind", "loss_kind", "cadence", "optimizer", "schedule"):
            assert r[key] == str(lab[key]), (name, key)
        for key in ("batch_size", "steps", "seed"):
            assert int(r[key]) == lab[key], (name, key)
        assert float(r["lr"]) == lab["lr"]
        assert (r["also_acceptable"].split(";") if r["also_acceptable"] else []) == lab["also_acceptable"]
        assert (r["symptoms"].split(";") if r["symptoms"] else []) == lab["symptoms"]
        assert (int(r["n_classes"]) if r["n_classes"] else None) == lab["n_classes"]
        assert json.loads(r["effect"]) == lab["effect"]
        assert r["files"].split(";") == lab["files"]


def _pick_runs() -> list[str]:
    """A short healthy run and a short faulty one whose twin is that run (cheap to retrain)."""
    faulty = sorted((lab for lab in LABELS.values() if lab.get("twin") and lab["kind"] in ("binary", "regression")),
                    key=lambda x: (x["steps"], x["run"]))
    lab = faulty[0]
    return [lab["twin"], lab["run"]]


def _regenerate(out: str, names: list[str]) -> None:
    cmd = [sys.executable, os.path.join(REPO, "scripts", "make_corpus.py"), "--sample", "--only", ",".join(names),
           "--out", out, "--jobs", "1", "--quiet"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)


def _files(root: str, names: list[str]) -> dict[str, bytes]:
    out = {}
    for n in names:
        for d, _, fs in os.walk(os.path.join(root, n)):
            for f in fs:
                p = os.path.join(d, f)
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, root)] = fh.read()
    return out


def test_regenerated_runs_are_byte_identical(tmp_path):
    """Two sample runs regenerated from the seed give the same bytes: compared with the
    committed files where the generator's torch and machine are the ones that wrote them
    (float kernels differ across CPUs and versions), else with a second regeneration."""
    torch = pytest.importorskip("torch")
    names = _pick_runs()
    _regenerate(str(tmp_path / "a"), names)
    with open(os.path.join(SAMPLE, "meta.yaml"), encoding="utf-8") as fh:
        gen = yaml.safe_load(fh)["generator"]
    if gen["torch"] == str(torch.__version__) and gen["machine"] == platform.machine():
        reference = _files(SAMPLE, names)
    else:
        _regenerate(str(tmp_path / "b"), names)
        reference = _files(str(tmp_path / "b"), names)
    assert _files(str(tmp_path / "a"), names) == reference
