"""Symptoms (taxonomy ids) that the written curves of one run show, by plain statistics of
the logged series -- what a careful reader of the files would see.  A few (underfitting,
high initial loss, vanishing gradients) also compare with the healthy twin, since "high"
needs a reference; those say so in their test.  Thresholds are written here once and are
not tuned to any detector of logsleuth.
"""

from __future__ import annotations

import math

import numpy as np

from .logview import Logged
from .measure import finite, head, noise, period_corr, spikes, tail


def _s(lg: Logged, role: str) -> tuple[np.ndarray, np.ndarray]:
    s = lg.get(role)
    return (np.array([]), np.array([])) if s is None else s


def symptoms(lg: Logged, cfg: dict, effect: dict | None, higher: bool) -> list[str]:
    """Sorted symptom ids shown by the logged series (effect: the fault's effect dict, or
    None for a healthy run)."""
    out: set[str] = set()
    main = "episode_reward" if higher else "loss_G" if cfg["kind"] == "gan" else "train_loss"
    st, tv = _s(lg, main)
    vs, vv = _s(lg, "val_loss")
    _, acc = _s(lg, "val_acc")
    if any(not np.all(np.isfinite(v)) for _, v in lg.series.values()):
        out.add("nan_inf")
    if not higher and cfg["kind"] != "gan":
        out |= _loss_shape(tv, cfg, lg)
        out |= _val_shape(tv, st, vv, vs, acc)
    elif higher and finite(tv).size >= 10 and tail(tv) < head(tv) - 0.2 * abs(head(tv)):
        out.add("divergence")  # returns fell: the policy got worse
    if tv.size >= 30 and spikes(tv) >= 2 and not higher:
        out.add("loss_spikes")
    n = noise(tv)
    if math.isfinite(n) and n > 0.5 and not higher:
        out.add("noisy_loss")
    if lg.epoch_len >= 4 and st.size >= 4 * (lg.epoch_len / max(1, np.median(np.diff(st)) if st.size > 1 else 1)):
        lag = int(round(lg.epoch_len / max(1.0, float(np.median(np.diff(st))))))
        pc = period_corr(tv, lag)
        if math.isfinite(pc) and pc > 0.4:
            out.add("periodic_pattern")
    for role, (_, v) in lg.series.items():  # any validation metric that never changes
        f = finite(v)
        if (role.startswith("val_") or role == "eval_return") and role != "val_loss" and f.size >= 3 and np.all(f == f[0]):
            out.add("metric_frozen")
    out |= _aux(lg, cfg, effect)
    return sorted(out)


