"""Held-out figures of the calibration, per fold: top-1, top-3, healthy runs flagged and the
expected calibration error of every group held out (one kind of training, one class-count range,
one logging cadence), fitted on the other groups.

    python benchmarks/calibration_folds.py CORPUS [--folds kind,classes,cadence] [--jobs 2] [--json OUT]

Without CORPUS it reads the figures `rules/calibration.yaml` shipped with (what the last
`logsleuth calibrate` measured).  Never point it at ../shared/fault_corpus: that is a report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from logsleuth.calibrate import fmt_figures, run_calibration
from logsleuth.params import builtin_calibration


def table(prov: dict) -> str:
    lines = [f"{'family':8s} {'held out':16s} {'runs':>5s} {'faulty':>6s} {'healthy':>7s} {'top-1':>6s} {'top-3':>6s} "
             f"{'flagged':>7s} {'ECE':>6s}"]
    for r in prov.get("folds") or []:
        lines.append(f"{r['family']:8s} {r['held_out']!s:16s} {r['runs']:5d} {r['faulty']:6d} {r['healthy']:7d} "
                     f"{r['top1']:6.3f} {r['top3']:6.3f} {r['healthy_flagged']:7.3f} {r['ece']:6.3f}")
    lines.append("")
    for fam, f in (prov.get("held_out") or {}).items():
        lines.append(f"pooled, held out by {fam:8s} ({f['folds']} folds): {fmt_figures(f)}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?")
    ap.add_argument("--folds", default="kind,classes,cadence")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", dest="json_out")
    a = ap.parse_args()
    if a.corpus is None:
        doc = builtin_calibration()
        if not doc:
            print("rules/calibration.yaml is missing: give a CORPUS", file=sys.stderr)
            return 2
    else:
        t0 = time.perf_counter()
        doc = run_calibration(a.corpus, [f for f in a.folds.split(",") if f], say=lambda m: print(m, file=sys.stderr),
                              jobs=a.jobs)
        print(f"calibration with folds: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(table(doc["provenance"]))
    if a.json_out:
        with open(a.json_out, "w", encoding="utf-8") as fh:
            json.dump(doc["provenance"], fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
