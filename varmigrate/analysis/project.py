"""The project index: a project is one namespace (issue 11, form 5).

torch, `Variable` and `nn` reach many 2017 scripts through `from model import *` or
`from .common import *`; helpers such as `to_var` return tensors from another module; `nn.Module`
subclasses are imported from siblings. `ProjectIndex` answers `OutsideFacts` (facts.py) for the
modules of the project, the tree under the configuration root, and defers to `TORCH` for the rest.

- A module is summarized from its own text with `ast` (C speed, no libcst; project_summary.py):
  what it binds at module level (imports, functions, classes, aliases), its star imports and
  `__all__`, which calls its functions return, and its classes' bases.
- Summaries are made on first use and kept per file digest (`summaries()` / `preload()` hand
  them to and from the on-disk cache), so each module is read once per run, whichever file asks.
- `for_file(path)` is the view one file's analyses use (project_facts.py): it resolves its
  imports as Python would (the file's own folder first, then its parents up to the root,
  relative imports from its package) and records which project modules it asked about
  (`dependencies()`), so a cached result can be invalidated when one of them changes.
- `importers(path)` lists the project files that import a module (for a fix that would remove an
  import another module still uses).
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional, Union

from .facts import OutsideFacts
from .project_facts import FileFacts
from .project_summary import Summary, digest_of, module_name, summarize

_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "env", "node_modules", ".tox",
              ".mypy_cache", ".varmigrate_cache", ".ipynb_checkpoints", "build", "dist", "site-packages"}
_WORD = re.compile(r"[A-Za-z_]\w*")
_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import\b|import[ \t]+([\w., \t]+))", re.MULTILINE)


def project_root(paths: Iterable[str], config_root: Optional[Path] = None) -> Path:
    """The tree a run's project index covers: the configuration root (the folder of the nearest
    `pyproject.toml` with `[tool.varmigrate]`), else the git root above the paths, else their
    common parent (pre-commit passes only staged files: the index still covers the whole root)."""
    if config_root is not None:
        return Path(config_root).resolve()
    resolved = [Path(p).resolve() for p in paths] or [Path.cwd().resolve()]
    folders = [p if p.is_dir() else p.parent for p in resolved]
    common = Path(os.path.commonpath([str(f) for f in folders]))
    for folder in (common, *common.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return common


class ProjectIndex:
    """The project's modules, summarized on demand. One per run (the workers of a parallel run
    inherit it: what the parent has summarized is shared)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._summaries: dict[Path, Optional[Summary]] = {}
        self._cached: dict[str, Summary] = {}  # digest -> summary, from the on-disk cache
        self._importers: Optional[dict[Path, list[Path]]] = None
        self._paths: dict[tuple[Path, str], Optional[Path]] = {}
        # Texts of files this run has rewritten (the importers' view after their fixes).
        self._texts: dict[Path, str] = {}
        self._external: dict[Path, frozenset[str]] = {}
        self._roots: dict[Path, Path] = {}  # folder -> root
        self._folders: dict[str, Path] = {}
        self._resolved: dict[Union[str, Path], Path] = {}  # a path as asked -> resolved (a system call per part)
        # FileFacts answers that hold for every file asking the same (project_facts.FileFacts._shared).
        self.shared: dict[tuple[str, ...], tuple[object, dict[str, str]]] = {}

    # -- files ---------------------------------------------------------------------------------
    def resolved(self, path: Union[str, Path]) -> Path:
        """`Path(path).resolve()`, once per path in a run (the analyses ask of the same few files
        tens of thousands of times: `check` of ~/qa/corpus resolved 68k paths at ~17 us each)."""
        found = self._resolved.get(path)  # (asked first as given: making a Path costs more than the lookup)
        if found is None:
            found = self._resolved[path] = Path(path).resolve()
        return found

    def folder_of(self, rel: str) -> Path:
        """The folder of the project module at `rel` (a summary's path)."""
        found = self._folders.get(rel)
        if found is None:
            found = self._folders[rel] = (self.root / rel).parent
        return found

    def contains(self, path: Path) -> bool:
        try:
            self.resolved(path).relative_to(self.root)
        except ValueError:
            return False
        return True

    def root_of(self, path: Path) -> Path:
        """The folder a file's module names are relative to: the nearest folder at or below the root
        that holds a `pyproject.toml` or `.git` (a run over several projects, `check ~/src`, gives
        each its own) or whose name is no identifier (`ssd.pytorch/` cannot be part of a module
        name), else the root."""
        folder = self.resolved(path).parent
        if folder in self._roots:
            return self._roots[folder]
        found = self.root
        for candidate in (folder, *folder.parents):
            if candidate == self.root or self.root not in candidate.parents:
                break
            if (candidate / "pyproject.toml").is_file() or (candidate / ".git").exists() or not candidate.name.isidentifier():
                found = candidate
                break
        self._roots[folder] = found
        return found

    def summary(self, path: Path) -> Optional[Summary]:
        path = self.resolved(path)
        if path in self._summaries:
            return self._summaries[path]
        summary: Optional[Summary] = None
        try:
            data = path.read_bytes()
        except OSError:
            data = None
        if data is not None:
            digest = digest_of(data)
            summary = self._cached.get(digest)
            rel = str(path.relative_to(self.root))
            if summary is None or summary.path != rel:
                _, package = module_name(self.root_of(path), path)
                text = data.decode("utf-8", errors="replace")
                summary = summarize(text, rel, digest, package)
        self._summaries[path] = summary
        return summary

    def preload(self, entries: Iterable[dict[str, Any]]) -> None:
        """Summaries from the cache (by digest: a changed file is summarized again)."""
        for entry in entries:
            try:
                summary = Summary.from_json(entry)
            except (KeyError, TypeError, ValueError, IndexError):
                continue
            self._cached[summary.digest] = summary

    def summaries(self) -> list[dict[str, Any]]:
        """The summaries made or used in this run, for the cache."""
        return [s.to_json() for s in self._summaries.values() if s is not None]

    def find_module(self, module: str, near: Optional[Path]) -> Optional[Path]:
        """The file `import <module>` loads from a file in folder `near`: that folder first (a
        script's own folder is `sys.path[0]`), then its parents up to the root."""
        if not module:
            return None
        key = (near or self.root, module)
        if key in self._paths:
            return self._paths[key]
        rel = Path(*module.split("."))
        found: Optional[Path] = None
        folder = self.resolved(near or self.root)
        while True:
            for candidate in (folder / rel.with_suffix(".py"), folder / rel / "__init__.py"):
                if candidate.is_file():
                    found = self.resolved(candidate)
                    break
            if found is not None or folder == self.root or self.root not in folder.parents:
                break
            folder = folder.parent
        self._paths[key] = found
        return found

    def for_file(self, path: Union[str, Path]) -> FileFacts:
        return FileFacts(self, Path(path))

    def current(self, dependencies: dict[str, str]) -> bool:
        """Every module a cached result depended on still has the digest it had."""
        for rel, digest in dependencies.items():
            summary = self.summary(self.root / rel)
            if summary is None or summary.digest != digest:
                return False
        return True

    def prepare(self, files: Iterable[tuple[Path, str]]) -> None:
        """Summarize the project modules these files import (and those their star imports reach),
        so that worker processes forked afterwards share the summaries."""
        for path, text in files:
            if "import" not in text or not self.contains(path):
                continue
            facts = self.for_file(path)
            for target in self._imported_files(path, text):
                summary = facts.summary_of(target)
                if summary is not None:
                    folder = (self.root / summary.path).parent
                    for module, level in summary.stars:
                        facts.star_target(summary, module, level, folder)

    # -- importers -----------------------------------------------------------------------------
    def set_text(self, path: Path, text: str) -> None:
        """`path` now reads `text` (a fix of this run rewrote it): importers are judged by it."""
        self._texts[self.resolved(path)] = text
        self._external.clear()

    def text_of(self, path: Path) -> Optional[str]:
        path = self.resolved(path)
        if path in self._texts:
            return self._texts[path]
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def external_uses(self, path: Path, seen: Optional[set[Path]] = None) -> frozenset[str]:
        """Names of module `path` that other project modules take from it and use (through
        `from m import *`, `from m import X`, `import m` ... `m.X`, and re-exports of those)."""
        path = self.resolved(path)
        if path in self._external:
            return self._external[path]
        seen = set() if seen is None else seen
        if path in seen:
            return frozenset()
        seen.add(path)
        taken: set[str] = set()
        for importer in self.importers(path):
            if importer == path:
                continue
            text = self.text_of(importer)
            if text is not None:
                taken |= self._taken(importer, text, path, seen)
        result = frozenset(taken)
        if len(seen) == 1:
            self._external[path] = result
        return result

    def _taken(self, importer: Path, text: str, target: Path, seen: set[Path]) -> set[str]:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return set(_WORD.findall(text))  # unreadable: every word it mentions may be one
        facts = self.for_file(importer)
        own: set[str] = set()
        star = False
        explicit: set[str] = set()
        aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                resolved = facts.module_path(node.module or "", node.level)
                for alias in node.names:
                    if resolved == target:
                        if alias.name == "*":
                            star = True
                        else:
                            explicit.add(alias.asname or alias.name)
                    elif alias.name != "*":
                        own.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if facts.module_path(alias.name) == target:
                        aliases.add(alias.asname or alias.name)
                    else:
                        own.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
        # Uses are names in the code (not words in comments or strings, except `__all__`'s).
        words: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                words[node.id] = words.get(node.id, 0) + 1
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                words[node.value] = words.get(node.value, 0) + 1
        for name in explicit:
            words[name] = words.get(name, 0) + 1  # the import itself counts once, as a word did
        onward = self.external_uses(importer, seen) if (star or explicit) else frozenset()
        taken: set[str] = set()
        if star:
            taken |= {w for w in words if w not in own} | (set(onward) - own)
        taken |= {n for n in explicit if words.get(n, 0) > 1 or n in onward}
        for local in aliases:
            taken |= set(re.findall(rf"\b{re.escape(local)}\.(\w+)", text))
        return taken

    def python_files(self) -> list[Path]:
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            found.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
        return found

    def importers(self, path: Path) -> list[Path]:
        """The project files with an import statement that loads `path` (any spelling)."""
        if self._importers is None:
            table: dict[Path, list[Path]] = {}
            for file in self.python_files():
                try:
                    text = file.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                if "import" not in text:
                    continue
                for target in self._imported_files(file, text):
                    table.setdefault(target, []).append(self.resolved(file))
            self._importers = table
        return list(self._importers.get(self.resolved(path), []))

    def _imported_files(self, file: Path, text: str) -> set[Path]:
        out: set[Path] = set()
        facts = self.for_file(file)
        for match in _IMPORT_LINE.finditer(text):
            source, plain = match.group(1), match.group(2)
            names: list[tuple[str, int]] = []
            if source is not None:
                level = len(source) - len(source.lstrip("."))
                names.append((source.lstrip("."), level))
            elif plain is not None:
                names.extend((n.strip().split(" ")[0], 0) for n in plain.split(",") if n.strip())
            for name, level in names:
                resolved = facts.module_path(name, level)
                if resolved is not None:
                    out.add(resolved)
        return out


