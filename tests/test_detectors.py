"""Every detector fires on a curve that has its symptom, stays quiet on one that does not,
says 'cannot judge' on series too short to tell, and gives the same verdict on the curve x1000
(scale-free) and with a NaN tail where that is not its subject."""

from __future__ import annotations

import numpy as np
import pytest

from logsleuth.detectors import REGISTRY
from logsleuth.kinds import RunContext
from logsleuth.model import Series
from logsleuth.roles import infer_role

import synth


def S(name, values, steps=None):
    v = np.asarray(values, dtype=float)
    st = np.arange(1, v.size + 1, dtype=float) if steps is None else np.asarray(steps, dtype=float)
    return Series(name, infer_role(name), st, v)


def run(det, *series, ctx=None, **params):
    spec = REGISTRY[det]
    return spec.func(*series, ctx=ctx or RunContext(), **{**spec.params, **params})


# a classification whose hyperparameters give 10 classes (the only source of a class count)
CLS10 = RunContext(kind="classification", n_classes=10, classes_from="hyperparameters", single_ce=True)


H = synth.healthy(seed=1)
TL, VL, VA = S("train/loss", H.train_loss, H.steps), S("val/loss", H.val_loss, H.val_steps), S("val/acc", H.val_acc, H.val_steps)


def scaled(s: Series, k: float) -> Series:
    return Series(s.metric, s.role, s.steps, s.values * k)


def _cases():
    """(detector, positive inputs, negative inputs, ctx)."""
    d, o, st, sl = synth.diverging(), synth.overfitting(), synth.stuck(), synth.slow()
    un, sp, wm, fr = synth.unshuffled(), synth.spiky(), synth.warmup_missing(), synth.frozen_eval()
    ns = synth.nan_sudden()
    rng = np.random.default_rng(0)
    flat = 2.0 * np.exp(rng.normal(0, 0.01, 400))
    delayed = np.concatenate([np.full(150, 2.3), 2.3 * np.exp(-np.arange(350) / 60) + 0.05]) * np.exp(rng.normal(0, 0.005, 500))
    plateau = np.concatenate([2.3 - 0.7 * (1 - np.exp(-np.arange(100) / 20)), np.full(400, 1.6)]) * np.exp(rng.normal(0, 0.003, 500))
    noisy = 1.0 * np.exp(rng.normal(0, 1.0, 600))
    osc = 1.0 + 0.6 * np.sin(np.arange(600) * 2 * np.pi / 37) + rng.normal(0, 0.02, 600)
    el = RunContext(epoch_len=un.epoch_len)
    x = H.val_steps / H.steps[-1]
    falls = np.where(x <= 0.35, 0.3 + 1.3 * x, 0.755 - 0.2 * (x - 0.35)) + rng.normal(0, 0.003, x.size)
    return [
        ("divergence", [S("loss", d.train_loss)], [TL], None),
        ("nonfinite", [S("loss", ns.train_loss)], [TL], None),
        ("spikes", [S("loss", sp.train_loss)], [S("loss", synth.healthy(seed=7, n=800, noise=0.1).train_loss)], None),
        ("early_instability", [S("loss", wm.train_loss)], [TL], None),
        ("plateau", [S("loss", plateau)], [TL], None),
        ("no_learning", [S("loss", flat)], [TL], None),
        ("stuck_at_chance", [S("loss", st.train_loss), S("val/acc", st.val_acc, st.val_steps)], [TL, VA], CLS10),
        ("slow_convergence", [S("loss", sl.train_loss)], [TL], None),
        ("delayed_start", [S("loss", delayed)], [TL], None),
        ("high_initial_loss", [S("loss", np.r_[40.0, 30.0, 20.0, np.full(50, 2.0)]), S("val/acc", [0.2, 0.5])], [TL, VA], CLS10),
        ("noisy", [S("loss", noisy)], [S("loss", flat)], None),
        ("oscillation", [S("loss", osc)], [TL], None),
        ("epoch_periodic", [S("loss", un.train_loss, un.steps)], [S("loss", synth.healthy(seed=6, n=960, noise=0.05).train_loss)], el),
        ("val_rise", [S("loss", o.train_loss, o.steps), S("val/loss", o.val_loss, o.val_steps)], [TL, VL], None),
        ("val_score_falls", [TL, S("val/acc", falls, H.val_steps)], [TL, VA], None),
        ("underfitting", [S("loss", sl.train_loss, sl.steps), S("val/loss", sl.val_loss, sl.val_steps)], [TL, VL], None),
        ("val_gap", [TL, S("val/loss", H.val_loss * 3, H.val_steps)], [S("loss", sl.train_loss, sl.steps), S("val/loss", sl.val_loss, sl.val_steps)], None),
        ("metric_frozen", [S("val/acc", fr.val_acc, fr.val_steps)], [VA], None),
        ("lr_low_for_optimizer", [S("lr", np.full(50, 1e-7))], [S("lr", np.full(50, 2e-5))], None),
    ]


