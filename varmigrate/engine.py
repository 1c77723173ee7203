"""One engine for lint and fix: parse once, run every rule in one traversal, apply fixes to a fixed point.

Text in, text out: file handling (encodings, notebooks, atomic writes) lives in `sources.py`.
"""

from __future__ import annotations

import contextlib
import re
import sys
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable, Iterator, Optional, Sequence

import libcst as cst

from .config import Settings
from .analysis.context import FileContext
from .analysis.imports import ImportTracker
from .analysis.nodes import is_no_grad_block
from .rewrite.imports import ImportRemover
from .rewrite.no_grad import with_block
from .tree.memo import FileMemo
from .tree.positions import Positions, positions
from .tree.walk import parent_map, visit as walk_visit, visit_batched
from .triggers import mentions
from .syntax import async_keyword, python2
from .registry import all_rules
from .rule import Edit, Finding, NoGrad, Rule
from .policy import AppliedFix, FixPolicy, Lineage
from .rules.unused_noqa import unused_noqa_findings
from .sources import SourceError  # defined there so the CLI fast path need not import libcst

MAX_ITERATIONS = 10
# Imports that a fix may leave unused and that we then remove.
REMOVABLE_IMPORTS = ("torch.autograd.Variable",)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9]+(?:\s*,\s*[A-Za-z0-9]+)*))?", re.IGNORECASE)


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    module: Optional[cst.Module] = None
    imports: Optional[ImportTracker] = None
    # The lint's parent map of `module` (built on first call, shared with the fix round).
    parents: Optional[Callable[[], dict[int, cst.CSTNode]]] = field(default=None, repr=False, compare=False)


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


# ------------------------------------------------------------------------------------------
# Lint
# ------------------------------------------------------------------------------------------
def selected_rules(settings: Settings) -> list[type[Rule]]:
    return [r for r in all_rules() if settings.is_selected(r.CODE)]


def passes_prefilter(text: str, rules: Sequence[type[Rule]]) -> bool:
    """Cheap text test: a file without `torch` or without any trigger word has no findings."""
    if "torch" not in text:
        return False
    return any(mentions(word, text) for rule in rules for word in rule.TRIGGERS)


def parse_error(path: str, exc: cst.ParserSyntaxError, text: Optional[str] = None) -> SourceError:
    """Prefer CPython's location and wording: libcst's can be a line late (CRLF files, IPython
    magics) or `1:1` with the bare "Syntax Error" (an indentation mix-up)."""
    if text is not None:
        try:
            with warnings.catch_warnings():  # e.g. SyntaxWarning for "\d" must not reach stderr
                warnings.simplefilter("ignore")
                compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as err:
            if err.lineno:
                hint = _magic_hint(text, err.lineno)
                return SourceError(path, err.lineno, err.offset or 1, f"SyntaxError: {err.msg}{hint}")
        except (ValueError, RecursionError, MemoryError):
            pass
    message = str(exc).splitlines()[0] if str(exc) else "invalid syntax"
    return SourceError(path, exc.raw_line, exc.raw_column + 1, f"SyntaxError: {message}")


_MAGIC = re.compile(r"^\s*(%%?[A-Za-z_]\w*|!\S+)")


def _magic_hint(text: str, lineno: int) -> str:
    """A script exported from a notebook keeps its IPython magics and shell lines."""
    lines = text.splitlines()
    match = _MAGIC.match(lines[lineno - 1]) if 0 < lineno <= len(lines) else None
    if match is None:
        return ""
    return (f" (`{match.group(1)}` is an IPython magic or shell line, not Python: run varmigrate on the"
            " .ipynb notebook, or remove the line)")


def noqa_map(text: str) -> dict[int, Optional[frozenset[str]]]:
    """Line -> codes suppressed there (None: a bare `# noqa` suppresses all)."""
    result: dict[int, Optional[frozenset[str]]] = {}
    if "noqa" not in text.lower():
        return result
    for lineno, line in enumerate(text.splitlines(), start=1):
        if "#" not in line:
            continue
        match = _NOQA.search(line)
        if match:
            codes = match.group("codes")
            result[lineno] = None if codes is None else frozenset(c.strip().upper() for c in codes.split(","))
    return result


