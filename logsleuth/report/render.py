"""One render path for every command that writes reports (`analyze`, `compare`): a format and
a destination in, the report's text out; Markdown's plot files written beside the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import Analysis

if TYPE_CHECKING:
    from ..comparison import Comparison


def render(result: Analysis | Comparison, fmt: str, output: str | None, pngs: dict[Any, bytes] | None, *,
           color: bool = False, verbose: bool = False, show_all: bool = False, width: int | None = None) -> str:
    """The text of one report of `result` (an analysis or a comparison) in `fmt`; `output` is
    the file it goes to (None: stdout), beside which a Markdown report's plots are written;
    `pngs` are the PNG plots of a Markdown report or a comparison (report.plots.render_all,
    report.compare.plots); an analysis' HTML report draws its own SVG figures."""
    if not isinstance(result, Analysis):  # a Comparison (not imported here: `analyze` never needs it)
        return _comparison(result, fmt, output, pngs)
    if fmt == "json":
        from .jsonreport import to_json

        return to_json(result)
    if fmt == "markdown":
        from .markdown import to_markdown

        return to_markdown(result, plot_links(pngs, output))
    if fmt == "html":
        from .html import to_html

        return to_html(result)  # its figures are SVG, drawn from the curves (no PNG)
    from .terminal import to_terminal

    if width is None:
        return to_terminal(result, color=color, verbose=verbose, show_all=show_all)
    return to_terminal(result, color=color, verbose=verbose, show_all=show_all, width=width)


def _comparison(result: Comparison, fmt: str, output: str | None, pngs: dict[Any, bytes] | None) -> str:
    from . import compare as rep

    if fmt == "json":
        return rep.to_json(result)
    if fmt == "html":
        return rep.to_html(result, pngs)
    if fmt == "markdown":
        return rep.to_markdown(result, plot_links(pngs, output))
    return rep.to_terminal(result)


def plot_links(pngs: dict[Any, bytes] | None, output: str | None) -> dict[Any, str] | None:
    """Plots written as PNG files beside a Markdown report (`<report>_files/`): key -> relative
    path; None when the report goes to stdout or has no plots.  Keys may be run names or
    (pair, metric) tuples (compare)."""
    if not output or not pngs:
        return None
    from .plots import write_plot_files

    named = {_file_key(k): png for k, png in pngs.items()}
    files = write_plot_files(named, output)
    return {k: files[_file_key(k)] for k in pngs}


def _file_key(key: Any) -> str:
    return f"{key[0]}-{key[1]}" if isinstance(key, tuple) else str(key)
