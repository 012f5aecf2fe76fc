"""Reports a person can read and check (issue 15): the terminal for many runs, each symptom and
its evidence once per run, numbers quoted from the data, one x axis per run."""

from __future__ import annotations

import os
import re

import pytest

from logsleuth.model import Analysis, CauseScore, Diagnosis, Finding
from logsleuth.report.common import shown_symptoms
from logsleuth.report.terminal import DETAILS, MANY, to_terminal

from conftest import REAL_LOGS, REPO

GOLDEN = os.path.join(REPO, "tests", "golden")
UPDATE = os.environ.get("LOGSLEUTH_UPDATE_GOLDEN") == "1"


def _finding(rule: str, symptom: str, evidence: str, causes=(("lr_too_high", 0.5),)) -> Finding:
    return Finding(rule=rule, symptom=symptom, severity="warning", metric="loss", confidence=0.8, start_step=0.0,
                   end_step=10.0, evidence=evidence, causes=tuple(causes))


def _diag(name: str, health: str = "warning", findings=(), causes=()) -> Diagnosis:
    return Diagnosis(run=name, status="ok", health=health, symptoms=tuple(findings), causes=tuple(causes))


def _many(n_flagged: int, n_healthy: int) -> list[Diagnosis]:
    cause = CauseScore("lr_too_high", 0.7, ("divergence",), ("Lower the learning rate",), "Learning rate too high")
    flagged = [_diag(f"runs/bad{i:02d}", findings=[_finding("div.loss", "divergence", f"loss rose {i + 2}x")],
                     causes=[cause]) for i in range(n_flagged)]
    return flagged + [_diag(f"runs/ok{i:02d}", "healthy") for i in range(n_healthy)]


def test_many_runs_table_names_every_run_and_counts_the_left_out():
    diags = _many(DETAILS + 5, 10)
    text = to_terminal(Analysis(diagnoses=diags))
    for d in diags:
        assert d.run in text.split("\n\n")[0], f"{d.run} missing from the table"
    details = re.findall(r"^WARNING  (\S+)$", text, flags=re.M)
    assert len(details) == DETAILS
    assert f"{DETAILS} worst of the {DETAILS + 5} runs that need a look; 5 left out" in text
    assert "--all" in text


def test_all_shows_every_run_and_no_left_out_line():
    diags = _many(DETAILS + 5, 3)
    text = to_terminal(Analysis(diagnoses=diags), show_all=True)
    assert len(re.findall(r"^(WARNING|HEALTHY)  ", text, flags=re.M)) == len(diags)
    assert "left out" not in text


def test_few_runs_have_no_table_and_no_left_out_line():
    text = to_terminal(Analysis(diagnoses=_many(3, 2)))
    assert "first cause  " not in text and "left out" not in text
    assert len(re.findall(r"^(WARNING|HEALTHY)  ", text, flags=re.M)) == 5
    assert MANY > 5


def test_each_symptom_once_and_causes_refer_to_it():
    shared = "loss stayed flat at 2.3 from step 0 to 90 (changed 1.0%)"
    f1 = _finding("flat.loss", "no_learning", shared, [("bad_weight_init", 0.5), ("lr_too_high", 0.3)])
    f2 = _finding("flat.loss-too", "no_learning", shared, [("lr_too_high", 0.3)])  # same thing, another rule
    f3 = _finding("lr.high", "lr_value", "peak learning rate 1 is above 0.5; " + shared, [("lr_too_high", 0.6)])
    causes = [CauseScore("lr_too_high", 0.8, ("no_learning", "lr_value"), ("Lower it",), "Learning rate too high"),
              CauseScore("bad_weight_init", 0.4, ("no_learning",), ("Default init",), "Bad weight initialisation")]
    d = _diag("r", "warning", [f1, f2, f3], causes)
    shown = shown_symptoms(d)
    assert [s.number for s in shown] == [1, 2]
    assert shown[0].rules == ("flat.loss", "flat.loss-too")
    assert shown[1].evidence == "peak learning rate 1 is above 0.5; see 1"
    text = to_terminal(Analysis(diagnoses=[d]))
    assert text.count(shared) == 1
    assert "lr_too_high: Learning rate too high  (from 1, 2)" in text
    assert "bad_weight_init: Bad weight initialisation  (from 1)" in text


def _clauses(run_block: str) -> list[str]:
    out = []
    for line in run_block.splitlines():
        m = re.match(r"^    \d+\. [^:]+: (.*)$", line)
        if m:
            out += [c for c in m.group(1).split("; ") if not re.fullmatch(r"see \d+", c)]
    return out


