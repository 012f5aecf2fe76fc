"""Seeded synthetic runs that the rule case files (tests/rule_cases/*.yaml) name.

A case names a spec and its arguments: `{spec: diverging, args: {seed: 1}}`.  A spec is

- `synth.<generator>`: one of tests/synth.py's generators (its `truth` is checked against the
  rule's symptom when the case is a `fire` case);
- `reference.<family>`: a healthy run of logsleuth.healthy_runs' families (the healthy reference
  set of the trust issue, so its families serve as `quiet` cases);
- a builder below: a curve shaped for one rule or its near miss, with a `seed` argument.

Every builder is pure: the same spec and arguments give the same run.  `hparams` and `drop`
in a case are applied by `build` to any spec.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from logsleuth.healthy_runs import FAMILIES, make_run
from logsleuth.model import RunData

import synth

BUILDERS: dict[str, Callable[..., RunData]] = {}


def builder(fn: Callable[..., RunData]) -> Callable[..., RunData]:
    BUILDERS[fn.__name__.lstrip("_")] = fn
    return fn


def table_of(parts: dict[str, tuple[Any, Any]]) -> pd.DataFrame:
    frames = [pd.DataFrame({"metric": k, "step": np.asarray(st, float), "value": np.asarray(v, float), "wall_time": np.nan})
              for k, (st, v) in parts.items()]
    return pd.concat(frames, ignore_index=True)


def run_from(parts: dict[str, tuple[Any, Any]], hparams: dict | None = None) -> RunData:
    """A run of the given series (name -> (steps, values)) as a reader would give it."""
    return RunData(name="t", path=".", formats=("test",), table=table_of(parts), hparams=hparams or {})


def run_of(curves: synth.Curves, extra: dict | None = None, hparams: dict | None = None, drop=()) -> RunData:
    """A synth.Curves as the tidy table a reader would give (the names most loggers use), with
    the class count in its hyperparameters unless a case gives its own (`hparams: {}`: none)."""
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
    parts = {k: v for k, v in parts.items() if k not in drop}
    hp = {"num_classes": curves.n_classes} if hparams is None else hparams
    return run_from(parts, hp)


def with_(c: synth.Curves, **kw) -> synth.Curves:
    c = copy.deepcopy(c)
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def healthy(seed: int = 3) -> synth.Curves:
    return synth.healthy(seed=seed)


# ----------------------------------------------------------------- non-finite values

@builder
def _explode_then_nan(seed: int = 1):
    d = synth.diverging(seed=seed)
    tl = np.r_[d.train_loss[:300] * np.geomspace(1, 1e4, 300), np.full(100, np.nan)]
    return run_of(with_(d, train_loss=tl))


@builder
def _nan_from_start(seed: int = 3):
    h = healthy(seed)
    return run_of(with_(h, train_loss=np.r_[2.3, np.full(h.steps.size - 1, np.nan)]))


@builder
def _val_nan_only(seed: int = 3):
    h = healthy(seed)
    return run_of(with_(h, val_loss=np.where(np.arange(h.val_steps.size) > 6, np.nan, h.val_loss)))


@builder
def _gan_nan(seed: int = 5, nan_from: int = 600):
    """Generator and discriminator losses around an equilibrium; the generator's turns NaN."""
    rng = np.random.default_rng(seed)
    st = np.arange(1.0, 801.0)
    g = 1.2 * np.exp(rng.normal(0, 0.2, st.size))
    g[nan_from:] = np.nan
    d = 1.38 * np.exp(rng.normal(0, 0.15, st.size))
    return run_from({"d_loss": (st, d), "g_loss": (st, g)})


@builder
def _gan_quality(seed: int = 5, shape: str = "falls"):
    """GAN losses around an equilibrium and an FID every 100 steps that `falls` (300 -> ~40),
    stays `flat` (noise around 280) or is `frozen` (the same value at every evaluation)."""
    rng = np.random.default_rng(seed)
    st = np.arange(1.0, 2001.0)
    d = 1.38 * np.exp(rng.normal(0, 0.15, st.size))
    g = 1.2 * np.exp(rng.normal(0, 0.2, st.size))
    ev = np.arange(100.0, 2001.0, 100.0)
    fid = {"falls": 40 + 260 * np.exp(-ev / 400), "flat": np.full(ev.size, 280.0), "frozen": np.full(ev.size, 281.4375)}[shape]
    if shape != "frozen":
        fid = fid * np.exp(rng.normal(0, 0.04, ev.size))
    return run_from({"d_loss": (st, d), "g_loss": (st, g), "eval/fid": (ev, fid)})


