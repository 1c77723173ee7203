"""What a file's analyses know about names defined outside the file, by qualified name.

`TorchFacts` answers from torch's API; the project index (project.py: names arriving through
`from .common import *`, functions of other modules that return tensors, `nn.Module` subclasses
imported from siblings) answers the same questions for the project's own modules and defers to
`TORCH` for the rest, so `ImportTracker` and `TensorInference` need no change to use it.
"""

from __future__ import annotations

import sys
from typing import Optional, Protocol

from .torch_api import STAR_EXPORTS, canonical, torch_callable_returns_tensor


class OutsideFacts(Protocol):
    def star_binding(self, module: str, name: str) -> Optional[str]:
        """The qualified name that `from <module> import *` binds to `name`, if it binds it."""
        ...

    def star_names(self, module: str) -> dict[str, str]:
        """Every name `from <module> import *` is known to bind, with its qualified name (the names
        an unknown module binds are not known: empty)."""
        ...

    def origin(self, qname: str) -> str:
        """Where `qname` comes from: `m.Variable` is `torch.autograd.Variable` when module `m` imports
        it from torch (re-exports are followed); `qname` itself otherwise."""
        ...

    def resolve_module(self, module: str, level: int) -> Optional[str]:
        """The absolute name of the module `from <.*level><module> import ...` names (None: unknown)."""
        ...

    def returns_tensor(self, qname: str) -> bool:
        """Calling `qname` returns a tensor."""
        ...

    def returns_non_tensor(self, qname: str) -> bool:
        """Calling `qname` is known to return something that is not a tensor (numpy, the standard
        library, a project function none of whose results is a tensor)."""
        ...

    def constructs_module(self, qname: str) -> Optional[bool]:
        """Calling `qname` builds an `nn.Module` (True) or something else (False); None: unknown."""
        ...

    def is_module_class(self, qname: str) -> bool:
        """`qname` is an `nn.Module` class (a local class deriving from it is a module class too)."""
        ...

    def is_function_class(self, qname: str) -> bool:
        """`qname` is a legacy `torch.autograd.Function` subclass (calling an instance returns a tensor)."""
        ...

    def imported_elsewhere(self, name: str) -> bool:
        """Another module of the project takes `name` from this file (`from m import *` and uses it,
        `from m import Variable`, `m.Variable`): removing its import here would break that module."""
        ...

    def uses_torch(self, qname: str) -> bool:
        """`qname` is a project module, or an object of one, whose module imports torch (a file that
        imports it uses torch through it)."""
        ...

    def imported_by_torch(self) -> bool:
        """The file is a `.py` with `x.data[0]` that a project module using torch imports (the
        file itself may not mention torch: a `utils.py` of helpers called with tensors)."""
        ...

    def forward_shape(self, qname: str) -> Optional[tuple[int, ...]]:
        """The shape of what an instance of the module class `qname` returns, when its `forward` says
        (`return output.mean(0).view(1)`: (1,); `return x.mean()`: 0-dim); None: not known."""
        ...


# Packages none of whose functions returns a torch tensor (the standard library's included).
_NON_TENSOR_PACKAGES = frozenset(sys.stdlib_module_names) | {
    "numpy", "scipy", "pandas", "PIL", "sklearn", "skimage", "cv2", "imageio", "matplotlib", "h5py",
    "tqdm", "yaml", "six", "future", "past", "gym", "visdom", "tensorboardX", "tensorflow", "nltk", "spacy",
    "gensim", "lmdb", "progressbar", "termcolor", "colorama", "requests", "dill", "joblib", "click",
    "pycocotools", "seaborn", "plotly", "librosa", "soundfile", "scikits", "networkx", "tables",
    "easydict", "tabulate", "pydot", "graphviz", "mpl_toolkits", "sympy", "numba", "cupy", "mxnet", "chainer",
}


class TorchFacts:
    """torch's API as the tables of torch_api.py describe it."""

    def star_binding(self, module: str, name: str) -> Optional[str]:
        return canonical(f"{module}.{name}") if name in STAR_EXPORTS.get(module, ()) else None

    def star_names(self, module: str) -> dict[str, str]:
        return {name: canonical(f"{module}.{name}") for name in STAR_EXPORTS.get(module, ())}

    def origin(self, qname: str) -> str:
        return canonical(qname)

    def resolve_module(self, module: str, level: int) -> Optional[str]:
        return None  # a file outside any project: its package is not known

    def returns_tensor(self, qname: str) -> bool:
        return torch_callable_returns_tensor(qname)

    def returns_non_tensor(self, qname: str) -> bool:
        if qname == "torch" or qname.startswith("torch."):
            return not torch_callable_returns_tensor(qname)
        # The standard library and the array, image and data libraries of 2017 code return no
        # tensor; any other package (torchnet, torchbiomed, a lab's own helpers) may: unknown.
        head = qname.partition(".")[0]
        if head == "torchvision":  # (a few of its helpers return tensors: not known either way)
            return not qname.startswith(("torchvision.utils.", "torchvision.transforms.functional."))
        return head in _NON_TENSOR_PACKAGES

    def constructs_module(self, qname: str) -> Optional[bool]:
        if not qname.startswith("torch.nn."):
            return None
        last = qname.rsplit(".", 1)[-1]
        return last[:1].isupper() and last != "Parameter" and "functional" not in qname

    def is_module_class(self, qname: str) -> bool:
        return qname.startswith("torch.nn.")

    def is_function_class(self, qname: str) -> bool:
        return qname in ("torch.autograd.Function", "torch.autograd.InplaceFunction")

    def imported_elsewhere(self, name: str) -> bool:
        return False

    def uses_torch(self, qname: str) -> bool:
        return False

    def imported_by_torch(self) -> bool:
        return False

    def forward_shape(self, qname: str) -> Optional[tuple[int, ...]]:
        return None


TORCH = TorchFacts()
