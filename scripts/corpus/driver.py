"""Running the plan: each group in a worker process trains its twin (re-drawn if the
recipe turns out unhealthy), then each fault at increasing strength until its effect is
measurable (else the slot is dropped and counted), and writes every kept run's files and
label.yaml.  The parent gathers the labels into index.csv and meta.yaml."""

from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np

from . import faults, kinds, measure, train, verdict
from .labels import label, write_index, write_label, write_meta
from .output import emit

MAX_REDRAWS = 3
NAN_GUARD_CAUSES = {"lr_too_high", "numerical_instability", "exploding_gradients"}


class Trainer:
    """Trainings of one group, cached by config, so a twin shared by several faults (or a
    fault's own twin equal to the base) is trained once."""

    def __init__(self) -> None:
        self.cache: dict[str, train.History] = {}
        self.seconds = 0.0

    def __call__(self, cfg: dict) -> train.History:
        key = json.dumps(cfg, sort_keys=True, default=str)
        if key not in self.cache:
            t = time.perf_counter()
            self.cache[key] = train.run(kinds.build(cfg), cfg)
            self.seconds += time.perf_counter() - t
        return self.cache[key]


def healthy_base(group: dict, tr: Trainer) -> tuple[dict | None, int, list[str]]:
    """The group's recipe, re-drawn from derived seeds while its training is not healthy."""
    from .plan import cadence_base
    base, reasons = group["base"], []
    for k in range(MAX_REDRAWS + 1):
        why = measure.healthy(tr(base), base)
        if why is None:
            return base, k, reasons
        reasons.append(why)
        seed = int(np.random.default_rng([base["seed"], k + 1]).integers(0, 2**31 - 1))
        base = kinds.sample(group["kind"], np.random.default_rng(seed), seed, group.get("max_steps", 5000))
        base = cadence_base(base, group["cadence"], np.random.default_rng(seed + 1))
    return None, MAX_REDRAWS, reasons


def run_group(group: dict, out_dir: str, only: set[str] | None = None) -> dict:
    """Train and write one group; returns its labels and what was dropped."""
    import torch
    torch.set_num_threads(1)
    tr = Trainer()
    res: dict = {"labels": [], "dropped": [], "redraws": 0, "seconds": 0.0}
    base, redraws, reasons = healthy_base(group, tr)
    res["redraws"] = redraws
    if base is None:
        res["dropped"] = [{"run": r["name"], "cause": r["cause"], "kind": group["kind"], "why": "no healthy recipe: " + "; ".join(reasons)}
                          for r in group["runs"]]
        return res
    twin_run = group["runs"][0]
    if only is None or twin_run["name"] in only:
        res["labels"].append(_write(out_dir, twin_run, base, tr(base), None, None, None, None))
    for r in group["runs"][1:]:
        if only is not None and r["name"] not in only:
            continue
        try:
            out = fault_run(r, base, tr)
        except Exception as exc:
            out = f"error: {type(exc).__name__}: {exc}"[:300]
        if isinstance(out, str):
            res["dropped"].append({"run": r["name"], "cause": r["cause"], "kind": group["kind"], "why": out})
            continue
        tcfg, fcfg, note, s, hist, thist, eff = out
        twin_name = twin_run["name"] if tcfg == base else None
        res["labels"].append(_write(out_dir, r, fcfg, hist, eff, (note, s, twin_name), tcfg, thist))
    res["seconds"] = tr.seconds
    return res


def strength_order(strengths: tuple[float, ...], rng: np.random.Generator) -> list[float]:
    """A random start among the two mildest, then stronger ones, then any milder left."""
    i = int(rng.integers(0, min(2, len(strengths))))
    return list(strengths[i:]) + list(strengths[:i][::-1])


