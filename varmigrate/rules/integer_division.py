from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.nodes import short_code
from ..analysis.plain_tensors import single_binding_value
from ..rewrite.expressions import torch_attr
from ..rule import Invalid, Rule, Safety, Valid

# Methods whose result is `(values, indices)`: the second is a LongTensor.
_INDEXED = frozenset({"topk", "max", "min", "sort", "kthvalue", "mode", "median"})
# Methods and attributes that keep an integer tensor integer.
_KEEP_DTYPE = frozenset({"data", "cpu", "cuda", "clone", "view", "view_as", "squeeze", "unsqueeze", "contiguous",
                         "detach", "t", "expand", "expand_as", "index_select", "gather", "repeat", "reshape"})
_INTEGER_RESULTS = frozenset({"argmax", "argmin", "long", "int", "nonzero"})
_DEPTH = 12


class IntegerDivision(Rule):
    """
    ## What it does
    Checks for `/` (and `/=`) of an integer tensor by an integer: `prev_k = best_scores_id /
    num_words` after `best_scores, best_scores_id = flat.topk(k, 0, True, True)` (the beam search
    of 2017 translation and captioning code), `idx.long() / 2`.

    ## Why is this bad?
    In PyTorch 0.3 dividing a `LongTensor` divided as integers (truncating, as C does). Since 1.5 `/`
    is true division: the result is a float tensor, so `scores[prev_k]` raises `IndexError: tensors
    used as indices must be long ...`, and `ids /= n` raises outright; where nothing fails the numbers
    silently change.

    ## Fix safety
    `torch.div(a, b, rounding_mode="trunc")` (`a.div_(b, rounding_mode="trunc")` for `/=`): 0.3's
    truncating integer division. It is safe where the divisor is known to be an integer (a literal,
    `x.size(i)`, `len(...)`, a name only ever bound to one, an integer tensor); otherwise unsafe:
    equivalent only if the divisor is an integer (a 0.3 `LongTensor` divided by `2.5` divided by 2).
    The dividend is known to be an integer tensor: the indices of `topk`/`max(dim)`/`sort`, `argmax`,
    `.long()`, `torch.LongTensor(...)`.

    ## References
    - [PyTorch 1.5 release notes](https://github.com/pytorch/pytorch/releases/tag/v1.5.0) (integer
      division with `/` now true division)
    - [torch.div](https://pytorch.org/docs/stable/generated/torch.div.html) (`rounding_mode`)
    """

    CODE = "VM214"
    MESSAGE = "`/` of an integer tensor divided as integers in PyTorch 0.3; it is true division now"
    FIX_TITLE = 'Replace with `torch.div(a, b, rounding_mode="trunc")`'
    FIX = Safety.SAFE
    # (`.max(1)[1] / n` in a file of Variables or `.data` reads: their triggers have it parsed)
    TRIGGERS = ("topk(", "argmax(", ".long()", "LongTensor(", ".sort(")

    VALID = [
        # A float tensor's division is the same in both.
        Valid("import torch\ndef f(x):\n    return x.float() / 2\n"),
        # Not known to be integers.
        Valid("import torch\ndef f(x, n):\n    return x / n\n"),
        # Truncated by `int(...)` as 0.3's integer division was.
        Valid("import torch\ndef f(x, k):\n    i = x.nonzero()\n    return int(i[0] / k)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\ndef step(word_lk, k):\n    num_words = word_lk.size(1)\n    flat = word_lk.view(-1)\n"
            "    best, best_id = flat.topk(k, 0, True, True)\n    prev_k = best_id / num_words\n    return prev_k\n",
            expected_replacement="import torch\ndef step(word_lk, k):\n    num_words = word_lk.size(1)\n    flat = word_lk.view(-1)\n"
            "    best, best_id = flat.topk(k, 0, True, True)\n    prev_k = torch.div(best_id, num_words, rounding_mode=\"trunc\")\n"
            "    return prev_k\n",
            message="`best_id / num_words` divided as integers in PyTorch 0.3", range=(6, 14, 6, 33),
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._names: dict[tuple[int, str], bool] = {}

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not isinstance(node.operator, cst.Divide) or not self._integer_tensor(node.left, 0) or self._truncated(node):
            return
        known = self._integer(node.right, 0)
        if known is None:
            return
        a, b = short_code(self.ctx, node.left, 30), short_code(self.ctx, node.right, 30)
        condition = "" if known else f" (unsafe: only if `{b}` is an integer)"
        new = cst.Call(torch_attr(self.ctx.torch, "div"), [
            cst.Arg(node.left.with_changes(lpar=[], rpar=[]) if node.left.lpar else node.left),
            cst.Arg(node.right.with_changes(lpar=[], rpar=[]) if node.right.lpar else node.right),
            cst.Arg(cst.SimpleString('"trunc"'), keyword=cst.Name("rounding_mode"),
                    equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))])
        self.report(node, f"`{a} / {b}` divided as integers in PyTorch 0.3 (`{a}` is an integer tensor); it is true "
                    f'division now (a float tensor): use `torch.div({a}, {b}, rounding_mode="trunc")`{condition}',
                    [self.edit(new.with_changes(lpar=node.lpar, rpar=node.rpar), Safety.SAFE if known else Safety.UNSAFE,
                               self.FIX_TITLE + condition, needs_torch=True)])

    def _truncated(self, node: cst.BinaryOperation) -> bool:
        """`int(a / b)`: truncated anyway, as 0.3's integer division was."""
        arg = self.ctx.parent(node)
        call = self.ctx.parent(arg) if isinstance(arg, cst.Arg) else None
        return isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "int" \
            and len(call.args) == 1

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not isinstance(node.operator, cst.DivideAssign) or not self._integer_tensor(node.target, 0):
            return
        known = self._integer(node.value, 0)
        if known is None:
            return
        a, b = short_code(self.ctx, node.target, 30), short_code(self.ctx, node.value, 30)
        condition = "" if known else f" (unsafe: only if `{b}` is an integer)"
        call = cst.Call(cst.Attribute(node.target, cst.Name("div_")), [
            cst.Arg(node.value),
            cst.Arg(cst.SimpleString('"trunc"'), keyword=cst.Name("rounding_mode"),
                    equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))])
        self.report(node, f"`{a} /= {b}` divided as integers in PyTorch 0.3 (`{a}` is an integer tensor); it raises "
                    f'now: use `{a}.div_({b}, rounding_mode="trunc")`{condition}',
                    [self.edit(cst.Expr(call, semicolon=node.semicolon), Safety.SAFE if known else Safety.UNSAFE,
                               'Replace with `a.div_(b, rounding_mode="trunc")`' + condition)])

    # -- what is an integer ---------------------------------------------------------------------
    def _integer(self, node: cst.BaseExpression, depth: int) -> Optional[bool]:
        """True: known to be an integer (or an integer tensor); False: not known (a name of unknown
        kind); None: known not to be (a float literal, a float tensor)."""
        if isinstance(node, cst.Integer):
            return True
        if isinstance(node, (cst.Float, cst.Imaginary)):
            return None
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in ("size", "numel", "dim") or (
                    isinstance(func, cst.Name) and func.value in ("len", "int")):
                return True
            if isinstance(func, cst.Attribute) and func.attr.value in ("float", "double", "half"):
                return None
        if isinstance(node, cst.Name):
            if node.value in self.ctx.tensors.int_names:
                return True
            value = single_binding_value(self.ctx.data_uses, self.ctx.tree, node)
            if value is not None and value is not node and depth < _DEPTH:
                inner = self._integer(value, depth + 1)
                if inner is not None:
                    return inner
        if self._integer_tensor(node, depth + 1):
            return True
        return False

    def _integer_tensor(self, node: cst.BaseExpression, depth: int) -> bool:
        if depth > _DEPTH:
            return False
        if isinstance(node, cst.Attribute):
            return node.attr.value in _KEEP_DTYPE and self._integer_tensor(node.value, depth + 1)
        if isinstance(node, cst.Subscript):
            if _indices_of(node):
                return True
            return self._integer_tensor(node.value, depth + 1)
        if isinstance(node, cst.Call):
            func = node.func
            q = self.ctx.imports.qualified(func)
            if q in ("torch.LongTensor", "torch.IntTensor", "torch.cuda.LongTensor", "torch.argmax", "torch.argmin"):
                return True
            if isinstance(func, cst.Attribute):
                if func.attr.value in _INTEGER_RESULTS:
                    return True
                return func.attr.value in _KEEP_DTYPE and self._integer_tensor(func.value, depth + 1)
            return False
        if isinstance(node, cst.Name):
            return self._name(node, depth)
        return False

    def _name(self, node: cst.Name, depth: int) -> bool:
        key = (id(self.ctx.data_uses.scopes.scope_of(node)), node.value)
        if key not in self._names:
            self._names[key] = False  # a binding that reads the name itself is no evidence
            bindings = self.ctx.data_uses.scopes.bindings(node)
            self._names[key] = bool(bindings) and all(self._bound_integer(b, depth) for b in bindings)
        return self._names[key]

    def _bound_integer(self, binding: cst.Name, depth: int) -> bool:
        """`ids = x.argmax(1)`, or the second name of `_, ids = x.topk(k)`."""
        holder = self.ctx.parent(binding)
        element = holder if isinstance(holder, cst.Element) else None
        if element is not None:
            holder = self.ctx.parent(element)
        target = self.ctx.parent(holder) if element is not None and holder is not None else holder
        if not isinstance(target, cst.AssignTarget):
            return False
        assign = self.ctx.parent(target)
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            return False
        value = assign.value
        if element is None:
            return self._integer_tensor(value, depth + 1)
        assert isinstance(holder, (cst.Tuple, cst.List))
        position = list(holder.elements).index(element)
        return position == 1 and len(holder.elements) == 2 and _pair_of_indices(value)


def _pair_of_indices(value: cst.BaseExpression) -> bool:
    """`x.topk(k)`, `x.max(1)`, `x.sort(0)`, `torch.max(x, 1)`: `(values, indices)`."""
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    if isinstance(func, cst.Attribute) and func.attr.value in _INDEXED:
        # `x.max()` / `torch.max(x)` without a dim is one value, not a pair
        needed = 1 if not (isinstance(func.value, cst.Name) and func.value.value == "torch") else 2
        return len(value.args) >= needed or func.attr.value in ("topk", "sort")
    return False


def _indices_of(node: cst.Subscript) -> bool:
    """`x.max(1)[1]`, `x.topk(k)[1]`: the indices of a `(values, indices)` pair."""
    if len(node.slice) != 1:
        return False
    index = node.slice[0].slice
    return isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "1" \
        and _pair_of_indices(node.value)