CASES = _cases()


@pytest.mark.parametrize("det,pos,neg,ctx", CASES, ids=[c[0] for c in CASES])
def test_fires_on_symptom_and_quiet_without(det, pos, neg, ctx):
    ev = run(det, *pos, ctx=ctx)
    assert ev.fired, ev
    assert 0 < ev.confidence <= 1 and ev.text
    assert not run(det, *neg, ctx=ctx).fired


# a score's points are its units (an accuracy in 0-1 or in percent), not scaled by 1000
SCALE_FREE = [c for c in CASES if c[0] not in ("high_initial_loss", "metric_frozen", "lr_low_for_optimizer", "stuck_at_chance",
                                               "val_score_falls")]


@pytest.mark.parametrize("det,pos,neg,ctx", SCALE_FREE, ids=[c[0] for c in SCALE_FREE])
def test_scale_free(det, pos, neg, ctx):
    for k in (1e-3, 1e3):
        assert run(det, *[scaled(s, k) for s in pos], ctx=ctx).fired
        assert not run(det, *[scaled(s, k) for s in neg], ctx=ctx).fired


@pytest.mark.parametrize("det", sorted(REGISTRY))
def test_very_short_series_cannot_judge(det):
    spec = REGISTRY[det]
    one = S("train/loss", [1.0])
    args = []
    for inp in spec.inputs:
        if inp.endswith("*"):
            args.append([one])
        elif inp.endswith("?"):
            args.append(None)
        else:
            args.append(one)
    params = dict(spec.params)
    if det == "lr_value":
        params["high"] = 10.0
    ev = spec.func(*args, ctx=CLS10, **params)
    # task_kind states a fact about the run (what it trains), not a symptom: it holds for one point too
    assert not ev.fired or det in ("grad_collapse", "lr_value", "task_kind")


@pytest.mark.parametrize("det", ["divergence", "plateau", "slow_convergence", "spikes", "noisy", "oscillation"])
def test_nan_tail_does_not_break_trend_detectors(det):
    v = np.r_[H.train_loss, np.full(30, np.nan)]
    ev = run(det, S("loss", v))
    assert ev.fired == run(det, TL).fired


def test_nonfinite_tells_blowup_from_sudden():
    d = synth.diverging()
    v = np.r_[d.train_loss, np.nan, np.nan]
    assert run("nonfinite", S("loss", v)).measures["rise_before"] >= 10
    assert run("nonfinite", S("loss", synth.nan_sudden().train_loss)).measures["rise_before"] < 10


def test_gradients():
    layers = [S(f"grad_norm/{i}", np.full(50, 10.0 ** (-2 * (5 - i)))) for i in range(6)]
    ev = run("grad_collapse", layers)
    assert ev.fired and ev.measures["layer_ratio"] < 1e-3
    assert run("grad_collapse", [S("grad_norm", np.zeros(30))]).measures["zero"]
    assert not run("grad_collapse", [S("grad_norm", np.full(30, 0.5))]).fired
    boom = S("grad_norm", np.geomspace(0.1, 1e4, 100))
    assert run("grad_growth", [boom]).fired


def test_a_gradient_that_falls_only_as_far_as_the_loss_converged_has_not_vanished():
    """The total norm falls 10,000x: vanishing beside a loss that stays near its start, convergence
    beside a loss that fell 500x as well (a fitted model's gradient goes to zero with its loss)."""
    grads = [S("grad_norm", np.geomspace(0.16, 1.6e-5, 400))]
    stuck = S("train_loss", np.linspace(2.3, 2.1, 400))
    fitted = S("train_loss", np.geomspace(2.3, 0.0046, 400))
    ev = run("grad_collapse", grads, stuck)
    assert ev.fired and ev.measures["unexplained"] <= 1e-3
    ev = run("grad_collapse", grads, fitted)
    assert not ev.fired and ev.measures["loss_fall"] > 100
    assert run("grad_collapse", grads).fired  # no loss logged: the collapse alone
    assert not run("grad_growth", [S("grad_norm", np.full(100, 0.5))]).fired


def test_update_ratio_and_dead_units_and_reg():
    assert run("update_ratio_off", [S("update_ratio/0", np.full(40, 1e-6))]).measures["direction"] == "low"
    assert not run("update_ratio_off", [S("update_ratio/0", np.full(40, 1e-3))]).fired
    assert run("dead_units", [S("zero_fraction/l1", np.linspace(0.5, 0.97, 40))]).fired
    assert not run("dead_units", [S("zero_fraction/l1", np.full(40, 0.5))]).fired
    assert run("regularization_dominates", S("train/reg_loss", np.full(20, 3.0)), S("train/data_loss", np.full(20, 1.0))).fired
    assert not run("regularization_dominates", S("train/reg_loss", np.full(20, 0.1)), S("train/data_loss", np.full(20, 1.0))).fired


