"""What the before run may change, and when: the catalogue of legacy features (torch-free).

Two kinds:

- **crash** features make a construct that raises on modern torch run as 0.3 ran it
  (``loss.data[0]``, an instance-style ``autograd.Function``, ...).  Without them the reference
  crashes, so their detection is generous.
- **semantics** features read a construct with 0.3 semantics where modern torch silently
  computes something else (``volatile``, ``w.data.resize_()``).  They make the before run "the
  program as 0.3 ran it" (``--reference 0.3``, the default); ``--reference modern`` leaves them out.

A feature is installed in a before run only when the program's source mentions its construct
(``detect``): a feature that is not installed changes nothing, not even how torch sees tensors.
Each feature counts its uses under the hit names listed here; the report explains each hit with
its ``summary``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

CRASH = "crash"
SEMANTICS = "semantics"
REFERENCES = ("0.3", "modern")


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # CRASH | SEMANTICS
    hits: dict[str, str]  # hit name -> what one hit means (Markdown inline code allowed)
    mentions: Callable[[str], bool]  # does this source text use the construct (generously)?


def _all(*patterns: str) -> Callable[[str], bool]:
    compiled = [re.compile(p) for p in patterns]
    return lambda text: all(p.search(text) for p in compiled)


_META_INPLACE = r"\b(?:resize_|resize_as_|set_|t_|transpose_|squeeze_|unsqueeze_|as_strided_|swapdims_|swapaxes_)\s*\("

FEATURES: tuple[Feature, ...] = (
    Feature("zero_dim_index", CRASH,
            {"zero_dim_index": "`x[0]` / `x[-1]` on a 0-dim tensor (`loss.data[0]`) gave the number, as 0.3's "
                               "1-element result did (modern torch raises IndexError)"},
            _all(r"\[\s*(?:0|-\s*1)\s*\]")),
    Feature("type_eq_variable", CRASH,
            {"type_eq_variable": "`type(x) == Variable` was true for a tensor, as in 0.3 (modern torch: False)"},
            _all(r"\bVariable\b", r"[=!]=|\bin\b")),
    Feature("legacy_function", CRASH,
            {"legacy_function": "an instance-style `autograd.Function` (`F(alpha)(x)`) ran through a new-style "
                                "bridge keeping its `__init__` state (modern torch raises RuntimeError)",
             "function_instance_call": "a new-style Function called on an instance (`F()(x)`) ran as `F.apply(x)`"},
            _all(r"\bFunction\b")),
    Feature("backward_keywords", CRASH,
            {"retain_variables": "`backward(retain_variables=...)` meant `retain_graph=` (modern torch: TypeError)",
             "backward_variables": "`torch.autograd.backward(variables=...)` meant `tensors=`",
             "scalar_grad_shape": "`loss.backward(torch.ones(1))` on a 0-dim loss: the gradient reshaped to `()`"},
            _all(r"\bbackward\b")),
    Feature("view_contiguous", CRASH,
            {"view_contiguous": "`x.view(...)` of an elementwise result of a transposed tensor (`pred.t().eq(y)`) "
                                "viewed it as the contiguous tensor 0.3's ops returned (modern torch keeps the "
                                "operand's layout, and `view` raises)"},
            _all(r"\.view\s*\(")),
    Feature("byte_mask", CRASH,
            {"byte_mask": "`x.masked_fill_(mask, v)` / `masked_select` / `masked_scatter` took a `uint8` mask, as 0.3's "
                          "`ByteTensor` masks were (modern torch wants `bool` and raises)"},
            _all(r"\bmasked_(?:fill|select|scatter)")),
    Feature("packed_pair", CRASH,
            {"packed_pair": "`packed, sizes = pack_padded_sequence(...)` unpacked 0.3's pair (data, batch_sizes) "
                            "(modern torch's PackedSequence has four fields: ValueError)"},
            _all(r"\bpack_(?:padded_)?sequence\b")),
    Feature("async_keyword", CRASH,
            {"async_keyword": "`.cuda(async=True)` (a syntax error since Python 3.7) was read as "
                              "`non_blocking=True`"},
            _all(r"\basync\s*=")),
    Feature("volatile", SEMANTICS,
            {"volatile_variable": "`Variable(x, volatile=True)` made a volatile tensor (modern torch ignores the flag)",
             "volatile_op": "an op read a volatile tensor, so it ran without recording a graph and its results "
                            "are volatile (modern torch records the graph)",
             "volatile_attribute": "`x.volatile` was read or set as 0.3's flag (modern torch: always False, "
                                   "setting it does nothing)"},
            _all(r"\bvolatile\b")),
    Feature("data_metadata", SEMANTICS,
            {"data_metadata": "`w.data.resize_()` / `set_()` / `t_()`... changed `w` itself, as 0.3's `.data` "
                              "(`w`'s own tensor) did (modern torch changes only a temporary alias)"},
            _all(r"\.data\b", _META_INPLACE)),
    Feature("integer_division", SEMANTICS,
            {"integer_division": "`a / b` of an integer tensor by an integer (`best_scores_id / num_words`) divided "
                                 "as integers, truncating, as 0.3's `LongTensor` did (modern torch: a float tensor; "
                                 "`a /= b` raises)"},
            _all(r"/")),
    Feature("data_number", SEMANTICS,
            {"data_number": "a `.data` tensor reduced to one element (`pred.eq(target.data).sum()`, `x.data.max()`) "
                            "or indexed down to one (`topi[0][0]`) gave a Python number, as 0.3's tensors did "
                            "(modern torch: a 0-dim tensor)"},
            # a program that calls `.item()` was written for 0.4 or later, where these are tensors
            lambda text: ".data" in text and ".item(" not in text),
)

BY_NAME = {f.name: f for f in FEATURES}
HITS = {hit: (f.name, text) for f in FEATURES for hit, text in f.hits.items()}


def names(kind: str | None = None) -> list[str]:
    return [f.name for f in FEATURES if kind is None or f.kind == kind]


def kind_of_hit(hit: str) -> str:
    return BY_NAME[HITS[hit][0]].kind if hit in HITS else CRASH


def describe_hit(hit: str) -> str:
    return HITS[hit][1] if hit in HITS else hit


def mentioned(texts: Iterable[str]) -> set[str]:
    """The features whose construct any of ``texts`` mentions."""
    texts = list(texts)
    return {f.name for f in FEATURES if any(f.mentions(t) for t in texts)}


def for_reference(found: Iterable[str], reference: str) -> list[str]:
    """The features a before run installs: every crash feature found, plus the semantics ones
    for the 0.3 reading."""
    keep = set(found)
    return [n for n in names() if n in keep and (reference == "0.3" or BY_NAME[n].kind == CRASH)]


def split_hits(hits: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """(crash-shim hits, 0.3-semantics hits)."""
    crash = {k: v for k, v in hits.items() if kind_of_hit(k) == CRASH}
    sem = {k: v for k, v in hits.items() if kind_of_hit(k) == SEMANTICS}
    return crash, sem
