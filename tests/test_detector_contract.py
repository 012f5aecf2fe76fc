"""The detector contract: what each detector declares (inputs, parameters, measures) is what
its code takes and returns, so rule files can be checked against the declarations at load time."""

from __future__ import annotations

import ast
import glob
import inspect
import os

import pytest

from logsleuth.detectors import REGISTRY

from conftest import REPO


def _measure_keys_in_code() -> dict[str, set[str]]:
    """Per detector, every measure name its body can put in evidence: keywords of dict(),
    .update(), fire() and quiet(), `measures[...] = ` and string keys of dict literals."""
    out: dict[str, set[str]] = {}
    for path in glob.glob(os.path.join(REPO, "logsleuth", "detectors", "*.py")):
        for fn in ast.parse(open(path, encoding="utf-8").read()).body:
            if not isinstance(fn, ast.FunctionDef):
                continue
            dec = [d for d in fn.decorator_list if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "detector"]
            if not dec:
                continue
            keys: set[str] = set()
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) in (
                        "dict", "update", "fire", "quiet"):
                    keys |= {kw.arg for kw in node.keywords if kw.arg}
                elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and \
                        getattr(node.value, "id", "") == "measures":
                    keys.add(node.slice.value)
                elif isinstance(node, ast.Dict):
                    keys |= {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            out[dec[0].args[0].value] = keys
    return out


CODE = _measure_keys_in_code()


def test_every_registered_detector_is_found_in_the_code():
    assert set(CODE) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_declared_measures_are_the_ones_the_code_returns(name):
    declared = set(REGISTRY[name].measures)
    assert CODE[name] == declared, f"returned, not declared: {CODE[name] - declared}; declared, never returned: {declared - CODE[name]}"
    assert all(isinstance(v, str) and v for v in REGISTRY[name].measures.values()), "each measure says what it is"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_declared_inputs_and_parameters_match_the_signature(name):
    spec = REGISTRY[name]
    sig = inspect.signature(spec.func.__wrapped__)
    params = list(sig.parameters.values())
    positional = [p.name for p in params[: len(spec.inputs)]]
    assert positional == list(spec.input_names), (positional, spec.inputs)
    keyword = [p for p in params[len(spec.inputs):] if p.name != "ctx"]
    assert [p.name for p in keyword] == list(spec.params), "the signature names the declared parameters"
    # declared once: the signature gives each parameter a type and no default of its own
    assert all(p.kind is p.KEYWORD_ONLY and p.default is p.empty and p.annotation is not p.empty for p in keyword)
    assert spec.doc, "a detector says what it fires on"


def test_every_declared_parameter_has_its_detector_and_unit():
    from logsleuth.params import declarations

    decls = declarations()
    assert set(decls) == {f"{n}.{k}" for n, s in REGISTRY.items() for k in s.params}
    assert all(d.unit and len(d.reason) >= 20 for d in decls.values())


def test_a_detector_gets_the_declared_value_and_a_call_may_override_it():
    from logsleuth.params import declarations

    spec = REGISTRY["val_rise"]
    assert spec.params["min_rise"] == declarations()["val_rise.min_rise"].default
    seen = {}

    def probe(train, val, *, min_rise: float, max_best_frac: float, train_falls: bool, min_regain: float, ctx=None):
        seen.update(min_rise=min_rise, train_falls=train_falls)

    from logsleuth.detectors.base import detector

    try:
        wrapped = detector("val_rise", ("train", "val"), "overfitting", measures={})(probe)
        wrapped(None, None)
        assert seen == {"min_rise": spec.params["min_rise"], "train_falls": spec.params["train_falls"]}
        wrapped(None, None, min_rise=0.5)
        assert seen["min_rise"] == 0.5
    finally:
        REGISTRY["val_rise"] = spec


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_parameter_says_what_it_means(name):
    spec = REGISTRY[name]
    assert set(spec.param_docs) == set(spec.params)
    for k, doc in spec.param_docs.items():
        assert len(doc) >= 20 and "\n" not in doc, f"{name}.{k}: one line on what it means and why its default"


def test_a_parameter_not_declared_in_the_parameters_file_is_refused():
    from logsleuth.detectors.base import detector

    def f(series, *, window: int, ctx=None):
        return None

    with pytest.raises(TypeError, match=r"not declared in parameters\.yaml: \['window'\]"):
        detector("x_test", ("series",), "plateau", measures={})(f)


def test_a_declared_parameter_the_detector_does_not_take_is_refused():
    from logsleuth.detectors.base import detector

    def f(train, val, *, min_rise: float, ctx=None):
        return None

    with pytest.raises(TypeError, match="declared but not taken: \\['max_best_frac', 'min_regain', 'train_falls'\\]"):
        detector("val_rise", ("train", "val"), "overfitting", measures={})(f)


def test_generated_docs_list_each_parameter_with_its_meaning():
    from logsleuth.docs import rules_markdown

    text = rules_markdown()
    assert "  - `min_widen_ratio` = 1.5: losses: val/train grows" in text
    assert "  - `k` = 6.0: a spike exceeds the rolling median" in text


def test_confidence_is_one_map_from_margins():
    from logsleuth.detectors.base import AT_THRESHOLD_COMMON, confidence

    assert confidence(AT_THRESHOLD_COMMON, 0.0) == 0.5 and confidence(0.6, 1.0) == 1.0
    assert confidence(0.5, 1.0, 0.0) == 0.75 and confidence(0.6, 2.0) == 1.0 and confidence(0.6, -1.0) == 0.6


def test_no_detector_writes_its_own_confidence_formula():
    """Every fire() takes its confidence from a named constant, a confidence(...) call or a
    variable set from one: no number literal and no `a + b * ramp(...)` of its own."""
    import ast
    import glob

    here = os.path.join(os.path.dirname(__file__), "..", "logsleuth", "detectors")
    bad = []
    for path in glob.glob(os.path.join(here, "*.py")):
        tree = ast.parse(open(path).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "fire" and len(node.args) >= 3:
                arg = node.args[2]
                if not (isinstance(arg, ast.Name) or (isinstance(arg, ast.Call) and getattr(arg.func, "id", None) == "confidence")):
                    bad.append(f"{os.path.basename(path)}:{node.lineno}")
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "conf" for t in node.targets):
                if not (isinstance(node.value, ast.Call) and getattr(node.value.func, "id", None) == "confidence"):
                    bad.append(f"{os.path.basename(path)}:{node.lineno}")
    assert not bad, bad


# numbers that need no name: nothing, one, a pair, a half, and the sign
PLAIN_NUMBERS = {0, 1, 2, 0.5, -1}
DETECTOR_FILES = sorted(glob.glob(os.path.join(REPO, "logsleuth", "detectors", "*.py")))


def _bare_numbers(path: str) -> list[str]:
    """Number literals inside the functions of a detector module, other than PLAIN_NUMBERS:
    a detector's signature defaults (checked against its declared parameters above) and the
    decorators (the declarations themselves) aside; a helper's defaults count."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    seen: list[str] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        declared = any(isinstance(d, ast.Call) and getattr(d.func, "id", "") == "detector" for d in fn.decorator_list)
        defaults = [] if declared else fn.args.defaults + [d for d in fn.args.kw_defaults if d is not None]
        for stmt in fn.body + defaults:
            indices = {id(n.slice) for n in ast.walk(stmt) if isinstance(n, ast.Subscript)}  # hit[3]: a position, not a number
            for node in ast.walk(stmt):
                if id(node) not in indices and isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value not in PLAIN_NUMBERS:
                    seen.append(f"{os.path.basename(path)}:{node.lineno}: {node.value!r}")
    return seen


@pytest.mark.parametrize("path", DETECTOR_FILES, ids=os.path.basename)
def test_every_deciding_number_is_a_parameter_or_a_named_constant(path):
    """A detector's numbers stay visible: a declared parameter, or a named and commented constant
    (the shared windows, smoothing and noise multiples in detectors/curves.py and confidence.py, the rest at the top of
    the detector's module), never a bare literal in its body."""
    assert _bare_numbers(path) == []


def test_the_number_check_sees_a_bare_literal(tmp_path):
    src = tmp_path / "d.py"
    src.write_text("def f(x, k=7):\n    return x[-max(1, x.size // 10):], k * 2\n")
    assert _bare_numbers(str(src)) == ["d.py:2: 10", "d.py:1: 7"]