def test_lr_drop_response():
    st = np.arange(1, 401, dtype=float)
    lr = np.where(st < 200, 0.1, 0.01)
    loss = np.where(st < 200, 1.0, 0.4) * np.exp(np.random.default_rng(0).normal(0, 0.02, 400))
    assert run("lr_drop_response", S("loss", loss, st), S("lr", lr, st)).fired
    assert not run("lr_drop_response", S("loss", np.full(400, 1.0), st), S("lr", lr, st)).fired


def test_ten_million_points_is_bearable():
    v = 2.3 * np.exp(-np.arange(2_000_000) / 3e5) + 0.01
    ev = run("divergence", S("loss", v))
    assert not ev.fired


def test_delayed_start_quiet_on_short_epoch_level_decay():
    """15 epoch means of a fast, healthy decrease: the first two points are not a flat start."""
    v = 0.05 + 1.95 * np.exp(-np.arange(15) / 1.5)
    assert not run("delayed_start", S("loss", v)).fired
    flat_then_drop = np.r_[np.full(6, 2.3), 2.3 * np.exp(-np.arange(1, 10) / 2.0)]
    assert run("delayed_start", S("loss", flat_then_drop)).fired


def test_epoch_periodic_needs_more_than_chance_on_few_points():
    """HF-style logging every 10 steps gives 5 points an epoch: noise alone reaches an
    autocorrelation of 0.3 at one epoch now and then; the 3-standard-error bound keeps
    the detector quiet there, while a real per-epoch pattern with as few points still fires."""
    from logsleuth.detectors.instability import epoch_periodic

    fired = 0
    for seed in range(300):  # healthy runs logged as 10-step means: 60 points, 5 an epoch
        c = synth.healthy(seed=seed)
        v = c.train_loss[:600].reshape(60, 10).mean(axis=1)
        fired += epoch_periodic(S("loss", v, c.steps[9::10]), ctx=RunContext(epoch_len=c.epoch_len)).fired
    assert fired <= 3  # 1%; without the chance bound 7 of these 300 fired
    st = np.arange(10, 610, 10, dtype=float)
    rng = np.random.default_rng(1)
    pattern = np.tile([0.3, -0.2, 0.25, -0.25, -0.1], 12)  # the same batches in the same order each epoch
    v = (2 * np.exp(-st / 200) + 0.3) * np.exp(pattern + rng.normal(0, 0.05, st.size))
    assert epoch_periodic(S("loss", v, st), ctx=RunContext(epoch_len=50)).fired


def test_overfitting_reads_a_loss_that_is_exactly_zero_on_a_few_batches():
    """Batch size 2: a handful of batches classified perfectly log a loss of 0; the run is still
    judged on the log scale (it was 'not a positive loss' before)."""
    o = synth.overfitting()
    tl = o.train_loss.copy()
    tl[::97] = 0.0
    ev = run("val_rise", S("loss", tl, o.steps), S("val/loss", o.val_loss, o.val_steps))
    assert ev.cannot_judge is None and ev.fired


def test_still_improving_tells_a_stopped_run_from_one_creeping_along_a_floor():
    st = np.arange(1.0, 31.0)
    stopped = S("val/loss", 3.3 * np.exp(-0.04 * st))  # still falling at its early pace
    floor = S("val/loss", 1.5 + 0.5 * np.exp(-st / 4) - 0.002 * st)  # converged, creeping 0.002 a step
    assert run("still_improving", stopped).fired
    ev = run("still_improving", floor)
    assert not ev.fired and ev.measures["t"] > 3 and ev.measures["late_share"] < 0.5
    assert run("still_improving", S("val/acc", 0.2 + 0.01 * st)).fired  # accuracies: higher is better
    assert not run("still_improving", S("val/loss", np.r_[3.3 * np.exp(-0.04 * st[:20]), np.full(10, 3.0)])).fired


def test_chance_start_takes_the_class_count_from_the_hyperparameters_only():
    loss = S("loss", np.r_[np.full(50, 2.303), np.linspace(2.3, 0.5, 150)])
    assert run("chance_start", loss, S("val/acc", [0.1, 0.5, 0.8]), ctx=CLS10).fired
    assert run("chance_start", loss, None, ctx=CLS10).fired
    # the loss is ln 10, an accuracy at 1/10 - but no class count given: never read off the loss
    unknown = RunContext(kind="classification", single_ce=True)
    assert run("chance_start", loss, S("val/acc", [0.1, 0.5, 0.8]), ctx=unknown).cannot_judge
    assert run("stuck_at_chance", S("loss", np.full(200, 2.303)), S("val/acc", np.full(20, 0.1)), ctx=unknown).cannot_judge
    resumed = S("loss", loss.values, np.arange(1000.0, 1200.0))
    assert run("chance_start", resumed, None, ctx=CLS10).cannot_judge
    speech = RunContext(kind="speech", n_classes=10)
    assert run("chance_start", loss, None, ctx=speech).cannot_judge


