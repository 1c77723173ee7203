from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Union

import libcst as cst

from ..rewrite.comments import comments_in
from ..rule import Edit, Invalid, Rule, Safety, Valid

if TYPE_CHECKING:
    from ..analysis.context import FileContext


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
    A read becomes `False`, which is what PyTorch 2.x returns; this is safe where `x` is known to be a
    tensor, and unsafe otherwise (it is right only if `x` is a tensor, not an object of your own with a
    `volatile` attribute). A read whose base has side effects (a call) is reported without a fix.
    `not torch.is_grad_enabled()` would restore the 0.3 meaning instead, but changes behaviour
    relative to PyTorch 2.x, so it is left to a person. An assignment statement is deleted (`pass`
    where the block would otherwise be empty): safe on a known tensor, unsafe otherwise, and unsafe
    when it would drop a comment on the statement.

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
        ),
        Invalid(
            "import torch\nx = torch.ones(3)\nx.volatile = True\ny = x * 2\n",
            expected_replacement="import torch\nx = torch.ones(3)\ny = x * 2\n",
        ),
        Invalid(
            "import torch\ndef f(x):\n    if x is not None:\n        x.volatile = True\n    return x\n",
            expected_replacement="import torch\ndef f(x):\n    if x is not None:\n        pass\n    return x\n",
        ),
        Invalid(
            "import torch\ndef f(inp):\n    return inp.volatile\n",
            expected_replacement="import torch\ndef f(inp):\n    return False\n",
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
        safety = self._kind(target.value)
        if safety is None:
            return
        base = self.ctx.code(target.value)
        message = (f"Assigning `{base}.volatile` has no effect on PyTorch >= 0.4 (volatile was removed): the graph is "
                   "still built; use `with torch.no_grad():` for its intent")
        if safety is Safety.UNSAFE:
            message += f"; deleting the statement is right only if `{base}` is a tensor"
        self.report(node, message, [self._deletion(node, safety)])

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
        if safety is Safety.UNSAFE:
            message += f"; replacing it with `False` is right only if `{base}` is a tensor"
        self.report(node, message, [self.edit(cst.Name("False", lpar=node.lpar, rpar=node.rpar), safety)])
