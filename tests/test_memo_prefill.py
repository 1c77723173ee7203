"""FileMemo.prefill: the children and parents of every node, read in one pass, the same as the
per-node lookups; forgotten when the memo's scope ends."""

from __future__ import annotations

import libcst as cst

from varmigrate.tree.memo import FileMemo
from varmigrate.tree.parents import Parents
from varmigrate.tree.walk import parent_map, source_children, statements

SOURCE = """\
import torch
from torch.autograd import Variable

# a comment
def step(model, x, y):
    out = model(Variable(x, volatile=True))  # trailing
    if out.data[0] > (y + 1):
        return [a for a in out], {"k": f"{x!r:>3}"}
    return lambda z: z ** 2
"""


def _all_nodes(root: cst.CSTNode) -> list[cst.CSTNode]:
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(source_children(node))
    return out


def test_prefill_matches_per_node_reads() -> None:
    module = cst.parse_module(SOURCE)
    memo = FileMemo()
    with memo.active():
        memo.prefill(module)
        nodes = _all_nodes(module)
        assert len(memo.known) == len(nodes)
        for node in nodes:
            assert memo.known[id(node)] == source_children(node)
            assert memo.children(node) is memo.known[id(node)]
        assert memo.parents_of(module) == parent_map(module)
        assert Parents(module, memo).map() is memo.parents_of(module)
        # another root is not the prefilled one: no parent map from the memo
        inner = module.body[2]
        assert memo.parents_of(inner) is None
        assert Parents(inner, memo).map() == parent_map(inner)
        assert list(statements(module, memo)) == list(statements(module))
    assert memo.known == {} and memo.parents_of(module) is None


def test_nodes_outside_the_file_are_still_read() -> None:
    module = cst.parse_module(SOURCE)
    built = cst.parse_expression("f(a, b)")
    memo = FileMemo()
    with memo.active():
        memo.prefill(module)
        assert id(built) not in memo.known
        assert memo.children(built) == source_children(built)
        assert memo.children(built) is memo.children(built)  # remembered with its node


def test_prefill_outside_an_active_scope_does_nothing() -> None:
    module = cst.parse_module(SOURCE)
    memo = FileMemo()
    memo.prefill(module)
    assert memo.known == {} and memo.parents_of(module) is None
