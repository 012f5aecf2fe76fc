"""The corpus plan, fixed by the master seed: groups of one healthy twin and 1-4 faults of
one kind, balanced so every (kind, cause) pair and every format and cadence recurs.

A group shares its training recipe and its logging cadence (the evaluation schedule is
part of training, and a twin must be evaluated where its faults are); each run of the
group gets its own format, flavour and extras.  Nothing here trains anything.
"""

from __future__ import annotations

import numpy as np

from . import faults, kinds
from .logspec import cadence_for, log_spec

KIND_WEIGHT = {"classification": 1.6, "binary": 0.9, "regression": 1.1, "language_model": 1.0, "fine_tune": 1.0,
               "detection": 1.0, "contrastive": 0.9, "gan": 0.7, "rl": 0.7}


def _least(rng: np.random.Generator, options: list, counts: dict) -> object:
    """The least used of `options` (ties broken by the rng), and count it."""
    low = min(counts.get(o, 0) for o in options)
    pick = [o for o in options if counts.get(o, 0) == low]
    choice = pick[int(rng.integers(0, len(pick)))]
    counts[choice] = counts.get(choice, 0) + 1
    return choice


def plan(master_seed: int, n_runs: int, max_steps: int = 5000, small: bool = False,
         only_kinds: tuple[str, ...] = kinds.KINDS) -> list[dict]:
    """Groups totalling about `n_runs` runs: {"gid", "kind", "base", "cadence", "runs": [...]}
    where each run is {"name", "cause", "slot_seed", "spec"}; the first run is the twin.
    `only_kinds` restricts the kinds (a corpus part that adds runs of some kinds)."""
    rng = np.random.default_rng([master_seed, 7])
    counts: dict = {}
    total, gid, out = 0, 0, []
    kinds_w = np.array([KIND_WEIGHT[k] for k in only_kinds])
    while total < n_runs:
        kind = only_kinds[int(np.argmin([counts.get(("kind", k), 0) / w for k, w in zip(only_kinds, kinds_w)]))]
        counts[("kind", kind)] = counts.get(("kind", kind), 0) + 1
        seed = int(rng.integers(0, 2**31 - 1))
        base = kinds.sample(kind, np.random.default_rng(seed), seed, max_steps)
        cad = _least(rng, cadence_for(kind), {k[1]: v for k, v in counts.items() if k[0] == "cad"})
        counts[("cad", cad)] = counts.get(("cad", cad), 0) + 1
        base = cadence_base(base, cad, rng)
        n_faults = int(rng.choice([1, 2, 3, 4], p=[0.1, 0.3, 0.4, 0.2])) if not small else int(rng.choice([2, 3]))
        causes = [c for c in faults.CATALOGUE if faults.applies(c, kind, base)]
        chosen: list[str] = []
        for _ in range(min(n_faults, n_runs - total - 1) if total + 1 < n_runs else 0):
            cc = {c: counts.get((kind, c), 0) for c in causes if c not in chosen}
            chosen.append(_least(rng, list(cc), cc))
            counts[(kind, chosen[-1])] = counts.get((kind, chosen[-1]), 0) + 1
        runs = []
        for j, cause in enumerate(["healthy", *chosen]):
            spec = log_spec(kind, cad, base, rng, counts, small, cause)
            runs.append({"name": f"g{gid:04d}-{j}", "cause": cause, "slot_seed": int(rng.integers(0, 2**31 - 1)), "spec": spec})
        out.append({"gid": gid, "kind": kind, "base": base, "cadence": cad, "runs": runs})
        total += len(runs)
        gid += 1
    return out


def cadence_base(base: dict, cad: str, rng: np.random.Generator) -> dict:
    """The training-side part of a cadence: the evaluation schedule, and for epoch-logged
    runs a data size that gives 8-150 epochs."""
    base = dict(base)
    steps = base["steps"]
    if base["kind"] in ("rl", "gan"):
        every = max(1, steps // int(rng.integers(3, 6) if cad == "sparse_eval" else rng.integers(10, 30)))
        base["eval"] = {"unit": "step", "every": every}
        return base
    n = base["n_train"] if base["kind"] != "language_model" else None
    if cad == "epoch" and n:  # 8-40 whole epochs: the length follows the data, within the budget
        from .recipes import cap_steps
        epoch_len = max(1, n // base["batch"])
        epochs = int(rng.integers(8, 41))
        base["steps"] = int(min(5000, max(100, epochs * epoch_len)))
        base = cap_steps(base)
        floor = max(500, 30 * (base.get("n_classes") or 0))
        base["n_train"] = int(max(floor, min(n, base["steps"] * base["batch"] // epochs)))
        steps = base["steps"]
    if cad == "sparse_eval":
        base["eval"] = {"unit": "step", "every": max(1, steps // int(rng.integers(3, 7)))}
    elif cad == "epoch" or (n and rng.random() < 0.6 and steps / max(1, n // base["batch"]) <= 60):
        epochs = steps / max(1, base["n_train"] // base["batch"]) if n else 1
        base["eval"] = {"unit": "epoch", "every": max(1, int(np.ceil(epochs / 100)))}  # at most ~100 evaluations
    else:
        base["eval"] = {"unit": "step", "every": max(1, int(steps // rng.integers(10, 40)))}
    return base
