"""The generator's notion of a healthy run: mixture tasks whose separability is set from the
accuracy they allow (not from a fixed sep, which makes 1,000 classes hopeless and 3 trivial),
and a health check that turns away under- and over-fitted twins (that part needs torch: skipped
without it)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "scripts"))

from corpus import data  # numpy only; measure and train need torch


@pytest.fixture
def gen():
    """The generator's health check and its History (skipped without torch)."""
    pytest.importorskip("torch")
    from corpus import measure
    from corpus.train import History
    return measure, History


@pytest.mark.parametrize("dim,classes,clusters", [(16, 3, 2), (16, 100, 1), (32, 300, 1)])
def test_separation_reaches_the_accuracy_asked_at_any_class_count(dim, classes, clusters):
    sep = data.separation_for(dim, classes, clusters, 0.85)
    # measured on other draws of centres and points than the bisection's
    acc = np.mean([data.nearest_centre_accuracy(dim, classes, sep, clusters, seed=s) for s in (5, 6)])
    assert abs(acc - 0.85) < 0.05


def test_more_classes_need_more_separation():
    assert data.separation_for(16, 3, 1, 0.9) < data.separation_for(16, 100, 1, 0.9)


def _history(History, val_acc: list[float], train_acc: list[float] | None = None):
    h = History(higher_is_better=False)
    h.train["loss"] = list(np.linspace(2.0, 0.5, 50))
    if train_acc is not None:
        h.train["acc"] = train_acc
    h.evals = [(i, {"val_loss": 2.0 - 0.1 * i, "val_acc": a}) for i, a in enumerate(val_acc)]
    h.initial = {"val_loss": 2.2}
    return h


CFG = {"kind": "classification", "n_classes": 100}


def test_accuracy_a_tenth_of_the_way_from_chance_is_not_healthy(gen):
    measure, History = gen
    why = measure.healthy(_history(History, [0.02, 0.05, 0.09, 0.09, 0.1]), CFG)
    assert why and "of the way from chance" in why


def test_a_good_accuracy_is_healthy(gen):
    measure, History = gen
    assert measure.healthy(_history(History, [0.2, 0.5, 0.7, 0.75, 0.76], [0.8] * 50), CFG) is None


def test_training_accuracy_far_above_validation_is_not_healthy(gen):
    measure, History = gen
    why = measure.healthy(_history(History, [0.2, 0.5, 0.6, 0.6, 0.6], [0.95] * 50), CFG)
    assert why and "above validation" in why


def test_binary_chance_is_the_majority_class(gen):
    """80% negatives: 0.85 accuracy is a quarter of the way from the majority baseline."""
    measure, History = gen
    cfg = {"kind": "binary", "n_classes": 2, "pos_frac": 0.2}
    assert "of the way from chance 0.80" in measure.healthy(_history(History, [0.8, 0.82, 0.85, 0.85, 0.85]), cfg)
    assert measure.healthy(_history(History, [0.8, 0.9, 0.95, 0.95, 0.95]), cfg) is None
