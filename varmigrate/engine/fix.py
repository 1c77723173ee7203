"""The fix loop: apply the allowed fixes, re-lint, repeat to a fixed point; a fix whose output does
not parse is dropped (and reported), the others still apply."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Callable, Optional

import libcst as cst

from ..analysis.facts import OutsideFacts
from ..analysis.imports import ImportTracker
from ..analysis.tensors import TensorInference
from ..config import Settings
from ..ftypes import Edit, Finding, SourceError
from ..policy import AppliedFix, FixPolicy, Lineage
from ..tree.positions import Positions, positions
from .alone import compiles
from .lint import LintResult, lint_source
from .transforms import Chosen, UnfixedModule

MAX_ITERATIONS = 10
# A fix that broke the code, by (code, line, column): never retried in the same fix run.
_Dropped = set[tuple[str, int, int]]


@dataclass
class FixResult:
    source: str
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    # fixes beyond those `check` counted: findings that earlier fixes exposed
    # (`Variable(x, volatile=True)` loses `volatile=`, then its wrapper)
    exposed: int = 0
    # With a policy: every applied edit, tied to the finding of the original text it belongs to.
    applied: list[AppliedFix] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def parse_or_none(text: str) -> Optional[cst.Module]:
    """libcst's tree of `text`, None when it does not parse (what every fix's output must do)."""
    try:
        return cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return None


def parses(text: str) -> bool:
    """Whether libcst parses `text`."""
    return parse_or_none(text) is not None


def fix_alone(base: UnfixedModule, finding: Finding, edit: Edit) -> Optional[str]:
    """The code with this one edit applied (with its import changes), as `fix` would write it for
    this finding alone; None when the edit does not apply or its output does not parse."""
    module, applied = base.apply([(finding, edit)])
    if not applied:
        return None
    # CPython's parser first (libcst's parse per finding was most of the cost), on the changed
    # top-level statements only when it accepts the base: the others are the base's, and
    # top-level statements (each ending in a newline at column 0) are valid together when each
    # is. libcst decides whatever CPython refuses (`except E, e:`, too deep a nesting).
    code, changed = base.statements.code(module)
    ok = base.statements.base_compiles and compiles(changed)
    return code if ok or parses(code) else None


def fix_source(
    text: str,
    path: str,
    settings: Settings,
    imports: Optional[ImportTracker] = None,
    policy: Optional[FixPolicy] = None,
    cell: Optional[int] = None,
    facts: Optional[OutsideFacts] = None,
    previous: Optional[TensorInference] = None,
) -> FixResult:
    """Apply the allowed fixes repeatedly until nothing changes (or MAX_ITERATIONS).

    `policy` chooses each finding's edit instead of its first allowed one, given the finding of
    the original text it continues (see `policy.Lineage`); the result then lists every applied
    edit with that origin. `cell` numbers a notebook cell in those origins. `facts` and
    `previous` as for `lint_module`; an import that another project module still takes from this
    one (`facts.imported_elsewhere`) is never removed.
    """
    with recursion_headroom():
        return _fix_source(text, path, settings, imports, policy, cell, facts, previous)


@contextlib.contextmanager
def recursion_headroom(limit: int = 6000) -> Iterator[None]:
    """libcst's transformers and codegen recurse a few frames per node: give nested legacy
    expressions (`f(f(f(...)))` 150 deep) the depth that `check`'s iterative traversal has."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _fix_source(text: str, path: str, settings: Settings, imports: Optional[ImportTracker],
                policy: Optional[FixPolicy] = None, cell: Optional[int] = None,
                facts: Optional[OutsideFacts] = None, previous: Optional[TensorInference] = None) -> FixResult:
    result = FixResult(source=text)
    lint = lint_source(text, path, settings, imports, facts, previous)
    result.errors.extend(lint.errors)
    lineage = Lineage(path, text, lint.findings, cell) if policy is not None else None
    dropped: _Dropped = set()
    # what `check` counts as fixable: fixes beyond it were exposed by earlier fixes
    check_fixable = sum(1 for f in lint.findings if f.edit_for(settings.unsafe_fixes) is not None)
    for _ in range(MAX_ITERATIONS):
        if lint.module is None or lint.imports is None:
            break
        chosen = []
        for finding in lint.findings:
            if policy is not None and lineage is not None:
                edit = policy.choose(finding, lineage.origin(finding), settings.unsafe_fixes)
            else:
                edit = finding.edit_for(settings.unsafe_fixes)
            if edit is not None and (finding.code, finding.line, finding.column) not in dropped:
                chosen.append((finding, edit))
        if not chosen:
            break
        new_text, applied, tree = _apply_checked(UnfixedModule(lint, facts), chosen, path, result, dropped)
        if not applied or new_text == text:
            break
        result.fixed.extend(f for f, _ in applied)
        old_text, text = text, new_text
        span = _fix_spans(lint.module, applied) if lineage is not None else None
        if lineage is None:
            _strip(applied)
        # No two trees alive: the old one, its lint context (positions, inference) and findings
        # go before the next lint. The validation parse's tree is the one linted (no second parse).
        chosen.clear()
        lint = LintResult()
        lint = lint_source(text, path, settings, imports, facts, previous, tree=tree)
        if lineage is not None and span is not None:
            lineage.record(applied)
            lineage.advance(old_text, text, applied, lint.findings, span)
            _strip(applied)
    result.source = text
    result.remaining = lint.findings
    result.exposed = max(0, len(result.fixed) - check_fixable)
    if lineage is not None:
        result.applied = lineage.applied
    return result


_Span = tuple[tuple[int, int], tuple[int, int]]


def _fix_spans(module: Optional[cst.Module], applied: list[Chosen]) -> Callable[[cst.CSTNode], _Span]:
    """The ranges in `module` of the applied fixes' `fix_node`s, computed now (one codegen pass,
    only when some fix rewrites more than its node), so that the old tree need not outlive the round."""
    wanted = [f.fix_node for f, _ in applied if f.fix_node is not None and f.fix_node is not f.node]
    table: dict[int, _Span] = {}
    if wanted and module is not None:
        every: Positions = positions(module)
        table = {id(node): every[id(node)] for node in wanted}
    return lambda node: table[id(node)]


def _strip(applied: list[Chosen]) -> None:
    """The applied findings without their nodes and replacements (what `api` does with them
    anyway): they would keep the old tree alive."""
    for finding, _ in applied:
        finding.stripped()


def _apply_checked(base: UnfixedModule, chosen: list[Chosen], path: str, result: FixResult,
                   dropped: _Dropped) -> tuple[str, list[Chosen], Optional[cst.Module]]:
    """Apply a round; if the output does not parse, find and drop the offending fixes. Returns the
    new text, the applied fixes and the new text's tree (None when nothing was applied)."""
    module = base.module
    new_module, applied = base.apply(chosen)
    new_text = new_module.code
    tree = parse_or_none(new_text)
    if tree is not None:
        return new_text, applied, tree
    good = []
    for pair in chosen:
        candidate, _ = base.apply([pair])
        if parses(candidate.code):
            good.append(pair)
        else:
            finding = pair[0]
            dropped.add((finding.code, finding.line, finding.column))
            result.errors.append(
                SourceError(path, finding.line, finding.column,
                            f"internal error: the fix for {finding.code} produced invalid code; left unchanged",
                            kind="internal")
            )
    if not good:
        return module.code, [], None
    new_module, applied = base.apply(good)
    new_text = new_module.code
    tree = parse_or_none(new_text)
    return (new_text, applied, tree) if tree is not None else (module.code, [], None)