@pytest.fixture(scope="module")
def real_terminal():
    if not os.path.isdir(REAL_LOGS):
        pytest.skip(f"{REAL_LOGS} not present")
    from logsleuth.scan import analyze_paths

    cwd = os.getcwd()
    os.chdir(os.path.dirname(REAL_LOGS))
    try:
        res = analyze_paths([os.path.basename(REAL_LOGS)])
    finally:
        os.chdir(cwd)
    return res, to_terminal(res)


def test_real_runs_terminal_golden(real_terminal):
    res, text = real_terminal
    table = text.split("\n\n")[0]
    for d in res.diagnoses:
        assert d.run in table or ("..." + d.run[-40:]) in table or d.run[-50:] in table, d.run
    flagged = [d for d in res.diagnoses if d.status == "error" or d.health != "healthy"]
    left = len(flagged) - DETAILS
    assert left > 0 and f"{left} left out" in text
    for block in text.split("\n\n")[1:]:
        clauses = _clauses(block)
        assert len(clauses) == len(set(clauses)), f"an evidence sentence repeats in:\n{block}"
    path = os.path.join(GOLDEN, "real_logs.txt")
    if UPDATE or not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(path, encoding="utf-8") as fh:
        assert text == fh.read(), "real_logs.txt changed; if intended: LOGSLEUTH_UPDATE_GOLDEN=1 pytest"


# ------------------------------------------------------------------ one x axis per run

def _s(name: str, kind: str, split: str | None, steps, values=None):
    import numpy as np

    from logsleuth.model import Role, Series

    steps = np.asarray(steps, dtype=float)
    values = np.linspace(1, 0.1, steps.size) if values is None else np.asarray(values, dtype=float)
    return Series(name, Role(split, kind, "lower" if kind == "loss" else "none"), steps, values)


def test_per_epoch_validation_is_placed_by_wall_time():
    import numpy as np

    from logsleuth.axes import align

    train = _s("loss", "loss", "train", np.arange(0, 10000, 10))  # 1000 points, steps 0-9990
    val = _s("val/loss", "loss", "val", np.arange(10))  # epochs 0-9
    walls = {"loss": 1000.0 + np.arange(1000) * 0.5,  # 0.5 s per logged step
             "val/loss": 1000.0 + (np.arange(10) + 1) * 50.0 - 0.25}  # written at the end of each epoch
    out = align({"loss": train, "val/loss": val}, walls.get)
    assert out.series["loss"] is train
    np.testing.assert_allclose(out.series["val/loss"].steps, np.arange(1, 11) * 1000 - 10, atol=10)
    assert "wall times" in out.notes[0] and "val/loss is logged per epoch (0-9)" in out.notes[0]