@builder
def _gan_d_wins(seed: int = 5, d_end: float = 0.02, extra: str = "", fid: str = ""):
    """An unconditional GAN whose discriminator loss (BCE) falls from 1.38 to `d_end` over its first
    tenth and stays, while the generator's loss climbs from 1.2 to ~8. `extra`: `l1` adds pix2pix's
    L1 term (loss_G_L1, its name there) beside the adversarial loss, `critic` logs a WGAN critic (negative) instead; `fid`:
    `flat` adds an FID stuck near 280."""
    rng = np.random.default_rng(seed)
    st = np.arange(1.0, 2001.0)
    d = (d_end + (1.38 - d_end) * np.exp(-st / 60)) * np.exp(rng.normal(0, 0.15, st.size))
    g = (8.0 - 6.8 * np.exp(-st / 300)) * np.exp(rng.normal(0, 0.1, st.size))
    parts = {"d_loss": (st, d), "g_loss": (st, g)}
    if extra == "l1":
        parts["loss_G_L1"] = (st, 40 * np.exp(-st / 500) + 8 + rng.normal(0, 0.3, st.size))
    if extra == "critic":
        parts = {"critic_loss": (st, -d * 10), "g_loss": (st, g)}
    if fid == "flat":
        ev = np.arange(100.0, 2001.0, 100.0)
        parts["eval/fid"] = (ev, 280.0 * np.exp(rng.normal(0, 0.04, ev.size)))
    return run_from(parts)


@builder
def _stuck_with_error(seed: int = 4):
    """A classifier stuck at chance that also logs a validation error rate, flat at 0.9."""
    s = synth.stuck(seed=seed)
    return run_of(s, {"val/error": (s.val_steps, np.full(s.val_steps.size, 0.9) + np.linspace(0, 0.002, s.val_steps.size))})


# ----------------------------------------------------------------- early phase

@builder
def _early_then_stuck(seed: int = 4):
    s = synth.stuck(seed=seed)
    tl = s.train_loss * (1 + 30 * np.exp(-((s.steps - 10) / 5) ** 2))
    return run_of(with_(s, train_loss=tl))


@builder
def _stuck_high_init(seed: int = 4):
    s = synth.stuck(seed=seed)
    tl = s.train_loss.copy()
    tl[:3] = [80.0, 40.0, 10.0]
    return run_of(with_(s, train_loss=tl))


@builder
def _high_initial(seed: int = 3, first: float = 60.0):
    """A healthy run whose first logged losses are far above ln(10), then normal training."""
    h = healthy(seed)
    tl = h.train_loss.copy()
    tl[:3] = [first, first / 2, first / 6]
    return run_of(with_(h, train_loss=tl))


@builder
def _delayed(seed: int = 5, first_acc: float = 0.45, flat_steps: int = 150, warmup_steps: int = 0):
    """Flat at ln 10 for `flat_steps`, then a normal fall.  The first accuracy says whether the
    flat start is chance (0.1 over 10 classes) or something else; `warmup_steps` > 0 logs a
    learning rate that ramps up linearly over that many steps, then holds."""
    h = healthy(3)
    rng = np.random.default_rng(seed)
    n = h.steps.size
    tl = np.r_[np.full(flat_steps, 2.3), 2.3 * np.exp(-np.arange(n - flat_steps) / 60) + 0.05] * np.exp(rng.normal(0, 0.005, n))
    acc = h.val_acc.copy()
    acc[0] = first_acc
    lr = h.lr if not warmup_steps else 1e-3 * np.minimum(1.0, (np.arange(n) + 1) / warmup_steps)
    return run_of(with_(h, train_loss=tl, val_acc=acc, lr=lr))


@builder
def _lm_start(first: float = 60.0, seed: int = 3):
    """A language model (train/loss beside a validation perplexity, no accuracy): 600 steps falling
    from `first` (its first three logged values first, first/2, first/4) to ~2.1 nats."""
    rng = np.random.default_rng(seed)
    st = np.arange(1, 601, dtype=float)
    loss = (2.1 + 3.0 * np.exp(-st / 80)) * np.exp(rng.normal(0, 0.02, st.size))
    loss[:3] = [first, first / 2, first / 4] if first > loss[0] else loss[:3]
    ev = np.arange(60, 601, 60, dtype=float)
    vl = 2.2 + 3.0 * np.exp(-ev / 80)
    parts = {"train/loss": (st, loss), "val/loss": (ev, vl), "val/ppl": (ev, np.exp(vl))}
    return run_from(parts)


