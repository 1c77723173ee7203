from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.data_uses import INDEX_ZERO, DataUse
from ..analysis.nodes import data_use, short_code, strip_device_moves
from ..analysis.plain_tensors import single_binding_value
from ..analysis.torch_api import FULL_REDUCTIONS
from ..rewrite.comments import loses_comments
from ..rewrite.expressions import method_call, with_expression_whitespace
from ..rule import Invalid, Rule, Safety, Valid
from ..tree.nodes import single_index

_SCALAR, _VECTOR, _ROWS, _MANY, _UNKNOWN = "scalar", "vector", "rows", "many", "unknown"


def _rank(ctx: FileContext, base: cst.BaseExpression) -> str:
    """What `base` is: 0-dim or one element (`scalar`), 1-D (`vector`), at least 2-D (`rows`), at
    least 1-D with more than one element (`many`: a per-sample loss), or not known."""
    tensors = ctx.tensors
    if tensors.is_scalar(base) or _full_reduction(base):
        return _SCALAR
    shape = tensors.shape(base)
    if shape is not None:
        return _VECTOR if len(shape) == 1 else _ROWS
    if tensors.is_per_element(base):
        return _MANY
    return _UNKNOWN


_OUTPUT_NAMES = frozenset({"output", "outputs", "out", "logits", "scores", "features", "images", "imgs"})


def _network_output(ctx: FileContext, base: cst.BaseExpression) -> bool:
    """`model(x)` of a module that is no criterion (those are `_SCALAR`), or a name so bound or
    named as a network's output is (`output`, `logits` ...): a batch, rarely one element."""
    if isinstance(base, cst.Name):
        if base.value in _OUTPUT_NAMES:
            return True
        value = single_binding_value(ctx.data_uses, ctx.tree, base)
        return value is not None and value is not base and _network_output(ctx, value)
    return isinstance(base, cst.Call) and ctx.tensors.is_module(base.func)


def _full_reduction(node: cst.BaseExpression) -> bool:
    """`x.sum().data[0]`: a reduction without a dim is 0-dim (`.data` after it says `x` is a tensor:
    a numpy scalar's `.data` cannot be indexed)."""
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and not node.args
            and node.func.attr.value in FULL_REDUCTIONS)


def _conversion(use: DataUse, subscript: cst.Subscript) -> Optional[str]:
    """`numpy` / `tolist` for `x.data.numpy()[0]` / `x.data.tolist()[0]`; None for `x.data[0]` and
    `x.data.cpu()[0]` (a tensor indexed)."""
    call = subscript.value
    if use.subscript is None or not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
        return None
    method = call.func.attr.value
    return method if method in ("numpy", "tolist") else None


# Of the methods between `.data` and `[0]`, those that change the number read (the others move,
# copy or squeeze it): `.item()` keeps them.
_CASTS = ("double", "float", "half", "long", "int")


def _casts(subscript: cst.Subscript, data: cst.Attribute) -> list[str]:
    """`x.data.cpu().long().numpy()[0]` -> ["long"]."""
    names = []
    node = subscript.value
    while node is not data and isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        names.append(node.func.attr.value)
        node = node.func.value
    return [name for name in reversed(names) if name in _CASTS]


def _cast(node: cst.BaseExpression, casts: list[str]) -> cst.BaseExpression:
    for name in casts:
        node = method_call(node, name)
    return node


