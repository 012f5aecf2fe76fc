"""`logsleuth calibrate CORPUS`: fit the deciding numbers to a labelled corpus and prove them on
folds the fit did not see.

What is fitted, on the training runs of each fold (and, for the file that ships, on all runs):

1. detector thresholds that `rules/parameters.yaml` marks with a `fit:` grid, greedily, one at a
   time, to maximise top-1 + top-3/2 - HEALTHY_COST x healthy runs flagged (a warning on a good
   run costs more than a missed fault);
2. cause weights, one (rule, cause) entry at a time over WEIGHT_GRID x its declared weight, to
   maximise top-1 + top-3/2 (weights do not change health, only the order of causes);
3. the late-onset discount of the ranking (LATE_GRID);
4. the reliability map: an isotonic (pool-adjacent-violators) fit of "the top cause is right"
   against the raw top score, so that a score p means right about p of the time.

Folds hold out one group at a time: one kind of training, one class-count range, one logging
cadence (label.yaml keys `kind`, `n_classes`, `cadence`).  The figures of the held-out runs are
what the fit is judged by.  Never point this at ../shared/fault_corpus or real runs: those are
reports.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import yaml

from .errors import InputError
from .model import Finding, Series

HEALTHY_COST = 3.0  # a healthy run flagged costs three missed top-1 faults
WEIGHT_GRID = (0.5, 0.75, 1.0, 1.35, 1.8)  # factors tried on a declared cause weight
LATE_GRID = (0.0, 0.2, 0.4, 0.6)  # late-onset discounts tried
MIN_GAIN = 0.5  # a change is kept when it wins at least half a run on the training objective
BINS = 10  # reliability table and expected calibration error: ten equal-width score bins
CLASS_RANGES = ((2, 2, "2"), (3, 10, "3-10"), (11, 100, "11-100"), (101, 100_000, "101+"))  # else "none"


@dataclass
class Labelled:
    """One labelled run directory, read once: its series, hyperparameters and label."""
    name: str
    cause: str
    acceptable: tuple[str, ...]
    kind: str
    classes: str
    cadence: str
    runs: list[tuple[dict[str, Series], dict[str, Any]]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.cause == "healthy"


def class_range(n: Any) -> str:
    for lo, hi, name in CLASS_RANGES:
        if isinstance(n, (int, float)) and not isinstance(n, bool) and lo <= n <= hi:
            return name
    return "none"


def load_corpus(corpus: str, progress: Callable[[int, int], None] | None = None) -> list[Labelled]:
    """Every labelled run directory under `corpus`, its runs read into series once."""
    from .evaluate import label_dirs
    from .ingest import discover, load_run
    from .pipeline import run_series

    out = []
    dirs = label_dirs(corpus)
    for i, d in enumerate(dirs):
        with open(os.path.join(d, "label.yaml"), encoding="utf-8") as fh:
            lab = yaml.safe_load(fh) or {}
        cause = str(lab.get("cause", "healthy"))
        item = Labelled(name=os.path.relpath(d, corpus), cause=cause,
                        acceptable=tuple([cause] + list(lab.get("also_acceptable") or [])),
                        kind=str(lab.get("kind", "unknown")), classes=class_range(lab.get("n_classes")),
                        cadence=str(lab.get("cadence", "unknown")))
        for src in discover([d]).runs:
            try:
                run = load_run(src)
            except InputError:  # a broken run of the corpus is left out, not the fit
                continue
            item.runs.append((run_series(run).series, dict(run.hparams)))
        if item.runs:
            out.append(item)
        if progress:
            progress(i + 1, len(dirs))
    return out


# ------------------------------------------------------------------ evidence

def findings_of(item: Labelled, ruleset: Any) -> list[list[Finding]]:
    from .ruleset import evaluate

    return [evaluate(ruleset, series, hp)[0] for series, hp in item.runs]


@dataclass(frozen=True)
class Prediction:
    causes: tuple[str, ...]
    top_raw: float
    flagged: bool


def predict(per_run: list[list[Finding]], ruleset: Any) -> Prediction:
    """The worst run of a labelled directory (as `logsleuth eval` scores it)."""
    from .ranking import rank

    best: tuple[int, float, tuple[str, ...]] | None = None
    raw = replace_scores(ruleset)
    for findings in per_run:
        health, causes = rank(findings, raw)
        order = {"critical": 2, "warning": 1}.get(health, 0)
        top = causes[0].score if causes else 0.0
        key = (order, top, tuple(c.id for c in causes))
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return Prediction((), 0.0, False)
    return Prediction(best[2], best[1] if best[0] else 0.0, best[0] > 0)


def replace_scores(ruleset: Any, late: float | None = None) -> Any:
    """The rule set ranking raw scores (no reliability map), with a late discount."""
    cal = dict(getattr(ruleset, "scores", {}) or {})
    cal.pop("map", None)
    cal.pop("healthy", None)
    if late is not None:
        cal["ranking"] = {"late_discount": late}
    return replace(ruleset, scores=cal)


# ------------------------------------------------------------------ scores

@dataclass
class Figures:
    runs: int = 0
    faulty: int = 0
    healthy: int = 0
    top1: float = 0.0
    top3: float = 0.0
    healthy_flagged: float = 0.0
    ece: float | None = None

    def row(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def figures(items: Sequence[Labelled], preds: Sequence[Prediction], probs: Sequence[float] | None = None) -> Figures:
    f = Figures(runs=len(items))
    faulty = [(it, p) for it, p in zip(items, preds) if not it.healthy]
    healthy = [p for it, p in zip(items, preds) if it.healthy]
    f.faulty, f.healthy = len(faulty), len(healthy)
    if faulty:
        f.top1 = sum(bool(p.causes) and p.causes[0] in it.acceptable for it, p in faulty) / len(faulty)
        f.top3 = sum(any(c in it.acceptable for c in p.causes[:3]) for it, p in faulty) / len(faulty)
    if healthy:
        f.healthy_flagged = sum(p.flagged for p in healthy) / len(healthy)
    if probs is not None:
        f.ece = ece(probs, correct(items, preds))
    return f


def correct(items: Sequence[Labelled], preds: Sequence[Prediction]) -> list[bool]:
    """Whether the top cause is right: an acceptable cause, or `healthy` on a healthy run."""
    return [bool(p.causes) and p.causes[0] in it.acceptable for it, p in zip(items, preds)]


def objective(items: Sequence[Labelled], preds: Sequence[Prediction]) -> float:
    """What the fit maximises, in runs: top-1 hits + half the top-3 hits - HEALTHY_COST x flagged healthy runs."""
    t1 = t3 = bad = 0.0
    for it, p in zip(items, preds):
        if it.healthy:
            bad += p.flagged
        else:
            t1 += bool(p.causes) and p.causes[0] in it.acceptable
            t3 += any(c in it.acceptable for c in p.causes[:3])
    return t1 + 0.5 * t3 - HEALTHY_COST * bad


# ------------------------------------------------------------------ reliability

def isotonic(x: Sequence[float], y: Sequence[float]) -> tuple[list[float], list[float]]:
    """Pool-adjacent-violators: the non-decreasing step fit of y on x, as knots (x, p)."""
    order = np.argsort(np.asarray(x, float), kind="stable")
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    blocks: list[list[float]] = []  # [sum y, count, x min, x max]
    for xi, yi in zip(xs, ys):
        blocks.append([yi, 1.0, xi, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, n, lo, _ = blocks.pop(-2)
            blocks[-1] = [blocks[-1][0] + s, blocks[-1][1] + n, lo, blocks[-1][3]]
    raw, p = [], []
    for s, n, lo, hi in blocks:
        raw += [lo, hi] if hi > lo else [lo]
        p += [s / n] * (2 if hi > lo else 1)
    return [round(float(v), 4) for v in raw], [round(float(v), 4) for v in p]


def fit_reliability(items: Sequence[Labelled], preds: Sequence[Prediction]) -> dict[str, Any]:
    """The map from raw top score to how often the top cause was right, and the share of runs
    judged healthy that are healthy (the score of `healthy`)."""
    ok = correct(items, preds)
    flagged = [(p.top_raw, float(c)) for p, c in zip(preds, ok) if p.flagged]
    quiet = [c for p, c in zip(preds, ok) if not p.flagged]
    out: dict[str, Any] = {}
    if len(flagged) >= BINS:
        raw, p = isotonic([a for a, _ in flagged], [b for _, b in flagged])
        out["map"] = {"raw": [0.0] + raw + [1.0], "p": [p[0]] + p + [p[-1]]}
    if quiet:
        out["healthy"] = round(sum(quiet) / len(quiet), 4)
    return out


def probabilities(preds: Sequence[Prediction], cal: Mapping[str, Any]) -> list[float]:
    from .ranking import reliability

    return [reliability(p.top_raw, cal) if p.flagged else float(cal.get("healthy", 1.0)) for p in preds]


def ece(probs: Sequence[float], ok: Sequence[bool]) -> float:
    """Expected calibration error over BINS equal-width bins."""
    if not probs:
        return 0.0
    pr, y = np.asarray(probs, float), np.asarray(ok, float)
    idx = np.minimum((pr * BINS).astype(int), BINS - 1)
    total = 0.0
    for b in range(BINS):
        m = idx == b
        if m.any():
            total += m.sum() / pr.size * abs(pr[m].mean() - y[m].mean())
    return float(total)


def reliability_table(probs: Sequence[float], ok: Sequence[bool]) -> list[dict[str, Any]]:
    pr, y = np.asarray(probs, float), np.asarray(ok, float)
    idx = np.minimum((pr * BINS).astype(int), BINS - 1)
    rows = []
    for b in range(BINS):
        m = idx == b
        if m.any():
            rows.append({"bin": f"{b / BINS:.1f}-{(b + 1) / BINS:.1f}", "runs": int(m.sum()),
                         "mean_score": round(float(pr[m].mean()), 3), "right": round(float(y[m].mean()), 3)})
    return rows


# ------------------------------------------------------------------ fitting

Entry = tuple[str, str]  # (rule id, cause id)


@dataclass
class Fit:
    """What one fit found: parameter values, weight factors, the late discount, the reliability map."""
    params: dict[str, Any] = field(default_factory=dict)  # "detector.name" -> value
    factors: dict[Entry, float] = field(default_factory=dict)
    late: float = 0.0
    reliability: dict[str, Any] = field(default_factory=dict)
    train: Figures = field(default_factory=Figures)


def fittable(decls: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Parameters declared with a `fit:` grid in rules/parameters.yaml, key -> candidate values."""
    from .params import declaration_grids

    return {k: g for k, g in declaration_grids().items() if k in decls}


