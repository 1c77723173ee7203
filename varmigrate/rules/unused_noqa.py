from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

import libcst as cst

from ..rule import Directive, Edit, Invalid, NoqaUsage, Rule, Safety, Valid, find_directive

if TYPE_CHECKING:
    from ..analysis.context import FileContext

_OWN_CODE = re.compile(r"VM\d+\Z")  # varmigrate's codes and prefixes; E501, F401, ... belong to others


@dataclass
class _Directive:
    comment: cst.Comment
    owner: Union[cst.TrailingWhitespace, cst.EmptyLine]  # the node the fix replaces
    line: int
    found: Directive


class UnusedNoqa(Rule):
    """
    ## What it does
    Checks for `# noqa: VMxxx` comments whose varmigrate codes suppress nothing on their line: the
    finding they silenced was fixed, or the code is unknown. Codes of other tools (`E501`, `F401`,
    ...) and a bare `# noqa` are left alone.

    ## Why is this bad?
    A baseline made with `varmigrate check --add-noqa` should shrink as the code is migrated. A stale
    suppression hides the next legacy pattern written on that line, and says something about the
    code that is no longer true.

    ## Fix safety
    Removing a code that suppresses nothing while its rule ran (or that names no rule) changes no
    finding, so the fix is safe: only that code goes, and the whole comment goes when nothing else
    is left in it. A code whose rule was not selected in this run (`--select`/`--ignore`) may still
    be needed by a fuller run: it is reported as non-enabled and its removal is unsafe.

    ## References
    - [ruff: unused-noqa (RUF100)](https://docs.astral.sh/ruff/rules/unused-noqa/)
    """

    CODE = "VM901"
    MESSAGE = "Unused `noqa` directive"
    FIX_TITLE = "Remove unused `noqa` directive"
    FIX = Safety.SAFE
    TRIGGERS = ("noqa", "NOQA")

    VALID = [
        Valid("import torch\nimport os  # noqa: F401, E501\n"),
        Valid("import torch\nx = 1  # noqa: VM901, VM101\n"),
        Valid("import torch\nx = 1  # noqa\n"),
        Valid('import torch\ns = """\n# noqa: VM101\n"""\n'),
    ]
    INVALID = [
        Invalid(
            "import torch\nx = torch.ones(3)  # noqa: VM101\n",
            expected_replacement="import torch\nx = torch.ones(3)\n",
            expected_safe_replacement="import torch\nx = torch.ones(3)  # noqa: VM101\n",
            message="Unused `noqa` directive (non-enabled: `VM101`)", range=(2, 20, 2, 33),
        ),
        Invalid(
            "import torch\nx = torch.ones(3)  # noqa: E501, VM999\n",
            expected_replacement="import torch\nx = torch.ones(3)  # noqa: E501\n",
            message="Unused `noqa` directive (unknown: `VM999`)", range=(2, 20, 2, 39),
        ),
        Invalid(
            "import torch\nx = torch.ones(3)  # keep this  # noqa: VM999\n",
            expected_replacement="import torch\nx = torch.ones(3)  # keep this\n",
            message="Unused `noqa` directive (unknown: `VM999`)", range=(2, 20, 2, 46),
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.directives: list[_Directive] = []

    def _collect(self, comment: Optional[cst.Comment], owner: Union[cst.TrailingWhitespace, cst.EmptyLine]) -> None:
        if comment is None or "noqa" not in comment.value.lower():
            return
        found = find_directive(comment.value)
        if found is not None and found.codes:
            self.directives.append(_Directive(comment, owner, self.ctx.position(comment).start.line, found))

    def visit_TrailingWhitespace(self, node: cst.TrailingWhitespace) -> None:
        self._collect(node.comment, node)

    def visit_EmptyLine(self, node: cst.EmptyLine) -> None:
        self._collect(node.comment, node)

    def after_lint(self, usage: NoqaUsage) -> None:
        """The engine's hook, once the other rules' findings went through the noqa filter."""
        codes, used = usage.known_codes, usage.used
        for directive in self.directives:
            assert directive.found.codes
            listed = [c.upper() for c in directive.found.codes]
            if any("VM901".startswith(c) for c in listed if _OWN_CODE.match(c)):
                continue  # the line opts out of this rule
            unused, unknown, disabled = [], [], []
            for code in listed:
                if not _OWN_CODE.match(code) or (directive.line, code) in used:
                    continue
                matching = [c for c in codes if c.startswith(code)]
                if not matching:
                    unknown.append(code)
                elif all(usage.selected(c) for c in matching):
                    unused.append(code)
                else:
                    disabled.append(code)
            if not (unused or unknown or disabled):
                continue
            parts = [f"{label}: {', '.join(f'`{c}`' for c in group)}"
                     for label, group in (("unused", unused), ("non-enabled", disabled), ("unknown", unknown)) if group]
            message = f"{self.MESSAGE} ({'; '.join(parts)})"
            sure = set(unused + unknown)
            edits: list[Edit] = []
            if disabled:
                edits.append(self._removal(directive, listed, sure | set(disabled), Safety.UNSAFE))
            if sure:
                edits.append(self._removal(directive, listed, sure, Safety.SAFE))
            self.report(directive.comment, message, edits)
            # Report at the comment, but replace its owner so that a removed comment takes its
            # leading whitespace (or its whole line) along.
            self.ctx.findings[-1].node = directive.owner

    def _removal(self, directive: _Directive, listed: Sequence[str], drop: set[str], safety: Safety) -> Edit:
        keep = [c for c in listed if c not in drop]
        value = directive.comment.value
        directive_text = f"# noqa: {', '.join(keep)}" if keep else ""
        new = (value[: directive.found.start] + directive_text + value[directive.found.end:]).rstrip()
        if new and not new.startswith("#"):
            new = "# " + new.lstrip()
        owner = directive.owner
        replacement: Union[cst.CSTNode, cst.RemovalSentinel]
        if new.strip("# \t"):
            replacement = owner.with_changes(comment=cst.Comment(new))
        elif isinstance(owner, cst.TrailingWhitespace):
            replacement = owner.with_changes(whitespace=cst.SimpleWhitespace(""), comment=None)
        else:
            replacement = cst.RemoveFromParent()
        title = self.FIX_TITLE if not keep else f"Remove {', '.join(f'`{c}`' for c in listed if c in drop)} from the `noqa` directive"
        return self.edit(replacement, safety, title)

