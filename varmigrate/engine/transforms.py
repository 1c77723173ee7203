"""One fix round on a module: replace the chosen nodes, then tidy what the replacements left behind.

The applier replaces nodes by identity and wraps `NoGrad` statements in `with torch.no_grad():`
blocks; after it, `x = x` statements that a fix made are dropped, a legacy import that a fix
made unused is removed, and `import torch` is added when a replacement needs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any, Optional, Union

import libcst as cst

from ..analysis.facts import OutsideFacts
from ..analysis.imports import ImportTracker
from ..analysis.nodes import is_no_grad_block
from ..ftypes import Edit, Finding, NoGrad
from ..rewrite.blocks import BlockReplacement
from ..rewrite.imports import ImportRemover
from ..rewrite.no_grad import with_block
from ..rewrite.precedence import parenthesized_for
from ..tree.walk import parent_map
from ..tree.walk import visit as walk_visit
from .alone import Statements, count_name_uses
from .lint import LintResult

# Imports that a fix may leave unused and that we then remove.
REMOVABLE_IMPORTS = ("torch.autograd.Variable",)

# A finding and the one of its edits a round applies.
Chosen = tuple[Finding, Edit]
_Block = Union[cst.IndentedBlock, cst.Module]


class UnfixedModule:
    """A linted module before any fix, with what every fix round on it needs, derived once: the
    same module is applied to several times (each finding alone for JSON/`--show-fixes` edits,
    or fix by fix after a round whose output did not parse)."""

    def __init__(self, lint: LintResult, facts: Optional[OutsideFacts] = None) -> None:
        assert lint.module is not None and lint.imports is not None
        self.module, self.imports = lint.module, lint.imports
        module = self.module
        self._parents = lint.parents or (lambda: parent_map(module))
        # Not an import another module of the project takes from this one (`from m import *`).
        self.removable = {n for n in self.imports.locals_bound_to(REMOVABLE_IMPORTS)
                          if facts is None or not facts.imported_elsewhere(n)}

    @cached_property
    def statements(self) -> Statements:  # whole-module figures, per top-level statement
        return Statements(self.module)

    def _uses(self, module: cst.Module) -> dict[str, int]:
        return self.statements.total(module, "uses", lambda n: count_name_uses(n, self.removable),
                                     dict.fromkeys(self.removable, 0))

    def _self_codes(self, module: cst.Module) -> dict[str, int]:
        return self.statements.total(module, "x = x", lambda n: _self_assignment_codes(module, n), {})

    @cached_property
    def name_uses(self) -> dict[str, int]:
        return self._uses(self.module) if self.removable else {}

    @cached_property
    def self_assignments(self) -> dict[str, int]:
        return self._self_codes(self.module)

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

    def apply(self, chosen: Sequence[Chosen]) -> tuple[cst.Module, list[Chosen]]:
        """One round: the module with the chosen edits applied, and those that were."""
        module, imports = self.module, self.imports
        torch_name = imports.alias_of("torch") or "torch"
        targets = _targets(chosen)
        applier = _Applier(targets, imports, torch_name, self.ancestors_of(targets), self._parents)
        new_module = module.visit(applier)
        if not applier.applied:
            return module, []
        after_codes = self._self_codes(new_module)
        if any(n > self.self_assignments.get(code, 0) for code, n in after_codes.items()):  # a fix made `x = x`
            new_module = new_module.visit(_SelfAssignmentRemover(new_module, self.self_assignments, imports))
        if self.removable:
            after_uses = self._uses(new_module)
            gone = {n for n in self.removable if self.name_uses[n] > 0 and after_uses[n] == 0}
            if gone:
                new_module = new_module.visit(ImportRemover(gone))
        if any(e.needs_torch for _, e in applier.applied) and imports.alias_of("torch") is None:
            new_module = insert_import_torch(new_module)
        return new_module, applier.applied


# id(node) -> what replaces it, and the chosen fixes that replacement applies
_Targets = dict[int, tuple[Edit, list[Chosen]]]


def _targets(chosen: Sequence[Chosen]) -> _Targets:
    """What replaces each target node: of its fixes the last, with the block edits (`BlockReplacement`)
    that keep apart from it and each other (a module-level script's volatile sources); the rest wait."""
    groups: dict[int, list[Chosen]] = {}  # the last fix of each node first
    taken: dict[int, set[Any]] = {}
    for finding, edit in reversed(chosen):
        key = id(finding.fix_node or finding.node)
        group = groups.get(key)
        if group is None:
            groups[key] = [(finding, edit)]
            if isinstance(edit.replacement, BlockReplacement):
                taken[key] = edit.replacement.places()
        elif key in taken and isinstance(edit.replacement, BlockReplacement):
            places = edit.replacement.places()
            if BlockReplacement.apart(places, taken[key]):
                taken[key] |= places
                group.append((finding, edit))
    targets: _Targets = {}
    for key, group in groups.items():
        edit = group[0][1]
        if len(group) > 1:
            edit = dataclasses.replace(edit, replacement=BlockReplacement.merged(
                [e.replacement for _, e in group if isinstance(e.replacement, BlockReplacement)]))
        targets[key] = (edit, group[::-1])
    return targets


class _Applier(cst.CSTTransformer):
    """Replaces nodes by identity; a node whose subtree already changed waits for the next round."""

    def __init__(self, chosen: _Targets, imports: ImportTracker, torch_name: str,
                 on_path: Optional[set[int]] = None,
                 parents: Optional[Callable[[], dict[int, cst.CSTNode]]] = None) -> None:
        super().__init__()
        self.chosen = chosen
        self.parents = parents  # of the original tree: where a replacement stands decides its parentheses
        # ids of the targets' ancestors: other subtrees are not descended into, so libcst keeps
        # them as they are instead of rebuilding every node of the file (None: visit everything)
        self.on_path = on_path
        self.imports = imports
        self.torch_name = torch_name
        self.applied: list[Chosen] = []
        self._changed: list[bool] = [False]
        self._no_grad_depth = 0
        # A function, lambda or class body defined under `no_grad` runs later, maybe outside it.
        self._outer_depths: list[int] = []
        # id(statement) -> must open a no_grad block. The statements are kept alive here: a
        # pending statement discarded by an enclosing replacement must not lend its id to a new node.
        self._pending: dict[int, bool] = {}
        self._pending_nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self._changed.append(False)
        if isinstance(node, cst.With) and is_no_grad_block(node, self.imports):
            self._no_grad_depth += 1
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            self._outer_depths.append(self._no_grad_depth)
            self._no_grad_depth = 0
        return self.on_path is None or id(node) in self.on_path

    def on_leave(  # type: ignore[override]  # libcst types it per node class, we replace any node
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> Union[cst.CSTNode, cst.RemovalSentinel]:
        changed = self._changed.pop()
        if isinstance(original_node, cst.With) and is_no_grad_block(original_node, self.imports):
            self._no_grad_depth -= 1
        elif isinstance(original_node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            self._no_grad_depth = self._outer_depths.pop()
        result: Union[cst.CSTNode, cst.RemovalSentinel] = updated_node
        entry = self.chosen.get(id(original_node))
        if entry is not None and (not changed or callable(entry[0].replacement)):
            result = self._materialize(entry[0], updated_node)
            if self.parents is not None and isinstance(result, cst.CSTNode):
                result = parenthesized_for(self.parents().get(id(original_node)), original_node, result)
            self.applied.extend(entry[1])
            changed = True
        if isinstance(result, (cst.IndentedBlock, cst.Module)) and self._pending:
            result = self._merge_no_grad(result)
        if changed:
            self._changed[-1] = True
        return result

    def _materialize(self, edit: Edit, updated_node: cst.CSTNode) -> Union[cst.CSTNode, cst.RemovalSentinel]:
        replacement = edit.replacement
        assert replacement is not None, "an edit whose replacement was stripped cannot be applied"
        if callable(replacement):
            replacement = replacement(updated_node)
        if isinstance(replacement, NoGrad):
            stmt = replacement.statement
            if self._no_grad_depth == 0:
                self._pending[id(stmt)] = replacement.required
                self._pending_nodes.append(stmt)
            return stmt
        return replacement

    def _merge_no_grad(self, block: _Block) -> _Block:
        body: list[cst.BaseStatement] = list(block.body)
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


# After the applier: unused legacy imports, `x = x`, `import torch`
def _names(node: cst.BaseExpression) -> Optional[list[str]]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        names = [e.value.value for e in node.elements if isinstance(e, cst.Element) and isinstance(e.value, cst.Name)]
        return names if len(names) == len(node.elements) else None
    return None


def _self_assignment(stmt: cst.CSTNode) -> bool:
    """`x = x` / `a, b = a, b` (names only), or `self.x = self.x`: what dropping `Variable` leaves
    of `x = Variable(x)`."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return False
    assign = stmt.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return False
    target, value = _names(assign.targets[0].target), _names(assign.value)
    return target is not None and target == value or _attribute_self_assignment(stmt) is not None


def _attribute_self_assignment(stmt: cst.CSTNode) -> Optional[tuple[str, str]]:
    """(`self`, `x`) for `self.x = self.x`."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    assign = stmt.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return None
    target, value = assign.targets[0].target, assign.value
    if isinstance(target, cst.Attribute) and isinstance(value, cst.Attribute) and isinstance(target.value, cst.Name) \
            and isinstance(value.value, cst.Name) and (target.value.value, target.attr.value) == (value.value.value, value.attr.value):
        return target.value.value, target.attr.value
    return None


_MODULE_CLASSES = {"torch.nn.Module", "torch.nn.modules.module.Module"}
_ATTRIBUTE_HOOKS = {"__setattr__", "__getattr__", "__getattribute__", "__delattr__"}
_BLOCK_HOLDERS = (cst.Module, cst.BaseSuite, cst.BaseCompoundStatement, cst.Else, cst.ExceptHandler,
                  cst.ExceptStarHandler, cst.Finally, cst.MatchCase)  # what holds a block, or is one


def _plain_attribute(imports: ImportTracker, cls: cst.ClassDef, attr: str) -> bool:
    """`self.attr = self.attr` is a no-op in `cls`: an undecorated subclass of `nn.Module` alone
    (whose `__setattr__` stores a parameter, buffer, submodule or plain value back where
    `__getattr__` found it) that defines no attribute hooks and nothing named `attr` (which could
    be a property or another descriptor)."""
    if cls.decorators or not cls.bases or cls.keywords or any(
            a.keyword is not None or imports.qualified(a.value) not in _MODULE_CLASSES for a in cls.bases):
        return False
    for stmt in cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ():
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value in (_ATTRIBUTE_HOOKS | {attr}):
            return False
        small = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else []
        for s in small:
            targets = [t.target for t in s.targets] if isinstance(s, cst.Assign) else \
                [s.target] if isinstance(s, (cst.AnnAssign, cst.AugAssign)) else []
            if any(n.value == attr for t in targets for n in _target_names(t)):
                return False
        if not isinstance(stmt, (cst.FunctionDef, cst.SimpleStatementLine)):
            return False  # a class body with branches or nested classes: not read here
    return True


def _target_names(node: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for e in node.elements for n in _target_names(e.value)]
    return []


class _SelfAssignmentRemover(cst.CSTTransformer):
    """Drops `x = x` statements that a fix created (not ones the user wrote, counted by their code).

    Such a statement is a no-op at module and function level (in a class body it would copy an
    outer binding, so it stays); so is `self.x = self.x` in a method of a plain `nn.Module`
    subclass (`_plain_attribute`). Its comments stay: its leading comment lines and its trailing
    comment (on a line of its own) move to the next statement, or below the block's last one; a
    block it leaves empty gets `pass` in its place, with its comments.
    """

    def __init__(self, module: cst.Module, preexisting: dict[str, int], imports: ImportTracker) -> None:
        super().__init__()
        self.module = module
        self.allowance = dict(preexisting)
        self.imports = imports
        self._class_depth = [False]
        self._scopes: list[Union[cst.ClassDef, cst.FunctionDef]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        # into blocks only: other nodes are kept as they are, not rebuilt (every node of the file)
        return isinstance(node, _BLOCK_HOLDERS) and super().on_visit(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._class_depth.append(True)
        self._scopes.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self._class_depth.pop()
        self._scopes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._class_depth.append(False)
        self._scopes.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self._class_depth.pop()
        self._scopes.pop()
        return updated_node

    def _no_op(self, stmt: cst.CSTNode) -> bool:
        """A fix-made self-assignment that does nothing here (a name outside a class body, or
        `self.x = self.x` in a method of a plain `nn.Module` subclass)."""
        if self._class_depth[-1] or not _self_assignment(stmt):
            return False
        pair = _attribute_self_assignment(stmt)
        if pair is None:
            return True
        if len(self._scopes) < 2 or not isinstance(self._scopes[-1], cst.FunctionDef) \
                or not isinstance(self._scopes[-2], cst.ClassDef):
            return False
        method, cls = self._scopes[-1], self._scopes[-2]
        params = method.params.params
        return (not method.decorators and bool(params) and params[0].name.value == pair[0]
                and _plain_attribute(self.imports, cls, pair[1]))

    def _filter(self, body: Sequence[cst.BaseStatement], block: bool) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
        """The statements of `body` without the fix-made `x = x`, and the comment lines that go
        after the last one (a dropped statement's comments when nothing follows it). In an
        indented block left empty, the last dropped statement becomes `pass` with its comments."""
        out: list[cst.BaseStatement] = []
        carry: list[cst.EmptyLine] = []
        comment: Optional[cst.Comment] = None  # the last dropped statement's trailing comment
        for stmt in body:
            if carry:
                stmt = stmt.with_changes(leading_lines=[*carry, *getattr(stmt, "leading_lines", ())])
                carry, comment = [], None
            if self._no_op(stmt):
                code = self.module.code_for_node(stmt.with_changes(leading_lines=()))
                assert isinstance(stmt, cst.SimpleStatementLine)
                if self.allowance.get(code, 0) > 0:
                    self.allowance[code] -= 1
                else:
                    carry = [line for line in stmt.leading_lines if line.comment is not None]
                    comment = stmt.trailing_whitespace.comment
                    if comment is not None:
                        carry.append(cst.EmptyLine(indent=True, comment=comment))
                    continue
            out.append(stmt)
        if block and not out:
            # the block would be empty: `pass`, with the dropped statement's comments
            leading = carry[:-1] if comment is not None else carry
            whitespace = cst.TrailingWhitespace(whitespace=cst.SimpleWhitespace("  "), comment=comment) \
                if comment is not None else cst.TrailingWhitespace()
            return [cst.SimpleStatementLine([cst.Pass()], leading_lines=leading, trailing_whitespace=whitespace)], []
        return out, carry

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        body, footer = self._filter(updated_node.body, True)
        return updated_node.with_changes(body=body, footer=[*footer, *updated_node.footer])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body, footer = self._filter(updated_node.body, False)
        return updated_node.with_changes(body=body, footer=[*footer, *updated_node.footer])


def _self_assignment_codes(module: cst.Module, node: Optional[cst.CSTNode] = None) -> dict[str, int]:
    collector = _SelfAssignments(module)  # `module`'s codegen settings; `node` (default: the module) visited
    walk_visit(module if node is None else node, collector)
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


def insert_import_torch(module: cst.Module) -> cst.Module:
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
        new = new.with_changes(leading_lines=getattr(target, "leading_lines", ()))
        body[index] = target.with_changes(leading_lines=())
    body.insert(index, new)
    return module.with_changes(body=body)
