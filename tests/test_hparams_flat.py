"""Flat hyperparameter files (`name: value` lines, what Lightning's hparams.yaml usually is) are
read without PyYAML (ingest.hparams.flat_yaml) to exactly what PyYAML's loader gives: same keys,
same values, same types; anything it is not sure of is left to PyYAML."""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from logsleuth.ingest.hparams import _tolerant_loader, flat_yaml, read_hparams_file


def _typed(data):
    """A mapping with each value's type beside it (True == 1 and 1 == 1.0 in Python)."""
    return None if data is None else [(k, type(k).__name__, v, type(v).__name__) for k, v in data.items()]


def _pyyaml(text: str):
    try:
        return yaml.load(text, Loader=_tolerant_loader())
    except yaml.YAMLError:
        return "error"


KEYS = st.one_of(st.sampled_from(["lr", "batch_size", "optimizer", "y", "n", "on", "off", "yes", "No", "null", "NULL",
                                  "True", "false", "_x", "a1", "x.y", "1a", "-k", "~", "k k", "<<", "="]),
                 st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True))
NUMBERS = st.one_of(st.integers(-10**20, 10**20).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.floats(-1e9, 1e9).map(lambda x: f"{x:e}"), st.floats(-1e9, 1e9).map(lambda x: f"{x:g}"),
                    st.sampled_from(["007", "0", "-0", "+1", "1_000", "0x1f", "0b101", "0o17", "1:30", "1.", ".5", "1e-3",
                                     "1.0e-05", "1.0E+3", "1.0e5", "-1.5", "1__0", "2001-12-14", "12:30:45.5", "6.8523015e+5"]))
WORDS = st.one_of(st.sampled_from(["SGD", "adam", "true", "True", "TRUE", "tRuE", "false", "False", "yes", "Yes", "no",
                                   "on", "Off", "null", "Null", "NULL", "~", ".inf", ".NaN", "-.inf", "/data/x", "cuda:0",
                                   "resnet-18", "e-5", "a#b", "a #b", "'q'", '"q"', "!!python/tuple", "&a", "*a", "[1, 2]",
                                   "{a: 1}", "|", ">", "%x", "@x", "`x", "y", "n", "Infinity", "NaN", "x_", "a/b.c-d"]),
                  st.text(alphabet="ab01.-_/:#' \"!&*~", min_size=0, max_size=8))
LINE = st.one_of(st.tuples(KEYS, st.sampled_from([": ", ":  ", ":", ":\t", " : "]), st.one_of(NUMBERS, WORDS),
                           st.sampled_from(["", " ", "  ", "\t", " # c"])).map("".join),
                 st.sampled_from(["", "  ", "---", "...", "  nested: 1", "- item", "# comment", "%YAML 1.1"]))
TEXTS = st.tuples(st.lists(LINE, min_size=0, max_size=6), st.sampled_from(["\n", "\r\n"]), st.booleans()).map(
    lambda t: t[1].join(t[0]) + (t[1] if t[2] else ""))


@settings(max_examples=int(os.environ.get("LOGSLEUTH_FUZZ_EXAMPLES", "300")), deadline=None)
@given(TEXTS)
def test_what_it_reads_is_what_pyyaml_reads(text):
    fast = flat_yaml(text)
    if fast is not None:
        assert _typed(fast) == _typed(_pyyaml(text)), text


@pytest.mark.parametrize("text", [
    "optimizer: SGD\n",
    "lr: 0.01\nbatch_size: 32\nweight_decay: 1.0e-05\namsgrad: false\nscheduler: null\n",
    "data_dir: /data/cifar10\nmodel: resnet-18\nseed: 0\nmomentum: 0.9\n\n",
    "lr: 0.1\nlr: 0.2\n",  # a repeated name: the last wins, as in PyYAML
])
def test_a_flat_file_is_read_without_pyyaml(text):
    fast = flat_yaml(text)
    assert fast is not None and _typed(fast) == _typed(_pyyaml(text))


@pytest.mark.parametrize("text", ["a: yes\n", "on: 1\n", "a: 007\n", "a: 1e-3\n", "a: 'x'\n", "a:\n  b: 1\n", "a: 1 # c\n",
                                  "a: !!python/tuple [1, 2]\n", "a: .inf\n", "a: 1_000\n", "a: 1:30\n", "", "\n\n", "- 1\n"])
def test_anything_else_is_left_to_pyyaml(text):
    assert flat_yaml(text) is None


def test_read_hparams_file_gives_the_same_with_either_reader(tmp_path, monkeypatch):
    f = tmp_path / "hparams.yaml"
    for text in ("lr: 0.01\nbatch_size: 32\noptimizer: SGD\n", "model:\n  lr: 0.01\n  layers: 3\nname: x\n",
                 "args: !!python/object:argparse.Namespace\n  lr: 0.1\n", "a: [1, 2\n"):
        f.write_text(text, encoding="utf-8")
        got = read_hparams_file(str(f))
        monkeypatch.setattr("logsleuth.ingest.hparams.flat_yaml", lambda t: None)
        assert read_hparams_file(str(f)) == got, text
        monkeypatch.undo()
