"""Rule behaviour beyond the per-rule case files (tests/rule_cases, run by test_rule_cases.py):
which cause comes first, hyperparameter-aware rules, skipped rules, and independence from tag
names."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import yaml

from logsleuth.model import RunData
from logsleuth.pipeline import diagnose

import synth
from rule_specs import BUILDERS, build, noisy_curves, run_of

pytestmark = pytest.mark.usefixtures("declared_values")  # the rules at their declared values


def first_fire_case(rule: str) -> RunData:
    with open(os.path.join(os.path.dirname(__file__), "rule_cases", f"{rule}.yaml"), encoding="utf-8") as fh:
        return build(yaml.safe_load(fh)["fire"][0])[0]


def test_very_high_lr_from_the_hyperparameters_needs_the_optimizer_family():
    """No lr logged: the rate and optimizer come from the hyperparameters; SGD at 0.99 with batch
    32 is past 8x the linear-scaling rule (0.1 per 256), Adam at 1e-3 is not past its range."""
    fired = lambda hp: any(f.rule == "lr.very-high-and-unstable" for f in diagnose(run_of(noisy_curves(), hparams=hp, drop=("lr",))).symptoms)
    assert fired({"learning_rate": 0.99, "optimizer": "SGD", "batch_size": 32})
    assert not fired({"learning_rate": 1e-3, "optimizer": "Adam"})
    assert not fired({"learning_rate": 0.2, "optimizer": "SGD", "batch_size": 4096})


@pytest.mark.parametrize("rule,top", [
    ("divergence.loss-rises", "lr_too_high"), ("nan.sudden", "numerical_instability"), ("periodic.epoch", "data_not_shuffled"),
    ("eval.frozen-metric", "eval_bug"), ("overfit.val-turns-up", "overfitting"), ("grads.vanishing", "vanishing_gradients"),
    ("dead-units.high", "dead_relu"), ("reg.dominates", "over_regularization"), ("slow.still-falling", "lr_too_low"),
    ("early.instability-recovers", "missing_warmup"), ("noise.small-batch", "batch_too_small"),
    ("delayed.start-at-chance", "bad_weight_init"), ("underfit.still-improving", "too_few_steps"),
])
def test_first_cause(rule, top):
    d = diagnose(first_fire_case(rule))
    assert d.causes[0].id == top, [(c.id, c.score) for c in d.causes[:3]]


def test_flat_regression_blames_the_output_layer_first():
    """A regression loss flat from the first epoch: the output that cannot reach the targets is
    the first suspect; the same flat loss in a classifier is not (no-learning.flat's first case)."""
    d = diagnose(BUILDERS["flat_regression"]())
    assert "no-learning.flat" in {f.rule for f in d.symptoms}
    assert d.causes[0].id == "wrong_output_activation", [(c.id, c.score) for c in d.causes[:3]]
    assert "wrong_output_activation" not in {c.id for c in diagnose(BUILDERS["flat_not_chance"]()).causes}


def test_a_flat_loss_under_a_rate_too_small_for_training_from_scratch_blames_the_rate_first():
    """A trainer's loss flat from its first point: with Adam logged at 2e-5 (under the 1e-4 its
    from-scratch recipes start at) the rate is the first suspect; at 1e-3 it is not."""
    import dataclasses

    def flat_with_lr(rate):
        base = BUILDERS["flat_interval_log"]()
        t = base.table.astype({"metric": str})
        steps = np.unique(t["step"].to_numpy())
        lr = pd.DataFrame({"metric": "lr-Adam", "step": steps, "value": rate})
        return dataclasses.replace(base, table=pd.concat([t, lr], ignore_index=True))

    slow, normal = diagnose(flat_with_lr(2e-5)), diagnose(flat_with_lr(1e-3))
    assert "no-learning.flat" in {f.rule for f in slow.symptoms} and "no-learning.flat" in {f.rule for f in normal.symptoms}
    assert slow.causes[0].id == "lr_too_low", [(c.id, c.score) for c in slow.causes[:3]]
    assert normal.causes[0].id != "lr_too_low", [(c.id, c.score) for c in normal.causes[:3]]


def test_a_flat_language_model_loss_blames_capacity_before_the_initialisation():
    """The same flat loss from its first point: beside a perplexity (a language model, whose layers
    start from the framework's initialisers) too little capacity leads; in a run that says nothing
    of its kind (no-learning.flat's trainer-log case) the initialisation does."""
    import dataclasses

    base = BUILDERS["flat_interval_log"]()
    t = base.table.astype({"metric": str})
    ppl = t[t.metric == "train/loss"].assign(metric="train/perplexity", value=lambda d: np.exp(d["value"]))
    lm = diagnose(dataclasses.replace(base, table=pd.concat([t, ppl], ignore_index=True)))
    plain = diagnose(base)
    assert "no-learning.flat" in {f.rule for f in lm.symptoms} and "no-learning.flat" in {f.rule for f in plain.symptoms}
    assert lm.causes[0].id == "model_too_small", [(c.id, c.score) for c in lm.causes[:3]]
    assert plain.causes[0].id == "bad_weight_init", [(c.id, c.score) for c in plain.causes[:3]]


def _slow_with(rate=None, metric="lr", hparams=None):
    """synth.slow (a linear fall still going at the end) with its logged rate replaced (None: no
    rate logged) and hyperparameters added."""
    c = synth.slow()
    if rate is not None:
        c.lr = np.full(c.lr.size, rate)
    run = run_of(c, hparams={"num_classes": c.n_classes, **(hparams or {})}, drop=() if rate is not None else ("lr",))
    if metric != "lr":
        run = RunData(name=run.name, path=run.path, formats=run.formats, hparams=run.hparams,
                      table=run.table.assign(metric=run.table.metric.astype(str).replace({"lr": metric})))
    return diagnose(run)


@pytest.mark.parametrize("rate,metric,hparams,blames_rate", [
    (1e-5, "lr", {}, True),        # under every optimizer family's from-scratch floor
    (None, "lr", {}, True),        # no rate known: lr_too_low keeps its weight
    (1e-3, "lr", {}, True),        # optimizer unknown: Adam's usual rate, ten times under SGD's
    (0.01, "lr", {}, True),        # optimizer unknown: the low end of SGD recipes, a tenth of them without momentum
    (1e-3, "lr-Adam", {}, False),  # Adam's from-scratch range (1e-4 and up)
    (0.05, "lr", {}, False),       # at or above every family's floor
    (None, "lr", {"learning_rate": 0.1, "optimizer": "SGD"}, False),  # configured, not logged
    (1e-3, "lr-SGD", {}, True),    # ten times under SGD's from-scratch recipes
])
def test_a_slow_fall_blames_the_rate_only_when_the_rate_is_low_for_its_optimizer(rate, metric, hparams, blames_rate):
    d = _slow_with(rate, metric, hparams)
    assert "slow.still-falling" in {f.rule for f in d.symptoms}
    assert (d.causes[0].id == "lr_too_low") == blames_rate, [(c.id, c.score) for c in d.causes[:3]]


def test_a_slow_fall_with_a_configured_batch_of_1024_or_more_blames_the_batch_first():
    big, usual = _slow_with(0.05, hparams={"batch_size": 4096}), _slow_with(0.05, hparams={"batch_size": 256})
    assert big.causes[0].id == "batch_too_large", [(c.id, c.score) for c in big.causes[:3]]
    score = lambda d: next(c.score for c in d.causes if c.id == "batch_too_large")
    assert score(big) > score(usual) == score(_slow_with(0.05)), [(c.id, c.score) for c in usual.causes[:3]]


def test_missing_metric_is_reported_as_skipped():
    d = diagnose(run_of(synth.healthy(seed=3), drop=("grad_norm",)))
    reasons = {s.rule: s.reason for s in d.skipped}
    assert reasons["grads.exploding"] == "grad_norm not logged"


NAMING = [
    {"train/loss": "Loss/train", "val/loss": "Loss/validation", "val/acc": "Accuracy/validation", "train/acc": "Accuracy/train",
     "lr": "LR", "epoch": "Epoch", "grad_norm": "Gradients/norm"},
    {"train/loss": "training_loss", "val/loss": "valid_loss", "val/acc": "valid_acc", "train/acc": "training_acc",
     "lr": "learning_rate", "epoch": "epoch", "grad_norm": "gradient_norm"},
    {"train/loss": "loss", "val/loss": "eval/loss", "val/acc": "eval/accuracy", "train/acc": "acc", "lr": "optim/lr",
     "epoch": "trainer/epoch", "grad_norm": "grad/total_norm"},
    {"train/loss": "train_ce", "val/loss": "test_ce", "val/acc": "test_acc", "train/acc": "train_acc", "lr": "lr-SGD",
     "epoch": "epoch", "grad_norm": "grad_2.0_norm_total"},
]


@pytest.mark.parametrize("scheme", range(len(NAMING)))
@pytest.mark.parametrize("gen", ["diverging", "overfitting", "stuck", "frozen_eval", "unshuffled", "slow", "healthy"])
def test_first_cause_does_not_depend_on_tag_names(gen, scheme):
    run = run_of(synth.GENERATORS[gen]())
    renamed = run.table.assign(metric=run.table.metric.astype(str).map(lambda m: NAMING[scheme].get(m, m)))
    other = RunData(name="t", path=".", formats=("test",), table=renamed, hparams=run.hparams)
    assert diagnose(other).causes[0].id == diagnose(run).causes[0].id
