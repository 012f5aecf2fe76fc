"""Peak memory when reading text logs of several GB: streamed in pieces, memory stays flat.

    python benchmarks/stream_memory.py [--gib 0.5 2.0] [--keep DIR] [--no-pandas]
    python benchmarks/stream_memory.py --tb-events 10000000 [--keep DIR]

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


def write_events(path: str, tags: int, steps: int, block: int = 1_000_000) -> None:
    """An event file of `tags` x `steps` simple_value scalars (record order: step, then tag),
    encoded with numpy a block of records at a time (the protobuf writer takes minutes for 10M),
    framed and CRC'd as TensorBoard writes them."""
    from logsleuth.ingest.tbbytes import crc_matrix

    names = [f"metric_{i}/loss".encode() for i in range(tags)]
    assert len({len(n) for n in names}) == 1
    tl = len(names[0])
    value = 2 + tl + 5  # tag (field 1) + simple_value (field 2, f32)
    summary = 2 + value  # Summary.value (field 1)
    rng = np.random.default_rng(0)
    n = tags * steps
    with open(path, "wb") as fh:
        for a in range(0, n, block):
            idx = np.arange(a, min(n, a + block))
            st, tg = idx // tags, idx % tags
            vlen = np.ones(idx.size, np.int64)
            for k in range(1, 5):
                vlen += st >= 128 ** k
            for v in np.unique(vlen):  # records of one step width have one length
                sel = vlen == v
                s, t, m = st[sel].astype(np.uint64), tg[sel], int(sel.sum())
                plen = 9 + 1 + int(v) + 2 + summary
                rec = np.zeros((m, 12 + plen + 4), np.uint8)
                rec[:, 0:8] = np.frombuffer(np.uint64(plen).tobytes(), np.uint8)
                rec[:, 8:12] = crc_matrix(rec[:, 0:8]).view(np.uint8).reshape(m, 4) if m else 0
                p = rec[:, 12:12 + plen]
                p[:, 0] = 0x09
                p[:, 1:9] = (1.7e9 + s.astype(np.float64)).view(np.uint8).reshape(m, 8)
                p[:, 9] = 0x10
                x = s.copy()
                for j in range(int(v)):
                    byte = (x & np.uint64(0x7F)).astype(np.uint8)
                    p[:, 10 + j] = byte | (0x80 if j < v - 1 else 0)
                    x >>= np.uint64(7)
                q = 10 + int(v)
                p[:, q], p[:, q + 1] = 0x2A, summary
                p[:, q + 2], p[:, q + 3] = 0x0A, value
                p[:, q + 4], p[:, q + 5] = 0x0A, tl
                p[:, q + 6:q + 6 + tl] = np.frombuffer(b"".join(names), np.uint8).reshape(tags, tl)[t]
                p[:, q + 6 + tl] = 0x15
                loss = (2 * np.exp(-s.astype(np.float64) / steps * 3) + 0.1 + rng.random(m) * 0.01).astype("<f4")
                p[:, q + 7 + tl:q + 11 + tl] = loss.view(np.uint8).reshape(m, 4)
                rec[:, 12 + plen:] = crc_matrix(np.ascontiguousarray(p)).view(np.uint8).reshape(m, 4)
                fh.write(rec.tobytes())


def run_tensorboard(base: str, events: int) -> None:
    """Peak memory of reading (and of analysing) one event file of `events` scalars, beside
    the file's own size (issue 29: <= 2x)."""
    d = os.path.join(base, f"tb_{events}")
    path = os.path.join(d, "events.out.tfevents.1700000000.bench")
    if not os.path.exists(path):
        os.makedirs(d, exist_ok=True)
        write_events(path, 5, events // 5)
    mib = os.path.getsize(path) / 1024**2
    for label, code, arg in (("logsleuth load_run, TensorBoard", CHILD_LOAD, d),
                             ("logsleuth analysis + JSON, TensorBoard", CHILD_ANALYZE, d)):
        r = child(code, arg)
        gib = os.path.getsize(path) / 1024**3
        if r[0] == "failed":
            _row(label, gib, r, str)
        else:
            _row(label, gib, r, lambda r: f"file {mib:.0f} MiB; peak {int(r[1]) / 1024 / mib:.2f}x the file")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, nargs="+", default=[0.5, 2.0])
    ap.add_argument("--tb-events", type=int, help="instead: one TensorBoard event file of this many scalars "
                                                   "(5 tags), e.g. 10000000")
    ap.add_argument("--keep", help="generate the files here (kept) instead of a temporary directory")
    ap.add_argument("--no-pandas", action="store_true")
    a = ap.parse_args()
    base = a.keep or tempfile.mkdtemp(prefix="logsleuth-stream-")
    print(f"{'case':44s} {'file GiB':>8s} {'time s':>7s} {'peak RSS MB':>12s}  notes", flush=True)
    try:
        if a.tb_events:
            run_tensorboard(base, a.tb_events)
            return
        for size in a.gib:
            run_size(base, size, not a.no_pandas)
            if not a.keep:
                shutil.rmtree(os.path.join(base, f"{size:g}GiB"), ignore_errors=True)
    finally:
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