def test_high_initial_loss_has_a_reference_only_for_classification():
    ctc = S("loss", np.r_[3000.0, 2500.0, 2000.0, np.geomspace(1500, 40, 60)])
    assert run("high_initial_loss", ctc, ctx=RunContext(kind="speech")).cannot_judge
    assert run("high_initial_loss", ctc, ctx=RunContext(kind="unknown")).cannot_judge
    # a regression's MSE starts at its targets' square: in the thousands on raw-scale targets
    assert run("high_initial_loss", ctc, ctx=RunContext(kind="regression")).cannot_judge
    assert run("high_initial_loss", ctc, ctx=CLS10).fired


def test_task_kind_from_the_metrics_logged():
    from logsleuth.ruleset.context import run_context

    def kind(*names):
        series = {n: S(n, np.linspace(1, 0.5, 20)) for n in names}
        return run("task_kind", series[names[0]], ctx=run_context(series, {})).measures["kind"]

    assert kind("loss", "val_loss", "val_mae") == "regression"
    assert kind("train/mse_loss", "val/rmse") == "regression"
    assert kind("loss", "val_wer") == "speech"  # an error *rate* is not a regression
    assert kind("loss", "val_mae", "val_accuracy") == "classification"
    assert kind("loss", "val_loss") == "unknown"
    assert kind("train/box_loss", "train/cls_loss", "metrics/mAP50(B)") == "detection"
    assert kind("loss_D", "loss_G") == "gan"
    # an actor-critic: a critic's loss beside episode rewards, no generator or discriminator
    assert kind("agent0/losses/critic loss", "agent0/losses/actor_loss", "agent0/mean_episode_rewards") == "rl"
    assert kind("loss_D", "loss_G", "episode_reward") == "gan"
    assert kind("loss", "episode_reward") == "rl"
    assert kind("loss", "val_ppl") == "language_model"
    # an accuracy on an LM benchmark does not make a classifier of a pretraining run
    assert kind("train/loss", "val/loss", "eval/hellaswag_acc") == "language_model"
    assert kind("train/loss", "val/loss", "eval/swag_acc") == "classification"
    assert kind("loss", "val_loss", "val_auc", "val_acc") == "binary"
    # Keras' and scikit-learn's spelled-out regression metrics (a DVCLive run logs these)
    assert kind("train/loss", "eval/mean_absolute_error") == "regression"
    assert kind("loss", "val_loss", "val_root_mean_squared_error") == "regression"
    assert kind("loss", "eval/r2_score") == "regression"
    assert kind("loss", "val_mean_average_precision") == "unknown"  # mAP's words are not a regression's


def test_median_of_three_is_the_rolling_median_and_long_curves_are_bucketed_once():
    """median_filter(size=3) takes a sort-free path: it equals the general rolling median, edges
    included; bucket() of the same arrays is computed once and handed out read-only."""
    from logsleuth.detectors import base

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 4, 50, 1001):
        x = rng.normal(size=n)
        x[::5] = 0.25  # ties
        h = np.concatenate([x[:1], x, x[-1:]])
        expect = np.array([np.median(h[i:i + 3]) for i in range(n)])
        assert np.array_equal(base.median_filter(x, 3), expect), n
    st, v = np.arange(50_000.0), rng.normal(size=50_000)
    a = base.bucket(st, v)
    b = base.bucket(st, v)
    assert a[0] is b[0] and a[1] is b[1] and a[1].size <= base.MAX_POINTS
    with pytest.raises(ValueError):
        a[1][0] = 1.0
    assert base.bucket(st, v.copy())[1] is not a[1]  # other arrays: computed for them


@pytest.mark.parametrize("size", [4, 5, 7, 15, 16, 31, 63])
def test_rolling_median_of_a_long_series_is_exact(size):
    """Long series and short windows go through partial sorts of blocks of windows, or min/max
    networks for 2^m - 1 points (7, 15, 31): each value is the median of its edge-padded window
    (for an even size, the upper middle value)."""
    from numpy.lib.stride_tricks import sliding_window_view

    from logsleuth.detectors import base

    rng = np.random.default_rng(size)
    x = np.round(rng.normal(size=base.PARTITION_MIN_POINTS + 5_003), 1)  # rounded: many ties
    h = size // 2
    xp = np.concatenate([np.full(h, x[0]), x, np.full(size - 1 - h, x[-1])])
    expect = np.sort(sliding_window_view(xp, size), axis=1)[:, h]
    assert np.array_equal(base.median_filter(x, size), expect)
    if size % 2:  # odd windows: the short-series path (pandas) agrees with the long-series one
        assert np.array_equal(base.median_filter(x[:5_000], size)[:5_000 - h], expect[:5_000 - h])


