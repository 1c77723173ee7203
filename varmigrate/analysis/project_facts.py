"""`OutsideFacts` for one file of a project (issue 11, form 5): the names its imports bring in,
resolved as Python would from where the file is, over the project index's module summaries.

`ProjectIndex.for_file(path)` (project.py) makes one. It resolves imports from the file's own folder
first, then its parents up to the root, relative imports from its package; follows star imports,
`__all__` and re-exports to a name's origin; answers whether a project function returns a tensor and
what kind of class a project class is; and records which project modules it consulted
(`dependencies()`), so that a cached result can be invalidated when one of them changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, TypeVar, cast

from ..prefilter import mentions_any_trigger
from .facts import TORCH
from .project_summary import FunctionInfo, Summary, module_name
from .torch_api import canonical

if TYPE_CHECKING:
    from .project import ProjectIndex

_NON_TENSOR_BUILTINS = {"len", "int", "float", "str", "list", "dict", "tuple", "set", "bool", "range", "sorted",
                        "open", "repr", "format", "zip", "enumerate", "map", "filter"}


T = TypeVar("T")


def _torch_name(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


class FileFacts:
    """`OutsideFacts` for one file of the project: its imports resolved from where it is."""

    def __init__(self, index: ProjectIndex, path: Path) -> None:
        self.index = index
        self.path = index.resolved(path)
        self.folder = self.path.parent
        # Module names are relative to the file's own project (a run may span several).
        self.root = index.root_of(self.path) if index.contains(self.path) else index.root
        self.package = module_name(self.root, self.path)[1] if index.contains(self.path) else None
        self._used: dict[str, str] = {}  # relative path -> digest of every project module consulted
        self._origins: dict[str, str] = {}
        self._kept: set[str] = set()
        self._imported_by_torch: Optional[bool] = None
        self._stars: dict[tuple[str, str], Optional[str]] = {}  # asked for every unbound name a file reads

    # -- bookkeeping ---------------------------------------------------------------------------
    def dependencies(self) -> dict[str, str]:
        """Project modules this file's analyses asked about (relative path -> digest; "" for a
        module that was looked for and not found is not recorded)."""
        return dict(self._used)

    def _shared(self, key: tuple[str, ...], compute: Callable[[], T]) -> T:
        """`compute()`, shared by the run's files that ask the same (`key` holds what it depends on
        besides the index's summaries, which a run never changes: the file's root and folder where
        used). The project modules it consulted are recorded for every file that asks: a cached
        result depends on them. (`check` of a repository asks the same of every file that imports
        its `utils`: resolving it again per file was a fifth of the run.)"""
        hit = self.index.shared.get(key)
        if hit is None:
            outer, self._used = self._used, {}
            try:
                value = compute()
            finally:
                used, self._used = self._used, outer
            outer.update(used)
            self.index.shared[key] = hit = (value, used)
        else:
            self._used.update(hit[1])
        return cast(T, hit[0])

    def summary_of(self, file: Path) -> Optional[Summary]:
        summary = self.index.summary(file)
        if summary is not None:
            self._used[summary.path] = summary.digest
        return summary

    def module_path(self, module: str, level: int = 0) -> Optional[Path]:
        if level > 0:
            absolute = self.resolve_module(module, level)
            return self.index.find_module(absolute, self.root) if absolute else None
        if module == "torch" or module.startswith("torch."):
            return None
        return self.index.find_module(module, self.folder)

    def _module(self, module: str, near: Path) -> Optional[Summary]:
        if module == "torch" or module.startswith("torch.") or not module:
            return None
        file = self.index.find_module(module, near)
        return self.summary_of(file) if file is not None else None

    def _split(self, qname: str, near: Path) -> Optional[tuple[Summary, str, Path]]:
        """(module summary, attribute, the module's folder) for `pkg.mod.name`: the longest prefix
        that is a project module."""
        parts = qname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            summary = self._module(".".join(parts[:cut]), near)
            if summary is not None:
                return summary, ".".join(parts[cut:]), self.index.folder_of(summary.path)
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
        return self._shared(("dotted", summary.path), lambda: self._dotted(summary))

    def _dotted(self, summary: Summary) -> str:
        file = self.index.root / summary.path
        base = self.index.root_of(file)
        rel = file.relative_to(base).with_suffix("")
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
        return self._resolve(f"{found}.{rest}", self.root, depth + 1) if rest else found

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
                    return self._resolve(absolute, self.root, depth + 1) if absolute else None
                return self._resolve(module, folder, depth + 1)
            if kind == "alias" and detail and detail.partition(".")[0] != name:
                head, _, rest = detail.partition(".")
                inner = self._lookup(summary, head, folder, depth + 1, set())
                if inner is not None:
                    return canonical(f"{inner}.{rest}") if rest else inner
            return f"{self._dotted_of(summary)}.{name}"
        for module, level in summary.stars:
            target = self.star_target(summary, module, level, folder)
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

    def star_target(self, summary: Summary, module: str, level: int, folder: Path) -> Optional[tuple[Summary, Path]]:
        if level > 0:
            absolute = self._absolute(summary, module, level)
            target = self._module(absolute, self.root) if absolute else None
        else:
            target = self._module(module, folder)
        if target is None:
            return None
        return target, self.index.folder_of(target.path)

    def _names(self, summary: Summary, folder: Path, depth: int, seen: set[str]) -> dict[str, str]:
        """Every name `from <summary's module> import *` binds, with its origin."""
        if summary.path in seen or depth > 12:
            return {}
        seen.add(summary.path)
        out: dict[str, str] = {}
        for module, level in summary.stars:
            target = self.star_target(summary, module, level, folder)
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
        split = self._split(qname, self.root)
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
        key = (module, name)
        if key not in self._stars:
            self._stars[key] = self._star_binding(module, name)
        return self._stars[key]

    def _star_binding(self, module: str, name: str) -> Optional[str]:
        if module == "torch" or module.startswith("torch."):
            return TORCH.star_binding(module, name)
        summary = self._module(module, self.folder)
        if summary is None:
            return TORCH.star_binding(module, name)
        if name.startswith("_") or (summary.all is not None and name not in summary.all):
            return None
        return self._lookup(summary, name, self.index.folder_of(summary.path), 0, set())

    def star_names(self, module: str) -> dict[str, str]:
        return dict(self._shared(("star_names", str(self.root), str(self.folder), module),
                                 lambda: self._star_names(module)))

    def _star_names(self, module: str) -> dict[str, str]:
        summary = self._module(module, self.folder)
        if summary is None:
            return TORCH.star_names(module)
        return self._names(summary, self.index.folder_of(summary.path), 0, set())

    def origin(self, qname: str) -> str:
        if qname.startswith("torch.") or "." not in qname:
            return canonical(qname)
        found = self._origins.get(qname)
        if found is None:
            found = self._origins[qname] = self._shared(
                ("origin", str(self.root), str(self.folder), qname), lambda: self._resolve(qname, self.folder))
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
        if depth == 0:
            return self._shared(("returns_tensor", str(self.root), qname), lambda: self.returns_tensor(qname, 1))
        if depth > 7:  # (the shared call is depth 1)
            return False
        found = self._function(qname)
        if found is not None:
            summary, function, folder = found
            for callee in function.returned_calls + function.indexed_calls:
                origin = self._origin_in(summary, callee, folder)
                if origin != qname and self.returns_tensor(origin, depth + 1):
                    return True
            return False
        return self._class_kind(qname) == "tensor"

    def returns_non_tensor(self, qname: str) -> bool:
        if qname == "torch" or qname.startswith("torch."):
            return TORCH.returns_non_tensor(qname)
        return self._shared(("returns_non_tensor", str(self.root), qname), lambda: self._returns_non_tensor(qname))

    def _returns_non_tensor(self, qname: str) -> bool:
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
                        or self._split(origin, self.root) is not None:
                    return False
            return True
        info = self._info(qname)
        if info is not None:
            # An instance of a project class that is not a tensor (a Dataset, an options object).
            return info[1] in info[0].bases and self._class_kind(qname) in ("other", "module", "function")
        if self._split(qname, self.root) is not None:
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
        return self._shared(("uses_torch", str(self.root), str(self.folder), qname), lambda: self._uses_torch(qname))

    def _uses_torch(self, qname: str) -> bool:
        summary = self._module(qname, self.folder)
        if summary is None:
            split = self._split(qname, self.folder)
            summary = split[0] if split is not None else None
        return summary is not None and self._imports_torch(summary, set())

    def imported_by_torch(self) -> bool:
        # Only the route's files: a `.py` with a trigger word (`x.data[0]`, `correct[:k].view(-1)` of a
        # helper module that never names torch; ImportTracker.imports_torch asks of every file that
        # imports no torch, and the importer table reads the whole project).
        if self._imported_by_torch is None:
            text = self.index.text_of(self.path) if self.path.suffix == ".py" and self.index.contains(self.path) else None
            self._imported_by_torch = text is not None and mentions_any_trigger(text) and any(
                summary is not None and self._imports_torch(summary, set())
                # (each importer consulted is recorded: the cached result depends on its imports)
                for summary in map(self.summary_of, self.index.importers(self.path)))
        return self._imported_by_torch

    def _imports_torch(self, summary: Summary, seen: set[str]) -> bool:
        if summary.path in seen:
            return False
        seen.add(summary.path)
        if any(_torch_name(module) for module, _ in summary.imports.values()):
            return True
        folder = self.index.folder_of(summary.path)
        for module, level in summary.stars:
            if _torch_name(module):
                return True
            target = self.star_target(summary, module, level, folder)
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
        if depth == 0:
            return self._shared(("class_kind", str(self.root), qname), lambda: self._class_kind(qname, 1))
        if depth > 9:  # (the shared call is depth 1)
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
