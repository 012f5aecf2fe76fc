"""Whether an injected fault had a measurable effect (from `measure.effect`), and which
other causes a careful expert could equally name from the curves it produced.

Each test names the statistics its cause is expected to move and a margin; a fault that
moved none of them at its strength is retried stronger, then dropped and counted.
"""

from __future__ import annotations

from collections.abc import Callable

Effect = dict


def _g(e: Effect, k: str, default: float = 0.0) -> float:
    v = e.get(k)
    return default if v is None else float(v)


def worse(e: Effect, margin: float, higher: bool) -> bool:
    """The objective ended worse than the twin's by `margin` (relative)."""
    r = e.get("final_ratio")
    if r is None:
        return False
    return r <= 1 - margin if higher else r >= 1 + margin


def metric_worse(e: Effect) -> bool:
    """The main validation score fell: accuracy by 3 points, returns/modes by 20%."""
    if e.get("metric") in ("eval_return", "modes"):
        return _g(e, "metric_rel_drop") >= 0.2
    return _g(e, "metric_drop") >= 0.03


def val_worse(e: Effect, ratio: float = 1.15) -> bool:
    return _g(e, "val_ratio", 1.0) >= ratio or _g(e, "swd_ratio", 1.0) >= 1.3


def nan(e: Effect) -> bool:
    return e.get("nan_step") is not None


def _spiky(e: Effect, extra: int) -> bool:
    return _g(e, "spikes") >= _g(e, "twin_spikes") + extra


TESTS: dict[str, Callable[[Effect, bool], bool]] = {
    "lr_too_high": lambda e, h: nan(e) or worse(e, 0.2, h) or _g(e, "early_max_ratio", 1) >= 2 or _spiky(e, 3)
    or metric_worse(e) or val_worse(e),
    "lr_too_low": lambda e, h: worse(e, 0.2, h) or metric_worse(e) or val_worse(e, 1.2),
    "no_lr_decay": lambda e, h: worse(e, 0.1, h) or val_worse(e, 1.1) or _g(e, "metric_drop") >= 0.02
    or _g(e, "noise_ratio", 1) >= 1.5,
    "missing_warmup": lambda e, h: nan(e) or _g(e, "early_max_ratio", 1) >= 1.5 or _spiky(e, 2) or worse(e, 0.15, h)
    or metric_worse(e),
    "bad_weight_init": lambda e, h: nan(e) or _g(e, "initial_ratio", 1) >= 2 or worse(e, 0.2, h) or metric_worse(e),
    "unnormalized_data": lambda e, h: nan(e) or _g(e, "initial_ratio", 1) >= 3 or worse(e, 0.2, h) or metric_worse(e)
    or val_worse(e),
    "data_not_shuffled": lambda e, h: (_g(e, "period_corr") >= max(0.3, _g(e, "twin_period_corr") + 0.2))
    or worse(e, 0.2, h) or metric_worse(e) or val_worse(e) or _g(e, "noise_ratio", 1) >= 1.5,
    "noisy_labels": lambda e, h: worse(e, 0.15, h) or metric_worse(e) or val_worse(e, 1.1),
    "batch_too_small": lambda e, h: nan(e) or _g(e, "noise_ratio", 1) >= 1.5 or worse(e, 0.2, h) or metric_worse(e)
    or _spiky(e, 3),
    "batch_too_large": lambda e, h: worse(e, 0.2, h) or metric_worse(e) or val_worse(e),
    "overfitting": lambda e, h: _g(e, "val_rise") >= max(0.1, _g(e, "twin_val_rise") + 0.1)
    or (_g(e, "val_ratio", 1) >= 1.2 and _g(e, "final_ratio", 1) <= 1.0),
    "over_regularization": lambda e, h: worse(e, 0.2, h) or metric_worse(e),
    "dead_relu": lambda e, h: _g(e, "dead_frac") >= _g(e, "twin_dead_frac") + 0.3 or worse(e, 0.2, h) or metric_worse(e),
    "vanishing_gradients": lambda e, h: worse(e, 0.3, h) or metric_worse(e)
    or (_g(e, "grad_median_ratio", 1) <= 0.1 and worse(e, 0.1, h)),
    "exploding_gradients": lambda e, h: nan(e) or _g(e, "grad_max_ratio", 1) >= 10 or _spiky(e, 3) or worse(e, 0.3, h),
    "numerical_instability": lambda e, h: nan(e),
    "wrong_output_activation": lambda e, h: worse(e, 0.2, h) or metric_worse(e) or val_worse(e),
    "model_too_small": lambda e, h: worse(e, 0.2, h) or metric_worse(e) or val_worse(e),
    "distribution_shift": lambda e, h: val_worse(e, 1.2) or metric_worse(e),
    "too_few_steps": lambda e, h: (worse(e, 0.2, h) or metric_worse(e)) and _g(e, "still_falling") > 0.02,
    "eval_bug": lambda e, h: _g(e, "val_frozen") >= 0.8,
}


def measurable(cause: str, e: Effect, higher_is_better: bool) -> bool:
    """Whether the fault moved what its cause should move, by the cause's margin."""
    return bool(TESTS[cause](e, higher_is_better))


def also_acceptable(cause: str, e: Effect, cfg: dict, twin: dict, higher: bool) -> list[str]:
    """Causes an expert could equally name from these curves (the public corpus's pairs),
    some only when the run shows what links them (a NaN, an early blow-up, a high start)."""
    out: list[str] = list(STATIC_ALSO.get(cause, []))
    if cause == "lr_too_high" and (nan(e) or _g(e, "grad_max_ratio", 1) >= 10):
        out.append("exploding_gradients")
    if cause == "bad_weight_init":
        out += {"large": ["exploding_gradients"], "zeros": ["vanishing_gradients"],
                "const": ["vanishing_gradients"]}.get(cfg.get("init", ""), [])
    if cause == "unnormalized_data" and (nan(e) or _g(e, "early_max_ratio", 1) >= 2 or _spiky(e, 3)):
        out.append("lr_too_high")
    if cause == "numerical_instability" and (cfg["lr"] != twin["lr"] or cfg.get("d_lr_mult", 1) > 1):
        out.append("lr_too_high")  # the injection raised the rate too
    return sorted(set(out) - {cause})


STATIC_ALSO = {
    "unnormalized_data": ["bad_weight_init"], "dead_relu": ["bad_weight_init"],
    "exploding_gradients": ["bad_weight_init", "lr_too_high"],
    "batch_too_large": ["lr_too_low", "too_few_steps"], "batch_too_small": ["lr_too_high"],
    "distribution_shift": ["overfitting"], "missing_warmup": ["lr_too_high"], "model_too_small": ["over_regularization"],
    "no_lr_decay": ["lr_too_high"], "noisy_labels": ["overfitting"], "over_regularization": ["model_too_small"],
    "too_few_steps": ["lr_too_low"], "vanishing_gradients": ["bad_weight_init"], "wrong_output_activation": ["model_too_small"],
}