def test_no_learning_says_nothing_of_a_gan_and_nothing_of_a_loss_rounded_to_zero():
    flat = S("loss", 2.1 * np.exp(np.random.default_rng(0).normal(0, 0.01, 300)))
    assert run("no_learning", flat, ctx=RunContext(kind="gan")).cannot_judge
    assert run("no_learning", flat, ctx=RunContext(kind="rl")).cannot_judge
    assert run("no_learning", flat, ctx=RunContext(kind="unknown")).fired
    zero = S("loss", np.r_[0.0012, 0.0003, np.zeros(98)])  # an HF log rounds a converged MSE to 0.0
    assert not run("no_learning", zero, ctx=RunContext(kind="regression")).fired


def test_warmup_end_is_where_a_rising_lr_reaches_its_peak():
    from logsleuth.ruleset.context import warmup_end
    st = np.arange(0.0, 400.0)
    warm = np.minimum(1.0, (st + 1) / 100) * 1e-3
    assert warmup_end({"lr": S("lr", warm, st)}) == 94.0  # first step at 95% of the peak
    decay = 1e-3 * np.cos(st / 400 * np.pi / 2)
    assert warmup_end({"lr": S("lr", decay, st)}) is None
    assert warmup_end({}) is None


def test_returns_are_judged_on_their_own_scale_and_noise():
    st = np.linspace(10.0, 30_000.0, 120)
    rng = np.random.default_rng(0)
    flat0 = S("episode_reward", rng.normal(0, 0.05, st.size), st)  # stuck at 0: no share of |start| + |best|
    assert run("return_flat", flat0).fired
    rise = S("episode_reward", -200 + 180 * (1 - np.exp(-np.linspace(0, 1, st.size) / 0.25)), st)
    assert not run("return_flat", rise).fired and not run("return_collapse", rise).fired
    late = S("episode_reward", rng.normal(-200, 5, st.size), st + 15_000)
    assert run("return_flat", late).cannot_judge  # logged from mid-way: its start is not the initial policy


def test_metric_frozen_needs_fewer_evaluations_of_a_full_precision_loss_():
    exact = run("metric_frozen", S("val/loss", [2.2945587635040283] * 3))
    rounded = run("metric_frozen", S("val/loss", [2.29] * 3))
    acc = run("metric_frozen", S("val/acc", [0.14666666666666667] * 3))
    assert exact.fired and exact.measures["evals"] == 3
    assert not rounded.fired and rounded.cannot_judge  # two digits repeat by rounding: 5 needed
    assert not acc.fired and acc.cannot_judge  # an accuracy is a count: it repeats honestly
    assert run("metric_frozen", S("val/acc", [0.25] * 6)).fired
    # a perfect score from the first evaluation on is frozen too: degenerate data (one class) or a leak
    assert run("metric_frozen", S("val/acc", [1.0] * 8)).fired
    assert not run("metric_frozen", S("val/loss", [2.2945587635040283, 2.2945587635040283, 2.29455876])).fired


def test_metric_moves_reads_the_later_half_of_the_evaluations():
    assert run("metric_moves", S("val/loss", [0.0086, 0.00055, 0.00029, 0.00024, 0.00021, 0.00018])).fired
    # moved at first, then the same value to the end (the weights stopped changing): not moving
    frozen_late = run("metric_moves", S("val/loss", [0.314, 0.31345, 0.31326] + [0.31323] * 9))
    assert not frozen_late.fired and frozen_late.measures["distinct"] == 1
    assert run("metric_moves", S("val/loss", [0.3, 0.2, 0.1])).cannot_judge


@pytest.mark.parametrize("width", [2, 5, 7, 50, 51, 65, 500])
def test_bucket_medians_are_numpys_medians(width):
    """Row medians (bucketing) by a network for rows of five, sorts of short rows and selection
    in long ones: np.median's values exactly, ties and NaN rows included."""
    import itertools

    from logsleuth.detectors import base

    rng = np.random.default_rng(width)
    rows = np.round(rng.normal(size=(2_000, width)), 1)
    if width == 5:  # every row of five values from 0..4: all orders, all ties
        rows = np.array(list(itertools.product(range(5), repeat=5)), dtype=float)
    assert np.array_equal(base.row_medians(rows), np.median(rows, axis=1))
    rows[3, 0] = np.nan
    assert np.array_equal(base.row_medians(rows), np.median(rows, axis=1), equal_nan=True)


