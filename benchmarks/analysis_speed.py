"""How long the analysis of one run takes beyond reading it (detect + rank), at 1k to 1M points.

    python benchmarks/analysis_speed.py [--points 1000000] [--repeat 5]

Builds one synthetic run (training loss, grad norm and lr every step, validation loss and
accuracy every 1% of the run: about 3 x points rows), then times `logsleuth.diagnose` on the loaded run: the median of the repeats is printed
with the time of pandas' own `groupby` over the same table as a yardstick.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from logsleuth.model import RunData
from logsleuth.pipeline import diagnose


def make_run(n: int, seed: int = 0) -> RunData:
    rng = np.random.default_rng(seed)
    st = np.arange(1, n + 1, dtype=float)
    loss = (0.05 + 2.25 * np.exp(-st / (n / 8))) * np.exp(rng.normal(0, 0.2, n))
    vst = st[:: max(1, n // 100)]
    val = np.interp(vst, st, 0.05 + 2.25 * np.exp(-st / (n / 8))) * 1.2
    parts = {"train/loss": (st, loss), "train/grad_norm": (st, 0.5 * np.exp(rng.normal(0, 0.3, n))),
             "lr": (st, np.full(n, 1e-3)), "val/loss": (vst, val), "val/acc": (vst, 1 - val / 3)}
    table = pd.concat([pd.DataFrame({"metric": k, "step": s, "value": v, "wall_time": np.nan}) for k, (s, v) in parts.items()],
                      ignore_index=True)
    table["metric"] = table["metric"].astype("category")  # as logsleuth.load_run returns it
    return RunData(name="bench", path=".", formats=("synthetic",), table=table)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, nargs="*", default=[1_000, 100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    diagnose(make_run(1000))  # warm-up: imports, rule loading
    print(f"{'points/metric':>14s} {'rows':>10s} {'diagnose s':>11s} {'pandas groupby s':>17s} {'health':>8s}")
    for n in a.points:
        run = make_run(n)
        times, ref = [], []
        for _ in range(a.repeat):
            t = time.perf_counter()
            d = diagnose(run)
            times.append(time.perf_counter() - t)
            t = time.perf_counter()
            run.table.groupby("metric")["value"].agg(["median", "std"])
            ref.append(time.perf_counter() - t)
        print(f"{n:14,d} {len(run.table):10,d} {statistics.median(times):11.3f} {statistics.median(ref):17.3f} {d.health:>8s}")


if __name__ == "__main__":
    main()
