from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

from ..analysis.data_uses import RESIZE, RESIZE_METHODS
from ..analysis.imports import dotted_name
from ..analysis.nodes import data_use, short_code
from ..rule import Invalid, Rule, Safety, Valid
from ..tree.walk import visit


class DataResize(Rule):
    """
    ## What it does
    Checks for `w.data.resize_(n)`, `w.data.resize_as_(t)` and `w.data.set_(t)`, also at the start
    of a chain (`im_data.data.resize_(size).copy_(batch)`, the preallocated-input idiom of 2017
    detection code).

    ## Why is this bad?
    In PyTorch 0.3 `w.data` was `w`'s own tensor, so these resized or re-pointed `w` itself. Since
    0.4 `.data` is a separate tensor that shares `w`'s storage: `w.data.resize_(5)` resizes that
    alias only, and `w` keeps its shape (`w.shape == (3,)` afterwards); `w.data.set_(t)` leaves `w`
    with its old shape and values. The program runs on, silently computing with the old `w`.
    Rewriting to `with torch.no_grad(): w.resize_(n)` is no way out either: it raises for a leaf that
    requires grad.

    ## Fix safety
    For a statement `w.data.resize_(...)...` whose `w` is a name or an attribute of one, the fix
    assigns the resized alias back: `w.data = w.data.resize_(...)...`. Assigning `.data` replaces
    `w`'s tensor by the alias, which has the new shape (and storage, for `set_`), as 0.3's `w` did;
    the chain's value is the alias itself (in-place methods return `self`). This is what 0.3 did
    (safe), except for an alias of `w`'s data taken earlier (`d = w.data`), which in 0.3 was the
    same tensor and followed the resize: where the file binds one, the fix is unsafe. Where the
    result is used in an expression (`x = w.data.resize_(n)`), there is no fix.

    ## References
    - SEMANTICS.md, "The reference is 0.3" (`w.data.resize_(n)` and `w.data.set_(t)`)
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("What about .data?")
    """

    CODE = "VM209"
    MESSAGE = ("`w.data.resize_(...)` resized `w` itself in PyTorch 0.3; today `.data` is a separate tensor and `w` "
               "keeps its shape")
    FIX_TITLE = "Assign the resized tensor back: `w.data = w.data.resize_(...)`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nbuf = torch.zeros(3)\nbuf.resize_(5)\n"),
        Valid("import torch\nw = torch.zeros(3, requires_grad=True)\nw.data = w.data.resize_(5)\n"),
        Valid("import torch\nimport numpy as np\na = np.zeros(3)\na.data.resize_(5)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nim = Variable(torch.zeros(1))\n"
            "def load(batch):\n    im.data.resize_(batch.size()).copy_(batch)\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\nim = Variable(torch.zeros(1))\n"
            "def load(batch):\n    im.data = im.data.resize_(batch.size()).copy_(batch)\n",
            message="`im.data.resize_(...)` resized `im` itself in PyTorch 0.3", range=(5, 5, 5, 47),
        ),
        Invalid(
            "import torch\nw = torch.zeros(3, requires_grad=True)\nd = w.data\nw.data.set_(torch.ones(2))\n",
            expected_replacement="import torch\nw = torch.zeros(3, requires_grad=True)\nd = w.data\n"
            "w.data = w.data.set_(torch.ones(2))\n",
            expected_safe_replacement="import torch\nw = torch.zeros(3, requires_grad=True)\nd = w.data\n"
            "w.data.set_(torch.ones(2))\n",
            message="`w.data.set_(...)` re-pointed `w` itself in PyTorch 0.3", range=(4, 1, 4, 27),
        ),
        Invalid(
            "import torch\nw = torch.zeros(3, requires_grad=True)\nv = w.data.resize_(5)\n",
            message="assign the result back (`w.data = w.data.resize_(...)`) if `w` must change", range=(3, 5, 3, 22),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is None or use.kind != RESIZE:
            return
        top = _chain_top(self.ctx.parent, node)
        if top is None:
            return
        method = _resize_method(top, node)
        w = short_code(self.ctx, node.value, 30)
        what = "re-pointed" if method == "set_" else "resized"
        message = (f"`{w}.data.{method}(...)` {what} `{w}` itself in PyTorch 0.3; today `.data` is a separate tensor "
                   f"and `{w}` keeps its {'storage and shape' if method == 'set_' else 'shape'}")
        statement = use.statement
        if not isinstance(statement, cst.Expr) or dotted_name(node.value) is None:
            self.report(top, message + ": assign the result back (`w.data = w.data." + method + "(...)`) if `w` "
                        "must change")
            return
        alias = _data_alias(self.ctx.module, self.ctx.code(node.value))
        assignment = cst.Assign(targets=[cst.AssignTarget(target=node.deep_clone())], value=statement.value)
        safety = Safety.UNSAFE if alias is not None else Safety.SAFE
        title = f"Assign the result back: `{w}.data = {w}.data.{method}(...)`"
        if alias is not None:
            title += f" (unsafe: `{alias}` aliases `{w}.data` and keeps the old shape)"
        self.report(top, message + f": `{w}.data = {short_code(self.ctx, statement.value, 40)}` does what 0.3 did",
                    [self.edit(assignment, safety, title)], fix_node=statement)


def _chain_top(parent_of: Callable[[cst.CSTNode], Optional[cst.CSTNode]], data: cst.Attribute) -> Optional[cst.Call]:
    node: cst.CSTNode = data
    top: Optional[cst.Call] = None
    while True:
        attribute = parent_of(node)
        if not (isinstance(attribute, cst.Attribute) and attribute.value is node):
            return top
        call = parent_of(attribute)
        if not (isinstance(call, cst.Call) and call.func is attribute):
            return top
        top = call
        node = call


def _resize_method(top: cst.Call, data: cst.Attribute) -> str:
    node: cst.BaseExpression = top
    found = "resize_"
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if node.func.attr.value in RESIZE_METHODS:
            found = node.func.attr.value
        node = node.func.value
    return found


def _data_alias(module: cst.Module, base: str) -> Optional[str]:
    """A name the file binds to `<base>.data` (`d = w.data`), if any."""
    finder = _AliasFinder(module, base)
    visit(module, finder)
    return finder.found


class _AliasFinder(cst.CSTVisitor):
    def __init__(self, module: cst.Module, base: str) -> None:
        super().__init__()
        self.module = module
        self.base = base
        self.found: Optional[str] = None

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if (self.found is None and isinstance(value, cst.Attribute) and value.attr.value == "data"
                and self.module.code_for_node(value.value) == self.base):
            target = node.targets[0].target
            self.found = self.module.code_for_node(target)
