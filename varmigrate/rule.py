"""The Rule base class and the Finding / Safety types shared by check and fix.

A rule is a libcst visitor. It calls :meth:`Rule.report` with the node it flags and, optionally, a
replacement node. The engine runs every rule in one traversal and applies replacements; rules never
touch text or files.
"""

from __future__ import annotations

import enum
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar, Optional, Sequence, Union

import libcst as cst

if TYPE_CHECKING:
    from .analysis.context import FileContext


class Safety(enum.Enum):
    """How far a fix can be trusted (ruff's applicability)."""

    SAFE = "safe"  # equivalent for every program that ran before (SEMANTICS.md "always")
    UNSAFE = "unsafe"  # equivalent under a condition the message states; needs --unsafe-fixes
    NONE = "none"  # reported with guidance only

    @property
    def rank(self) -> int:
        return {"safe": 0, "unsafe": 1, "none": 2}[self.value]


@dataclass(frozen=True)
class NoGrad:
    """A replacement statement that must run under ``torch.no_grad()``.

    The engine wraps it, merging a run of adjacent such statements into one ``with`` block, and leaves
    it bare when it already sits lexically inside a ``no_grad`` block. ``required=False`` marks a
    statement that may join a neighbouring block but never opens one (``w.grad.zero_()``).
    """

    statement: cst.BaseStatement
    required: bool = True


# A replacement is a node, or a function of the node as updated by fixes inside it in the same
# round (so a statement rewrite composes with `.grad.data` -> `.grad` below it).
StaticReplacement = Union[cst.CSTNode, NoGrad, cst.RemovalSentinel]
Replacement = Union[StaticReplacement, Callable[[cst.CSTNode], StaticReplacement]]


@dataclass
class Edit:
    """One candidate fix of a finding."""

    replacement: Replacement
    safety: Safety
    title: str
    needs_torch: bool = False  # the replacement refers to the module-level name `torch`


@dataclass
class Finding:
    code: str
    name: str
    message: str
    path: str
    line: int
    column: int  # 1-based, like ruff
    end_line: int
    end_column: int
    node: Optional[cst.CSTNode] = field(default=None, repr=False, compare=False)
    # The node the edits replace, when it is not the reported one (a finding on a name whose fix
    # rewrites the enclosing block).
    fix_node: Optional[cst.CSTNode] = field(default=None, repr=False, compare=False)
    # Candidates, most idiomatic first; fix applies the first one allowed by the safety setting.
    edits: list[Edit] = field(default_factory=list, compare=False)
    cell: Optional[int] = None  # notebooks: 1-based code cell number

    @property
    def fix_safety(self) -> Safety:
        """The best safety any candidate offers (NONE when nothing is fixable)."""
        if not self.edits:
            return Safety.NONE
        return min((e.safety for e in self.edits), key=lambda s: s.rank)

    @property
    def fixable(self) -> bool:
        return self.fix_safety is Safety.SAFE

    def edit_for(self, unsafe_fixes: bool) -> Optional[Edit]:
        for edit in self.edits:
            if edit.safety is Safety.SAFE or (unsafe_fixes and edit.safety is Safety.UNSAFE):
                return edit
        return None

    @property
    def fix_title(self) -> Optional[str]:
        return self.edits[0].title if self.edits else None


@dataclass(frozen=True)
class Valid:
    code: str


@dataclass(frozen=True)
class Invalid:
    code: str
    # Expected output of `fix --unsafe-fixes` (None: the rule offers no fix here).
    expected_replacement: Optional[str] = None
    # Expected output of a safe-only `fix` when it differs from expected_replacement.
    expected_safe_replacement: Optional[str] = None


def dedent(src: str) -> str:
    return textwrap.dedent(src).lstrip("\n")


class Rule(cst.BatchableCSTVisitor):
    """Base class: subclasses set the ClassVars and define ``visit_*`` methods."""

    CODE: ClassVar[str]
    MESSAGE: ClassVar[str]
    FIX_TITLE: ClassVar[Optional[str]] = None
    # The best safety this rule can ever offer (docs and `rule --all` show it).
    FIX: ClassVar[Safety] = Safety.NONE
    # The prefilter: a file is parsed only if its text contains one of these words.
    TRIGGERS: ClassVar[Sequence[str]] = ()
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def __init__(self, ctx: "FileContext") -> None:
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

    def edit(
        self,
        replacement: Replacement,
        safety: Safety = Safety.SAFE,
        title: Optional[str] = None,
        needs_torch: bool = False,
    ) -> Edit:
        return Edit(replacement, safety, title or self.FIX_TITLE or "", needs_torch)