def test_per_epoch_validation_is_placed_by_the_epoch_metric():
    import numpy as np

    from logsleuth.axes import align

    steps = np.arange(0, 5000, 5)
    train = _s("train_loss", "loss", "train", steps)
    epoch = _s("epoch", "epoch", None, steps, steps // 1000)  # 5 epochs of 1000 steps
    val = _s("val_loss", "loss", "val", np.arange(5))
    out = align({"train_loss": train, "epoch": epoch, "val_loss": val})
    assert out.series["val_loss"].steps.tolist() == [995, 1995, 2995, 3995, 4995]
    assert "from epoch" in out.notes[0]


def test_unknown_mapping_is_an_announced_assumption():
    import numpy as np

    from logsleuth.axes import align

    train = _s("loss", "loss", "train", np.arange(1, 2001))
    val = _s("val_loss", "loss", "val", np.arange(1, 5))  # epochs counted from 1
    out = align({"loss": train, "val_loss": val})
    assert out.series["val_loss"].steps.tolist() == [501, 1000, 1500, 2000]
    assert "assumed equally long" in out.notes[0] and "estimate" in out.notes[0]


def test_same_cadence_and_steps_beyond_the_epochs_are_left_alone():
    import numpy as np

    from logsleuth.axes import align

    # both per step over a short run: nothing to convert
    short = {"loss": _s("loss", "loss", "train", np.arange(40)), "val_loss": _s("val_loss", "loss", "val", np.arange(0, 40, 4))}
    assert align(short).notes == ()
    # a metric logged only early but at the run's own cadence (every 10 steps): not per epoch
    run = {"loss": _s("loss", "loss", "train", np.arange(0, 20000, 10)),
           "warmup_loss": _s("warmup_loss", "loss", "train", np.arange(0, 500, 10))}
    assert align(run).notes == ()


def test_r37_validation_and_training_share_one_axis():
    import numpy as np

    from logsleuth.scan import analyze_paths

    path = os.path.join(REAL_LOGS, "tensorboard", "r37")
    if not os.path.isdir(path):
        pytest.skip(f"{path} not present")
    res = analyze_paths([path])
    d = res.diagnoses[0]
    train, val = res.curves[d.run]["train_loss"][1], res.curves[d.run]["val_loss"][1]
    assert val[-1] > 0.9 * train[-1] and val[0] < 0.1 * train[-1]
    assert np.all(np.diff(val) > 0)
    assert any("per epoch" in w and "wall times" in w for w in d.warnings)


# ------------------------------------------------------------------ plots

def test_tick_labels_keep_the_minus_sign_and_stay_short():
    from logsleuth.report.plots import number_label, step_label

    assert number_label(-0.000025) == "\u22122.5e\u22125"
    assert number_label(0.000125) == "1.25e\u22124"
    assert number_label(-3) == "\u22123" and number_label(0.5) == "0.5" and number_label(0) == "0"
    assert step_label(49982) == "50k" and step_label(3249) == "3249" and step_label(2_500_000) == "2.5M"


def _drawn(d, curves):
    from logsleuth.report.plots import _TEMPLATES, png_bytes

    png = png_bytes(d, curves)
    assert png
    has_acc = any(k in curves for k in ("train_accuracy", "val_accuracy", "val_score"))
    return _TEMPLATES[has_acc], png


def test_resumed_run_is_plotted_from_its_first_step_and_its_gan_losses_shown():
    from logsleuth.scan import analyze_paths

    path = os.path.join(REAL_LOGS, "lightning_csv", "r32", "version_1")
    if not os.path.isdir(path):
        pytest.skip(f"{path} not present")
    res = analyze_paths([path])
    d = res.diagnoses[0]
    assert res.curves[d.run]["train_loss"][0] == "critic_loss"
    tpl, _ = _drawn(d, res.curves[d.run])
    lo, hi = tpl.ax.get_xlim()
    assert (lo, hi) == (3249, 4599)


def _diverging_run_with_lr():
    """A run whose loss panel holds a divergence from step 500 and a whole-run lr finding, with
    an accuracy panel and a falling lr: what the readability tests draw."""
    import numpy as np

    from logsleuth.model import Diagnosis, Finding

    st = np.arange(0, 1000, 10.0)
    d = Diagnosis(run="r", status="ok", symptoms=(
        Finding("div", "divergence", "critical", "loss", 0.9, 500.0, 990.0, "e", ()),
        Finding("lr", "lr_value", "warning", "lr", 0.8, 0.0, 990.0, "e", ())))
    curves = {"train_loss": ("loss", st, np.exp(-st / 300)), "val_accuracy": ("acc", st[::10], np.linspace(0.1, 0.9, 10)),
              "lr": ("lr", st, np.linspace(1e-3, 1e-5, st.size))}
    return d, curves


def test_plot_text_is_readable_on_a_phone():
    import io

    from matplotlib.image import imread
    from matplotlib.text import Text

    from logsleuth.report.plots import DPI

    d, curves = _diverging_run_with_lr()
    tpl, png = _drawn(d, curves)
    width_px = imread(io.BytesIO(png), format="png").shape[1]
    phone = 374 / width_px  # a 390 px screen less the page's padding
    sizes = [t.get_fontsize() * DPI / 72 * phone for t in tpl.fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert sizes and min(sizes) >= 10, f"smallest text {min(sizes):.1f} px on a phone"
    texts = [t.get_text() for t in tpl.fig.findobj(Text)]
    assert any("whole run: lr_value" in t for t in texts)  # spans the run: named, not shaded
    assert "divergence" in texts


# ------------------------------------------------------------------ the HTML report's SVG figures

def _svg_tree(svg: str):
    import xml.etree.ElementTree as ET

    return ET.fromstring(svg)  # well-formed XML: every name from a log escaped


def _texts(root) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def _polylines(root) -> list[list[tuple[float, float]]]:
    out = []
    for pl in root.iter("{http://www.w3.org/2000/svg}polyline"):
        v = [float(x) / 10 for x in pl.get("points").split()]  # tenths of a pixel
        out.append(list(zip(v[::2], v[1::2])))
    return out


def test_svg_plot_text_is_readable_on_a_phone_and_names_the_symptoms():
    from logsleuth.report.svg import FONT_PX, W, run_svg

    d, curves = _diverging_run_with_lr()
    svg = run_svg(d, curves)
    root = _svg_tree(svg)
    phone = 374 / W  # a 390 px screen less the page's padding
    sizes = [float(t.get("font-size", FONT_PX)) * phone for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert sizes and min(sizes) >= 10, f"smallest text {min(sizes):.1f} px on a phone"
    texts = _texts(root)
    assert any("whole run: lr_value" in t for t in texts)  # spans the run: named, not shaded
    assert "divergence" in texts and "step" in texts and "loss" in texts and "accuracy / score" in texts
    assert "acc" in texts and "lr" in texts  # legend of the accuracy panel; the lr's own axis (it changes)
    assert len(_polylines(root)) == 3  # loss, lr, accuracy


def test_svg_ticks_are_whole_steps_and_accuracies_share_a_scale():
    import numpy as np

    from logsleuth.model import Diagnosis
    from logsleuth.report.svg import linear_ticks, log_ticks, run_svg

    assert linear_ticks(-0.15, 3.15, integer=True) == [0, 1, 2, 3]
    assert linear_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert log_ticks(0.05, 200) == [0.1, 1, 10, 100]
    d = Diagnosis(run="r", status="ok", health="healthy")
    c = {"train_loss": ("loss", np.arange(4.0), np.array([1.0, 0.8, 0.7, 0.65])),
         "train_accuracy": ("acc", np.arange(4.0), np.array([0.2, 0.5, 0.7, 0.8])),
         "val_accuracy": ("val_acc", np.arange(4.0), np.array([18.0, 45.0, 66.0, 75.0]))}  # logged in percent
    texts = _texts(_svg_tree(run_svg(d, c)))
    assert {"0", "1", "2", "3"} <= set(texts) and "0.5" not in texts and "1.5" not in texts
    assert "60" not in texts and "0.6" in texts  # one 0-1 scale for both accuracies


def test_svg_of_a_long_run_keeps_its_spikes_and_its_gap():
    import numpy as np

    from logsleuth.model import Diagnosis, Role, Series
    from logsleuth.pipeline import plot_curves
    from logsleuth.report.svg import run_svg

    n = 1_000_000
    st = np.arange(n, dtype=float)
    v = np.exp(-st / 3e5) + 0.01 * np.random.default_rng(0).random(n)
    v[400_000] = 50.0  # one spike
    v[600_000:610_000] = np.nan  # a stretch of NaN
    c = plot_curves({"loss": Series("loss", Role("train", "loss", "lower"), st, v)})
    root = _svg_tree(run_svg(Diagnosis(run="long", status="ok"), c))
    lines = _polylines(root)
    assert len(lines) == 2  # broken where the values are not finite
    points = sum(len(x) for x in lines)
    assert points <= 1000  # about two points per pixel column, not a million
    top = min(y for x in lines for _, y in x)
    peak_x = [x for x, y in lines[0] if y == top]
    assert peak_x and abs(peak_x[0] - (86.4 + 0.4 * (465.6 - 86.4))) < 2  # the spike, where it is
    assert any(p.get("stroke-dasharray") for p in root.iter("{http://www.w3.org/2000/svg}path"))  # the NaN marker


def test_svg_escapes_names_from_the_log():
    import numpy as np

    from logsleuth.model import Diagnosis
    from logsleuth.report.svg import run_svg

    hostile = "<img src=x onerror=alert(1)>"
    st = np.arange(10.0)
    svg = run_svg(Diagnosis(run=f"run {hostile}", status="ok"), {"train_loss": (f"loss/{hostile}", st, np.exp(-st))})
    assert hostile not in svg and "&lt;img src=x" in svg
    assert f"run {hostile}" in _texts(_svg_tree(svg))


def test_svg_of_odd_curves_is_well_formed_and_has_no_nan_coordinate():
    """Seeded odd curves (NaN, Inf, constant, negative, one point, repeated steps, symptoms
    without steps): each figure is drawn without a warning, as XML, with no NaN/Inf number."""
    import re
    import warnings

    import numpy as np

    from logsleuth.model import Diagnosis, Finding
    from logsleuth.report.svg import run_svg

    rng = np.random.default_rng(29)
    roles = ["train_loss", "val_loss", "lr", "train_accuracy", "val_accuracy", "val_score"]

    def curve():
        n = int(rng.choice([1, 2, 3, 10, 1000]))
        st = float(rng.choice([0.0, 1.0, 1e6])) + np.cumsum(rng.choice([0, 1, 2.5], n))
        v = [rng.normal(size=n), np.exp(rng.normal(size=n) * 5), np.full(n, 3.0), np.full(n, np.nan),
             np.where(rng.random(n) < 0.3, np.inf, rng.random(n)), -np.exp(rng.normal(size=n)),
             rng.random(n) * 100][int(rng.integers(0, 7))]
        return st, v

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(300):
            c = {r: (f"m<{r}>&", *curve()) for r in roles if rng.random() < 0.5}
            syms = tuple(Finding("x", "sym", str(rng.choice(["critical", "warning", "info"])), "m", 0.5,
                                 float(rng.normal() * 100) if rng.random() < 0.9 else None, float(rng.normal() * 100), "e", ())
                         for _ in range(int(rng.integers(0, 5))))
            svg = run_svg(Diagnosis(run="r/" + "x" * int(rng.integers(0, 80)), status="ok", symptoms=syms), c)
            if svg:
                _svg_tree(svg)
                assert not re.search(r'["\s,]-?(nan|inf)["\s,]', svg)
