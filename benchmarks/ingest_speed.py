"""logsleuth's readers side by side with the tools a user would use instead, in one process.

    python benchmarks/ingest_speed.py [--repeat 5] [--ref-repeat 5] [--keep DIR] [--only NAME ...]

Generates its own data (nothing is downloaded) and prints, per case, the median time of
logsleuth's reader and of the reference (tbparse for TensorBoard, pandas.read_csv /
pandas.read_json(lines=True) for text formats), their ratio, and the peak memory each
allocated (tracemalloc, numpy buffers included).  Cases:

  tb_1m        1,000,000 scalar events in one file (TF1 simple_value)
  tb_20x100k   20 tags x 100,000 steps in one file
  tb_1000runs  1,000 runs x 5 tags x 200 steps (one directory each; the reference is called per run)
  tb_tf2       200,000 TF2 tensor scalars
  csv_1m       1,000,000-row wide CSV (step + 3 metrics)
  jsonl_1m     1,000,000-line JSON lines
  analyze_1m   the full `logsleuth analyze RUN --format json` of the 1M-event run (a subprocess)
  analyze_csv_1m  the full `logsleuth analyze` of csv_1m beside a process that only runs
               pandas.read_csv on it, alternated, median of --repeat each (issue 29: <= 1.5x)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from logsleuth.ingest import discover, load_run  # noqa: E402

from writers import write_tensorboard  # noqa: E402

warnings.filterwarnings("ignore")
# child processes import this checkout's logsleuth, not the one the venv's script points at, from
# its compiled .pyc files as an installed package does (as cold_start.py and batch_scan.py: this
# machine sets PYTHONDONTWRITEBYTECODE, which would compile every module of every start)
CHILD_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPATH": os.path.join(HERE, "..")}


def _gen_tb(d: str, tags: int, steps: int, tf2: bool = False) -> None:
    if os.path.isdir(d) and os.listdir(d):
        return
    st = np.arange(steps, dtype=float)
    rng = np.random.default_rng(0)
    write_tensorboard(d, {f"metric_{i}/loss": (st, np.exp(-st / steps * 3) + rng.random(steps) * 0.01) for i in range(tags)},
                      tf2=tf2)


def make(base: str, only: set[str]) -> dict[str, str]:
    p = {k: os.path.join(base, k) for k in ("tb_1m", "tb_20x100k", "tb_1000runs", "tb_tf2", "csv_1m", "jsonl_1m")}
    if "tb_1m" in only or "analyze_1m" in only:
        _gen_tb(p["tb_1m"], 1, 1_000_000)
    if "tb_20x100k" in only:
        _gen_tb(p["tb_20x100k"], 20, 100_000)
    if "tb_tf2" in only:
        _gen_tb(p["tb_tf2"], 2, 100_000, tf2=True)
    if "tb_1000runs" in only and not os.path.isdir(p["tb_1000runs"]):
        for i in range(1000):
            _gen_tb(os.path.join(p["tb_1000runs"], f"run_{i:04d}"), 5, 200)
    n = 1_000_000
    rng = np.random.default_rng(1)
    st = np.arange(n)
    cols = {"train_loss": np.exp(-st / 3e5) + rng.random(n) * 0.01, "val_loss": rng.random(n), "lr": np.full(n, 1e-3)}
    if only & {"csv_1m", "analyze_csv_1m"} and not os.path.exists(p["csv_1m"] + ".csv"):
        pd.DataFrame({"step": st, **cols}).to_csv(p["csv_1m"] + ".csv", index=False)
    if "jsonl_1m" in only and not os.path.exists(p["jsonl_1m"] + ".jsonl"):
        pd.DataFrame({"step": st, **cols}).to_json(p["jsonl_1m"] + ".jsonl", orient="records", lines=True)
    return p


def measure(fn, repeat: int, memory: bool = True) -> tuple[float, float]:
    """Median time of `repeat` calls (tracemalloc off: it slows pure-Python readers several
    fold), then, when asked, the peak traced memory of one more call."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    peak = float("nan")
    if memory:
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return statistics.median(times), peak


def ours_dir(path: str):
    return lambda: [load_run(s) for s in discover([path]).runs]


