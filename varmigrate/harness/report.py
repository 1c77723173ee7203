"""Reports: ``report.json`` (schema ``varmigrate.verify/1``), ``report.md``, a self-contained
``report.html`` with an inline SVG loss overlay, and ``junit.xml``.

Every human format leads with the verdict, then where (event, call site, tensor), then how
much (max abs/rel), then the evidence; identical rows are counted, not listed.
"""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from html import escape
from pathlib import Path
from typing import Any, Iterable, Optional
from xml.sax.saxutils import quoteattr

from .pairs import Options, PairResult
from .shim import COVERAGE
from .svg import loss_overlay
from .verdict import ALL

SCHEMA_ID = "varmigrate.verify/1"
_MAX_TENSOR_ROWS = 50


def _run(r: Any) -> dict[str, Any]:
    if r is None:
        return {}
    return {"status": r.status, "exit_code": r.exit_code, "signal": r.signal, "message": r.message,
            "frame": r.frame, "events": r.summary.get("events", 0), "wall_s": r.wall_s, "cpu_s": r.cpu_s,
            "max_rss_mb": r.max_rss_mb, "shim_hits": r.summary.get("shim_hits", {}),
            "stdout_tail": r.stdout_tail[-1500:], "stderr_tail": r.stderr_tail[-3000:]}


def pair_dict(res: PairResult) -> dict[str, Any]:
    d = res.decision
    before, after = res.runs["before"], res.runs["after"]
    diff = d.diff
    rows = sorted((diff.tensors.values() if diff else []),
                  key=lambda r: (-["IDENTICAL", "EQUAL", "CLOSE", "DIVERGED"].index(r["verdict"]),
                                 r["first_event"] if r["first_event"] is not None else 1 << 30, r["tensor"]))
    hits = before.summary.get("shim_hits", {})
    tests: dict[str, dict[str, str]] = {}
    for role, run in (("before", before), ("after", after)):
        for t in run.summary.get("tests", []):
            if t["when"] == "call" or t["outcome"] != "passed":
                tests.setdefault(t["test"], {})[role] = t["outcome"]
    return {
        "name": res.pair.name,
        "before": res.pair.before.label,
        "after": res.pair.after.label,
        "verdict": d.verdict,
        "ok": d.ok,
        "reason": d.reason,
        "note": res.pair.note,
        "first_divergence": diff.first if diff and d.verdict not in ("IDENTICAL", "INCONCLUSIVE") else None,
        "drilldown": res.drilldown,
        "determinism": {"checked": bool(d.gate.get("checked")), "identical": d.gate.get("identical"),
                        "tier": d.gate.get("tier"), "first": d.gate.get("first")},
        "events": {"before": diff.before_events if diff else 0, "after": diff.after_events if diff else 0,
                   "compared": diff.compared if diff else 0,
                   "by_verdict": diff.counts() if diff else {}},
        "tensors": rows[:_MAX_TENSOR_ROWS],
        "runs": {"before": _run(before), "before_rerun": _run(res.runs.get("before_rerun")),
                 "after": _run(after)},
        "shim": {"used": bool(hits), "total": sum(hits.values()), "hits": hits},
        "device": {"resolved": after.summary.get("device") or before.summary.get("device"),
                   "mapped": {"before": before.summary.get("device_hits", {}),
                              "after": after.summary.get("device_hits", {})}},
        "gradcheck": after.summary.get("gradcheck", []),
        "loss": res.loss,
        "warnings": {"before": before.summary.get("warnings", [])[:20],
                     "after": after.summary.get("warnings", [])[:20]},
        "tests": [{"test": k, **v} for k, v in sorted(tests.items())],
        "seconds": res.seconds,
    }


