from __future__ import annotations

import libcst as cst

from ..analysis.nodes import short_code
from ..rule import Invalid, Rule, Safety, Valid

_PACKERS = frozenset({"torch.nn.utils.rnn.pack_padded_sequence", "torch.nn.utils.rnn.pack_sequence"})


class PackedSequencePair(Rule):
    """
    ## What it does
    Checks for a `PackedSequence` unpacked into two names: `scores, _ = pack_padded_sequence(scores,
    lengths, batch_first=True)` (the image-captioning tutorial's loss), `data, sizes = pack_sequence(seqs)`.

    ## Why is this bad?
    In PyTorch 0.3 (and 0.4) a `PackedSequence` was the named pair `(data, batch_sizes)`. Since 1.1 it
    has four fields (`sorted_indices`, `unsorted_indices` too), and unpacking it into two names raises
    `ValueError: too many values to unpack (expected 2)`.

    ## Fix safety
    The value is cut to its first two fields (`pack_padded_sequence(...)[:2]`): the same pair, in the
    same order. Safe.

    ## References
    - [torch.nn.utils.rnn.PackedSequence](https://pytorch.org/docs/stable/generated/torch.nn.utils.rnn.PackedSequence.html)
    """

    CODE = "VM216"
    MESSAGE = "a `PackedSequence` has four fields since PyTorch 1.1: unpacking it into two names raises"
    FIX_TITLE = "Unpack its first two fields (`[:2]`)"
    FIX = Safety.SAFE
    TRIGGERS = ("pack_padded_sequence", "pack_sequence")

    VALID = [
        # Kept whole (fed to an RNN): nothing is unpacked.
        Valid("from torch.nn.utils.rnn import pack_padded_sequence\ndef f(rnn, x, n):\n"
              "    packed = pack_padded_sequence(x, n)\n    return rnn(packed)\n"),
        # The modern idiom: a field by name.
        Valid("from torch.nn.utils.rnn import pack_padded_sequence\ndef f(x, n):\n"
              "    return pack_padded_sequence(x, n, batch_first=True).data\n"),
    ]
    INVALID = [
        Invalid(
            "from torch.nn.utils.rnn import pack_padded_sequence\ndef loss(scores, targets, lengths):\n"
            "    scores, _ = pack_padded_sequence(scores, lengths, batch_first=True)\n"
            "    targets, _ = pack_padded_sequence(targets, lengths, batch_first=True)\n    return scores, targets\n",
            expected_replacement="from torch.nn.utils.rnn import pack_padded_sequence\ndef loss(scores, targets, lengths):\n"
            "    scores, _ = pack_padded_sequence(scores, lengths, batch_first=True)[:2]\n"
            "    targets, _ = pack_padded_sequence(targets, lengths, batch_first=True)[:2]\n    return scores, targets\n",
            message="is unpacked into two names", range=(3, 17, 3, 72),
        ),
    ]

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if len(node.targets) != 1 or not isinstance(value, cst.Call):
            return
        target = node.targets[0].target
        if not isinstance(target, (cst.Tuple, cst.List)) or len(target.elements) != 2 \
                or any(isinstance(e, cst.StarredElement) for e in target.elements):
            return
        if self.ctx.imports.qualified(value.func) not in _PACKERS:
            return
        self.report(
            value,
            f"`{short_code(self.ctx, value, 40)}` is unpacked into two names: a `PackedSequence` was the pair "
            "`(data, batch_sizes)` in PyTorch 0.3 and has four fields since 1.1 (`ValueError`): unpack its first two "
            "(`[:2]`)",
            [self.edit(cst.Subscript(value, [cst.SubscriptElement(cst.Slice(lower=None, upper=cst.Integer("2")))]))],
        )
