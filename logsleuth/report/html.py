"""One self-contained HTML file: inline CSS, plots as inline SVG (report.svg: drawn here, no
matplotlib), a small sortable and filterable overview table (the page stays readable without
the script).  Everything that came from a log is escaped."""

from __future__ import annotations

import html

from .._version import __version__
from ..model import OUTCOMES_WORST_FIRST, Analysis, worst_first
from ..numfmt import step_text
from .common import CAUSES_LISTED, cause_sources, overview_of, shown_symptoms, skipped_by_reason, top_cause, unknown_reason
from .style import NO_PLOT, plottable

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;padding:1rem;max-width:1100px;color:#222;
line-height:1.4;overflow-wrap:break-word;hyphens:none}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-top:1px solid #ddd;padding-top:1rem}
h3{font-size:1rem;margin:.6rem 0 .3rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #eee;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{cursor:pointer;background:#fafafa}.critical{color:#b00020;font-weight:600}.warning{color:#b36b00;font-weight:600}
.healthy{color:#2e7d32}.unknown{color:#00707a}.error{color:#6a1b9a;font-weight:600}.info{color:#666}
img,.plot svg{max-width:100%;height:auto;display:block}
.run,.sweepfigs{display:flex;flex-wrap:wrap;gap:1rem}.run .plot,.sweepfigs .plot{flex:0 1 480px;min-width:0;max-width:100%}
.run .causes{flex:1 1 300px;min-width:0}
.ev{color:#444}ol{padding-left:1.6rem;margin:.2rem 0}li{margin:.25rem 0}ul{padding-left:1.2rem}
.small{font-size:.85rem;color:#555}input{padding:.3rem;width:100%;max-width:20rem;margin:.5rem 0;box-sizing:border-box}
.num{white-space:nowrap}
@media (max-width:600px){body{padding:.5rem}h2{font-size:1rem}
#overview thead{display:none}#overview tr{display:block;border-bottom:1px solid #ddd;padding:.3rem 0}
#overview td{display:inline-block;border:0;padding:.1rem .4rem .1rem 0}#overview td:first-child{display:block}}
"""

_JS = """
(function(){var t=document.getElementById('overview');if(!t)return;var f=document.getElementById('filter');
f.style.display='';f.addEventListener('input',function(){var q=f.value.toLowerCase();
Array.prototype.forEach.call(t.tBodies[0].rows,function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});});
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){th.addEventListener('click',function(){
var rows=Array.prototype.slice.call(t.tBodies[0].rows);var asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
rows.sort(function(a,b){var x=a.cells[i].dataset.v||a.cells[i].textContent,y=b.cells[i].dataset.v||b.cells[i].textContent;
var nx=parseFloat(x),ny=parseFloat(y);var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c;});
rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});})();
"""

# the overview's sort key; an unreadable run's cell says "error"
_RANK = {("error" if o == "unreadable" else o): i for i, o in enumerate(OUTCOMES_WORST_FIRST)}


def e(x: object) -> str:
    return html.escape(str(x), quote=True)


def to_html(result: Analysis, figures: dict[str, str] | None = None) -> str:
    """The page; `figures` maps run names (and sweepplots.figure_key keys) to SVG figures,
    drawn here from the analysis' curves when not given (see figures_of)."""
    diags = worst_first(result.diagnoses)
    pngs = figures_of(result) if figures is None else figures
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
           "<title>logsleuth report</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>logsleuth report</h1><p class=small>{len(diags)} run(s) · logsleuth {e(__version__)}</p>"]
    out.append('<input id="filter" placeholder="filter runs" style="display:none" aria-label="filter runs">')
    out.append('<div class="tw"><table id="overview"><thead><tr><th>run</th><th>health</th><th>first cause</th><th>score</th></tr></thead><tbody>')
    for i, d in enumerate(diags):
        h = "error" if d.status == "error" else d.health
        score = d.causes[0].score if d.status == "ok" and d.causes and d.health != "healthy" else 0.0
        out.append(f'<tr><td><a href="#run{i}">{name_html(d.run)}</a></td><td class="{h}" data-v="{_RANK[h]}">{h}</td>'
                   f"<td>{e(top_cause(d))}</td><td>{score:.2f}</td></tr>")
    out.append("</tbody></table></div>")
    out.append(_overview(result, pngs))
    for i, d in enumerate(diags):
        out.append(_run(i, d, pngs.get(d.run), result.curves.get(d.run)))
    for m in result.messages:
        out.append(f"<p class=small>note: {text_html(m)}</p>")
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out) + "\n"


def figures_of(result: Analysis) -> dict[str, str]:
    """Every figure of the page as SVG: each run's curves and each sweep's figures."""
    from .svg import run_svg, sweep_figures

    out = {}
    for d in result.diagnoses:
        c = result.curves.get(d.run)
        if d.status == "ok" and c and (svg := run_svg(d, c)):
            out[d.run] = svg
    out.update(sweep_figures(overview_of(result), result.diagnoses, result.curves))
    return out


def _overview(result: Analysis, pngs: dict[str, str]) -> str:
    from ..sweep import config_label, config_outcome, sweep_summary
    from .sweepplots import figure_key

    diags, o = result.diagnoses, overview_of(result)
    parts = []
    if len(diags) > 1 and o.causes:
        parts.append("<h2>Overview</h2><p>first causes: "
                     + ", ".join(f"{e(c)} <b>{n}</b>" for c, n in o.causes.items()) + "</p>")
    for s in o.sweeps:
        parts.append(f"<h2>Sweep {name_html(s.directory)}</h2><p>{e(sweep_summary(s))}.</p>")
        if s.statements:
            parts.append("<ul>" + "".join(f"<li><b>{e(st)}</b></li>" for st in s.statements) + "</ul>")
        figs = [(k, pngs[figure_key(s, k)]) for k in s.varying if figure_key(s, k) in pngs]
        if figs:
            parts.append('<div class="sweepfigs">' + "".join(
                f'<div class="plot">{fig}</div>' for k, fig in figs) + "</div>")
        parts.append('<div class="tw"><table><thead><tr><th>configuration</th><th>outcome</th></tr></thead><tbody>'
                     + "".join(f"<tr><td>{e(config_label(c))}</td><td>{e(config_outcome(c))}</td></tr>"
                               for c in s.configs) + "</tbody></table></div>")
    return "\n".join(parts)


def _link(ref) -> str:
    """A reference as a link when its address is http(s) (a rules file could name anything)."""
    url, title = str(ref.get("url", "")), str(ref.get("title", "") or ref.get("url", ""))
    if url.startswith(("https://", "http://")):
        return f'<a href="{e(url)}" rel="noreferrer">{e(title)}</a>'
    return e(f"{title} ({url})" if url else title)


def name_html(name: str) -> str:
    """A run name that may wrap after a path separator, never inside a word."""
    return "".join(e(ch) + ("<wbr>" if ch in "/\\_-" else "") for ch in name)


def text_html(text: str) -> str:
    """Text from a log (evidence, warnings, notes, metric names): each long token (a path, a
    tag, a run id) may wrap after its separators, so a phone never breaks it inside a word."""
    return " ".join(name_html(w) if len(w) > LONG_TOKEN else e(w) for w in str(text).split(" "))


# tokens longer than this may wrap after a separator (shorter ones fit any line)
LONG_TOKEN = 16


def _run(i: int, d, svg: str | None, curves=None) -> str:
    h = "error" if d.status == "error" else d.health
    parts = [f'<h2 id="run{i}">{name_html(d.run)} <span class="{h}">{h}</span></h2>']
    if d.status == "error":
        parts.append(f"<p>{text_html(d.error or '')}</p>")
        return "\n".join(parts)
    parts.append('<div class="run"><div class="plot">')
    if svg:
        parts.append(svg)
    elif curves and not plottable(curves):
        parts.append(f"<p class=small>{NO_PLOT}</p>")
    parts.append("</div><div class=\"causes\">")
    shown = shown_symptoms(d)
    if d.health == "healthy":
        parts.append("<p>Looks healthy.</p>")
    elif d.health == "unknown":
        parts.append(f"<p>Not judged: {e(unknown_reason(d))}.</p>")
    if shown and d.health != "unknown":
        parts.append("<h3>Seen</h3><ol>")
        for sh in shown:
            f = sh.finding
            where = "" if f.start_step is None else f" · steps <span class=num>{step_text(f.start_step)}-{step_text(f.end_step)}</span>"
            parts.append(f'<li value="{sh.number}"><b>{e(f.symptom)}</b> <span class="{f.severity}">{f.severity}</span>'
                         f' <span class=small>{text_html(f.metric)}{where} · confidence {f.confidence:.2f}</span><br>'
                         f"<span class=ev>{text_html(sh.evidence)}</span></li>")
        parts.append("</ol>")
    if d.health in ("warning", "critical"):
        parts.append("<h3>Likely causes</h3><ol>")
        for c in d.causes[:CAUSES_LISTED]:
            refs = cause_sources(c, shown, d)
            src = f" <span class=small>(from {', '.join(str(n) for n in refs)})</span>" if refs else ""
            rem = "".join(f"<li>{e(r)}</li>" for r in c.remedies)
            see = "".join(f"<li class=small>see: {_link(ref)}</li>" for ref in c.references)
            parts.append(f"<li><b>{e(c.id)}</b> - {e(c.title)}, score {c.score:.2f}{src}<ul>{rem}{see}</ul></li>")
        parts.append("</ol>")
    parts.append("</div></div>")
    metrics = ", ".join(f"{text_html(m.metric)} ({e(m.role)}, {m.points}, steps <span class=num>{step_text(m.first_step)}-{step_text(m.last_step)}</span>)"
                        for m in d.metrics)
    parts.append(f"<p class=small>metrics: {metrics}</p>")
    if d.skipped:
        parts.append("<details><summary class=small>rules that could not run</summary><ul class=small>"
                     + "".join(f"<li>{text_html(reason)}: {', '.join(name_html(r) for r in rules)}</li>"
                             for reason, rules in skipped_by_reason(d))
                     + "</ul></details>")
    if d.warnings:
        parts.append("<h3>Warnings while reading</h3><ul class=small>" + "".join(f"<li>{text_html(w)}</li>" for w in d.warnings) + "</ul>")
    return "\n".join(parts)