def build(results: Iterable[PairResult], opts: Options, executor: str, seconds: float) -> dict[str, Any]:
    results = list(results)
    pairs = [pair_dict(r) for r in results]
    counts = {v: 0 for v in ALL}
    for p in pairs:
        counts[p["verdict"]] += 1
    summ = next((r.runs["after"].summary for r in results if r.runs["after"].summary), {})
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "varmigrate", "version": _version()},
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "environment": {"python": summ.get("python", sys.version.split()[0]), "torch": summ.get("torch"),
                        "platform": platform.platform(), "executor": executor, "seed": opts.seed,
                        "threads": summ.get("threads", 1), "deterministic": summ.get("deterministic", True),
                        "device": summ.get("device", opts.device), "timeout_s": opts.timeout},
        "summary": {"pairs": len(pairs), "passed": all(p["ok"] for p in pairs), "counts": counts,
                    "seconds": round(seconds, 3)},
        "pairs": pairs,
    }


def _version() -> str:
    import varmigrate

    return getattr(varmigrate, "__version__", "0")


# -- Markdown ------------------------------------------------------------------------------

def _g(x: Optional[float]) -> str:
    return "" if x is None else f"{x:.3g}"


def to_markdown(rep: dict[str, Any]) -> str:
    env = rep["environment"]
    s = rep["summary"]
    lines = ["# varmigrate verify report", "",
             f"{s['pairs']} pair(s): " + ", ".join(f"{n} {v}" for v, n in s["counts"].items() if n)
             + (" — **all verified**" if s["passed"] else " — **not all verified**"), "",
             f"torch {env['torch']}, Python {env['python']}, seed {env['seed']}, {env['threads']} thread(s), "
             f"deterministic algorithms on, device `{env['device']}`, executor `{env['executor']}`.", "",
             "| pair | verdict | events | shim hits | reason |", "|---|---|---|---|---|"]
    for p in rep["pairs"]:
        lines.append(f"| {p['name']} | **{p['verdict']}** | {p['events']['compared']} | {p['shim']['total']} "
                     f"| {p['reason'].replace('|', '/')} |")
    for p in rep["pairs"]:
        lines += ["", f"## {p['name']}: {p['verdict']}", "", p["reason"], "",
                  *([p["note"], ""] if p["note"] else []),
                  f"- before: `{p['before']}` ({_run_line(p['runs']['before'])})",
                  f"- after: `{p['after']}` ({_run_line(p['runs']['after'])})"]
        det = p["determinism"]
        if det["checked"]:
            lines.append(f"- determinism: before run twice, {'identical' if det['identical'] else 'DIFFERENT'}")
        if p["shim"]["used"]:
            lines.append("- legacy shim (before run only): "
                         + ", ".join(f"{k} ×{v}" for k, v in sorted(p["shim"]["hits"].items())))
        mapped = {k: v for side in p["device"]["mapped"].values() for k, v in side.items()}
        if mapped:
            lines.append("- CUDA placement mapped to the CPU on both sides: "
                         + ", ".join(f"{k} ×{v}" for k, v in sorted(mapped.items())))
        for g in p["gradcheck"]:
            lines.append(f"- gradcheck (float64) of `{g['function']}`: {g['status']} {g.get('detail', '')}".rstrip())
        fd = p["first_divergence"]
        if fd:
            lines += ["", "| first difference | event | kind | site (before / after) | tensor | max abs | max rel |",
                      "|---|---|---|---|---|---|---|",
                      f"| {fd.get('verdict', '')} | {fd.get('event')} | {fd.get('kind')} | "
                      f"{fd.get('before_site')} / {fd.get('after_site')} | {fd.get('tensor')} {fd.get('field')} | "
                      f"{_g(fd.get('max_abs'))} | {_g(fd.get('max_rel'))} |"]
        if p["drilldown"]:
            lines += ["", f"Op-level drill-down: {p['drilldown']['summary']} "
                          f"({p['drilldown']['matched_ops']} ops matched before it)."]
        bad = [t for t in p["tensors"] if t["verdict"] != "IDENTICAL"]
        if bad:
            lines += ["", "| tensor | field | verdict | first event | max abs | max rel | note |",
                      "|---|---|---|---|---|---|---|"]
            lines += [f"| {t['tensor']} | {t['field']} | {t['verdict']} | {t['first_event']} | {_g(t['max_abs'])} "
                      f"| {_g(t['max_rel'])} | {t['note']} |" for t in bad[:20]]
        same = sum(1 for t in p["tensors"] if t["verdict"] == "IDENTICAL")
        if same:
            lines.append(f"\n{same} tensor field(s) bitwise identical in every event.")
        for role in ("before", "after"):
            r = p["runs"][role]
            if r.get("status") not in ("ok", None) and r.get("stderr_tail"):
                lines += ["", f"<details><summary>{role} stderr (tail)</summary>", "", "```",
                          r["stderr_tail"][-1500:].strip(), "```", "</details>"]
        if p["tests"]:
            lines += ["", "| test | before | after |", "|---|---|---|"]
            lines += [f"| {t['test']} | {t.get('before', '')} | {t.get('after', '')} |" for t in p["tests"]]
    return "\n".join(lines) + "\n"


