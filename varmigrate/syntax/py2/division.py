"""Python 2's `/`: floor division when both operands are integers, true division otherwise.

Without `from __future__ import division`, `7 / 2` was `3` in Python 2 and is `3.5` in
Python 3. This module reads converted (Python 3) source with `ast`, decides for each `/` and
`/=` what its operands are known to be, and

- rewrites it to `//` (`//=`) where both operands are known ints: int literals, `len()`, `int()`,
  `ord()`, comparisons and `not` (bools are ints), `range`/`xrange` loop variables and
  `enumerate` counters, integer arithmetic of those, and names that every binding in their
  scope (this file only) sets to such a value;
- leaves it alone where an operand is known not to be an int (a float literal, `float()`,
  `round()` and `math` functions, which return floats in Python 2, strings, float tensors);
- reports every other division: both operands may be ints there, so Python 2 may have floored.
  Integer tensors (`torch.LongTensor(...)`, `.long()`) are named in the report: PyTorch 0.3
  divided them with truncation toward zero, torch >= 1.7 divides them truly.

Names are resolved with Python 3's scoping rules (the converted file's). A name bound by an
import, a parameter, `with`/`except`/`for` over anything but `range`, unpacking, `global`
statements elsewhere, `exec`/`globals()` or a star import is not known.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

from .scopes import (
    FLOAT,
    FLOAT_TENSOR,
    INT,
    INT_TENSOR,
    STR,
    UNKNOWN,
    Binding,
    Collector,
    Kind,
    Scope,
    finish_scopes,
)

_NOT_INT = {FLOAT, STR, FLOAT_TENSOR}

_INT_CALLS = {"len", "int", "ord", "hash", "id", "bool", "long"}
_FLOAT_CALLS = {"float", "round"}  # Python 2's round() returns a float
_MATH_NOT_FLOAT = {"factorial", "trunc", "isinf", "isnan", "isfinite", "frexp", "modf", "gcd", "comb", "perm", "isqrt"}
_INT_TENSORS = {"LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor"}
_FLOAT_TENSORS = {"FloatTensor", "DoubleTensor", "HalfTensor", "Tensor", "randn", "rand", "zeros", "ones", "randn_like", "rand_like"}
_INT_METHODS = {"long", "int", "short", "byte", "char"}
_FLOAT_METHODS = {"float", "double", "half"}
_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Div, ast.LShift, ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor)
_FLOAT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Div, ast.Pow)


@dataclass(frozen=True)
class Division:
    """One `/` (or `/=`) of the file, at the operator (1-based line, 1-based column)."""

    line: int
    column: int
    offset: int  # character offset of the `/` in the text
    augmented: bool
    rewritten: bool
    left: str  # the operands' source, shortened
    right: str
    left_kind: str
    right_kind: str

    @property
    def int_tensor(self) -> bool:
        return INT_TENSOR in (self.left_kind, self.right_kind)

    @property
    def operator(self) -> str:
        return "/=" if self.augmented else "/"

    def describe(self) -> str:
        def side(source: str, kind: str) -> str:
            return f"`{source}` ({'an ' if kind[0] in 'aeiou' else 'a '}{kind})" if kind != UNKNOWN else f"`{source}` (not known)"

        what = f"{side(self.left, self.left_kind)} {self.operator} {side(self.right, self.right_kind)}"
        if self.rewritten:
            return f"{what}: both operands are ints, so Python 2 floored: now `{self.operator.replace('/', '//')}`"
        if self.int_tensor:
            return (f"{what}: PyTorch 0.3 divided integer tensors with truncation toward zero, torch >= 1.7 divides "
                    f"them truly; write `torch.div(a, b, rounding_mode='trunc')` if they are integer tensors")
        return f"{what}: Python 2 floored this if both operands were ints; write `//` if they are, or make one a float"


@dataclass
class Analysis:
    future_division: bool = False
    divisions: list[Division] = field(default_factory=list)

    @property
    def rewritten(self) -> list[Division]:
        return [d for d in self.divisions if d.rewritten]

    @property
    def reported(self) -> list[Division]:
        return [d for d in self.divisions if not d.rewritten and not ({d.left_kind, d.right_kind} & _NOT_INT)]


# ------------------------------------------------------------------------------------------
# Kinds (a least fixed point over the names' bindings)
# ------------------------------------------------------------------------------------------
def _join(kinds: Iterable[Kind]) -> Kind:
    result: Kind = None
    for kind in kinds:
        if kind is None:
            continue
        if result is None:
            result = kind
        elif result != kind:
            return UNKNOWN
    return result


class _Kinds:
    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.module = collector.module
        self.values: dict[tuple[int, str], Kind] = {}
        self.changed = False
        self._scopes_by_node: dict[int, Scope] = {}

    # -- name resolution ------------------------------------------------------------------
    def owner(self, name: str, scope: Scope) -> Optional[Scope]:
        """The scope whose binding of `name` a load in `scope` reads (None: a builtin)."""
        if name in scope.declared_global:
            return self.module if name in self.module.bindings else None
        current: Optional[Scope] = scope
        first = True
        while current is not None:
            if (first or current.kind != "class") and name in current.bindings:
                return current
            first = False
            current = current.parent
        return None

    def bindings_of(self, name: str, scope: Scope) -> list[Binding]:
        return scope.bindings.get(name, [])

    def name_kind(self, name: str, scope: Scope) -> Kind:
        owner = self.owner(name, scope)
        if owner is None:
            return UNKNOWN  # a builtin or an undefined name
        if owner is self.module and (self.collector.opaque or self.collector.star_import):
            return UNKNOWN
        return self.values.get((id(owner), name))

    def builtin(self, name: str, scope: Scope) -> bool:
        return not self.collector.star_import and self.owner(name, scope) is None

    def module_name(self, expr: ast.expr, scope: Scope) -> Optional[str]:
        if not isinstance(expr, ast.Name):
            return None
        owner = self.owner(expr.id, scope)
        if owner is None:
            return None
        modules = {b.module for b in self.bindings_of(expr.id, owner)}
        return modules.pop() if len(modules) == 1 else None

    # -- expressions ----------------------------------------------------------------------
    def kind(self, expr: ast.expr, scope: Scope) -> Kind:
        if isinstance(expr, ast.Constant):
            value = expr.value
            if isinstance(value, (bool, int)):
                return INT
            if isinstance(value, (float, complex)):
                return FLOAT
            if isinstance(value, (str, bytes)):
                return STR
            return UNKNOWN
        if isinstance(expr, ast.Name):
            return self.name_kind(expr.id, scope)
        if isinstance(expr, ast.JoinedStr):
            return STR
        if isinstance(expr, ast.Compare):
            return INT
        if isinstance(expr, ast.UnaryOp):
            if isinstance(expr.op, ast.Not):
                return INT
            inner = self.kind(expr.operand, scope)
            if isinstance(expr.op, ast.Invert):
                return inner if inner in (None, INT, INT_TENSOR) else UNKNOWN
            return inner
        if isinstance(expr, ast.BinOp):
            return self.binop(self.kind(expr.left, scope), expr.op, self.kind(expr.right, scope), expr.right)
        if isinstance(expr, ast.BoolOp):
            return _join(self.kind(v, scope) for v in expr.values)
        if isinstance(expr, ast.IfExp):
            return _join([self.kind(expr.body, scope), self.kind(expr.orelse, scope)])
        if isinstance(expr, ast.Call):
            return self.call(expr, scope)
        return UNKNOWN

    def binop(self, left: Kind, op: ast.operator, right: Kind, right_node: Optional[ast.expr] = None) -> Kind:
        if isinstance(op, ast.Mod) and left == STR:
            return STR
        if UNKNOWN in (left, right):
            return UNKNOWN
        if left is None or right is None:
            return None
        pair = {left, right}
        if pair == {INT}:
            if isinstance(op, _INT_OPS):
                return INT
            if isinstance(op, ast.Pow):
                literal = right_node is not None and isinstance(right_node, ast.Constant) and isinstance(right_node.value, int)
                if literal:
                    return INT if right_node.value >= 0 else FLOAT  # type: ignore[union-attr]
            return UNKNOWN
        if pair <= {INT, FLOAT} and isinstance(op, _FLOAT_OPS):
            return FLOAT
        if FLOAT_TENSOR in pair and pair <= {INT, FLOAT, FLOAT_TENSOR} and isinstance(op, _FLOAT_OPS):
            return FLOAT_TENSOR
        if INT_TENSOR in pair and pair <= {INT, INT_TENSOR} and isinstance(op, _INT_OPS):
            return INT_TENSOR
        return UNKNOWN

    def call(self, call: ast.Call, scope: Scope) -> Kind:
        func = call.func
        if isinstance(func, ast.Name) and self.builtin(func.id, scope):
            if func.id in _INT_CALLS:
                return INT
            if func.id in _FLOAT_CALLS:
                return FLOAT
            if func.id == "abs" and len(call.args) == 1:
                return self.kind(call.args[0], scope)
            if func.id in ("min", "max") and len(call.args) > 1 and not call.keywords:
                return _join(self.kind(a, scope) for a in call.args)
            return UNKNOWN
        if isinstance(func, ast.Attribute):
            module = self.module_name(func.value, scope)
            if module == "math":
                return UNKNOWN if func.attr in _MATH_NOT_FLOAT else FLOAT
            root = func.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if self.module_name(root, scope) == "torch":
                if func.attr in _INT_TENSORS:
                    return INT_TENSOR
                if func.attr in _FLOAT_TENSORS:
                    return FLOAT_TENSOR
                return UNKNOWN
            if not call.args and not call.keywords:
                if func.attr in _INT_METHODS:
                    return INT_TENSOR
                if func.attr in _FLOAT_METHODS:
                    return FLOAT_TENSOR
        return UNKNOWN

    # -- the fixed point ------------------------------------------------------------------
    def binding_kind(self, binding: Binding, name: str) -> Kind:
        if binding.constant is not None and binding.augment is None:
            return binding.constant
        assert binding.value is not None and binding.scope is not None
        value = self.kind(binding.value, binding.scope)
        if binding.augment is not None:
            target, op = binding.augment
            return self.binop(self.name_kind(target, binding.scope), op, value, binding.value)
        return value

    def solve(self, scopes: list[Scope]) -> None:
        table = [(scope, name) for scope in scopes for name in scope.bindings]
        for _ in range(50):
            changed = False
            for scope, name in table:
                new = _join(self.binding_kind(b, name) for b in self.bindings_of(name, scope))
                key = (id(scope), name)
                if self.values.get(key) != new:
                    self.values[key] = new
                    changed = True
            if not changed:
                return
        for key in self.values:  # no fixed point within the bound: know nothing
            self.values[key] = UNKNOWN


# ------------------------------------------------------------------------------------------
# Positions
# ------------------------------------------------------------------------------------------
class _Text:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, byte_column: int) -> int:
        source = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        return self.starts[line - 1] + len(source.encode("utf-8")[:byte_column].decode("utf-8", "replace"))

    def position(self, offset: int) -> tuple[int, int]:
        import bisect

        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1

    def operator(self, start: int, end: int, op: str) -> Optional[int]:
        """Offset of `op` between two operands (skipping closing brackets, comments, continuations)."""
        i = start
        while i < end:
            char = self.text[i]
            if char == "#":
                newline = self.text.find("\n", i)
                i = end if newline < 0 else newline
                continue
            if self.text.startswith(op, i) and not self.text.startswith("//", i):
                return i
            i += 1
        return None


def _short(source: Optional[str]) -> str:
    text = " ".join((source or "?").split())
    return text if len(text) <= 40 else text[:37] + "..."


def future_division(tree: ast.Module) -> bool:
    return any(isinstance(s, ast.ImportFrom) and s.module == "__future__" and any(a.name == "division" for a in s.names)
               for s in tree.body)


def analyze(text: str, foreign_names: Iterable[str] = ()) -> Analysis:
    """Every `/` and `/=` of Python 3 `text` (already through the async pre-pass if needed).
    `foreign_names` may be bound at module level by code elsewhere (a notebook's other cells)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(text)
    if future_division(tree):
        return Analysis(future_division=True)
    collector = Collector(tree)
    for stmt in tree.body:
        collector.visit(stmt)
    scopes = finish_scopes(collector)
    for name in foreign_names:
        if name in collector.module.bindings:
            collector.module.bindings[name].append(Binding(constant=UNKNOWN))
    kinds = _Kinds(collector)
    kinds.solve(scopes)
    source = _Text(text)
    result = Analysis()
    for node, scope in collector.divisions:
        if isinstance(node, ast.AugAssign):
            left_node: ast.expr = node.target
            right_node = node.value
            left = kinds.kind(node.target, scope) if isinstance(node.target, ast.Name) else UNKNOWN
            op = "/="
        else:
            assert isinstance(node, ast.BinOp)
            left_node, right_node = node.left, node.right
            left = kinds.kind(node.left, scope)
            op = "/"
        right = kinds.kind(right_node, scope)
        assert left_node.end_lineno is not None and left_node.end_col_offset is not None
        start = source.offset(left_node.end_lineno, left_node.end_col_offset)
        end = source.offset(right_node.lineno, right_node.col_offset)
        at = source.operator(start, end, op)
        if at is None:
            continue
        line, column = source.position(at)
        result.divisions.append(Division(
            line, column, at, isinstance(node, ast.AugAssign), left == INT and right == INT,
            _short(ast.get_source_segment(text, left_node)), _short(ast.get_source_segment(text, right_node)),
            left or UNKNOWN, right or UNKNOWN,
        ))
    result.divisions.sort(key=lambda d: d.offset)
    return result


def after_rewrite(text: str, divisions: list[Division]) -> list[Division]:
    """`divisions` at their places in `rewrite(text, divisions)` (each rewrite adds a `/`)."""
    import dataclasses

    new_text = _Text(rewrite(text, divisions))
    out, shift = [], 0
    for division in sorted(divisions, key=lambda d: d.offset):
        offset = division.offset + shift
        line, column = new_text.position(offset)
        out.append(dataclasses.replace(division, offset=offset, line=line, column=column))
        shift += 1 if division.rewritten else 0
    return out


def rewrite(text: str, divisions: Iterable[Division]) -> str:
    """`text` with each rewritten division's `/` doubled (offsets from `analyze(text)`)."""
    out = text
    for division in sorted((d for d in divisions if d.rewritten), key=lambda d: d.offset, reverse=True):
        assert out[division.offset] == "/"
        out = out[: division.offset] + "/" + out[division.offset:]
    return out
