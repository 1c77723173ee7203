from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.data_uses import INIT, INPLACE, INPLACE_EXPR
from ..analysis.nodes import data_use
from ..analysis.tensors import TensorInference
from ..analysis.torch_api import is_inplace_method
from ..analysis.volatile_scope import under_no_grad
from ..rewrite.calls import fix_add_scalar_overload
from ..rewrite.comments import loses_comments
from ..rewrite.expressions import method_call
from ..rule import Invalid, NoGrad, Rule, Safety, Valid

# `t op= v` on a tensor is `t.<method>(v)`.
_AUG_METHODS: dict[type, str] = {
    cst.AddAssign: "add_", cst.SubtractAssign: "sub_", cst.MultiplyAssign: "mul_", cst.DivideAssign: "div_",
    cst.PowerAssign: "pow_",
}
_NUMBER = (cst.Integer, cst.Float)


class DataInplaceUpdate(Rule):
    """
    ## What it does
    Checks for statements that update a tensor in place through `.data`: `w.data -= lr * w.grad.data`
    (also `+=`, `*=`, `/=`), `w.data.sub_/add_/mul_/div_/copy_/normal_/uniform_/fill_/zero_/clamp_(...)`,
    `w.data[mask] = 0`, `w.grad.data.zero_()`, and `nn.init.normal_(w.data)`.

    ## Why is this bad?
    `.data` writes values behind autograd's back: the tensor's version counter is not bumped, so if a
    graph that saved `w` is still waiting for backward, that backward silently uses the new values and
    computes wrong gradients. The supported spelling is the update itself inside
    `with torch.no_grad():`, which autograd can check (it raises instead of computing garbage).

    ## Fix safety
    The statement is rewritten without `.data` and wrapped in `with torch.no_grad():`; a run of
    consecutive updates (the course demo's four lines) becomes one block, and a statement already
    inside such a block is just rewritten. A name bound in the statement's own scope keeps its
    augmented assignment (`w -= lr * w.grad`); a global or enclosing function's name, an attribute or a
    call target uses the method form (`w.sub_(g)`, `self.fc.weight.sub_(g)`,
    `next(m.parameters()).sub_(g)`): `w -= g` would make `w` local to the function (`UnboundLocalError`)
    and `f() -= g` is a syntax error. The
    deprecated `add_(scalar, tensor)` overload becomes `add_(tensor, alpha=scalar)`. Inside the
    rewritten statement, `.data` reads of other tensors are dropped too (under `no_grad` they record
    nothing). A statement that shares its line with others or sits in a one-line suite
    (`if c: w.data -= 1`) cannot take a block, and gets the method form on `w.detach()` instead, which
    writes the same storage just as `no_grad` does.

    Values, gradients, `is_leaf` and `grad_fn` stay bitwise the same in the usual loop (backward, update,
    next forward). What changes is that the update now bumps `w`'s version, so the fix is equivalent
    only if no graph that saved `w` is waiting for backward at the time of the update: an unsafe fix.
    `w.grad.data.zero_()` becomes `w.grad.zero_()`, which is safe unless the file uses
    `create_graph=True` (where the gradient itself has history); it joins an adjacent `no_grad` block
    but never opens one. `y = w.data.zero_()` (the update used as a value) is reported without a fix.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    - [pytorch/pytorch#6990](https://github.com/pytorch/pytorch/issues/6990)
    - SEMANTICS.md, section E (`w.data -= ...`, `X.data -= Y`, `w.grad.data.zero_()`,
      `p.data.copy_`, `p.data.normal_`, `p.data.clamp_` rows)
    """

    CODE = "VM207"
    MESSAGE = (
        "In-place update through `.data` bypasses autograd's version check: update the tensor under "
        "`torch.no_grad()` (equivalent only if no graph that saved it still waits for backward)"
    )
    FIX_TITLE = "Update the tensor itself under `with torch.no_grad():`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nw = torch.randn(3, requires_grad=True)\nwith torch.no_grad():\n    w -= 0.1 * w.grad\n"),
        Valid("import torch\nimport scipy.sparse as sp\nm = sp.eye(3).tocsr()\nm.data *= 2\nm.data.fill(1)\n"),
        Valid("import torch\nclass Buffer:\n    def __init__(self):\n        self.data = []\n    def push(self, x):\n        self.data += [x]\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\n"
            "w1 = Variable(torch.randn(3, 2), requires_grad=True)\n"
            "w2 = Variable(torch.randn(2, 1), requires_grad=True)\n"
            "learning_rate = 1e-6\n"
            "def step():\n"
            "    w1.data -= learning_rate * w1.grad.data\n"
            "    w2.data -= learning_rate * w2.grad.data\n"
            "    w1.grad.data.zero_()\n"
            "    w2.grad.data.zero_()\n",
            expected_replacement="import torch\nfrom torch.autograd import Variable\n"
            "w1 = Variable(torch.randn(3, 2), requires_grad=True)\n"
            "w2 = Variable(torch.randn(2, 1), requires_grad=True)\n"
            "learning_rate = 1e-6\n"
            "def step():\n"
            "    with torch.no_grad():\n"
            "        w1.sub_(learning_rate * w1.grad)\n"
            "        w2.sub_(learning_rate * w2.grad)\n"
            "        w1.grad.zero_()\n"
            "        w2.grad.zero_()\n",
            expected_safe_replacement="import torch\nfrom torch.autograd import Variable\n"
            "w1 = Variable(torch.randn(3, 2), requires_grad=True)\n"
            "w2 = Variable(torch.randn(2, 1), requires_grad=True)\n"
            "learning_rate = 1e-6\n"
            "def step():\n"
            "    w1.data -= learning_rate * w1.grad.data\n"
            "    w2.data -= learning_rate * w2.grad.data\n"
            "    w1.grad.zero_()\n"
            "    w2.grad.zero_()\n",
            message="In-place update through `.data` bypasses autograd's version check", range=(7, 5, 7, 44),
        ),
        Invalid(
            "import torch.nn as nn\n"
            "def weights_init(m):\n"
            "    if isinstance(m, nn.Conv2d):\n"
            "        m.weight.data.normal_(0.0, 0.02)\n"
            "        m.bias.data.fill_(0)\n",
            expected_replacement="import torch\nimport torch.nn as nn\n"
            "def weights_init(m):\n"
            "    if isinstance(m, nn.Conv2d):\n"
            "        with torch.no_grad():\n"
            "            m.weight.normal_(0.0, 0.02)\n"
            "            m.bias.fill_(0)\n",
            message="In-place update through `.data` bypasses autograd's version check", range=(4, 9, 4, 41),
        ),
        Invalid(
            "import torch\ndef sgd(params, lr):\n    for p in params:\n        p.data.add_(-lr, p.grad.data)\n",
            expected_replacement="import torch\ndef sgd(params, lr):\n    for p in params:\n"
            "        with torch.no_grad():\n            p.add_(p.grad, alpha=-lr)\n",
            message="In-place update through `.data` bypasses autograd's version check", range=(4, 9, 4, 38),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is None:
            return
        tensors = self.ctx.tensors
        grad = isinstance(node.value, cst.Attribute) and node.value.attr.value == "grad"
        if use.kind == INPLACE_EXPR:
            self.report(node, "In-place update through `.data` used as a value: rewrite by hand (the result aliases "
                        "`.data`, without it the value would be the tensor itself)")
            return
        if use.kind == INIT:
            self.report(node, edits=[self.edit(node.value, Safety.UNSAFE, "Pass the tensor itself (the init function runs under `no_grad`)")])
            return
        if use.kind != INPLACE or use.statement is None:
            return
        small = use.statement
        if grad:
            safety = Safety.UNSAFE if tensors.uses_create_graph else Safety.SAFE
            op = _update_name(small)
            message = (
                f"`.grad.data{op}`: the gradient is a plain tensor since PyTorch 0.4, update `.grad` directly"
                + (" (this file uses `create_graph=True`: equivalent only if the gradient does not require grad)"
                   if tensors.uses_create_graph else "")
            )
        elif under_no_grad(self.ctx, small):
            safety, message = Safety.UNSAFE, (
                "In-place update through `.data` bypasses autograd's version check: this statement already runs "
                "under `torch.no_grad()`, update the tensor itself (equivalent only if no graph that saved it "
                "still waits for backward)")
        else:
            safety, message = Safety.UNSAFE, self.MESSAGE
        line = self.ctx.parent(small)
        block = self.ctx.parent(line) if line is not None else None
        own_line = isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 and isinstance(block, (cst.IndentedBlock, cst.Module))
        rewriter = _Rewriter(tensors, _local_target(self.ctx, small))
        if rewriter.rewrite(small, detach=False) is None:
            self.report(small, message)  # e.g. `w.data |= m`: no method form to offer
            return
        if own_line:
            assert isinstance(line, cst.SimpleStatementLine)
            required = not (grad and _constant_args(small))

            def replace(updated: cst.CSTNode) -> NoGrad:
                assert isinstance(updated, cst.SimpleStatementLine)
                new_small = rewriter.rewrite(updated.body[0], detach=False)
                return NoGrad(updated.with_changes(body=[new_small]), required=required)

            preview = replace(line).statement
            if loses_comments(line, preview) and safety is Safety.SAFE:
                safety = Safety.UNSAFE
            self.report(line, message, [self.edit(replace, safety, needs_torch=True)])
        else:
            # A gradient zeroed or clamped by constants needs neither `no_grad` nor `.detach()`.
            detach = not (grad and _constant_args(small))

            def replace_inline(updated: cst.CSTNode) -> cst.CSTNode:
                return rewriter.rewrite(updated, detach=detach)  # type: ignore[return-value]

            title = "Update `w.detach()` in place instead of `w.data`" if detach else "Remove `.data`"
            self.report(small, message, [self.edit(replace_inline, safety, title)])


def _local_target(ctx: FileContext, small: cst.CSTNode) -> bool:
    """`t.data op= v` where `t` is a name bound in the statement's own scope."""
    if not isinstance(small, cst.AugAssign) or not isinstance(small.target, cst.Attribute):
        return True
    base = small.target.value
    return not isinstance(base, cst.Name) or bool(ctx.data_uses.scopes.bindings(base))


def _update_name(small: cst.CSTNode) -> str:
    """`.zero_()` / ` -= ...` for messages."""
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and isinstance(small.value.func, cst.Attribute):
        call = small.value
        while isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Call):
            call = call.func.value  # the first call of the chain
        return f".{call.func.attr.value}()" if isinstance(call.func, cst.Attribute) else ""
    return " ... =" if isinstance(small, (cst.AugAssign, cst.Assign)) else ""


