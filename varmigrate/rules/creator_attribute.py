from __future__ import annotations

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.nodes import short_code
from ..rule import Invalid, Rule, Safety, Valid

_NAME = "creator"


class CreatorAttribute(Rule):
    """
    ## What it does
    Checks for reads of `x.creator`, the PyTorch 0.1 name of `x.grad_fn` (the function that
    created a tensor, `None` for a leaf), where `x` is a tensor or, in a file that uses torch,
    an object of unknown type. Files whose own objects have a `creator` (a class that assigns
    `self.creator` or defines `creator`) are left alone.

    ## Why is this bad?
    The attribute was renamed `grad_fn` after 0.1; modern tensors have no `creator`, so the line
    raises `AttributeError: 'Tensor' object has no attribute 'creator'` (checked on 2.13).

    ## Fix safety
    `x.creator` becomes `x.grad_fn`, the same object under its current name: exact where `x` is
    known to be a tensor (safe). Where the type of `x` is not known, the rename is right only if `x`
    is a tensor (an object of another library with its own `creator` would lose it), so the fix is
    unsafe.

    ## References
    - PyTorch 0.1 `torch/autograd/variable.py` (`Variable.creator`)
    - [`torch.Tensor.grad_fn`](https://pytorch.org/docs/stable/generated/torch.Tensor.grad_fn.html)
    """

    CODE = "VM109"
    MESSAGE = "`x.creator` is the PyTorch 0.1 name of `x.grad_fn`: modern PyTorch raises `AttributeError`"
    FIX_TITLE = "Replace `.creator` with `.grad_fn`"
    FIX = Safety.SAFE
    TRIGGERS = (".creator",)

    VALID = [
        Valid("import torch\ny = torch.ones(2, requires_grad=True) * 2\nprint(y.grad_fn)\n"),
        Valid(
            "import torch\n\n\nclass Job:\n    def __init__(self, creator):\n        self.creator = creator\n\n\n"
            "def owner(job):\n    return job.creator\n"
        ),
        Valid("import torch\nimport argparse\nargs = argparse.ArgumentParser().parse_args()\nprint(args.creator)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2\nprint(y.creator)\n",
            expected_replacement="import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2\nprint(y.grad_fn)\n",
            message="`y.creator` is the PyTorch 0.1 name of `y.grad_fn`: modern PyTorch raises `AttributeError`", range=(4, 7, 4, 16),
        ),
        Invalid(
            "import torch\ndef graph_of(out):\n    return out.creator\n",
            expected_replacement="import torch\ndef graph_of(out):\n    return out.grad_fn\n",
            expected_safe_replacement="import torch\ndef graph_of(out):\n    return out.creator\n",
            message="modern PyTorch raises `AttributeError` (if `out` is a tensor)", range=(3, 12, 3, 23),
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._reads: list[cst.Attribute] = []
        self._own = False  # the file gives objects of its own a `creator`
        self._stores: set[int] = set()

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._store(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._store(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._store(node.target)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._own = self._own or node.name.value == _NAME

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == _NAME and id(node) not in self._stores:
            self._reads.append(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        tensors = self.ctx.tensors
        for node in self._reads:
            base = node.value
            known = tensors.is_tensor(base)
            if not known and (self._own or tensors.is_known_non_tensor(base) or tensors.is_module(base)
                              or (isinstance(base, cst.Name) and base.value in ("self", "cls"))):
                continue
            x = short_code(self.ctx, base, 30)
            new = node.with_changes(attr=cst.Name("grad_fn"))
            if known:
                self.report(node, f"`{x}.creator` is the PyTorch 0.1 name of `{x}.grad_fn`: modern PyTorch raises "
                                  "`AttributeError`", [self.edit(new)])
            else:
                self.report(node, f"`{x}.creator` is the PyTorch 0.1 name of `{x}.grad_fn`: modern PyTorch raises "
                                  f"`AttributeError` (if `{x}` is a tensor)",
                            [self.edit(new, Safety.UNSAFE, "Replace `.creator` with `.grad_fn` (unsafe: only if "
                                                           f"`{x}` is a tensor)")])

    def _store(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute) and target.attr.value == _NAME:
            self._own = True
            self._stores.add(id(target))
        elif isinstance(target, cst.Name) and target.value == _NAME:
            self._own = True
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._store(element.value)
