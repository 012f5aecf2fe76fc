"""Fuzz every reader with mutated copies of real logs.

    python scripts/fuzz_readers.py [--inputs 10000] [--corpus ../shared/fault_corpus] [--jobs 2]
                                   [--seed 0] [--crashes DIR]

Each input is a log file of the corpus (TensorBoard event files, CSV, JSON lines,
trainer_state.json, text logs, MLflow metric files) with 1-3 random mutations (truncation,
bit flips, garbage lines, invalid UTF-8, absurd numbers, duplicated blocks, dropped bytes,
swapped lines, NaN strings, CRLF), plus the hand-made monsters (5 MB line, 10,000 columns,
5,000-deep JSON, empty, binary, gzip named .csv...).  An input passes when its file is read
(maybe with warnings) or rejected with a message naming it, and the analysis of its run
returns a diagnosis.  A crash is any other exception; a hang is an input that takes longer
than --limit seconds.  Crashing inputs are saved to --crashes for replay.  Exit code 1 when
anything crashed or hung.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from fuzzing import MONSTERS, MUTATORS, check_one, monster, mutate  # noqa: E402

SKIP = {"label.yaml", "readme.md", "meta.yaml"}


def corpus_files(corpus: str) -> list[tuple[str, str]]:
    """(path, reader kind) of every log file under the corpus."""
    from logsleuth.ingest import discover

    out = []
    for run in discover([corpus]).runs:
        for f in run.files:
            if f.kind == "mlflow":
                mdir = os.path.join(f.path, "metrics")
                for dirpath, _dirs, names in os.walk(mdir):
                    out += [(os.path.join(dirpath, n), "mlflow-metric") for n in sorted(names)]
            else:
                out.append((f.path, f.kind))
    return out


def _generated_seeds() -> list[tuple[str, str]]:
    """Formats the corpus does not hold (W&B run files), written by the test writers."""
    import synth
    import writers

    d = tempfile.mkdtemp(prefix="logsleuth-fuzz-seeds-")
    out = []
    for i, gen in enumerate(("healthy", "diverging", "spiky")):
        c = synth.GENERATORS[gen](seed=i)
        out.append((writers.write_wandb(os.path.join(d, f"run-{gen}"), c, run_id=f"seed{i:04d}"), "wandb"))
    return out


def _one(args) -> tuple[str, str, str]:
    """Build input number i in a private directory and check it."""
    from logsleuth.pipeline import RunTimeout, time_limit

    i, src, kind, seed, workdir, limit = args
    rnd = random.Random(seed * 1_000_003 + i)
    d = os.path.join(workdir, f"in{i}")
    os.makedirs(d, exist_ok=True)
    label = ""
    try:
        if kind == "monster":
            name, fmt, what = src
            data = monster(what, fmt)
            label = f"monster {what} as {name}"
            target, read_path, reader = os.path.join(d, name), os.path.join(d, name), "hf" if name == "trainer_state.json" else fmt
        else:
            with open(src, "rb") as fh:
                data = fh.read()
            hows = [rnd.choice(MUTATORS) for _ in range(rnd.randint(1, 3))]
            for how in hows:
                data = mutate(data, how, rnd)
            label = f"{os.path.relpath(src)} + {'+'.join(hows)}"
            if kind == "mlflow-metric":  # rebuild a minimal MLflow run around the mutated metric file
                run = os.path.join(d, "run")
                os.makedirs(os.path.join(run, "metrics"))
                os.makedirs(os.path.join(run, "params"))
                with open(os.path.join(run, "meta.yaml"), "w") as fh:
                    fh.write("run_id: x\n")
                target = os.path.join(run, "metrics", os.path.basename(src))
                read_path, reader = run, "mlflow"
            else:
                target = read_path = os.path.join(d, os.path.basename(src))
                reader = kind
        with open(target, "wb") as fh:
            fh.write(data)
        t = time.monotonic()
        try:
            with time_limit(limit):
                out = check_one(read_path, reader)
        except RunTimeout:
            return "hang", label, f"over {limit} s"
        status = out.status
        if time.monotonic() - t > limit:
            status, out.detail = "hang", f"{time.monotonic() - t:.1f} s"
        return status, label, out.detail
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=10_000)
    ap.add_argument("--corpus", default=os.path.join(HERE, "..", "..", "shared", "fault_corpus"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=float, default=30.0, help="seconds before an input counts as a hang")
    ap.add_argument("--crashes", default=os.path.join(tempfile.gettempdir(), "logsleuth-fuzz-crashes"))
    a = ap.parse_args()
    files = corpus_files(a.corpus) + _generated_seeds()
    if not files:
        sys.exit(f"no log files under {a.corpus}")
    rnd = random.Random(a.seed)
    monsters = [((name, fmt, m), "monster") for m in MONSTERS
                for fmt, name in (("csv", "metrics.csv"), ("jsonl", "metrics.jsonl"), ("csv", "training.log"),
                                  ("jsonl", "trainer_state.json"), ("text", "train.log"))]
    plan = monsters + [rnd.choice(files) for _ in range(max(0, a.inputs - len(monsters)))]
    workdir = tempfile.mkdtemp(prefix="logsleuth-fuzz-")
    jobs = [(i, src, kind, a.seed, workdir, a.limit) for i, (src, kind) in enumerate(plan)]
    counts: Counter = Counter()
    by_kind: Counter = Counter(kind for _, kind in plan)
    bad = []
    t0 = time.monotonic()
    try:
        if a.jobs > 1:
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(a.jobs) as pool:
                results = pool.imap_unordered(_one, jobs, chunksize=16)
                for n, r in enumerate(results, 1):
                    counts[r[0]] += 1
                    if r[0] in ("crash", "hang"):
                        bad.append(r)
                    if n % 1000 == 0:
                        print(f"  {n}/{len(jobs)} inputs, {counts['crash']} crashes, {counts['hang']} hangs", flush=True)
        else:
            for j in jobs:
                r = _one(j)
                counts[r[0]] += 1
                if r[0] in ("crash", "hang"):
                    bad.append(r)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    wall = time.monotonic() - t0
    print(f"\ninputs tried: {len(jobs)} ({len(files)} corpus files; "
          + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) + ")")
    print(f"read: {counts['read']}, rejected with a message: {counts['rejected']}, "
          f"crashes: {counts['crash']}, hangs: {counts['hang']}   ({wall:.0f} s, {len(jobs) / wall:.0f} inputs/s)")
    if bad:
        os.makedirs(a.crashes, exist_ok=True)
        with open(os.path.join(a.crashes, "report.txt"), "w") as fh:
            for status, label, detail in bad:
                fh.write(f"== {status}: {label}\n{detail}\n")
        for status, label, detail in bad[:10]:
            print(f"\n{status.upper()}: {label}\n{detail}")
        print(f"\nall {len(bad)} in {os.path.join(a.crashes, 'report.txt')} (re-run with the same --seed to rebuild them)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
