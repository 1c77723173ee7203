"""Codebase mode: copy a tree three times, apply ``varmigrate fix`` to one copy, run an entry
point in each.  The user's tree is only ever read."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .pairs import Pair, Side

# what a copy of the tree leaves out (public: the proof copies trees the same way)
COPY_IGNORE = shutil.ignore_patterns(".git", ".hg", "__pycache__", "*.pyc", ".venv", "venv", "env",
                                 "*.egg-info", ".mypy_cache", ".pytest_cache", ".ruff_cache",
                                 ".tox", ".nox", "node_modules", ".varmigrate_cache")


class FixError(RuntimeError):
    pass


@dataclass
class Prepared:
    pair: Pair
    workdir: Path
    changed: list[str]

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def side_in_tree(tree: Path, entry: list[str], label: str, shown: Optional[str] = None) -> Side:
    """How to run `entry` (a script path relative to `tree`, or ``-m module ...``) in a copy `tree`;
    `shown` is the user's tree the report names instead of the copy."""
    origin = (str(tree), shown) if shown else None  # where the report says the copy's files come from
    if entry[0] == "-m":
        if len(entry) < 2:
            raise ValueError("`-m` needs a module name")
        return Side("module", entry[1], entry[2:], str(tree), str(tree), f"{label}: -m {' '.join(entry[1:])}",
                    origin)
    script = tree / entry[0]
    kind = "notebook" if script.suffix == ".ipynb" else "script"
    return Side(kind, str(script), entry[1:], str(tree), str(script.parent), f"{label}/{entry[0]}", origin)


def _changed_files(a: Path, b: Path) -> list[str]:
    out: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        out.extend(prefix + n for n in cmp.diff_files)
        out.extend(prefix + n + " (new)" for n in cmp.right_only)
        for name, sub in sorted(cmp.subdirs.items()):
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(a, b, ignore=[]), "")
    return sorted(out)


def prepare(root: Path, entry: list[str], fix_args: list[str]) -> Prepared:
    root = root.resolve()
    if not entry:
        raise ValueError("codebase mode needs an entry point after `--`: a script or `-m module`")
    if entry[0] != "-m":
        p = Path(entry[0])
        if p.is_absolute():
            entry = [str(p.resolve().relative_to(root)), *entry[1:]]
        if not (root / entry[0]).exists():
            raise ValueError(f"entry point {entry[0]} not found under {root}")
    work = Path(tempfile.mkdtemp(prefix="varmigrate-codebase-"))
    trees = {role: work / role / root.name for role in ("before", "rerun", "after")}
    for tree in trees.values():
        shutil.copytree(root, tree, ignore=COPY_IGNORE, symlinks=True)
    # No cache: a one-off copy gains nothing from one, and its folder would show up as a change.
    proc = subprocess.run([sys.executable, "-m", "varmigrate", "fix", "--no-cache", *fix_args, str(trees["after"])],
                          cwd=trees["after"], capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 0: nothing to change, 1: changed something
        shutil.rmtree(work, ignore_errors=True)
        raise FixError(f"`varmigrate fix` failed (exit {proc.returncode}):\n{proc.stderr.strip() or proc.stdout.strip()}")
    changed = _changed_files(trees["before"], trees["after"])
    label = str(root)
    pair = Pair(f"{root.name}: {' '.join(entry)}", side_in_tree(trees["before"], entry, label, str(root)),
                side_in_tree(trees["after"], entry, f"{label} (fixed copy)", f"{root} (fixed copy)"),
                side_in_tree(trees["rerun"], entry, label, str(root)),
                note=(f"`varmigrate fix {' '.join(fix_args)}` changed {len(changed)} file(s): "
                      + ", ".join(changed[:20]) if changed else "`varmigrate fix` changed nothing"))
    return Prepared(pair, work, changed)
