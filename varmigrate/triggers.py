"""The prefilter's words, importable without libcst.

`check` on a clean tree (the common pre-commit case) must not pay for importing libcst and the
rules: the union of every rule's TRIGGERS is spelled out here, and
`tests/test_reliability.py::test_static_triggers_match_rules` fails when a rule adds, drops or
renames a trigger without updating this set.
"""

from __future__ import annotations

import re

# A file can have a finding only if it mentions torch and one of these words.
TRIGGERS: frozenset[str] = frozenset({
    "Variable",  # VM101, VM102, VM104, VM105, VM106
    "volatile",  # VM108
    ".creator",  # VM109
    "retain_variables",  # VM302
    "variables",  # VM303
    "async", "\u0251sync",  # VM304 (the second is the pre-pass placeholder)
    "Function",  # VM301
    ".add(", ".add_(", ".sub(", ".sub_(", "addcmul", "addcdiv",  # VM305
    "noqa", "NOQA",  # VM901
    ".data",  # VM201-VM208
    "clip_grad_norm(", "init.uniform(", "init.normal(", "init.constant(", "init.xavier_uniform(",
    "init.xavier_normal(", "init.kaiming_uniform(", "init.kaiming_normal(", "init.orthogonal(",
    "init.sparse(", "init.eye(", "init.dirac(", "nn.init import",  # VM309
    "size_average", "reduce=", "reduce =",  # VM306
    "softmax", "Softmax", "softmin", "Softmin",  # VM307
    "reinforce", "multinomial()",  # VM308
})


# `.data` in modern code is nearly always the module `torch.utils.data`, which is never a tensor.
_DATA_ATTRIBUTE = re.compile(r"(?<!utils)\.data\b")


def mentions(word: str, text: str) -> bool:
    """Whether `text` holds the trigger `word` (`.data` of `torch.utils.data` does not count)."""
    if word == ".data":
        return ".data" in text and _DATA_ATTRIBUTE.search(text) is not None
    return word in text


def may_have_findings(text: str) -> bool:
    """False when no rule could report anything in `text` (the engine then never parses it)."""
    return "torch" in text and any(mentions(word, text) for word in TRIGGERS)