def test_no_learning_needs_a_late_fall_of_some_size_not_only_a_significant_one():
    st = np.arange(50, dtype=float)
    rng = np.random.default_rng(0)
    # ln 10 to the sixth digit for 50 epochs, creeping down by 3e-5 on noise of 1e-7: significant, and of no size
    stuck = 2.302585 - 3e-5 * st / 50 + rng.normal(0, 1e-7, st.size)
    ev = run("no_learning", S("train/loss", stuck, st))
    assert ev.fired and ev.measures["late_t"] < -4 and ev.measures["late_fall"] < 1e-4
    # a language model creeping down 0.8 nats over its second half learns, however flat its quarters look
    lm = np.r_[np.full(25, 6.0), np.linspace(6.0, 5.2, 25)] + rng.normal(0, 0.01, 50)
    assert not run("no_learning", S("train/loss", lm, st), tol=0.2).fired


def _score_run(seed: int = 0, nan_at: float | None = None):
    """synth.healthy with 30 evaluations; validation accuracy climbing from 0.3 to 0.75 over the
    first 30% and holding there until `nan_at` (share of the run), where the training loss turns
    NaN and the accuracy drops to chance (0.1)."""
    h = synth.healthy(seed=seed, epochs=30)
    rng = np.random.default_rng(seed)
    x = h.val_steps / h.steps[-1]
    acc = np.minimum(0.3 + 1.5 * x, 0.75) + rng.normal(0, 0.003, h.val_steps.size)
    tl = h.train_loss.copy()
    if nan_at is not None:
        cut = nan_at * h.steps[-1]
        tl[h.steps >= cut] = np.nan
        acc[h.val_steps >= cut] = 0.1
    return S("train/loss", tl, h.steps), S("val/acc", acc, h.val_steps)


def test_val_score_falls_ignores_the_score_after_the_training_loss_went_nan():
    """A model whose training loss turned NaN scores at chance afterwards: that drop is the
    blow-up's (nan.* rules), not memorisation."""
    assert not run("val_score_falls", *_score_run(nan_at=0.6)).fired
    tl, _ = _score_run()
    _, fallen = _score_run(nan_at=0.6)  # the same drop, the training loss finite throughout
    assert run("val_score_falls", tl, fallen).fired


def test_val_score_falls_reads_percent_and_fraction_alike():
    tl = TL
    x = H.val_steps / H.steps[-1]
    frac = np.where(x <= 0.35, 0.3 + 1.3 * x, 0.755 - 0.2 * (x - 0.35))
    a = run("val_score_falls", tl, S("val/acc", frac, H.val_steps))
    b = run("val_score_falls", tl, S("val/acc", frac * 100, H.val_steps))
    assert a.fired and b.fired
    assert a.measures["drop"] == pytest.approx(b.measures["drop"])


def test_val_score_falls_needs_a_rise_before_the_fall():
    """A score worse than its first evaluation from the start (a fine-tune that only loses what
    the pretrained weights had) is not memorisation: the rule asks for a gain first."""
    x = H.val_steps / H.steps[-1]
    only_down = S("val/acc", 0.75 - 0.15 * x, H.val_steps)
    ev = run("val_score_falls", TL, only_down)
    assert not ev.fired and ev.measures["drop"] >= 0.1 and ev.measures["gain"] < 0.05


def test_val_rise_measures_training_from_the_logged_best_it_names():
    """Per-epoch means: validation and training both reach their best at epoch 6 and both turn up
    after it.  The smoothed validation minimum ties at epochs 5 and 6 (a 3-point median), and
    training measured from epoch 5, before its own drop, looked like it 'kept falling'.  From the
    logged best the report names as the point to stop, training rose too: not overfitting."""
    st = np.arange(10.0)
    val = S("val/loss", [0.29, 0.32, 0.115, 0.21, 0.15, 0.071, 0.070, 0.080, 0.087, 0.091], st)
    both_up = S("train/loss", [1.03, 0.26, 0.17, 0.147, 0.135, 0.1345, 0.0636, 0.078, 0.09, 0.0934], st)
    ev = run("val_rise", both_up, val)
    assert ev.measures["best_step"] == 6.0 and ev.measures["train_fall"] < 0 and not ev.fired
    # the same validation curve while training keeps falling after epoch 6 is the textbook picture
    falls = S("train/loss", [1.03, 0.26, 0.17, 0.147, 0.135, 0.1345, 0.0636, 0.05, 0.04, 0.032], st)
    ev = run("val_rise", falls, val)
    assert ev.fired and ev.measures["train_fall"] > 0.5


