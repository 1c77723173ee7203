from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import READ
from ..analysis.nodes import data_use, short_code
from ..analysis.torch_api import ALIAS_METHODS
from ..analysis.volatile_scope import under_no_grad, volatility
from ..rewrite.expressions import drop_data, replace_attribute_call
from ..rule import Invalid, Rule, Safety, Valid


class DataRead(Rule):
    """
    ## What it does
    Checks for other reads of `x.data` where `x` is a tensor: `x.data.numpy()`, `x.data.cpu().numpy()`,
    `x.data.cpu()`, `x.data.clone()`, arithmetic and reductions on `x.data`, and aliases that outlive the
    expression (`y = x.data`, `f(x.data)`, `h = h.data` in truncated backpropagation).

    ## Why is this bad?
    `.data` hands out the tensor's values without autograd history *and without autograd's safety
    check*: it gets a version counter of its own, so an in-place write through it while a graph that
    saved `x` waits for backward silently produces wrong gradients (pytorch#6990). `x.detach()` is the
    supported way to read values without history; the same misuse then raises an error instead.

    ## Fix safety
    `x.data` becomes `x.detach()`: the same values, storage, `requires_grad=False`, no `grad_fn`. The only
    difference is that the alias shares `x`'s version counter (SEMANTICS.md headline 3). The fix is safe
    where nothing can write in place through the alias:
    - it is consumed at once by an operation that makes a new tensor or a number (`.numpy()`,
      `.clone()`, `.sum()`, arithmetic, `.cpu().numpy()`, formatting, `print`, a torch function);
    - or it is bound to a name whose every use in the scope only reads it (methods that are not in-place,
      operands, arguments of torch functions, builtins or module calls). Passing it to a module counts as
      a read: that is the truncated-BPTT case `h = h.data; out, h = rnn(x, h)`, which SEMANTICS.md rates
      equivalent "always in practice" (a module that wrote its input in place would be the exception).
    Otherwise (returned, stored, passed to an unknown function, written in place) the fix is unsafe, and
    the message names what makes it so. Where the result never carries gradient (a comparison such as
    `pred.eq(target.data)` or `a.data == b`, or a chain of ops ending in `.item()`/`.tolist()` such as
    `out.data.max().item()`), `.data` is simply dropped (safe: same values, and the result is a number
    or a boolean tensor either way).
    `Variable(x.data)` is left to the `Variable` rules, which turn it into `x.detach()`.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("What about .data?")
    - [pytorch/pytorch#6990](https://github.com/pytorch/pytorch/issues/6990)
    - SEMANTICS.md, section E
    """

    CODE = "VM203"
    MESSAGE = "`x.data` reads a tensor behind autograd's back: use `x.detach()`"
    FIX_TITLE = "Replace `x.data` with `x.detach()`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        Valid("import torch\nx = torch.randn(3, requires_grad=True)\nprint(x.detach().numpy())\n"),
        Valid("import torch\nimport scipy.sparse as sp\nm = sp.eye(3).tocsr()\nm.data[:] = 1\nv = m.data.copy()\n"),
        Valid("import torch\nimport torch.utils.data\nloader = torch.utils.data.DataLoader([])\n"),
        Valid("import torch\nfrom torchvision import datasets\ntrain = datasets.MNIST('.')\nx = train.data.float()\n"),
        Valid("import torch\ndef f(train_loader):\n    return train_loader.dataset.data.float() / 255\n"),
        Valid("import torch\nimport argparse\nargs = argparse.ArgumentParser().parse_args()\nprint(args.data)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef to_numpy(model, x):\n    out = model(x)\n    return out.data.cpu().numpy()\n",
            expected_replacement="import torch\ndef to_numpy(model, x):\n    out = model(x)\n    return out.detach().cpu().numpy()\n",
        ),
        Invalid(
            "import torch\ndef correct(model, inputs, target):\n    model.eval()\n    pred = model(inputs).max(1)[1]\n"
            "    return pred.eq(target.data).sum()\n",
            expected_replacement="import torch\ndef correct(model, inputs, target):\n    model.eval()\n    pred = model(inputs).max(1)[1]\n"
            "    return pred.eq(target).sum()\n",
        ),
        Invalid(
            "import torch\nx = torch.randn(3, requires_grad=True)\ndef snapshot():\n    return x.data\n",
            expected_replacement="import torch\nx = torch.randn(3, requires_grad=True)\ndef snapshot():\n    return x.detach()\n",
            expected_safe_replacement="import torch\nx = torch.randn(3, requires_grad=True)\ndef snapshot():\n    return x.data\n",
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is None or use.kind != READ:
            return
        x = short_code(self.ctx, node.value, 30)
        if not use.compared and self._shape_only(node):
            target, new = drop_data(node, self.ctx.parent(node))
            self.report(target, f"`.data` is not needed in `{x}.data` here: only its size and type are read",
                        [self.edit(new, title="Remove `.data`")])
            return
        if not use.compared and self._consumed(node):
            if under_no_grad(self.ctx, node):
                target, new = drop_data(node, self.ctx.parent(node))
                self.report(target, f"`.data` is not needed in `{x}.data` here: under `no_grad` the operation records "
                                    "nothing, and its result is a new tensor", [self.edit(new, title="Remove `.data`")])
                return
            plan = volatility(self.ctx).scoped(node)
            if plan is not None:
                target, new = drop_data(node, self.ctx.parent(node))
                line = self.ctx.position(plan.source.node).start.line
                # Two candidates on one node: the `.detach()` edit must replace what `drop_data` does.
                detach = replace_attribute_call(node, "detach") if target is node else \
                    target.with_changes(value=replace_attribute_call(node, "detach"))
                self.report(target, f"`{x}.data` reads a tensor behind autograd's back: use `{x}.detach()`, or nothing under "
                                    f"the `no_grad` scope the volatile input of line {line} asks for",
                            [self.edit(new, Safety.UNSAFE, f"Remove `.data` (unsafe: equivalent together with the `no_grad` "
                                                           f"scope of the volatile input of line {line})"),
                             self.edit(detach, title=f"Replace `{x}.data` with `{x}.detach()`")])
                return
        if use.compared:
            target, new = drop_data(node, self.ctx.parent(node))
            self.report(target, f"`.data` is not needed in `{x}.data` here: the result (a comparison, `.item()`, `.tolist()`) never carries gradient",
                        [self.edit(new, title="Remove `.data`")])
        elif use.escape is None:
            self.report(node, f"`{x}.data` reads a tensor behind autograd's back: use `{x}.detach()`",
                        [self.edit(replace_attribute_call(node, "detach"), title=f"Replace `{x}.data` with `{x}.detach()`")])
        else:
            self.report(
                node,
                f"`{x}.data` reads a tensor behind autograd's back; `{x}.detach()` is equivalent only if nothing writes in place "
                f"through the alias while a graph that saved `{x}` waits for backward ({use.escape})",
                [self.edit(replace_attribute_call(node, "detach"), Safety.UNSAFE,
                           f"Replace `{x}.data` with `{x}.detach()` (unsafe: see the condition)")],
            )

    def _consumed(self, node: cst.Attribute) -> bool:
        """`x.data` is consumed at once by an operation that makes a new tensor from its values
        (`x.data.div(t)`, `x.data * 2`): not a view or an alias, nothing written in place."""
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            call = self.ctx.parent(parent)
            return isinstance(call, cst.Call) and call.func is parent and parent.attr.value in _VALUE_METHODS
        if isinstance(parent, cst.BinaryOperation):
            return True
        return isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Minus)

    def _shape_only(self, node: cst.Attribute) -> bool:
        """`y.resize_as_(x.data)`, `y.expand_as(x.data)`, `torch.zeros_like(x.data)`: the call reads
        only the size, dtype and device of `x` (and a `*_like` result does not require grad)."""
        parent, child = self.ctx.tree.expr_parent(node)
        if not (isinstance(parent, cst.Call) and isinstance(child, cst.Arg) and child.keyword is None and parent.args
                and parent.args[0] is child and len([a for a in parent.args if a.keyword is None]) == 1):
            return False
        func = parent.func
        if isinstance(func, cst.Attribute) and func.attr.value in _SHAPE_ARGUMENT_METHODS:
            return True
        q = self.ctx.imports.qualified(func)
        return q in _LIKE_FUNCTIONS and not any(a.keyword is not None and a.keyword.value == "requires_grad" for a in parent.args)


# Methods whose result is a new tensor computed from the receiver's values (not a view or an alias).
_VALUE_METHODS = frozenset({
    "div", "mul", "add", "sub", "exp", "log", "log1p", "sqrt", "rsqrt", "pow", "abs", "neg", "sigmoid", "tanh", "relu",
    "softmax", "log_softmax", "sum", "mean", "max", "min", "std", "var", "norm", "clone", "topk", "sort", "argmax",
    "argmin", "masked_fill", "index_select", "gather", "mm", "matmul", "bmm", "clamp", "round", "floor", "ceil",
    "cumsum", "prod", "multinomial", "reciprocal", "sign", "fmod", "remainder", "lerp", "addcmul", "addcdiv", "dot",
}) - ALIAS_METHODS
# Methods whose tensor argument gives only its size (and type): `.data` there changes nothing.
_SHAPE_ARGUMENT_METHODS = frozenset({"resize_as_", "expand_as", "view_as", "reshape_as", "type_as"})
_LIKE_FUNCTIONS = frozenset({"torch.zeros_like", "torch.ones_like", "torch.empty_like", "torch.rand_like",
                             "torch.randn_like", "torch.full_like", "torch.randint_like"})