@builder
def _flat_until_lr_cut(seed: int = 5):
    h = healthy(3)
    rng = np.random.default_rng(seed)
    n = h.steps.size
    lr = np.where(h.steps < 0.4 * n, 1.0, 0.1)
    tl = np.where(h.steps < 0.4 * n, 2.3, 0.3 + 2.0 * np.exp(-(h.steps - 0.4 * n) / 30)) * np.exp(rng.normal(0, 0.01, n))
    return run_of(with_(h, train_loss=tl, lr=lr))


# ----------------------------------------------------------------- flat, stuck, slow

@builder
def _flat_not_chance(seed: int = 4, acc_from: float | None = None, acc_to: float | None = None,
                     acc_exact: float | None = None):
    """Flat at 0.7 x ln 10 with accuracy 0.4 throughout; or with the accuracy climbing from
    `acc_from` to `acc_to` (a model that learned while its loss barely moved); or exactly
    `acc_exact` at every evaluation (one class predicted for every input)."""
    s = synth.stuck(seed=seed)
    acc = s.val_acc + 0.3 if acc_from is None else s.val_acc - 0.1 + np.linspace(acc_from, acc_to, s.val_acc.size)
    if acc_exact is not None:
        acc = np.full(s.val_acc.size, acc_exact)
    return run_of(with_(s, train_loss=s.train_loss * 0.7, val_loss=s.val_loss * 0.7, val_acc=acc))


def _flat_plateau(rng, n=600, level=1.45, start=2.3):
    st = np.arange(1, n + 1, dtype=float)
    tr = (level + (start - level) * np.exp(-st / 60)) * np.exp(rng.normal(0, 0.003, n))
    return st, tr


@builder
def _plateau(seed: int = 5, acc: float = 0.4, level: float = 1.45, val_ratio: float = 1.0, start: float = 2.3):
    """Falls from `start` (ln 10) to `level`, then flat; accuracy flat at `acc`; validation at
    `val_ratio` times training."""
    h = healthy(3)
    rng = np.random.default_rng(seed)
    st, tr = _flat_plateau(rng, level=level, start=start)
    a = np.full(h.val_steps.size, acc) + rng.normal(0, 0.002 if acc > 0.9 else 0.01, h.val_steps.size)
    return run_of(with_(h, train_loss=tr, val_loss=np.interp(h.val_steps, st, tr) * val_ratio, val_acc=a, train_acc=np.minimum(a + 0.01, 1)))


@builder
def _underfit(seed: int = 5, still_improving: bool = False):
    """A classifier at ~35% accuracy over 10 classes, training and validation close; validation
    either still falling at its early pace at the end, or flat over the second half."""
    h = healthy(3)
    rng = np.random.default_rng(seed)
    n = h.steps.size
    st = h.steps
    trend = 2.3 - 0.75 * st / n if still_improving else 1.5 + 0.8 * np.exp(-st / 60)
    tl = trend * np.exp(rng.normal(0, 0.01, n))
    k = h.val_steps.size
    val = np.interp(h.val_steps, st, trend) * 1.01
    # a real evaluation of a changing model wobbles by a few tenths of a point (an exact constant is eval.frozen-metric's)
    acc = (np.linspace(0.25, 0.35, k) if still_improving else np.full(k, 0.35)) + rng.normal(0, 0.002, k)
    return run_of(with_(h, train_loss=tl, val_loss=val, val_acc=acc, train_acc=acc + 0.01, lr=np.full(n, 3e-3)))


@builder
def _flat_regression(seed: int = 8):
    """A regression (mse loss, val_mae, no accuracy) that stops at a floor from the first epoch."""
    st = np.arange(0.0, 40.0)
    g = np.random.default_rng(seed)
    loss = 0.49 * np.exp(g.normal(0, 0.01, 40))
    loss[:2] = [0.64, 0.55]
    return run_from({
        "loss": (st, loss), "val_loss": (st, 0.46 * np.exp(g.normal(0, 0.005, 40))),
        "val_mae": (st, 0.46 * np.exp(g.normal(0, 0.005, 40))), "learning_rate": (st, np.full(40, 3e-3))})


