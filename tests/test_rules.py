"""Every built-in rule fires on a run with its symptom and stays quiet on a healthy run and on
a near miss that a neighbouring rule should claim.  A test checks that no rule lacks a case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synth
from logsleuth.model import RunData
from logsleuth.pipeline import diagnose
from logsleuth.ruleset import builtin_ruleset


def run_of(curves: synth.Curves, extra: dict | None = None, hparams: dict | None = None, drop=()) -> RunData:
    parts = {
        "train/loss": (curves.steps, curves.train_loss),
        "val/loss": (curves.val_steps, curves.val_loss),
        "val/acc": (curves.val_steps, curves.val_acc),
        "train/acc": (curves.val_steps, curves.train_acc),
        "lr": (curves.steps, curves.lr),
        "epoch": (curves.steps, np.floor((curves.steps - 1) / curves.epoch_len)),
    }
    if curves.grad_norm is not None:
        parts["grad_norm"] = (curves.steps, curves.grad_norm)
    parts.update(extra or {})
    frames = [pd.DataFrame({"metric": k, "step": np.asarray(st, float), "value": np.asarray(v, float), "wall_time": np.nan})
              for k, (st, v) in parts.items() if k not in drop]
    return RunData(name="t", path=".", formats=("test",), table=pd.concat(frames, ignore_index=True), hparams=hparams or {})


def fired(run: RunData) -> set[str]:
    return {f.rule for f in diagnose(run).symptoms}


H = synth.healthy(seed=3)
rng = np.random.default_rng(5)


def _with(c: synth.Curves, **kw) -> synth.Curves:
    import copy

    c = copy.deepcopy(c)
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def _flat_plateau(n=600, level=1.45):
    st = np.arange(1, n + 1, dtype=float)
    tr = (level + (2.3 - level) * np.exp(-st / 60)) * np.exp(rng.normal(0, 0.003, n))
    return st, tr


def _plateau_run():
    st, tr = _flat_plateau()
    acc = np.full(H.val_steps.size, 0.4) + rng.normal(0, 0.01, H.val_steps.size)
    c = _with(H, train_loss=tr, val_loss=np.interp(H.val_steps, st, tr) * 1.0, val_acc=acc, train_acc=acc + 0.01)
    return run_of(c)


def _plateau_high_acc():
    st, tr = _flat_plateau(level=1.8)
    c = _with(H, train_loss=tr, val_loss=np.interp(H.val_steps, st, tr), val_acc=np.full(H.val_steps.size, 0.97) + rng.normal(0, 0.002, H.val_steps.size))
    return run_of(c)


def _val_below_train():
    st, tr = _flat_plateau()
    return run_of(_with(H, train_loss=tr, val_loss=np.interp(H.val_steps, st, tr) * 0.6))


def _explode_then_nan():
    d = synth.diverging()
    tl = np.r_[d.train_loss[:300] * np.geomspace(1, 1e4, 300), np.full(100, np.nan)]
    return run_of(_with(d, train_loss=tl))


def _nan_from_start():
    return run_of(_with(H, train_loss=np.r_[2.3, np.full(H.steps.size - 1, np.nan)]))


def _val_nan_only():
    return run_of(_with(H, val_loss=np.where(np.arange(H.val_steps.size) > 6, np.nan, H.val_loss)))


def _early_then_stuck():
    s = synth.stuck()
    tl = s.train_loss * (1 + 30 * np.exp(-((s.steps - 10) / 5) ** 2))
    return run_of(_with(s, train_loss=tl))


def _stuck_high_init():
    s = synth.stuck()
    tl = s.train_loss.copy()
    tl[:3] = [80.0, 40.0, 10.0]
    return run_of(_with(s, train_loss=tl))


def _flat_not_chance():
    s = synth.stuck()
    return run_of(_with(s, train_loss=s.train_loss * 0.7, val_loss=s.val_loss * 0.7, val_acc=s.val_acc + 0.3))


def _noisy_no_progress(lr=0.05, seed=11):
    c = synth.healthy(seed=4, n=800)
    g = np.random.default_rng(seed)
    tl = 1.5 * np.exp(g.normal(0, 1.2, 800))
    k = c.val_steps.size
    return _with(c, train_loss=tl, val_loss=1.6 + g.normal(0, 0.02, k), val_acc=0.3 + g.normal(0, 0.01, k),
                 train_acc=0.3 + g.normal(0, 0.01, k), lr=np.full(800, lr))


def _oscillating():
    c = synth.healthy(seed=4, n=800)
    tl = (1.2 + 0.8 * np.sin(c.steps * 2 * np.pi / 37)) * np.exp(rng.normal(0, 0.02, 800))
    return run_of(_with(c, train_loss=tl))


def _slow_noisy_labels():
    s = synth.slow()
    val = np.interp(s.val_steps, s.steps, s.train_loss) * 0.9 + 2.0 * np.clip(s.val_steps / s.steps[-1] - 0.3, 0, None)
    return run_of(_with(s, val_loss=val))


def _shifted():
    c = synth.overfitting()
    return run_of(_with(c, val_acc=np.full(c.val_steps.size, 0.35) + rng.normal(0, 0.01, c.val_steps.size),
                        train_acc=np.linspace(0.8, 0.99, c.val_steps.size)))


def _gap_widening():
    c = synth.overfitting()
    return run_of(_with(c, val_acc=np.linspace(0.85, 0.7, c.val_steps.size), train_acc=np.linspace(0.85, 1.0, c.val_steps.size)))


def _val_up_acc_up():
    c = synth.overfitting()
    return run_of(_with(c, val_acc=np.linspace(0.8, 0.95, c.val_steps.size)))


def _frozen_loss():
    return run_of(_with(H, val_loss=np.full(H.val_steps.size, 1.234)))


def _grads(kind):
    st = H.steps
    if kind == "explode":
        return run_of(H, {"grad_norm": (st, np.geomspace(0.1, 1e4, st.size))})
    if kind == "burst":
        g = 0.5 * (1 + 2000 * np.exp(-((st - 10) / 4) ** 2))
        return run_of(H, {"grad_norm": (st, g)})
    if kind == "vanish":
        return run_of(H, {f"grad_norm/{i}": (st, np.full(st.size, 10.0 ** (-2 * (5 - i)))) for i in range(6)}, drop=("grad_norm",))
    raise ValueError(kind)


def _update_low():
    return run_of(H, {"update_ratio/0": (H.steps, np.full(H.steps.size, 1e-6))})


def _dead():
    return run_of(H, {"zero_fraction/l1": (H.steps, np.linspace(0.5, 0.97, H.steps.size))})


def _reg(total: bool):
    reg = np.full(H.steps.size, 3.0)
    if total:
        return run_of(_with(H, train_loss=H.train_loss + 3.0), {"train/reg_loss": (H.steps, reg)})
    return run_of(H, {"train/reg_loss": (H.steps, reg), "train/data_loss": (H.steps, H.train_loss)})


def _lr_drop():
    st = H.steps
    lr = np.where(st < 300, 0.1, 0.01)
    tl = np.where(st < 300, 1.0, 0.4) * np.exp(rng.normal(0, 0.02, st.size))
    return run_of(_with(H, train_loss=tl, lr=lr))


def _very_high_lr():
    c = _noisy_no_progress(lr=1.0)
    return run_of(c)


def test_very_high_lr_from_the_hyperparameters_needs_the_optimizer_family():
    """No lr logged: the rate and optimizer come from the hyperparameters; SGD at 0.99 with batch
    32 is past 8x the linear-scaling rule (0.1 per 256), Adam at 1e-3 is not past its range."""
    fired = lambda hp: any(f.rule == "lr.very-high-and-unstable" for f in diagnose(run_of(_noisy_no_progress(), hparams=hp, drop=("lr",))).symptoms)  # noqa: E731
    assert fired({"learning_rate": 0.99, "optimizer": "SGD", "batch_size": 32})
    assert not fired({"learning_rate": 1e-3, "optimizer": "Adam"})
    assert not fired({"learning_rate": 0.2, "optimizer": "SGD", "batch_size": 4096})


def _very_low_lr():
    return run_of(synth.slow())


def _gan_nan():
    st = np.arange(1.0, 801.0)
    g = 1.2 * np.exp(rng.normal(0, 0.2, st.size))
    g[600:] = np.nan
    frames = [pd.DataFrame({"metric": k, "step": st, "value": v, "wall_time": np.nan})
              for k, v in {"d_loss": 1.38 * np.exp(rng.normal(0, 0.15, st.size)), "g_loss": g}.items()]
    return RunData(name="t", path=".", formats=("test",), table=pd.concat(frames, ignore_index=True))


def _val_worsens():
    """Training stalls after warmup while validation climbs 60% above its best."""
    k = H.val_steps.size
    val = np.r_[np.linspace(1.0, 0.6, k // 4), np.linspace(0.6, 0.96, k - k // 4)]
    tl = 0.8 + 0.6 * np.exp(-H.steps / 40) + rng.normal(0, 0.01, H.steps.size)
    return run_of(_with(H, train_loss=tl, val_loss=val))


def _flat_until_lr_cut():
    n = H.steps.size
    lr = np.where(H.steps < 0.4 * n, 1.0, 0.1)
    tl = np.where(H.steps < 0.4 * n, 2.3, 0.3 + 2.0 * np.exp(-(H.steps - 0.4 * n) / 30)) * np.exp(rng.normal(0, 0.01, n))
    return run_of(_with(H, train_loss=tl, lr=lr))


def _delayed_at_chance():
    """Sits at ln 10 with accuracy 1/10 at the first evaluation, then escapes."""
    acc = H.val_acc.copy()
    acc[0] = 0.1
    return run_of(_with(_delayed_curves(), val_acc=acc))


def _delayed_curves():
    n = H.steps.size
    tl = np.r_[np.full(150, 2.3), 2.3 * np.exp(-np.arange(n - 150) / 60) + 0.05] * np.exp(rng.normal(0, 0.005, n))
    acc = H.val_acc.copy()
    acc[0] = 0.45  # a first accuracy far above 1/10: whatever the flat start is, it is not chance
    return _with(H, train_loss=tl, val_acc=acc)


def _underfit_curves(still_improving: bool):
    """A classifier at ~35% accuracy over 10 classes, training and validation close; validation
    either still falling at its early pace at the end, or flat over the second half."""
    n = H.steps.size
    st = H.steps
    if still_improving:
        trend = 2.3 - 0.75 * st / n  # a steady fall, stopped mid-way
    else:
        trend = 1.5 + 0.8 * np.exp(-st / 60)  # fell, then flat
    tl = trend * np.exp(rng.normal(0, 0.01, n))
    k = H.val_steps.size
    val = np.interp(H.val_steps, st, trend) * 1.01
    acc = np.linspace(0.25, 0.35, k) if still_improving else np.full(k, 0.35)
    return run_of(_with(H, train_loss=tl, val_loss=val, val_acc=acc, train_acc=acc + 0.01, lr=np.full(n, 3e-3)))


def _slow_then_val_up():
    """Slow, linear training fall while validation turns up after a third of the run."""
    s = synth.slow()
    x = s.val_steps / s.steps[-1]
    val = np.interp(s.val_steps, s.steps, s.train_loss) * 0.7 + 1.5 * np.clip(x - 0.35, 0, None) ** 1.5
    return run_of(_with(s, val_loss=val))


def _flat_regression():
    """A regression (mse loss, val_mae, no accuracy) that stops at a floor from the first epoch."""
    st = np.arange(0.0, 40.0)
    g = np.random.default_rng(8)
    loss = 0.49 * np.exp(g.normal(0, 0.01, 40))
    loss[:2] = [0.64, 0.55]
    frames = [pd.DataFrame({"metric": k, "step": st, "value": v, "wall_time": np.nan}) for k, v in {
        "loss": loss, "val_loss": 0.46 * np.exp(g.normal(0, 0.005, 40)), "val_mae": 0.46 * np.exp(g.normal(0, 0.005, 40)),
        "learning_rate": np.full(40, 3e-3)}.items()]
    return RunData(name="t", path=".", formats=("test",), table=pd.concat(frames, ignore_index=True))


def _high_initial():
    tl = H.train_loss.copy()
    tl[:3] = [60.0, 30.0, 10.0]
    return run_of(_with(H, train_loss=tl))


POSITIVE = {
    "nan.after-explosion": _explode_then_nan,
    "nan.sudden": lambda: run_of(synth.nan_sudden()),
    "nan.from-start": _nan_from_start,
    "nan.validation-only": _val_nan_only,
    "divergence.loss-rises": lambda: run_of(synth.diverging()),
    "early.instability-recovers": lambda: run_of(synth.warmup_missing()),
    "early.instability-then-stuck": _early_then_stuck,
    "spikes.loss": lambda: run_of(synth.spiky()),
    "noise.loss": lambda: run_of(_noisy_no_progress()),
    "noise.swamps-progress": lambda: run_of(_noisy_no_progress()),
    "noise.small-batch": lambda: run_of(_noisy_no_progress(), hparams={"batch_size": 2}),
    "noise.val-not-improving": lambda: run_of(_noisy_no_progress()),
    "periodic.epoch": lambda: run_of(synth.unshuffled()),
    "oscillation.loss": _oscillating,
    "stuck.at-chance": lambda: run_of(synth.stuck()),
    "stuck.after-high-initial-loss": _stuck_high_init,
    "no-learning.flat": _flat_not_chance,
    "plateau.underfit": _plateau_run,
    "plateau.high-accuracy-high-loss": _plateau_high_acc,
    "underfit.train-val-close": _plateau_run,
    "underfit.val-below-train": _val_below_train,
    "slow.still-falling": lambda: run_of(synth.slow()),
    "delayed.start": lambda: run_of(_delayed_curves()),
    "initial-loss.high": _high_initial,
    "overfit.val-turns-up": lambda: run_of(synth.overfitting()),
    "overfit.slow-train": _slow_noisy_labels,
    "shift.val-bad-from-start": _shifted,
    "gap.widening": _gap_widening,
    "overconfident.val-loss-up-acc-up": _val_up_acc_up,
    "eval.frozen-metric": lambda: run_of(synth.frozen_eval()),
    "eval.frozen-loss": _frozen_loss,
    "grads.exploding": lambda: _grads("explode"),
    "grads.transient-burst": lambda: _grads("burst"),
    "grads.vanishing": lambda: _grads("vanish"),
    "update-ratio.off": _update_low,
    "dead-units.high": _dead,
    "reg.dominates": lambda: _reg(False),
    "reg.half-of-total": lambda: _reg(True),
    "lr.drop-response": _lr_drop,
    "lr.very-high-and-unstable": _very_high_lr,
    "lr.very-low-and-slow": _very_low_lr,
    "nan.adversarial": _gan_nan,
    "val.worsens": _val_worsens,
    "delayed.start-until-lr-drop": _flat_until_lr_cut,
    "delayed.start-at-chance": _delayed_at_chance,
    "underfit.still-improving": lambda: _underfit_curves(still_improving=True),
}

# near misses: a case close to the rule's that a neighbouring rule claims instead
NEAR_MISS = {
    "nan.sudden": ("nan.after-explosion", _explode_then_nan),
    "nan.after-explosion": ("nan.sudden", lambda: run_of(synth.nan_sudden())),
    "early.instability-recovers": ("early.instability-then-stuck", _early_then_stuck),
    "early.instability-then-stuck": ("early.instability-recovers", lambda: run_of(synth.warmup_missing())),
    "stuck.at-chance": ("no-learning.flat", _flat_not_chance),
    "no-learning.flat": ("stuck.at-chance", lambda: run_of(synth.stuck())),
    "eval.frozen-metric": ("stuck.at-chance", lambda: run_of(_with(synth.stuck(), val_acc=np.full(10, 0.1)))),
    "oscillation.loss": ("periodic.epoch", lambda: run_of(synth.unshuffled())),
    "plateau.underfit": ("slow.still-falling", lambda: run_of(synth.slow())),
    "overfit.slow-train": ("overfit.val-turns-up", lambda: run_of(synth.overfitting())),
    "grads.exploding": ("grads.transient-burst", lambda: _grads("burst")),
    "lr.very-high-and-unstable": ("divergence.loss-rises", lambda: run_of(_with(synth.diverging(), lr=np.full(400, 0.01)))),
    "underfit.val-below-train": ("underfit.train-val-close", _plateau_run),
    "delayed.start": ("delayed.start-at-chance", _delayed_at_chance),
    "delayed.start-at-chance": ("delayed.start", lambda: run_of(_delayed_curves())),
    "underfit.still-improving": ("underfit.train-val-close", lambda: _underfit_curves(still_improving=False)),
    "underfit.train-val-close": ("underfit.still-improving", lambda: _underfit_curves(still_improving=True)),
    "slow.still-falling": ("overfit.val-turns-up", _slow_then_val_up),
}


def test_every_rule_has_a_case():
    ids = {r.id for r in builtin_ruleset().rules}
    assert ids == set(POSITIVE), f"missing: {ids - set(POSITIVE)}, stale: {set(POSITIVE) - ids}"


@pytest.mark.parametrize("rule", sorted(POSITIVE))
def test_rule_fires_on_its_symptom(rule):
    assert rule in fired(POSITIVE[rule]())


HEALTHY_RUNS = [synth.healthy(seed=s) for s in (1, 2, 3)] + [synth.healthy(seed=4, n=200, epochs=20, classes=2)]


@pytest.mark.parametrize("i", range(len(HEALTHY_RUNS)))
def test_healthy_runs_are_healthy(i):
    d = diagnose(run_of(HEALTHY_RUNS[i]))
    assert d.health == "healthy", [f.rule for f in d.symptoms]
    assert d.causes[0].id == "healthy"


@pytest.mark.parametrize("rule", sorted(NEAR_MISS))
def test_near_miss_claimed_by_neighbour(rule):
    neighbour, make = NEAR_MISS[rule]
    got = fired(make())
    assert neighbour in got and rule not in got, got


@pytest.mark.parametrize("rule,top", [
    ("divergence.loss-rises", "lr_too_high"), ("nan.sudden", "numerical_instability"), ("periodic.epoch", "data_not_shuffled"),
    ("eval.frozen-metric", "eval_bug"), ("overfit.val-turns-up", "overfitting"), ("grads.vanishing", "vanishing_gradients"),
    ("dead-units.high", "dead_relu"), ("reg.dominates", "over_regularization"), ("slow.still-falling", "lr_too_low"),
    ("early.instability-recovers", "missing_warmup"), ("noise.small-batch", "batch_too_small"),
    ("delayed.start-at-chance", "bad_weight_init"), ("underfit.still-improving", "too_few_steps"),
])
def test_first_cause(rule, top):
    d = diagnose(POSITIVE[rule]())
    assert d.causes[0].id == top, [(c.id, c.score) for c in d.causes[:3]]


def test_flat_regression_blames_the_output_layer_first():
    """A regression loss flat from the first epoch: the output that cannot reach the targets is
    the first suspect; the same flat loss in a classifier is not (no-learning.flat's first case)."""
    d = diagnose(_flat_regression())
    assert "no-learning.flat" in {f.rule for f in d.symptoms}
    assert d.causes[0].id == "wrong_output_activation", [(c.id, c.score) for c in d.causes[:3]]
    assert "wrong_output_activation" not in {c.id for c in diagnose(_flat_not_chance()).causes}


def test_missing_metric_is_reported_as_skipped():
    d = diagnose(run_of(H, drop=("grad_norm",)))
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
    other = RunData(name="t", path=".", formats=("test",), table=renamed, hparams={})
    assert diagnose(other).causes[0].id == diagnose(run).causes[0].id
