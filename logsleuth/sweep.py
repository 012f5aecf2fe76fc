"""The overview of many runs: counts per health and cause, sweeps of sibling runs, and the
link between a sweep's hyperparameters and its failures, stated plainly.

A sweep is the deepest directory whose runs share a recipe and differ in a hyperparameter other
than the seed (`sweeps/lr_0.1/seed_3` and `sweeps/lr_0.3/seed_1` make the sweep `sweeps`).
Sharing a recipe means logging nearly the same metrics, knowing the same settings, varying at
most a few of them, and showing that they belong together: a logged setting they all agree on,
or names that carry the settings or a trial/seed number.  Unrelated projects that happen to sit
side by side are not a sweep.  Hyperparameters
are those the run logged, completed by `key=value` / `key_value` parts of its path
(`lr=0.1,wd=1e-4`, `lr_0.1`).  Runs differing only in seed-like keys (seed, trial, version,
rep...) are one configuration; a statement such as "all 6 runs with lr >= 0.3 were critical;
none of the 10 with lr <= 0.1 were" is made when one hyperparameter splits the outcomes
(at least 90% of runs on the right side, both sides with at least 2 runs).

A run's own pieces are not a sweep: the segments of one run (`<run> (segment 2 of 3)`, a run
whose step counter went back to its start) and the pieces of a resumed run (runs apart only in
a seed-like key such as `version`, each starting after the one before it started and no later
than it ended: Lightning's `version_1` resumed from `version_0`'s checkpoint) are one run's.

Pure functions of the diagnoses; every report prints the same Overview.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from .model import OUTCOME_RANK, Diagnosis, worst_first

SEED_KEY = re.compile(r"(^|[_.\-/])(seed|seeds|random_seed|rng|rep|repeat|repetition|replicate|replica|trial|"
                      r"version|rerun|run_?id|run_?index|fold)$", re.IGNORECASE)
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PART_NUM = re.compile(rf"^([A-Za-z][A-Za-z0-9.]*(?:_[A-Za-z][A-Za-z0-9.]*)*)[=_\-]({_NUM})$")
_PART_KV = re.compile(r"^([A-Za-z][\w.\-]*)=([^=]+)$")
_SEED_IN = re.compile(r"(?:^|[_\-.])(seed|trial|rep|fold|version)[_\-=]?(\d+)(?=$|[_\-.])", re.IGNORECASE)
# progress counters and bookkeeping some loggers store with the hyperparameters
NOT_SETTING = re.compile(r"^(global_step|max_steps|steps?|epochs?|current_epoch|total_flos|best_metric|"
                         r"best_model_checkpoint|best_global_step|trial_name|num_input_tokens_seen|"
                         r"is_\w+|.*_(time|timestamp|date|dir|path|file|name|id))$", re.IGNORECASE)
# runs of one recipe log (nearly) the same metrics: Jaccard overlap of their metric names at least
# this (a crashed run that never evaluated still shares its training curves with the others)
MIN_METRIC_OVERLAP = 0.5
# a sweep varies a few knobs of one recipe; runs differing in more settings are different recipes
MAX_VARYING = 4
MIN_ACCURACY = 0.9
MIN_SIDE = 2
MAX_STATEMENTS = 3
# `<run> (segment 2 of 3)`: ingest.segment_name
_SEGMENT = re.compile(r"^(?P<run>.*) \(segment \d+ of \d+\)$")


@dataclass(frozen=True)
class Config:
    """Runs of a sweep sharing every varying hyperparameter but the seed."""

    params: tuple[tuple[str, Any], ...]
    runs: tuple[str, ...]
    health: tuple[tuple[str, int], ...]  # (health, count), worst first
    causes: tuple[tuple[str, int], ...]  # first causes of the flagged runs, most common first


@dataclass(frozen=True)
class Sweep:
    directory: str
    runs: tuple[str, ...]
    varying: tuple[str, ...]
    seeds: tuple[str, ...]
    configs: tuple[Config, ...]
    statements: tuple[str, ...]


@dataclass(frozen=True)
class Overview:
    runs: int
    health: dict[str, int]
    causes: dict[str, int]  # first cause of every flagged run
    order: tuple[str, ...]  # runs sorted: unreadable, critical, warning, healthy; by top score
    sweeps: tuple[Sweep, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------- outcomes

def outcome(d: Diagnosis) -> str:
    return "unreadable" if d.status == "error" else d.health


def first_cause(d: Diagnosis) -> str | None:
    if d.status != "ok" or d.health == "healthy" or not d.causes:
        return None
    return d.causes[0].id


# --------------------------------------------------------------------- hyperparameters

def _value(v: Any) -> Any:
    """Numbers as floats (`"0.1"` too), other values as short strings; None when unusable."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    if v is None:
        return None
    s = str(v).strip()
    try:
        f = float(s)
        return f if math.isfinite(f) else None
    except ValueError:
        pass
    if not s or len(s) > 40 or "/" in s or "\\" in s:
        return None  # paths, long reprs: identifiers, not settings
    return s


