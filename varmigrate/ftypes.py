"""The types findings are made of, importable without libcst (Fixit's `ftypes`).

A cache hit, the output formats and the CLI handle findings without ever parsing: nothing here
imports libcst at run time. The syntax-tree fields (`Finding.node`, `Edit.replacement`) are typed
through `TYPE_CHECKING` imports only; they are None once a finding leaves the process that made it.
"""

from __future__ import annotations

import enum
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

if TYPE_CHECKING:
    import libcst as cst

    # A replacement is a node, or a function of the node as updated by fixes inside it in the
    # same round (so a statement rewrite composes with `.grad.data` -> `.grad` below it).
    StaticReplacement = Union[cst.CSTNode, "NoGrad", cst.RemovalSentinel]
    Replacement = Union[StaticReplacement, Callable[[cst.CSTNode], StaticReplacement]]


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


@dataclass
class Edit:
    """One candidate fix of a finding. `replacement` is None once the finding left its process."""

    replacement: Optional[Replacement]
    safety: Safety
    title: str
    needs_torch: bool = False  # the replacement refers to the module-level name `torch`

    def stripped(self) -> Edit:
        """The same edit without its replacement (which cannot cross a process boundary)."""
        return Edit(None, self.safety, self.title, self.needs_torch)


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

    def chosen_edit(self, unsafe_fixes: bool) -> Optional[Edit]:
        """The edit `fix` applies with these settings, else the best one `--unsafe-fixes` would."""
        return self.edit_for(unsafe_fixes) or self.edit_for(True)

    @property
    def fix_title(self) -> Optional[str]:
        return self.edits[0].title if self.edits else None

    @property
    def span(self) -> tuple[int, int, int, int]:
        """(line, column, end line, end column), as reported."""
        return (self.line, self.column, self.end_line, self.end_column)

    def stripped(self) -> Finding:
        """Drop the syntax tree and the fix callables, in place: they cannot cross process
        boundaries, and a whole tree's worth of nodes per file would dominate memory."""
        self.node = None
        self.fix_node = None
        self.edits = [e.stripped() for e in self.edits]
        return self


@dataclass
class SourceError:
    """A problem with the input itself (syntax, encoding, I/O) or an internal failure on one file."""

    path: str
    line: int
    column: int
    message: str
    kind: str = "error"  # "error" (input), "io" (could not read or write: never cached) or "internal"
    cell: Optional[int] = None


@dataclass(frozen=True)
class TextEdit:
    """Replace [start, end) (1-based row/column, end exclusive, columns in code points) by content."""

    row: int
    column: int
    end_row: int
    end_column: int
    content: str

    def to_json(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "location": {"row": self.row, "column": self.column},
            "end_location": {"row": self.end_row, "column": self.end_column},
        }


# ------------------------------------------------------------------------------------------
# A rule's own examples (they run as tests, and INVALID[0] feeds the rule's page)
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Valid:
    """Code the rule must not report."""

    code: str


@dataclass(frozen=True)
class Invalid:
    """Code the rule must report, with what `fix` makes of it and, optionally, where and what."""

    code: str
    # Expected output of `fix --unsafe-fixes` (None: the rule offers no fix here).
    expected_replacement: Optional[str] = None
    # Expected output of a safe-only `fix` when it differs from expected_replacement.
    expected_safe_replacement: Optional[str] = None
    # A substring of the expected finding's message (None: any message).
    message: Optional[str] = None
    # (line, column, end line, end column) of the expected finding, as `check` prints them:
    # 1-based lines and columns, the end exclusive (Fixit's `Invalid(range=...)`).
    range: Optional[tuple[int, int, int, int]] = None


def dedent(src: str) -> str:
    """An example written as an indented block, without its indentation and first newline."""
    return textwrap.dedent(src).lstrip("\n")