def _suppressed(finding: Finding, noqa: dict[int, Optional[frozenset[str]]], used: Optional[set[tuple[int, str]]] = None) -> bool:
    for line in {finding.line, finding.end_line}:
        if line in noqa:
            codes = noqa[line]
            matched = [c for c in codes if finding.code.startswith(c)] if codes is not None else []
            if codes is None or matched:
                if used is not None:  # for unused-noqa (VM901)
                    used.update((line, c) for c in matched)
                return True
    return False


def lint_module(
    module: cst.Module,
    path: str,
    settings: Settings,
    text: Optional[str] = None,
    imports: Optional[ImportTracker] = None,
    rules: Optional[Sequence[type[Rule]]] = None,
) -> LintResult:
    rules = selected_rules(settings) if rules is None else rules
    memo = FileMemo()
    with memo.active():
        ctx = FileContext(path, module, imports, memo)
        instances = [rule(ctx) for rule in rules]
        if rules and ctx.imports.imports_torch:
            visit_batched(module, instances, memo)
    noqa = noqa_map(text if text is not None else module.code)
    used: set[tuple[int, str]] = set()
    findings = [f for f in ctx.findings if not _suppressed(f, noqa, used)]
    findings += unused_noqa_findings(instances, used, settings)  # needs `used`: runs after the others
    settings.apply_fix_overrides(findings)  # unfixable / extend-safe-fixes / extend-unsafe-fixes
    findings.sort(key=lambda f: (f.line, f.column, f.code))
    return LintResult(findings=findings, module=module, imports=ctx.imports, parents=ctx.parents_getter)


def lint_source(
    text: str,
    path: str,
    settings: Settings,
    imports: Optional[ImportTracker] = None,
) -> LintResult:
    rules = selected_rules(settings)
    if imports is None and not passes_prefilter(text, rules):
        return LintResult()
    if imports is None:
        # A rule none of whose trigger words occur cannot report anything: not even instantiated.
        # (Not for notebook cells: an alias imported in an earlier cell hides the word.)
        rules = [r for r in rules if not r.TRIGGERS or any(mentions(word, text) for word in r.TRIGGERS)]
    # `x.cuda(async=True)` parses only after the token pre-pass renames the keyword (same length,
    # so positions hold); the async-keyword rule reports the renamed spots and its fix spells them.
    parsed = async_keyword.prepare(text, {r.CODE for r in rules}, noqa_map(text))
    try:
        module = cst.parse_module(parsed)
    except cst.ParserSyntaxError as exc:
        legacy = python2.diagnose(parsed)
        if legacy is not None:
            return LintResult(errors=[SourceError(path, legacy.line, legacy.column, legacy.message)])
        return LintResult(errors=[parse_error(path, exc, parsed)])
    except RecursionError:
        return LintResult(errors=[SourceError(path, 1, 1, "file is too deeply nested to parse")])
    return lint_module(module, path, settings, text, imports, rules)