def test_val_rise_regain_is_the_rise_in_the_loss_own_units():
    """The per-epoch curve above (training falling): validation rose 1.3x from its best, but gave
    back 8% of its fall from the first evaluation; `min_regain` 0.1 asks for more, which a
    turn-up to 0.2 gives."""
    st = np.arange(10.0)
    falls = S("train/loss", [1.03, 0.26, 0.17, 0.147, 0.135, 0.1345, 0.0636, 0.05, 0.04, 0.032], st)
    floor = S("val/loss", [0.29, 0.32, 0.115, 0.21, 0.15, 0.071, 0.070, 0.080, 0.087, 0.091], st)
    ev = run("val_rise", falls, floor, min_regain=0.05)
    assert ev.fired and 0.05 < ev.measures["regain"] < 0.1
    assert not run("val_rise", falls, floor, min_regain=0.1).fired
    up = S("val/loss", [0.29, 0.32, 0.115, 0.21, 0.15, 0.071, 0.070, 0.11, 0.16, 0.2], st)
    ev = run("val_rise", falls, up, min_regain=0.1)
    assert ev.fired and ev.measures["regain"] > 0.3


def test_without_a_class_count_the_upper_skill_bound_can_be_switched_off():
    """An accuracy of 0.38 and no class count: at most 38% of the way from chance to 1 for a
    classifier; a language model logging next-token accuracy looks the same, so with
    bound_unknown_classes off there is no `skill` to call too low, while the floor (what a
    claim of skill uses) stays."""
    ctx = RunContext(kind="classification", single_ce=True)
    loss = S("loss", np.geomspace(3.9, 1.9, 50))
    acc = S("eval_accuracy", np.linspace(0.1, 0.38, 10), np.linspace(5, 50, 10))
    on = run("class_reference", loss, acc, ctx=ctx, bound_unknown_classes=True)
    off = run("class_reference", loss, acc, ctx=ctx, bound_unknown_classes=False)
    assert on.measures["skill"] == pytest.approx(0.38, abs=0.02) and off.measures["skill"] is None
    assert on.measures["skill_floor"] == off.measures["skill_floor"] == 0.0
    high = S("eval_accuracy", np.linspace(0.5, 0.9, 10), np.linspace(5, 50, 10))
    assert run("class_reference", loss, high, ctx=ctx, bound_unknown_classes=False).measures["skill_floor"] > 0.7


def test_metric_frozen_allows_float32_rounding_only_when_asked():
    """Epoch averages of a loss that never moves differ in their ninth digit (the same float32 batch
    losses summed in another order): frozen within 1e-6, not exactly; a loss moving 1e-4 is not."""
    v = [4.844187259674072] * 10 + [4.844187251983151, 4.8441872750559165]
    assert not run("metric_frozen", S("train/loss", v)).fired
    ev = run("metric_frozen", S("train/loss", v), rel_tol=1e-6)
    assert ev.fired and "within" in ev.text and "logged points" in ev.text
    assert not run("metric_frozen", S("train/loss", np.array(v) * (1 + 1e-4 * np.arange(12))), rel_tol=1e-6).fired


def test_accuracy_skill_bounds_the_skill_whatever_the_class_count():
    """An accuracy a is at least 2a - 1 of the way from chance to perfect (its value for two
    classes); a percentage reads as a fraction; an accuracy below a half bounds nothing."""
    st = np.arange(1.0, 11.0)
    wobble = 0.92 + np.tile([-0.001, 0.001], 5)  # predictions that change between evaluations
    assert run("accuracy_skill", S("val/acc", wobble, st)).measures["skill_floor"] == pytest.approx(0.84)
    assert run("accuracy_skill", S("val/acc", 100 * wobble, st)).measures["skill_floor"] == pytest.approx(0.84)
    assert run("accuracy_skill", S("val/acc", np.full(10, 0.3), st)).measures["skill_floor"] == 0.0


def test_an_accuracy_that_is_one_prediction_shows_no_skill():
    """The same accuracy at ten evaluations or more is one class predicted for every input: its
    level is that class's share of the set (an imbalanced binary set's 0.83), so it bounds no
    skill, with or without a class count; nine evaluations of a converged model still do."""
    st = np.arange(1.0, 11.0)
    assert run("accuracy_skill", S("val/acc", np.full(10, 0.83), st)).measures["skill_floor"] == 0.0
    assert run("accuracy_skill", S("val/acc", np.full(10, 83.0), st)).measures["skill_floor"] == 0.0
    assert run("accuracy_skill", S("val/acc", np.full(9, 0.83), st[:9])).measures["skill_floor"] == pytest.approx(0.66)
    binary = RunContext(kind="binary")
    loss = S("loss", np.full(10, 0.45) + np.linspace(0, 1e-3, 10), st)
    frozen = run("class_reference", loss, S("val/acc", np.full(10, 0.83), st), ctx=binary)
    assert frozen.measures["skill"] == pytest.approx(0.66) and frozen.measures["skill_floor"] == 0.0