@builder
def _raw_scale_regression(seed: int = 8, scale: float = 40.0):
    """A healthy regression on raw-scale targets (about `scale` in size): MSE starts near
    scale^2 and falls 50x, the way standardised targets fall from 1."""
    st = np.arange(0.0, 300.0)
    g = np.random.default_rng(seed)
    loss = scale ** 2 * (0.02 + np.exp(-st / 40)) * np.exp(g.normal(0, 0.03, st.size))
    ev = st[::30]
    val = scale ** 2 * (0.025 + np.exp(-ev / 40))
    return run_from({
        "loss": (st, loss), "val_loss": (ev, val), "val_mae": (ev, np.sqrt(val)), "learning_rate": (st, np.full(st.size, 1e-3))})


@builder
def _rl_returns(seed: int = 3, shape: str = "rise", start: float = -200.0, top: float = -20.0, first: float = 10.0,
                evals: str = "none"):
    """An RL run: 120 episode returns from step `first` to 30,000 and a policy loss. `shape`:
    rise (start -> top, kept), flat (noise around start), collapse (start -> top by a third of
    the run, then back to start), dip (rises, loses a fifth of it, ends near top), early (the
    first few episodes score high by luck, the rest near start).  `evals`: none, or 20
    evaluation returns (`eval/mean_reward`) that follow the curve (follow) or are exactly the
    start level every time (frozen)."""
    g = np.random.default_rng(seed)
    st = np.round(np.linspace(first, 30_000.0, 120))
    u = np.linspace(0.0, 1.0, st.size)
    gain = top - start
    curve = {"rise": start + gain * (1 - np.exp(-u / 0.25)),
             "flat": np.full(st.size, start),
             "collapse": start + gain * np.where(u < 0.35, 1 - np.exp(-u / 0.1), np.exp(-(u - 0.35) / 0.1)),
             "dip": start + gain * (1 - np.exp(-u / 0.15)) * np.where((u > 0.5) & (u < 0.7), 0.8, 1.0),
             "early": start + gain * np.where(u < 0.05, 1.0, 0.1)}[shape]
    ret = curve + g.normal(0, 0.04 * abs(gain), st.size)
    loss_st = np.arange(1.0, 30_001.0, 100.0)
    parts = {"rollout/ep_rew_mean": (st, ret), "train/policy_loss": (loss_st, g.normal(0, 0.05, loss_st.size)),
             "train/learning_rate": (loss_st, np.full(loss_st.size, 3e-4))}
    if evals != "none":
        ev = st[5::6]
        score = np.full(ev.size, round(start, 2)) if evals == "frozen" else np.round(np.interp(ev, st, curve) + g.normal(0, 0.04 * abs(gain), ev.size), 2)
        parts["eval/mean_reward"] = (ev, score)
    return run_from(parts)


@builder
def _slow(seed: int = 5, lr: float = 1e-5):
    return run_of(with_(synth.slow(seed=seed), lr=np.full(1000, lr)))


# ----------------------------------------------------------------- noise and oscillation

def noisy_curves(lr: float = 0.05, seed: int = 11) -> synth.Curves:
    c = synth.healthy(seed=4, n=800)
    g = np.random.default_rng(seed)
    tl = 1.5 * np.exp(g.normal(0, 1.2, 800))
    k = c.val_steps.size
    return with_(c, train_loss=tl, val_loss=1.6 + g.normal(0, 0.02, k), val_acc=0.3 + g.normal(0, 0.01, k),
                 train_acc=0.3 + g.normal(0, 0.01, k), lr=np.full(800, lr))


@builder
def _noisy_no_progress(seed: int = 11, lr: float = 0.05):
    """A per-batch loss with lognormal noise of sigma 1.2 around a flat level; validation flat."""
    return run_of(noisy_curves(lr=lr, seed=seed))


@builder
def _noisy_but_learning(seed: int = 11, sigma: float = 0.6):
    """A noisy per-batch loss (lognormal sigma 0.6) whose trend falls 10x; validation follows."""
    c = synth.healthy(seed=4, n=800)
    g = np.random.default_rng(seed)
    trend = 0.2 + 2.1 * np.exp(-c.steps / 150)
    tl = trend * np.exp(g.normal(0, sigma, 800))
    return run_of(with_(c, train_loss=tl, val_loss=np.interp(c.val_steps, c.steps, trend) * 1.2))


@builder
def _smooth_decay(n: int = 60_000, seed: int = 0):
    """A noiseless hyperbolic decay 2.3 / (1 + t/1000) with a linearly rising accuracy: any coarse
    detrending leaves a smooth, periodic-looking residual, but the curve never rises."""
    st = np.arange(float(n))
    return run_from({"loss": (st, 2.3 / (1 + st / 1000)), "acc": (st, st / (10 * n))})