def tbparse_dir(path: str):
    from tbparse import SummaryReader

    def go():
        runs = [r for r in sorted(os.listdir(path))] if os.path.isdir(os.path.join(path, sorted(os.listdir(path))[0])) else [None]
        for r in runs:
            _ = SummaryReader(os.path.join(path, r) if r else path, pivot=False, extra_columns={"wall_time"}).scalars
    return go


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ref-repeat", type=int, default=5, help="repeats of the (slow) reference readers")
    ap.add_argument("--ref-memory", action="store_true", help="also trace the reference's memory (slow for tbparse)")
    ap.add_argument("--keep", help="keep generated data here (reused on the next run)")
    ap.add_argument("--only", nargs="*", default=["tb_1m", "tb_20x100k", "tb_1000runs", "tb_tf2", "csv_1m", "jsonl_1m",
                                                  "analyze_1m", "analyze_csv_1m"])
    a = ap.parse_args()
    base = a.keep or tempfile.mkdtemp(prefix="logsleuth-ingest-")
    os.makedirs(base, exist_ok=True)
    only = set(a.only)
    p = make(base, only)
    load_run(discover([p["tb_1m"] if "tb_1m" in only else p.get("tb_tf2")]).runs[0]) if only & {"tb_1m", "tb_tf2"} else None
    cases = {
        "tb_1m": (ours_dir(p["tb_1m"]), tbparse_dir(p["tb_1m"]), "tbparse"),
        "tb_20x100k": (ours_dir(p["tb_20x100k"]), tbparse_dir(p["tb_20x100k"]), "tbparse"),
        "tb_1000runs": (ours_dir(p["tb_1000runs"]), tbparse_dir(p["tb_1000runs"]), "tbparse"),
        "tb_tf2": (ours_dir(p["tb_tf2"]), tbparse_dir(p["tb_tf2"]), "tbparse"),
        "csv_1m": (lambda: load_run(discover([p["csv_1m"] + ".csv"]).runs[0]),
                   lambda: pd.read_csv(p["csv_1m"] + ".csv"), "pandas.read_csv"),
        "jsonl_1m": (lambda: load_run(discover([p["jsonl_1m"] + ".jsonl"]).runs[0]),
                     lambda: pd.read_json(p["jsonl_1m"] + ".jsonl", lines=True), "pandas.read_json"),
    }
    print(f"{'case':12s} {'logsleuth s':>11s} {'reference s':>11s} {'ratio':>7s} {'ours MB':>8s} {'ref MB':>8s}  reference")
    rows = []
    for name, (ours, ref, refname) in cases.items():
        if name not in only:
            continue
        to, mo = measure(ours, a.repeat)
        tr, mr = measure(ref, a.ref_repeat, memory=a.ref_memory or not name.startswith("tb_"))
        rows.append((name, to, tr, mo, mr, refname))
        print(f"{name:12s} {to:11.3f} {tr:11.3f} {tr / to:6.1f}x {mo:8.0f} {mr:8.0f}  {refname}", flush=True)
    if "analyze_1m" in only:
        cmd = [sys.executable, "-m", "logsleuth", "analyze", p["tb_1m"], "--format", "json", "--no-cache"]
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            out = subprocess.run(cmd, check=True, capture_output=True, env=CHILD_ENV)
            times.append(time.perf_counter() - t)
        doc = json.loads(out.stdout)
        print(f"analyze_1m   full `logsleuth analyze` of the 1M-event run (process start included): "
              f"median {statistics.median(times):.2f} s; health {doc['runs'][0]['health']}")
    if "analyze_csv_1m" in only:
        analyze_beside_read_csv(p["csv_1m"] + ".csv", a.repeat)


def analyze_beside_read_csv(path: str, repeat: int) -> None:
    """Whole processes, alternated so that other load on the machine hits both alike: the
    analysis of a CSV and pandas.read_csv of the same file (interpreter start in both)."""
    ours = [sys.executable, "-m", "logsleuth", "analyze", path, "--format", "json", "--no-cache"]
    ref = [sys.executable, "-c", f"import pandas; pandas.read_csv({path!r})"]
    to, tr = [], []
    for _ in range(repeat):
        for cmd, times in ((ours, to), (ref, tr)):
            t = time.perf_counter()
            out = subprocess.run(cmd, check=True, capture_output=True, env=CHILD_ENV)
            times.append(time.perf_counter() - t)
            if cmd is ours:
                health = json.loads(out.stdout)["runs"][0]["health"]
    mo, mr = statistics.median(to), statistics.median(tr)
    print(f"analyze_csv_1m  `logsleuth analyze` {mo:.2f} s, pandas.read_csv process {mr:.2f} s: {mo / mr:.2f}x "
          f"(medians of {repeat}, alternated); health {health}")


if __name__ == "__main__":
    main()
