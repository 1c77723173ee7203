"""Formatting shared by the Markdown and HTML reports (torch-free, no report imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from . import features

REFERENCE_TEXT = {"0.3": "the legacy program as PyTorch 0.3 ran it",
                  "modern": "the legacy program as modern torch runs it"}


def g(x: Optional[float]) -> str:
    """A difference amount, 3 significant digits; empty when unknown."""
    return "" if x is None else f"{x:.3g}"


def event_label(event: Optional[int]) -> str:
    """The first-event column: final-value rows have no event."""
    return "final values" if event is None else str(event)


def run_line(r: dict[str, Any]) -> str:
    """One run, in Markdown (inline code in backticks)."""
    text = f"{r.get('status')}, {r.get('events')} events, {r.get('wall_s')} s"
    if r.get("message"):
        text += f": {r['message']}"
    if r.get("frame"):
        f = r["frame"]
        text += f" at {Path(f['file']).name}:{f['line']} `{f.get('code', '')}`"
    return text


def notes_of(p: dict[str, Any]) -> list[str]:
    """The notes shown beside a pair's verdict: what is worth knowing but decides nothing."""
    notes = []
    if p["readings"].get("differs"):
        notes.append(p["readings"]["message"])
    if p["printed"].get("compared") and not p["printed"].get("same"):
        notes.append(p["printed"]["note"])
    return notes


def shows_readings(p: dict[str, Any]) -> bool:
    """The second reading is worth a line when it ran or a 0.3-semantics feature was installed."""
    return bool(p["readings"].get("ran")
                or set(p["shim"]["features"]) & set(features.names(features.SEMANTICS)))
