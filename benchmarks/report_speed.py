"""Time to write the HTML and the Markdown report of N runs (default 500), and their sizes.

    python benchmarks/report_speed.py [--runs 500] [--keep DIR]
    python benchmarks/report_speed.py --runs 200 --versus-terminal [--repeat 3]

Generates N small runs of mixed formats and faults with the seeded generators of tests/,
then runs the real command line once: `logsleuth analyze RUNS -o report.html -o report.md`,
timing the whole process.  Also writes the HTML page of one 1,000,000-point run and reports
its size (long curves are decimated with min/max buckets, so spikes stay visible).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import numpy as np  # noqa: E402

import synth  # noqa: E402
import writers  # noqa: E402


def make_runs(root: str, n: int) -> None:
    gens = list(synth.GENERATORS.values())
    for i in range(n):
        c = gens[i % len(gens)](seed=i)
        d = os.path.join(root, f"sweep_{i // 100}", f"run_{i:04d}")
        kind = i % 4
        if kind == 0:
            writers.write_jsonl(os.path.join(d, "metrics.jsonl"), c)
        elif kind == 1:
            writers.write_lightning_csv(os.path.join(d, "version_0"), c, hparams={"lr": 0.01 * (1 + i % 5)})
        elif kind == 2:
            writers.write_keras_csv(os.path.join(d, "training.log"), c)
        else:
            writers.write_trainer_state(os.path.join(d, "trainer_state.json"), c)


ROOT = os.path.abspath(os.path.join(HERE, ".."))


def logsleuth() -> list[str]:
    """This checkout's command line (run with cwd=ROOT, so `-m` imports this checkout)."""
    return [sys.executable, "-m", "logsleuth"]


def html_beside_terminal(runs: str, out: str, repeat: int) -> None:
    """The HTML report with plots and the terminal report of the same runs, each a whole
    process without the cache, alternated so that other load on the machine hits both alike;
    medians of `repeat` (issue 29: HTML <= 1.5x the terminal report)."""
    cases = {"terminal": logsleuth() + ["analyze", runs, "--no-cache", "-o", os.path.join(out, "report.txt")],
             "html": logsleuth() + ["analyze", runs, "--no-cache", "-o", os.path.join(out, "report.html")]}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeat):
        for k, cmd in cases.items():
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=ROOT)
            times[k].append(time.perf_counter() - t)
    tt, th = statistics.median(times["terminal"]), statistics.median(times["html"])
    print(f"terminal report {tt:.2f} s, HTML report with plots {th:.2f} s: {th / tt:.2f}x "
          f"(medians of {repeat}, alternated, --no-cache)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--keep", help="write the runs and reports here instead of a temporary directory")
    ap.add_argument("--versus-terminal", action="store_true",
                    help="only time the HTML report beside the terminal report (alternated, --repeat times)")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    base = os.path.abspath(a.keep or tempfile.mkdtemp(prefix="logsleuth-bench-"))
    runs, out = os.path.join(base, "runs"), os.path.join(base, "out")
    os.makedirs(out, exist_ok=True)
    if not os.path.isdir(runs):
        make_runs(runs, a.runs)
    if a.versus_terminal:
        html_beside_terminal(runs, out, a.repeat)
        return
    t = time.perf_counter()
    subprocess.run(logsleuth() + ["analyze", runs, "-o", os.path.join(out, "report.html"), "-o",
                                  os.path.join(out, "report.md")], check=True, stderr=subprocess.DEVNULL, cwd=ROOT)
    dt = time.perf_counter() - t
    pngs = os.path.join(out, "report_files")
    png_bytes = sum(os.path.getsize(os.path.join(pngs, f)) for f in os.listdir(pngs))
    print(f"runs: {a.runs}; cores: {os.cpu_count()}")
    print(f"HTML + Markdown written in {dt:.1f} s ({a.runs / dt:.1f} runs/s)")
    print(f"report.html: {os.path.getsize(os.path.join(out, 'report.html')) / 1e6:.1f} MB; "
          f"report.md: {os.path.getsize(os.path.join(out, 'report.md')) / 1e3:.0f} kB + "
          f"{len(os.listdir(pngs))} PNG files, {png_bytes / 1e6:.1f} MB")
    big = os.path.join(base, "big")
    n = 1_000_000
    rng = np.random.default_rng(0)
    st = np.arange(1, n + 1, dtype=float)
    loss = (0.05 + 2.25 * np.exp(-st / (n / 8))) * np.exp(rng.normal(0, 0.2, n))
    loss[rng.choice(n, 20, replace=False)] *= 30.0
    with open(os.path.join(base, "big.csv"), "w") as fh:
        fh.write("step,train_loss\n")
        np.savetxt(fh, np.c_[st, loss], fmt=["%d", "%.6g"], delimiter=",")
    os.makedirs(big, exist_ok=True)
    os.replace(os.path.join(base, "big.csv"), os.path.join(big, "metrics.csv"))
    t = time.perf_counter()
    subprocess.run(logsleuth() + ["analyze", big, "-o", os.path.join(out, "big.html")], check=True, stderr=subprocess.DEVNULL,
                   cwd=ROOT)
    print(f"1,000,000-point run: HTML page {os.path.getsize(os.path.join(out, 'big.html')) / 1e6:.2f} MB "
          f"in {time.perf_counter() - t:.1f} s")
    print(f"files kept in {base}" if a.keep else "")


if __name__ == "__main__":
    main()