def _constant_args(small: cst.CSTNode) -> bool:
    """Every argument of the in-place call chain is a number literal (`zero_()`, `clamp_(-1, 1)`)."""
    if not isinstance(small, cst.Expr):
        return False
    call = small.value
    while isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
        for arg in call.args:
            value = arg.value
            if isinstance(value, cst.UnaryOperation):
                value = value.expression
            if not isinstance(value, _NUMBER):
                return False
        call = call.func.value
    return True


class _Rewriter:
    """Rewrites one update statement (as updated by inner fixes) without its `.data`."""

    def __init__(self, tensors: TensorInference, local_target: bool = True) -> None:
        self.tensors = tensors
        # `t.data += v` -> `t += v` rebinds `t`: only where `t` is already a local name (a free or
        # global one would become local: UnboundLocalError); elsewhere `t.add_(v)`.
        self.local_target = local_target

    def rewrite(self, small: cst.CSTNode, detach: bool) -> Optional[cst.BaseSmallStatement]:
        if isinstance(small, cst.AugAssign):
            target = small.target
            if isinstance(target, cst.Subscript) and _is_data(target.value):
                base = self._base(target.value, detach)
                return small.with_changes(target=target.with_changes(value=base), value=self._drop_reads(small.value, detach))
            if not _is_data(target):
                return None
            assert isinstance(target, cst.Attribute)
            base = target.value
            if isinstance(base, cst.Name) and not detach and self.local_target:
                return small.with_changes(target=base, value=self._drop_reads(small.value, detach))
            method = _AUG_METHODS.get(type(small.operator))
            if method is None:
                return None
            receiver = method_call(base, "detach") if detach else base
            arg = cst.Arg(self._drop_reads(small.value, detach))
            return cst.Expr(method_call(receiver, method, [arg]), semicolon=small.semicolon)
        if isinstance(small, cst.Assign):
            target = small.targets[0].target
            if len(small.targets) == 1 and isinstance(target, cst.Subscript) and _is_data(target.value):
                new_target = target.with_changes(value=self._base(target.value, detach))
                return small.with_changes(targets=[small.targets[0].with_changes(target=new_target)],
                                          value=self._drop_reads(small.value, detach))
            return None
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            new = self._chain(small.value, detach)
            return small.with_changes(value=new) if new is not None else None
        return None

    def _chain(self, call: cst.Call, detach: bool) -> Optional[cst.Call]:
        func = call.func
        if not isinstance(func, cst.Attribute) or not is_inplace_method(func.attr.value):
            return None
        receiver = func.value
        if _is_data(receiver):
            new_receiver: cst.BaseExpression = self._base(receiver, detach)
        elif isinstance(receiver, cst.Call):
            inner = self._chain(receiver, detach)
            if inner is None:
                return None
            new_receiver = inner
        else:
            return None
        args = [a.with_changes(value=self._drop_reads(a.value, detach)) for a in call.args]
        new = call.with_changes(func=func.with_changes(value=new_receiver), args=args)
        return fix_add_scalar_overload(new) or new

    def _base(self, data: cst.BaseExpression, detach: bool) -> cst.BaseExpression:
        assert isinstance(data, cst.Attribute)
        return method_call(data.value, "detach") if detach else data.value

    def _drop_reads(self, value: cst.BaseExpression, detach: bool) -> cst.BaseExpression:
        """Under `no_grad`, `.data` on another tensor in the update's operands records nothing either."""
        if detach:
            return value
        return value.visit(_DropData(self.tensors))  # type: ignore[return-value]


class _DropData(cst.CSTTransformer):
    def __init__(self, tensors: Any) -> None:
        super().__init__()
        self.tensors = tensors

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if updated.attr.value == "data" and self.tensors.is_tensor(updated.value):
            return updated.value
        return updated


def _is_data(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "data"
