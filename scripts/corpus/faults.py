"""The faults of taxonomy.yaml as changes to a healthy config, injected where a real
pipeline gets them wrong (the data, the model, the loss, the optimiser, the evaluation).

`inject(cause, base, strength, rng)` returns (twin, faulty, variant): the twin is the base
itself unless the fault only exists relative to a setting the base may lack (warmup,
a decaying schedule, clipping) -- then the twin gets that setting and the fault removes
it.  Strengths are listed mildest first; a retry takes the next one.
"""

from __future__ import annotations

import copy

import numpy as np

ALL = frozenset({"classification", "binary", "regression", "language_model", "fine_tune", "detection",
                 "contrastive", "gan", "rl"})
SUP = frozenset({"classification", "binary", "regression", "fine_tune", "detection"})
TAB = frozenset({"classification", "binary", "regression", "fine_tune"})
ACC_KINDS = frozenset({"classification", "binary", "fine_tune"})

# cause -> (kinds it applies to, strengths mildest first)
CATALOGUE: dict[str, tuple[frozenset, tuple[float, ...]]] = {
    "lr_too_high": (ALL, (10.0, 30.0, 100.0)),
    "lr_too_low": (ALL, (30.0, 100.0, 1000.0)),
    "no_lr_decay": (SUP | {"language_model", "contrastive"}, (1.0, 2.0, 4.0)),
    "missing_warmup": (SUP | {"language_model", "contrastive"}, (3.0, 8.0, 20.0)),
    "bad_weight_init": (ALL, (1.0, 2.0, 3.0)),
    "unnormalized_data": (ALL - {"language_model"}, (30.0, 100.0, 255.0)),
    "data_not_shuffled": (SUP | {"contrastive", "gan"}, (1.0,)),
    "noisy_labels": (SUP | {"language_model", "contrastive"}, (0.3, 0.45, 0.6)),
    "batch_too_small": (ALL, (4.0, 2.0, 1.0)),
    "batch_too_large": (SUP | {"language_model", "contrastive"}, (16.0, 64.0, 256.0)),
    "overfitting": (SUP - {"detection"} | {"language_model"}, (10.0, 30.0, 100.0)),
    "over_regularization": (ALL - {"gan"}, (1.0, 3.0, 10.0)),
    "dead_relu": (ALL - {"language_model", "fine_tune"}, (2.0, 4.0, 8.0)),
    "vanishing_gradients": (SUP - {"fine_tune"} | {"contrastive", "rl"}, (6.0, 9.0, 12.0)),
    "exploding_gradients": (SUP - {"fine_tune"} | {"language_model", "rl"}, (2.0, 3.0, 5.0)),
    "numerical_instability": (ALL, (1.0, 2.0, 4.0)),
    "wrong_output_activation": (ALL, (1.0, 2.0, 3.0)),
    "model_too_small": (ALL - {"rl", "fine_tune"}, (8.0, 4.0, 2.0)),
    "distribution_shift": (ALL - {"gan"}, (0.7, 1.5, 3.0)),
    "too_few_steps": (ALL, (0.2, 0.1, 0.05)),
    "eval_bug": (ALL, (1.0,)),
}


def applies(cause: str, kind: str, base: dict | None = None) -> bool:
    """Whether the cause exists for this kind (and, given a recipe, can show in it: a missing
    decay or warmup needs a run long enough for the schedule to matter)."""
    if kind not in CATALOGUE[cause][0]:
        return False
    if base is None:
        return True
    need = {"no_lr_decay": 500, "missing_warmup": 300, "too_few_steps": 300}.get(cause, 0)
    return base["steps"] >= need


def _c(cfg: dict, **kw) -> dict:
    out = copy.deepcopy(cfg)
    arch = kw.pop("arch", None)
    out.update(kw)
    if arch:
        out["arch"] = {**out["arch"], **arch}
    return out


