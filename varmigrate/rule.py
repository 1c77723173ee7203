"""The Rule base class, and the finding types a rule uses (defined in `ftypes.py`, re-exported).

A rule is a libcst visitor. It calls :meth:`Rule.report` with the node it flags and, optionally, a
replacement node. The engine runs every rule in one traversal and applies replacements; rules never
touch text or files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Optional

import libcst as cst

from .ftypes import Edit, Finding, Invalid, NoGrad, Safety, Valid, dedent
from .noqa import Directive, NoqaUsage, find_directive

if TYPE_CHECKING:
    from .analysis.context import FileContext
    from .ftypes import Replacement

__all__ = [
    "Directive", "Edit", "Finding", "Invalid", "NoGrad", "NoqaUsage", "Rule", "Safety", "Valid", "dedent",
    "find_directive",
]


class Rule(cst.BatchableCSTVisitor):
    """Base class: subclasses set the ClassVars and define ``visit_*`` methods."""

    CODE: ClassVar[str]
    MESSAGE: ClassVar[str]
    FIX_TITLE: ClassVar[Optional[str]] = None
    # The best safety this rule can ever offer (docs and `rule --all` show it).
    FIX: ClassVar[Safety] = Safety.NONE
    # The prefilter: a file is parsed only if its text contains one of these words.
    TRIGGERS: ClassVar[Sequence[str]] = ()
    # Also runs on a file that names a legacy `Function` class of another project module
    # (`from layers import *`, then `Detect(...)`), whatever words the file holds.
    PROJECT_FUNCTIONS: ClassVar[bool] = False
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx

    @classmethod
    def slug(cls) -> str:
        return cls.__module__.rsplit(".", 1)[-1].replace("_", "-")

    def report(
        self,
        node: cst.CSTNode,
        message: Optional[str] = None,
        edits: Sequence[Edit] = (),
        fix_node: Optional[cst.CSTNode] = None,
    ) -> None:
        """Report `node`; `edits` replace `fix_node` (default: `node` itself)."""
        self.ctx.add_finding(self.CODE, self.slug(), node, message or self.MESSAGE, list(edits), fix_node)

    def after_lint(self, usage: NoqaUsage) -> None:
        """Called once per file after the traversal, when the other findings went through the
        noqa filter (`usage` says which directives silenced something). What a rule reports here
        is not filtered by noqa (VM901 reports the directives that silenced nothing)."""

    def edit(
        self,
        replacement: Replacement,
        safety: Safety = Safety.SAFE,
        title: Optional[str] = None,
        needs_torch: bool = False,
    ) -> Edit:
        return Edit(replacement, safety, title or self.FIX_TITLE or "", needs_torch)
