from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.nodes import short_code
from ..analysis.number_uses import kept_as_number
from ..rewrite.expressions import method_call
from ..rule import Invalid, Rule, Safety, Valid


class DataElementNumber(Rule):
    """
    ## What it does
    Checks for one element indexed out of a 0.3 `Tensor` (what `.data` gave, a factory's result,
    or an op on one) by as many integer indices as it has dimensions, where the program passes the
    value on, keeps it in a container or prints it: `env.step(action[0, 0])` after
    `action = q.data.max(1)[1].view(1, 1)` (the 2017 DQN tutorial), `{"q": q_values.data[0, 1]}`.

    ## Why is this bad?
    In PyTorch 0.3 an element of a `Tensor` was a Python number. It is a 0-dim tensor today: gym's
    `Discrete.contains` refuses it (`env.step` fails its assertion), `json` cannot encode it, a dict
    looks it up by identity, and it prints as `tensor(1)`.

    ## Fix safety
    `.item()` is appended, which gives the number 0.3 gave. It is safe: the tensor is known to be a
    0.3 `Tensor` (a `.data` read, a factory such as `torch.LongTensor([[a]])`, a function of the file
    that returns only such, or an op on one), and its rank is known to equal the number of indices,
    so the indexing read one element. Where the rank is not known, two or more indices that pass the
    value to a call (`env.step(action[0, 0])` of the REINFORCE example's `probs.multinomial().data`)
    are reported with an unsafe fix: equivalent only if the tensor has that many dimensions (else 0.3
    gave a row too). A value bound to a name is left to VM210 (which fixes it where
    a container looks it up); `x.data[0]` itself is VM201's. A file that already calls `.item()`
    (written for 0.4, where the 0-dim tensor is meant) is not reported.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
      ("Indexing a tensor ... now returns a 0-dimensional tensor")
    - SEMANTICS.md, section E
    """

    CODE = "VM213"
    MESSAGE = "an element of a 0.3 `Tensor` was a Python number; it is a 0-dim tensor now: append `.item()`"
    FIX_TITLE = "Append `.item()`"
    FIX = Safety.SAFE
    TRIGGERS = (".data",)

    VALID = [
        # A row, not an element: a tensor in 0.3 as well.
        Valid("import torch\ndef f(env, q):\n    a = q.data.max(1)[1].view(1, 1)\n    env.step(a[0])\n"),
        # Rank not known, and one index: a row or an element.
        Valid("import torch\ndef f(env, q):\n    env.step(q.data.max(1)[1][0])\n"),
        # A Variable's element (no `.data`) was a one-element Variable.
        Valid("import torch\ndef f(env, q):\n    a = q.max(1)[1].view(1, 1)\n    env.step(a[0, 0])\n"),
        # Consumed by tensor math or a comparison: a 0-dim tensor behaves as the number did.
        Valid("import torch\ndef f(q):\n    a = q.data.max(1)[1].view(1, 1)\n    return a[0, 0] == 1\n"),
    ]
    INVALID = [
        Invalid(
            # The REINFORCE example: `action = probs.multinomial(); return action.data`, rank not known.
            "import torch\ndef select(policy, state):\n    return policy(state).multinomial().data\n"
            "def run(env, policy, state):\n    action = select(policy, state)\n    return env.step(action[0, 0])\n",
            expected_replacement="import torch\ndef select(policy, state):\n    return policy(state).multinomial().data\n"
            "def run(env, policy, state):\n    action = select(policy, state)\n    return env.step(action[0, 0].item())\n",
            expected_safe_replacement="import torch\ndef select(policy, state):\n    return policy(state).multinomial().data\n"
            "def run(env, policy, state):\n    action = select(policy, state)\n    return env.step(action[0, 0])\n",
            message="(unsafe: only if `action` has 2 dimensions)", range=(6, 21, 6, 33),
        ),
        Invalid(
            "import random\nimport torch\n\n\ndef select_action(model, state):\n    if random.random() > 0.1:\n"
            "        return model(state).data.max(1)[1].view(1, 1)\n    return torch.LongTensor([[random.randrange(2)]])\n\n\n"
            "def step(env, model, state):\n    action = select_action(model, state)\n    return env.step(action[0, 0])\n",
            expected_replacement="import random\nimport torch\n\n\ndef select_action(model, state):\n    if random.random() > 0.1:\n"
            "        return model(state).data.max(1)[1].view(1, 1)\n    return torch.LongTensor([[random.randrange(2)]])\n\n\n"
            "def step(env, model, state):\n    action = select_action(model, state)\n    return env.step(action[0, 0].item())\n",
            message="`action[0, 0]` was a Python number in PyTorch 0.3", range=(13, 21, 13, 33),
        ),
    ]

    def visit_Subscript(self, node: cst.Subscript) -> None:
        found = _integer_indices(node)
        if found is None:
            return
        indices, base = found
        if isinstance(base, cst.Attribute) and base.attr.value == "data" and indices == 1:
            return  # `x.data[0]`: VM201
        plain = self.ctx.plain_tensors
        if plain.written_for_0_4() or not plain.is_plain(base):
            return
        shape = self.ctx.tensors.shape(base)
        if shape is not None and len(shape) != indices:
            return
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.Subscript):
            return  # `topi[0][0]`: the outer subscript is the element
        if isinstance(parent, (cst.Assign, cst.AnnAssign)) or not kept_as_number(self.ctx, node):
            return
        condition = ""
        if shape is None:
            # Rank not known: reported where two or more indices pass it to a call (`env.step(a[0, 0])`)
            if indices < 2 or not isinstance(parent, cst.Arg):
                return
            condition = f" (unsafe: only if `{short_code(self.ctx, base, 30)}` has {indices} dimensions)"
        self.report(
            node,
            f"`{short_code(self.ctx, node)}` was a Python number in PyTorch 0.3 (an element of a 0.3 `Tensor`); now a "
            "0-dim tensor, which gym's `env.step`, `json` and dict keys refuse: append `.item()`" + condition,
            [self.edit(lambda updated: method_call(updated, "item"),  # type: ignore[arg-type]
                       Safety.UNSAFE if condition else Safety.SAFE, self.FIX_TITLE + condition)],
        )


def _integer_indices(node: cst.Subscript) -> Optional[tuple[int, cst.BaseExpression]]:
    """How many integer literals index `node`, and what they index (`x[0, 1]`, `x[0][1]`: 2, `x`)."""
    count = 0
    current: cst.BaseExpression = node
    while isinstance(current, cst.Subscript):
        if _pair(current.value):
            break  # `x.max(1)[1]`: the indices of the pair, a tensor to index further
        for element in current.slice:
            index = element.slice
            if not isinstance(index, cst.Index) or not _integer(index.value):
                return None
            count += 1
        current = current.value
    return count, current


def _integer(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        value = value.expression
    return isinstance(value, cst.Integer)


def _pair(node: cst.BaseExpression) -> bool:
    """`x.max(1)`, `x.topk(k)`, `x.sort()`: a `(values, indices)` pair."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
        and node.func.attr.value in ("max", "min", "topk", "sort", "kthvalue", "median", "mode") \
        and (bool(node.args) or node.func.attr.value in ("topk", "sort"))