def _relu(cfg: dict) -> dict:
    return _c(cfg, arch={"act": "relu"}) if cfg.get("arch", {}).get("act") != "relu" else cfg


def inject(cause: str, base: dict, s: float, rng: np.random.Generator) -> tuple[dict, dict, str]:
    """(twin config, faulty config, a sentence saying what was done)."""
    return INJECT[cause](base, s, rng, base["kind"])


def lr_too_high(b, s, rng, kind):
    f = 1 / 3 if b["optimizer"] in ("sgd", "momentum", "nesterov") else 1.0
    f *= 3.0 if kind == "contrastive" else 1.0  # normalised embeddings absorb much of a large step
    m = max(2.0, s * f)
    return b, _c(b, lr=float(f"{b['lr'] * m:.2g}")), f"learning rate {m:g}x the healthy {b['lr']:g}"


def lr_too_low(b, s, rng, kind):
    return b, _c(b, lr=float(f"{b['lr'] / s:.2g}")), f"learning rate {s:g}x below the healthy {b['lr']:g}"


def no_lr_decay(b, s, rng, kind):
    sched = b["schedule"] if b["schedule"] not in ("constant", "warmup_linear") else str(rng.choice(["step", "cosine"]))
    twin = _c(b, schedule=sched, milestones=b.get("milestones", (0.5, 0.75)))
    return twin, _c(twin, schedule="constant", lr=float(f"{b['lr'] * s:.2g}")), \
        f"constant learning rate {b['lr'] * s:.2g} where the twin decays ({sched})"


