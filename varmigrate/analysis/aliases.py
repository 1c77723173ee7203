"""Can the alias that a `.data` read creates be written in place afterwards?

SEMANTICS.md E: `.data` and `.detach()` differ only in the version counter, so `x.data` ->
`x.detach()` is exact unless something writes in place through the alias while a graph that saved
`x` waits for backward. `AliasEscapes.escape` follows the value through views and conversions to its
consumers, and through a name it is bound to, to every use of that name; it answers None when
nothing can write through it, else a short reason for the message.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..tree.parents import Parents
from .imports import ImportTracker, dotted_name
from .names import Scopes
from .tensors import TensorInference
from .torch_api import ALIAS_METHODS, READING_BUILTINS, is_inplace_method


class AliasEscapes:
    def __init__(self, parents: Parents, scopes: Scopes, inference: TensorInference, imports: ImportTracker) -> None:
        self.parent = parents.parent
        self.expr_parent = parents.expr_parent
        self.method_called = parents.method_called
        self.call_of = parents.call_of
        self.scopes = scopes
        self.inference = inference
        self.imports = imports

    def escape(self, node: cst.CSTNode) -> Optional[str]:
        """None when the alias `node` evaluates to (a `.data`, or a view/`self`-returning conversion of
        one) cannot be written in place afterwards; else a short reason."""
        while True:
            method = self.method_called(node)
            if method is not None:
                if is_inplace_method(method):
                    return f"`.{method}()` writes through it"
                if method in ALIAS_METHODS:
                    node = self.call_of(node)  # type: ignore[assignment]
                    continue
                return None  # a new tensor (or a number / ndarray)
            parent, child = self.expr_parent(node)
            if isinstance(parent, cst.Attribute) and parent.value is node:
                if parent.attr.value in ("T", "mT", "data", "real", "imag"):
                    node = parent
                    continue
                return None  # metadata such as `.shape`
            if isinstance(parent, cst.Subscript) and parent.value is node:
                holder = self.parent(parent)
                if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.AugAssign) and holder.target is parent):
                    return "an item assignment writes through it"
                node = parent  # a view
                continue
            return self._consumer_escape(parent, child, node)

    def _consumer_escape(self, parent: Optional[cst.CSTNode], child: cst.CSTNode, node: cst.CSTNode) -> Optional[str]:
        if isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison, cst.BooleanOperation,
                               cst.FormattedStringExpression, cst.If, cst.While, cst.Assert, cst.Expr, cst.IfExp)):
            if isinstance(parent, cst.IfExp) and parent.test is not node:
                return "it is the value of a conditional expression"
            return None
        if isinstance(parent, cst.AugAssign):
            return None if parent.value is node else "an augmented assignment writes through it"
        if isinstance(parent, cst.Call) and isinstance(child, cst.Arg):
            return None if self._reads_args(parent) else f"it is passed to `{_callee(parent)}`"
        if isinstance(parent, (cst.Tuple, cst.List)):
            # `rnn(x, (h, c))`: a tuple built for a call that reads its arguments.
            outer, outer_child = self.expr_parent(parent)
            if isinstance(outer, cst.Call) and isinstance(outer_child, cst.Arg) and self._reads_args(outer):
                return None
            return "it is stored in a container"
        if isinstance(parent, cst.AssignTarget):
            return "it is assigned"
        if isinstance(parent, cst.Assign):
            targets = [t.target for t in parent.targets]
            if len(targets) == 1 and isinstance(targets[0], cst.Name):
                return self.name_escape(targets[0])
            return "it is stored"
        if isinstance(parent, (cst.Return, cst.Yield)):
            return "it is returned"
        return "it is stored or bound elsewhere"

    def _reads_args(self, call: cst.Call) -> bool:
        func = call.func
        q = self.imports.qualified(func)
        if q is not None:
            last = q.rsplit(".", 1)[-1]
            if q.startswith("torch.nn.init.") or is_inplace_method(last):
                return False
            # torchvision.utils (save_image, make_grid) only reads its tensors.
            return q.startswith(("torch.", "numpy.", "math.", "torchvision.utils.")) or q in ("torch", "numpy")
        if isinstance(func, cst.Name):
            if func.value in READING_BUILTINS and func.value not in self.imports.local_defs:
                return True
            # A module's forward reads its inputs (in practice: SEMANTICS E, truncated BPTT row).
            return self.inference.is_module(func)
        if isinstance(func, cst.Attribute):
            # An argument of a tensor method is read, even of an in-place one (`w.copy_(src)`).
            return self.inference.is_tensor(func.value) or self.inference.is_module(func)
        return False

    def name_escape(self, name: cst.Name) -> Optional[str]:
        """`y = x.data`: every use of `y` in its scope must only read it."""
        for use in self.scopes.uses(name):
            reason = self._use_escape(use)
            if reason is not None:
                return f"`{name.value}` is an alias: {reason}"
        return None

    def _use_escape(self, use: cst.Name) -> Optional[str]:
        parent = self.parent(use)
        if isinstance(parent, cst.AugAssign) and parent.target is use:
            return f"`{use.value} {parent.operator.__class__.__name__}` updates it in place"
        if isinstance(parent, cst.Attribute) and parent.value is use:
            method = self.method_called(use)
            if method is not None and is_inplace_method(method):
                return f"`{use.value}.{method}()` writes through it"
            return None  # other methods return new tensors or views used in place (accepted)
        if isinstance(parent, cst.Subscript) and parent.value is use:
            holder = self.parent(parent)
            if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.AugAssign) and holder.target is parent):
                return f"`{use.value}[...] =` writes through it"
            return None
        expr_parent, child = self.expr_parent(use)
        if isinstance(expr_parent, cst.Assign) and isinstance(child, cst.AssignTarget):
            return None  # a rebinding
        reason = self._consumer_escape(expr_parent, child, use)
        if reason is not None and isinstance(expr_parent, cst.Assign):
            return "it is bound to another name"
        return reason


def _callee(call: cst.Call) -> str:
    return dotted_name(call.func) or "a function"
