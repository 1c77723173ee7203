"""The proof's report: the harness report of the final tree, plus a `prove` section (the plain
fix's verdicts, the search, "Fixes kept back", what was written), in JSON, Markdown and HTML.
One schema (`harness.schema`, which describes the `prove` section too) and one writer
(`harness.report.write`) with `verify`'s other modes."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from ..harness import report as hreport
from ..harness.pairs import Options
from ..registry import all_rules
from .evidence import sentence, summary
from .runner import entry_name
from .session import Outcome

PATCH = "apply.patch"


def _rule_names() -> dict[str, str]:
    return {r.CODE: r.slug() for r in all_rules()}


def _finding(c: Any) -> dict[str, Any]:
    return {"path": c.rel, "line": c.id.line, "column": c.id.column, "code": c.code, "cell": c.id.cell}


def _device_note(out: Outcome) -> str | None:
    mapped = sum(n for r in out.final for side in ("before", "after")
                 for n in r.runs[side].summary.get("device_hits", {}).values())
    if not mapped:
        return None
    return (f"CUDA placement was mapped to the CPU on both sides ({mapped} call(s)): the proof holds for "
            "the CPU run of the program")


def build(out: Outcome, opts: Options, executor: str, apply: bool, patch_path: Path | None) -> dict[str, Any]:
    rep = hreport.build(out.final, opts, executor, out.seconds)
    names = _rule_names()
    kept_back = []
    for kb in out.kept_back:
        c = kb.candidate
        kept_back.append({"finding": _finding(c), "rule": f"{c.code} {names.get(c.code, '')}".strip(),
                          "message": c.message, "tried": c.title, "action": kb.action, "now": kb.now,
                          "partners": [_finding(p) for p in kb.partners], "evidence": kb.evidence,
                          "probes": kb.probes})
    rep["prove"] = {
        "status": out.status, "reason": out.reason,
        "entries": [entry_name(e) for e in out.entries],
        "initial": [summary(r, out.initial_tree) for r in out.initial],
        "candidates": out.candidates, "kept": out.candidates - len(out.kept_back),
        "probes": out.probes, "target": out.target, "after_runs": out.after_runs, "seconds": out.seconds,
        "device_note": _device_note(out),
        "kept_back": kept_back,
        "applied": {"requested": apply, "written": bool(out.written), "files": out.written,
                    "patch": str(patch_path) if patch_path else None, "recovered": out.recovered},
    }
    return rep


def _headline(p: dict[str, Any]) -> str:
    status = p["status"]
    text = {"proven": "**proven**: every entry point is IDENTICAL or EQUAL",
            "not proven": "**not proven**", "inconclusive": "**inconclusive**"}[status]
    if p["kept_back"]:
        text += f", with {len(p['kept_back'])} of {p['candidates']} unsafe fix(es) kept back"
    elif p["candidates"]:
        text += f"; {p['candidates']} unsafe fix(es) searched"
    if p["probes"]:
        text += f" ({p['probes']} probe(s); target <= {p['target']})"
    if p["reason"]:
        text += f": {p['reason']}"
    return text


def _applied_line(p: dict[str, Any]) -> str:
    a = p["applied"]
    if not a["requested"]:
        return "Nothing written (no `--apply`)."
    if a["written"]:
        return (f"Written: {len(a['files'])} file(s) ({', '.join(a['files'][:20])})"
                + (f"; patch: `{a['patch']}`" if a["patch"] else "") + ".")
    return "Nothing written: the tree is not proven." if p["status"] != "proven" else "Nothing to write."


def _where(f: dict[str, Any]) -> str:
    return f"{f['path']}:{f['line']}" + (f" (cell {f['cell']})" if f.get("cell") else "")


def to_markdown(rep: dict[str, Any]) -> str:
    p = rep["prove"]
    lines = ["# varmigrate proof", "", _headline(p), "", _applied_line(p), ""]
    if p["applied"]["recovered"]:
        rec = p["applied"]["recovered"]
        lines += [rec[0].upper() + rec[1:] + ".", ""]
    if p["device_note"]:
        lines += [p["device_note"] + ".", ""]
    lines += ["Plain `fix` of the tree:", ""]
    lines += [f"- `{e['entry']}`: **{e['verdict']}**: {sentence(e)}" for e in p["initial"]]
    lines += ["", "## Fixes kept back", ""]
    if not p["kept_back"]:
        lines.append("None." if p["status"] == "proven" else "None identified.")
    else:
        lines += ["| where | rule | edit tried | now | evidence | probes |", "|---|---|---|---|---|---|"]
        for kb in p["kept_back"]:
            ev = "; ".join(sentence(e) for e in kb["evidence"]) or "n/a"
            if kb["partners"]:
                ev += (" (only together with " + ", ".join(f"{_where(f)} {f['code']}" for f in kb["partners"])
                       + ", which is kept: harmless alone)")
            now = f"{kb['action']}: {kb['now']}"
            lines.append(f"| {_where(kb['finding'])} | {kb['rule']} | {kb['tried']} | {now} | "
                         f"{ev} | {kb['probes']} |".replace("\n", " "))
    harness_md = hreport.to_markdown(rep).split("\n", 1)[1]
    lines += ["", "## Verification of the final tree", harness_md]
    return "\n".join(lines)


def to_html(rep: dict[str, Any]) -> str:
    p = rep["prove"]

    def md(text: str) -> str:  # **bold** and `code` of the Markdown sentences
        import re

        text = escape(text)
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", text)

    parts = [f"<section id='prove'><h2>Proof</h2><p>{md(_headline(p))}</p><p>{md(_applied_line(p))}</p>"]
    if p["applied"]["recovered"]:
        parts.append(f"<p>{escape(p['applied']['recovered'])}.</p>")
    if p["device_note"]:
        parts.append(f"<p>{escape(p['device_note'])}.</p>")
    parts.append("<p>Plain <code>fix</code> of the tree:</p><ul>")
    parts += [f"<li><code>{escape(e['entry'])}</code>: <b>{escape(e['verdict'])}</b>: {escape(sentence(e))}</li>"
              for e in p["initial"]]
    parts.append("</ul><h2>Fixes kept back</h2>")
    if not p["kept_back"]:
        parts.append("<p>None.</p>")
    else:
        parts.append("<table><tr><th>where</th><th>rule</th><th>edit tried</th><th>now</th><th>evidence</th>"
                     "<th>probes</th></tr>")
        for kb in p["kept_back"]:
            ev = "; ".join(sentence(e) for e in kb["evidence"]) or "n/a"
            if kb["partners"]:
                ev += " (only together with " + ", ".join(f"{_where(f)} {f['code']}" for f in kb["partners"]) + ")"
            parts.append(f"<tr><td>{escape(_where(kb['finding']))}</td><td>{escape(kb['rule'])}</td>"
                         f"<td>{md(kb['tried'])}</td><td>{escape(kb['action'])}: {md(kb['now'])}</td>"
                         f"<td>{escape(ev)}</td><td>{kb['probes']}</td></tr>")
        parts.append("</table>")
    parts.append("</section>")
    html = hreport.to_html(rep)
    head, sep, rest = html.partition("</h1>")
    return head + sep + "\n" + "\n".join(parts) + "\n<h2>Verification of the final tree</h2>" + rest


def write(rep: dict[str, Any], directory: Path, patch: str) -> list[Path]:
    return hreport.write(rep, directory, markdown=to_markdown(rep), html=to_html(rep),
                         extra={PATCH: patch} if patch else None)