def fault_run(r: dict, base: dict, tr: Trainer):
    """Inject r's cause at its strengths until the effect is measurable; a string says why not."""
    cause = r["cause"]
    rng = np.random.default_rng(r["slot_seed"] + 1)
    guard = cause in NAN_GUARD_CAUSES and rng.random() < 0.3
    why, last = "no measurable effect", None
    for s in strength_order(faults.CATALOGUE[cause][1], rng):
        tcfg, fcfg, note = faults.inject(cause, base, s, np.random.default_rng(r["slot_seed"]))
        thist = tr(tcfg)
        if tcfg != base and measure.healthy(thist, tcfg):
            why = f"own twin unhealthy at strength {s:g}"
            continue
        if guard:
            fcfg = {**fcfg, "nan_guard": True}
        hist = tr(fcfg)
        eff = measure.effect(hist, thist)
        if verdict.measurable(cause, eff, hist.higher_is_better):
            return tcfg, fcfg, note, s, hist, thist, eff
        last = {k: eff[k] for k in ("final_ratio", "val_ratio", "metric_drop", "nan_step", "still_falling") if k in eff}
    return f"{why} at strengths {list(faults.CATALOGUE[cause][1])}; last effect {last}"


def _write(out_dir: str, r: dict, cfg: dict, hist: train.History, eff: dict | None, fault: tuple | None,
           tcfg: dict | None, thist: train.History | None) -> dict:
    """Log files and label.yaml of one kept run."""
    run_dir = os.path.join(out_dir, r["name"])
    spec = dict(r["spec"])
    lg, spec, files = emit(run_dir, hist, cfg, spec, np.random.default_rng(r["slot_seed"] + 2))
    lab = label(r, cfg, hist, lg, spec, files, eff, fault, tcfg, out_dir)
    write_label(run_dir, lab)
    return lab


def run_all(groups: list[dict], out_dir: str, jobs: int, only: set[str] | None = None, progress=print,
            target: int | None = None) -> dict:
    """The groups over `jobs` processes, in plan order.  With `target`, the corpus is the
    shortest prefix of the plan holding that many kept runs (groups computed beyond it are
    removed), so the result does not depend on which worker finished first."""
    import multiprocessing as mp

    import torch

    from . import kinds_gan, kinds_rl, kinds_seq, kinds_tab, kinds_vis  # noqa: F401 - every worker runs the same code
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # its lazy imports (1.4 s), once, before the fork
    os.makedirs(out_dir, exist_ok=True)
    t0, labels, dropped, redraws, train_s, used = time.time(), [], [], 0, 0.0, 0
    n_runs = target or sum(len(g["runs"]) for g in groups)
    ctx = mp.get_context("fork")
    pool = ctx.Pool(jobs, maxtasksperchild=50) if jobs > 1 else None
    results = pool.imap(_star, [(g, out_dir, only) for g in groups]) if pool else map(_star, [(g, out_dir, only) for g in groups])
    try:
        for res in results:
            used += 1
            labels += res["labels"]
            dropped += res["dropped"]
            redraws += res["redraws"]
            train_s += res["seconds"]
            el = time.time() - t0
            progress(f"[{el:7.1f}s] groups {used}/{len(groups)}  runs {len(labels)} kept, {len(dropped)} dropped"
                     f"  target {n_runs}  eta {el / max(1, len(labels)) * max(0, n_runs - len(labels)):6.0f}s")
            if target and len(labels) >= target:
                break
    finally:
        if pool:
            pool.terminate()
            pool.join()
    for g in groups[used:]:  # computed (or half-written) beyond the prefix: not part of the corpus
        for r in g["runs"]:
            shutil.rmtree(os.path.join(out_dir, r["name"]), ignore_errors=True)
    if only is None:
        write_index(out_dir, labels)
        write_meta(out_dir, labels, dropped, redraws, time.time() - t0)
    return {"labels": labels, "dropped": dropped, "redraws": redraws, "elapsed": time.time() - t0, "train_seconds": train_s,
            "groups": used}


def _star(a):
    """run_group, with a failure of one group recorded instead of stopping the corpus."""
    try:
        return run_group(*a)
    except Exception as exc:
        g, out_dir = a[0], a[1]
        why = f"error: {type(exc).__name__}: {exc}"[:300]
        for r in g["runs"]:  # no half-written group: its runs are not in index.csv either
            shutil.rmtree(os.path.join(out_dir, r["name"]), ignore_errors=True)
        return {"labels": [], "redraws": 0, "seconds": 0.0,
                "dropped": [{"run": r["name"], "cause": r["cause"], "kind": g["kind"], "why": why} for r in g["runs"]]}
