"""A cold `logsleuth analyze` process beside a bare `python -c "import pandas"`.

    python benchmarks/cold_start.py [--repeat 10] [--run DIR] [--keep DIR] [--small-only]

Each repeat starts, one after the other (alternated, so that both see the same machine):
`python -c "import pandas"`, `logsleuth analyze SMALL --no-cache -q --format json` of one
small run (a fault-corpus run when ../shared is beside the project, else sample_logs/), and the
same for a generated run of 1,000,000 TensorBoard scalar events. Printed: the median wall time
of each, the ratio to the pandas import, and each process's peak RSS (from wait4, the whole
process). The interpreter is the one running this script, and the children run in the checkout
holding it (so `python -m logsleuth` is this checkout's, not an installed copy); with
`--installed` they run in an empty directory instead, so that a fresh `pip install .` is measured
(`/tmp/v/bin/python benchmarks/cold_start.py --installed`). PYTHONDONTWRITEBYTECODE is dropped for
the children, as an installed package has its .pyc files. The built-in rule set's compiled copy
(rulecache) is written by the warm-up run, as by a user's first run; LOGSLEUTH_RULES_CACHE=off
measures without it.
The goal (issue 27): the small run at most 1.2x the pandas import.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")


def _small_run() -> str:
    corpus = os.path.join(ROOT, "..", "shared", "fault_corpus", "bad_weight_init_01")
    if os.path.isdir(corpus):
        return os.path.abspath(corpus)
    return os.path.abspath(os.path.join(ROOT, "sample_logs", sorted(os.listdir(os.path.join(ROOT, "sample_logs")))[0]))


GENERATE = """
import sys, numpy as np
sys.path.insert(0, sys.argv[2])
from writers import write_tensorboard
st = np.arange(1_000_000, dtype=float)
rng = np.random.default_rng(0)
write_tensorboard(sys.argv[1], {"train/loss": (st, np.exp(-st / 1e6 * 3) + rng.random(st.size) * 0.01)})
"""


def _big_run(base: str) -> str:
    """Written by a child process: this one stays small, as its forks' peak RSS counts it."""
    d = os.path.join(base, "tb_1m")
    if not (os.path.isdir(d) and os.listdir(d)):
        subprocess.run([sys.executable, "-c", GENERATE, d, os.path.join(ROOT, "tests")], check=True)
    return d


# as after a pip install: modules load from their compiled .pyc (the warm-up writes them)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], cwd: str = ROOT) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, cwd=cwd)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode() if p.stderr else ""
    if p.returncode not in (0, 1):  # 1: --fail-on is not given, so only a crash would be non-zero
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--run", default=None, help="the small run [default: a fault-corpus run, else sample_logs/]")
    ap.add_argument("--keep", default=None, help="keep the generated 1M-event run here (reused next time)")
    ap.add_argument("--small-only", action="store_true", help="leave out the 1M-event run")
    ap.add_argument("--installed", action="store_true",
                    help="run the children outside the checkout: the logsleuth installed in this interpreter's environment")
    a = ap.parse_args()
    cwd = tempfile.mkdtemp(prefix="logsleuth-cold-cwd-") if a.installed else ROOT
    small = os.path.abspath(a.run) if a.run else _small_run()
    analyze = [sys.executable, "-m", "logsleuth", "analyze", "--no-cache", "-q", "--format", "json"]
    cases = {"python -c 'import pandas'": [sys.executable, "-c", "import pandas"],
             "analyze one small run": analyze + [small]}
    if not a.small_only:
        cases["analyze the 1M-event run"] = analyze + [_big_run(a.keep or tempfile.mkdtemp(prefix="logsleuth-cold-"))]
    for cmd in cases.values():  # warm the file cache and the .pyc files
        timed(cmd, cwd)
    res: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    for _ in range(a.repeat):
        for k, cmd in cases.items():
            res[k].append(timed(cmd, cwd))
    ref = statistics.median(w for w, _ in res["python -c 'import pandas'"])
    if a.installed:
        shutil.rmtree(cwd, ignore_errors=True)
    print(f"small run: {small}")
    print(f"{'case':28s} {'median s':>9s} {'x import pandas':>16s} {'peak RSS MB':>12s}")
    for k, v in res.items():
        w = statistics.median(x for x, _ in v)
        print(f"{k:28s} {w:9.3f} {w / ref:16.2f} {max(m for _, m in v):12.0f}")


if __name__ == "__main__":
    main()
