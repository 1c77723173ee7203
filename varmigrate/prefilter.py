"""The prefilter: whether a text can have a finding at all, decided without libcst.

`check` on a clean tree (the common pre-commit case) must not pay for importing libcst and the
rules: the union of every rule's TRIGGERS is generated into `triggers.py` (by `python -m
varmigrate.docs`; `tests/test_docs.py` fails when it is stale), and a file that mentions `torch`
and none of the words is never parsed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Union

from .triggers import TRIGGERS

# `.data` in modern code is nearly always the module `torch.utils.data`, which is never a tensor.
_DATA_ATTRIBUTE = re.compile(r"(?<!utils)\.data\b")


def mentions(word: str, text: str) -> bool:
    """Whether `text` holds the trigger `word` (`.data` of `torch.utils.data` does not count)."""
    if word == ".data":
        return ".data" in text and _DATA_ATTRIBUTE.search(text) is not None
    return word in text


# `x.data[0]` (also through `.numpy()`/`.tolist()`): the crash form is looked for even in a file
# that never names torch, when a module that uses torch imports it (a `utils.py` of helpers).
_DATA_INDEX_ZERO = re.compile(r"\.data\s*\[\s*0\s*\]|\.data\.(?:cpu\(\)\.)?(?:numpy|tolist)\(\)\s*\[\s*0\s*\]")


def reads_data_index_zero(text: str) -> bool:
    return ".data" in text and _DATA_INDEX_ZERO.search(text) is not None


def may_have_findings(text: str) -> bool:
    """False when no rule could report anything in `text` (the engine then never parses it)."""
    return "torch" in text and any(mentions(word, text) for word in TRIGGERS)


def mentions_any_trigger(text: str) -> bool:
    """`may_have_findings` without the `torch` test: a file may get torch from a project module
    (`from model import *`), which only the project index can tell."""
    return any(mentions(word, text) for word in TRIGGERS)



_IMPORTED = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import\b|import[ \t]+([\w., \t]+))", re.MULTILINE)


class ModuleMemo:
    """What `may_use_project_function` learned of the tree's modules, kept for a run's other files
    (each file of a repository reaches the same `utils.py`: reading and stat-ing it again per file
    was a tenth of `check`)."""

    def __init__(self) -> None:
        self.files: dict[tuple[Path, tuple[str, ...]], Optional[Path]] = {}  # (folder, module parts) -> file
        self.modules: dict[tuple[Path, Optional[Path]], Optional[tuple[bool, Optional[list[Path]]]]] = {}


def may_use_project_function(path: Union[str, Path], text: str, root: Optional[Path] = None,
                             memo: Optional[ModuleMemo] = None) -> bool:
    """Whether a file may use a legacy `Function` class of its own project without any trigger word
    (`from layers import *`, then `Detect(...)`): one of the modules of its tree that it reaches
    through imports mentions `Function`. Modules are looked for as Python would find them (the
    file's folder, then its parents up to `root`, else up to the git root); a relative import whose
    target cannot be told counts as a yes. `memo` keeps what was read for the next file."""
    memo = memo if memo is not None else ModuleMemo()
    seen: set[Path] = set()
    top = root.resolve() if root is not None else None
    local = _local_imports(Path(path).resolve(), text, top, memo)
    todo = [local]
    while todo and len(seen) < 64:
        local = todo.pop()
        if local is None:
            return True
        for found in local:
            if found in seen:
                continue
            seen.add(found)
            module = _module(found, top, memo)
            if module is None:
                continue
            mentions_function, imports = module
            if mentions_function:
                return True
            todo.append(imports)
    return False


def _module(found: Path, top: Optional[Path], memo: ModuleMemo) -> Optional[tuple[bool, Optional[list[Path]]]]:
    """(whether module `found` mentions `Function`, the tree's modules it imports); None: unreadable."""
    key = (found, top)
    if key not in memo.modules:
        try:
            imported = found.read_text(encoding="utf-8", errors="replace")
        except OSError:
            memo.modules[key] = None
        else:
            mentions_function = "Function" in imported
            memo.modules[key] = (True, []) if mentions_function else (False, _local_imports(found, imported, top, memo))
    return memo.modules[key]


def _local_imports(file: Path, text: str, top: Optional[Path], memo: ModuleMemo) -> Optional[list[Path]]:
    """The modules of the tree that `text` imports (None: a relative import to a place not found)."""
    if "import" not in text:
        return []
    names: set[str] = set()
    found: list[Path] = []
    for match in _IMPORTED.finditer(text):
        source, plain = match.group(1), match.group(2)
        if source is not None and source.startswith("."):
            level = len(source) - len(source.lstrip("."))
            base = file.parent
            for _ in range(level - 1):
                base = base.parent
            rel = source.lstrip(".")
            target = _module_file(base, rel.split("."), memo) if rel else base / "__init__.py"
            if target is None or not target.is_file():
                return None
            found.append(target)
        elif source is not None:
            names.add(source)
        elif plain is not None:
            names.update(n.strip().split(" ")[0] for n in plain.split(",") if n.strip())
    folder = file.parent
    for _ in range(12):
        for name in list(names):
            target = _module_file(folder, name.split("."), memo)
            if target is not None:
                found.append(target)
                names.discard(name)
        if not names or folder == top or folder.parent == folder or (top is None and (folder / ".git").exists()):
            break
        if top is not None and top not in folder.parents:
            break
        folder = folder.parent
    return found


def _module_file(folder: Path, parts: list[str], memo: ModuleMemo) -> Optional[Path]:
    """`folder/a/b.py` or `folder/a/b/__init__.py` for `a.b` (the package `__init__`s on the way
    are what the import also runs, but a `Function` they define is named in the file anyway)."""
    if not parts or not parts[0]:
        return None
    key = (folder, tuple(parts))
    if key not in memo.files:
        base = folder.joinpath(*parts)
        memo.files[key] = next((c for c in (base.with_suffix(".py"), base / "__init__.py") if c.is_file()), None)
    return memo.files[key]
