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
    Inside `with torch.no_grad():` (of the same function) an operation records nothing, so `.data` is
    dropped where it is consumed at once by an operation that makes a new tensor, maybe through
    methods that return it or a view of it (`out.squeeze().data.exp()`, `torch.max(pred.data.cpu(), 1)`),
    and where it follows an operation evaluated right there that makes a new tensor and the alias is
    only read (`prob.max(1)[1].data.cpu().numpy()`): that tensor has no history, does not require grad,
    and nothing else holds it. A view of an existing tensor is not such a tensor (under `no_grad` it
    keeps its base's `requires_grad`), nor is a name. Inside the `no_grad` scope the unsafe fix of a
    volatile input (VM103) makes, the same removal is the unsafe alternative of `.detach()`.
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
            message="`out.data` reads a tensor behind autograd's back: use `out.detach()`", range=(4, 12, 4, 20),
        ),
        Invalid(
            "import torch\ndef correct(model, inputs, target):\n    model.eval()\n    pred = model(inputs).max(1)[1]\n"
            "    return pred.eq(target.data).sum()\n",
            expected_replacement="import torch\ndef correct(model, inputs, target):\n    model.eval()\n    pred = model(inputs).max(1)[1]\n"
            "    return pred.eq(target).sum()\n",
            message="`.data` is not needed in `target.data` here: the result (a comparison, `.item()`, `.tolist()`) never carries gradient",
            range=(5, 20, 5, 31),
        ),
        Invalid(
            "import torch\nx = torch.randn(3, requires_grad=True)\ndef snapshot():\n    return x.data\n",
            expected_replacement="import torch\nx = torch.randn(3, requires_grad=True)\ndef snapshot():\n    return x.detach()\n",
            expected_safe_replacement="import torch\nx = torch.randn(3, requires_grad=True)\ndef snapshot():\n    return x.data\n",
            message="`x.detach()` is equivalent only if nothing writes in place through the alias", range=(4, 12, 4, 18),
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
        consumed = not use.compared and self._consumed(node)
        fresh = not use.compared and not consumed and use.escape is None and self._fresh_base(node)
        if consumed or fresh:
            if under_no_grad(self.ctx, node):
                target, new = drop_data(node, self.ctx.parent(node))
                why = "the operation records nothing, and its result is a new tensor" if consumed else \
                    f"`{x}` is computed here without history"
                self.report(target, f"`.data` is not needed in `{x}.data` here: under `no_grad` {why}",
                            [self.edit(new, title="Remove `.data`")])
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
        (`x.data.div(t)`, `x.data * 2`, `torch.max(x.data.cpu(), 1)`), maybe through methods that
        return it or a view of it (`.cpu()`, `.squeeze()`, indexing): nothing is left that aliases
        it, and nothing is written in place."""
        expr: cst.BaseExpression = node
        while True:
            parent = self.ctx.parent(expr)
            if isinstance(parent, cst.Attribute) and parent.value is expr:
                call = self.ctx.parent(parent)
                if not (isinstance(call, cst.Call) and call.func is parent):
                    return False
                if parent.attr.value in _VALUE_METHODS:
                    return True
                if parent.attr.value not in _PASS_THROUGH_METHODS:
                    return False
                expr = call
            elif isinstance(parent, cst.Subscript) and parent.value is expr:
                expr = parent
            elif isinstance(parent, cst.BinaryOperation):
                return True
            elif isinstance(parent, cst.UnaryOperation):
                return isinstance(parent.operator, cst.Minus)
            elif isinstance(parent, cst.Arg):
                call = self.ctx.parent(parent)
                return (isinstance(call, cst.Call) and parent.keyword is None and call.args[0] is parent
                        and self.ctx.imports.qualified(call.func) in _VALUE_FUNCTIONS
                        and not any(a.keyword is not None and a.keyword.value == "out" for a in call.args))
            else:
                return False

    def _fresh_base(self, node: cst.Attribute) -> bool:
        """In `E.data`, `E` is an operation evaluated right here that makes a new tensor (`out.exp()`,
        `prob.max(1)[1]`, `F.interpolate(y, ...)[0]`): under `no_grad` it has no history and does not
        require grad, so `.data` (like `.detach()`) only gives a second handle on a tensor nothing
        else holds. Not a view of an existing tensor (`out.squeeze()`): under `no_grad` a view keeps
        its base's `requires_grad`."""
        base = node.value
        # Views (and methods that may return the tensor itself) of a new result are new results too;
        # a view of anything else keeps its `requires_grad`, even under `no_grad`.
        while isinstance(base, cst.Subscript) or isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) \
                and base.func.attr.value in _PASS_THROUGH_METHODS:
            base = base.value if isinstance(base, cst.Subscript) else base.func.value  # type: ignore[attr-defined]
        if not isinstance(base, cst.Call) or any(
                a.star or a.keyword is not None and a.keyword.value in ("out", "inplace") for a in base.args):
            return False
        func = base.func
        q = self.ctx.imports.qualified(func)
        if q is not None:
            return q in _VALUE_FUNCTIONS or q in _NEW_RESULT_FUNCTIONS
        return isinstance(func, cst.Attribute) and func.attr.value in _NEW_RESULT_METHODS

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
# Methods that return their receiver, a view of it or a copy (one tensor): a value operation after
# them still consumes `.data` at once.
_PASS_THROUGH_METHODS = ALIAS_METHODS - {"split", "chunk", "unbind", "as_strided", "type_as", "view_as", "expand_as",
                                         "reshape_as"}
# torch functions that make a new tensor from their first argument's values.
_VALUE_FUNCTIONS = frozenset(f"torch.{name}" for name in (
    "max", "min", "sum", "mean", "std", "var", "norm", "prod", "argmax", "argmin", "sort", "topk", "exp", "log", "sqrt",
    "abs", "sigmoid", "tanh", "softmax", "log_softmax", "clamp", "round", "floor", "ceil", "cumsum", "mm", "matmul",
    "bmm", "nn.functional.softmax", "nn.functional.log_softmax", "nn.functional.sigmoid", "nn.functional.tanh",
))
# More torch functions whose result is always a new tensor (never one of their arguments).
_NEW_RESULT_FUNCTIONS = frozenset(f"torch.{name}" for name in (
    "cat", "stack", "nn.functional.interpolate", "nn.functional.upsample",
    "nn.functional.upsample_bilinear", "nn.functional.upsample_nearest", "nn.functional.linear",
    "nn.functional.conv1d", "nn.functional.conv2d", "nn.functional.conv3d", "nn.functional.max_pool2d",
    "nn.functional.avg_pool2d", "nn.functional.adaptive_avg_pool2d", "nn.functional.pad", "nn.functional.normalize",
))
# Tensor methods whose result is a new tensor with storage of its own (not a view, never the receiver).
_NEW_RESULT_METHODS = _VALUE_METHODS | {"repeat"}
# Methods whose tensor argument gives only its size (and type): `.data` there changes nothing.
_SHAPE_ARGUMENT_METHODS = frozenset({"resize_as_", "expand_as", "view_as", "reshape_as", "type_as"})
_LIKE_FUNCTIONS = frozenset({"torch.zeros_like", "torch.ones_like", "torch.empty_like", "torch.rand_like",
                             "torch.randn_like", "torch.full_like", "torch.randint_like"})
