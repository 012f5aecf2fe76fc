"""The format registry (ingest.formats): every reader and sniff it names exists, and a format
added there is discovered and read with nothing else changed."""

from __future__ import annotations

import json
import subprocess
import sys

from logsleuth.ingest import discover, formats, load_run
from logsleuth.ingest.formats import FORMATS, SNIFFS, Format, Sniff, classify, resolve


def test_every_reader_and_sniff_resolves():
    kinds = {f.kind for f in FORMATS}
    assert len(kinds) == len(FORMATS)
    for f in FORMATS:
        assert callable(resolve(f.reader)), f
        assert f.takes in ("path", "file", "paths"), f
    for s in SNIFFS:
        assert s.kind is None or s.kind in kinds, s
        assert s.test is None or callable(resolve(s.test)), s
    # every kind a file can be sniffed as; MLflow's file store is a directory, found by the walk
    assert kinds - {s.kind for s in SNIFFS} == {"mlflow"}


def test_classify_imports_the_sniffs_a_name_calls_for():
    """An event file and a CSV are told by their names: no other format's module is imported."""
    code = ("import sys; from logsleuth.ingest.discover import classify; "
            "print(classify('events.out.tfevents.1'), classify('metrics.csv'), "
            "sorted(m for m in sys.modules if m.startswith('logsleuth.ingest.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.split(" ", 2)
    assert out[:2] == ["tensorboard", "csv"]
    assert json.loads(out[2].replace("'", '"')) == ["logsleuth.ingest.discover", "logsleuth.ingest.formats",
                                                     "logsleuth.ingest.mlflow", "logsleuth.ingest.sniff",
                                                     "logsleuth.ingest.textio"]


def test_a_format_added_to_the_registry_is_discovered_and_read(tmp_path, monkeypatch):
    """What adding a format takes: a reader and a sniff, each one line of ingest.formats (here an
    existing reader under a new kind, for files named `*.foo`)."""
    monkeypatch.setattr(formats, "FORMATS", FORMATS + (Format("foo", "csvlog:read_csv_log"),))
    monkeypatch.setattr(formats, "BY_KIND", {f.kind: f for f in formats.FORMATS})
    monkeypatch.setattr(formats, "SNIFFS", (Sniff("foo", lambda low: low.endswith(".foo")),) + SNIFFS)
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.foo").write_text("step,loss\n" + "".join(f"{s},{1.0 / (s + 1):.4f}\n" for s in range(20)))
    assert classify(str(run / "train.foo")) == "foo"
    found = discover([str(tmp_path)])
    assert [(r.name, [f.kind for f in r.files]) for r in found.runs] == [(f"{tmp_path.name}/run", ["foo"])]
    data = load_run(found.runs[0])
    assert set(data.table["metric"].astype(str)) == {"loss"} and len(data.table) == 20