@builder
def _oscillating(seed: int = 5, period: float = 37.0):
    c = synth.healthy(seed=4, n=800)
    rng = np.random.default_rng(seed)
    tl = (1.2 + 0.8 * np.sin(c.steps * 2 * np.pi / period)) * np.exp(rng.normal(0, 0.02, 800))
    return run_of(with_(c, train_loss=tl))


# ----------------------------------------------------------------- generalisation

@builder
def _slow_noisy_labels(seed: int = 5):
    s = synth.slow(seed=seed)
    x = s.val_steps / s.steps[-1]
    val = np.interp(s.val_steps, s.steps, s.train_loss) * 0.9 + 2.0 * np.clip(x - 0.3, 0, None)
    # no accuracy: the slow generator's keeps rising, which beside a rising loss is over-confidence
    return run_of(with_(s, val_loss=val), drop=("val/acc", "train/acc"))


@builder
def _slow_then_val_up(seed: int = 5):
    """Slow, linear training fall while validation turns up after a third of the run."""
    s = synth.slow(seed=seed)
    x = s.val_steps / s.steps[-1]
    val = np.interp(s.val_steps, s.steps, s.train_loss) * 0.7 + 1.5 * np.clip(x - 0.35, 0, None) ** 1.5
    return run_of(with_(s, val_loss=val), drop=("val/acc", "train/acc"))


@builder
def _overfit_acc(seed: int = 2, val_acc: tuple = (0.93, 0.93), train_acc: tuple | None = None):
    """synth.overfitting with validation (and training) accuracy as straight lines from/to."""
    c = synth.overfitting(seed=seed)
    k = c.val_steps.size
    rng = np.random.default_rng(seed)
    va = np.linspace(*val_acc, k) + rng.normal(0, 0.003, k)
    ta = np.linspace(*train_acc, k) if train_acc else c.train_acc
    return run_of(with_(c, val_acc=va, train_acc=ta))


@builder
def _score_falls(seed: int = 5, drop: float = 0.15, stall: bool = False):
    """Validation accuracy climbs to 0.75 by a third of the run, then loses `drop` points by the
    end while the validation loss keeps falling slowly (no turn-up); `stall`: after that third the
    training loss stays flat and validation loss climbs 60% above its best instead."""
    h = synth.healthy(seed=seed, epochs=30)
    rng = np.random.default_rng(seed)
    x = h.val_steps / h.steps[-1]
    peak = 0.75
    acc = np.where(x <= 1 / 3, 0.3 + (peak - 0.3) * 3 * x, peak - drop * (x - 1 / 3) * 1.5) + rng.normal(0, 0.004, x.size)
    if not stall:
        return run_of(with_(h, val_acc=acc, train_acc=acc + 0.02))
    cut = h.steps[-1] / 3
    tl = np.where(h.steps <= cut, h.train_loss, np.interp(cut, h.steps, h.train_loss) * np.exp(rng.normal(0, 0.05, h.steps.size)))
    best = float(np.interp(cut, h.val_steps, h.val_loss))
    val = np.where(x <= 1 / 3, h.val_loss, best * (1 + 0.6 * (x - 1 / 3) * 1.5))
    return run_of(with_(h, train_loss=tl, val_loss=val, val_acc=acc, train_acc=acc + 0.02))


