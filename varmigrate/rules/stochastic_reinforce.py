from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis.nodes import bare_multinomial, short_code
from ..rewrite.calls import with_num_samples
from ..rule import Invalid, Rule, Safety, Valid
from ..tree.walk import visit

_GUIDANCE = (
    "use `torch.distributions`: `m = Categorical(probs); action = m.sample()`, then "
    "`loss = -m.log_prob(action) * reward; loss.backward()`"
)


def _all_none(node: cst.BaseExpression) -> bool:
    """`[None for _ in xs]`: the 0.3 way to backprop the rewards of stochastic outputs. (A literal
    `[None]` is also how modern code backprops a scalar loss, so it is not evidence.)"""
    return isinstance(node, cst.ListComp) and isinstance(node.elt, cst.Name) and node.elt.value == "None"


class _Reinforce(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.found = self.found or node.attr.value == "reinforce"


class StochasticReinforce(Rule):
    """
    ## What it does
    Checks for the PyTorch 0.3 stochastic-function API of REINFORCE-style code: `action.reinforce(r)`
    on the output of `probs.multinomial()` (or `bernoulli()`/`normal()`), the argument-less
    `probs.multinomial()` itself, and the backward call that went with them,
    `torch.autograd.backward(saved_actions, [None for _ in saved_actions])`.

    ## Why is this bad?
    Stochastic Variables were removed in PyTorch 0.4. On modern PyTorch `reinforce()` raises
    `RuntimeError: reinforce() was removed. Use torch.distributions instead.`, `probs.multinomial()`
    raises `TypeError` (`num_samples` is required), and a backward through a sampled action with a
    `None` gradient raises `RuntimeError: element 0 of tensors does not require grad`, so the 2017 policy-gradient examples
    (pytorch/examples `reinforcement_learning/reinforce.py`) crash on their first episode, even after
    the `Variable` wrappers are gone.

    ## Fix safety
    A bare `probs.multinomial()` in a file that never calls `.reinforce()` is fixed to
    `probs.multinomial(1)`: 0.3's default was `num_samples=1`, so this draws the same one sample per
    row, a LongTensor of the same shape (safe); the stochastic node 0.3 attached to it is gone, and
    nothing here used it. Where `.reinforce()` follows, there is no fix: the modern form restructures
    the code. Keep the distribution instead of the sample
    (`m = torch.distributions.Categorical(probs)`, `action = m.sample()`), store `m.log_prob(action)`
    where the action used to be stored, and minimise `-log_prob * reward` (summed over the episode)
    with an ordinary `loss.backward()`.

    ## References
    - [PyTorch 0.4.0 release notes](https://github.com/pytorch/pytorch/releases/tag/v0.4.0)
      ("stochastic functions ... removed; use torch.distributions")
    - [`torch.distributions`](https://pytorch.org/docs/stable/distributions.html) (score function)
    - pytorch/examples `reinforcement_learning/reinforce.py` (before and after 0.4)
    """

    _reinforce: Optional[bool] = None

    CODE = "VM308"
    MESSAGE = "`.reinforce()` was removed with stochastic Variables in PyTorch 0.4 and raises `RuntimeError`"
    FIX = Safety.SAFE
    TRIGGERS = ("reinforce", "multinomial()")

    VALID = [
        Valid(
            "import torch\nfrom torch.distributions import Categorical\ndef act(probs):\n"
            "    m = Categorical(probs)\n    a = m.sample()\n    return a, m.log_prob(a)\n"
        ),
        Valid("import torch\nclass Agent:\n    def reinforce(self, r):\n        pass\nAgent().reinforce(1.0)\n"),
        Valid("import torch\ndef act(probs):\n    return probs.multinomial(1)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch import autograd\ndef finish(saved_actions, rewards, opt):\n"
            "    for action, r in zip(saved_actions, rewards):\n        action.reinforce(r)\n"
            "    autograd.backward(saved_actions, [None for _ in saved_actions])\n",
            message="`action.reinforce(r)`: `.reinforce()` was removed with stochastic Variables", range=(5, 9, 5, 28),
        ),
        Invalid(
            "import torch\nimport torch.nn.functional as F\ndef act(logits):\n"
            "    action = F.softmax(logits, dim=1).multinomial()\n    return action\n",
            expected_replacement="import torch\nimport torch.nn.functional as F\ndef act(logits):\n"
            "    action = F.softmax(logits, dim=1).multinomial(1)\n    return action\n",
            message="`F.softmax(logits, dim=1).multinomial()` drew one sample in PyTorch 0.3", range=(4, 14, 4, 52),
        ),
    ]

    def _reinforced(self) -> bool:
        """The file calls `.reinforce(...)`: its samples are 0.3 stochastic Variables."""
        if self._reinforce is None:
            finder = _Reinforce()
            visit(self.ctx.module, finder, self.ctx.memo)
            self._reinforce = finder.found
        return self._reinforce

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "reinforce":
            if len(node.args) == 1 and "reinforce" not in self.ctx.imports.local_defs:
                self.report(node, f"`{short_code(self.ctx, node)}`: {self.MESSAGE}; {_GUIDANCE}")
            return
        if bare_multinomial(self.ctx, node):
            code = short_code(self.ctx, node)
            if self._reinforced():
                self.report(
                    node,
                    f"`{code}`: the 0.3 stochastic sample; `num_samples` is required since 0.4 "
                    f"(`TypeError`) and the sample carries no gradient to reinforce: {_GUIDANCE}",
                )
            else:
                self.report(
                    node,
                    f"`{code}` drew one sample in PyTorch 0.3 (`num_samples=1` was the default); since 0.4 "
                    "`num_samples` is required (`TypeError`): use `multinomial(1)`",
                    [self.edit(with_num_samples(node), Safety.SAFE, "Pass `num_samples=1`: `multinomial(1)`")],
                )
            return
        if self.ctx.imports.qualified(func) == "torch.autograd.backward":
            grads = [a for a in node.args if a.keyword is None][1:2] or [
                a for a in node.args if a.keyword is not None and a.keyword.value in ("grad_tensors", "grad_variables")]
            if grads and _all_none(grads[0].value):
                self.report(
                    node,
                    "`torch.autograd.backward(actions, [None for ...])` is the PyTorch 0.3 REINFORCE backward through "
                    f"stochastic outputs; it raises on modern PyTorch: {_GUIDANCE}",
                )
