"""Reports: ``report.json`` (schema ``varmigrate.verify/3``, ``schema.py``), ``report.md``, a
self-contained ``report.html`` and ``junit.xml``; `write` is the one writer of every mode (a proof
adds its section to the JSON and its own Markdown and HTML renderings, and the patch).  Torch-free: the parent process of ``verify`` never imports it.

Every human format leads with the verdict, then where (event, call site, tensor), then how
much (max abs/rel), then the evidence; identical rows are counted, not listed.  Notes (the
legacy code read the modern way, printed output) stand beside the verdict, never replace it.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import sys
from html import escape
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from . import features, readings, source
from .pairs import Options, PairResult, found_features
from .report_text import notes_of
from .schema import SCHEMA_ID
from .tiers import ALL, IDENTICAL, INCONCLUSIVE, TIERS
_MAX_TENSOR_ROWS = 50
_EXCERPT = 3  # source lines shown on each side of a divergence site


def _run(r: Any) -> dict[str, Any]:
    if r is None:
        return {}
    return {"status": r.status, "exit_code": r.exit_code, "signal": r.signal, "message": r.message,
            "frame": r.frame, "events": r.summary.get("events", 0), "wall_s": r.wall_s, "cpu_s": r.cpu_s,
            "max_rss_mb": r.max_rss_mb, "shim_hits": r.summary.get("shim_hits", {}),
            "stdout_tail": r.stdout_tail[-1500:], "stderr_tail": r.stderr_tail[-3000:]}


def _shim(hits: dict[str, int], installed: list[str]) -> dict[str, Any]:
    crash, sem = features.split_hits(hits)
    explained = [{"hit": h, "count": n, "kind": features.kind_of_hit(h), "text": features.describe_hit(h)}
                 for h, n in sorted(hits.items())]
    return {"used": bool(hits), "total": sum(hits.values()), "hits": hits, "crash": crash, "semantics": sem,
            "features": installed, "explained": explained}


def _installed(res: PairResult) -> list[str]:
    """The features a before run installed when the caller did not record them (the proof)."""
    try:
        return features.for_reference(found_features(res.pair.before), res.reference)
    except OSError:
        return []


def _display_path(path: Optional[str], side: Any) -> Optional[str]:
    """A file of a codebase-mode copy shown under the user's own tree."""
    if path and side.origin and path.startswith(side.origin[0]):
        return str(side.origin[1]) + path[len(side.origin[0]):]
    return path


def _excerpt(path: Optional[str], site: Optional[str]) -> Optional[dict[str, Any]]:
    if not path or not site or ":" not in site:
        return None
    try:
        line = int(site.rsplit(":", 1)[1])
    except ValueError:
        return None
    text = source.read_or_none(path)
    if text is None:
        return None
    lines = text.splitlines()
    lo, hi = max(1, line - _EXCERPT), min(len(lines), line + _EXCERPT)
    return {"line": line, "lines": [[n, lines[n - 1]] for n in range(lo, hi + 1)]}


def _first(res: PairResult) -> Optional[dict[str, Any]]:
    d = res.decision
    if not d.diff or d.verdict in (IDENTICAL, INCONCLUSIVE) or d.diff.first is None:
        return None
    fd = dict(d.diff.first)
    src = {}
    for side in ("before", "after"):
        ex = _excerpt(fd.get(f"{side}_file"), fd.get(f"{side}_site"))
        fd[f"{side}_file"] = _display_path(fd.get(f"{side}_file"), getattr(res.pair, side))
        if ex:
            src[side] = {"file": fd[f"{side}_file"], **ex}
    fd["source"] = src
    return fd


def pair_dict(res: PairResult) -> dict[str, Any]:
    d = res.decision
    before, after = res.runs["before"], res.runs["after"]
    diff = d.diff
    rows = sorted((diff.tensors.values() if diff else []),
                  key=lambda r: (-TIERS.index(r["verdict"]),
                                 r["first_event"] if r["first_event"] is not None else 1 << 30, r["tensor"]))
    tests: dict[str, dict[str, str]] = {}
    for role, run in (("before", before), ("after", after)):
        for t in run.summary.get("tests", []):
            if t["when"] == "call" or t["outcome"] != "passed":
                tests.setdefault(t["test"], {})[role] = t["outcome"]
    runs = {"before": _run(before), "before_rerun": _run(res.runs.get("before_rerun")), "after": _run(after)}
    if "before_other" in res.runs:
        runs["before_other"] = _run(res.runs["before_other"])
    return {
        "name": res.pair.name,
        "before": res.pair.before.label,
        "after": res.pair.after.label,
        "verdict": d.verdict,
        "ok": d.ok,
        "reason": d.reason,
        "note": res.pair.note,
        "reference": res.reference,
        "first_divergence": _first(res),
        "drilldown": res.drilldown,
        "determinism": {"checked": bool(d.gate.get("checked")), "identical": d.gate.get("identical"),
                        "tier": d.gate.get("tier"), "first": d.gate.get("first")},
        "events": {"before": diff.before_events if diff else 0, "after": diff.after_events if diff else 0,
                   "compared": diff.compared if diff else 0,
                   "by_verdict": diff.counts() if diff else {}},
        "tensors": rows[:_MAX_TENSOR_ROWS],
        "runs": runs,
        "shim": _shim(before.summary.get("shim_hits", {}), res.features or _installed(res)),
        "readings": res.readings or readings.not_run(res.reference, "the second reading was not run"),
        "printed": res.printed or {"compared": False, "note": "printed output not compared"},
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
                        "device": summ.get("device", opts.device), "timeout_s": opts.timeout,
                        "reference": opts.reference},
        "summary": {"pairs": len(pairs), "passed": all(p["ok"] for p in pairs), "counts": counts,
                    "seconds": round(seconds, 3),
                    "legacy_differs": sum(1 for p in pairs if p["readings"].get("differs"))},
        "pairs": pairs,
    }


def _version() -> str:
    import varmigrate

    return getattr(varmigrate, "__version__", "0")


# -- JUnit ---------------------------------------------------------------------------------

def to_markdown(rep: dict[str, Any]) -> str:
    from .report_md import to_markdown as markdown  # only when a report is written (verify's start-up)

    return markdown(rep)


def to_html(rep: dict[str, Any]) -> str:
    from .report_html import to_html as html

    return html(rep)


def to_junit(rep: dict[str, Any]) -> str:
    from xml.sax.saxutils import quoteattr  # imports urllib, http.client, ssl, email: ~50 ms

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
        notes = "".join(f"\nnote: {n}" for n in notes_of(p))
        out.append(f"    <system-out>{escape(p['verdict'] + ': ' + p['reason'] + notes)}</system-out>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"


def write(rep: dict[str, Any], directory: Path, *, markdown: Optional[str] = None, html: Optional[str] = None,
          extra: Optional[Mapping[str, str]] = None) -> list[Path]:
    """Writes report.json, report.md, report.html, junit.xml (and `extra`: name -> text) into
    `directory`; `markdown` and `html` replace the default renderings of `rep`."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {"report.json": json.dumps(rep, indent=2) + "\n",
             "report.md": to_markdown(rep) if markdown is None else markdown,
             "report.html": to_html(rep) if html is None else html, "junit.xml": to_junit(rep)}
    files.update(extra or {})
    paths = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
