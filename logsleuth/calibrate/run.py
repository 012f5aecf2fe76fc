"""Folds, the whole calibration run, and what it writes (calibration.yaml, docs/calibration.md)."""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import yaml

from .corpus import Labelled, load_corpus
from .fit import Bank, Entry, Fit, Fitter, apply_fit, fittable
from .scores import HEALTHY_COST, Figures, correct, figures, findings_of, predict, probabilities, reliability_table

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
    from ..ruleset.schema import DEFAULT_CAUSE_WEIGHT

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


def baseline_figures(items: Sequence[Labelled], rs: Any) -> Figures:
    """What a calibration already written (the one a refit would replace; `rs` is the rule set
    under it) scores on these runs."""
    preds = [predict(findings_of(it, rs), rs) for it in items]
    return figures(items, preds, probabilities(preds, rs.scores or {}))


def baseline_of(path: str | None, extra_rules: Sequence[str]) -> tuple[str, Any]:
    """(name, rule set under it) of the calibration a refit is compared with: the file given,
    else the one in force; loaded now, so that a bad one is refused before the fit."""
    from pathlib import Path

    from ..errors import RuleError, UsageError
    from ..params import CALIBRATION_FILE, ParameterFileError, read_calibration
    from ..ruleset import load_ruleset
    from ..ruleset.loading import calibration_in_force

    if path is None:
        data = calibration_in_force(list(extra_rules))
        name = f"{CALIBRATION_FILE} in force (fitted {(data.get('provenance') or {}).get('fitted')})"
    else:
        try:
            data = read_calibration(Path(path))
        except ParameterFileError as exc:
            raise UsageError(f"--baseline: {exc}") from None
        prov = data.get("provenance") or {}
        name = f"{Path(path).name} (fitted {prov.get('fitted')}, {os.path.basename(str(prov.get('corpus', '')))})"
    try:
        return name, load_ruleset(list(extra_rules), calibration=data)
    except RuleError as exc:
        raise UsageError(f"--baseline {path}: {exc}") from None


def tested_row(path: str, items: Sequence[Labelled], fitted_on: Sequence[Labelled], fit_figs: Figures,
             base: Figures | None, baseline_name: str | None) -> dict[str, Any]:
    """One test corpus of the provenance: its size, how many of its recipes the fit saw (a test
    that shares them is not unseen), the fit's figures on it and the baseline's."""
    seen = {it.recipe for it in fitted_on if it.recipe}
    row: dict[str, Any] = {"corpus": os.path.abspath(path), "corpus_seed": corpus_seed(path),
                           "shared_with_fit": sum(1 for it in items if it.recipe and it.recipe in seen),
                           "fit": fit_figs.row()}
    if base is not None:
        row["baseline"] = {"calibration": baseline_name, **base.row()}
    return row


