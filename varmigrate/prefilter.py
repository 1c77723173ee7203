"""The prefilter: whether a text can have a finding at all, decided without libcst.

`check` on a clean tree (the common pre-commit case) must not pay for importing libcst and the
rules: the union of every rule's TRIGGERS is generated into `triggers.py` (by `python -m
varmigrate.docs`; `tests/test_docs.py` fails when it is stale), and a file that mentions `torch`
and none of the words is never parsed.
"""

from __future__ import annotations

import re

from .triggers import TRIGGERS

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


def mentions_any_trigger(text: str) -> bool:
    """`may_have_findings` without the `torch` test: a file may get torch from a project module
    (`from model import *`), which only the project index can tell."""
    return any(mentions(word, text) for word in TRIGGERS)
