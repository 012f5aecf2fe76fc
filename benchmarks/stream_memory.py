"""Peak memory when reading text logs of several GB: streamed in pieces, memory stays flat.

    python benchmarks/stream_memory.py [--gib 0.5 2.0] [--keep DIR] [--no-pandas]

For each size, generates a CSV log and a JSON-lines log of about that many GiB (12 columns: step, wall time
and ten metrics, one with a spike and a NaN), then, each in a fresh process, measures the
peak RSS and the time of
  * logsleuth reading the file into its tidy table (load_run) and of the full analysis
    (`logsleuth analyze FILE --format json`),
  * pandas.read_csv of the whole CSV (what a user would do instead; JSON lines through
    pandas.read_json would need tens of GB and is not run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

CHILD_LOAD = """
import resource, sys, time
t = time.perf_counter()
from logsleuth.ingest import discover, load_run
run = load_run(discover([sys.argv[1]]).runs[0])
print(f"{time.perf_counter() - t:.1f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {len(run.table)} "
      f"{sum(1 for w in run.warnings if 'kept to bound memory' in w)}")
"""
CHILD_ANALYZE = """
import resource, sys, time
t = time.perf_counter()
from logsleuth.scan import analyze_paths
from logsleuth.report import to_json
res = analyze_paths([sys.argv[1]], jobs=1, curves=False)
to_json(res)
d = res.diagnoses[0]
print(f"{time.perf_counter() - t:.1f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {d.health} "
      f"{'+'.join(sorted({f.symptom for f in d.symptoms}))}")
"""
CHILD_PANDAS = """
import resource, sys, time
t = time.perf_counter()
import pandas as pd
df = pd.read_csv(sys.argv[1])
print(f"{time.perf_counter() - t:.1f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {df.size}")
"""


def _block(start: int, n: int, rng) -> pd.DataFrame:
    steps = np.arange(start, start + n)
    cols = {"step": steps, "wall_time": 1.7e9 + steps * 0.01}
    base = 2 * np.exp(-steps / 4e6) + 0.1
    for i in range(10):
        cols[f"metric_{i}/loss" if i < 5 else f"metric_{i}/acc"] = base * (1 + 0.1 * i) + 0.01 * rng.standard_normal(n)
    return pd.DataFrame(cols)


def make_files(d: str, gib: float) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    csv, jsonl = os.path.join(d, "big_csv", "metrics.csv"), os.path.join(d, "big_jsonl", "metrics.jsonl")
    os.makedirs(os.path.dirname(csv))
    os.makedirs(os.path.dirname(jsonl))
    target = int(gib * 1024**3)
    for path, kind in ((csv, "csv"), (jsonl, "jsonl")):
        start, n = 0, 500_000
        with open(path, "w") as fh:
            while fh.tell() < target:
                b = _block(start, n, rng)
                if start == 0:
                    b.loc[123_456, "metric_0/loss"] = 40.0  # a spike
                    b.loc[234_567, "metric_1/loss"] = np.nan  # a NaN
                if kind == "csv":
                    b.to_csv(fh, index=False, header=start == 0)
                else:
                    b.to_json(fh, orient="records", lines=True)
                start += n
    return csv, jsonl


def child(code: str, path: str) -> list[str]:
    p = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
    if p.returncode != 0:
        return ["failed", p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"]
    return p.stdout.split()


def _row(label: str, gib: float, r: list[str], notes) -> None:
    if r[0] == "failed":
        print(f"{label:44s} {gib:8.2f} {'-':>7s} {'-':>12s}  failed: {r[1]}", flush=True)
    else:
        print(f"{label:44s} {gib:8.2f} {r[0]:>7s} {int(r[1]) / 1024:12.0f}  {notes(r)}", flush=True)


def run_size(base: str, size: float, pandas: bool) -> None:
    d = os.path.join(base, f"{size:g}GiB")
    csv = os.path.join(d, "big_csv", "metrics.csv")
    jsonl = os.path.join(d, "big_jsonl", "metrics.jsonl")
    if not (os.path.exists(csv) and os.path.exists(jsonl)):
        csv, jsonl = make_files(d, size)
    for path in (csv, jsonl):
        gib = os.path.getsize(path) / 1024**3
        kind = "CSV" if path.endswith(".csv") else "JSONL"
        _row(f"logsleuth load_run, {kind}", gib, child(CHILD_LOAD, path),
             lambda r: f"{int(r[2]):,} points kept, {r[3]} metrics thinned")
        _row(f"logsleuth analysis + JSON, {kind}", gib, child(CHILD_ANALYZE, os.path.dirname(path)),
             lambda r: f"health {r[2]}; symptoms {r[3] if len(r) > 3 else '-'}")
        if kind == "CSV" and pandas:
            _row("pandas.read_csv (whole file), CSV", gib, child(CHILD_PANDAS, path), lambda r: f"{int(r[2]):,} cells")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, nargs="+", default=[0.5, 2.0])
    ap.add_argument("--keep", help="generate the files here (kept) instead of a temporary directory")
    ap.add_argument("--no-pandas", action="store_true")
    a = ap.parse_args()
    base = a.keep or tempfile.mkdtemp(prefix="logsleuth-stream-")
    print(f"{'case':44s} {'file GiB':>8s} {'time s':>7s} {'peak RSS MB':>12s}  notes", flush=True)
    try:
        for size in a.gib:
            run_size(base, size, not a.no_pandas)
            if not a.keep:
                shutil.rmtree(os.path.join(base, f"{size:g}GiB"), ignore_errors=True)
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
