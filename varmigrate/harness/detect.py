"""Which legacy features a before program needs: a scan of its source text (torch-free).

The scan reads the entry (a script, a notebook's code cells) and, transitively, every module it
imports that lives in the program's own tree (the script's folder, or the copied tree in codebase
mode); a ``-m`` entry (``-m pytest``) scans the whole tree.  Text, not a parse: legacy files may
not parse on Python 3 (``async=``), and a generous answer costs at most an unneeded feature,
while a missing one makes the reference crash.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Iterator, Optional

from . import features, source

_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+)", re.M)
_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.M)
_MAX_FILES = 2000
_SKIP_DIRS = {".git", ".hg", "__pycache__", ".venv", "venv", "env", "node_modules", ".tox", ".nox"}


def _module_files(root: Path, dotted: str) -> Iterator[Path]:
    """The files ``import a.b.c`` would execute under ``root``: each package's ``__init__`` and
    the module itself."""
    parts = [p for p in dotted.split(".") if p]
    for i in range(1, len(parts) + 1):
        base = root.joinpath(*parts[:i])
        for cand in (base.with_suffix(".py"), base / "__init__.py"):
            if cand.is_file():
                yield cand


def _imports(text: str, path: Path, roots: list[Path]) -> Iterator[Path]:
    for m in _IMPORT.finditer(text):
        for name in m.group(1).split(","):
            dotted = name.split(" as ")[0].strip()
            for root in roots:
                yield from _module_files(root, dotted)
    for m in _FROM.finditer(text):
        dots, dotted, names = m.group(1), m.group(2), m.group(3)
        bases = roots
        if dots:
            base = path.parent
            for _ in range(len(dots) - 1):
                base = base.parent
            bases = [base]
        for root in bases:
            yield from _module_files(root, dotted)
            for name in re.split(r"[\s,\\()]+", names):
                name = name.strip()
                if name and name.isidentifier() and name != "as":
                    yield from _module_files(root, f"{dotted}.{name}" if dotted else name)


def _tree_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if not _SKIP_DIRS.intersection(path.relative_to(root).parts):
            yield path


def program_texts(kind: str, target: str, roots: Iterable[str]) -> list[str]:
    """The source texts of the program: the entry, then the local modules it imports."""
    root_paths = [Path(r) for r in roots if r]
    texts: list[str] = []
    todo: list[Path] = []
    if kind == "module":
        for root in root_paths[:1]:
            todo.extend(_tree_files(root))
        for root in root_paths:
            todo.extend(_module_files(root, target))
    elif kind == "notebook":
        from .notebook import code_cells

        try:
            cells = "\n".join(src for _, src in code_cells(Path(target)))
        except (OSError, ValueError):
            cells = ""
        texts.append(cells)
        todo.extend(_imports(cells, Path(target), root_paths))
    else:
        todo.append(Path(target))
    seen: set[Path] = set()
    while todo and len(seen) < _MAX_FILES:
        path = todo.pop(0).resolve()
        if path in seen:
            continue
        seen.add(path)
        text = source.read_or_none(path)
        if text is None:
            continue
        texts.append(text)
        todo.extend(p for p in _imports(text, path, root_paths) if p.resolve() not in seen)
    return texts


def needed(kind: str, target: str, roots: Iterable[str], reference: str = "0.3",
           texts: Optional[list[str]] = None) -> list[str]:
    """The features a before run of this program installs under ``reference``."""
    found = features.mentioned(texts if texts is not None else program_texts(kind, target, roots))
    return features.for_reference(found, reference)
