from __future__ import annotations

import libcst as cst

from ..analysis.nodes import short_code
from ..rule import Invalid, Rule, Valid

_GUIDANCE = (
    "use `torch.distributions`: `m = Categorical(probs); action = m.sample()`, then "
    "`loss = -m.log_prob(action) * reward; loss.backward()`"
)


def _all_none(node: cst.BaseExpression) -> bool:
    """`[None for _ in xs]`: the 0.3 way to backprop the rewards of stochastic outputs. (A literal
    `[None]` is also how modern code backprops a scalar loss, so it is not evidence.)"""
    return isinstance(node, cst.ListComp) and isinstance(node.elt, cst.Name) and node.elt.value == "None"


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
    No fix: the modern form restructures the code. Keep the distribution instead of the sample
    (`m = torch.distributions.Categorical(probs)`, `action = m.sample()`), store `m.log_prob(action)`
    where the action used to be stored, and minimise `-log_prob * reward` (summed over the episode)
    with an ordinary `loss.backward()`.

    ## References
    - [PyTorch 0.4.0 release notes](https://github.com/pytorch/pytorch/releases/tag/v0.4.0)
      ("stochastic functions ... removed; use torch.distributions")
    - [`torch.distributions`](https://pytorch.org/docs/stable/distributions.html) (score function)
    - pytorch/examples `reinforcement_learning/reinforce.py` (before and after 0.4)
    """

    CODE = "VM308"
    MESSAGE = "`.reinforce()` was removed with stochastic Variables in PyTorch 0.4 and raises `RuntimeError`"
    TRIGGERS = ("reinforce", "multinomial()")

    VALID = [
        Valid(
            "import torch\nfrom torch.distributions import Categorical\ndef act(probs):\n"
            "    m = Categorical(probs)\n    a = m.sample()\n    return a, m.log_prob(a)\n"
        ),
        Valid("import torch\nclass Agent:\n    def reinforce(self, r):\n        pass\nAgent().reinforce(1.0)\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch import autograd\ndef finish(saved_actions, rewards, opt):\n"
            "    for action, r in zip(saved_actions, rewards):\n        action.reinforce(r)\n"
            "    autograd.backward(saved_actions, [None for _ in saved_actions])\n"
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "reinforce":
            if len(node.args) == 1 and "reinforce" not in self.ctx.imports.local_defs:
                self.report(node, f"`{short_code(self.ctx, node)}`: {self.MESSAGE}; {_GUIDANCE}")
            return
        if isinstance(func, cst.Attribute) and func.attr.value == "multinomial" and not node.args:
            if "multinomial" not in self.ctx.imports.local_defs:
                self.report(
                    node,
                    f"`{short_code(self.ctx, node)}`: the 0.3 stochastic sample; `num_samples` is required since 0.4 "
                    f"(`TypeError`) and the sample carries no gradient to reinforce: {_GUIDANCE}",
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
