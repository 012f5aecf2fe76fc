"""The compiled copy of the built-in rule set (logsleuth/rulecache.py): written once, read back
to the same rule set, keyed by the files' content, and never a reason to fail or to write where
it must not (a corrupt copy, a directory that cannot be written, a path being analysed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from logsleuth import rulecache
from logsleuth.ruleset import loading

# what a process loaded: the rule set as data, its roles table and declarations (as JSON text, in
# the order of every mapping), whether its copy was read, and whether PyYAML was imported
PROBE = """
import json, sys
from logsleuth import params, roles, rulecache
from logsleuth.ruleset import builtin_ruleset, taxonomy
rs = builtin_ruleset()
table = roles.default_table()
out = {"version": rs.version, "rules": [r.__dict__ for r in rs.rules], "causes": rs.causes, "symptoms": rs.symptoms,
       "params": rs.params, "scores": rs.scores, "taxonomy": taxonomy(),
       "declarations": {k: d.__dict__ for k, d in params.declarations().items()},
       "roles": [repr(table.splits), repr(table.weak_splits), sorted(map(repr, table.default_train)),
                 [(k, d, rx.pattern) for k, d, rx in table.kinds], sorted(map(repr, table.plain_tokens))]}
print(json.dumps(out, default=repr))
print(json.dumps({"hit": rulecache.stored() is not None, "yaml": "yaml" in sys.modules}))
"""


def _probe(cache_dir, **env) -> dict:
    e = {**os.environ, "LOGSLEUTH_RULES_CACHE": str(cache_dir), **env}
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=e)
    assert res.returncode == 0 and not res.stderr, res.stderr
    data, flags = res.stdout.splitlines()
    return {"data": data, **json.loads(flags)}


def _same(a: dict, b: dict) -> bool:
    return a["data"] == b["data"]  # the text: values and the order of every mapping


def _copies(d) -> list[str]:
    return sorted(n for n in os.listdir(d) if n.startswith("rules-")) if os.path.isdir(d) else []


def test_a_copy_is_written_once_and_read_back_to_the_same_rule_set(tmp_path):
    d = tmp_path / "rules-cache"
    parsed = _probe("off")
    first = _probe(d)
    assert not parsed["hit"] and not first["hit"] and len(_copies(d)) == 1
    again = _probe(d)
    assert again["hit"] and not again["yaml"]  # nothing of the rule set parsed, PyYAML not even imported
    assert _same(parsed, first) and _same(parsed, again)
    assert len(_copies(d)) == 1


def test_a_corrupt_or_foreign_copy_is_a_miss_and_is_replaced(tmp_path):
    d = tmp_path / "rules-cache"
    parsed = _probe(d)
    (name,) = _copies(d)
    for bad in ("{not json", json.dumps({"format": rulecache.FORMAT, "key": "other", "parts": {}}), "\udcff",
                json.dumps({"format": rulecache.FORMAT, "key": name[6:-5], "parts": {"rules": {"x.yaml": [{"id": 1}]}}})):
        (d / name).write_text(bad, encoding="utf-8", errors="surrogateescape")
        got = _probe(d)
        assert _same(parsed, got), bad
        if bad.startswith("{\"format\"") and "x.yaml" in bad:
            continue  # readable, but not what this code writes: its rules are parsed from the files
        assert not got["hit"]
        assert _probe(d)["hit"], bad  # rewritten by the miss


def test_a_cache_directory_that_cannot_be_made_is_no_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    got = _probe(blocker / "sub")  # a file where a directory should be
    assert not got["hit"] and _same(got, _probe("off"))


def test_switched_off_it_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGSLEUTH_CACHE", str(tmp_path / "diag" / "diagnoses.sqlite"))
    _probe("off")
    assert not (tmp_path / "diag").exists()


def test_the_default_place_is_beside_the_diagnosis_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("LOGSLEUTH_RULES_CACHE", raising=False)
    monkeypatch.setenv("LOGSLEUTH_CACHE", str(tmp_path / "c" / "diagnoses.sqlite"))
    assert rulecache.cache_dir() == str(tmp_path / "c" / "compiled-rules")
    monkeypatch.delenv("LOGSLEUTH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert rulecache.cache_dir() == str(tmp_path / "xdg" / "logsleuth" / "compiled-rules")
    for off in ("off", "0", ""):
        monkeypatch.setenv("LOGSLEUTH_RULES_CACHE", off)
        assert rulecache.cache_dir() is None


def test_the_key_follows_the_rule_files_content(tmp_path, monkeypatch):
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(loading.builtin_rules_dir(), rules)
    monkeypatch.setattr(rulecache, "builtin_rules_dir", lambda: rules)
    before = rulecache.compute_key()
    assert rulecache.compute_key() == before
    f = rules / "spikes.yaml"
    f.write_text(f.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert rulecache.compute_key() != before


def test_never_written_inside_an_analysed_path(tmp_path):
    """`logsleuth analyze TREE` with the cache directory inside TREE: the tree is left as it was."""
    tree = tmp_path / "tree"
    (tree / "run").mkdir(parents=True)
    (tree / "run" / "metrics.csv").write_text("step,loss\n" + "".join(f"{s},{2.0 / (s + 1):.4f}\n" for s in range(50)))
    env = {**os.environ, "LOGSLEUTH_RULES_CACHE": str(tree / "cache")}
    res = subprocess.run([sys.executable, "-m", "logsleuth", "analyze", str(tree), "--no-cache", "-q", "--format", "json"],
                         capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert res.returncode == 0 and json.loads(res.stdout)["runs"][0]["status"] == "ok", res.stderr
    assert sorted(os.listdir(tree)) == ["run"]
    env["LOGSLEUTH_RULES_CACHE"] = str(tmp_path / "cache")  # outside it, the same command keeps its copy
    subprocess.run([sys.executable, "-m", "logsleuth", "analyze", str(tree), "--no-cache", "-q", "--format", "json"],
                   capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=True)
    assert len(_copies(tmp_path / "cache")) == 1


def test_old_copies_are_pruned_and_nothing_else_is_touched(tmp_path, monkeypatch):
    """Beyond KEEP, the oldest of logsleuth's own copies (`rules-<32 hex>.json`) are removed; a
    user's files in a LOGSLEUTH_RULES_CACHE directory, even named rules-*.json, stay."""
    monkeypatch.setenv("LOGSLEUTH_RULES_CACHE", str(tmp_path))
    old = [f"rules-{i:032x}.json" for i in range(rulecache.KEEP + 3)]
    for i, name in enumerate(["rules-mine.json", "rules-0.json"] + old):  # the user's files oldest
        (tmp_path / name).write_text("{}")
        os.utime(tmp_path / name, ns=(i * 10**9, i * 10**9))
    k = "f" * 32
    assert rulecache.store({"x": 1}, k)
    kept = set(os.listdir(tmp_path))
    ours = {n for n in kept if n in old or n == f"rules-{k}.json"}
    assert len(ours) == rulecache.KEEP and f"rules-{k}.json" in ours and old[0] not in kept
    assert {"rules-mine.json", "rules-0.json"} <= kept


@pytest.mark.parametrize("name", loading.NOT_RULE_FILES)
def test_every_built_in_file_survives_json(name):
    """The copy is written only when JSON keeps every value; a test says when a file stops being so."""
    data = loading._read_yaml(loading.builtin_rules_dir() / name)
    assert json.loads(json.dumps(data)) == data
