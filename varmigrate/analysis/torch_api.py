"""What varmigrate knows about torch's API and 0.3-era naming: which callables return tensors,
which methods only tensors have, losses and reductions, old module paths, star-import exports, and
the name hints legacy code gives (`loss`, `criterion`, `dataset`). Tables and pure functions of
names only, without libcst (the project index and the prefilter use them on clean runs); the
matchers that read nodes are in torch_nodes.py.
"""

from __future__ import annotations

# Old module paths that are the same object as a shorter public name.
CANONICAL = {
    "torch.autograd.variable.Variable": "torch.autograd.Variable",
    "torch.autograd.function.Function": "torch.autograd.Function",
    "torch.autograd.function.InplaceFunction": "torch.autograd.InplaceFunction",
    "torch.nn.parameter.Parameter": "torch.nn.Parameter",
    "torch.nn.modules.module.Module": "torch.nn.Module",
}

# What `from M import *` binds, for the modules legacy code star-imports.
STAR_EXPORTS = {
    "torch.autograd": ("Variable", "Function", "backward", "grad"),
    "torch.autograd.variable": ("Variable",),
    "torch.nn": ("Module", "Parameter", "Linear", "Conv2d", "Sequential", "functional", "init"),
}


def canonical(qname: str) -> str:
    return CANONICAL.get(qname, qname)


# torch factories that accept `requires_grad=` (SEMANTICS.md B: folding is bitwise-equal, same RNG use).
REQUIRES_GRAD_FACTORIES = {
    f"torch.{name}"
    for name in (
        "randn", "rand", "zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "eye",
        "tensor", "randn_like", "rand_like", "zeros_like", "ones_like", "empty_like", "full_like",
        "randperm", "range",
    )
}
# Calls that always build a new tensor nobody else references (dropping `Variable` is exact).
FRESH_TENSOR_CALLS = REQUIRES_GRAD_FACTORIES | {
    f"torch.{name}"
    for name in (
        # Not cat/stack/normal/bernoulli (they require grad when an input does) nor as_tensor
        # (returns its tensor argument itself).
        "from_numpy", "randint", "randint_like", "multinomial",
        "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor",
        "IntTensor", "ShortTensor", "ByteTensor", "CharTensor", "BoolTensor",
        "cuda.FloatTensor", "cuda.DoubleTensor", "cuda.HalfTensor", "cuda.LongTensor",
        "cuda.IntTensor", "cuda.ByteTensor", "cuda.BoolTensor",
    )
}
# Conversions that return a new tensor when applied to a fresh temporary.
CONVERSIONS = {
    "type", "float", "double", "half", "long", "int", "short", "byte", "char", "bool", "cuda",
    "cpu", "to", "contiguous", "view", "unsqueeze", "squeeze", "t", "transpose", "permute",
    "normal_", "uniform_", "fill_", "zero_", "random_", "bernoulli_", "resize_", "reshape",
    "clone", "expand",
}