@builder
def _val_worsens(seed: int = 5):
    """Training stalls after warmup while validation climbs 60% above its best."""
    h = healthy(3)
    rng = np.random.default_rng(seed)
    k = h.val_steps.size
    val = np.r_[np.linspace(1.0, 0.6, k // 4), np.linspace(0.6, 0.96, k - k // 4)]
    tl = 0.8 + 0.6 * np.exp(-h.steps / 40) + rng.normal(0, 0.01, h.steps.size)
    return run_of(with_(h, train_loss=tl, val_loss=val))


# ----------------------------------------------------------------- evaluation

@builder
def _frozen_val_loss(seed: int = 3, value: float = 1.234, evals: int | None = None, train_fall: float | None = None):
    """Validation loss `value` at every evaluation; `evals`: only that many evaluations, spread over the run;
    `train_fall`: the training loss falls only this share from its start (a fine-tune's small move)."""
    h = healthy(seed)
    if train_fall is not None:
        tl = h.train_loss
        lo, hi = float(np.min(tl)), float(tl[0])
        h = with_(h, train_loss=lo * (1 + train_fall / (1 - train_fall) * (tl - lo) / (hi - lo)))
    if evals is not None:
        keep = np.linspace(0, h.val_steps.size - 1, evals).round().astype(int)
        h = with_(h, val_steps=h.val_steps[keep], val_acc=h.val_acc[keep], train_acc=h.train_acc[keep],
                  val_loss=h.val_loss[keep])
    return run_of(with_(h, val_loss=np.full(h.val_steps.size, value)))


@builder
def _frozen_train_loss(value: float = 4.844187259674072, epochs: int = 12, epoch_len: int = 62, acc: str = "frozen",
                       val: str = "frozen"):
    """A per-epoch log (one point per epoch end, from step `epoch_len`) whose training loss is exactly
    `value` at every epoch; validation loss `frozen` at value + 1.39 or `moves` (rising 1.4 -> 2.0,
    a memorised run); validation accuracy `frozen` at 0.092, or `climbs` from 0.3 to 0.8 (the model
    learned; the written training loss is stale)."""
    st = epoch_len * np.arange(1, epochs + 1, dtype=float)
    a = np.full(epochs, 0.092) if acc == "frozen" else np.linspace(0.3, 0.8, epochs)
    vl = np.full(epochs, value + 1.39) if val == "frozen" else np.linspace(1.4, 2.0, epochs)
    parts = {"train/loss": (st, np.full(epochs, value)), "val/loss": (st, vl),
             "val/acc": (st, a), "epoch": (st, np.arange(epochs, dtype=float))}
    return run_from(parts)


@builder
def _flat_interval_log(first: int = 10, every: int = 10, last: int = 100, level: float = 3.55, seed: int = 2):
    """A trainer's log every `every` steps from step `first` to `last` (Hugging Face's
    logging_steps: the first point is one interval in), the loss flat at `level` with 0.3% noise."""
    rng = np.random.default_rng(seed)
    st = np.arange(first, last + 1, every, dtype=float)
    return run_from({"train/loss": (st, level * np.exp(rng.normal(0, 0.003, st.size)))})


@builder
def _zero_loss_log(first: int = 10, every: int = 10, last: int = 1000, grad_norm: bool = False, fall_first: bool = False):
    """A trainer's log every `every` steps from step `first` to `last` whose loss is exactly 0 at
    every point (`fall_first`: falls from 2.3 over the first half, written with 4 decimals, then 0),
    optionally with a gradient norm of exactly 0 beside it."""
    st = np.arange(first, last + 1, every, dtype=float)
    loss = np.zeros(st.size)
    if fall_first:
        half = st.size // 2
        loss[:half] = np.round(2.3 * np.exp(-np.arange(half) / 3.0), 4)
    parts = {"train/loss": (st, loss)}
    if grad_norm:
        parts["grad_norm"] = (st, np.zeros(st.size))
    return run_from(parts)


@builder
def _flat_contrastive(acc: float = 0.92, seed: int = 4, first_fall: float = 0.2):
    """A contrastive run (an InfoNCE loss, no class count): the per-step loss falls `first_fall`
    over its first ~15 steps, then stays flat near 4.25 (2% noise); a kNN accuracy holds at `acc`
    over 10 evaluations."""
    rng = np.random.default_rng(seed)
    st = np.arange(1, 401, dtype=float)
    loss = (4.25 + first_fall * np.exp(-st / 5)) * np.exp(rng.normal(0, 0.02, st.size))
    ev = np.linspace(40, 400, 10)
    parts = {"train/infonce_loss": (st, loss), "val/knn_acc": (ev, acc + rng.normal(0, 0.002, ev.size))}
    return run_from(parts)


@builder
def _frozen_acc_moving_loss(seed: int = 3, value: float = 0.1875):
    """Validation accuracy exactly `value` at every evaluation while the validation loss keeps moving."""
    h = healthy(seed)
    return run_of(with_(h, val_acc=np.full(h.val_steps.size, value)))


@builder
def _one_prediction(evals: int = 20, value: float = 0.262, fall: float = 0.22, seed: int = 6):
    """A binary classifier whose validation accuracy is exactly `value` at each of `evals` per-epoch
    evaluations (the same class predicted for every input) while its training and validation
    losses fall `fall` (relative) from 0.81 with 0.5% noise; its training accuracy wobbles near 0.31."""
    rng = np.random.default_rng(seed)
    st = 44.0 * np.arange(1, evals + 1)
    curve = 0.81 * (1 - fall * (1 - np.exp(-np.arange(evals) / (evals / 3))))
    parts = {"loss": (st, curve * np.exp(rng.normal(0, 0.005, evals))),
             "acc": (st, 0.307 + rng.normal(0, 0.002, evals)),
             "val_loss": (st, 1.02 * curve * np.exp(rng.normal(0, 0.005, evals))),
             "val_acc": (st, np.full(evals, value)), "epoch": (st, np.arange(evals, dtype=float))}
    return run_from(parts)


@builder
def _score_at_zero(evals: int = 7, fall: float = 0.15, score: str = "zero", seed: int = 7):
    """A short detection-like run (a loss of three parts, logged every 5 steps to step 100; a
    validation loss and mAP50 every 14): both losses fall `fall` (relative) from 10.2 and 9.2;
    mAP50 is exactly 0 at every evaluation (`zero`) or `rises` from 0 to 0.3."""
    rng = np.random.default_rng(seed)
    st = np.arange(5, 101, 5, dtype=float)
    ev = np.linspace(16, 100, evals).round()

    def shape(x):  # the curves' common shape: a fall of `fall` that levels off
        return 1 - fall * (1 - np.exp(-x / 40.0))

    loss = 10.2 * shape(st) * np.exp(rng.normal(0, 0.01, st.size))
    ap = np.zeros(evals) if score == "zero" else np.linspace(0.0, 0.3, evals)
    parts = {"loss": (st, loss), "box_loss": (st, 0.14 * loss), "cls_loss": (st, 0.23 * loss),
             "val_loss": (ev, 9.2 * shape(ev) * np.exp(rng.normal(0, 0.005, evals))), "mAP50": (ev, ap)}
    return run_from(parts)


@builder
def _frozen_score_moving_loss(seed: int = 3, value: float = 0.0):
    """A healthy classifier that also logs a validation F1 exactly `value` at every evaluation."""
    h = healthy(seed)
    return run_of(h, {"val/f1": (h.val_steps, np.full(h.val_steps.size, value))})


@builder
def _stuck_frozen_score(seed: int = 4):
    """Stuck at chance with an F1 of exactly 0 at every evaluation: nothing is learnt, so nothing is predicted."""
    c = synth.stuck(seed=seed)
    return run_of(c, {"val/f1": (c.val_steps, np.zeros(c.val_steps.size))})


@builder
def _stuck_frozen_acc(seed: int = 4):
    """Stuck at chance with an accuracy that is exactly 1/10 at every evaluation."""
    return run_of(with_(synth.stuck(seed=seed), val_acc=np.full(10, 0.1)))


# ----------------------------------------------------------------- gradients, updates, units

@builder
def _grads(kind: str = "explode", seed: int = 3):
    h = healthy(seed)
    st = h.steps
    if kind == "explode":
        return run_of(h, {"grad_norm": (st, np.geomspace(0.1, 1e4, st.size))})
    if kind == "burst":
        return run_of(h, {"grad_norm": (st, 0.5 * (1 + 2000 * np.exp(-((st - 10) / 4) ** 2)))})
    if kind == "vanish":
        return run_of(h, {f"grad_norm/{i}": (st, np.full(st.size, 10.0 ** (-2 * (5 - i)))) for i in range(6)}, drop=("grad_norm",))
    if kind == "layers_even":  # six layers within 10x of each other: nothing vanishes
        return run_of(h, {f"grad_norm/{i}": (st, np.full(st.size, 0.3 * 1.4 ** i)) for i in range(6)}, drop=("grad_norm",))
    if kind == "grow_slowly":  # a norm that doubles over the run, as weights grow: not an explosion
        return run_of(h, {"grad_norm": (st, np.linspace(0.5, 1.0, st.size))})
    raise ValueError(kind)


@builder
def _update_ratio(seed: int = 3, value: float = 1e-6):
    """The update/weight ratio of one layer, constant at `value` (1e-3 is the textbook target)."""
    h = healthy(seed)
    return run_of(h, {"update_ratio/0": (h.steps, np.full(h.steps.size, value))})


@builder
def _dead(seed: int = 3, last: float = 0.97):
    """The zero fraction of one ReLU layer rising from 0.5 to `last`."""
    h = healthy(seed)
    return run_of(h, {"zero_fraction/l1": (h.steps, np.linspace(0.5, last, h.steps.size))})


@builder
def _reg(seed: int = 3, total: bool = False, reg: float = 3.0):
    """A regularisation term of `reg` beside the data loss (or added into a total loss)."""
    h = healthy(seed)
    r = np.full(h.steps.size, reg)
    if total:
        return run_of(with_(h, train_loss=h.train_loss + reg), {"train/reg_loss": (h.steps, r)})
    return run_of(h, {"train/reg_loss": (h.steps, r), "train/data_loss": (h.steps, h.train_loss)})


# ----------------------------------------------------------------- learning rate

@builder
def _lr_drop(seed: int = 5, after: float = 0.4):
    """lr cut 10x at step 300; the loss level goes from 1.0 to `after`."""
    h = healthy(3)
    rng = np.random.default_rng(seed)
    st = h.steps
    lr = np.where(st < 300, 0.1, 0.01)
    tl = np.where(st < 300, 1.0, after) * np.exp(rng.normal(0, 0.02, st.size))
    # the accuracy follows the loss: flat where it is flat (a healthy run's rising accuracy beside
    # a loss that never moved would be two runs in one)
    # (0.4 over 10 classes: a third of the way from chance, so a loss that never moves is stuck, not converged)
    acc = np.where(h.val_steps < 300, 0.4, 0.4 + 0.6 * (1.0 - after)) + rng.normal(0, 0.003, h.val_steps.size)
    return run_of(with_(h, train_loss=tl, lr=lr, val_acc=acc, train_acc=acc + 0.01))


@builder
def _diverging_lr(seed: int = 1, lr: float = 0.01):
    return run_of(with_(synth.diverging(seed=seed), lr=np.full(400, lr)))


@builder
def _late_rise(seed: int = 1, end: float = 1.5):
    """Training loss only: ln 10 falling to 0.01 by step 300, then climbing steadily to `end`."""
    rng = np.random.default_rng(seed)
    st = np.arange(600)
    fall = np.exp(np.log(2.3) + (np.log(0.01) - np.log(2.3)) * np.minimum(st, 300) / 300)
    rise = np.exp(np.log(0.01) + (np.log(end) - np.log(0.01)) * np.maximum(st - 300, 0) / 299)
    loss = np.where(st < 300, fall, rise) * np.exp(rng.normal(0, 0.03, st.size))
    return run_from({"train/loss": (st, loss)})


@builder
def _noisy_floor(seed: int = 0, val: str = "improves", spread: float = 1.3):
    """A fine-tune near zero loss, each logged value one batch's (every 5 steps over 190): a
    log-normal spread of `spread` around 0.04, so single batches swing from 0.002 to 0.7;
    validation loss every 40 steps `improves` (0.21 -> 0.164, accuracy 0.92 -> 0.94) or `rises`
    (0.21 -> 0.6, accuracy 0.92 -> 0.80)."""
    rng = np.random.default_rng(seed)
    st = np.arange(5, 191, 5, dtype=float)
    loss = 0.04 * np.exp(rng.normal(0, spread, st.size))
    ev = np.array([40.0, 80.0, 120.0, 160.0, 190.0])  # on steps the training loss is logged at too
    vl = np.linspace(0.21, 0.164, ev.size) if val == "improves" else np.linspace(0.21, 0.6, ev.size)
    va = np.linspace(0.92, 0.94, ev.size) if val == "improves" else np.linspace(0.92, 0.80, ev.size)
    return run_from({"loss": (st, loss), "val_loss": (ev, vl), "val_acc": (ev, va)})


def build(case: dict) -> tuple[RunData, set[str]]:
    """The run a case describes, and the symptoms its generator says it shows (synth only)."""
    name, args = case["spec"], dict(case.get("args") or {})
    truth: set[str] = set()
    if name.startswith("synth."):
        curves = synth.GENERATORS[name[len("synth."):]](**args)
        run, truth = run_of(curves), set(curves.truth)
    elif name.startswith("reference."):
        family = name[len("reference."):]
        if family not in FAMILIES:
            raise KeyError(f"unknown reference family {family!r}; known: {sorted(FAMILIES)}")
        run = make_run(family, int(args.get("seed", 0)))
    elif name in BUILDERS:
        run = BUILDERS[name](**args)
    else:
        raise KeyError(f"unknown spec {name!r}; known: {sorted(BUILDERS)}, synth.<{'|'.join(synth.GENERATORS)}>, reference.<family>")
    drop = set(case.get("drop") or ())
    table = run.table[~run.table.metric.isin(drop)] if drop else run.table
    hparams = {**run.hparams, **(case.get("hparams") or {})}
    return RunData(name=run.name, path=run.path, formats=run.formats, table=table, hparams=hparams), truth