def imports_project_torch(text: str, facts: OutsideFacts) -> bool:
    """A file that does not mention torch imports a project module that does (`from model import *`,
    `from .common import *`, `import utils`): the prefilter's view of a project."""
    if "import" not in text:
        return False
    for match in _IMPORT_LINE.finditer(text):
        source, plain = match.group(1), match.group(2)
        modules: list[tuple[str, int]] = []
        if source is not None:
            modules.append((source.lstrip("."), len(source) - len(source.lstrip("."))))
        elif plain is not None:
            modules.extend((n.strip().split(" ")[0], 0) for n in plain.split(",") if n.strip())
        for module, level in modules:
            absolute = facts.resolve_module(module, level) if level else module
            if absolute and facts.uses_torch(absolute):
                return True
    return False


def project_function_names(text: str, facts: OutsideFacts) -> frozenset[str]:
    """Legacy autograd `Function` classes of the project that `text` imports and names
    (`from layers import *`, then `self.detect = Detect(...)`): a file that holds none of VM301's
    trigger words can still build and call one, which crashes on modern torch."""
    if "import" not in text:
        return frozenset()
    words: Optional[set[str]] = None
    found: set[str] = set()
    for match in _IMPORT_LINE.finditer(text):
        source, plain = match.group(1), match.group(2)
        modules: list[tuple[str, int]] = []
        if source is not None:
            modules.append((source.lstrip("."), len(source) - len(source.lstrip("."))))
        elif plain is not None:
            modules.extend((n.strip().split(" ")[0], 0) for n in plain.split(",") if n.strip())
        for module, level in modules:
            absolute = facts.resolve_module(module, level) if level else module
            if not absolute or absolute == "torch" or absolute.startswith("torch."):
                continue
            for name, qname in facts.star_names(absolute).items():
                if qname.startswith("torch.") or not facts.is_function_class(qname):
                    continue
                if words is None:
                    words = set(_WORD.findall(text))
                if name in words:
                    found.add(name)
    return frozenset(found)

