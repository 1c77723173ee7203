"""Project module summaries: what one module of a project binds, read from its text with `ast`.

A summary (issue 11, form 5) holds a module's top-level bindings (imports, functions, classes,
aliases), its star imports and `__all__`, which of its functions return the result of which calls
(a tensor when the callee is one: project.py's index resolves them), the bases of its classes and
the shape each class's `forward` returns. No libcst: a summary is made at C speed, once per file
digest, and round-trips through the on-disk cache as JSON.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

# Method calls that keep a tensor a tensor (`Variable(x).cuda()`, `torch.zeros(3).float()`).
_TENSOR_KEEPING = {
    "cuda", "cpu", "float", "double", "half", "long", "int", "byte", "bool", "contiguous", "view",
    "view_as", "reshape", "squeeze", "unsqueeze", "t", "transpose", "permute", "detach", "clone", "to",
    "type", "expand", "expand_as", "sum", "mean", "exp", "log", "sqrt", "abs", "sigmoid", "tanh",
    "requires_grad_", "zero_", "fill_", "normal_", "uniform_", "mul", "add", "sub", "div", "pow",
}

Binding = tuple[str, str]  # (kind, detail): ("import", qname), ("def", ""), ("class", ""), ("alias", qname), ("value", "")


@dataclass
class FunctionInfo:
    # The callees (dotted, as written) whose result the function returns, and whether some return
    # is anything else than such a call or a literal.
    returned_calls: list[str] = field(default_factory=list)
    returns_other: bool = False
    returns_literal: bool = False
    # The callees whose result the function returns indexed (`torch.from_numpy(a)[None, :]`,
    # `torch.max(x, 1)[1]`): a tensor when the callee returns a tensor (or a tuple of them); such a
    # return also counts in `returns_other` (an index of a dict or list may be anything).
    indexed_calls: list[str] = field(default_factory=list)


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
            "functions": {k: [v.returned_calls, v.returns_other, v.returns_literal, v.indexed_calls] for k, v in self.functions.items()},
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
            functions={k: FunctionInfo(list(v[0]), bool(v[1]), bool(v[2]), list(v[3])) for k, v in data["functions"].items()},
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
            indexed = _indexed_callee(value, assigned)
            if indexed is not None:
                info.indexed_calls.append(indexed)
    return info


def _indexed_callee(node: Optional[ast.expr], assigned: dict[str, list[ast.expr]]) -> Optional[str]:
    """The callee whose result `node` indexes (through tensor-keeping methods after the index:
    `f(a)[None, :].detach()`), or None."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _TENSOR_KEEPING:
        node = node.func.value
    if isinstance(node, ast.Name) and len(assigned.get(node.id, ())) == 1:
        node = assigned[node.id][0]
    if not isinstance(node, ast.Subscript):
        return None
    found = _callee(node.value, assigned)
    return found if isinstance(found, str) else None


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
