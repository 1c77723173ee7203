from __future__ import annotations

import libcst as cst

from ..analysis.data_uses import READ
from ..analysis.nodes import data_use, short_code
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
