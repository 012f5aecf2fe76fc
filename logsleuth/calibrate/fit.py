"""Fitting one calibration: the evidence bank (findings per candidate value, computed once),
greedy thresholds, cause weights, the late-onset discount and the reliability map."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..model import Finding, Severity
from ..ruleset.schema import DETECT_GROUPS
from .corpus import Labelled
from .scores import Figures, Prediction, figures, findings_of, fit_reliability, objective, predict, probabilities, replace_scores

WEIGHT_GRID = (0.5, 0.75, 1.0, 1.35, 1.8)  # factors tried on a declared cause weight
LATE_GRID = (0.0, 0.2, 0.4, 0.6)  # late-onset discounts tried
MIN_GAIN = 0.5  # a change is kept when it wins at least half a run on the training objective
# never turned into notes by the fit: a critical finding says the run is broken (a NaN, a
# divergence, a frozen loss), and a note would hide that from the user for the sake of a
# healthy run or two; such false alarms are fixed in the detector (divergence.min_regain)
KEPT_SEVERITIES = ("info", "critical")

# ------------------------------------------------------------------ fitting

Entry = tuple[str, str]  # (rule id, cause id)


@dataclass
class Fit:
    """What one fit found: parameter values, weight factors, the late discount, the reliability map."""
    params: dict[str, Any] = field(default_factory=dict)  # "detector.name" -> value
    factors: dict[Entry, float] = field(default_factory=dict)
    late: float = 0.0
    demoted: tuple[str, ...] = ()  # rules whose warnings are reported as notes (info)
    reliability: dict[str, Any] = field(default_factory=dict)
    train: Figures = field(default_factory=Figures)


def fittable(decls: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Parameters declared with a `fit:` grid in rules/parameters.yaml, key -> candidate values."""
    from ..params import declaration_grids

    return {k: g for k, g in declaration_grids().items() if k in decls}


def with_params(ruleset: Any, params: Mapping[str, Any]) -> Any:
    by_det: dict[str, dict[str, Any]] = {d: dict(v) for d, v in (ruleset.params or {}).items()}
    for key, v in params.items():
        det, _, name = key.partition(".")
        by_det.setdefault(det, {})[name] = v
    return replace(ruleset, params=by_det)


def rules_using(ruleset: Any, detector: str) -> Any:
    rules = tuple(r for r in ruleset.rules
                  if any(cl.get("detector") == detector for g in DETECT_GROUPS for cl in r.detect.get(g, []) or []))
    return replace(ruleset, rules=rules)


def demote(found: list[list[list[Finding]]], rules: frozenset[str] | set[str]) -> list[list[list[Finding]]]:
    """Findings with the given rules' warnings turned into notes (severity info): the symptom is
    still reported, the run is not flagged for it."""
    if not rules:
        return found
    return [[[replace(f, severity=Severity.INFO) if f.rule in rules and f.severity != Severity.INFO else f for f in findings]
             for findings in fr] for fr in found]


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
        from ..detectors import REGISTRY

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
        fit.demoted = self._fit_severity(found, best)  # 2. rules whose warnings cost more than they find
        found = demote(found, set(fit.demoted))
        fit.late = self._fit_late(found)  # the order of findings settles before the weights
        fit.factors = self._fit_weights(found, fit.late)
        preds = self._preds(found, fit.factors, fit.late)
        fit.reliability = fit_reliability(self.items, preds)
        fit.train = figures(self.items, preds)
        return fit

    def _fit_severity(self, found: list[list[list[Finding]]], best: float) -> tuple[str, ...]:
        """Greedily, the rules whose warnings on healthy training runs cost more (HEALTHY_COST
        each) than the faults they rank: each is tried as a note, kept when the objective gains."""
        on_healthy: dict[str, int] = {}
        for it, fr in zip(self.items, found):
            if it.healthy:
                for r in {f.rule for fs in fr for f in fs if f.severity not in KEPT_SEVERITIES}:
                    on_healthy[r] = on_healthy.get(r, 0) + 1
        demoted: set[str] = set()
        for rule, _ in sorted(on_healthy.items(), key=lambda t: (-t[1], t[0])):
            score = objective(self.items, self._preds(demote(found, demoted | {rule}), {}, 0.0))
            if score >= best + MIN_GAIN:
                demoted.add(rule)
                best = score
                self.say(f"  {rule}: reported as a note (objective {score:.1f})")
        return tuple(sorted(demoted))

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
    demoted = set(fit.demoted)
    preds = [predict(reweighed(demote([findings_of(it, rs)], demoted)[0], fit.factors), raw) for it in items]
    return preds, probabilities(preds, fit.reliability)