def test_discriminator_wins_reads_only_a_floored_discriminator_loss():
    """The discriminator is found by name among a GAN's losses; it must fall from above max_end
    to it (a loss at ~0 from its first point never 'won'), and a critic below 0 has no floor."""
    gan = RunContext(kind="gan")
    st = np.arange(1.0, 201.0)
    falls = S("loss_D", 0.02 + 1.36 * np.exp(-st / 10), st)
    g = S("loss_G", np.linspace(1.2, 8.0, 200), st)
    assert run("discriminator_wins", [g, falls], ctx=gan).fired
    assert not run("discriminator_wins", [g, S("loss_D", np.full(200, 0.02), st)], ctx=gan).fired
    assert run("discriminator_wins", [g, S("critic_loss", -10 * falls.values, st)], ctx=gan).cannot_judge
    assert run("discriminator_wins", [g, falls], ctx=RunContext(kind="rl")).cannot_judge


def test_epoch_periodic_places_a_staircase_at_the_true_epoch_boundaries():
    """A ten-epoch fine-tune logged every 500 steps with 2,800 steps an epoch (5.6 points each):
    the loss drops at every epoch boundary and holds within the epoch - seen examples are
    remembered, not a fixed data order.  Boundaries taken every 6 points (the rounded lag) drift
    four points over the run, leave each step in the residual, and called it periodic."""
    from logsleuth.detectors.instability import epoch_periodic

    st = np.arange(500, 28000, 500, dtype=float)
    rng = np.random.default_rng(3)
    level = 0.8 * 0.62 ** np.floor(st / 2800)  # one level per epoch
    v = level * np.exp(rng.normal(0, 0.03, st.size))
    ev = epoch_periodic(S("loss", v, st), ctx=RunContext(epoch_len=2800))
    assert not ev.fired, ev.measures
    assert ev.measures["acf_within"] < 0.3


def test_a_log_one_interval_in_is_logged_from_the_start_and_a_resumed_one_is_not():
    from logsleuth.detectors.base import covers_start, logged_from_start
    hf = np.arange(10.0, 101.0, 10.0)  # logging_steps=10 over 100 steps: 10 points, the first a mean of steps 1-10
    assert not covers_start(hf) and logged_from_start(hf)
    assert logged_from_start(np.arange(1.0, 7.0))  # epochs 1..6 (a counter from 1)
    assert not logged_from_start(np.arange(3249.0, 4600.0, 50.0))  # resumed: 3,249 steps went unlogged
    assert not logged_from_start(np.array([100.0, 200.0, 300.0]))  # a third of the run before its first point
    # no_learning judges such a log: flat at 10.82 for 100 steps is "never moved", not "a converged model"
    flat = S("loss", 10.824 + np.random.default_rng(0).normal(0, 0.001, hf.size), hf)
    ev = run("no_learning", flat)
    assert ev.fired and ev.measures["from_start"] is True
    resumed = S("loss", 10.824 + np.random.default_rng(0).normal(0, 0.001, 28), np.arange(3249.0, 4600.0, 50.0))
    assert run("no_learning", resumed).measures["from_start"] is False


def test_epoch_length_from_per_epoch_evaluations_keeps_a_final_early_one():
    """Evaluations every 29 steps give the epoch length, also when the job stops mid-epoch and
    evaluates once more 9 steps later (max_steps); irregular evaluations give none."""
    from logsleuth.ruleset.context import epoch_length

    loss = S("loss", np.linspace(4.0, 2.0, 820), steps=np.arange(820))
    ev = np.append(28 + 29 * np.arange(29), 28 + 29 * 28 + 9)
    series = {"loss": loss, "val_loss": S("val_loss", np.linspace(4.0, 2.5, ev.size), steps=ev)}
    assert epoch_length(series) == 29.0
    uneven = np.cumsum([28, 29, 12, 40, 29, 29, 5, 60])
    series["val_loss"] = S("val_loss", np.linspace(4.0, 2.5, uneven.size), steps=uneven)
    assert epoch_length(series) is None


@pytest.mark.parametrize("rate,optimizer,hparams,where", [
    (1e-3, "adam", {}, "within"), (5e-5, "adam", {}, "below"), (1e-3, "sgd", {}, "below"), (0.05, "sgd", {}, "within"),
    (1e-3, None, {}, "unknown"), (0.01, None, {}, "unknown"), (0.05, None, {}, "within"), (1e-5, None, {}, "below"),
    (None, None, {}, "unknown"), (None, "sgd", {"learning_rate": 0.1}, "within"),
])
def test_lr_scratch_range_places_the_rate_against_its_optimizer(rate, optimizer, hparams, where):
    lr = S("lr", np.full(20, rate)) if rate is not None else None
    ev = REGISTRY["lr_scratch_range"].func(lr, ctx=RunContext(optimizer=optimizer, hparams=hparams))
    assert ev.measures["range"] == where and not ev.fired