def with_params(ruleset: Any, params: Mapping[str, Any]) -> Any:
    by_det: dict[str, dict[str, Any]] = {d: dict(v) for d, v in (ruleset.params or {}).items()}
    for key, v in params.items():
        det, _, name = key.partition(".")
        by_det.setdefault(det, {})[name] = v
    return replace(ruleset, params=by_det)


def rules_using(ruleset: Any, detector: str) -> Any:
    rules = tuple(r for r in ruleset.rules
                  if any(cl.get("detector") == detector for g in ("all", "any", "none") for cl in r.detect.get(g, []) or []))
    return replace(ruleset, rules=rules)


def reweighed(per_run: list[list[Finding]], factors: Mapping[Entry, float]) -> list[list[Finding]]:
    if not factors:
        return per_run
    out = []
    for findings in per_run:
        out.append([replace(f, causes=tuple((c, max(-1.0, min(1.0, w * factors.get((f.rule, c), 1.0)))) for c, w in f.causes))
                    if any((f.rule, c) in factors for c, _ in f.causes) else f for f in findings])
    return out


class Bank:
    """The findings of every labelled run, once with the declared parameters and once per
    candidate value of each fitted parameter (only the rules that use its detector are
    re-evaluated): folds then choose among candidates without re-running detectors."""

    def __init__(self, items: Sequence[Labelled], ruleset: Any, grids: Mapping[str, list[Any]], jobs: int = 1,
                 say: Callable[[str], None] = lambda _m: None) -> None:
        self.ruleset, self.grids = ruleset, dict(grids)
        self.affected = {k: frozenset(r.id for r in rules_using(ruleset, k.partition(".")[0]).rules) for k in grids}
        from .detectors import REGISTRY

        declared = {k: REGISTRY[k.partition(".")[0]].params.get(k.partition(".")[2]) for k in grids}
        work = [(k, v) for k, g in grids.items() for v in g if v != declared[k]]  # the base has the declared values
        say(f"evidence of {len(items)} runs: declared values, and {len(work)} candidate values ...")
        self.base, self.cand = _bank_rows(list(items), ruleset, work, jobs)

    def findings(self, i: int, chosen: Mapping[str, Any]) -> list[list[Finding]]:
        """Run i's findings with the chosen values (each replacing its rules' findings)."""
        out = self.base[i]
        for key, v in chosen.items():
            if (key, v) not in self.cand:  # the declared value: the base findings
                continue
            ids = self.affected[key]
            new = self.cand[(key, v)][i]
            out = [[f for f in o if f.rule not in ids] + n for o, n in zip(out, new)]
        return out


_BANK: dict[str, Any] = {}  # what forked workers read (set before the pool starts)


def _bank_item(i: int) -> tuple[list[list[Finding]], dict[tuple[str, Any], list[list[Finding]]]]:
    item, ruleset, work = _BANK["items"][i], _BANK["ruleset"], _BANK["work"]
    base = findings_of(item, ruleset)
    cand = {}
    for key, v in work:
        rs = with_params(ruleset, {key: v})
        cand[(key, v)] = findings_of(item, rules_using(rs, key.partition(".")[0]))
    return base, cand


def _bank_rows(items: list[Labelled], ruleset: Any, work: list[tuple[str, Any]], jobs: int):
    import multiprocessing as mp

    _BANK.update(items=items, ruleset=ruleset, work=work)
    try:
        if jobs > 1 and "fork" in mp.get_all_start_methods():
            with mp.get_context("fork").Pool(jobs) as pool:
                rows = pool.map(_bank_item, range(len(items)), chunksize=8)
        else:
            rows = [_bank_item(i) for i in range(len(items))]
    finally:
        _BANK.clear()
    base = [r[0] for r in rows]
    cand = {kv: [r[1][kv] for r in rows] for kv in work}
    return base, cand


class Fitter:
    """Fits one calibration on a subset of the bank's runs."""

    def __init__(self, bank: Bank, idx: Sequence[int], items: Sequence[Labelled],
                 say: Callable[[str], None] = lambda _m: None) -> None:
        self.bank, self.idx = bank, list(idx)
        self.items = [items[i] for i in self.idx]
        self.ruleset = bank.ruleset
        self.say = say

    def _found(self, chosen: Mapping[str, Any]) -> list[list[list[Finding]]]:
        return [self.bank.findings(i, chosen) for i in self.idx]

    def _preds(self, found: list[list[list[Finding]]], factors: Mapping[Entry, float], late: float) -> list[Prediction]:
        rs = replace_scores(self.ruleset, late)
        return [predict(reweighed(fr, factors), rs) for fr in found]

    def fit(self) -> Fit:
        fit = Fit()
        best = objective(self.items, self._preds(self._found({}), {}, 0.0))
        for key, grid in self.bank.grids.items():  # 1. thresholds, greedily, one at a time
            cands = [(objective(self.items, self._preds(self._found({**fit.params, key: v}), {}, 0.0)), v) for v in grid]
            score, v = max(cands, key=lambda t: t[0])
            if score >= best + MIN_GAIN:
                fit.params[key], best = v, score
                self.say(f"  {key} = {v} (objective {score:.1f})")
        found = self._found(fit.params)
        fit.late = self._fit_late(found)  # the order of findings settles before the weights
        fit.factors = self._fit_weights(found, fit.late)
        preds = self._preds(found, fit.factors, fit.late)
        fit.reliability = fit_reliability(self.items, preds)
        fit.train = figures(self.items, preds)
        return fit

    def _fit_late(self, found: list[list[list[Finding]]]) -> float:
        scored = [(objective(self.items, self._preds(found, {}, d)), -d, d) for d in LATE_GRID]
        return max(scored)[2]

    def _fit_weights(self, found: list[list[list[Finding]]], late: float) -> dict[Entry, float]:
        """Coordinate ascent over (rule, cause) entries; only runs where the entry's rule fired move."""
        entries: dict[Entry, list[int]] = {}
        for i, fr in enumerate(found):
            for findings in fr:
                for f in findings:
                    for c, _ in f.causes:
                        idx = entries.setdefault((f.rule, c), [])
                        if not idx or idx[-1] != i:
                            idx.append(i)
        rs = replace_scores(self.ruleset, late)
        factors: dict[Entry, float] = {}
        preds = [predict(fr, rs) for fr in found]
        for _ in range(2):
            changed = False
            for e, idx in sorted(entries.items()):
                sub = [self.items[i] for i in idx]
                cur = factors.get(e, 1.0)
                base = objective(sub, [preds[i] for i in idx])
                best_v, best_s = cur, base
                best_p: list[Prediction] | None = None
                for v in WEIGHT_GRID:
                    if v == cur:
                        continue
                    trial = {**factors, e: v}
                    p = [predict(reweighed(found[i], trial), rs) for i in idx]
                    s = objective(sub, p)
                    if s >= best_s + MIN_GAIN:
                        best_v, best_s, best_p = v, s, p
                if best_p is not None:
                    factors[e] = best_v
                    for i, q in zip(idx, best_p):
                        preds[i] = q
                    changed = True
            if not changed:
                break
        return {e: v for e, v in factors.items() if v != 1.0}


def apply_fit(items: Sequence[Labelled], ruleset: Any, fit: Fit) -> tuple[list[Prediction], list[float]]:
    """Predictions and calibrated top-cause probabilities of held-out runs under a fit."""
    rs = with_params(ruleset, fit.params)
    raw = replace_scores(rs, fit.late)
    preds = [predict(reweighed(findings_of(it, rs), fit.factors), raw) for it in items]
    return preds, probabilities(preds, fit.reliability)


# ------------------------------------------------------------------ folds

FOLD_FAMILIES = {"kind": lambda it: it.kind, "classes": lambda it: it.classes, "cadence": lambda it: it.cadence}
MIN_FOLD = 10  # a held-out group of fewer labelled runs says little: it joins no fold


def folds(items: Sequence[Labelled], families: Iterable[str]) -> list[tuple[str, str, list[int], list[int]]]:
    """(family, held-out group, train indices, test indices) for every group of every family."""
    out = []
    for fam in families:
        key = FOLD_FAMILIES[fam]
        groups = sorted({key(it) for it in items})
        for g in groups:
            test = [i for i, it in enumerate(items) if key(it) == g]
            train = [i for i, it in enumerate(items) if key(it) != g]
            if len(test) >= MIN_FOLD and train:
                out.append((fam, g, train, test))
    return out


