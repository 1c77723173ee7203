"""``report.md``: the verify report as Markdown (torch-free)."""

from __future__ import annotations

from typing import Any

from .report_text import REFERENCE_TEXT, event_label, g, notes_of, run_line, shows_readings
from .tiers import IDENTICAL


def shim_lines(p: dict[str, Any]) -> list[str]:
    """This run's legacy features, each hit explained."""
    ref = p["reference"]
    out = [f"- reference: {REFERENCE_TEXT[ref]} (`--reference {ref}`)"]
    shim = p["shim"]
    if shim["features"]:
        out.append("- legacy features installed in the before runs (their constructs occur in the source): "
                   + ", ".join(f"`{f}`" for f in shim["features"]))
    for row in shim["explained"]:
        kind = "0.3 semantics" if row["kind"] == "semantics" else "crash shim"
        out.append(f"  - {row['hit']} ×{row['count']} ({kind}): {row['text']}")
    if shim["features"] and not shim["used"]:
        out.append("  - no legacy construct was hit: the before run is the program exactly as modern torch runs it")
    rd = p["readings"]
    if shows_readings(p):
        out.append(f"- the legacy program read the {rd['other']} way: {rd['message']}")
    return out


def to_markdown(rep: dict[str, Any]) -> str:
    env = rep["environment"]
    s = rep["summary"]
    lines = ["# varmigrate verify report", "",
             f"{s['pairs']} pair(s): " + ", ".join(f"{n} {v}" for v, n in s["counts"].items() if n)
             + (" — **all verified**" if s["passed"] else " — **not all verified**"), "",
             f"torch {env['torch']}, Python {env['python']}, seed {env['seed']}, {env['threads']} thread(s), "
             f"deterministic algorithms on, device `{env['device']}`, executor `{env['executor']}`, "
             f"reference: {REFERENCE_TEXT[env['reference']]}.", "",
             "| pair | verdict | reference | events | shim hits | reason |", "|---|---|---|---|---|---|"]
    for p in rep["pairs"]:
        lines.append(f"| {p['name']} | **{p['verdict']}** | {p['reference']} | {p['events']['compared']} "
                     f"| {p['shim']['total']} | {p['reason'].replace('|', '/')} |")
    for p in rep["pairs"]:
        lines += ["", f"## {p['name']}: {p['verdict']}", "", p["reason"], ""]
        lines += [f"> **Note:** {n}" for n in notes_of(p)]
        if notes_of(p):
            lines.append("")
        lines += [*([p["note"], ""] if p["note"] else []),
                  f"- before: `{p['before']}` ({run_line(p['runs']['before'])})",
                  f"- after: `{p['after']}` ({run_line(p['runs']['after'])})"]
        det = p["determinism"]
        if det["checked"]:
            lines.append(f"- determinism: before run twice, {'identical' if det['identical'] else 'DIFFERENT'}")
        lines += shim_lines(p)
        mapped = {k: v for side in p["device"]["mapped"].values() for k, v in side.items()}
        if mapped:
            lines.append("- CUDA placement mapped to the CPU on both sides: "
                         + ", ".join(f"{k} ×{v}" for k, v in sorted(mapped.items())))
        for gc in p["gradcheck"]:
            lines.append(f"- gradcheck (float64) of `{gc['function']}`: {gc['status']} {gc.get('detail', '')}".rstrip())
        if p["printed"].get("compared") and p["printed"].get("same"):
            lines.append(f"- {p['printed']['note']}")
        fd = p["first_divergence"]
        if fd:
            lines += ["", "| first difference | event | kind | site (before / after) | tensor | max abs | max rel |",
                      "|---|---|---|---|---|---|---|",
                      f"| {fd.get('verdict', '')} | {event_label(fd.get('event'))} | {fd.get('kind')} | "
                      f"{fd.get('before_site')} / {fd.get('after_site')} | "
                      f"{fd.get('tensor') or ''} {fd.get('field')} | "
                      f"{g(fd.get('max_abs'))} | {g(fd.get('max_rel'))} |"]
            for side, ex in (fd.get("source") or {}).items():
                lines += ["", f"{side}: `{ex['file']}` line {ex['line']}", "", "```python"]
                lines += [f"{'>' if n == ex['line'] else ' '} {n:>4}  {text}" for n, text in ex["lines"]]
                lines.append("```")
        if p["drilldown"]:
            lines += ["", f"Op-level drill-down: {p['drilldown']['summary']} "
                          f"({p['drilldown']['matched_ops']} ops matched before it)."]
        bad = [t for t in p["tensors"] if t["verdict"] != IDENTICAL]
        if bad:
            lines += ["", "| tensor | field | verdict | first event | max abs | max rel | note |",
                      "|---|---|---|---|---|---|---|"]
            lines += [f"| {t['tensor']} | {t['field']} | {t['verdict']} | {event_label(t['first_event'])} "
                      f"| {g(t['max_abs'])} | {g(t['max_rel'])} | {t['note']} |" for t in bad[:20]]
        same = sum(1 for t in p["tensors"] if t["verdict"] == IDENTICAL)
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
