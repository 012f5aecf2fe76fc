"""Commands that only print text start without the heavy libraries: `--version`, `rules`,
`explain` and `cache info` must not import pandas, matplotlib, scipy or pyarrow (each costs
0.1-0.4 s of every start)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "matplotlib", "scipy", "pyarrow", "tbparse")
PROBE = """
import json, sys
from logsleuth.cli import main
try:
    main(sys.argv[1:], standalone_mode=True)
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(%r))), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--version"], ["rules", "list"], ["explain", "divergence"], ["explain", "lr_too_high"]])
def test_text_commands_do_not_import_heavy_libraries(args, tmp_path):
    res = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,), *args], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    loaded = json.loads(res.stderr.strip().splitlines()[-1])
    assert res.stdout.strip() and loaded == [], (args, loaded)


def test_analyze_of_a_long_run_needs_no_scipy(tmp_path):
    """scipy is not a dependency: the rolling medians of a 200,000-point curve (spikes, early
    instability) are numpy's; a report without plots does not load matplotlib either."""
    import numpy as np

    n = 200_000
    st = np.arange(n)
    loss = 2.0 * np.exp(-st / 50_000) + 0.05 * np.random.default_rng(0).random(n)
    np.savetxt(tmp_path / "metrics.csv", np.c_[st, loss], delimiter=",", header="step,loss", comments="", fmt="%.6g")
    res = subprocess.run([sys.executable, "-c", PROBE % (("scipy", "matplotlib"),), "analyze", str(tmp_path), "--no-cache",
                          "-q", "--format", "json"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    report = json.loads(res.stdout)
    assert report["runs"][0]["status"] == "ok" and report["runs"][0]["metrics"]["loss"]["points"] == n
    assert json.loads(res.stderr.strip().splitlines()[-1]) == []


def test_a_stored_report_is_written_without_numpy_yaml_or_the_rules(tmp_path):
    """An unchanged tree scanned again: discovery, the files' identities and one cache lookup;
    the rules are not parsed and nothing of the analysis is imported."""
    runs = tmp_path / "runs"
    for i in range(3):
        (runs / f"r{i}").mkdir(parents=True)
        (runs / f"r{i}" / "metrics.csv").write_text("step,loss\n" + "".join(f"{s},{2.0 / (s + 1):.4f}\n" for s in range(50)))
    args = ["analyze", str(runs), "--cache", str(tmp_path / "c.sqlite"), "-q", "--format", "json"]
    cmd = [sys.executable, "-c", PROBE % (HEAVY + ("numpy", "yaml"),), *args]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "numpy" in json.loads(first.stderr.strip().splitlines()[-1])
    assert again.stdout == first.stdout and len(json.loads(again.stdout)["runs"]) == 3
    assert json.loads(again.stderr.strip().splitlines()[-1]) == []


# what discovery and reading import for a run of one format: the readers and sniffs of the others
# are imported when a file of their kind is met, never at startup (ingest.formats)
OTHER_FORMATS = ("logsleuth.ingest.consolefmt", "logsleuth.ingest.consolelayouts", "logsleuth.ingest.consoleyolo",
                 "logsleuth.ingest.textlog", "logsleuth.ingest.wandbfile", "logsleuth.ingest.mlflowdb",
                 "logsleuth.ingest.monitorcsv", "logsleuth.ingest.jsonl", "logsleuth.ingest.tensorboard",
                 "logsleuth.ingest.tbfast", "logsleuth.ingest.events", "sqlite3", "tbparse", "tensorboard", "crc32c")
PROBE_MODULES = """
import json, sys
from logsleuth.cli import main
try:
    main(sys.argv[1:], standalone_mode=True)
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m in set(%r))), file=sys.stderr)
"""


def test_analyze_of_a_small_csv_run_imports_no_other_format(tmp_path):
    """One small CSV run, analysed cold: the CSV reader only (a Lightning `metrics.csv` beside its
    `hparams.yaml`, as the cold-start benchmark's run)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("step,train_loss,val_loss\n" + "".join(f"{s},{2.0 / (s + 1):.4f},{2.2 / (s + 1):.4f}\n" for s in range(60)))
    (run / "hparams.yaml").write_text("lr: 0.01\nbatch_size: 32\n")
    res = subprocess.run([sys.executable, "-c", PROBE_MODULES % (OTHER_FORMATS + ("logsleuth.ingest.csvlog",),),
                          "analyze", str(run), "--no-cache", "-q", "--format", "json"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert json.loads(res.stdout)["runs"][0]["status"] == "ok"
    assert json.loads(res.stderr.strip().splitlines()[-1]) == ["logsleuth.ingest.csvlog"]


def test_detector_parameters_are_read_with_libyaml():
    """rules/parameters.yaml and calibration.yaml are read by every analysing process: with
    libyaml's safe loader when PyYAML has it (the pure-Python one took ~30 ms of each start),
    to the same data."""
    import yaml

    from logsleuth import params
    from logsleuth.resources import builtin_rules_dir

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    assert params.safe_loader() is yaml.CSafeLoader  # the one loader of logsleuth.resources
    for name in (params.PARAMETERS_FILE, params.CALIBRATION_FILE):
        path = builtin_rules_dir() / name
        assert params._read(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_program_entry_freezes_the_collector_on_the_way_out_and_main_does_not(tmp_path):
    """`logsleuth` (console script and `python -m`) is `run`: after the command, gc.freeze keeps
    the interpreter's final collection from walking every object of pandas and the rules again.
    `main` called in a process of its own (tests, programs) leaves that process's collector alone."""
    probe = ("import gc, sys\nfrom logsleuth.cli import {fn}\nsys.argv = ['logsleuth', '--version']\ntry:\n    {fn}()\n"
             "except SystemExit:\n    pass\nprint(gc.get_freeze_count(), file=sys.stderr)\n")
    frozen = {}
    for fn in ("run", "main"):
        res = subprocess.run([sys.executable, "-c", probe.format(fn=fn)],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
        frozen[fn] = int(res.stderr.strip().splitlines()[-1])
    assert frozen["run"] > 1000 and frozen["main"] == 0, frozen
    from pathlib import Path

    import tomllib

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["logsleuth"] == "logsleuth.cli:run"
