from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.nodes import short_code
from ..analysis.plain_tensors import single_binding_value
from ..rewrite.expressions import method_call
from ..rule import Invalid, Rule, Safety, Valid
from ..tree.nodes import single_index


class DataElementKey(Rule):
    """
    ## What it does
    Checks for a tensor element read out of a 0.3 `Tensor` (what `.data` gave) by integer indices,
    bound to a name that then indexes a container: `topv, topi = out.data.topk(1)`, `ni = topi[0][0]`,
    `words[ni]` (the 2017 seq2seq tutorial's decoding loop).

    ## Why is this bad?
    In PyTorch 0.3, indexing a `Tensor` down to one element gave a Python number. It is a 0-dim
    tensor today, and a dict looks a tensor up by identity, not by value: `words[ni]` raises
    `KeyError: tensor(3)`. (A list or a string accepts it, through `__index__`.)

    ## Fix safety
    `.item()` is appended where the name is looked up (`words[ni.item()]`), which gives the
    lookup the number 0.3 gave. Where the container is known to be a dict (a name or an attribute
    the file only ever sets to a dict display, comprehension or `dict(...)`), the fix is safe: the
    0.3 program could look the element up only if it was a number (a dict looked a 0.3 `Tensor` up
    by identity as well), and `.item()` gives that number, of the same type. Elsewhere it is
    unsafe: equivalent only if the element is one element and the container is not a tensor or an
    array (which a tensor of indices may index as it is).

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("Indexing a tensor ... now returns a 0-dimensional tensor")
    - SEMANTICS.md, section E
    """

    CODE = "VM210"
    MESSAGE = "an element indexed out of a tensor was a number in PyTorch 0.3; now a 0-dim tensor, which a dict cannot look up"
    FIX_TITLE = "Append `.item()`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        # The element indexes nothing: 0-dim tensors compare and print as numbers did.
        Valid("import torch\ndef f(out):\n    _, topi = out.data.topk(1)\n    ni = topi[0][0]\n    return ni == 1\n"),
        # A row of a 0.3 Variable (no `.data`) indexes a tensor as it does today.
        Valid("import torch\ndef f(out, emb):\n    _, topi = out.topk(1)\n    ni = topi[0][0]\n    return emb[ni]\n"),
    ]
    INVALID = [
        Invalid(
            # A dict the file fills: safe.
            "import torch\nclass Lang:\n    def __init__(self):\n        self.index2word = {0: 'SOS', 1: 'EOS'}\n"
            "def decode(out, lang):\n    topv, topi = out.data.topk(1)\n    ni = topi[0][0]\n    return lang.index2word[ni]\n",
            expected_replacement="import torch\nclass Lang:\n    def __init__(self):\n        self.index2word = {0: 'SOS', 1: 'EOS'}\n"
            "def decode(out, lang):\n    topv, topi = out.data.topk(1)\n    ni = topi[0][0]\n    return lang.index2word[ni.item()]\n",
            expected_safe_replacement="import torch\nclass Lang:\n    def __init__(self):\n        self.index2word = {0: 'SOS', 1: 'EOS'}\n"
            "def decode(out, lang):\n    topv, topi = out.data.topk(1)\n    ni = topi[0][0]\n    return lang.index2word[ni.item()]\n",
            message="`ni = topi[0][0]` was a number in PyTorch 0.3", range=(8, 12, 8, 31),
        ),
        Invalid(
            # Not known to be a dict: the fix is unsafe.
            "import torch\ndef decode(out, vocab):\n    ni = out.data.max(1)[1][0]\n    return vocab[ni]\n",
            expected_replacement="import torch\ndef decode(out, vocab):\n    ni = out.data.max(1)[1][0]\n    return vocab[ni.item()]\n",
            expected_safe_replacement="import torch\ndef decode(out, vocab):\n    ni = out.data.max(1)[1][0]\n    return vocab[ni]\n",
            message="unsafe: only if it is one element", range=(4, 12, 4, 21),
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._dict_attributes: dict[str, bool] = {}  # attribute name -> only ever set to dicts (a module walk each)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        key = _only_index(node)
        if not isinstance(key, cst.Name) or self.ctx.tensors.is_tensor(node.value):
            return
        element = _single_binding_value(self.ctx, key)
        if element is None or not self._element_of_legacy_tensor(element):
            return
        known_dict = self._is_dict(node.value)
        code = short_code(self.ctx, element)
        container = short_code(self.ctx, node.value)
        # A dict: 0.3 could look the element up only if it was a number, which `.item()` gives.
        safety = Safety.SAFE if known_dict else Safety.UNSAFE
        condition = "" if known_dict else f" (unsafe: only if it is one element, `{container}` not a tensor or an array)"
        # Fixed where it is looked up: the binding's line may carry other fixes (`.data` dropped),
        # after which the element no longer shows where it came from.
        self.report(
            node,
            f"`{key.value} = {code}` was a number in PyTorch 0.3 (an element of a `.data` tensor); now it is a "
            f"0-dim tensor, which `{short_code(self.ctx, node)}` looks up by identity (a dict raises `KeyError`): use "
            f"`{key.value}.item()`" + condition,
            [self.edit(method_call(key, "item"), safety, f"Append `.item()`{condition}")],
            fix_node=key,
        )

    def _is_dict(self, container: cst.BaseExpression) -> bool:
        """A name bound only to a dict in its scope, or an attribute the file only ever sets to dicts."""
        if isinstance(container, cst.Name):
            value = _single_binding_value(self.ctx, container)
            return value is not None and _dict_value(value)
        if not isinstance(container, cst.Attribute):
            return False
        attr = container.attr.value
        if attr not in self._dict_attributes:
            values = _AttributeValues(attr)
            self.ctx.module.visit(values)
            self._dict_attributes[attr] = bool(values.found) and all(_dict_value(v) for v in values.found)
        return self._dict_attributes[attr]

    def _element_of_legacy_tensor(self, element: cst.BaseExpression) -> bool:
        """`topi[0][0]`, `x.data.max(1)[1][0]`: integer indices into what `.data` gave (a 0.3 Tensor)."""
        node = element
        if not isinstance(node, cst.Subscript) or not isinstance(single_index(node), int):
            return False
        while isinstance(node, cst.Subscript) and isinstance(single_index(node), int):
            node = node.value
        return self.ctx.plain_tensors.is_plain(node)


def _single_binding_value(ctx: FileContext, name: cst.Name) -> Optional[cst.BaseExpression]:
    return single_binding_value(ctx.data_uses, ctx.tree, name)


def _only_index(node: cst.Subscript) -> Optional[cst.BaseExpression]:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    return node.slice[0].slice.value


def _dict_value(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Dict, cst.DictComp)):
        return True
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict"


class _AttributeValues(cst.CSTVisitor):
    """The values assigned to `*.attr` anywhere in the module (any other binding: `None` listed)."""

    def __init__(self, attr: str) -> None:
        super().__init__()
        self.attr = attr
        self.found: list[cst.BaseExpression] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            t = target.target
            if isinstance(t, cst.Attribute) and t.attr.value == self.attr:
                self.found.append(node.value)
            elif isinstance(t, (cst.Tuple, cst.List)) and any(
                    isinstance(e.value, cst.Attribute) and e.value.attr.value == self.attr for e in t.elements):
                self.found.append(cst.Name("None"))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Attribute) and node.target.attr.value == self.attr:
            self.found.append(cst.Name("None"))
