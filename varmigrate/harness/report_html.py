"""``report.html``: one self-contained page per run (torch-free).

No network, no external assets.  One small inline script makes the per-tensor table sortable by
clicking a column header; without JavaScript the page is complete, the table already sorted worst
first.  Free text from the report (reasons, notes, hit explanations) is Markdown-inline: its
backtick spans become ``<code>``.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any, Optional

from .report_text import REFERENCE_TEXT, event_label, g, notes_of, run_line, shows_readings
from .svg import loss_overlay
from .tiers import IDENTICAL, KIND

_CSS = """body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.v{font-weight:bold;padding:1px 6px;border-radius:3px;color:#fff;white-space:nowrap}
.pass{background:#2a7d2e}.warn{background:#b8860b}.fail{background:#c0392b}.none{background:#666}
.note{border-left:4px solid #d98b00;background:#fff7e6;padding:.4em .8em;margin:.6em 0}
pre{background:#f6f6f6;padding:.5em;overflow:auto}code{background:#f1f1f1;padding:0 3px;border-radius:3px}
pre.src{padding:.3em 0}pre.src span{display:block;padding:0 .6em}pre.src .hl{background:#ffe3e3}
table.sortable th{cursor:pointer}table.sortable th::after{content:" \\2195";color:#aaa}
section{border-top:1px solid #ddd;margin-top:1.5em}"""

# Sorting by a click on a header: cells with data-v by number (empty: no value, sorts last), others
# as text; click again to reverse.  Progressive enhancement only: the rows are already worst first.
_SORT_JS = """<script>
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var dir = th.dataset.dir === 'asc' ? -1 : 1;
      th.dataset.dir = dir === 1 ? 'asc' : 'desc';
      var key = function (r) { var c = r.cells[col], v = c.dataset.v;
        if (v === undefined) { return c.textContent.toLowerCase(); }
        return v === '' || isNaN(v) ? Infinity : parseFloat(v); };
      rows.sort(function (a, b) { var x = key(a), y = key(b);
        return x < y ? -dir : x > y ? dir : 0; });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
</script>"""

_CODE = re.compile(r"`([^`]+)`")


def inline(text: Optional[str]) -> str:
    """Escaped text with Markdown inline code (`x`) as <code>x</code>."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text or ""))


def badge(v: str) -> str:
    return f'<span class="v {KIND.get(v, "none")}">{escape(v)}</span>'


def _site_link(site: Optional[str], anchor: Optional[str]) -> str:
    if not site:
        return "&mdash;"
    return f'<a href="#{anchor}">{escape(site)}</a>' if anchor else escape(site)


def _source_block(ex: dict[str, Any], anchor: str, side: str) -> str:
    path = ex["file"] or ""
    shown = escape(path)
    if path and Path(path).is_file():
        shown = f'<a href="{escape(Path(path).resolve().as_uri())}">{shown}</a>'
    rows = "".join(f'<span{" class=hl" if n == ex["line"] else ""}>{n:>5}  {escape(text)}</span>'
                   for n, text in ex["lines"])
    return (f'<div id="{anchor}"><p>{side}: {shown}, line {ex["line"]}</p>'
            f'<pre class="src">{rows}</pre></div>')


def _tensor_table(rows: list[dict[str, Any]]) -> str:
    out = ['<table class="sortable"><thead><tr><th>tensor</th><th>field</th><th>verdict</th>'
           '<th>first event</th><th>events</th><th>max abs</th><th>max rel</th><th>note</th></tr></thead><tbody>']
    order = {name: i for i, name in enumerate(("IDENTICAL", "EQUAL", "CLOSE", "DIVERGED"))}
    for t in rows:
        fe = t["first_event"]
        out.append(
            f"<tr><td>{escape(t['tensor'])}</td><td>{escape(t['field'])}</td>"
            f"<td data-v='{order.get(t['verdict'], 0)}'>{badge(t['verdict'])}</td>"
            f"<td class=n data-v='{'' if fe is None else fe}'>{escape(event_label(fe))}</td>"
            f"<td class=n data-v='{t.get('events', 0)}'>{t.get('events', '')}</td>"
            f"<td class=n data-v='{'' if t['max_abs'] is None else t['max_abs']}'>{g(t['max_abs'])}</td>"
            f"<td class=n data-v='{'' if t['max_rel'] is None else t['max_rel']}'>{g(t['max_rel'])}</td>"
            f"<td>{inline(t['note'])}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _pair(n: int, p: dict[str, Any]) -> list[str]:
    fd = p["first_divergence"] or {}
    src = fd.get("source") or {}
    anchors = {side: f"pair{n}-{side}-src" for side in src}
    out = [f"<section id='pair{n}'><h2>{escape(p['name'])} {badge(p['verdict'])}</h2>",
           f"<p>{inline(p['reason'])}</p>"]
    out += [f"<p class='note'><b>Note:</b> {inline(note)}</p>" for note in notes_of(p)]
    if p["note"]:
        out.append(f"<p>{inline(p['note'])}</p>")
    out += ["<ul>",
            f"<li>before: <code>{escape(p['before'])}</code> ({inline(run_line(p['runs']['before']))})</li>",
            f"<li>after: <code>{escape(p['after'])}</code> ({inline(run_line(p['runs']['after']))})</li>"]
    if p["determinism"]["checked"]:
        out.append(f"<li>determinism: before run twice, "
                   f"{'identical' if p['determinism']['identical'] else '<b>different</b>'}</li>")
    out.append(f"<li>reference: {escape(REFERENCE_TEXT[p['reference']])} "
               f"(<code>--reference {escape(p['reference'])}</code>)</li>")
    shim = p["shim"]
    if shim["features"]:
        items = "".join(f"<li><code>{escape(r['hit'])}</code> ×{r['count']} "
                        f"({'0.3 semantics' if r['kind'] == 'semantics' else 'crash shim'}): {inline(r['text'])}</li>"
                        for r in shim["explained"])
        if not items:
            items = "<li>none hit: the before run is the program exactly as modern torch runs it</li>"
        out.append("<li>legacy features installed in the before runs (their constructs occur in the source): "
                   + ", ".join(f"<code>{escape(f)}</code>" for f in shim["features"])
                   + f"; this run's hits:<ul>{items}</ul></li>")
    rd = p["readings"]
    if shows_readings(p):
        out.append(f"<li>the legacy program read the {escape(str(rd.get('other')))} way: {inline(rd['message'])}</li>")
    mapped = {k: v for side in p["device"]["mapped"].values() for k, v in side.items()}
    if mapped:
        out.append("<li>CUDA placement mapped to the CPU on both sides: " + escape(", ".join(
            f"{k} ×{v}" for k, v in sorted(mapped.items()))) + "</li>")
    for gc in p["gradcheck"]:
        out.append(f"<li>gradcheck (float64) of <code>{escape(gc['function'])}</code>: {escape(gc['status'])}</li>")
    if p["printed"].get("compared") and p["printed"].get("same"):
        out.append(f"<li>{inline(p['printed']['note'])}</li>")
    out.append("</ul>")
    if fd:
        out.append("<table><tr><th>first difference</th><th>event</th><th>kind</th><th>site before</th>"
                   "<th>site after</th><th>tensor</th><th>max abs</th><th>max rel</th></tr>"
                   f"<tr><td>{badge(fd.get('verdict') or 'DIVERGED')}</td>"
                   f"<td>{escape(event_label(fd.get('event')))}</td><td>{escape(str(fd.get('kind')))}</td>"
                   f"<td>{_site_link(fd.get('before_site'), anchors.get('before'))}</td>"
                   f"<td>{_site_link(fd.get('after_site'), anchors.get('after'))}</td>"
                   f"<td>{escape((fd.get('tensor') or '') + ' ' + str(fd.get('field')))}</td>"
                   f"<td class=n>{g(fd.get('max_abs'))}</td><td class=n>{g(fd.get('max_rel'))}</td></tr></table>")
        if fd.get("note"):
            out.append(f"<p>{inline(fd['note'])}</p>")
    if p["drilldown"]:
        out.append(f"<p>Op-level drill-down: {inline(p['drilldown']['summary'])} "
                   f"({p['drilldown']['matched_ops']} ops matched before it).</p>")
    svg = loss_overlay(p["loss"].get("before", []), p["loss"].get("after", []), fd.get("event"),
                       f"{p['name']}: loss per event")
    if svg:
        out.append(svg)
    bad = [t for t in p["tensors"] if t["verdict"] != IDENTICAL]
    same = len(p["tensors"]) - len(bad)
    if bad:
        out.append("<h3>Per-tensor differences</h3><p>Every recorded tensor field, worst first "
                   "(click a column to sort).</p>")
        out.append(_tensor_table(p["tensors"]))
    if same:
        out.append(f"<p>{same} tensor field(s) bitwise identical in every event.</p>")
    for side, ex in src.items():
        out.append(_source_block(ex, anchors[side], side))
    for role in ("before", "after"):
        r = p["runs"][role]
        if r.get("status") not in ("ok", None) and r.get("stderr_tail"):
            out.append(f"<details><summary>{role} stderr (tail)</summary><pre>"
                       f"{escape(r['stderr_tail'][-1500:])}</pre></details>")
    if p["tests"]:
        out.append("<table><tr><th>test</th><th>before</th><th>after</th></tr>" + "".join(
            f"<tr><td>{escape(t['test'])}</td><td>{escape(t.get('before', ''))}</td>"
            f"<td>{escape(t.get('after', ''))}</td></tr>" for t in p["tests"]) + "</table>")
    out.append("</section>")
    return out


def to_html(rep: dict[str, Any]) -> str:
    env, s = rep["environment"], rep["summary"]
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           "<meta name='viewport' content='width=device-width, initial-scale=1'>"
           "<title>varmigrate verify report</title>",
           f"<style>{_CSS}</style></head><body><h1>varmigrate verify report</h1>",
           f"<p>{s['pairs']} pair(s): " + ", ".join(f"{n} {badge(v)}" for v, n in s["counts"].items() if n)
           + f"</p><p>torch {escape(str(env['torch']))}, Python {escape(env['python'])}, seed {env['seed']}, "
           f"{env['threads']} thread(s), deterministic algorithms on, "
           f"device <code>{escape(str(env['device']))}</code>, executor <code>{escape(env['executor'])}</code>; "
           f"reference: {escape(REFERENCE_TEXT[env['reference']])}.</p>",
           "<table><tr><th>pair</th><th>verdict</th><th>reference</th><th>events</th><th>shim hits</th>"
           "<th>reason</th></tr>"]
    for n, p in enumerate(rep["pairs"]):
        out.append(f"<tr><td><a href='#pair{n}'>{escape(p['name'])}</a></td><td>{badge(p['verdict'])}</td>"
                   f"<td>{escape(p['reference'])}</td><td class=n>{p['events']['compared']}</td>"
                   f"<td class=n>{p['shim']['total']}</td><td>{inline(p['reason'])}"
                   + "".join(f"<br><b>Note:</b> {inline(note)}" for note in notes_of(p)) + "</td></tr>")
    out.append("</table>")
    for n, p in enumerate(rep["pairs"]):
        out += _pair(n, p)
    if any(t["verdict"] != IDENTICAL for p in rep["pairs"] for t in p["tensors"]):
        out.append(_SORT_JS)
    out.append("</body></html>")
    return "\n".join(out) + "\n"
