from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import libcst as cst

from ..context import FileContext
from ..helpers import call_replacement, is_variable, literal_bool, variable_args
from ..rule import Edit, Invalid, Rule, Safety, Valid

Block = Union[cst.IndentedBlock, cst.Module]
_SCOPE_BOUNDARIES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
# Reading a value through these gives a plain number or a tensor outside the graph (0.3 `.data`):
# volatility does not flow through them.
_SANITIZING_METHODS = {"item", "tolist", "numpy", "size", "dim", "numel", "data_ptr", "type"}
_SANITIZING_BUILTINS = {"float", "int", "len", "bool", "str", "print", "isinstance", "type"}
_SEED = "<volatile>"
_STORING_METHODS = {"append", "extend", "insert", "add", "put", "update", "setdefault", "__setitem__"}


def drop_argument(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """`call` without `arg`, keeping the commas and line layout of the others."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is arg)
    del args[index]
    if args and index == len(args):
        # Removed the last argument: the new last one takes its comma (trailing or none).
        args[-1] = args[-1].with_changes(comma=arg.comma, whitespace_after_arg=arg.whitespace_after_arg)
    return call.with_changes(args=args)


def _ancestors(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode]:
    """The chain of nodes from `root` down to `target` (inclusive)."""
    stack: list[cst.CSTNode] = []
    found: list[cst.CSTNode] = []

    class _Find(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if found:
                return False
            stack.append(node)
            if node is target:
                found.extend(stack)
                return False
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if stack and stack[-1] is original_node:
                stack.pop()

    root.visit(_Find())
    return found


class _Reads(cst.CSTVisitor):
    """Names an expression or statement reads; with `graph_only`, not those read through `.data`,
    `.item()`, `float(...)` and the like (no graph is built from them)."""

    def __init__(self, graph_only: bool, seed: Optional[cst.CSTNode] = None) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.graph_only = graph_only
        self.seed = seed

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self.graph_only and node.attr.value == "data":
            return False
        node.value.visit(self)
        return False  # the attribute name itself is not a read of a variable

    def visit_Call(self, node: cst.Call) -> bool:
        if node is self.seed:
            self.names.add(_SEED)
            return False
        if self.graph_only:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _SANITIZING_METHODS:
                return False
            if isinstance(func, cst.Name) and func.value in _SANITIZING_BUILTINS:
                return False
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False  # skip the keyword name

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def grad_enabled_code(ctx: FileContext, flag: cst.BaseExpression) -> str:
    """The `set_grad_enabled` argument meaning "not volatile": a real `bool` (it rejects ints and None),
    with the precedence right: `not (a or b)`, never `not a or b`."""
    if isinstance(flag, cst.UnaryOperation) and isinstance(flag.operator, cst.Not):
        inner = flag.expression
        already_bool = isinstance(inner, cst.Comparison) or (
            isinstance(inner, cst.UnaryOperation) and isinstance(inner.operator, cst.Not))
        code = ctx.code(inner)
        if inner.lpar:  # `not (a or b)`: the parentheses belong to the operand
            code = ctx.code(inner.with_changes(lpar=(), rpar=()))
        return code if already_bool else f"bool({code})"
    code = ctx.code(flag)
    if isinstance(flag, (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr)) and not flag.lpar:
        code = f"({code})"
    return f"not {code}"


def _reads(node: Optional[cst.CSTNode], graph_only: bool = True, seed: Optional[cst.CSTNode] = None) -> set[str]:
    if node is None:
        return set()
    visitor = _Reads(graph_only, seed)
    node.visit(visitor)
    return visitor.names


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        names: set[str] = set()
        for el in target.elements:
            names |= _target_names(el.value)
        return names
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


@dataclass
class _Flow:
    """Volatility propagated through a list of statements (flow-insensitive, to a fixed point)."""

    tainted: set[str]
    seed: cst.CSTNode  # the volatile `Variable(...)` call itself
    escapes: bool = False  # returned, yielded, stored on an object, or appended to a container


class _Propagate(cst.CSTVisitor):
    def __init__(self, flow: _Flow) -> None:
        super().__init__()
        self.flow = flow
        self.changed = False

    def _taint(self, names: set[str]) -> None:
        if not names <= self.flow.tainted:
            self.flow.tainted |= names
            self.changed = True

    def _tainted(self, node: Optional[cst.CSTNode]) -> bool:
        return bool(_reads(node, seed=self.flow.seed) & self.flow.tainted)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._tainted(node.value):
            for target in node.targets:
                if isinstance(target.target, (cst.Attribute, cst.Subscript)):
                    self.flow.escapes = True
                self._taint(_target_names(target.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and self._tainted(node.value):
            if isinstance(node.target, (cst.Attribute, cst.Subscript)):
                self.flow.escapes = True
            self._taint(_target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self._tainted(node.value):
            if isinstance(node.target, (cst.Attribute, cst.Subscript)):
                self.flow.escapes = True
            self._taint(_target_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        if self._tainted(node.iter):
            self._taint(_target_names(node.target))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and self._tainted(node.item):
            self._taint(_target_names(node.asname.name))

    def visit_Return(self, node: cst.Return) -> None:
        if self._tainted(node.value):
            self.flow.escapes = True

    def visit_Yield(self, node: cst.Yield) -> None:
        if self._tainted(node.value):
            self.flow.escapes = True

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _STORING_METHODS:
            if any(self._tainted(a.value) for a in node.args):
                self.flow.escapes = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a nested function is another scope

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def _propagate(statements: Sequence[cst.CSTNode], flow: _Flow) -> _Flow:
    for _ in range(10):
        visitor = _Propagate(flow)
        for statement in statements:
            statement.visit(visitor)
        if not visitor.changed:
            break
    return flow


def _is_no_grad(ctx: FileContext, node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.With):
        return False
    for item in node.items:
        call = item.item
        if isinstance(call, cst.Call):
            q = ctx.imports.qualified(call.func)
            if q in ("torch.no_grad", "torch.autograd.no_grad", "torch.inference_mode"):
                return True
            if q in ("torch.set_grad_enabled", "torch.autograd.set_grad_enabled") and call.args:
                if literal_bool(call.args[0].value) is False:
                    return True
    return False


@dataclass
class _Scope:
    block: Block
    start: int  # statements block.body[start:end] go into the `with`
    end: int
    where: str  # "the loop body", ...


class VariableVolatile(Rule):
    """
    ## What it does
    Checks for the `volatile=` argument of the legacy `Variable(...)` constructor
    (`Variable(x, volatile=True)`, `volatile=flag`, `volatile=False`).

    ## Why is this bad?
    `volatile` was removed in PyTorch 0.4 and has **no effect**: besides a `UserWarning`, the
    constructor ignores it, so code meant to run without autograd (evaluation, inference, sampling)
    builds a graph and keeps its buffers alive. `with torch.no_grad():` is the replacement. Under
    `python -W error` the keyword even makes the constructor raise.

    ## Fix safety
    Two fixes, the first applied with `--unsafe-fixes`, the second by `fix`:
    - **Scope** (unsafe): drop the keyword and put the statements that use the volatile value
      under `with torch.no_grad():` (`torch.set_grad_enabled(not flag)` for a non-literal flag):
      from the statement that creates it to the end of the smallest enclosing block that covers
      every use (typically the evaluation loop body, or the function body). This restores the 0.3
      intent, but it is equivalent only if (1) the block covers every operation that uses the
      volatile value, directly or through values computed from it (0.3 volatility followed the
      data flow; `no_grad` is lexical), (2) no other operation in the block needs gradients
      (`no_grad` stops those too), and (3) nothing inspects `requires_grad`/`grad_fn` of the results
      or calls `backward` on them. It is not offered when the value escapes the block (returned,
      yielded, stored on an object or appended to a container).
    - **Drop the keyword** (safe): the call without `volatile=` does exactly what it does now on
      PyTorch 2.x (minus the warning); the remaining `Variable(x)` is then handled by
      variable-wrapper. When `requires_grad=` is also given and one of the two flags is not a
      literal, dropping is unsafe (the legacy call raises `ValueError` when both are true). With both
      literally true the call always raises: reported without a fix.
    `volatile=False` is the default and is simply dropped (safe).

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("The volatile flag is now deprecated and has no effect")
    - `torch/csrc/autograd/python_legacy_variable.cpp` (`THPVariable_pynew`)
    - SEMANTICS.md, table C
    """

    CODE = "VM103"
    MESSAGE = (
        "`volatile=True` has no effect on PyTorch >= 0.4 (a graph is built anyway); "
        "`with torch.no_grad():` restores the intent"
    )
    FIX_TITLE = "Remove `volatile=`"
    FIX = Safety.SAFE
    TRIGGERS = ("volatile",)

    VALID = [
        Valid("import torch\nfrom torch.autograd import Variable\nv = Variable(x)\n"),
        Valid("import torch\nclass Variable:\n    pass\nv = Variable(x, volatile=True)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\n\n\ndef predict(model, x):\n"
            "    v = Variable(x, volatile=True)\n    return model(v)\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef predict(model, x):\n"
            "    v = Variable(x)\n    return model(v)\n",
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        data = Variable(data, volatile=True)\n"
            "        output = model(data)\n"
            "        correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        with torch.no_grad():\n"
            "            data = Variable(data)\n"
            "            output = model(data)\n"
            "            correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
            expected_safe_replacement="import torch\nfrom torch.autograd import Variable\n\n\ndef test(model, loader):\n"
            "    correct = 0\n"
            "    for data, target in loader:\n"
            "        data = Variable(data)\n"
            "        output = model(data)\n"
            "        correct += output.data.max(1)[1].eq(target).sum()\n"
            "    return correct\n",
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nv = Variable(x, volatile=False)\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\nv = Variable(x)\n",
        ),
        Invalid("import torch\nfrom torch.autograd import Variable\nv = Variable(x, requires_grad=True, volatile=True)\n"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_variable(self.ctx, node.func):
            return
        args = variable_args(node)
        if args.volatile is None:
            return
        volatile = literal_bool(args.volatile.value)
        flag_code = self.ctx.code(args.volatile.value)
        rg = literal_bool(args.requires_grad.value) if args.requires_grad is not None else False
        if volatile is not False and rg is True and volatile is True:
            self.report(node, "`Variable(x, requires_grad=True, volatile=True)` raises `ValueError` on PyTorch >= 0.4 "
                              "(and did in 0.3): decide which of the two flags you meant")
            return
        dropped = drop_argument(node, args.volatile)
        if volatile is False:
            self.report(node, "`volatile=False` is a legacy argument with no effect", [self._drop(node, dropped, Safety.SAFE)])
            return
        message = self.MESSAGE if volatile else (
            f"`volatile={flag_code}` has no effect on PyTorch >= 0.4 (a graph is built anyway); "
            f"`with torch.set_grad_enabled({grad_enabled_code(self.ctx, args.volatile.value)}):` restores the intent")
        drop_safety = Safety.SAFE
        if args.requires_grad is not None and rg is not False:
            drop_safety = Safety.UNSAFE
            message += ("; removing `volatile=` is right only if it and `requires_grad=` are never both true "
                        "(the legacy call raises `ValueError` then)")
        if not args.simple:
            self.report(node, message)  # `name=`/`_grad_fn=`: variable-wrapper leaves those to a person too
            return
        scope = self._scope(node)
        if scope is None:
            self.report(node, message, [self._drop(node, dropped, drop_safety)])
            return
        manager = "no_grad()" if volatile else f"set_grad_enabled({grad_enabled_code(self.ctx, args.volatile.value)})"
        message += (f"; the unsafe fix puts {scope.where} under `torch.{manager}`, which is equivalent only if that "
                    "block holds every use of the volatile value, nothing else in it needs gradients, and nothing "
                    "inspects `requires_grad`/`grad_fn` of the results")
        original_code = self.ctx.code(node)
        rewrite = _rewrite_call(self.ctx, original_code, dropped)
        # Reported at the call; both edits rewrite the enclosing block (one replacement node per finding).
        self.report(node, message, fix_node=scope.block, edits=[
            self.edit(_wrap(scope, rewrite, f"{self.ctx.torch}.{manager}"), Safety.UNSAFE,
                      f"Remove `volatile=` and put {scope.where} under `torch.{manager}` (unsafe: lexical scope)", needs_torch=True),
            self.edit(lambda block, scope=scope: _in_block(scope, block, rewrite), drop_safety),
        ])

    def _drop(self, node: cst.Call, dropped: cst.Call, safety: Safety) -> Edit:
        new, safety, lost = call_replacement(node, dropped, safety)
        title = self.FIX_TITLE + (" (unsafe: drops a comment inside the call)" if lost else "")
        return self.edit(new, safety, title)

    # -- the scope --------------------------------------------------------------------------
    def _scope(self, call: cst.Call) -> Optional[_Scope]:
        chain = _ancestors(self.ctx.module, call)
        if any(_is_no_grad(self.ctx, n) for n in chain):
            return None  # already under no_grad: dropping the keyword is all there is to do
        # Innermost block and the statement of it that holds the call.
        level = max(i for i, n in enumerate(chain) if isinstance(n, (cst.IndentedBlock, cst.Module)))
        block = chain[level]
        statement = chain[level + 1]
        assert isinstance(block, (cst.IndentedBlock, cst.Module))
        start = list(block.body).index(statement)  # type: ignore[arg-type]
        # The call itself is the source: `v = Variable(...)` and `out = model(Variable(...))` taint the target.
        flow = _Flow({_SEED}, call)
        while True:
            body = list(block.body)
            _propagate(body[start:], flow)
            if flow.escapes:
                return None
            # Loop-carried use (an RNN hidden state): the scope starts at the first reader in the body.
            owner = chain[level - 1] if level > 0 else None
            if isinstance(owner, (cst.For, cst.While)):
                # The loop target is rebound every iteration: reading it is not a loop-carried use.
                fresh = _target_names(owner.target) if isinstance(owner, cst.For) else set()
                readers = [i for i, s in enumerate(body[:start]) if _reads(s) & (flow.tainted - fresh)]
                if readers:
                    start = readers[0]
            if isinstance(block, cst.Module):
                users = [i for i, s in enumerate(body) if i >= start and _reads(s, graph_only=False) & flow.tainted]
                end = max(users + [start]) + 1
                return _Scope(block, start, end, "the statements that use it")
            # Does the value outlive the block? Then climb to the enclosing block.
            outer_level = max(i for i, n in enumerate(chain[:level - 1]) if isinstance(n, (cst.IndentedBlock, cst.Module)))
            outer = chain[outer_level]
            assert isinstance(outer, (cst.IndentedBlock, cst.Module))
            outer_body = list(outer.body)
            compound = chain[outer_level + 1]
            index = outer_body.index(compound)  # type: ignore[arg-type]
            later = outer_body[index + 1:]
            if isinstance(owner, _SCOPE_BOUNDARIES) or not any(_reads(s, graph_only=False) & flow.tainted for s in later):
                return _Scope(block, start, len(body), _describe(owner))
            if isinstance(compound, _SCOPE_BOUNDARIES):
                return None
            block, level, start = outer, outer_level, index


def _describe(owner: Optional[cst.CSTNode]) -> str:
    if isinstance(owner, (cst.For, cst.While)):
        return "the loop body"
    if isinstance(owner, cst.FunctionDef):
        return "the function body"
    return "the enclosing block"


def _rewrite_call(ctx: FileContext, original_code: str, dropped: cst.Call) -> Callable[[cst.CSTNode], cst.CSTNode]:
    """A function that rewrites, inside an (updated) subtree, the volatile call we reported."""
    dropped_code = cst.Module([]).code_for_node(dropped)

    class _Drop(cst.CSTTransformer):
        done = False

        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            if not self.done and cst.Module([]).code_for_node(updated_node) == original_code:
                self.done = True
                return dropped.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
            return updated_node

    def rewrite(node: cst.CSTNode) -> cst.CSTNode:
        return node.visit(_Drop())  # type: ignore[return-value]

    del ctx, dropped_code
    return rewrite


def _in_block(scope: _Scope, block: cst.CSTNode, rewrite: Callable[[cst.CSTNode], cst.CSTNode]) -> cst.CSTNode:
    assert isinstance(block, (cst.IndentedBlock, cst.Module))
    body = list(block.body)
    if len(body) != len(scope.block.body):
        return block  # another fix changed the statement count this round: retried next round
    body[scope.start:scope.end] = [rewrite(s) for s in body[scope.start:scope.end]]  # type: ignore[misc]
    return block.with_changes(body=body)


def _wrap(scope: _Scope, rewrite: Callable[[cst.CSTNode], cst.CSTNode], manager: str) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def apply(block: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(block, (cst.IndentedBlock, cst.Module))
        body = list(block.body)
        if len(body) != len(scope.block.body):
            return block
        inner = [rewrite(s) for s in body[scope.start:scope.end]]
        first = inner[0]
        leading = getattr(first, "leading_lines", ())
        inner[0] = first.with_changes(leading_lines=())
        with_node = cst.With(
            items=[cst.WithItem(item=cst.parse_expression(manager))],
            body=cst.IndentedBlock(body=inner),  # type: ignore[arg-type]
            leading_lines=leading,
        )
        body[scope.start:scope.end] = [with_node]
        return block.with_changes(body=body)

    return apply