def calibration_document(ruleset: Any, fit: Fit, corpus: str, items: Sequence[Labelled], fold_rows: list[dict[str, Any]],
                         table: list[dict[str, Any]], seed: Any, tested: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    return {
        "schema": 1,
        "provenance": {
            "corpus": os.path.abspath(corpus), "corpus_seed": seed, "runs": len(items),
            "faulty": sum(not it.healthy for it in items), "healthy": sum(it.healthy for it in items),
            "kinds": sorted({it.kind for it in items}), "fitted": _dt.date.today().isoformat(),
            "objective": f"top-1 + top-3/2 - {HEALTHY_COST:g} x healthy flagged",
            "train_figures": fit.train.row(), "held_out": summarise(fold_rows), "folds": fold_rows,
            "reliability_table": table,
            **({"tested_on": list(tested)} if tested else {}),
        },
        "parameters": dict(sorted(fit.params.items())),
        "weights": weights_yaml(ruleset, fit.factors),
        "notes_only": list(fit.demoted),
        "scores": {"ranking": {"late_discount": fit.late}, **fit.reliability},
    }


def corpus_seed(corpus: str) -> Any:
    """The seed in the corpus's corpus.yaml (make_corpus.py writes one); for a directory of
    several generated corpora, the list of their seeds."""
    def seed_of(d: str) -> Any:
        p = os.path.join(d, "corpus.yaml")
        if os.path.isfile(p):
            with open(p, encoding="utf-8") as fh:
                return (yaml.safe_load(fh) or {}).get("seed")
        return None

    own = seed_of(corpus)
    if own is not None:
        return own
    parts = [seed_of(os.path.join(corpus, d)) for d in sorted(os.listdir(corpus)) if os.path.isdir(os.path.join(corpus, d))]
    parts = [s for s in parts if s is not None]
    return parts or None


def fmt_figures(f: Mapping[str, Any]) -> str:
    def num(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}" if isinstance(x, float) and not math.isnan(x) else str(x)
    return (f"top-1 {num(f.get('top1'))}  top-3 {num(f.get('top3'))}  healthy flagged {num(f.get('healthy_flagged'))}"
            f"  ECE {num(f.get('ece'))}")


def run_calibration(corpus: str, families: Sequence[str] = tuple(FOLD_FAMILIES), say: Callable[[str], None] = print,
                    extra_rules: Sequence[str] = (), grids: Mapping[str, list[Any]] | None = None,
                    jobs: int = 1, tests: Sequence[str] = (), baseline: tuple[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Fold figures, then the fit on every run: the calibration document to write.  Each corpus
    of `tests` (never fitted) is scored under the fit and, when given, under `baseline`
    (name, rule set under that calibration, from `baseline_of`): the figures that decide whether the refit replaces it."""
    from ..params import declarations
    from ..ruleset import load_ruleset

    ruleset = load_ruleset(list(extra_rules), calibrated=False)
    grids = fittable(declarations()) if grids is None else dict(grids)
    say(f"reading {corpus} ...")
    items = load_corpus(corpus)
    if not items:
        from ..errors import UsageError

        raise UsageError(f"{corpus}: no labelled runs (label.yaml) to fit")
    say(f"{len(items)} labelled runs ({sum(it.healthy for it in items)} healthy); {len(grids)} parameters with a grid")
    held_out = [(path, load_corpus(path)) for path in tests]  # read before the fit: a bad one fails first
    for path, held in held_out:
        if not held:
            from ..errors import UsageError

            raise UsageError(f"--test {path}: no labelled runs (label.yaml) to score")
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
    tested = []
    for path, held in held_out:
        say(f"scoring {path} (not fitted) ...")
        preds, tprobs = apply_fit(held, ruleset, fit)
        base = baseline_figures(held, baseline[1]) if baseline else None
        tested.append(tested_row(path, held, items, figures(held, preds, tprobs), base, baseline[0] if baseline else None))
    probs, ok = pooled.get(families[0], ([], [])) if families else ([], [])
    return calibration_document(ruleset, fit, corpus, items, rows, reliability_table(probs, ok), corpus_seed(corpus),
                                tested)


def write_calibration(doc: Mapping[str, Any], path: str) -> None:
    header = ("# Written by `logsleuth calibrate`: fitted detector parameters, cause weights and the\n"
              "# reliability map, with where they came from and the held-out figures they reached.\n"
              "# Declarations (defaults, units, reasons) are in parameters.yaml; edit there, then refit.\n")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header)
        yaml.safe_dump(dict(doc), fh, sort_keys=False, width=120, allow_unicode=True)


def _tested_markdown(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    out = ["", "## Tested on corpora the fit did not see", "",
           "Scored after the fit (`--test`); runs whose recipe (training seed and description) is also in the "
           "fitted corpus are counted, since a test that shares them is not unseen. The baseline is the calibration "
           "the refit was compared with (`--baseline`).", "",
           "| corpus | seed | runs | shared with the fit | calibration | top-1 | top-3 | healthy flagged | ECE |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        head = f"| `{os.path.basename(str(r['corpus']))}` | {r.get('corpus_seed')} | {r['fit']['runs']} | {r['shared_with_fit']}"
        for name, f in [("this fit", r["fit"])] + ([(f"`{r['baseline']['calibration']}`", r["baseline"])] if "baseline" in r else []):
            out.append(f"{head} | {name} | {f['top1']:.3f} | {f['top3']:.3f} | {f['healthy_flagged']:.3f} | "
                       f"{(f.get('ece') or 0.0):.3f} |")
    return out


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
    out += _tested_markdown(prov.get("tested_on") or [])
    out += ["", "## Reliability (held out by kind)", "",
            "When the top cause scores p, how often it was right on runs of a kind the fit did not see.", "",
            "| score | runs | mean score | right |", "|---|---|---|---|"]
    out += [f"| {r['bin']} | {r['runs']} | {r['mean_score']} | {r['right']} |" for r in prov.get("reliability_table") or []]
    notes = doc.get("notes_only") or []
    out += ["", "## Rules reported as notes", "",
            "Rules whose warnings on healthy runs cost more than the faults they rank (the objective): "
            "their findings are shown as notes (severity info) and do not flag a run.", ""]
    out += [f"- `{r}`" for r in notes] or ["(none)"]
    out += ["", "## Fitted parameters", "", "| parameter | value |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in (doc.get("parameters") or {}).items()]
    return "\n".join(out) + "\n"
