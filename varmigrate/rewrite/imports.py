"""Import removal shared by the engine (imports a fix made unused), notebooks and unused-variable-import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import libcst as cst

# What can hold statements (imports, `V = torch.autograd.Variable`): the remover descends into
# nothing else, so libcst keeps every expression as it is instead of rebuilding the whole file.
_STATEMENT_HOLDERS = (
    cst.Module, cst.BaseSuite, cst.BaseCompoundStatement, cst.SimpleStatementLine, cst.Else,
    cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase,
)


class ImportRemover(cst.CSTTransformer):
    """Removes the given names from from-imports; an emptied statement goes, its comments stay."""

    def __init__(self, remove: set[str]) -> None:
        super().__init__()
        self.remove = remove
        self._carry: Optional[Sequence[cst.EmptyLine]] = None
        self._receiver: Optional[int] = None

    def _import_from(self, updated_node: cst.ImportFrom) -> Union[cst.ImportFrom, cst.RemovalSentinel]:
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        keep = [a for a in updated_node.names if (a.evaluated_alias or a.evaluated_name) not in self.remove]
        if len(keep) == len(updated_node.names):
            return updated_node
        if not keep:
            return cst.RemoveFromParent()
        # A parenthesized import keeps its trailing comma (and the newline before `)`).
        last_comma = updated_node.names[-1].comma if updated_node.rpar is not None else cst.MaybeSentinel.DEFAULT
        keep[-1] = keep[-1].with_changes(comma=last_comma)
        return updated_node.with_changes(names=keep)

    def _statement_line(self, updated_node: cst.SimpleStatementLine) -> Union[cst.SimpleStatementLine, cst.RemovalSentinel]:
        if not updated_node.body:
            # updated_node: it may hold comments carried from a removed statement just above.
            if any(line.comment is not None for line in updated_node.leading_lines):
                self._carry = updated_node.leading_lines
            return cst.RemoveFromParent()
        return updated_node

    def on_visit(self, node: cst.CSTNode) -> bool:
        # The statement visited right after a removed one is its next sibling: it takes the comments.
        if self._carry is not None and isinstance(node, cst.BaseStatement) and self._receiver is None:
            self._receiver = id(node)
        return isinstance(node, _STATEMENT_HOLDERS)

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> Union[cst.CSTNode, cst.RemovalSentinel]:
        if isinstance(updated_node, cst.ImportFrom):
            return self._import_from(updated_node)
        if _is_alias_assignment(original_node, self.remove):
            return cst.RemoveFromParent()
        if id(original_node) == self._receiver and self._carry is not None:
            carry, self._carry, self._receiver = self._carry, None, None
            updated_node = updated_node.with_changes(leading_lines=[*carry, *updated_node.leading_lines])  # type: ignore[attr-defined]
        if isinstance(updated_node, cst.SimpleStatementLine):
            return self._statement_line(updated_node)
        return updated_node


def _is_alias_assignment(node: cst.CSTNode, names: set[str]) -> bool:
    """`V = torch.autograd.Variable` (a name bound to a dotted name) for one of `names`."""
    return (
        isinstance(node, cst.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0].target, cst.Name)
        and node.targets[0].target.value in names
        and isinstance(node.value, (cst.Name, cst.Attribute))
    )
