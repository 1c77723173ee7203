"""Comments inside nodes: a fix must not silently drop one."""

from __future__ import annotations

import libcst as cst

from ..tree.walk import visit


def comments_in(node: cst.CSTNode) -> list[str]:
    """The text of every comment inside `node`, in order."""
    collector = _Comments()
    visit(node, collector)
    return collector.found


class _Comments(cst.CSTVisitor):
    # Module level: a class created per call costs more than the walk, and leaves a reference
    # cycle (class <-> its methods) per call for the collector.
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def visit_Comment(self, comment: cst.Comment) -> None:
        self.found.append(comment.value)


def loses_comments(old: cst.CSTNode, new: cst.CSTNode) -> bool:
    """True when a comment of `old` is not in `new` (a fix must not silently drop comments)."""
    remaining = list(comments_in(new))
    for comment in comments_in(old):
        if comment in remaining:
            remaining.remove(comment)
        else:
            return True
    return False


def has_comment(ws: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(ws, cst.ParenthesizedWhitespace) and bool(comments_in(ws))


