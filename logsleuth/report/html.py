"""One self-contained HTML file: inline CSS, plots as inline PNG, a small sortable and
filterable overview table (the page stays readable without the script).  Everything that
came from a log is escaped."""

from __future__ import annotations

import base64
import html

from .._version import __version__
from ..model import worst_first
from .common import step, top_cause, unknown_reason

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:1rem;max-width:1100px;margin:auto;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-top:1px solid #ddd;padding-top:1rem;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #eee;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{cursor:pointer;background:#fafafa}.critical{color:#b00020;font-weight:600}.warning{color:#b36b00;font-weight:600}
.healthy{color:#2e7d32}.error{color:#6a1b9a;font-weight:600}img{max-width:100%;height:auto}
.run{display:flex;flex-wrap:wrap;gap:1rem}.run .plot{flex:1 1 520px;min-width:0;max-width:100%}.run .causes{flex:1 1 300px;min-width:0}
.ev{color:#555;font-size:.85rem}.tw{overflow-x:auto;max-width:100%}
td{overflow-wrap:anywhere}.small{font-size:.8rem;color:#666}input{padding:.3rem;width:100%;max-width:20rem;margin:.5rem 0}
@media (max-width:600px){body{padding:.5rem}td,th{font-size:.8rem}}
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

_RANK = {"error": 0, "critical": 1, "warning": 2, "unknown": 3, "healthy": 4}


def e(x: object) -> str:
    return html.escape(str(x), quote=True)


def to_html(result, pngs: dict[str, bytes] | None = None) -> str:
    """The page; `pngs` maps run names to plot images (see plots.render_all)."""
    diags = worst_first(result.diagnoses)
    pngs = pngs or {}
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
        out.append(f'<tr><td><a href="#run{i}">{e(d.run)}</a></td><td class="{h}" data-v="{_RANK[h]}">{h}</td>'
                   f"<td>{e(top_cause(d))}</td><td>{score:.2f}</td></tr>")
    out.append("</tbody></table></div>")
    out.append(_overview(diags))
    for i, d in enumerate(diags):
        out.append(_run(i, d, pngs.get(d.run)))
    for m in result.messages:
        out.append(f"<p class=small>note: {e(m)}</p>")
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out) + "\n"


def _overview(diags) -> str:
    from ..sweep import config_label, config_outcome, overview, sweep_summary

    o = overview(diags)
    parts = []
    if len(diags) > 1 and o.causes:
        parts.append("<h2>Overview</h2><p>first causes: "
                     + ", ".join(f"{e(c)} <b>{n}</b>" for c, n in o.causes.items()) + "</p>")
    for s in o.sweeps:
        parts.append(f"<h2>Sweep {e(s.directory)}</h2><p>{e(sweep_summary(s))}.</p>")
        if s.statements:
            parts.append("<ul>" + "".join(f"<li><b>{e(st)}</b></li>" for st in s.statements) + "</ul>")
        parts.append('<div class="tw"><table><thead><tr><th>configuration</th><th>outcome</th></tr></thead><tbody>'
                     + "".join(f"<tr><td>{e(config_label(c))}</td><td>{e(config_outcome(c))}</td></tr>"
                               for c in s.configs) + "</tbody></table></div>")
    return "\n".join(parts)


def _run(i: int, d, png: bytes | None) -> str:
    h = "error" if d.status == "error" else d.health
    parts = [f'<h2 id="run{i}">{e(d.run)} <span class="{h}">{h}</span></h2>']
    if d.status == "error":
        parts.append(f"<p>{e(d.error)}</p>")
        return "\n".join(parts)
    parts.append('<div class="run"><div class="plot">')
    if png:
        parts.append(f'<img alt="curves of {e(d.run)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    parts.append("</div><div class=\"causes\">")
    if d.health == "healthy":
        parts.append("<p>Looks healthy.</p>")
    elif d.health == "unknown":
        parts.append(f"<p>Not judged: {e(unknown_reason(d))}.</p>")
    else:
        parts.append("<ol>")
        for c in d.causes[:4]:
            rem = "".join(f"<li>{e(r)}</li>" for r in c.remedies)
            because = f" <span class=small>because: {e(', '.join(c.because))}</span>" if c.because else ""
            parts.append(f"<li><b>{e(c.id)}</b> {c.score:.2f} - {e(c.title)}{because}<ul>{rem}</ul></li>")
        parts.append("</ol>")
    parts.append("</div></div>")
    if d.symptoms:
        parts.append("<div class=\"tw\"><table><thead><tr><th>symptom</th><th>severity</th><th>metric</th><th>steps</th><th>evidence</th></tr></thead><tbody>")
        for f in d.symptoms:
            parts.append(f'<tr><td>{e(f.symptom)}</td><td class="{f.severity}">{f.severity}</td><td>{e(f.metric)}</td>'
                         f"<td>{step(f.start_step)}-{step(f.end_step)}</td><td class=ev>{e(f.evidence)}</td></tr>")
        parts.append("</tbody></table></div>")
    metrics = ", ".join(f"{e(m.metric)} ({e(m.role)}, {m.points})" for m in d.metrics)
    parts.append(f"<p class=small>metrics: {metrics}</p>")
    if d.skipped:
        parts.append("<details><summary class=small>rules skipped</summary><ul class=small>"
                     + "".join(f"<li>{e(s.rule)}: {e(s.reason)}</li>" for s in d.skipped) + "</ul></details>")
    if d.warnings:
        parts.append("<ul class=small>" + "".join(f"<li>{e(w)}</li>" for w in d.warnings) + "</ul>")
    return "\n".join(parts)
