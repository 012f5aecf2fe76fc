"""What a fault did, measured from the training itself against its healthy twin, and
whether a twin is healthy at all.

No curve is judged by logsleuth here: the numbers are plain statistics of the two
histories (end levels, NaN step, accuracy, spikes, noise, gradient norms), and a fault
counts as present only when one of the statistics its cause should move moved by a
margin (`measurable`).  Runs without such an effect are retried or dropped.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .train import History

ACC_KEYS = ("val_acc", "val_knn_acc", "map50", "modes", "eval_return")


def finite(v) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    return a[np.isfinite(a)]


def head(v, frac: float = 0.03) -> float:
    a = finite(v)
    return float(np.median(a[:max(3, int(len(a) * frac))])) if a.size else math.nan


def tail(v, frac: float = 0.1) -> float:
    a = finite(v)
    return float(np.median(a[-max(3, int(len(a) * frac)):])) if a.size else math.nan


def objective(h: History) -> np.ndarray:
    """The curve a fault is judged on: the training loss, or the episode return for RL."""
    if h.higher_is_better:
        return np.array([r for _, r in h.episodes], dtype=float)
    return np.asarray(h.train.get("loss", []), dtype=float)


def val(h: History, key: str) -> np.ndarray:
    return np.array([m.get(key, math.nan) for _, m in h.evals], dtype=float)


def spikes(v, ratio: float = 2.5) -> int:
    """Points above `ratio` x the running median of the 21 around them, falling back after."""
    a = np.asarray(v, dtype=float)
    if a.size < 30:
        return 0
    a = np.where(np.isfinite(a), a, np.nan)
    pad = np.pad(a, 10, mode="edge")
    with warnings.catch_warnings():  # windows that are all NaN (after a blow-up) have no median
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(np.lib.stride_tricks.sliding_window_view(pad, 21), axis=1)
    hit = (a > ratio * np.abs(med)) & (med > 0)
    return int(np.sum(hit[1:] & ~hit[:-1]) + hit[0])


def noise(v) -> float:
    """Step-to-step scatter of the log curve over its second half (robust std of diffs)."""
    a = finite(v)
    a = a[a.size // 2:]
    if a.size < 10 or np.any(a <= 0):
        return math.nan
    d = np.diff(np.log(a))
    return float(1.4826 * np.median(np.abs(d - np.median(d))))


def period_corr(v, lag: int) -> float:
    """Autocorrelation of the detrended curve at one epoch (sorted data repeats each epoch)."""
    a = finite(v)
    if lag < 4 or a.size < 3 * lag:
        return math.nan
    k = max(3, lag // 4)
    trend = np.convolve(a, np.ones(2 * lag + 1) / (2 * lag + 1), mode="same")
    r = (a - trend)[lag:-lag] if a.size > 4 * lag else a - trend
    if r.size <= lag + k or np.std(r) == 0:
        return math.nan
    return float(np.corrcoef(r[:-lag], r[lag:])[0, 1])


def _ratio(a: float, b: float) -> float | None:
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return None
    return a / b


def _r(x) -> float | int | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return x if isinstance(x, int) else float(f"{x:.4g}")


def effect(f: History, t: History) -> dict:
    """Statistics of the faulty run beside the same ones of its twin (ratios fault/twin)."""
    of, ot = objective(f), objective(t)
    e: dict = {"nan_step": f.nan_step, "stopped": f.stopped}
    e["final_ratio"] = _ratio(tail(of), tail(ot))
    e["initial_ratio"] = _ratio(head(of), head(ot))
    n = max(5, int(0.15 * of.size))
    e["early_max_ratio"] = _ratio(float(np.nanmax(finite(of[:n]))) if finite(of[:n]).size else math.nan,
                                  float(np.nanmax(finite(ot[:n]))) if finite(ot[:n]).size else math.nan)
    e["spikes"], e["twin_spikes"] = spikes(of), spikes(ot)
    e["noise_ratio"] = _ratio(noise(of), noise(ot))
    e["period_corr"], e["twin_period_corr"] = period_corr(of, f.epoch_len), period_corr(ot, t.epoch_len)
    lv_f, lv_t = val(f, "val_loss"), val(t, "val_loss")
    e["val_ratio"] = _ratio(tail(lv_f, 0.2), tail(lv_t, 0.2))
    e["val_rise"], e["twin_val_rise"] = _rise(lv_f), _rise(lv_t)
    e["val_frozen"] = _frozen(f)
    for k in ACC_KEYS:
        a_f, a_t = val(f, k), val(t, k)
        if finite(a_f).size and finite(a_t).size:
            e["metric"], e["metric_drop"] = k, tail(a_t, 0.2) - tail(a_f, 0.2)
            e["metric_rel_drop"] = _ratio(tail(a_t, 0.2) - tail(a_f, 0.2), abs(tail(a_t, 0.2)) + 1e-9)
            break
    if "swd" in (f.evals[0][1] if f.evals else {}):
        e["swd_ratio"] = _ratio(tail(val(f, "swd"), 0.2), tail(val(t, "swd"), 0.2))
    g_f, g_t = np.asarray(f.train.get("grad_norm", []), float), np.asarray(t.train.get("grad_norm", []), float)
    if finite(g_f).size and finite(g_t).size:
        e["grad_max_ratio"] = _ratio(float(np.max(finite(g_f))), float(np.max(finite(g_t))))
        e["grad_median_ratio"] = _ratio(float(np.median(finite(g_f))), float(np.median(finite(g_t))))
    d_f, d_t = tail(val(f, "dead_frac"), 0.2), tail(val(t, "dead_frac"), 0.2)
    if math.isfinite(d_f) and math.isfinite(d_t):
        e["dead_frac"], e["twin_dead_frac"] = d_f, d_t
    e["still_falling"] = _falling(of, f.higher_is_better)
    out = {k: _r(v) if not isinstance(v, str) else v for k, v in e.items()}
    return {k: v for k, v in out.items() if v is not None}


def _rise(v) -> float:
    a = finite(v)
    if a.size < 4 or np.min(a) <= 0:
        return math.nan
    i = int(np.argmin(a))
    return float(tail(a, 0.2) / a[i] - 1.0) if i < a.size - 1 else 0.0


def _frozen(h: History) -> float | None:
    """Largest share, over the validation metrics, of consecutive evaluations with exactly
    the same value (a cached or mis-computed metric repeats itself)."""
    shares = [float(np.mean(np.diff(v) == 0)) for k in ("val_loss", *ACC_KEYS, "swd")
              if finite(v := val(h, k)).size >= 3]
    return max(shares) if shares else None


def _falling(v, higher: bool) -> float:
    """Relative improvement over the last 30% of the run (positive: still improving)."""
    a = finite(v)
    if a.size < 10:
        return math.nan
    k = max(3, a.size // 10)
    start, end = np.median(a[int(0.7 * a.size) - k:int(0.7 * a.size)]), np.median(a[-k:])
    if higher:
        return float((end - start) / (abs(start) + 1e-9))
    return float((start - end) / (abs(start) + 1e-12))


# pre-trained starts low; InfoNCE falls slowly; a language-model fine-tune on text much like its
# checkpoint's moves a few percent (an SFT loss after its first steps), on both splits
LOSS_FALL = {"fine_tune": 0.97, "contrastive": 0.93, "lm_fine_tune": 0.99}
VAL_FALL = {"lm_fine_tune": 0.99}  # the validation loss's, where it is not min(0.97, LOSS_FALL)


def healthy(h: History, cfg: dict) -> str | None:
    """None when a twin trained as a healthy run should; otherwise why not.  References are
    the run's own start: its first training losses and an evaluation before the first step."""
    o, kind = objective(h), cfg["kind"]
    if h.nan_step is not None or h.stopped:
        return "NaN in a healthy config"
    if not finite(o).size:
        return "nothing logged"
    if h.higher_is_better:
        return None if tail(o) > 1.2 * head(o) + 1 else "return did not improve"
    if kind == "gan":
        s, s0 = val(h, "swd"), h.initial.get("swd", math.nan)
        return None if finite(s).size and tail(s, 0.2) < 0.6 * s0 else "samples did not approach the data"
    ref = "lm_fine_tune" if cfg.get("pretrain_steps") else kind
    if not tail(o) < LOSS_FALL.get(ref, 0.85) * head(o):
        return "training loss did not fall"
    vl, v0 = val(h, "val_loss"), h.initial.get("val_loss", math.nan)
    val_fall = VAL_FALL.get(ref, min(0.97, LOSS_FALL.get(ref, 0.9)))
    rise = _rise(vl)
    if math.isfinite(rise) and rise > 0.2 and kind != "contrastive":
        return f"validation loss rose {rise:.0%} from its minimum"
    if finite(vl).size and math.isfinite(v0) and not tail(vl, 0.2) < val_fall * v0:
        return "validation loss did not fall"
    return _accuracy_unhealthy(h, cfg)


