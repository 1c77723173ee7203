"""Run a Jupyter notebook side as a program: its code cells in order, IPython syntax dropped.

Line magics (``%matplotlib inline``), shell escapes (``!pip install``), help (``x?``) and
assignments from them (``files = !ls``) become ``pass`` so indentation stays valid; a cell
magic keeps its body only for the magics that merely observe it (``%%time`` ...).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_TRANSPARENT_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_ASSIGN_FROM_SHELL = re.compile(r"^[\w\s,\[\]().]+=\s*[!%]")
_HELP = re.compile(r"^\??[\w.]+\?{1,2}\s*$")


def _clean_line(line: str) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if (stripped.startswith(("%", "!")) or _ASSIGN_FROM_SHELL.match(stripped)
            or _HELP.match(stripped)):
        return indent + "pass\n"
    return line


def code_cells(path: Path) -> list[tuple[int, str]]:
    """(cell number, runnable Python source) for each code cell, in order."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb.get("cells")
    if cells is None:  # nbformat 3 keeps cells inside worksheets
        cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    out: list[tuple[int, str]] = []
    for number, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", cell.get("input", ""))
        text = "".join(src) if isinstance(src, list) else str(src)
        lines = text.splitlines(keepends=True)
        if lines and lines[0].lstrip().startswith("%%"):
            magic = lines[0].lstrip()[2:].split(None, 1)[0] if lines[0].strip() != "%%" else ""
            if magic not in _TRANSPARENT_CELL_MAGICS:
                continue
            lines = ["pass\n"] + lines[1:]
        out.append((number, "".join(_clean_line(line) for line in lines)))
    return out


def cell_filename(path: Path, number: int) -> str:
    """The pseudo file name a cell is compiled under, so tracebacks say which cell."""
    return f"{path}#cell{number}"