class DataIndexZero(Rule):
    """
    ## What it does
    Checks for `x.data[0]`, the PyTorch 0.3 idiom for reading the number out of a loss
    (`total_loss += loss.data[0]`, `print(loss.data[0])`), its numpy and list spellings
    (`loss.data.numpy()[0]`, `loss.cpu().data.numpy()[0]`, `loss.data.tolist()[0]`), the same
    through a move, copy or cast (`loss.data.cpu()[0]`, `loss.data.float()[0]`), and `total[0]`
    on a name that is only ever set to `0` and `+=` a 0-dim value read through `.data`/`.detach()`
    (`total_loss += loss.data` ... `total_loss[0]`, the pytorch/examples word_language_model loop).

    The form raises on every 0-dim tensor, so it is reported on any base not known to be something
    else: a tensor, but also a subscript (`state['loss'].data[0]`), a call's result
    (`crit(out, y).data[0]`, `x.sum().data[0]`, `model(x).data[0]`), an accumulator that started as
    a number (`total = 0; total += loss`), or a name of unknown type. It is not reported where the
    base is known not to be a tensor: numpy and scipy values, datasets and loaders, argparse
    namespaces, containers, and `self` in a class that is not a tensor subclass.

    ## Why is this bad?
    Since PyTorch 0.4 losses and full reductions are 0-dim tensors, and indexing a 0-dim tensor raises
    `IndexError: invalid index of a 0-dim tensor. Use tensor.item() ...`. Every loss does this, so the
    legacy line crashes. On a one-element or 1-D tensor it no longer gives a Python number either, but
    a 0-dim tensor, so totals silently become tensors.

    ## Fix safety
    What 0.3 gave depends on the rank of `x`, so the fix does too:
    - `x` known to be 0-dim or to have one element (a loss: a loss-like name, a call of a criterion
      module or `F.*_loss` that reduces, a sum of such, an accumulator of such; a full reduction such
      as `x.sum()`; `torch.randn(1)`): `x.item()`, the Python number 0.3 gave (safe).
    - `x` known to be 1-D (`torch.zeros(3)`, `x.view(-1)`): `x[0].item()`, the number 0.3 gave (safe).
    - `x` known to have at least 2 dimensions, or to hold one value per sample (an unreduced loss):
      `x.detach()[0]`, the row it read before (safe where nothing writes in place through the row;
      `.detach()` shares the version counter that `.data` did not, SEMANTICS.md E).
    - rank not known: `x.item()` as an unsafe fix (equivalent only if `x` has exactly one element;
      offered only where the value is used as a number), then `x.detach()[0]` (unsafe: only if `x`
      is not 0-dim); the other way round for a network's output (`model(x)` of a module that is no
      criterion, or a name bound to one or named `output`, `logits` ...: a batch, whose `[0]` is the
      first sample). Plain `fix` leaves these, each reported.

    `prec1[0]` of an item of the list a function of the file returns, known 0-dim today
    (`prec1, prec5 = accuracy(output.data, target)`, whose `res.append(correct_k.mul_(...))` holds
    `correct[:k].view(-1).float().sum(0)`: one element in 0.3) becomes `prec1.item()`: safe where the
    call's arguments are `.data` tensors (the function computed on 0.3 `Tensor`s, whose `[0]` was a
    number), unsafe otherwise (0.3 gave a one-element Variable: only if it is used as a number).

    The numpy spelling gives a numpy scalar of the tensor's dtype in 0.3 and `.item()` a Python float
    of the same value; on a 0-dim loss the legacy line raises, so the fix is required. For `total[0]`,
    the total is a 0-dim tensor (a sum of 0-dim tensors), `total[0]` raises, and `total.item()` gives
    the float that 0.3 gave, summed in the tensor's dtype as before (safe). A fix that would drop a
    comment inside `[ ... ]` is downgraded to unsafe.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("Using `.item()` to get a Python number")
    - SEMANTICS.md, section E (`loss.data[0]` rows)
    """

    CODE = "VM201"
    MESSAGE = "`loss.data[0]` raises on the 0-dim tensors that losses are since PyTorch 0.4"
    FIX_TITLE = "Replace `x.data[0]` with `x.item()`"
    FIX = Safety.SAFE
    # `Variable`: `s = x.sum(); s[0]` of a Variable, with no `.data` in the file
    TRIGGERS = (".data", "Variable", "sum()[0]", "mean()[0]", "norm()[0]", "max()[0]", "min()[0]", "prod()[0]")

    VALID = [
        Valid("import torch\nx = torch.randn(3)\nprint(x[0])\n"),
        Valid("import torch\nimport numpy as np\nm = np.ones(3)\nprint(m.data[0])\n"),
        Valid("import torch\nfrom torch.utils.data import DataLoader\ndef f(dataset):\n    return dataset.data[0]\n"),
        Valid("import torch\nclass Buffer(object):\n    def head(self):\n        return self.data[0]\n"),
        Valid("import torch\nimport argparse\nargs = argparse.ArgumentParser().parse_args()\nprint(args.data[0])\n"),
        Valid("import torch\nimport numpy as np\nimport scipy.sparse as sp\nprint(np.asarray(x).data[0], sp.csr_matrix(x).data[0])\n"),
    ]
    INVALID = [
        Invalid(
            "import torch.nn.functional as F\n"
            "def train(model, x, y):\n"
            "    loss = F.nll_loss(model(x), y)\n"
            "    print('loss %.3f' % loss.data[0])\n",
            expected_replacement="import torch.nn.functional as F\n"
            "def train(model, x, y):\n"
            "    loss = F.nll_loss(model(x), y)\n"
            "    print('loss %.3f' % loss.item())\n",
            message="`loss.data[0]` raises on 0-dim tensors (every loss since PyTorch 0.4): use `loss.item()`", range=(4, 25, 4, 37),
        ),
        Invalid(
            "import torch.nn as nn\ncriterion = nn.CrossEntropyLoss()\ndef step(out, y, total):\n"
            "    return total + criterion(out, y).data[0]\n",
            expected_replacement="import torch.nn as nn\ncriterion = nn.CrossEntropyLoss()\ndef step(out, y, total):\n"
            "    return total + criterion(out, y).item()\n",
            message="`criterion(out, y).data[0]` raises on 0-dim tensors (every loss since PyTorch 0.4): use `criterion(out, y).item()`",
            range=(4, 20, 4, 45),
        ),
        Invalid(
            # Moved, copied or cast, a 0-dim loss stays 0-dim: `[0]` raises; a cast is kept.
            "import torch.nn.functional as F\ndef step(out, y, log):\n    loss = F.nll_loss(out, y)\n"
            "    log.append(loss.data.cpu()[0])\n    return loss.data.long()[0]\n",
            expected_replacement="import torch.nn.functional as F\ndef step(out, y, log):\n    loss = F.nll_loss(out, y)\n"
            "    log.append(loss.item())\n    return loss.long().item()\n",
            message="`loss.data.cpu()[0]` raises on 0-dim tensors (every loss since PyTorch 0.4): use `loss.item()`",
            range=(4, 16, 4, 34),
        ),
        Invalid(
            # An accumulator of values of unknown rank (`crit` is passed in): `[0]` raises if they are 0-dim.
            "import torch\ndef evaluate(batches, crit):\n    total = 0\n    for out, y in batches:\n"
            "        total += crit(out, y).data\n    return total[0]\n",
            expected_replacement="import torch\ndef evaluate(batches, crit):\n    total = 0\n    for out, y in batches:\n"
            "        total += crit(out, y).data\n    return total.item()\n",
            expected_safe_replacement="import torch\ndef evaluate(batches, crit):\n    total = 0\n    for out, y in batches:\n"
            "        total += crit(out, y).data\n    return total[0]\n",
            message="`total` sums values read through `.data` (`total += crit(out, y).data`) of a rank not known here",
            range=(6, 12, 6, 20),
        ),
        Invalid(
            "import torch\nb = torch.randn(1, requires_grad=True)\nprint('b', b.data[0])\n",
            expected_replacement="import torch\nb = torch.randn(1, requires_grad=True)\nprint('b', b.item())\n",
            message="`b.data[0]` gave a number in PyTorch 0.3; on the one-element `b` it is now a 0-dim tensor: use `b.item()`", range=(3, 12, 3, 21),
        ),
        Invalid(
            "import torch\nw = torch.zeros(3)\nprint(w.data[0])\n",
            expected_replacement="import torch\nw = torch.zeros(3)\nprint(w[0].item())\n",
            message="`w.data[0]` gave a number in PyTorch 0.3 (`w` is 1-D); now it is a 0-dim tensor: use `w[0].item()`", range=(3, 7, 3, 16),
        ),
        Invalid(
            "import torch\ndef log(state):\n    print(state['loss'].data[0], state['out'].data[0])\n",
            expected_replacement="import torch\ndef log(state):\n    print(state['loss'].item(), state['out'].item())\n",
            expected_safe_replacement="import torch\ndef log(state):\n    print(state['loss'].item(), state['out'].data[0])\n",
            message="`state['loss'].data[0]` raises on 0-dim tensors (every loss since PyTorch 0.4): use `state['loss'].item()`",
            range=(3, 11, 3, 32),
        ),
        Invalid(
            # A torch layer keeps its input's rank: `nn.Linear` of a batch gives rows, of a vector a vector.
            "import torch\nimport torch.nn as nn\nnet = nn.Linear(5, 2)\nx = torch.randn(10, 5)\nv = torch.randn(5)\n"
            "print(net(x).data[0], nn.ReLU()(v).data[0])\nact = nn.Tanh()\nprint(act(v).data[0])\n",
            expected_replacement="import torch\nimport torch.nn as nn\nnet = nn.Linear(5, 2)\nx = torch.randn(10, 5)\n"
            "v = torch.randn(5)\nprint(net(x).detach()[0], nn.ReLU()(v)[0].item())\nact = nn.Tanh()\nprint(act(v)[0].item())\n",
            message="`net(x).data[0]` reads a row of `net(x)` (not 0-dim)", range=(6, 7, 6, 21),
        ),
        Invalid(
            # Rank unknown and the value is iterated over: a row, never `.item()`, even as an unsafe fix.
            "import torch\ndef first(model, x):\n    row = model(x).data[0]\n    return [v for v in row]\n",
            expected_replacement="import torch\ndef first(model, x):\n    row = model(x).detach()[0]\n    return [v for v in row]\n",
            expected_safe_replacement="import torch\ndef first(model, x):\n    row = model(x).data[0]\n    return [v for v in row]\n",
            message="the rank of `model(x)` is not known here", range=(3, 11, 3, 27),
        ),
        Invalid(
            # A function or method of the file whose every return is a loss: its result is 0-dim.
            "import torch\nimport torch.nn.functional as F\ndef crit(out, y):\n    loss = F.nll_loss(out, y)\n    return loss\n"
            "class T:\n    def gp(self, x, y):\n        return F.mse_loss(x, y) * 10\n"
            "    def step(self, o, y):\n        return crit(o, y).data[0] + self.gp(o, y).data[0]\n",
            expected_replacement="import torch\nimport torch.nn.functional as F\ndef crit(out, y):\n    loss = F.nll_loss(out, y)\n"
            "    return loss\nclass T:\n    def gp(self, x, y):\n        return F.mse_loss(x, y) * 10\n"
            "    def step(self, o, y):\n        return crit(o, y).item() + self.gp(o, y).item()\n",
            message="`crit(o, y).data[0]` raises on 0-dim tensors (every loss since PyTorch 0.4): use `crit(o, y).item()`",
            range=(10, 16, 10, 34),
        ),
        Invalid(
            # Elementwise torch functions keep the broadcast shape of their arguments (BEGAN's measure).
            "import torch\nimport torch.nn.functional as F\ndef d(x, r):\n    return F.l1_loss(x, r)\n"
            "def measure(x, r, g):\n    m = d(x, r) + torch.abs(0.5 * d(x, r) - d(g, r))\n    return m.data[0]\n",
            expected_replacement="import torch\nimport torch.nn.functional as F\ndef d(x, r):\n    return F.l1_loss(x, r)\n"
            "def measure(x, r, g):\n    m = d(x, r) + torch.abs(0.5 * d(x, r) - d(g, r))\n    return m.item()\n",
            message="`m.data[0]` raises on 0-dim tensors (every loss since PyTorch 0.4): use `m.item()`",
            range=(7, 12, 7, 21),
        ),
        Invalid(
            # Rank unknown, stored in an attribute or an item, or re-bound to its own name: no use
            # shows a row, so the unsafe fix is `.item()` (every 0.3 loss had one element).
            "import torch\nclass Log:\n    def add(self, losses, k, t):\n        self.last = losses[k].data[0]\n"
            "        self.sums[k] += losses[k].data[0]\n        t = t.data[0]\n        return min(t, 1)\n",
            expected_replacement="import torch\nclass Log:\n    def add(self, losses, k, t):\n        self.last = losses[k].item()\n"
            "        self.sums[k] += losses[k].item()\n        t = t.item()\n        return min(t, 1)\n",
            expected_safe_replacement="import torch\nclass Log:\n    def add(self, losses, k, t):\n        self.last = losses[k].data[0]\n"
            "        self.sums[k] += losses[k].data[0]\n        t = t.data[0]\n        return min(t, 1)\n",
            message="the rank of `losses[k]` is not known here", range=(4, 21, 4, 38),
        ),
        Invalid(
            # A function of a package not known to return only non-tensors (torchnet, a lab's
            # toolbox): the loss it returns is reported, its rank unknown.
            "import torch\nimport torchbiomed.loss as bioloss\ndef test(out, y):\n    loss = bioloss.dice_loss(out, y).data[0]\n"
            "    return loss\n",
            expected_replacement="import torch\nimport torchbiomed.loss as bioloss\ndef test(out, y):\n"
            "    loss = bioloss.dice_loss(out, y).item()\n    return loss\n",
            expected_safe_replacement="import torch\nimport torchbiomed.loss as bioloss\ndef test(out, y):\n"
            "    loss = bioloss.dice_loss(out, y).data[0]\n    return loss\n",
            message="`bioloss.dice_loss(out, y).data[0]` raises on a 0-dim tensor", range=(4, 12, 4, 45),
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        use = data_use(self.ctx, node)
        if use is None or use.kind != INDEX_ZERO:
            return
        subscript = use.subscript or self.ctx.parent(node)
        assert isinstance(subscript, cst.Subscript)
        via = _conversion(use, subscript)
        base = strip_device_moves(node.value)
        casts = _casts(subscript, node)
        code = short_code(self.ctx, base, 30)
        whole = short_code(self.ctx, subscript)
        item = with_expression_whitespace(method_call(_cast(base, casts), "item"), subscript)
        # A comment inside `[ ... ]` would be lost: never silently.
        keep = Safety.UNSAFE if loses_comments(subscript, item) else Safety.SAFE
        rank = _rank(self.ctx, base)
        # The message names the user's expression; a long one is named by its fix alone.
        spelled = "".join(f".{name}()" for name in casts)
        use_item = f"`{code}{spelled}.item()`" if not code.endswith("...") else f"`{spelled}.item()`"
        if rank == _SCALAR:
            why = f" (`[0]` of a 0-dim {'array' if via == 'numpy' else 'value'})" if via else ""
            if self.ctx.tensors.shape(base) == (1,):
                message = (f"`{whole}` gave a number in PyTorch 0.3; on the one-element `{code}` it is now a 0-dim "
                           f"tensor: use {use_item}")
            else:
                message = f"`{whole}` raises on 0-dim tensors (every loss since PyTorch 0.4){why}: use {use_item}"
            self.report(subscript, message, [self.edit(item, keep, f"Replace with {use_item}")])
            return
        detached = subscript.deep_replace(node, method_call(node.value, "detach"))
        if via == "tolist":
            # `x.tolist()` reads a tensor that requires grad as it is: `.data` is noise.
            detached = subscript.deep_replace(node, node.value)  # type: ignore[arg-type]
        assert isinstance(detached, cst.BaseExpression)
        if rank == _VECTOR and not via:
            first = with_expression_whitespace(
                method_call(_cast(cst.Subscript(value=base, slice=subscript.slice), casts), "item"), subscript)
            self.report(subscript, f"`{whole}` gave a number in PyTorch 0.3 (`{code}` is 1-D); now it is a 0-dim "
                        f"tensor: use `{short_code(self.ctx, first)}`",
                        [self.edit(first, Safety.UNSAFE if loses_comments(subscript, first) else Safety.SAFE,
                                   f"Replace with `{short_code(self.ctx, first)}`")])
            return
        new = short_code(self.ctx, detached)
        edits = []
        if rank == _UNKNOWN:
            if self.ctx.scalar_values.number_ok(subscript):
                edits.append(self.edit(item, Safety.UNSAFE, f"Replace with {use_item} (unsafe: only if `{code}` has exactly one element)"))
            row = self.edit(detached, Safety.UNSAFE, f"Replace with `{new}` (unsafe: only if `{code}` is not 0-dim)")
            # A network's output is a batch: its `[0]` is the first sample, which `--unsafe-fixes` keeps.
            edits.insert(0 if _network_output(self.ctx, base) else len(edits), row)
            it = f"`{code}`" if not code.endswith("...") else "it"
            message = (f"`{whole}` raises on a 0-dim tensor (every loss since PyTorch 0.4), and the rank of {it} is "
                       f"not known here: use {use_item} if {it} has exactly one element, else `{new}`")
        else:
            # Not 0-dim: the line reads what it read in 0.3, and only `.data`'s version counter goes.
            if use.escape is None or via is not None:
                edits.append(self.edit(detached, keep, f"Replace with `{new}`"))
            else:
                edits.append(self.edit(detached, Safety.UNSAFE, f"Replace with `{new}` (unsafe: {use.escape}, and "
                                       "`.detach()` shares the version counter that `.data` did not)"))
            what = "an element" if via else "a row"
            message = (f"`{whole}` reads {what} of `{code}` (not 0-dim) as in PyTorch 0.3; `.data` is the legacy "
                       f"spelling: use `{new}`")
        self.report(subscript, message, edits)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if single_index(node) != 0:
            return
        uses = self.ctx.data_uses
        if uses.is_store(node):
            return
        value = node.value
        # `total_loss += loss.data` ... `total_loss[0]`: the accumulator is a 0-dim tensor now; of
        # what it sums the rank may not be known here (`crit(out, y).data` of a `crit` passed in):
        # reported too, since `[0]` raises if that is 0-dim, its `.item()` only under that condition.
        found = self.ctx.scalar_values.accumulated_scalar(value, node) if isinstance(value, cst.Name) else None
        if found is not None:
            assert isinstance(value, cst.Name)
            sample, known = found
            name = value.value
            summed = f"`{name} += {short_code(self.ctx, cst.parse_expression(sample), 30)}`"
            item = with_expression_whitespace(method_call(value, "item"), node)
            title = f"Replace `{name}[0]` with `{name}.item()`"
            if known:
                message = f"`{name}` sums 0-dim tensors ({summed}), so `{name}[0]` raises on PyTorch >= 0.4: use `{name}.item()`"
                edit = self.edit(item, Safety.UNSAFE if loses_comments(node, item) else Safety.SAFE, title)
            else:
                message = (f"`{name}` sums values read through `.data` ({summed}) of a rank not known here; if they are "
                           f"0-dim (every loss since PyTorch 0.4), `{name}[0]` raises: use `{name}.item()`")
                edit = self.edit(item, Safety.UNSAFE, f"{title} (unsafe: only if what it sums has exactly one element)")
            self.report(node, message, [edit])
            return
        call = self._item_of_returned_list(value) if isinstance(value, cst.Name) else None
        if call is not None:
            self._returned_item(node, value, call)  # type: ignore[arg-type]
            return
        if not self._zero_dim_with_history(value):
            return
        # In 0.3 a reduction of a Variable (and a sum of losses) had shape (1,), and `[0]` of a 1-D
        # Variable gave a one-element Variable again (0.4 migration guide): `.view(1)` is that.
        code = short_code(self.ctx, value, 30)
        whole = short_code(self.ctx, node)
        viewed = with_expression_whitespace(method_call(value, "view", [cst.Arg(cst.Integer("1"))]), node)
        bare = with_expression_whitespace(value, node)
        edits = [
            self.edit(bare, Safety.UNSAFE, f"Replace with `{code}` (unsafe: only if nothing depends on the shape "
                      "(1,) the value had in PyTorch 0.3)"),
            self.edit(viewed, Safety.UNSAFE if loses_comments(node, viewed) else Safety.SAFE,
                      f"Replace with `{code}.view(1)`"),
        ]
        self.report(node, f"`{whole}` raises on the 0-dim tensor `{code}` is since PyTorch 0.4 (0.3 gave a one-element "
                    f"tensor): use `{code}`, or `{code}.view(1)` for the shape 0.3 gave", edits)

    def _item_of_returned_list(self, name: cst.Name) -> Optional[cst.Call]:
        """The call whose returned list's 0-dim item every binding of `name` in its scope takes
        (`prec1, prec5 = accuracy(...)`, `prec1 = accuracy(...)[0]`)."""
        shapes, scopes = self.ctx.tensors.shapes, self.ctx.data_uses.scopes
        calls = []
        for binding in scopes.bindings(name):
            found = scopes.assignment_of(binding)
            if found is None:
                return None
            value, unpacked = found
            if not unpacked and isinstance(value, cst.Subscript) and isinstance(value.value, cst.Call) \
                    and single_index(value) is not None and shapes.of(value) == ():
                calls.append(value.value)
            elif unpacked and isinstance(value, cst.Call) and shapes.returned_items(value) == ():
                calls.append(value)
            else:
                return None
        return calls[0] if calls else None

    def _returned_item(self, node: cst.Subscript, value: cst.Name, call: cst.Call) -> None:
        """`prec1, prec5 = accuracy(output.data, target)` ... `prec1[0]`: an item of the list a
        function of this file returns, 0-dim since 0.4 (`correct[:k].view(-1).sum(0)`): one element
        in 0.3. Of `.data` arguments the function computed on 0.3 `Tensor`s, whose `[0]` was the
        number `.item()` gives (safe); otherwise 0.3 gave a one-element Variable (unsafe)."""
        name, func = value.value, short_code(self.ctx, call.func)
        plain = any(a.keyword is None and self.ctx.plain_tensors.is_plain_argument(a.value) for a in call.args)
        item = with_expression_whitespace(method_call(value, "item"), node)
        condition = "" if plain else " (unsafe: only if the value is used as a number)"
        safety = Safety.UNSAFE if not plain or loses_comments(node, item) else Safety.SAFE
        self.report(node, f"`{name}` is an item of the list `{func}(...)` returns, a 0-dim tensor since PyTorch 0.4 "
                    f"(one element in 0.3), so `{name}[0]` raises: use `{name}.item()`{condition}",
                    [self.edit(item, safety, f"Replace `{name}[0]` with `{name}.item()`{condition}")])

    def _zero_dim_with_history(self, value: cst.BaseExpression) -> bool:
        """`x.sum()`, `torch.mean(x)` (a full reduction of something that may be a tensor), or a name
        known to be a 0-dim tensor (`total = 0; total += loss`)."""
        tensors = self.ctx.tensors
        if isinstance(value, cst.Call) and not any(a.keyword is not None or a.star for a in value.args):
            func = value.func
            if isinstance(func, cst.Attribute) and func.attr.value in FULL_REDUCTIONS and not value.args:
                return self.ctx.data_uses.could_be_tensor(func.value) and self.ctx.imports.qualified(func) is None
            q = self.ctx.imports.qualified(func) or ""
            if q.startswith("torch.") and q.rsplit(".", 1)[-1] in FULL_REDUCTIONS and len(value.args) == 1:
                return True
            return False
        return isinstance(value, cst.Name) and tensors.is_tensor(value) and tensors.shape(value) == ()