# ------------------------------------------------------------------------------------------
# Fix
# ------------------------------------------------------------------------------------------
class _Applier(cst.CSTTransformer):
    """Replaces nodes by identity; a node whose subtree already changed waits for the next round."""

    def __init__(self, chosen: dict[int, tuple[Finding, Edit]], imports: ImportTracker, torch_name: str,
                 on_path: Optional[set[int]] = None) -> None:
        super().__init__()
        self.chosen = chosen
        # ids of the targets' ancestors: other subtrees are not descended into, so libcst keeps
        # them as they are instead of rebuilding every node of the file (None: visit everything)
        self.on_path = on_path
        self.imports = imports
        self.torch_name = torch_name
        self.applied: list[tuple[Finding, Edit]] = []
        self._changed: list[bool] = [False]
        self._no_grad_depth = 0
        # id(statement) -> must open a no_grad block. The statements are kept alive here: a
        # pending statement discarded by an enclosing replacement must not lend its id to a new node.
        self._pending: dict[int, bool] = {}
        self._pending_nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self._changed.append(False)
        if isinstance(node, cst.With) and is_no_grad_block(node, self.imports):
            self._no_grad_depth += 1
        return self.on_path is None or id(node) in self.on_path

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        changed = self._changed.pop()
        if isinstance(original_node, cst.With) and is_no_grad_block(original_node, self.imports):
            self._no_grad_depth -= 1
        result = updated_node
        entry = self.chosen.get(id(original_node))
        if entry is not None and (not changed or callable(entry[1].replacement)):
            finding, edit = entry
            result = self._materialize(edit, updated_node)
            self.applied.append(entry)
            changed = True
        if isinstance(result, (cst.IndentedBlock, cst.Module)) and self._pending:
            result = self._merge_no_grad(result)
        if changed:
            self._changed[-1] = True
        return result

    def _materialize(self, edit: Edit, updated_node: cst.CSTNode):
        replacement = edit.replacement
        if callable(replacement):
            replacement = replacement(updated_node)
        if isinstance(replacement, NoGrad):
            stmt = replacement.statement
            if self._no_grad_depth == 0:
                self._pending[id(stmt)] = replacement.required
                self._pending_nodes.append(stmt)
            return stmt
        return replacement

    def _merge_no_grad(self, block):
        body = list(block.body)
        out: list[cst.BaseStatement] = []
        i = 0
        while i < len(body):
            if id(body[i]) not in self._pending:
                out.append(body[i])
                i += 1
                continue
            j = i
            while j < len(body) and id(body[j]) in self._pending:
                j += 1
            run = body[i:j]
            if any(self._pending[id(s)] for s in run):
                out.append(with_block(run, f"{self.torch_name}.no_grad()"))
            else:
                out.extend(run)
            i = j
        return block.with_changes(body=out)



def _count_name_uses(module: cst.Module, names: set[str]) -> dict[str, int]:
    counter = _NameUses(names)
    walk_visit(module, counter)
    return counter.counts