def weights_yaml(ruleset: Any, factors: Mapping[Entry, float]) -> dict[str, dict[str, float]]:
    """Fitted factors as absolute weights per rule and cause (what calibration.yaml stores)."""
    from .ruleset.schema import DEFAULT_CAUSE_WEIGHT

    declared = {(r.id, c["id"]): float(c.get("weight", DEFAULT_CAUSE_WEIGHT)) for r in ruleset.rules for c in r.causes}
    out: dict[str, dict[str, float]] = {}
    for (rule, cause), f in sorted(factors.items()):
        if (rule, cause) in declared:
            out.setdefault(rule, {})[cause] = round(max(-1.0, min(1.0, declared[(rule, cause)] * f)), 4)
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per family, the held-out figures pooled over its folds (each run held out once per family)."""
    out: dict[str, Any] = {}
    for fam in sorted({r["family"] for r in rows}):
        rs = [r for r in rows if r["family"] == fam]
        fa = sum(r["faulty"] for r in rs)
        he = sum(r["healthy"] for r in rs)
        n = sum(r["runs"] for r in rs)
        out[fam] = {
            "folds": len(rs),
            "top1": round(sum(r["top1"] * r["faulty"] for r in rs) / fa, 4) if fa else None,
            "top3": round(sum(r["top3"] * r["faulty"] for r in rs) / fa, 4) if fa else None,
            "healthy_flagged": round(sum(r["healthy_flagged"] * r["healthy"] for r in rs) / he, 4) if he else None,
            "ece": round(sum((r["ece"] or 0.0) * r["runs"] for r in rs) / n, 4) if n else None,
        }
    return out


def calibration_document(ruleset: Any, fit: Fit, corpus: str, items: Sequence[Labelled], fold_rows: list[dict[str, Any]],
                         table: list[dict[str, Any]], seed: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "provenance": {
            "corpus": os.path.abspath(corpus), "corpus_seed": seed, "runs": len(items),
            "faulty": sum(not it.healthy for it in items), "healthy": sum(it.healthy for it in items),
            "kinds": sorted({it.kind for it in items}), "fitted": _dt.date.today().isoformat(),
            "objective": f"top-1 + top-3/2 - {HEALTHY_COST:g} x healthy flagged",
            "train_figures": fit.train.row(), "held_out": summarise(fold_rows), "folds": fold_rows,
            "reliability_table": table,
        },
        "parameters": dict(sorted(fit.params.items())),
        "weights": weights_yaml(ruleset, fit.factors),
        "scores": {"ranking": {"late_discount": fit.late}, **fit.reliability},
    }


def corpus_seed(corpus: str) -> Any:
    p = os.path.join(corpus, "corpus.yaml")
    if os.path.isfile(p):
        with open(p, encoding="utf-8") as fh:
            return (yaml.safe_load(fh) or {}).get("seed")
    return None


def fmt_figures(f: Mapping[str, Any]) -> str:
    def num(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}" if isinstance(x, float) and not math.isnan(x) else str(x)
    return (f"top-1 {num(f.get('top1'))}  top-3 {num(f.get('top3'))}  healthy flagged {num(f.get('healthy_flagged'))}"
            f"  ECE {num(f.get('ece'))}")


def run_calibration(corpus: str, families: Sequence[str] = tuple(FOLD_FAMILIES), say: Callable[[str], None] = print,
                    extra_rules: Sequence[str] = (), grids: Mapping[str, list[Any]] | None = None,
                    jobs: int = 1) -> dict[str, Any]:
    """Fold figures, then the fit on every run: the calibration document to write."""
    from .params import declarations
    from .ruleset import load_ruleset

    ruleset = load_ruleset(list(extra_rules), calibrated=False)
    grids = fittable(declarations()) if grids is None else dict(grids)
    say(f"reading {corpus} ...")
    items = load_corpus(corpus)
    if not items:
        from .errors import UsageError

        raise UsageError(f"{corpus}: no labelled runs (label.yaml) to fit")
    say(f"{len(items)} labelled runs ({sum(it.healthy for it in items)} healthy); {len(grids)} parameters with a grid")
    bank = Bank(items, ruleset, grids, jobs=jobs, say=say)
    rows: list[dict[str, Any]] = []
    pooled: dict[str, tuple[list[float], list[bool]]] = {}
    for fam, group, train, test in folds(items, families):
        fit = Fitter(bank, train, items).fit()
        held = [items[i] for i in test]
        preds, probs = apply_fit(held, ruleset, fit)
        fig = figures(held, preds, probs)
        rows.append({"family": fam, "held_out": group, **fig.row()})
        pp, oo = pooled.setdefault(fam, ([], []))
        pp += probs
        oo += correct(held, preds)
        say(f"  held out {fam}={group}: {fmt_figures(fig.row())}")
    say("fitting on all runs ...")
    fit = Fitter(bank, range(len(items)), items, say).fit()
    probs, ok = pooled.get(families[0], ([], [])) if families else ([], [])
    return calibration_document(ruleset, fit, corpus, items, rows, reliability_table(probs, ok), corpus_seed(corpus))


def write_calibration(doc: Mapping[str, Any], path: str) -> None:
    header = ("# Written by `logsleuth calibrate`: fitted detector parameters, cause weights and the\n"
              "# reliability map, with where they came from and the held-out figures they reached.\n"
              "# Declarations (defaults, units, reasons) are in parameters.yaml; edit there, then refit.\n")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header)
        yaml.safe_dump(dict(doc), fh, sort_keys=False, width=120, allow_unicode=True)


def calibration_markdown(doc: Mapping[str, Any]) -> str:
    """docs/calibration.md: where the shipped numbers come from, the held-out figures per fold,
    and the reliability table (how often the top cause is right at each score)."""
    prov = doc.get("provenance") or {}
    out = ["# Calibration", "",
           "Generated from `rules/calibration.yaml` by `logsleuth calibrate CORPUS --docs docs/calibration.md`; "
           "do not edit by hand. How to refit: README, *Calibration*.", "",
           f"- corpus: `{os.path.basename(str(prov.get('corpus', '')))}` (seed {prov.get('corpus_seed')}), "
           f"{prov.get('runs')} labelled runs ({prov.get('faulty')} faulty, {prov.get('healthy')} healthy), "
           f"kinds: {', '.join(prov.get('kinds') or [])}",
           f"- objective: {prov.get('objective')}; fitted {prov.get('fitted')}",
           f"- fitted: {len(doc.get('parameters') or {})} parameters, "
           f"{sum(len(v) for v in (doc.get('weights') or {}).values())} cause weights, late-onset discount "
           f"{((doc.get('scores') or {}).get('ranking') or {}).get('late_discount')}", "",
           "## Held-out figures", "",
           "Each run is held out once per family: fitted on the other groups, scored on its own.", "",
           "| held out by | folds | top-1 | top-3 | healthy flagged | ECE |", "|---|---|---|---|---|---|"]
    for fam, f in (prov.get("held_out") or {}).items():
        out.append(f"| {fam} | {f['folds']} | {f['top1']} | {f['top3']} | {f['healthy_flagged']} | {f['ece']} |")
    out += ["", "| family | held out | runs | faulty | healthy | top-1 | top-3 | healthy flagged | ECE |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in prov.get("folds") or []:
        out.append(f"| {r['family']} | {r['held_out']} | {r['runs']} | {r['faulty']} | {r['healthy']} | "
                   f"{r['top1']:.3f} | {r['top3']:.3f} | {r['healthy_flagged']:.3f} | {r['ece']:.3f} |")
    out += ["", "## Reliability (held out by kind)", "",
            "When the top cause scores p, how often it was right on runs of a kind the fit did not see.", "",
            "| score | runs | mean score | right |", "|---|---|---|---|"]
    out += [f"| {r['bin']} | {r['runs']} | {r['mean_score']} | {r['right']} |" for r in prov.get("reliability_table") or []]
    out += ["", "## Fitted parameters", "", "| parameter | value |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in (doc.get("parameters") or {}).items()]
    return "\n".join(out) + "\n"