def _loss_shape(tv: np.ndarray, cfg: dict, lg: Logged) -> set[str]:
    """divergence, early instability, no learning, slow convergence, delayed start, stuck at chance."""
    out: set[str] = set()
    a = finite(tv)
    if a.size < 5:
        return out
    start, end = head(a, 0.05), tail(a, 0.1)
    if (math.isfinite(start) and end > 3 * start) or (not np.all(np.isfinite(tv)) and finite(tv[:np.argmax(~np.isfinite(tv))]).size > 3
                                                     and np.max(finite(tv[:np.argmax(~np.isfinite(tv))])) > 3 * start):
        out.add("divergence")
    k = max(5, a.size // 10)
    if a.size >= 30 and np.max(a[:k]) > 2.0 * a[0] and np.max(a[:k]) > 2.0 * np.median(a[k:2 * k]):
        out.add("early_instability")
    sm = np.convolve(a, np.ones(5) / 5, mode="valid") if a.size >= 10 else a
    if abs(end / start - 1) < 0.05 and (np.max(sm) - np.min(sm)) < 0.1 * abs(start):
        out.add("no_learning")
    elif a.size >= 10:
        j = int(0.7 * a.size)
        late = (np.median(a[max(0, j - k):j]) - end) / (abs(start - end) + 1e-12)
        if end < start and late > 0.25:
            out.add("slow_convergence")
        first = a[:max(3, a.size // 5)]
        if np.std(first) < 0.02 * abs(start) and end < 0.7 * start:
            out.add("delayed_start")
    c = cfg.get("n_classes")
    if c and cfg["loss_kind"] in ("ce", "bce") and abs(np.median(a) / math.log(max(c, 2)) - 1) < 0.1 \
            and abs(end / math.log(max(c, 2)) - 1) < 0.1:
        out.add("stuck_at_chance")
    return out


def _val_shape(tv, st, vv, vs, acc) -> set[str]:
    """overfitting, generalization gap, val loss up with accuracy up, frozen metric."""
    out: set[str] = set()
    v = finite(vv)
    if v.size >= 4:
        i = int(np.argmin(v))
        rise = tail(v, 0.2) / v[i] - 1 if v[i] > 0 else 0.0
        tr_at_min = np.interp(vs[np.isfinite(vv)][i], st, tv) if st.size else math.nan
        if rise > 0.1 and i < v.size - 1 and tail(tv, 0.1) < tr_at_min:
            out.add("overfitting")
            a = finite(acc)
            if a.size == v.size and a[-1] >= a[i]:
                out.add("val_loss_up_acc_up")
        t_end = tail(tv, 0.1)
        if t_end > 0 and tail(v, 0.2) > 1.5 * t_end:
            third = vs[np.isfinite(vv)][max(0, v.size // 3)]
            g0 = v[max(0, v.size // 3)] - np.interp(third, st, tv) if st.size else 0.0
            if tail(v, 0.2) - t_end > g0:
                out.add("generalization_gap")
    for series in (vv, acc):
        f = finite(series)
        if f.size >= 3 and np.all(f == f[0]):
            out.add("metric_frozen")
    return out


def _aux(lg: Logged, cfg: dict, e: dict | None) -> set[str]:
    """Logged gradient norms, dead fractions, regularisation terms, schedule steps, and the
    twin-relative ones (underfitting, high initial loss, vanishing gradients)."""
    out: set[str] = set()
    _, g = _s(lg, "grad_norm")
    gf = finite(g)
    if gf.size >= 10:
        k = max(3, gf.size // 10)
        if np.max(gf) > 100 * np.median(gf[:k]) or not np.all(np.isfinite(g)):
            out.add("exploding_gradients")
        if e and (e.get("grad_median_ratio") or 1) <= 0.01:
            out.add("vanishing_gradients")
    _, d = _s(lg, "dead_frac")
    if finite(d).size and tail(d, 0.2) >= 0.5:
        out.add("dead_units")
    _, reg = _s(lg, "train_reg")
    _, dat = _s(lg, "train_data")
    if finite(reg).size and finite(dat).size and tail(reg) > tail(dat):
        out.add("regularization_dominates")
    if _schedule_step(lg, cfg):
        out.add("lr_schedule_step")
    if e:
        if (e.get("initial_ratio") or 1) >= 10:
            out.add("high_initial_loss")
        if (e.get("final_ratio") or 1) >= 1.5 and 0.67 <= (e.get("val_ratio") or e.get("final_ratio") or 1) / (e.get("final_ratio") or 1) <= 1.5:
            out.add("underfitting")
    return out


def _schedule_step(lg: Logged, cfg: dict) -> bool:
    """A step schedule whose drop is followed by a clear fall of the logged loss (10%)."""
    if cfg.get("schedule") != "step" or "lr" not in lg.series:
        return False
    st, tv = _s(lg, "train_loss")
    for m in cfg.get("milestones", (0.5, 0.75)):
        at = m * cfg["steps"]
        w = 0.05 * cfg["steps"]
        before, after = finite(tv[(st > at - w) & (st <= at)]), finite(tv[(st > at) & (st <= at + w)])
        if before.size >= 2 and after.size >= 2 and np.median(after) < 0.9 * np.median(before):
            return True
    return False