def missing_warmup(b, s, rng, kind):
    peak = float(f"{b['lr'] * s:.2g}")
    twin = _c(b, lr=peak, schedule="warmup_cosine", warmup=max(10, b["steps"] // 10))
    return twin, _c(twin, schedule="cosine"), f"peak lr {peak:g} ({s:g}x healthy) from step 0; the twin warms up over {twin['warmup']} steps"


def bad_weight_init(b, s, rng, kind):
    if kind == "fine_tune" or b.get("pretrain_steps"):  # the checkpoint overwrites any init, unless never loaded
        return b, _c(b, skip_pretrained=True, init="large", init_scale=1 + s), \
            f"pre-trained checkpoint not loaded: from scratch, weights at {1 + s:g}x the default scale"
    variant = str(rng.choice(["large", "zeros", "const"], p=[0.6, 0.25, 0.15]))
    if variant == "large":
        return b, _c(b, init="large", init_scale=5.0 * s), f"weights drawn at {5 * s:g}x the default scale"
    if variant == "zeros":
        return b, _c(b, init="zeros"), "all weights and biases initialised to zero"
    return b, _c(b, init="const", init_scale=0.05 * s), f"every weight set to the constant {0.05 * s:g}"


def unnormalized_data(b, s, rng, kind):
    if kind == "regression" and b["target_scale"] >= 10 and rng.random() < 0.5:
        return b, _c(b, raw_targets=True), f"targets of scale {b['target_scale']:g} predicted without normalisation"
    if kind == "detection" or (b.get("images") and kind in ("classification", "fine_tune")):
        return b, _c(b, input_scale=255.0), "raw 0..255 pixels instead of [0, 1]"
    return b, _c(b, input_scale=s), f"raw features, per-column scales up to {s:g}x and offsets"


def data_not_shuffled(b, s, rng, kind):
    return b, _c(b, sorted=True, shuffle=False), "training set sorted by label/target and never shuffled"


def noisy_labels(b, s, rng, kind):
    what = {"regression": "targets replaced by outliers", "language_model": "target tokens replaced at random",
            "contrastive": "positive pairs drawn from unrelated samples"}.get(kind, "labels flipped to another class")
    return b, _c(b, label_noise=s), f"{s:.0%} of training {what}"


def batch_too_small(b, s, rng, kind):
    if kind == "rl" and b["algo"] == "reinforce":
        return b, _c(b, batch=1, baseline=False), "one episode per update and no baseline"
    return b, _c(b, batch=int(s)), f"batch {int(s)} instead of {b['batch']}, same learning rate and steps"


def batch_too_large(b, s, rng, kind):
    n = b.get("n_train", 4096) if kind != "language_model" else 4096
    nb = int(min(max(b["batch"] * s, 256), n))
    steps = max(20, int(b["steps"] * b["batch"] / nb))
    return b, _c(b, batch=nb, steps=steps, eval=_scaled_eval(b, steps / b["steps"])), \
        f"batch {nb} instead of {b['batch']}, same epochs ({steps} steps) and learning rate"


def _scaled_eval(b: dict, f: float) -> dict:
    ev = dict(b["eval"])
    if ev["unit"] == "step":
        ev["every"] = max(1, int(ev["every"] * f))
    return ev


def overfitting(b, s, rng, kind):
    wide = {"width": 2 * b["arch"]["width"] if kind != "fine_tune" else b["arch"]["width"], "dropout": 0.0}
    if kind == "language_model":
        return b, _c(b, n_sentences=max(12, int(b["n_sentences"] / s)), arch=wide, wd=0.0), \
            f"training text cut to 1/{s:g} with a model twice as wide"
    n = max(24 if kind != "classification" else 2 * b["n_classes"], int(b["n_train"] / s))
    how = "width doubled, " if kind != "fine_tune" else ""
    return b, _c(b, n_train=n, arch=wide, wd=0.0), f"{n} training samples instead of {b['n_train']}, {how}no dropout/decay"


def over_regularization(b, s, rng, kind):
    if kind == "rl" and b["algo"] == "reinforce":
        return b, _c(b, entropy=0.3 * s), f"entropy bonus {0.3 * s:g} (healthy 0.01)"
    variant = str(rng.choice(["l2", "dropout", "wd"]) if kind not in ("rl", "gan") else "l2")
    if variant == "dropout" and kind not in ("contrastive", "language_model"):
        p = min(0.9, 0.6 + 0.1 * s)
        return b, _c(b, arch={"dropout": p}), f"dropout {p:.2g}"
    if variant == "wd":  # decoupled decay shrinking the weights e^-(2 s) over the run
        wd = float(f"{2 * s / (b['lr'] * b['steps']):.2g}")
        return b, _c(b, optimizer="adamw" if b["optimizer"] in ("adam", "adamw") else b["optimizer"], wd=wd), \
            f"weight decay {wd:g}"
    return b, _c(b, l2=0.01 * s), f"L2 penalty {0.01 * s:g} x sum of squared weights added to the loss"


def dead_relu(b, s, rng, kind):
    t = _relu(b)
    return t, _c(t, init="neg_bias", init_bias=s / 2), f"ReLU biases initialised to -{s / 2:g}: most units start dead"


def vanishing_gradients(b, s, rng, kind):
    d = int(s)
    return b, _c(b, arch={"act": "sigmoid", "depth": d, "norm": False}), f"{d} sigmoid hidden layers, no normalisation"


def exploding_gradients(b, s, rng, kind):
    """Growth through time or depth with nothing to stop it: the twin is the base with
    gradient clipping, the fault drops the clipping and gets the recurrence/depth and
    weight scale that make gradients grow."""
    twin = _c(b, clip=b.get("clip") or 1.0)
    if kind == "language_model":
        return twin, _c(twin, clip=None, model="rnn", arch={"act": "tanh"}, init="large", init_scale=s), \
            f"vanilla tanh RNN with weights {s:g}x default, no gradient clipping (twin: {b['model']}, clipped at {twin['clip']:g})"
    if kind == "rl" and b["algo"] == "dqn":
        return twin, _c(twin, clip=None, huber=False, target_every=1, gamma=0.99, init="large", init_scale=s), \
            f"MSE TD loss, no target network, weights {s:g}x default, no clipping"
    depth = max(4, b["arch"].get("depth", 2) + 2)
    return twin, _c(twin, clip=None, init="large", init_scale=1.0 + s / 2, arch={"depth": depth, "act": "relu"}), \
        f"{depth} ReLU layers at {1 + s / 2:g}x the default weight scale, no clipping (twin clips at 1)"


def numerical_instability(b, s, rng, kind):
    """log(0) or 0/0 inside the loss or the model, reached during training."""
    if kind in ("classification", "binary", "regression") and not b.get("images"):
        p = float(1 - (min(0.5, 2.5 * s / b["steps"])) ** (1 / max(2, b["batch"])))
        return _c(b, input_norm="batch", flag_p=p), _c(b, input_norm="batch_noeps", flag_p=p), \
            "inputs standardised by the batch std without epsilon; a rare binary feature makes it 0/0"
    if kind == "contrastive":
        return b, _c(b, naive_loss=True, tau=0.02 / s), f"InfoNCE exponentiated without log-sum-exp at temperature {0.02 / s:g}"
    if kind == "gan":
        return b, _c(b, naive_loss=True, d_lr_mult=10.0 * s), f"log(sigmoid) by hand, discriminator lr {10 * s:g}x"
    if kind == "rl":
        m = 10.0 * s
        return b, _c(b, naive_loss=True, lr=float(f"{b['lr'] * m:.2g}")), f"entropy p*log(p) by hand (0*log 0 = NaN), lr {m:g}x"
    m = 30.0 * s
    return b, _c(b, naive_loss=True, logit_scale=m), f"log(softmax(logits / T)) by hand at T = 1/{m:g} (log 0 once a probability underflows)"


def wrong_output_activation(b, s, rng, kind):
    names = {"classification": ["softmax", "relu", "sigmoid"], "fine_tune": ["softmax", "sigmoid"],
             "language_model": ["softmax", "relu"], "binary": ["sigmoid", "relu"], "regression": ["sigmoid", "relu", "tanh"],
             "detection": ["softmax_cls"], "contrastive": ["relu_emb"], "gan": ["tanh", "sigmoid"], "rl": ["sigmoid", "relu"]}
    act = names[kind][int(s - 1) % len(names[kind])]
    return b, _c(b, arch={"out_act": act}), f"{act} on the final layer before a loss that expects raw outputs"


def model_too_small(b, s, rng, kind):
    w = int(s) if kind not in ("language_model", "gan") else int(s) // 2 + 2
    extra = {"emb": 2} if kind == "contrastive" else {}
    return b, _c(b, arch={"width": w, "depth": 1}, **extra), f"one hidden layer of {w} units" + (", 2-d embedding" if extra else "")


def distribution_shift(b, s, rng, kind):
    return b, _c(b, shift=s), f"validation data drawn from a shifted distribution (strength {s:g})"


def too_few_steps(b, s, rng, kind):
    """Stopped early: a schedule still set for the full run (a time limit, max_steps cut
    without touching the scheduler), or in some runs a schedule fitted to the short run."""
    n = max(12 if kind == "rl" else 30, int(b["steps"] * s))
    cut = rng.random() < 0.7 or b["schedule"] == "constant"
    f = _c(b, steps=n, eval=_scaled_eval(b, n / b["steps"]), **({"sched_steps": b["steps"]} if cut else {}))
    how = "job stopped" if cut else "max_steps set"
    return b, f, f"{how} after {n} of the {b['steps']} steps the twin needs"


def eval_bug(b, s, rng, kind):
    opts = ["frozen", "stale"] + (["int_acc"] if kind in ACC_KINDS | {"detection", "contrastive"} else [])
    v = str(rng.choice(opts))
    what = {"frozen": "the evaluation scores the initial weights (a stale model copy)",
            "stale": "the evaluation returns its first result every time (cached)",
            "int_acc": "validation accuracy computed with integer division"}[v]
    return b, _c(b, eval_bug=v), what


INJECT = {name: globals()[name] for name in CATALOGUE}
