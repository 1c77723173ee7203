"""The project index: a project is one namespace (issue 11, form 5).

torch, `Variable` and `nn` reach many 2017 scripts through `from model import *` or
`from .common import *`; helpers such as `to_var` return tensors from another module; `nn.Module`
subclasses are imported from siblings. `ProjectIndex` answers `OutsideFacts` (facts.py) for the
modules of the project, the tree under the configuration root, and defers to `TORCH` for the rest.

- A module is summarized from its own text with `ast` (C speed, no libcst): what it binds at module
  level (imports, functions, classes, aliases), its star imports and `__all__`, which of its
  functions return a tensor (a torch call, `Variable(...)`, a call of another such function,
  through names assigned from one), and which of its classes derive from `nn.Module` or
  `autograd.Function` (through other project classes too).
- Summaries are made on first use and kept per file digest (`summaries()` / `preload()` hand
  them to and from the on-disk cache), so each module is read once per run, whichever file asks.
- `for_file(path)` is the view one file's analyses use: it resolves its imports as Python would
  (the file's own folder first, then its parents up to the root, relative imports from its
  package) and records which project modules it asked about (`dependencies()`), so a cached
  result can be invalidated when one of them changes.
- `importers(path)` lists the project files that import a module (for a fix that would remove an
  import another module still uses).
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from .facts import TORCH, OutsideFacts
from .torch_api import canonical

# Method calls that keep a tensor a tensor (`Variable(x).cuda()`, `torch.zeros(3).float()`).
_TENSOR_KEEPING = {
    "cuda", "cpu", "float", "double", "half", "long", "int", "byte", "bool", "contiguous", "view",
    "view_as", "reshape", "squeeze", "unsqueeze", "t", "transpose", "permute", "detach", "clone", "to",
    "type", "expand", "expand_as", "sum", "mean", "exp", "log", "sqrt", "abs", "sigmoid", "tanh",
    "requires_grad_", "zero_", "fill_", "normal_", "uniform_", "mul", "add", "sub", "div", "pow",
}
_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "env", "node_modules", ".tox",
              ".mypy_cache", ".varmigrate_cache", ".ipynb_checkpoints", "build", "dist", "site-packages"}
_WORD = re.compile(r"[A-Za-z_]\w*")
_NON_TENSOR_BUILTINS = {"len", "int", "float", "str", "list", "dict", "tuple", "set", "bool", "range", "sorted",
                        "open", "repr", "format", "zip", "enumerate", "map", "filter"}
_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import\b|import[ \t]+([\w., \t]+))", re.MULTILINE)

Binding = tuple[str, str]  # (kind, detail): ("import", qname), ("def", ""), ("class", ""), ("alias", qname), ("value", "")


@dataclass
class FunctionInfo:
    # The callees (dotted, as written) whose result the function returns, and whether some return
    # is anything else than such a call or a literal.
    returned_calls: list[str] = field(default_factory=list)
    returns_other: bool = False
    returns_literal: bool = False


@dataclass
class Summary:
    """What one module binds at its top level, from its text alone."""

    path: str
    digest: str
    package: str  # dotted name of the package holding it ("" at the root)
    bindings: dict[str, Binding] = field(default_factory=dict)
    stars: list[tuple[str, int]] = field(default_factory=list)  # (module as written, relative level)
    imports: dict[str, tuple[str, int]] = field(default_factory=dict)  # local -> (module.name, level)
    all: Optional[list[str]] = None
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    bases: dict[str, list[str]] = field(default_factory=dict)  # class -> dotted bases as written
    # class -> the shape its `forward` returns (None: not known); classes without a forward absent
    forward_shapes: dict[str, Optional[list[int]]] = field(default_factory=dict)
    parsed: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "digest": self.digest, "package": self.package,
            "bindings": self.bindings, "stars": self.stars, "imports": self.imports, "all": self.all,
            "functions": {k: [v.returned_calls, v.returns_other, v.returns_literal] for k, v in self.functions.items()},
            "bases": self.bases, "forward": self.forward_shapes, "parsed": self.parsed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls(
            path=data["path"], digest=data["digest"], package=data["package"],
            bindings={k: (v[0], v[1]) for k, v in data["bindings"].items()},
            stars=[(m, int(level)) for m, level in data["stars"]],
            imports={k: (v[0], int(v[1])) for k, v in data["imports"].items()},
            all=data["all"],
            functions={k: FunctionInfo(list(v[0]), bool(v[1]), bool(v[2])) for k, v in data["functions"].items()},
            bases={k: list(v) for k, v in data["bases"].items()},
            forward_shapes={k: (list(v) if v is not None else None) for k, v in data["forward"].items()},
            parsed=bool(data["parsed"]),
        )


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def summarize(text: str, path: str, digest: str, package: str) -> Summary:
    summary = Summary(path=path, digest=digest, package=package)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        summary.parsed = False
        return summary
    _Summarizer(summary).body(tree.body)
    return summary


class _Summarizer:
    def __init__(self, summary: Summary) -> None:
        self.summary = summary

    def body(self, statements: list[ast.stmt]) -> None:
        for stmt in statements:
            self.statement(stmt)

    def statement(self, stmt: ast.stmt) -> None:
        s = self.summary
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    s.bindings[alias.asname] = ("import", alias.name)
                    s.imports[alias.asname] = (alias.name, -1)
                else:
                    head = alias.name.split(".", 1)[0]
                    s.bindings[head] = ("import", head)
                    s.imports[head] = (head, -1)
        elif isinstance(stmt, ast.ImportFrom):
            module = stmt.module or ""
            for alias in stmt.names:
                if alias.name == "*":
                    s.stars.append((module, stmt.level))
                    continue
                local = alias.asname or alias.name
                qname = f"{module}.{alias.name}" if module else alias.name
                s.bindings[local] = ("import", qname)
                s.imports[local] = (qname, stmt.level)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            s.bindings[stmt.name] = ("def", "")
            s.functions[stmt.name] = _function_info(stmt)
        elif isinstance(stmt, ast.ClassDef):
            s.bindings[stmt.name] = ("class", "")
            s.bases[stmt.name] = [d for d in (_dotted(b) for b in stmt.bases) if d]
            for item in stmt.body:
                if isinstance(item, ast.FunctionDef) and item.name == "forward":
                    s.forward_shapes[stmt.name] = _forward_shape(item)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                self.assign(target, stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            s.bindings[stmt.target.id] = ("value", "")
        elif isinstance(stmt, (ast.If, ast.Try)):
            # `try: import cPickle as pickle / except ImportError: ...`, `if cuda: ...`
            self.body(stmt.body)
            for handler in getattr(stmt, "handlers", ()):
                self.body(handler.body)
            self.body(stmt.orelse)
            self.body(getattr(stmt, "finalbody", []))
        elif isinstance(stmt, ast.With):
            self.body(stmt.body)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        s = self.summary
        if isinstance(target, ast.Name):
            if target.id == "__all__" and isinstance(value, (ast.List, ast.Tuple)):
                names = [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                s.all = names
            dotted = _dotted(value)
            s.bindings[target.id] = ("alias", dotted) if dotted else ("value", "")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.assign(element, ast.Constant(None))


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _callee(node: Optional[ast.expr], assigned: dict[str, list[ast.expr]], depth: int = 0) -> Union[str, bool, None]:
    """The dotted callee whose result `node` is (through tensor-keeping methods and local names);
    True for a literal; None for anything else."""
    if node is None or depth > 8:
        return None
    if isinstance(node, ast.Constant) or isinstance(node, (ast.List, ast.Dict, ast.Set, ast.Tuple, ast.ListComp, ast.DictComp)):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _TENSOR_KEEPING:
            inner = _callee(func.value, assigned, depth + 1)
            if isinstance(inner, str):
                return inner
        return _dotted(func) or None
    if isinstance(node, ast.Name) and node.id in assigned:
        for value in assigned[node.id]:
            found = _callee(value, assigned, depth + 1)
            if isinstance(found, str):
                return found
        return None
    if isinstance(node, ast.BinOp):
        for side in (node.left, node.right):
            found = _callee(side, assigned, depth + 1)
            if isinstance(found, str):
                return found
    return None


def _function_info(node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> FunctionInfo:
    info = FunctionInfo()
    assigned: dict[str, list[ast.expr]] = {}
    returns: list[Optional[ast.expr]] = []
    stack: list[ast.AST] = list(node.body)
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue  # a nested scope's returns are not this function's
        if isinstance(item, ast.Return):
            returns.append(item.value)
        elif isinstance(item, ast.Assign):
            for target in item.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(item.value)
        stack.extend(ast.iter_child_nodes(item))
    for value in returns:
        found = _callee(value, assigned)
        if isinstance(found, str):
            info.returned_calls.append(found)
        elif found is True or (isinstance(value, ast.Constant) and value.value is None) or value is None:
            info.returns_literal = True
        else:
            info.returns_other = True
    return info


_FULL_REDUCTIONS = ("sum", "mean", "prod", "norm", "std", "var", "max", "min")


def _forward_shape(node: ast.FunctionDef) -> Optional[list[int]]:
    """The shape every `return` of a `forward` gives, when each says it the same way:
    `x.mean()` / `torch.sum(x)` (0-dim), `out.view(1)` (1,), `out.view(-1)` (1-D)."""
    shapes: list[Optional[list[int]]] = []
    stack: list[ast.AST] = list(node.body)
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(item, ast.Return):
            shapes.append(_returned_shape(item.value))
        stack.extend(ast.iter_child_nodes(item))
    if not shapes or any(s is None for s in shapes) or any(s != shapes[0] for s in shapes):
        return None
    return shapes[0]


def _returned_shape(value: Optional[ast.expr]) -> Optional[list[int]]:
    if not isinstance(value, ast.Call):
        return None
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr in _FULL_REDUCTIONS and not value.args and not value.keywords:
        return []
    if isinstance(func, ast.Attribute) and func.attr in ("view", "reshape") and value.args and not value.keywords:
        sizes: list[int] = []
        for arg in value.args:
            if isinstance(arg, ast.Constant) and type(arg.value) is int:
                sizes.append(arg.value if arg.value >= 0 else -1)
            elif isinstance(arg, ast.UnaryOp) and isinstance(arg.op, ast.USub) and isinstance(arg.operand, ast.Constant):
                sizes.append(-1)
            else:
                return None
        return sizes
    if (_dotted(func).rsplit(".", 1)[-1] in _FULL_REDUCTIONS and _dotted(func).startswith(("torch.", "th."))
            and len(value.args) == 1 and not value.keywords):
        return []
    return None


def _torch_name(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


def module_name(root: Path, path: Path) -> tuple[str, str]:
    """(dotted module name, its package) of a file under `root` (`pkg/sub/m.py` -> ("pkg.sub.m", "pkg.sub"))."""
    rel = path.resolve().relative_to(root)
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
        package = ".".join(parts)
    else:
        package = ".".join(parts[:-1])
    return ".".join(parts), package


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

    # -- files ---------------------------------------------------------------------------------
    def contains(self, path: Path) -> bool:
        try:
            Path(path).resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def summary(self, path: Path) -> Optional[Summary]:
        path = path.resolve()
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
                _, package = module_name(self.root, path)
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
        folder = (near or self.root).resolve()
        while True:
            for candidate in (folder / rel.with_suffix(".py"), folder / rel / "__init__.py"):
                if candidate.is_file():
                    found = candidate.resolve()
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
                summary = facts._summary_of(target)
                if summary is not None:
                    folder = (self.root / summary.path).parent
                    for module, level in summary.stars:
                        facts._star_target(summary, module, level, folder)

    # -- importers -----------------------------------------------------------------------------
    def set_text(self, path: Path, text: str) -> None:
        """`path` now reads `text` (a fix of this run rewrote it): importers are judged by it."""
        self._texts[Path(path).resolve()] = text
        self._external.clear()

    def text_of(self, path: Path) -> Optional[str]:
        path = path.resolve()
        if path in self._texts:
            return self._texts[path]
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def external_uses(self, path: Path, seen: Optional[set[Path]] = None) -> frozenset[str]:
        """Names of module `path` that other project modules take from it and use (through
        `from m import *`, `from m import X`, `import m` ... `m.X`, and re-exports of those)."""
        path = path.resolve()
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
                    table.setdefault(target, []).append(file.resolve())
            self._importers = table
        return list(self._importers.get(path.resolve(), []))

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


class FileFacts:
    """`OutsideFacts` for one file of the project: its imports resolved from where it is."""

    def __init__(self, index: ProjectIndex, path: Path) -> None:
        self.index = index
        self.path = path.resolve()
        self.folder = self.path.parent
        self.package = module_name(index.root, self.path)[1] if index.contains(self.path) else None
        self._used: dict[str, str] = {}  # relative path -> digest of every project module consulted
        self._origins: dict[str, str] = {}
        self._kept: set[str] = set()

    # -- bookkeeping ---------------------------------------------------------------------------
    def dependencies(self) -> dict[str, str]:
        """Project modules this file's analyses asked about (relative path -> digest; "" for a
        module that was looked for and not found is not recorded)."""
        return dict(self._used)

    def _summary_of(self, file: Path) -> Optional[Summary]:
        summary = self.index.summary(file)
        if summary is not None:
            self._used[summary.path] = summary.digest
        return summary

    def module_path(self, module: str, level: int = 0) -> Optional[Path]:
        if level > 0:
            absolute = self.resolve_module(module, level)
            return self.index.find_module(absolute, self.index.root) if absolute else None
        if module == "torch" or module.startswith("torch."):
            return None
        return self.index.find_module(module, self.folder)

    def _module(self, module: str, near: Path) -> Optional[Summary]:
        if module == "torch" or module.startswith("torch.") or not module:
            return None
        file = self.index.find_module(module, near)
        return self._summary_of(file) if file is not None else None

    def _split(self, qname: str, near: Path) -> Optional[tuple[Summary, str, Path]]:
        """(module summary, attribute, the module's folder) for `pkg.mod.name`: the longest prefix
        that is a project module."""
        parts = qname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            summary = self._module(".".join(parts[:cut]), near)
            if summary is not None:
                return summary, ".".join(parts[cut:]), (self.index.root / summary.path).parent
        return None

    def _absolute(self, summary: Summary, module: str, level: int) -> str:
        """An import of the module `summary` as a name resolvable from the root (relative imports
        resolved from its package)."""
        if level <= 0:
            return module
        package = summary.package.split(".") if summary.package else []
        if level - 1 > len(package):
            return ""
        base = package[: len(package) - (level - 1)]
        return ".".join([*base, module] if module else base)

    def _dotted_of(self, summary: Summary) -> str:
        rel = Path(summary.path).with_suffix("")
        parts = list(rel.parts)
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)

    # -- resolution ----------------------------------------------------------------------------
    def _resolve(self, qname: str, near: Path, depth: int = 0) -> str:
        """The origin of `qname` as seen from folder `near`."""
        if depth > 12 or qname == "torch" or qname.startswith("torch."):
            return canonical(qname)
        split = self._split(qname, near)
        if split is None:
            return canonical(qname)
        summary, attr, folder = split
        head, _, rest = attr.partition(".")
        found = self._lookup(summary, head, folder, depth, set())
        if found is None:
            return f"{self._dotted_of(summary)}.{attr}"
        return self._resolve(f"{found}.{rest}", self.index.root, depth + 1) if rest else found

    def _lookup(self, summary: Summary, name: str, folder: Path, depth: int, seen: set[str]) -> Optional[str]:
        """The origin of `name` in module `summary` (None: the module does not bind it)."""
        if summary.path in seen or depth > 12:
            return None
        seen.add(summary.path)
        binding = summary.bindings.get(name)
        if binding is not None:
            kind, detail = binding
            if kind == "import":
                module, level = summary.imports.get(name, (detail, 0))
                if level > 0:
                    absolute = self._absolute(summary, module, level)
                    return self._resolve(absolute, self.index.root, depth + 1) if absolute else None
                return self._resolve(module, folder, depth + 1)
            if kind == "alias" and detail and detail.partition(".")[0] != name:
                head, _, rest = detail.partition(".")
                inner = self._lookup(summary, head, folder, depth + 1, set())
                if inner is not None:
                    return canonical(f"{inner}.{rest}") if rest else inner
            return f"{self._dotted_of(summary)}.{name}"
        for module, level in summary.stars:
            target = self._star_target(summary, module, level, folder)
            if target is None:
                if module == "torch" or module.startswith("torch."):
                    bound = TORCH.star_binding(module, name)
                    if bound is not None:
                        return bound
                continue
            star_summary, star_folder = target
            if name.startswith("_") or (star_summary.all is not None and name not in star_summary.all):
                continue
            found = self._lookup(star_summary, name, star_folder, depth + 1, seen)
            if found is not None:
                return found
        return None

    def _star_target(self, summary: Summary, module: str, level: int, folder: Path) -> Optional[tuple[Summary, Path]]:
        if level > 0:
            absolute = self._absolute(summary, module, level)
            target = self._module(absolute, self.index.root) if absolute else None
        else:
            target = self._module(module, folder)
        if target is None:
            return None
        return target, (self.index.root / target.path).parent

    def _names(self, summary: Summary, folder: Path, depth: int, seen: set[str]) -> dict[str, str]:
        """Every name `from <summary's module> import *` binds, with its origin."""
        if summary.path in seen or depth > 12:
            return {}
        seen.add(summary.path)
        out: dict[str, str] = {}
        for module, level in summary.stars:
            target = self._star_target(summary, module, level, folder)
            if target is not None:
                out.update(self._names(target[0], target[1], depth + 1, seen))
            elif module == "torch" or module.startswith("torch."):
                out.update(TORCH.star_names(module))
        for name in summary.bindings:
            found = self._lookup(summary, name, folder, depth + 1, set())
            if found is not None:
                out[name] = found
        public = summary.all
        return {k: v for k, v in out.items() if (k in public if public is not None else not k.startswith("_"))}

    def _info(self, qname: str) -> Optional[tuple[Summary, str, Path]]:
        """(summary, top-level name, folder) of a project definition's origin."""
        if qname.startswith("torch.") or qname == "torch":
            return None
        split = self._split(qname, self.index.root)
        if split is None or "." in split[1]:
            return None
        return split

    # -- OutsideFacts ----------------------------------------------------------------------------
    def imported_elsewhere(self, name: str) -> bool:
        if not self.index.contains(self.path):
            return False
        if name in self.index.external_uses(self.path):
            self._kept.add(name)
            return True
        return False

    def kept_names(self) -> set[str]:
        """The names `imported_elsewhere` kept (their imports stay for other modules)."""
        return set(self._kept)

    def star_binding(self, module: str, name: str) -> Optional[str]:
        if module == "torch" or module.startswith("torch."):
            return TORCH.star_binding(module, name)
        summary = self._module(module, self.folder)
        if summary is None:
            return TORCH.star_binding(module, name)
        if name.startswith("_") or (summary.all is not None and name not in summary.all):
            return None
        return self._lookup(summary, name, (self.index.root / summary.path).parent, 0, set())

    def star_names(self, module: str) -> dict[str, str]:
        summary = self._module(module, self.folder)
        if summary is None:
            return TORCH.star_names(module)
        return self._names(summary, (self.index.root / summary.path).parent, 0, set())

    def origin(self, qname: str) -> str:
        if qname.startswith("torch.") or "." not in qname:
            return canonical(qname)
        found = self._origins.get(qname)
        if found is None:
            found = self._origins[qname] = self._resolve(qname, self.folder)
        return found

    def resolve_module(self, module: str, level: int) -> Optional[str]:
        if self.package is None:
            return None
        package = self.package.split(".") if self.package else []
        if level - 1 > len(package):
            return None
        base = package[: len(package) - (level - 1)]
        return ".".join([*base, module] if module else base) or None

    def _function(self, qname: str) -> Optional[tuple[Summary, FunctionInfo, Path]]:
        info = self._info(qname)
        if info is None:
            return None
        summary, name, folder = info
        function = summary.functions.get(name)
        return (summary, function, folder) if function is not None else None

    def returns_tensor(self, qname: str, depth: int = 0) -> bool:
        if TORCH.returns_tensor(qname):
            return True
        if depth > 6:
            return False
        found = self._function(qname)
        if found is not None:
            summary, function, folder = found
            for callee in function.returned_calls:
                origin = self._origin_in(summary, callee, folder)
                if origin != qname and self.returns_tensor(origin, depth + 1):
                    return True
            return False
        return self._class_kind(qname) == "tensor"

    def returns_non_tensor(self, qname: str) -> bool:
        if qname == "torch" or qname.startswith("torch."):
            return TORCH.returns_non_tensor(qname)
        found = self._function(qname)
        if found is not None:
            summary, function, folder = found
            if function.returns_other or not (function.returns_literal or function.returned_calls):
                return False
            for callee in function.returned_calls:
                head = callee.partition(".")[0]
                if head not in summary.bindings:
                    if "." in callee or head not in _NON_TENSOR_BUILTINS:
                        return False  # a method of a local value, a builtin that may return a tensor
                    continue
                origin = self._origin_in(summary, callee, folder)
                if origin == qname or self.returns_tensor(origin) or not TORCH.returns_non_tensor(origin) \
                        or self._split(origin, self.index.root) is not None:
                    return False
            return True
        info = self._info(qname)
        if info is not None:
            # An instance of a project class that is not a tensor (a Dataset, an options object).
            return info[1] in info[0].bases and self._class_kind(qname) in ("other", "module", "function")
        if self._split(qname, self.index.root) is not None:
            return False  # a project name of unknown kind
        return TORCH.returns_non_tensor(qname)

    def constructs_module(self, qname: str) -> Optional[bool]:
        known = TORCH.constructs_module(qname)
        if known is not None:
            return known
        kind = self._class_kind(qname)
        if kind is None:
            return None
        return kind == "module"

    def is_module_class(self, qname: str) -> bool:
        return TORCH.is_module_class(qname) or self._class_kind(qname) == "module"

    def is_function_class(self, qname: str) -> bool:
        return TORCH.is_function_class(qname) or self._class_kind(qname) == "function"

    def uses_torch(self, qname: str) -> bool:
        if qname == "torch" or qname.startswith("torch."):
            return True
        summary = self._module(qname, self.folder)
        if summary is None:
            split = self._split(qname, self.folder)
            summary = split[0] if split is not None else None
        return summary is not None and self._imports_torch(summary, set())

    def _imports_torch(self, summary: Summary, seen: set[str]) -> bool:
        if summary.path in seen:
            return False
        seen.add(summary.path)
        if any(_torch_name(module) for module, _ in summary.imports.values()):
            return True
        folder = (self.index.root / summary.path).parent
        for module, level in summary.stars:
            if _torch_name(module):
                return True
            target = self._star_target(summary, module, level, folder)
            if target is not None and self._imports_torch(target[0], seen):
                return True
        return False

    def forward_shape(self, qname: str) -> Optional[tuple[int, ...]]:
        info = self._info(qname)
        if info is None:
            return None
        summary, name, _ = info
        shape = summary.forward_shapes.get(name)
        return tuple(shape) if shape is not None else None

    def _origin_in(self, summary: Summary, dotted: str, folder: Path) -> str:
        head, _, rest = dotted.partition(".")
        found = self._lookup(summary, head, folder, 0, set())
        if found is None:
            return dotted  # a builtin, or a name the module does not bind
        return canonical(f"{found}.{rest}") if rest else found

    def _class_kind(self, qname: str, depth: int = 0) -> Optional[str]:
        """"module", "function", "tensor" or "other" for a project class; None: not one."""
        if depth > 8:
            return None
        info = self._info(qname)
        if info is None:
            return None
        summary, name, folder = info
        bases = summary.bases.get(name)
        if bases is None:
            return None
        for base in bases:
            origin = self._origin_in(summary, base, folder)
            if origin in ("torch.Tensor", "torch.nn.Parameter", "torch.autograd.Variable"):
                return "tensor"
            if TORCH.is_function_class(origin):
                return "function"
            if origin.startswith("torch.nn."):
                return "module"
            if origin != qname:
                inner = self._class_kind(origin, depth + 1)
                if inner is not None and inner != "other":
                    return inner
        return "other"
