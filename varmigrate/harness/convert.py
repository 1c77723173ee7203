"""`verify --convert-py2`: run Python 2 sides as their Python 3 conversion (torch-free).

The conversion runs in a subprocess (`python -m varmigrate.syntax.py2`): nothing in the harness
imports the linter. A converted side runs the converted file from a temporary folder, with the
original file's folder first on `sys.path` (its sibling modules are found as before); the pair's
note says which sides were converted and lists the divisions whose Python 2 meaning the
conversion could not establish (rule VM402's list): a DIVERGED pair may come from one of those.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .pairs import Pair, Side

_ROLES = ("before", "after", "rerun")


class ConvertError(RuntimeError):
    pass


def _run(args: list[str]) -> list[dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "varmigrate.syntax.py2", *args], capture_output=True, text=True, check=False)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    failed = [r["error"] for r in results if r.get("error")]
    if proc.returncode not in (0, 2) or not results:
        raise ConvertError(f"the Python 2 conversion failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    if failed:
        raise ConvertError("; ".join(failed))
    return results


def _describe(role: str, result: dict[str, Any], limit: int = 10) -> str:
    reported = result["reported"]
    text = f"{role} converted from Python 2 ({result['summary']})"
    if reported:
        listed = "; ".join(f"line {r['line']}:{r['column']} {r['message']}" for r in reported[:limit])
        more = f"; and {len(reported) - limit} more" if len(reported) > limit else ""
        text += f"; Python 2 meaning of {len(reported)} division(s) not established: {listed}{more}"
    return text


def convert_pairs(pairs: list[Pair], work: Path) -> list[Pair]:
    """`pairs` with every Python 2 script side replaced by its conversion (written under `work`)."""
    sides = [(i, role, side) for i, pair in enumerate(pairs) for role in _ROLES
             if (side := getattr(pair, role)) is not None and side.kind == "script"]
    if not sides:
        return pairs
    results = _run(["--out-dir", str(work), *(side.target for _, _, side in sides)])
    notes: dict[int, list[str]] = {}
    replaced: dict[tuple[int, str], Side] = {}
    for (index, role, side), result in zip(sides, results):
        if not result["converted"]:
            continue
        replaced[(index, role)] = dataclasses.replace(side, target=result["output"], label=f"{side.label} (converted from Python 2)")
        if role != "rerun":
            notes.setdefault(index, []).append(_describe(role, result))
    out = []
    for index, pair in enumerate(pairs):
        changes = {role: replaced[(index, role)] for role in _ROLES if (index, role) in replaced}
        if not changes:
            out.append(pair)
            continue
        note = "; ".join([*([pair.note] if pair.note else []), *notes.get(index, [])])
        out.append(Pair(pair.name, changes.get("before", pair.before), changes.get("after", pair.after),
                        changes.get("rerun", pair.rerun), note))
    return out


def convert_tree(tree: Path) -> list[dict[str, Any]]:
    """Convert every Python 2 script under `tree` in place (codebase mode's before copies)."""
    files = sorted(str(p) for p in tree.rglob("*.py"))
    return [r for r in _run(["--in-place", *files]) if r["converted"]] if files else []
