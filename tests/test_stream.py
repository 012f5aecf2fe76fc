"""Streaming of text logs larger than STREAM_BYTES (#7): same table as a whole read when the
points fit the budget; bounded, with NaN and spikes kept, when they do not."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from logsleuth.ingest import LogFile, read_file, stream


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(stream, "STREAM_BYTES", 20_000)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 7_000)


def _csv(path, n, step=True, spike_at=None, nan_at=None):
    rng = np.random.default_rng(0)
    loss = 2 * np.exp(-np.arange(n) / (n / 4)) + 0.1 + 0.01 * rng.standard_normal(n)
    if spike_at is not None:
        loss[spike_at] = 50.0
    if nan_at is not None:
        loss[nan_at] = np.nan
    acc = np.linspace(0.1, 0.9, n)
    with open(path, "w") as fh:
        fh.write("step,train_loss,val_acc\n" if step else "train_loss,val_acc\n")
        for i in range(n):
            fh.write((f"{i}," if step else "") + f"{float(loss[i])!r},{float(acc[i])!r}\n")
    return loss


def _sorted(t):
    return t.assign(metric=t["metric"].astype(str)).sort_values(["metric", "step"]).reset_index(drop=True)


@pytest.mark.parametrize("step", [True, False])
def test_streamed_csv_equals_whole_read(tmp_path, monkeypatch, step):
    p = tmp_path / "metrics.csv"
    _csv(p, 3000, step=step)
    whole = read_file(LogFile(str(p), "csv"))
    monkeypatch.setattr(stream, "STREAM_BYTES", 20_000)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 7_000)
    streamed = read_file(LogFile(str(p), "csv"))
    assert any("read in pieces" in w for w in streamed.warnings)
    pd.testing.assert_frame_equal(_sorted(whole.table)[["metric", "step", "value"]],
                                  _sorted(streamed.table)[["metric", "step", "value"]])


def test_streamed_jsonl_equals_whole_read(tmp_path, monkeypatch):
    p = tmp_path / "metrics.jsonl"
    with open(p, "w") as fh:
        for i in range(3000):
            fh.write(json.dumps({"step": i, "loss": 1 / (1 + i), "lr": 0.1}) + "\n")
        fh.write('{"step": 3000, "loss": NaN, "lr": 0.1}\n{"step": 3001, "lo')  # NaN, then a crash mid-line
    whole = read_file(LogFile(str(p), "jsonl"))
    monkeypatch.setattr(stream, "STREAM_BYTES", 20_000)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 7_000)
    streamed = read_file(LogFile(str(p), "jsonl"))
    a, b = _sorted(whole.table), _sorted(streamed.table)
    pd.testing.assert_frame_equal(a[["metric", "step", "value"]], b[["metric", "step", "value"]])
    assert np.isnan(b.loc[(b.metric == "loss") & (b.step == 3000), "value"]).all()
    assert any("line" in w and "3002" in w for w in streamed.warnings), streamed.warnings


def test_over_budget_keeps_nan_spikes_and_trend(tmp_path, monkeypatch, small_pieces):
    monkeypatch.setattr(stream, "POINT_BUDGET", 2_000)
    monkeypatch.setattr(stream, "MIN_PER_METRIC", 500)
    p = tmp_path / "metrics.csv"
    n = 40_000
    loss = _csv(p, n, spike_at=23_456, nan_at=31_000)
    res = read_file(LogFile(str(p), "csv"))
    t = res.table
    lo = t[t.metric == "train_loss"]
    assert len(lo) < 5_000  # bounded
    assert 50.0 in lo["value"].to_numpy() and 23_456 in lo["step"].to_numpy()  # the spike survives
    assert lo["value"].isna().sum() == 1 and 31_000 in lo["step"].to_numpy()  # so does the NaN
    assert lo["step"].iloc[-1] == n - 1
    head, tail = lo["value"].iloc[:20].median(), lo["value"].iloc[-20:].median()
    assert head > 1.5 and abs(tail - np.median(loss[-500:])) < 0.05  # the trend
    assert any("kept to bound memory" in w for w in res.warnings)


def test_thinning_is_even_and_keeps_noise_statistics():
    rng = np.random.default_rng(1)
    v = 1 + 0.01 * rng.standard_normal(100_000)
    v[54_321] = 5.0  # a spike
    s = np.arange(v.size, dtype=float)
    ser = stream._Series()
    for a in range(0, v.size, 7_000):  # pieces of uneven alignment
        ser.add(s[a:a + 7_000], v[a:a + 7_000], s[a:a + 7_000])
        while ser.size > 1_000:
            ser.coarsen()
    st, val, _ = ser.arrays()
    regular = st[(val < 2)][:-1]
    gaps = np.unique(np.diff(regular))
    assert gaps.size <= 3 and gaps.max() == ser.stride  # evenly spread over the whole run (few specials)
    assert 54_321 in st and st[-1] == v.size - 1  # the spike and the last point
    assert np.std(val[val < 2]) == pytest.approx(np.std(v[v < 2]), rel=0.1)  # noise statistics kept
    assert stream.special(1 + 0.01 * rng.standard_normal(10_000)).sum() <= 3  # Gaussian noise is not "special"


def test_huge_line_in_a_streamed_file_is_skipped_with_its_line_number(tmp_path, small_pieces):
    p = tmp_path / "metrics.csv"
    p.write_text("step,loss\n1,0.5\n2," + "9" * 100_000 + "\n" + "".join(f"{i},0.4\n" for i in range(3, 2000)))
    res = read_file(LogFile(str(p), "csv"))
    assert any(f"{p}:3: a line longer than" in w for w in res.warnings), res.warnings
    steps = res.table["step"].to_numpy()
    assert 1 in steps and 2 not in steps and 1999 in steps and len(steps) == 1998
