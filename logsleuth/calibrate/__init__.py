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

from .corpus import CLASS_RANGES, Labelled, class_range, load_corpus
from .fit import Bank, Fit, Fitter, apply_fit, fittable, reweighed, rules_using, with_params
from .run import (
                  FOLD_FAMILIES,
                  MIN_FOLD,
                  calibration_document,
                  calibration_markdown,
                  fmt_figures,
                  folds,
                  run_calibration,
                  summarise,
                  weights_yaml,
                  write_calibration,
)
from .scores import (
                  BINS,
                  HEALTHY_COST,
                  Figures,
                  Prediction,
                  correct,
                  ece,
                  figures,
                  findings_of,
                  fit_reliability,
                  isotonic,
                  objective,
                  predict,
                  probabilities,
                  reliability_table,
                  replace_scores,
)

__all__ = ["BINS", "CLASS_RANGES", "FOLD_FAMILIES", "HEALTHY_COST", "MIN_FOLD", "Bank", "Figures", "Fit", "Fitter", "Labelled",
           "Prediction", "apply_fit", "calibration_document", "calibration_markdown", "class_range", "correct", "ece",
           "figures", "findings_of", "fit_reliability", "fittable", "fmt_figures", "folds", "isotonic", "load_corpus",
           "objective", "predict", "probabilities", "reliability_table", "replace_scores", "reweighed", "rules_using",
           "run_calibration", "summarise", "weights_yaml", "with_params", "write_calibration"]