# how far from chance to perfect a healthy run's held-out accuracy must get, and how far its
# training accuracy may run ahead: a practitioner calls a run at 9% of 100 classes, or 40
# points above its validation, under- or over-fitted, not good (the mixtures allow 80-97%)
MIN_SKILL, MAX_TRAIN_LEAD = 0.4, 0.2


def _accuracy_unhealthy(h: History, cfg: dict) -> str | None:
    """Why the run's accuracies are not those of a good run, or None."""
    c = cfg.get("n_classes")
    acc = val(h, "val_knn_acc" if cfg["kind"] == "contrastive" else "val_acc")
    if not c or not finite(acc).size:
        return None
    p = cfg.get("pos_frac", 0.5) if c == 2 else 1.0 / c
    chance, end = max(p, 1.0 - p) if c == 2 else p, tail(acc, 0.2)
    skill = (end - chance) / (1.0 - chance)
    if skill < MIN_SKILL:
        return f"accuracy {end:.2f} is {skill:.0%} of the way from chance {chance:.2f} to 1"
    tr = finite(h.train.get("acc", []))
    if tr.size and tail(tr) - end > MAX_TRAIN_LEAD:
        return f"training accuracy {tail(tr):.2f} runs {tail(tr) - end:.2f} above validation"
    return None