class _NameUses(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.counts = {n: 0 for n in names}

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        return not isinstance(node.target, cst.Name)  # `V = torch.autograd.Variable` binds, not uses

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        walk_visit(node.value, self)  # the `Variable` of `torch.autograd.Variable` is no local name
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.counts:
            self.counts[node.value] += 1


def _self_assignment(stmt: cst.CSTNode) -> bool:
    """`x = x` / `a, b = a, b` (names only): what dropping `Variable` leaves of `x = Variable(x)`."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return False
    assign = stmt.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return False

    def names(node: cst.BaseExpression) -> Optional[list[str]]:
        if isinstance(node, cst.Name):
            return [node.value]
        if isinstance(node, (cst.Tuple, cst.List)) and all(
            isinstance(e, cst.Element) and isinstance(e.value, cst.Name) for e in node.elements
        ):
            return [e.value.value for e in node.elements]  # type: ignore[attr-defined]
        return None

    target, value = names(assign.targets[0].target), names(assign.value)
    return target is not None and target == value


class _SelfAssignmentRemover(cst.CSTTransformer):
    """Drops `x = x` statements that a fix created (not ones the user wrote, counted by their code).

    Such a statement is a no-op at module and function level (in a class body it would copy an
    outer binding, so it stays). Its comments stay: leading lines move to the next statement, and a
    statement with a trailing comment or no next sibling is kept.
    """

    def __init__(self, module: cst.Module, preexisting: dict[str, int]) -> None:
        super().__init__()
        self.module = module
        self.allowance = dict(preexisting)
        self._class_depth = [False]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._class_depth.append(True)

    def leave_ClassDef(self, original_node, updated_node):  # type: ignore[override]
        self._class_depth.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._class_depth.append(False)

    def leave_FunctionDef(self, original_node, updated_node):  # type: ignore[override]
        self._class_depth.pop()
        return updated_node

    def _filter(self, body: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        carry: list[cst.EmptyLine] = []
        for i, stmt in enumerate(body):
            if carry:
                stmt = stmt.with_changes(leading_lines=[*carry, *stmt.leading_lines])
                carry = []
            last = i + 1 == len(body)
            if not self._class_depth[-1] and _self_assignment(stmt) and not (last and not out):
                code = self.module.code_for_node(stmt.with_changes(leading_lines=()))
                assert isinstance(stmt, cst.SimpleStatementLine)
                if self.allowance.get(code, 0) > 0:
                    self.allowance[code] -= 1
                elif stmt.trailing_whitespace.comment is None and not (
                    last and any(line.comment is not None for line in stmt.leading_lines)
                ):
                    carry = [line for line in stmt.leading_lines if line.comment is not None]
                    continue
            out.append(stmt)
        return out

    def leave_IndentedBlock(self, original_node, updated_node):  # type: ignore[override]
        return updated_node.with_changes(body=self._filter(updated_node.body))

    def leave_Module(self, original_node, updated_node):  # type: ignore[override]
        return updated_node.with_changes(body=self._filter(updated_node.body))


def _self_assignment_codes(module: cst.Module) -> dict[str, int]:
    collector = _SelfAssignments(module)
    walk_visit(module, collector)
    return collector.counts


class _SelfAssignments(cst.CSTVisitor):
    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self.module = module
        self.counts: dict[str, int] = {}

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        if _self_assignment(node):
            code = self.module.code_for_node(node.with_changes(leading_lines=()))
            self.counts[code] = self.counts.get(code, 0) + 1
        return False


def _insert_import_torch(module: cst.Module) -> cst.Module:
    """Add `import torch` before the first import statement (after the docstring and __future__)."""
    body = list(module.body)
    index = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and stmt.body:
            small = stmt.body[0]
            if i == 0 and isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                index = 1
                continue
            if isinstance(small, cst.ImportFrom) and small.module is not None and getattr(small.module, "value", "") == "__future__":
                index = i + 1
                continue
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                index = i
                break
        break
    new = cst.parse_statement("import torch\n")
    if index < len(body):
        # Keep the comments above the statement we insert before, above the new import.
        target = body[index]
        leading = getattr(target, "leading_lines", ())
        new = new.with_changes(leading_lines=leading)
        body[index] = target.with_changes(leading_lines=())
    body.insert(index, new)
    return module.with_changes(body=body)


class Unfixed:
    """What a fix round needs to know about a module before any fix, derived once: the same
    module is applied to several times (each finding alone for JSON/`--show-fixes` edits, or
    fix by fix after a round whose output did not parse)."""

    def __init__(self, lint: LintResult) -> None:
        assert lint.module is not None and lint.imports is not None
        self.module, self.imports = lint.module, lint.imports
        self._parents = lint.parents or (lambda: parent_map(self.module))
        self.removable = set(self.imports.locals_bound_to(REMOVABLE_IMPORTS))

    @cached_property
    def name_uses(self) -> dict[str, int]:
        return _count_name_uses(self.module, self.removable) if self.removable else {}

    @cached_property
    def self_assignments(self) -> dict[str, int]:
        return _self_assignment_codes(self.module)

    def ancestors_of(self, targets: Iterable[int]) -> Optional[set[int]]:
        """ids of every ancestor of the target nodes; None when a target is not in the module."""
        parents = self._parents()
        found: set[int] = {id(self.module)}
        for key in targets:
            if key != id(self.module) and key not in parents:
                return None
            while key in parents:
                key = id(parents[key])
                if key in found:
                    break
                found.add(key)
        return found


def _apply_round(base: Unfixed, chosen: list[tuple[Finding, Edit]]) -> tuple[cst.Module, list[tuple[Finding, Edit]]]:
    module, ctx_imports = base.module, base.imports
    torch_name = ctx_imports.alias_of("torch") or "torch"
    targets = {id(f.fix_node or f.node): (f, e) for f, e in chosen}
    applier = _Applier(targets, ctx_imports, torch_name, base.ancestors_of(targets))
    new_module = module.visit(applier)
    if not applier.applied:
        return module, []
    after_codes = _self_assignment_codes(new_module)
    if any(n > base.self_assignments.get(code, 0) for code, n in after_codes.items()):  # a fix made `x = x`
        new_module = new_module.visit(_SelfAssignmentRemover(new_module, base.self_assignments))
    if base.removable:
        after_uses = _count_name_uses(new_module, base.removable)
        gone = {n for n in base.removable if base.name_uses[n] > 0 and after_uses[n] == 0}
        if gone:
            new_module = new_module.visit(ImportRemover(gone))
    if any(e.needs_torch for _, e in applier.applied) and ctx_imports.alias_of("torch") is None:
        new_module = _insert_import_torch(new_module)
    return new_module, applier.applied


def fix_source(
    text: str,
    path: str,
    settings: Settings,
    imports: Optional[ImportTracker] = None,
    policy: Optional[FixPolicy] = None,
    cell: Optional[int] = None,
) -> FixResult:
    """Apply the allowed fixes repeatedly until nothing changes (or MAX_ITERATIONS).

    `policy` chooses each finding's edit instead of its first allowed one, given the finding of
    the original text it continues (see `policy.Lineage`); the result then lists every applied
    edit with that origin. `cell` numbers a notebook cell in those origins.
    """
    with _recursion_headroom():
        return _fix_source(text, path, settings, imports, policy, cell)


@contextlib.contextmanager
def _recursion_headroom(limit: int = 6000) -> Iterator[None]:
    """libcst's transformers and codegen recurse a few frames per node: give nested legacy
    expressions (`f(f(f(...)))` 150 deep) the depth that `check`'s iterative traversal has."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _fix_source(
    text: str,
    path: str,
    settings: Settings,
    imports: Optional[ImportTracker],
    policy: Optional[FixPolicy] = None,
    cell: Optional[int] = None,
) -> FixResult:
    result = FixResult(source=text)
    lint = lint_source(text, path, settings, imports)
    result.errors.extend(lint.errors)
    lineage = Lineage(path, text, lint.findings, cell) if policy is not None else None
    dropped: set[tuple[str, int, int]] = set()  # fixes that broke the code: never retried
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
        new_text, applied = _apply_checked(Unfixed(lint), chosen, path, result, dropped)
        if not applied or new_text == text:
            break
        result.fixed.extend(f for f, _ in applied)
        old_text, text, old_module = text, new_text, lint.module
        lint = lint_source(text, path, settings, imports)
        if lineage is not None:
            lineage.record(applied)
            lineage.advance(old_text, text, applied, lint.findings, _span_getter(old_module))
    result.source = text
    result.remaining = lint.findings
    result.exposed = max(0, len(result.fixed) - check_fixable)
    if lineage is not None:
        result.applied = lineage.applied
    return result


def _span_getter(module: cst.Module) -> Callable[[cst.CSTNode], tuple[tuple[int, int], tuple[int, int]]]:
    """Node ranges of `module`, computed on first use (one codegen pass)."""
    table: list[Positions] = []

    def span(node: cst.CSTNode) -> tuple[tuple[int, int], tuple[int, int]]:
        if not table:
            table.append(positions(module))
        return table[0][id(node)]

    return span


def _apply_checked(base: Unfixed, chosen, path, result: FixResult, dropped) -> tuple[str, list]:
    """Apply a round; if the output does not parse, find and drop the offending fixes."""
    module = base.module
    new_module, applied = _apply_round(base, chosen)
    new_text = new_module.code
    if _parses(new_text):
        return new_text, applied
    good = []
    for pair in chosen:
        candidate, _ = _apply_round(base, [pair])
        if _parses(candidate.code):
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
        return module.code, []
    new_module, applied = _apply_round(base, good)
    new_text = new_module.code
    return (new_text, applied) if _parses(new_text) else (module.code, [])


def _parses(text: str) -> bool:
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return False
    return True
