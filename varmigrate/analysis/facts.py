"""What a file's analyses know about names defined outside the file, by qualified name.

Today that is torch's API (`TorchFacts`). A project index (issue 11: names arriving through
`from .common import *`, functions of other modules that return tensors, `nn.Module` subclasses
imported from siblings) answers the same questions for the project's own modules and defers to
`TORCH` for the rest, so `ImportTracker` and `TensorInference` need no change to use it.
"""

from __future__ import annotations

from typing import Optional, Protocol

from .torch_api import STAR_EXPORTS, canonical, torch_callable_returns_tensor


class OutsideFacts(Protocol):
    def star_binding(self, module: str, name: str) -> Optional[str]:
        """The qualified name that `from <module> import *` binds to `name`, if it binds it."""
        ...

    def returns_tensor(self, qname: str) -> bool:
        """Calling `qname` returns a tensor."""
        ...

    def constructs_module(self, qname: str) -> Optional[bool]:
        """Calling `qname` builds an `nn.Module` (True) or something else (False); None: unknown."""
        ...

    def is_module_class(self, qname: str) -> bool:
        """`qname` is an `nn.Module` class (a local class deriving from it is a module class too)."""
        ...


class TorchFacts:
    """torch's API as the tables of torch_api.py describe it."""

    def star_binding(self, module: str, name: str) -> Optional[str]:
        return canonical(f"{module}.{name}") if name in STAR_EXPORTS.get(module, ()) else None

    def returns_tensor(self, qname: str) -> bool:
        return torch_callable_returns_tensor(qname)

    def constructs_module(self, qname: str) -> Optional[bool]:
        if not qname.startswith("torch.nn."):
            return None
        last = qname.rsplit(".", 1)[-1]
        return last[:1].isupper() and last != "Parameter" and "functional" not in qname

    def is_module_class(self, qname: str) -> bool:
        return qname.startswith("torch.nn.")


TORCH = TorchFacts()
