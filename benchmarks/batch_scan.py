"""Scanning a tree of many runs: runs/s of the first scan with --jobs 1 and --jobs 2, of a
re-scan of the unchanged tree (its stored report), of a re-scan after one run changed (the
other diagnoses from the cache), and the parent process's peak memory.

    python benchmarks/batch_scan.py [--runs 2000] [--keep DIR] [--against OTHER_CHECKOUT [--repeat 3]]

Generates N runs of mixed formats (TensorBoard, Lightning CSV, Keras CSV, JSON lines, HF
trainer_state) and faults with the seeded generators of tests/, laid out as sweeps, then runs
the real command line `logsleuth analyze RUNS --format json -o report.json --cache DB -q`
in a child process for each case.  The child reports its own peak RSS (the parent only:
pool workers are separate processes) and the wall time is taken around the whole command,
interpreter start included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import synth  # noqa: E402
import writers  # noqa: E402

CHILD = """
import atexit, resource, sys
atexit.register(lambda: sys.stderr.write("PEAK_RSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
from logsleuth.cli import main
sys.argv = ["logsleuth"] + sys.argv[1:]
main()
"""


def make_runs(root: str, n: int) -> None:
    gens = list(synth.GENERATORS.values())
    for i in range(n):
        c = gens[i % len(gens)](seed=i)
        d = os.path.join(root, f"sweep_{i // 200:02d}", f"lr={0.001 * (1 + i % 7):g}", f"seed_{i}")
        kind = i % 5
        writers.write_in_format(d, c, kind, hparams={"lr": 0.001 * (1 + i % 7)})


ROOT = os.path.abspath(os.path.join(HERE, ".."))


def scan(runs: str, out: str, cache: str | None, jobs: int, code: str = ROOT) -> tuple[float, int, dict]:
    """One scan by the logsleuth checked out at `code` (the child runs there: `-c` puts its
    working directory first on the path)."""
    cmd = [sys.executable, "-c", CHILD, "analyze", runs, "--format", "json", "-o", out, "-q", "-j", str(jobs)]
    cmd += ["--cache", cache] if cache else ["--no-cache"]
    t = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed: .pyc files
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=code)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"scan failed ({p.returncode}):\n{p.stderr}")
    peak = next(int(line.split("=")[1]) for line in p.stderr.splitlines() if line.startswith("PEAK_RSS_KB="))
    with open(out) as fh:
        report = json.load(fh)
    return wall, peak, report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--keep", help="write the runs here instead of a temporary directory")
    ap.add_argument("--against", metavar="CHECKOUT",
                    help="another checkout of logsleuth (the code before a change): first scans with --jobs 2 by "
                         "it and by this one, alternated, --repeat times each, instead of the cases below")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    base = a.keep or tempfile.mkdtemp(prefix="logsleuth-batch-")
    base = os.path.abspath(base)
    runs = os.path.join(base, "runs")
    if not os.path.isdir(runs):
        t = time.perf_counter()
        make_runs(runs, a.runs)
        print(f"generated {a.runs} runs in {time.perf_counter() - t:.0f} s under {runs}")
    work = tempfile.mkdtemp(prefix="logsleuth-batch-out-")
    if a.against:
        try:
            against(runs, work, os.path.abspath(a.against), a.repeat)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    try:
        scan(os.path.join(runs, "sweep_00", "lr=0.001"), os.path.join(work, "warm.json"), None, 1)  # compile once
        rows = []
        reports = {}
        for label, jobs, cache in (("first scan, --jobs 1", 1, "c1.sqlite"), ("first scan, --jobs 2", 2, "c2.sqlite"),
                                   ("re-scan with the cache, --jobs 2", 2, "c2.sqlite")):
            wall, peak, rep = scan(runs, os.path.join(work, "r.json"), os.path.join(work, cache), jobs)
            n = len(rep["runs"])
            reports[label] = [{k: v for k, v in r.items()} for r in rep["runs"]]
            rows.append((label, n, wall, n / wall, peak / 1024))
        # one run goes on (a record appended): its stored report no longer holds, the other
        # 1,999 diagnoses come from the cache
        one = next(os.path.join(d, f) for d, _, fs in sorted(os.walk(runs)) for f in sorted(fs) if f == "metrics.jsonl")
        with open(one, "rb") as fh:
            original = fh.read()
        try:
            with open(one, "ab") as fh:
                fh.write(original.splitlines()[-1] + b"\n")
            wall, peak, rep = scan(runs, os.path.join(work, "r.json"), os.path.join(work, "c2.sqlite"), 2)
            rows.append(("re-scan, one run changed, --jobs 2", len(rep["runs"]), wall, len(rep["runs"]) / wall, peak / 1024))
        finally:
            with open(one, "wb") as fh:
                fh.write(original)
        print(f"\n{'case':36s} {'runs':>6s} {'wall s':>8s} {'runs/s':>8s} {'parent peak MB':>15s}")
        for label, n, wall, rate, mb in rows:
            print(f"{label:36s} {n:6d} {wall:8.1f} {rate:8.1f} {mb:15.0f}")
        print(f"\nre-scan speed-up over the --jobs 2 first scan: {rows[1][2] / rows[2][2]:.1f}x "
              f"(unchanged tree: its stored report); {rows[1][2] / rows[3][2]:.1f}x with one run changed")
        same = reports[rows[0][0]] == reports[rows[1][0]] == reports[rows[2][0]]
        print(f"identical JSON runs across the three scans: {same}")
        bad = sum(1 for r in reports[rows[0][0]] if r["status"] == "ok" and r["health"] != "healthy")
        print(f"runs flagged: {bad} of {rows[0][1]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


def against(runs: str, work: str, other: str, repeat: int) -> None:
    """First scans (--jobs 2, no cache) by another checkout and by this one, alternated so that
    other load on the machine falls on both alike; medians, and whether the reports agree."""
    out = os.path.join(work, "r.json")
    for code in (other, ROOT):  # compile both once
        scan(os.path.join(runs, "sweep_00", "lr=0.001"), out, None, 1, code)
    walls: dict[str, list[float]] = {other: [], ROOT: []}
    reports = {}
    for _ in range(repeat):
        for code in (other, ROOT):
            wall, _, rep = scan(runs, out, None, 2, code)
            walls[code].append(wall)
            reports[code] = rep["runs"]
    n = len(reports[ROOT])
    mo, mt = statistics.median(walls[other]), statistics.median(walls[ROOT])
    print(f"first scan of {n} runs, --jobs 2, medians of {repeat} alternated:")
    print(f"  {other}: {mo:.1f} s, {n / mo:.0f} runs/s")
    print(f"  {ROOT}: {mt:.1f} s, {n / mt:.0f} runs/s  ({mo / mt:.2f}x faster)")
    same = [(a["run"], a["health"], a["causes"][:1]) for a in reports[other]] == \
        [(b["run"], b["health"], b["causes"][:1]) for b in reports[ROOT]]
    print(f"  same runs, health and first cause in both reports: {same}")


if __name__ == "__main__":
    main()