def _run_line(r: dict[str, Any]) -> str:
    text = f"{r.get('status')}, {r.get('events')} events, {r.get('wall_s')} s"
    if r.get("message"):
        text += f": {r['message']}"
    if r.get("frame"):
        f = r["frame"]
        text += f" at {Path(f['file']).name}:{f['line']} `{f.get('code', '')}`"
    return text


# -- HTML ----------------------------------------------------------------------------------

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}
.v{font-weight:bold;padding:1px 6px;border-radius:3px;color:#fff}
.IDENTICAL,.EQUAL{background:#2a7d2e}.CLOSE{background:#b8860b}.DIVERGED,.AFTER-FAILED{background:#c0392b}
.BEFORE-FAILED,.INCONCLUSIVE,.NOT{background:#666}pre{background:#f6f6f6;padding:.5em;overflow:auto}
section{border-top:1px solid #ddd;margin-top:1.5em}"""


def _badge(v: str) -> str:
    return f'<span class="v {escape(v.split()[0])}">{escape(v)}</span>'


def to_html(rep: dict[str, Any]) -> str:
    env, s = rep["environment"], rep["summary"]
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>varmigrate verify report</title>",
           f"<style>{_CSS}</style></head><body><h1>varmigrate verify report</h1>",
           f"<p>{s['pairs']} pair(s): " + ", ".join(f"{n} {_badge(v)}" for v, n in s["counts"].items() if n)
           + f"</p><p>torch {escape(str(env['torch']))}, Python {escape(env['python'])}, seed {env['seed']}, "
           f"{env['threads']} thread(s), deterministic algorithms on, device <code>{escape(str(env['device']))}</code>, "
           f"executor <code>{escape(env['executor'])}</code>.</p>",
           "<table><tr><th>pair</th><th>verdict</th><th>events</th><th>shim hits</th><th>reason</th></tr>"]
    for n, p in enumerate(rep["pairs"]):
        out.append(f"<tr><td><a href='#pair{n}'>{escape(p['name'])}</a></td><td>{_badge(p['verdict'])}"
                   f"</td><td>{p['events']['compared']}</td><td>{p['shim']['total']}</td><td>{escape(p['reason'])}</td></tr>")
    out.append("</table>")
    for n, p in enumerate(rep["pairs"]):
        fd = p["first_divergence"] or {}
        out += [f"<section id='pair{n}'><h2>{escape(p['name'])} {_badge(p['verdict'])}</h2>",
                f"<p>{escape(p['reason'])}</p>" + (f"<p>{escape(p['note'])}</p>" if p["note"] else "") + "<ul>",
                f"<li>before: <code>{escape(p['before'])}</code> ({escape(_run_line(p['runs']['before']))})</li>",
                f"<li>after: <code>{escape(p['after'])}</code> ({escape(_run_line(p['runs']['after']))})</li>"]
        if p["determinism"]["checked"]:
            out.append(f"<li>determinism: before run twice, "
                       f"{'identical' if p['determinism']['identical'] else '<b>different</b>'}</li>")
        if p["shim"]["used"]:
            out.append("<li>legacy shim (before run only): " + escape(", ".join(
                f"{k} ×{v}" for k, v in sorted(p["shim"]["hits"].items()))) + "</li>")
        mapped = {k: v for side in p["device"]["mapped"].values() for k, v in side.items()}
        if mapped:
            out.append("<li>CUDA placement mapped to the CPU on both sides: " + escape(", ".join(
                f"{k} ×{v}" for k, v in sorted(mapped.items()))) + "</li>")
        for g in p["gradcheck"]:
            out.append(f"<li>gradcheck (float64) of <code>{escape(g['function'])}</code>: {escape(g['status'])}</li>")
        out.append("</ul>")
        if p["drilldown"]:
            out.append(f"<p>Op-level drill-down: {escape(p['drilldown']['summary'])} "
                       f"({p['drilldown']['matched_ops']} ops matched before it).</p>")
        svg = loss_overlay(p["loss"].get("before", []), p["loss"].get("after", []), fd.get("event"),
                           f"{p['name']}: loss per event")
        if svg:
            out.append(svg)
        bad = [t for t in p["tensors"] if t["verdict"] != "IDENTICAL"]
        if bad:
            out.append("<table><tr><th>tensor</th><th>field</th><th>verdict</th><th>first event</th>"
                       "<th>max abs</th><th>max rel</th><th>note</th></tr>")
            out += [f"<tr><td>{escape(t['tensor'])}</td><td>{t['field']}</td><td>{_badge(t['verdict'])}</td>"
                    f"<td>{t['first_event']}</td><td>{_g(t['max_abs'])}</td><td>{_g(t['max_rel'])}</td>"
                    f"<td>{escape(t['note'])}</td></tr>" for t in bad[:20]]
            out.append("</table>")
        same = sum(1 for t in p["tensors"] if t["verdict"] == "IDENTICAL")
        if same:
            out.append(f"<p>{same} tensor field(s) bitwise identical in every event.</p>")
        for role in ("before", "after"):
            r = p["runs"][role]
            if r.get("status") not in ("ok", None) and r.get("stderr_tail"):
                out.append(f"<details><summary>{role} stderr (tail)</summary><pre>"
                           f"{escape(r['stderr_tail'][-1500:])}</pre></details>")
        out.append("</section>")
    out.append("<footer><p>Legacy shim coverage: " + escape("; ".join(COVERAGE.values())) + ".</p></footer>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# -- JUnit ---------------------------------------------------------------------------------

def to_junit(rep: dict[str, Any]) -> str:
    pairs = rep["pairs"]
    failures = sum(1 for p in pairs if not p["ok"])
    total = sum(p["seconds"] for p in pairs)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuite name="varmigrate.verify" tests="{len(pairs)}" failures="{failures}" errors="0" '
           f'time="{total:.3f}">']
    for p in pairs:
        out.append(f'  <testcase classname="varmigrate.verify" name={quoteattr(p["name"])} time="{p["seconds"]:.3f}">')
        if not p["ok"]:
            out.append(f'    <failure type={quoteattr(p["verdict"])} message={quoteattr(p["verdict"] + ": " + p["reason"])}/>')
        out.append(f"    <system-out>{escape(p['verdict'] + ': ' + p['reason'])}</system-out>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"


def write(rep: dict[str, Any], directory: Path) -> list[Path]:
    import json

    directory.mkdir(parents=True, exist_ok=True)
    files = {"report.json": json.dumps(rep, indent=2) + "\n", "report.md": to_markdown(rep),
             "report.html": to_html(rep), "junit.xml": to_junit(rep)}
    paths = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths

