"""The HTML report's figures as inline SVG, drawn here without matplotlib: a run's curves
(loss panel with the learning rate on a second axis when it changes, an accuracy panel when
one is logged), its symptoms' step ranges shaded and named, the first NaN/Inf marked; and a
sweep's figure per varying setting (each run's last metric against the setting's value,
coloured by health).

The same layout as the PNG plots of plots.py and sweepplots.py (sizes, colours, tick labels
from style.py), at a fraction of the cost: matplotlib lays out every tick label and legend of
every figure (~50 ms a figure), here a figure is a few hundred bytes of text per curve.  Each
curve is decimated to a minimum and a maximum per column of pixels, so spikes stay visible;
a curve's non-finite values leave a gap in its line.  Everything that came from a log (run
and metric names) is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..model import Diagnosis, PlotCurves
from .style import DPI, FONT_PT, HEALTH_COLOR, SEVERITY_COLOR, WIDTH_IN, number_label, plottable, step_label

W = WIDTH_IN * DPI  # 480 px, as the PNG plots
PX_PER_PT = DPI / 72
FONT_PX = FONT_PT * PX_PER_PT  # 13.3 px in a 480 px figure: 10.4 px on a 390 px phone
CHAR_W = 0.56  # the mean advance of a sans-serif character, in font sizes: legend boxes, label room
MARGIN = 0.05  # axes limits 5% beyond the data on each side (matplotlib's default margins)
TICKS = 5  # at most this many ticks on an axis, as plots.py's MaxNLocator(5)
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)  # tick spacings per decade (whole-step axes skip 2.5)
POINTS_PER_PX = 2  # a curve keeps a minimum and a maximum per pixel column of its panel
MARKERS_MAX = 120  # a validation curve of at most this many points shows a dot at each one
TICK_LEN = 4.0  # px
SUBPX = 10  # curve coordinates are written in tenths of a pixel, as integers (compact and fast)
# the layout of plots.py's figures, as shares of the figure (subplots_adjust)
RUN_H_IN, RUN_ACC_H_IN = 3.8, 5.6
LEFT, RIGHT, RIGHT_TWIN, TOP = 0.18, 0.97, 0.80, 0.86
BOTTOM, BOTTOM_ACC, HSPACE = 0.16, 0.11, 0.1
# ... and of sweepplots.py's
SWEEP_H_IN, SWEEP_LEFT, SWEEP_RIGHT, SWEEP_TOP, SWEEP_BOTTOM = 3.4, 0.17, 0.97, 0.95, 0.2
DOT_R = 3.3  # px: a sweep's runs, as matplotlib's s=36 markers
CAT_CHARS = 12  # a categorical setting's tick label is cut to this many characters

LINE = {  # role -> colour, stroke width (px), dashes, dots: as plots.py draws them
    "train_loss": ("#1f77b4", 0.78, "", False),
    "val_loss": ("#d62728", 1.56, "", True),
    "lr": ("#2ca02c", 0.9, "", False),
    "train_accuracy": ("#1f77b4", 0.9, "", False),
    "val_accuracy": ("#d62728", 1.33, "", True),
    "val_score": ("#9467bd", 1.33, "6 3", False),
}
NAN_COLOR = "#9467bd"
LR_COLOR = "#2ca02c"
GREY = "#555555"


def e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _f(x: float) -> str:
    """A coordinate: one decimal, no trailing zeros."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text_w(text: str, size: float = FONT_PX) -> float:
    return len(text) * size * CHAR_W


# ------------------------------------------------------------------ scales and ticks

class Scale:
    """Data -> pixels along one axis, linear or log10."""

    def __init__(self, lo: float, hi: float, log: bool, a: float, b: float) -> None:
        self.log = log
        self.lo, self.hi = lo, hi
        self.t0, self.t1 = (math.log10(lo), math.log10(hi)) if log else (lo, hi)
        if self.t1 <= self.t0:
            self.t0, self.t1 = self.t0 - 0.5, self.t1 + 0.5
        self.a, self.b = a, b

    def __call__(self, v: np.ndarray | float) -> np.ndarray:
        x = np.asarray(v, dtype=float)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.log10(x)
        return self.a + (x - self.t0) / (self.t1 - self.t0) * (self.b - self.a)

    def ticks(self, integer: bool = False) -> list[float]:
        if self.log:
            return log_ticks(self.lo, self.hi)
        return linear_ticks(self.t0, self.t1, integer)


def limits(values: Sequence[np.ndarray], log: bool) -> tuple[float, float] | None:
    """Axis limits: the finite data's range (positive values on a log axis) with a margin."""
    parts = [np.asarray(v, dtype=float) for v in values]
    v = np.concatenate(parts) if parts else np.array([])
    v = v[np.isfinite(v) & ((v > 0) if log else True)]
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    if log:
        a, b = math.log10(lo), math.log10(hi)
        pad = (b - a) * MARGIN or 0.5
        return 10 ** (a - pad), 10 ** (b + pad)
    pad = (hi - lo) * MARGIN or (abs(lo) * MARGIN or 0.5)
    return lo - pad, hi + pad


def linear_ticks(lo: float, hi: float, integer: bool = False) -> list[float]:
    """At most TICKS round values within [lo, hi] (spacing 1, 2, 2.5 or 5 per decade)."""
    span = hi - lo
    if not (span > 0 and math.isfinite(span)):
        return [lo]
    raw = span / TICKS
    mag = 10 ** math.floor(math.log10(raw))
    step = mag * 10
    for m in NICE_STEPS:
        if integer and m == 2.5:
            continue
        if span / (m * mag) <= TICKS:
            step = m * mag
            break
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(lo / step - 1e-9)
    out = []
    k = first
    while k * step <= hi + step * 1e-9:
        out.append(round(k * step, 12) + 0.0)
        k += 1
    return out


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten within [lo, hi]; every second or third one when there are many."""
    a, b = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    exps = list(range(a, b + 1))
    every = max(1, math.ceil(len(exps) / TICKS))
    return [10.0 ** k for k in exps[::every]] or [10 ** round(math.log10(math.sqrt(lo * hi)))]


# ------------------------------------------------------------------ curves

def thin(steps: np.ndarray, values: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """At most about POINTS_PER_PX x `columns` points: per column the lowest and the highest
    value in step order (a spike stays a spike), and the first non-finite value of each column
    (a gap stays a gap)."""
    from ..pipeline import decimate

    return decimate(steps, values, POINTS_PER_PX * max(1, columns))


def _polyline(x: np.ndarray, y: np.ndarray, color: str, width: float, dash: str = "", opacity: float = 1.0) -> str:
    """The line through the finite points, broken where a value is not finite."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return ""
    xi = np.rint(np.where(ok, x, 0.0) * SUBPX).astype(np.int64)
    yi = np.rint(np.where(ok, y, 0.0) * SUBPX).astype(np.int64)
    # runs of finite points: a non-finite value ends one
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    style = f' stroke="{color}" stroke-width="{_f(width * SUBPX)}"' + (f' stroke-dasharray="{dash}"' if dash else "") + \
        (f' stroke-opacity="{opacity}"' if opacity < 1 else "")
    out = []
    for s, t in zip(edges[::2], edges[1::2]):
        pts = np.column_stack([xi[s:t], yi[s:t]]).ravel().tolist()
        if t - s == 1:  # a lone point between gaps: a dot
            pts += pts
        out.append(f'<polyline{style} points="{" ".join(map(str, pts))}"/>')
    return "".join(out)


def _dots(x: np.ndarray, y: np.ndarray, color: str, r: float) -> str:
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return ""
    d = "".join(f"M{_f(a)} {_f(b)}h0" for a, b in zip(x[ok].tolist(), y[ok].tolist()))
    return f'<path d="{d}" stroke="{color}" stroke-width="{_f(2 * r)}" stroke-linecap="round"/>'


def _text(x: float, y: float, text: str, *, anchor: str = "start", color: str = "", size: float = FONT_PX,
          rotate: bool = False, baseline: str = "") -> str:
    attrs = f' x="{_f(x)}" y="{_f(y)}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if color:
        attrs += f' fill="{color}"'
    if size != FONT_PX:
        attrs += f' font-size="{_f(size)}"'
    if baseline:
        attrs += f' dominant-baseline="{baseline}"'
    if rotate:
        attrs += f' transform="rotate(-90 {_f(x)} {_f(y)})"'
    return f"<text{attrs}>{e(text)}</text>"


class Panel:
    """One axes box of a figure: its pixel box, scales, and the SVG drawn into it."""

    def __init__(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1
        self.parts: list[str] = []
        self.xs: Scale | None = None
        self.ys: Scale | None = None
        self.points: list[tuple[np.ndarray, np.ndarray]] = []  # pixel positions of what is drawn (legend placement)

    @property
    def columns(self) -> int:
        return int(self.x1 - self.x0)

    def frame(self) -> str:
        return (f'<rect x="{_f(self.x0)}" y="{_f(self.y0)}" width="{_f(self.x1 - self.x0)}" height="{_f(self.y1 - self.y0)}" '
                'fill="none" stroke="#000" stroke-width="0.8"/>')

    def x_ticks(self, labels: bool, integer: bool = True, fmt=step_label, cats: list[str] | None = None) -> str:
        assert self.xs is not None
        out = []
        ticks = list(range(len(cats))) if cats is not None else self.xs.ticks(integer)
        for i, t in enumerate(ticks):
            px = float(self.xs(t))
            if px < self.x0 - 0.5 or px > self.x1 + 0.5:
                continue
            out.append(f'<path d="M{_f(px)} {_f(self.y1)}v{_f(TICK_LEN)}" stroke="#000" stroke-width="0.8"/>')
            if labels:
                label = cats[i] if cats is not None else fmt(t)
                out.append(_text(px, self.y1 + TICK_LEN + FONT_PX, label, anchor="middle"))
        return "".join(out)

    def y_ticks(self, scale: Scale, right: bool = False, color: str = "", grid: bool = False,
                names: list[str] | None = None) -> str:
        out = []
        ticks = list(range(len(names))) if names is not None else scale.ticks()
        while names is None and len(ticks) > 2 and len({number_label(t) for t in ticks}) < len(ticks):
            ticks = ticks[::2]  # three significant digits print two neighbours alike: fewer ticks
        for i, t in enumerate(ticks):
            if names is not None and not names[i]:
                continue  # an outcome no run of the figure has
            py = float(scale(t))
            if py < self.y0 - 0.5 or py > self.y1 + 0.5:
                continue
            x = self.x1 if right else self.x0
            d = TICK_LEN if right else -TICK_LEN
            out.append(f'<path d="M{_f(x)} {_f(py)}h{_f(d)}" stroke="#000" stroke-width="0.8"/>')
            if grid:
                out.append(f'<path d="M{_f(self.x0)} {_f(py)}H{_f(self.x1)}" stroke="#b0b0b0" stroke-width="0.8" '
                           'stroke-opacity="0.3"/>')
            label = names[i] if names is not None else number_label(t)
            out.append(_text(x + d + (2 if right else -2), py, label, anchor="start" if right else "end",
                             color=color, baseline="central"))
        return "".join(out)

    def curve(self, role: str, st: np.ndarray, v: np.ndarray, ys: Scale | None = None) -> None:
        assert self.xs is not None
        ys = ys or self.ys
        assert ys is not None
        color, width, dash, dots = LINE[role]
        st, v = thin(st, v, self.columns)
        x, y = self.xs(st), ys(np.where(np.isfinite(v), v, np.nan))
        if ys.log:
            y = np.where(v > 0, y, np.nan)
        self.parts.append(_polyline(x, y, color, width, dash, opacity=0.6 if role == "lr" else 1.0))
        if dots and v.size <= MARKERS_MAX:
            self.parts.append(_dots(x, y, color, 1.7))
        self.points.append((x[np.isfinite(y)], y[np.isfinite(y)]))

    def legend(self, entries: list[tuple[str, str]], title: str = "", frame: bool = True,
               dots: dict[str, str] | None = None) -> str:
        """A legend of (role, label) entries in the corner where the fewest drawn points lie."""
        if not entries and not title:
            return ""
        size = FONT_PX
        row = size * 1.25
        sample = 22.0
        width = max([_text_w(t) + sample + 14 for _, t in entries] + ([_text_w(title) + 10] if title else []))
        height = row * (len(entries) + (1 if title else 0)) + 6
        pad = 5.0
        corners = [(self.x1 - pad - width, self.y0 + pad), (self.x0 + pad, self.y0 + pad),
                   (self.x0 + pad, self.y1 - pad - height), (self.x1 - pad - width, self.y1 - pad - height)]
        best, fewest = corners[0], None
        for cx, cy in corners:  # upper right, upper left, lower left, lower right: matplotlib's order
            n = sum(int(np.count_nonzero((px >= cx) & (px <= cx + width) & (py >= cy) & (py <= cy + height)))
                    for px, py in self.points)
            if fewest is None or n < fewest:
                best, fewest = (cx, cy), n
        cx, cy = best
        out = []
        if frame:
            out.append(f'<rect x="{_f(cx)}" y="{_f(cy)}" width="{_f(width)}" height="{_f(height)}" rx="3" fill="#fff" '
                       'fill-opacity="0.8" stroke="#ccc" stroke-width="0.8"/>')
        y = cy + 3 + row / 2
        if title:
            out.append(_text(cx + width / 2, y, title, anchor="middle", baseline="central"))
            y += row
        for role, label in entries:
            if dots is not None:
                out.append(f'<circle cx="{_f(cx + 6 + sample / 2)}" cy="{_f(y)}" r="{_f(DOT_R)}" fill="{dots[role]}" '
                           'stroke="#fff" stroke-width="0.5"/>')
            else:
                color, width_px, dash, _ = LINE[role]
                out.append(f'<path d="M{_f(cx + 6)} {_f(y)}h{_f(sample)}" stroke="{color}" stroke-width="{_f(max(width_px, 1.2))}"'
                           + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
            out.append(_text(cx + 10 + sample, y, label, baseline="central"))
            y += row
        return "".join(out)


def _ylabel_x(p: Panel, names: list[str] | None = None) -> float:
    """Where a panel's rotated y label goes: left of its widest tick label, inside the figure."""
    assert p.ys is not None
    widest = max((_text_w(t) for t in (names if names is not None else [number_label(v) for v in p.ys.ticks()])), default=0.0)
    return max(FONT_PX * 0.8, p.x0 - TICK_LEN - 4 - widest - FONT_PX * 0.7)


def _svg(height: float, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(W)} {_f(height)}" width="{_f(W)}" '
            f'height="{_f(height)}" role="img" aria-label="{e(label)}" font-family="DejaVu Sans,Arial,sans-serif" '
            f'font-size="{_f(FONT_PX)}" fill="#222"><title>{e(label)}</title>'
            f'<rect width="100%" height="100%" fill="#fff"/>{"".join(body)}</svg>')


# ------------------------------------------------------------------ a run's curves

def run_svg(d: Diagnosis, c: PlotCurves) -> str | None:
    """The run's figure as SVG text, or None when it has nothing to plot (no curve of two points)."""
    from .plots import LABEL_ROWS, WHOLE_RUN, _accuracy_scales, _log_ok, _short, _varies, _whole_run_label, _x_range

    if not c or not plottable(c):
        return None
    has_acc = any(k in c for k in ("train_accuracy", "val_accuracy", "val_score"))
    h = (RUN_ACC_H_IN if has_acc else RUN_H_IN) * DPI
    lr_twin = "lr" in c and _varies(c["lr"][2])
    x0, x1 = LEFT * W, (RIGHT_TWIN if lr_twin else RIGHT) * W
    top, bottom = (1 - TOP) * h, (1 - (BOTTOM_ACC if has_acc else BOTTOM)) * h
    if has_acc:  # heights 2:1 with a gap of HSPACE of the mean panel height between them
        unit = (bottom - top) / (3 + HSPACE * 1.5)
        loss = Panel(x0, top, x1, top + 2 * unit)
        acc: Panel | None = Panel(x0, top + 2 * unit + HSPACE * 1.5 * unit, x1, bottom)
    else:
        loss, acc = Panel(x0, top, x1, bottom), None
    lo, hi = _x_range(c)
    if lo is None or hi is None:
        return None
    for p in (loss, acc):
        if p is not None:
            p.xs = Scale(lo, hi, False, p.x0, p.x1)
    body: list[str] = []
    # the loss panel's y axis
    ys_data = [c[r][2] for r in ("train_loss", "val_loss") if r in c]
    log = bool(ys_data) and _log_ok(np.concatenate(ys_data))
    lim = limits(ys_data, log) if ys_data else None
    loss.ys = Scale(*(lim or (0.0, 1.0)), log, loss.y1, loss.y0)
    acc_scale = _accuracy_scales(c)
    if acc is not None:
        vals = [c[r][2] / acc_scale.get(r, 1.0) for r in ("train_accuracy", "val_accuracy", "val_score") if r in c]
        alim = limits(vals, False)
        acc.ys = Scale(*(alim or (0.0, 1.0)), False, acc.y1, acc.y0)
    lr_scale = None
    lr_note = ""
    if lr_twin:
        lr_log = _log_ok(c["lr"][2])
        llim = limits([c["lr"][2]], lr_log)
        if llim is not None:
            lr_scale = Scale(*llim, lr_log, loss.y1, loss.y0)
    elif "lr" in c:
        fin = c["lr"][2][np.isfinite(c["lr"][2])]
        lr_note = f"{_short(c['lr'][0], 16)} constant {number_label(fin[0])}" if fin.size else ""
    # symptoms: shaded where they are, named at the top of the loss panel; whole-run ones named above it
    panels = [p for p in (loss, acc) if p is not None]
    whole_run: list[str] = []
    labels: list[str] = []
    row = 0
    for f in d.symptoms:
        if f.start_step is None or f.end_step is None:
            continue
        a, b = f.start_step, max(f.end_step, f.start_step)
        if hi > lo and (b - a) >= WHOLE_RUN * (hi - lo):
            whole_run.append(f.symptom)
            continue
        col = SEVERITY_COLOR.get(f.severity, "#7f7f7f")
        for p in panels:
            assert p.xs is not None
            pa, pb = (float(np.clip(p.xs(a), p.x0, p.x1)), float(np.clip(p.xs(b), p.x0, p.x1)))
            body.append(f'<rect x="{_f(pa)}" y="{_f(p.y0)}" width="{_f(max(pb - pa, 1.0))}" height="{_f(p.y1 - p.y0)}" '
                        f'fill="{col}" fill-opacity="{0.08 if f.severity == "info" else 0.15}"/>')
        if row < LABEL_ROWS:
            assert loss.xs is not None
            px = float(np.clip(loss.xs(a), loss.x0, loss.x1)) + 2 * PX_PER_PT
            y = loss.y0 + FONT_PX * (1 + 1.2 * row)
            if px + _text_w(f.symptom) > loss.x1:  # near the right edge: the name ends there, inside the panel
                labels.append(_text(loss.x1 - 2, y, f.symptom, color=col, anchor="end"))
            else:
                labels.append(_text(px, y, f.symptom, color=col))
        row += 1
    # curves, then the NaN markers over them
    for role in ("train_loss", "val_loss"):
        if role in c:
            loss.curve(role, c[role][1], c[role][2])
    if lr_scale is not None:
        loss.curve("lr", c["lr"][1], c["lr"][2], lr_scale)
    if acc is not None:
        for role in ("train_accuracy", "val_accuracy", "val_score"):
            if role in c:
                acc.curve(role, c[role][1], c[role][2] / acc_scale.get(role, 1.0))
    for role in ("train_loss", "val_loss"):
        if role in c:
            st, v = c[role][1], c[role][2]
            bad = ~np.isfinite(v)
            if bad.any():
                assert loss.xs is not None
                px = float(loss.xs(st[int(np.argmax(bad))]))
                loss.parts.append(f'<path d="M{_f(px)} {_f(loss.y0)}V{_f(loss.y1)}" stroke="{NAN_COLOR}" '
                                  'stroke-width="1.1" stroke-dasharray="1.5 2.5"/>')
    for p in panels:
        body.append(f'<g fill="none" stroke-linejoin="round" transform="scale({1 / SUBPX})">'
                    + "".join(x for x in p.parts if x.startswith("<polyline")) + "</g>")
        body.extend(x for x in p.parts if not x.startswith("<polyline"))
    body.extend(labels)
    # axes, ticks and labels
    for p in panels:
        body.append(p.frame())
        body.append(p.x_ticks(labels=p is panels[-1]))
        assert p.ys is not None
        body.append(p.y_ticks(p.ys))
    if lr_scale is not None:
        body.append(loss.y_ticks(lr_scale, right=True, color=LR_COLOR))
        lr_label_x = x1 + TICK_LEN + 4 + max((_text_w(number_label(t)) for t in lr_scale.ticks()), default=0) + FONT_PX
        body.append(_text(min(lr_label_x, W - 4), (loss.y0 + loss.y1) / 2, _short(c["lr"][0], 20), anchor="middle",
                          color=LR_COLOR, rotate=True))
    y_label = ("loss" if "train_loss" not in c or c["train_loss"][0].lower().endswith("loss") else _short(c["train_loss"][0], 24))
    body.append(_text(_ylabel_x(loss), (loss.y0 + loss.y1) / 2, y_label, anchor="middle", rotate=True))
    if acc is not None:
        body.append(_text(_ylabel_x(acc), (acc.y0 + acc.y1) / 2, "accuracy / score", anchor="middle", rotate=True))
    last = panels[-1]
    body.append(_text((last.x0 + last.x1) / 2, min(h - 4, last.y1 + TICK_LEN + 2.2 * FONT_PX), "step", anchor="middle"))
    if whole_run:
        body.append(_text(loss.x0, loss.y0 - 0.02 * (loss.y1 - loss.y0) - 3, _whole_run_label(list(dict.fromkeys(whole_run))),
                          color=GREY))
    title = d.run if len(d.run) <= 55 else "..." + d.run[-52:]
    body.append(_text(W / 2, FONT_PX * 1.2, title, anchor="middle"))
    body.append(loss.legend([(r, c[r][0]) for r in ("train_loss", "val_loss") if r in c], title=lr_note))
    if acc is not None:
        body.append(acc.legend([(r, c[r][0]) for r in ("train_accuracy", "val_accuracy", "val_score") if r in c]))
    return _svg(h, f"curves of {d.run}", body)


# ------------------------------------------------------------------ a sweep's figure per setting

def sweep_svg(sweep, setting: str, runs: list[Diagnosis], curves: Mapping[str, PlotCurves]) -> str | None:
    """The figure of one setting of a sweep (see sweepplots.sweep_png), or None when no run has
    a value for it."""
    from ..sweep import outcome
    from .sweepplots import HEALTH_ORDER, LOG_SPAN, _jitter, sweep_points

    pts = sweep_points(setting, runs, curves)
    if pts is None:
        return None
    have, role, x, cats, xlog, y, name, ylabel = pts
    h = SWEEP_H_IN * DPI
    p = Panel(SWEEP_LEFT * W, (1 - SWEEP_TOP) * h, SWEEP_RIGHT * W, (1 - SWEEP_BOTTOM) * h)
    xs = _jitter(x, xlog)
    xlim = limits([xs], xlog) or (0.0, 1.0)
    if cats is not None:
        xlim = (-0.5, len(cats) - 0.5) if len(cats) > 1 else (-1.0, 1.0)
    p.xs = Scale(*xlim, xlog, p.x0, p.x1)
    names = None
    if role is None:
        used = sorted({int(v) for v in y})
        p.ys = Scale(min(used) - 0.5, max(used) + 0.5, False, p.y1, p.y0)
        names = [HEALTH_ORDER[i] if i in used else "" for i in range(max(used) + 1)]
    else:
        finite = y[np.isfinite(y)]
        ylog = bool(finite.size and np.all(finite > 0) and finite.max() / finite.min() >= LOG_SPAN)
        p.ys = Scale(*(limits([y], ylog) or (0.0, 1.0)), ylog, p.y1, p.y0)
    body = [p.y_ticks(p.ys, grid=True, names=names)]
    if cats is None:
        body.append(p.x_ticks(labels=True, integer=False, fmt=number_label))
    else:
        body.append(p.x_ticks(labels=True, cats=[ct if len(ct) <= CAT_CHARS else ct[:CAT_CHARS - 1] + "\u2026" for ct in cats]))
    health = [outcome(d) for d, _ in have]
    entries, colors = [], {}
    px_all, py_all = p.xs(xs), p.ys(y)
    for hh in HEALTH_ORDER:
        idx = [i for i, g in enumerate(health) if g == hh and math.isfinite(y[i])]
        if not idx:
            continue
        body.append("".join(f'<circle cx="{_f(float(px_all[i]))}" cy="{_f(float(py_all[i]))}" r="{_f(DOT_R)}" '
                            f'fill="{HEALTH_COLOR[hh]}" stroke="#fff" stroke-width="0.5"/>' for i in idx))
        p.points.append((px_all[idx], py_all[idx]))
        entries.append((hh, f"{hh} ({len(idx)})"))
        colors[hh] = HEALTH_COLOR[hh]
    body.append(p.frame())
    missing = int(np.sum(~np.isfinite(y)))
    xlabel = setting + (f"  ({missing} run{'s' if missing > 1 else ''} without {name} not shown)" if missing else "")
    body.append(_text((p.x0 + p.x1) / 2, p.y1 + TICK_LEN + 2.3 * FONT_PX, xlabel, anchor="middle"))
    body.append(_text(_ylabel_x(p, names), (p.y0 + p.y1) / 2, ylabel, anchor="middle", rotate=True))
    body.append(p.legend(entries, frame=False, dots=colors))
    return _svg(h, f"runs of {sweep.directory} by {setting}", body)


def sweep_figures(o, diags: list[Diagnosis], curves: Mapping[str, PlotCurves]) -> dict[str, str]:
    """Every sweep's figures as SVG, keyed by sweepplots.figure_key."""
    from . import sweepplots

    return sweepplots.sweep_figures(o, diags, curves, draw=sweep_svg)
