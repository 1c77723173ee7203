from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Union

import libcst as cst

from ..rewrite.imports import ImportRemover
from ..rule import Invalid, Rule, Safety, Valid

if TYPE_CHECKING:
    from ..analysis.context import FileContext

_VARIABLE_MODULES = ("torch.autograd", "torch.autograd.variable")


def _strip_names(block: cst.CSTNode, names: frozenset[str]) -> Union[cst.CSTNode, cst.RemovalSentinel]:
    # The engine's import remover (the one that cleans up after its own fixes): it keeps the other
    # names of the statement, and moves comments above an emptied statement to the next one.
    result = block.visit(ImportRemover(set(names)))
    assert not isinstance(result, cst.FlattenSentinel), "a block is never flattened into its parent"
    return result


def _stripper(names: frozenset[str]) -> Callable[[cst.CSTNode], Union[cst.CSTNode, cst.RemovalSentinel]]:
    return lambda updated: _strip_names(updated, names)


class UnusedVariableImport(Rule):
    """
    ## What it does
    Checks for an import of `torch.autograd.Variable` (`from torch.autograd import Variable`, also
    `as V` and `from torch.autograd.variable import Variable`) that nothing in the file uses, and for
    an alias bound by assignment (`Var = torch.autograd.Variable`) that nothing uses.

    ## Why is this bad?
    After a migration, by hand or by `varmigrate fix`, the import is left behind. It keeps a
    dependency on the 0.3-era shim and invites new code to use `Variable` again.

    ## Fix safety
    The fix removes the name from the import statement, keeping the other names of the same
    statement, and the statement itself goes when it is left empty (comments above it move to the
    next statement); an unused alias assignment is deleted the same way. It is safe: nothing in the file refers to the name (a mention in a string,
    such as `__all__`, counts as a use and suppresses the finding), and no other module of the
    project takes it from this file (`from m import *` and a use of `Variable`, `from m import
    Variable`, `m.Variable`: the project index reads the importers as this run leaves them, so an
    import goes in the same run that rewrites its last use elsewhere, and stays while a module
    outside the fixed paths still uses it). Notebooks are skipped, since a later cell may use an
    import of an earlier one.

    ## References
    - [PyTorch 0.4.0 migration guide](https://pytorch.org/2018/04/22/0_4_0-migration-guide.html)
    """

    CODE = "VM107"
    MESSAGE = "`{name}` is imported from `torch.autograd` but never used: a leftover of the legacy `Variable` API"
    FIX_TITLE = "Remove the unused `Variable` import"
    FIX = Safety.SAFE
    TRIGGERS = ("Variable",)

    VALID = [
        Valid("import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n"),
        Valid("import torch\nfrom torch.autograd import Variable\n__all__ = ['Variable']\n"),
        Valid("import torch\nfrom torch.autograd import *\n"),
        Valid("import torch\nfrom mylib import Variable\n"),
    ]
    INVALID = [
        Invalid(
            "import torch\nfrom torch.autograd import Variable\nx = torch.ones(1)\n",
            expected_replacement="import torch\nx = torch.ones(1)\n",
            message="`Variable` is imported from `torch.autograd` but never used: a leftover of the legacy `Variable` API", range=(2, 28, 2, 36),
        ),
        Invalid(
            "import torch\nfrom torch.autograd import Function, Variable as V, grad\nf = Function\n",
            expected_replacement="import torch\nfrom torch.autograd import Function, grad\nf = Function\n",
            message="`V` is imported from `torch.autograd` but never used: a leftover of the legacy `Variable` API", range=(2, 38, 2, 51),
        ),
        Invalid(
            "import torch\nVar = torch.autograd.Variable\nx = torch.ones(1)\n",
            expected_replacement="import torch\nx = torch.ones(1)\n",
            message="`Var = torch.autograd.Variable` aliases the legacy `Variable` but is never used", range=(2, 1, 2, 30),
        ),
        Invalid(
            "import torch\n\n# autograd\nfrom torch.autograd.variable import Variable\nx = 1\n",
            expected_replacement="import torch\n\n# autograd\nx = 1\n",
            message="`Variable` is imported from `torch.autograd` but never used: a leftover of the legacy `Variable` API", range=(4, 37, 4, 45),
        ),
    ]

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._blocks: list[cst.CSTNode] = []
        # Uses are counted during the engine's one traversal (no extra pass over the file): only
        # names bound to `Variable` matter, outside import statements, attribute names
        # (`torch.autograd.Variable` uses `torch`) and assignment targets (`V = ...` binds `V`).
        self._watched = set(ctx.imports.locals_bound_to(("torch.autograd.Variable",)))
        self._used: set[str] = set()
        self._not_uses: set[int] = set()
        self._in_import = 0
        # (report node, local name, message, title, enclosing block), decided at the end of the file
        self._candidates: list[tuple[cst.CSTNode, str, str, str, cst.CSTNode]] = []

    def visit_Module(self, node: cst.Module) -> None:
        self._blocks.append(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        self._blocks.pop()
        for node, local, message, title, block in self._candidates:
            if local in self._used or local in self.ctx.imports.local_defs:
                continue
            if self.ctx.facts.imported_elsewhere(local):
                continue  # another module of the project takes the name from here (`from m import *`)
            names = frozenset([local])
            # Reported at the name; applied to the enclosing block, so the remover can hand the
            # comments above an emptied statement to the next statement.
            self.report(node, message,
                        [self.edit(_stripper(names), Safety.SAFE, title)],
                        fix_node=block)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._blocks.append(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._blocks.pop()

    # -- uses ------------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        self._in_import += 1

    def leave_Import(self, original_node: cst.Import) -> None:
        self._in_import -= 1

    def leave_ImportFrom(self, original_node: cst.ImportFrom) -> None:
        self._in_import -= 1

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if isinstance(node.target, cst.Name):
            self._not_uses.add(id(node.target))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._not_uses.add(id(node.attr))

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self._watched and not self._in_import and id(node) not in self._not_uses:
            self._used.add(node.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # `__all__ = ["Variable"]` keeps the name exported.
        if self._watched and not self._in_import:
            value = node.evaluated_value
            if isinstance(value, str) and value in self._watched:
                self._used.add(value)

    # -- candidates ------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        # `Var = torch.autograd.Variable`: an alias bound by assignment, left behind like an import.
        if self.ctx.path.endswith(".ipynb") or len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        if not isinstance(node.value, (cst.Name, cst.Attribute)) or self.ctx.imports.qualified(node.value) != "torch.autograd.Variable":
            return
        local = node.targets[0].target.value
        self._watched.add(local)
        self._candidates.append((
            node, local, f"`{local} = {self.ctx.code(node.value)}` aliases the legacy `Variable` but is never used",
            f"Remove the unused `{local}` alias", self._blocks[-1],
        ))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import += 1
        if self.ctx.path.endswith(".ipynb") or node.relative or isinstance(node.names, cst.ImportStar):
            return
        module = cst.helpers.get_full_name_for_node(node.module) if node.module is not None else None
        if module not in _VARIABLE_MODULES:
            return
        for alias in node.names:
            if cst.helpers.get_full_name_for_node(alias.name) == "Variable":
                local = alias.evaluated_alias or "Variable"
                self._watched.add(local)
                self._candidates.append((alias, local, self.MESSAGE.format(name=local), self.FIX_TITLE or "", self._blocks[-1]))