def name_params(run: str) -> dict[str, Any]:
    """`key=value` and `key_number` parts of a run's path: sweeps/lr=0.1,bs=32/seed_3."""
    out: dict[str, Any] = {}
    for comp in run.split("/"):
        for part in re.split(r",|__|\+", comp):
            m = _PART_KV.match(part) or _PART_NUM.match(part)
            if m:
                out[m.group(1)] = _value(m.group(2))
            else:
                for m in _SEED_IN.finditer(part):  # metrics_seed216.jsonl, run-trial3
                    out[m.group(1).lower()] = _value(m.group(2))
    return {k: v for k, v in out.items() if v is not None}


def run_params(d: Diagnosis) -> dict[str, Any]:
    params = name_params(d.run)
    for k, v in d.hparams.items():
        val = _value(v)
        if val is not None:
            params[str(k)] = val
    return params


# --------------------------------------------------------------------- grouping

def _ancestors(run: str) -> list[str]:
    out = []
    d = posixpath.dirname(run)
    while True:
        out.append(d)
        if not d:
            return out
        d = posixpath.dirname(d)


def _varying(params: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Keys every run has and that take >= 2 values, split into (settings, seed-like); keys
    unique to every run and non-numeric are identifiers (run names, ids) and are dropped."""
    if not params:
        return [], []
    common = set(params[0]).intersection(*params[1:])
    settings: list[str] = []
    seeds: list[str] = []
    for k in sorted(common):
        if NOT_SETTING.match(k):
            continue
        vals = [p[k] for p in params]
        distinct = set(vals)
        if len(distinct) < 2:
            continue
        numeric = all(isinstance(v, float) for v in vals)
        if not numeric and len(distinct) == len(vals) and len(vals) > 2:
            continue
        (seeds if SEED_KEY.search(k) else settings).append(k)
    return settings, seeds


def _measured(d: Diagnosis) -> frozenset[str]:
    """What a run measures: each metric's role where it has one (train_loss is train_loss whether
    the logger calls it loss or train/loss), else its name."""
    return frozenset(m.role if m.role not in ("other", "unknown", "") else m.metric for m in d.metrics)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def recipes(idx: list[int], measured: list[frozenset[str]], params: list[dict[str, Any]],
            named: list[dict[str, Any]], diags: list[Diagnosis] | None = None) -> list[list[int]]:
    """The runs of `idx` grouped by recipe (overlapping measurements); only groups of two or more
    runs that show they belong together (see `shares_recipe`), and not one run's pieces (given
    the `diags`: `pieces_of_one_run`, unless a setting other than a seed-like one varies).
    `measured`, `params` and `named` are per run (`_measured`, `run_params`, `name_params`),
    computed once by the caller."""
    groups: list[tuple[frozenset[str], list[int]]] = []
    for i in idx:
        metrics = measured[i]
        for g_metrics, members in groups:
            # an unreadable run has no metrics: it stays with its siblings
            if not metrics or not g_metrics or _overlap(g_metrics, metrics) >= MIN_METRIC_OVERLAP:
                members.append(i)
                break
        else:
            groups.append((metrics, [i]))
    return [m for _, m in groups if len(m) >= 2 and shares_recipe([params[i] for i in m], [named[i] for i in m])
            and not (diags is not None and not _varying([params[i] for i in m])[0]
                     and pieces_of_one_run([diags[i] for i in m]))]


def _span(d: Diagnosis) -> tuple[float, float] | None:
    """The steps a run logged (first, last), over all its metrics; None when it logged none."""
    firsts = [m.first_step for m in d.metrics if m.first_step is not None]
    lasts = [m.last_step for m in d.metrics if m.last_step is not None]
    return (min(firsts), max(lasts)) if firsts and lasts else None


def pieces_of_one_run(diags: list[Diagnosis]) -> bool:
    """Whether the runs are one run's pieces, not repeats: the segments of one run, or a chain of
    resumes (each starts after the one before it started, and no later than it ended)."""
    if len(diags) < 2:
        return False
    bases = {m.group("run") if (m := _SEGMENT.match(d.run)) else None for d in diags}
    if len(bases) == 1 and None not in bases:
        return True
    spans = [_span(d) for d in diags]
    if any(s is None for s in spans):
        return False
    chain = sorted(s for s in spans if s is not None)
    return all(prev[0] < nxt[0] <= prev[1] for prev, nxt in pairwise(chain))


def shares_recipe(params: list[dict[str, Any]], named: list[dict[str, Any]]) -> bool:
    """A few settings vary, and something says the runs belong together: a logged setting they
    all agree on, or run names carrying settings or trial/seed numbers (`lr=0.1/seed_3`)."""
    settings, seeds = _varying(params)
    if not settings and not seeds:
        return False  # nothing known tells them apart: not a sweep, not repeats
    if len(settings) > MAX_VARYING:
        return False
    if all(named) and set(settings + seeds) & set(named[0]):
        return True
    common = set(params[0]).intersection(*params[1:]) if params else set()
    agreed = [k for k in common if not NOT_SETTING.match(k) and len({str(p[k]) for p in params}) == 1]
    return bool(agreed)


def group_sweeps(diags: list[Diagnosis], params: list[dict[str, Any]] | None = None) -> dict[str, list[int]]:
    """Sweep name -> indices of its runs: for each run the deepest ancestor directory where it
    shares a recipe with others that differ in a setting; runs with no such ancestor go with their
    siblings of the same recipe (repeats).  Two recipes in one directory are two sweeps."""
    params = params if params is not None else [run_params(d) for d in diags]
    measured = [_measured(d) for d in diags]
    named = [name_params(d.run) for d in diags]
    under: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(diags):
        for a in _ancestors(d.run):
            under[a].append(i)
    sweep_of: dict[str, set[int]] = {}
    for a, idx in under.items():
        if len(idx) >= 2:
            sweep_of[a] = {i for g in recipes(idx, measured, params, named, diags) if _varying([params[j] for j in g])[0]
                           for i in g}
    groups: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(diags):
        anc = _ancestors(d.run)
        home = next((a for a in anc if i in sweep_of.get(a, ())), anc[0])
        groups[home].append(i)
    out: dict[str, list[int]] = {}
    for home, idx in groups.items():
        found = recipes(idx, measured, params, named, diags)
        for n, g in enumerate(found, 1):
            out[home if len(found) == 1 else f"{home or '.'} (recipe {n} of {len(found)})"] = g
    return out


# --------------------------------------------------------------------- statements

def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _phrase(kind: str, value: str | None) -> tuple[str, str]:
    """(what the runs did, what the others did not)"""
    if kind == "cause":
        return f"had {value} as first cause", "did"
    if kind == "critical":
        return "were critical", "were"
    return "were flagged (warning or critical)", "were"


def _outcomes(diags: list[Diagnosis]) -> list[tuple[str, str | None, np.ndarray]]:
    out: list[tuple[str, str | None, np.ndarray]] = [
        ("flagged", None, np.array([outcome(d) in ("warning", "critical") for d in diags])),
        ("critical", None, np.array([outcome(d) == "critical" for d in diags]))]
    causes = [first_cause(d) for d in diags]
    for c in sorted(c for c in set(causes) if c is not None):
        out.append(("cause", c, np.array([x == c for x in causes])))
    return out


def _splits(k: str, vals: list[Any]) -> tuple[np.ndarray, list[str], list[str]]:
    """(members: splits x runs, description of the members, of the others): every threshold of
    a numeric setting (k >= t against k <= the value below t), every value of another."""
    if all(isinstance(v, float) for v in vals):
        arr = np.asarray(vals, dtype=float)
        distinct = np.unique(arr)
        members = arr[None, :] >= distinct[1:, None]
        return (members, [f"{k} >= {_fmt(float(t))}" for t in distinct[1:]],
                [f"{k} <= {_fmt(float(t))}" for t in distinct[:-1]])
    values = sorted(set(vals), key=str)
    members = np.array([[x == v for x in vals] for v in values], dtype=bool)
    return members, [f"{k} = {v}" for v in values], [f"other {k}"] * len(values)


def _candidates(diags: list[Diagnosis], params: list[dict[str, Any]], keys: list[str], per_key: int = 5) -> list[tuple]:
    """(accuracy, specificity, smaller side, key, text), the best `per_key` of every key, over
    every split of the key and every outcome, both ways round.  Numpy over splits x runs, so a
    random search with thousands of distinct values stays fast."""
    n = len(diags)
    found = []
    outcomes = [(kind, value, hit) for kind, value, hit in _outcomes(diags) if 0 < hit.sum() < n]
    for k in keys:
        members, desc_in, desc_out = _splits(k, [p[k] for p in params])
        best = []
        for kind, value, hit in outcomes:
            spec = {"cause": 2, "critical": 1, "flagged": 0}[kind]
            size_in = members.sum(axis=1)
            hits_in = (members & hit[None, :]).sum(axis=1)
            total = int(hit.sum())
            for flip in (False, True):
                a_size, a_hits = (n - size_in, total - hits_in) if flip else (size_in, hits_in)
                b_size, b_hits = n - a_size, total - a_hits
                acc = (a_hits + b_size - b_hits) / n
                ok = (a_size >= MIN_SIDE) & (b_size >= MIN_SIDE) & (acc >= MIN_ACCURACY) & (a_hits >= a_size / 2)
                for i in np.flatnonzero(ok):
                    best.append((float(acc[i]), spec, int(min(a_size[i], b_size[i])), kind, value, flip, int(i),
                                 int(a_size[i]), int(a_hits[i]), int(b_size[i]), int(b_hits[i])))
        best.sort(key=lambda c: (-c[0], -c[1], -c[2]))
        for acc, spec, side, kind, value, flip, split, na, ha, nb, hb in best[:per_key]:
            did, did_not = _phrase(kind, value)
            da, db = (desc_out[split], desc_in[split]) if flip else (desc_in[split], desc_out[split])
            if ha == na and hb == 0:
                text = f"all {na} runs with {da} {did}; none of the {nb} with {db} {did_not}"
            else:
                text = f"{ha} of {na} runs with {da} {did}; {hb} of the {nb} with {db} {did_not}"
            found.append((acc, spec, side, k, text))
    return found


def statements(diags: list[Diagnosis], params: list[dict[str, Any]], keys: list[str]) -> list[str]:
    found = sorted(_candidates(diags, params, keys), key=lambda c: (-c[0], -c[1], -c[2], c[4]))
    out, used = [], set()
    for _acc, _spec, _side, key, text in found:
        if key in used:
            continue
        used.add(key)
        out.append(text)
        if len(out) == MAX_STATEMENTS:
            break
    if not out and keys:
        n_bad = sum(outcome(d) in ("warning", "critical") for d in diags)
        if 0 < n_bad < len(diags):
            out.append(f"{n_bad} of {len(diags)} runs were flagged; no single hyperparameter "
                       f"({', '.join(keys)}) separates them from the others")
    return out


def _config_summary(diags: list[Diagnosis]) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    health = Counter(outcome(d) for d in diags)
    causes = Counter(c for c in (first_cause(d) for d in diags) if c)
    return (tuple(sorted(health.items(), key=lambda kv: OUTCOME_RANK[kv[0]])),
            tuple(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))))


def summarize_sweep(directory: str, diags: list[Diagnosis], params: list[dict[str, Any]] | None = None) -> Sweep:
    params = params if params is not None else [run_params(d) for d in diags]
    settings, seeds = _varying(params)
    by_config: dict[tuple, list[int]] = defaultdict(list)
    for i, p in enumerate(params):
        by_config[tuple((k, p[k]) for k in settings)].append(i)

    def order(item):
        return tuple((0, v, "") if isinstance(v, float) else (1, 0.0, str(v)) for _, v in item[0])

    configs = []
    for key, idx in sorted(by_config.items(), key=order):
        health, causes = _config_summary([diags[i] for i in idx])
        configs.append(Config(params=key, runs=tuple(diags[i].run for i in idx), health=health, causes=causes))
    ok = [i for i, d in enumerate(diags) if d.status == "ok"]
    said = statements([diags[i] for i in ok], [params[i] for i in ok], settings) if settings else []
    for c in configs:
        h = dict(c.health)
        if seeds and len(c.runs) >= 2 and 0 < h.get("healthy", 0) < len(c.runs):
            what = ", ".join(f"{k}={_fmt(v)}" for k, v in c.params) or "identical settings"
            said.append(f"seeds disagree at {what}: {len(c.runs) - h['healthy']} of {len(c.runs)} runs flagged")
    return Sweep(directory=directory or ".", runs=tuple(d.run for d in diags), varying=tuple(settings),
                 seeds=tuple(seeds), configs=tuple(configs), statements=tuple(said))


def overview(diags: Iterable[Diagnosis]) -> Overview:
    """Health and first causes across the runs, and every sweep among them (reports take it
    from the Analysis they render, where it is computed once: report.common.overview_of)."""
    diags = list(diags)
    health = Counter(outcome(d) for d in diags)
    causes = Counter(c for c in (first_cause(d) for d in diags) if c)
    params = [run_params(d) for d in diags]
    sweeps = []
    for directory, idx in sorted(group_sweeps(diags, params).items()):
        sweeps.append(summarize_sweep(directory, [diags[i] for i in idx], [params[i] for i in idx]))
    return Overview(
        runs=len(diags),
        health={h: health.get(h, 0) for h in ("critical", "warning", "unknown", "healthy", "unreadable")},
        causes=dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
        order=tuple(d.run for d in worst_first(diags)),
        sweeps=tuple(sweeps),
    )


def sweep_summary(s: Sweep) -> str:
    """`16 runs, 7 configuration(s) varying lr; repeats over seed` (raw text: reports escape it)."""
    by = ", ".join(s.varying) or "nothing but the seed"
    seeds = f"; repeats over {', '.join(s.seeds)}" if s.seeds else ""
    return f"{len(s.runs)} runs, {len(s.configs)} configuration(s) varying {by}{seeds}"


def config_label(c: Config) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in c.params) or "(all)"


def config_outcome(c: Config) -> str:
    """`3 runs: 2 critical, 1 healthy; first cause lr_too_high x2`"""
    h = ", ".join(f"{n} {k}" for k, n in c.health)
    causes = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in c.causes)
    return f"{len(c.runs)} run{'s' if len(c.runs) > 1 else ''}: {h}" + (f"; first cause {causes}" if causes else "")
