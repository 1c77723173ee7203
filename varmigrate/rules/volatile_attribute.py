from __future__ import annotations

from typing import Callable, Optional, Union

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.nodes import literal_bool
from ..analysis.volatile_scope import DELETE, DETACH, CutPlan, SourcePlan, VolatileFile, cut_message, volatility
from ..rewrite.comments import comments_in
from ..rewrite.volatile import detached, lowest_block, volatile_edit
from ..rule import Edit, Invalid, Rule, Safety, Valid


def _pure(node: cst.BaseExpression) -> bool:
    """A name, attribute chain or constant subscript: evaluating it has no side effect worth keeping."""
    if isinstance(node, cst.Name):
        return True
    if isinstance(node, cst.Attribute):
        return _pure(node.value)
    if isinstance(node, cst.Subscript):
        return _pure(node.value) and all(
            isinstance(s.slice, cst.Index) and isinstance(s.slice.value, (cst.Integer, cst.SimpleString, cst.Name))
            for s in node.slice
        )
    return False


class VolatileAttribute(Rule):
    """
    ## What it does
    Checks for reads of `x.volatile` and for assignments `x.volatile = ...` on tensors.

    ## Why is this bad?
    `volatile` was removed in PyTorch 0.4. On modern PyTorch reading `x.volatile` always returns
    `False` (with a `UserWarning`), and assigning it has no effect (also with a warning). Code that
    branches on it silently takes the "not volatile" path, and code that sets it to avoid building a
    graph builds one anyway: use `with torch.no_grad():` for that.

    ## Fix safety
    The reference is the program as PyTorch 0.3 ran it (SEMANTICS.md, "The reference is 0.3").
    - `x.volatile = False`: on 0.3 it made `x` a constant, and the gradient stopped there. It
      raised unless `x` had no `grad_fn`, so `x` was either computed from volatile values (no
      graph) or a leaf. Today the flag does nothing, and where `x` carries a graph the gradient
      leaks through it: the statement becomes `x = x.detach()`. That is safe where every value
      `x` can hold here is the result of an operation (volatile on 0.3, or without a graph);
      unsafe where it may be a leaf that requires grad (a parameter, a function's argument,
      an attribute), whose gradient the detach would stop, or where another name or a container
      holds the same tensor (0.3 cleared the flag of the tensor, the rewrite only re-binds one
      name). Where `x` provably carries no graph (a fresh tensor, a value computed under
      `no_grad`, a leaf such as a parameter) the statement is deleted (safe).
    - `x.volatile = True`: on 0.3 what is computed from `x` from here on built no graph. The
      statement is deleted (safe on a known tensor, unsafe otherwise and when it would drop a
      comment; `pass` where the block would otherwise be empty); values computed from `x` that
      reach `y.volatile = False` are detached there as above. With `--unsafe-fixes` the
      statements that use `x` go under `with torch.no_grad():` instead, under the conditions
      variable-volatile states for its scope. A non-literal flag is reported without a fix.
    - A read becomes the value 0.3 gave it where the data flow in the function decides it:
      `True` for a value computed from a volatile one, `False` (safe on a known tensor) for a
      value that cannot be volatile. A read of a function's argument, an attribute or anything
      computed from one becomes `False` only with `--unsafe-fixes`: it is right only if that
      value is never volatile. A read whose value depends on the path, or whose base has side
      effects (a call), is reported without a fix.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("The volatile flag is now deprecated and has no effect")
    - SEMANTICS.md, table C
    """

    CODE = "VM108"
    MESSAGE = "`x.volatile` is always `False` on PyTorch >= 0.4 (volatile was removed); use `torch.no_grad()` for its intent"
    FIX_TITLE = "Replace `x.volatile` with `False`"
    FIX = Safety.SAFE
    TRIGGERS = ("volatile",)

    VALID = [
        Valid("import torch\nimport argparse\nargs = argparse.ArgumentParser().parse_args()\nif args.volatile:\n    pass\n"),
        Valid("import torch\nclass Opts:\n    def __init__(self):\n        self.volatile = True\n"),
        Valid("import torch\nx = volatile\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nx = torch.ones(3)\nif x.volatile:\n    print(1)\n",
            expected_replacement="import torch\nx = torch.ones(3)\nif False:\n    print(1)\n",
            message="`x.volatile` is always `False` on PyTorch >= 0.4 (volatile was removed); use `torch.no_grad()` for its intent",
            range=(3, 4, 3, 14),
        ),
        Invalid(
            "import torch\nx = torch.ones(3)\nx.volatile = True\ny = x * 2\n",
            expected_replacement="import torch\nx = torch.ones(3)\nwith torch.no_grad():\n    y = x * 2\n",
            expected_safe_replacement="import torch\nx = torch.ones(3)\ny = x * 2\n",
            message="Assigning `x.volatile` has no effect on PyTorch >= 0.4", range=(3, 1, 3, 18),
        ),
        Invalid(
            "import torch\ndef f(x):\n    if x is not None:\n        x.volatile = True\n    return x\n",
            expected_replacement="import torch\ndef f(x):\n    if x is not None:\n        pass\n    return x\n",
            message="deleting the statement is right only if `x` is a tensor", range=(4, 9, 4, 26),
        ),
        Invalid(
            "import torch\ndef f(inp):\n    return inp.volatile\n",
            expected_replacement="import torch\ndef f(inp):\n    return False\n",
            message="replacing it with `False` is right only if `inp` never holds a value computed from a volatile input", range=(3, 12, 3, 24),
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._targets: set[int] = set()
        self._blocks: list[Union[cst.IndentedBlock, cst.SimpleStatementSuite, cst.Module]] = []
        self._line: Optional[cst.SimpleStatementLine] = None

    # The enclosing block and statement line decide between deleting and `pass`.
    def visit_Module(self, node: cst.Module) -> None:
        self._blocks.append(node)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._blocks.append(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._blocks.pop()

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._blocks.append(node)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self._blocks.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line = node

    def _kind(self, base: cst.BaseExpression) -> Optional[Safety]:
        """SAFE for a known tensor, UNSAFE for an unknown object, None for a known non-tensor."""
        if self.ctx.tensors.is_tensor(base):
            return Safety.SAFE
        if self.ctx.tensors.is_known_non_tensor(base):
            return None
        if isinstance(base, cst.Name) and base.value in ("self", "cls"):
            return None
        if isinstance(base, cst.Attribute) and isinstance(base.value, cst.Name) and base.value.value == "self":
            return None  # a user object's attribute unless inference knows it is a tensor
        return Safety.UNSAFE

    def visit_Assign(self, node: cst.Assign) -> None:
        targets = [t.target for t in node.targets]
        for target in targets:
            if isinstance(target, cst.Attribute) and target.attr.value == "volatile":
                self._targets.add(id(target))
        if len(targets) != 1 or id(targets[0]) not in self._targets:
            return
        target = targets[0]
        assert isinstance(target, cst.Attribute)
        kind = self._kind(target.value)
        if kind is None:
            return
        base = self.ctx.code(target.value)
        value = literal_bool(node.value)
        file = volatility(self.ctx)
        if value is False:
            self._cut(node, base, kind, file.cut(node))
        elif value is True:
            self._write(node, base, kind, file)
        else:
            self.report(node, f"Assigning `{base}.volatile` has no effect on PyTorch >= 0.4 (volatile was removed); on 0.3 "
                              f"`{base}` became volatile (`True`) or a constant (`False`): use `with torch.no_grad():` "
                              f"around what it computes, or `{base} = {base}.detach()` where it becomes a constant")

    def _cut(self, node: cst.Assign, base: str, kind: Safety, plan: Optional[CutPlan]) -> None:
        """`x.volatile = False`: on 0.3, `x` (computed without a graph, or a leaf) became a constant."""
        message = (f"`{base}.volatile = False` has no effect on PyTorch >= 0.4: on 0.3 it made `{base}` a constant, "
                   "and the gradient stopped there")
        if plan is None:
            self.report(node, message + f"; today it flows through: `{base} = {base}.detach()` restores that")
            return
        if plan.action == DELETE:
            message = (f"`{base}.volatile = False` has no effect on PyTorch >= 0.4, and none was needed: "
                       f"`{base}` carries no graph here")
            safety = Safety.SAFE if plan.safe and kind is Safety.SAFE else Safety.UNSAFE
            self.report(node, message, [self._deletion(node, safety)])
            return
        message += f"; today it flows through: `{base} = {base}.detach()` restores that"
        safety = Safety.SAFE if plan.safe else Safety.UNSAFE
        if not plan.safe:
            message += f", {plan.reason}"
        self.report(node, message, [self.edit(detached(node), safety, f"Replace with `{base} = {base}.detach()`")])

    def _write(self, node: cst.Assign, base: str, kind: Safety, file: VolatileFile) -> None:
        """`x.volatile = True`: on 0.3, what is computed from `x` from here on built no graph."""
        message = (f"Assigning `{base}.volatile` has no effect on PyTorch >= 0.4 (volatile was removed): the graph is "
                   "still built; use `with torch.no_grad():` for its intent")
        if kind is Safety.UNSAFE:
            message += f"; deleting the statement is right only if `{base}` is a tensor"
        plan = file.plan(node)
        line = self._line
        if plan is None or line is None or not (plan.scope is not None or any(c.action == DETACH for c in plan.cuts)):
            if plan is not None and plan.unsafe_cuts:
                kind = Safety.UNSAFE
            self.report(node, message + cut_text(self.ctx, plan), [self._deletion(node, kind)])
            return
        detach = [c.line for c in plan.cuts if c.action == DETACH]
        safety = Safety.UNSAFE if plan.unsafe_cuts else kind
        scope = plan.scope
        targets = [line, *detach] + ([scope.block.body[scope.start]] if scope is not None else [])
        top = lowest_block([self.ctx.ancestors(t) for t in targets])
        alone = len(line.body) == 1
        drop = volatile_edit(self.ctx.ancestors, top, line, None if alone else _without(node), detach,
                             index=file.index) if top else None
        if drop is None:
            self.report(node, message + cut_text(self.ctx, plan), [self._deletion(node, kind)])
            return
        edits = []
        if scope is not None:
            wrapped = volatile_edit(self.ctx.ancestors, top, line, None if alone else _without(node), detach,  # type: ignore[arg-type]
                                    [c.line for c in plan.deleted_cuts],
                                    (scope.block, scope.start, scope.end, f"{self.ctx.torch}.no_grad()"), file.index)
            if wrapped is not None:
                edits.append(self.edit(wrapped, Safety.UNSAFE,
                                       f"Delete the assignment and put {scope.where} under `torch.no_grad()` (unsafe: "
                                       "equivalent only if that block holds every use of the value, and nothing else in "
                                       "it needs gradients)", needs_torch=True))
        edits.append(self.edit(drop, safety, "Delete the assignment" + (" and detach where `.volatile = False` follows"
                                                                        if detach else "")))
        self.report(node, message + cut_text(self.ctx, plan), fix_node=top, edits=edits)

    def _deletion(self, node: cst.Assign, safety: Safety) -> Edit:
        line, block = self._line, self._blocks[-1]
        title = "Delete the assignment"
        alone_on_line = line is not None and len(line.body) == 1 and line.body[0] is node
        if isinstance(block, cst.SimpleStatementSuite):
            empties = len(block.body) == 1
        else:
            empties = not isinstance(block, cst.Module) and alone_on_line and len(block.body) == 1
        replacement: Union[cst.CSTNode, cst.RemovalSentinel] = cst.Pass() if empties else cst.RemoveFromParent()
        if alone_on_line and not empties and line is not None:
            if comments_in(line.trailing_whitespace) or any(ll.comment is not None for ll in line.leading_lines):
                safety, title = Safety.UNSAFE, "Delete the assignment (unsafe: drops the comment on it)"
        return self.edit(replacement, safety, title)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "volatile" or id(node) in self._targets:
            return
        safety = self._kind(node.value)
        if safety is None:
            return
        base = self.ctx.code(node.value)
        message = self.MESSAGE.replace("`x.volatile`", f"`{base}.volatile`")
        if not _pure(node.value):
            self.report(node, message)
            return
        plan = volatility(self.ctx).read(node)
        if plan is not None and plan.value is None:
            self.report(node, message + f"; on 0.3 it was `True` where `{base}` comes from a volatile value, which it "
                                        "does on some paths here: decide by hand")
            return
        if plan is not None and plan.value is True:
            self.report(node, f"`{base}.volatile` is always `False` on PyTorch >= 0.4 (volatile was removed); `{base}` "
                              "comes from a volatile value here, so on 0.3 it was `True`",
                        [self.edit(cst.Name("True", lpar=node.lpar, rpar=node.rpar), safety, "Replace with `True` (its 0.3 value)")])
            return
        if plan is None or not plan.safe:
            safety = Safety.UNSAFE
            message += (f"; replacing it with `False` is right only if `{base}` never holds a value computed from a "
                        "volatile input (on 0.3 it was `True` then)")
        elif safety is Safety.UNSAFE:
            message += f"; replacing it with `False` is right only if `{base}` is a tensor"
        self.report(node, message, [self.edit(cst.Name("False", lpar=node.lpar, rpar=node.rpar), safety)])


def _without(node: cst.Assign) -> Callable[[cst.CSTNode], cst.CSTNode]:
    """Deletes the small statement `node` from its (updated) line, by its code."""
    code = cst.Module([]).code_for_node(node.with_changes(semicolon=cst.MaybeSentinel.DEFAULT))

    def rewrite(line: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(line, cst.SimpleStatementLine)
        body = [s for s in line.body if cst.Module([]).code_for_node(s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)) != code]
        if len(body) == len(line.body) or not body:
            return line
        body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return line.with_changes(body=body)

    return rewrite


def cut_text(ctx: FileContext, plan: Optional[SourcePlan]) -> str:
    return cut_message(ctx, plan.cuts) if plan is not None else ""