# torch namespaces whose callables do not return tensors.
_NON_TENSOR_PREFIXES = (
    "torch.utils.",
    "torch.optim.",
    "torch.backends.",
    "torch.jit.",
    "torch.distributed.",
    "torch.multiprocessing.",
    "torch.onnx.",
    "torch.hub.",
    "torch.cuda.",
    "torch.testing.",
    "torch.distributions.",
)
_NON_TENSOR_FUNCS = {
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "manual_seed", "seed",
    "save", "load", "device", "dtype", "is_tensor", "is_storage", "numel", "get_default_dtype",
    "set_default_dtype", "set_default_tensor_type", "set_num_threads", "get_num_threads", "Size",
    "Generator", "is_grad_enabled", "set_printoptions", "typename", "use_deterministic_algorithms",
    "initial_seed", "get_rng_state", "set_rng_state", "is_floating_point", "compile",
}
# Tensor methods whose result is not a tensor.
NON_TENSOR_METHODS = {
    "item", "tolist", "numpy", "size", "dim", "ndimension", "numel", "data_ptr", "is_contiguous",
    "element_size", "backward", "register_hook", "nelement", "is_floating_point", "get_device",
    "storage", "untyped_storage", "stride", "__len__", "equal", "type",
}
# Attribute names that are tensors on any tensor or module.
TENSOR_ATTRS = {"grad", "weight", "bias", "data", "T", "mT", "real", "imag"}
# Methods that only tensors have. Names numpy arrays share (`max`, `sum`, `view`, `item`, `tolist`,
# `astype`, `dtype`, `shape`, `device` ...) are left out on purpose: `m.data` of a scipy.sparse
# matrix is an ndarray, and `m.data.max()` must stay silent.
TENSOR_ONLY_METHODS = {
    "numpy", "cpu", "cuda", "clone", "detach", "size", "dim", "ndimension", "numel", "type_as",
    "float", "double", "long", "int", "half", "byte", "unsqueeze", "expand", "expand_as", "contiguous",
    "norm", "eq", "ne", "gt", "lt", "ge", "le", "mm", "masked_fill", "index_select", "new", "exp",
    "log", "sqrt", "pow", "topk", "is_cuda", "storage", "to", "permute", "view_as", "zero_", "normal_",
    "uniform_", "fill_", "copy_", "add_", "sub_", "mul_", "div_", "clamp_", "addcmul_", "addcdiv_",
    "div", "mul", "sigmoid", "softmax", "log_softmax", "new_zeros", "new_ones", "new_full", "new_empty",
    "new_tensor",
}
# Methods ndarrays share with tensors: a chain through them after `.data` still needs a tensor-only
# method further on (`out.data.view(-1).div(t).exp()`) to count as evidence.
SHARED_ARRAY_METHODS = {
    "view", "reshape", "squeeze", "transpose", "flatten", "sum", "mean", "max", "min", "abs", "clip",
    "round", "cumsum", "prod", "std", "var", "argmax", "argmin", "repeat",
}
# `.new(...)` and friends make a fresh tensor that never requires grad: `.data` before them is noise.
NEW_METHODS = {"new", "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor"}
# `torch.nn` loss classes / `torch.nn.functional` loss functions: their result is 0-dim unless they
# are asked not to reduce.
LOSS_FUNCTIONS = {
    "nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "hinge_embedding_loss",
    "margin_ranking_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
    "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss", "huber_loss", "gaussian_nll_loss",
    "ctc_loss",
}
# Reductions that return a 0-dim tensor when called without a dimension.
FULL_REDUCTIONS = {"sum", "mean", "prod", "norm", "std", "var", "max", "min", "dot", "trace", "logsumexp"}
# Tensor methods whose result aliases the receiver (a view, or `self` when no conversion is needed).
ALIAS_METHODS = {
    "cpu", "cuda", "to", "float", "double", "half", "long", "int", "short", "byte", "char", "bool",
    "type", "type_as", "contiguous", "view", "view_as", "reshape", "reshape_as", "expand", "expand_as",
    "squeeze", "unsqueeze", "t", "transpose", "permute", "narrow", "select", "unfold", "detach",
    "flatten", "as_strided", "split", "chunk", "unbind", "diagonal", "movedim", "swapaxes",
}
# Comparisons: their result never requires grad, so `.data` on an operand changes nothing.
COMPARISON_METHODS = {"eq", "ne", "gt", "lt", "ge", "le", "equal"}
# Metadata that reads the same through `.data` (SEMANTICS E: drop `.data`, always).
METADATA_ATTRS = {"shape", "dtype", "is_cuda", "device", "ndim", "layout", "is_sparse"}
METADATA_METHODS = {
    "size", "dim", "ndimension", "numel", "nelement", "tolist", "is_contiguous", "element_size",
    "get_device", "is_floating_point", "stride", "type",
}
# Builtins and other callables that only read their tensor arguments.
READING_BUILTINS = {
    "print", "len", "float", "int", "str", "repr", "format", "round", "abs", "bool", "isinstance",
    "type", "hash", "id", "sorted", "min", "max", "sum", "any", "all",
}
# Methods only an nn.Module has (a name they are called on is a module).
MODULE_METHODS = {"parameters", "named_parameters", "train", "eval", "modules", "children", "named_modules"}
_CRITERION_NAMES = ("criterion", "loss_fn", "lossfn", "loss_func", "loss_function")
# Names that hold datasets, loaders or options, whose `.data` is never autograd's `.data`.
_CONTAINER_HINTS = ("dataset", "loader", "args", "opt", "config", "cfg", "sparse", "matrix", "batch", "df")


def is_inplace_method(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


def torch_callable_returns_tensor(q: str) -> bool:
    if q == "torch.autograd.Variable" or q == "torch.nn.Parameter":
        return True
    if not q.startswith("torch."):
        return False
    if q.startswith("torch.cuda.") and q.endswith("Tensor"):
        return True
    if q.startswith(_NON_TENSOR_PREFIXES):
        return False
    last = q.rsplit(".", 1)[-1]
    if last in _NON_TENSOR_FUNCS:
        return False
    if q.startswith("torch.nn."):
        # `nn.parallel.data_parallel(module, input)` is a module's forward (dcgan's netD).
        return q.startswith(("torch.nn.functional.", "torch.nn.init.")) or q == "torch.nn.parallel.data_parallel"
    if q.startswith("torch.autograd."):
        return last in ("grad",)
    return last.endswith("Tensor") or last[:1].islower()


def loss_like(name: str) -> bool:
    lowered = name.lower()
    return "loss" in lowered and "losses" not in lowered and not lowered.endswith(("fn", "func", "function", "criterion"))


def criterion_like(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("criterion") or lowered.endswith(_CRITERION_NAMES)


def container_like(name: str) -> bool:
    lowered = name.lower()
    return any(hint in lowered for hint in _CONTAINER_HINTS) or lowered in ("data", "self", "cls", "np", "numpy")
