"""Which names of a file are tensors, modules, numbers, lists of tensors ...: the name sets of a
`TensorInference`, filled from the bindings `BindingCollector` (bindings.py) saw.

Flow-insensitive: a name is a tensor if some binding makes it one and none makes it a known
non-tensor. Names depend on each other (`h = model(x); out = h * 2`), so the bindings are classified
for a few rounds, until nothing changes; the expression queries are the inference's (tensors.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import libcst as cst

from .bindings import loop_pairs
from .torch_nodes import is_number, iterates_parameters

if TYPE_CHECKING:
    from .bindings import BindingCollector
    from .tensors import TensorInference


def _sizes(inf: TensorInference) -> tuple[int, ...]:
    return (len(inf.tensor_names), len(inf.module_names), len(inf.scalar_names), len(inf.tensor_lists),
            len(inf.tensor_functions), len(inf.tensor_methods), len(inf.function_instances),
            len(inf.self_tensor_attrs), len(inf.self_scalar_attrs))


def classify_names(inf: TensorInference, collector: BindingCollector, previous: Optional[TensorInference]) -> None:
    """Fill the inference's name sets from the bindings the collector saw (a fixed point: names
    depend on each other), seeded by the cells before a notebook cell (`previous`)."""
    inf.uses_create_graph = collector.create_graph
    if previous is not None:
        _seed(inf, previous, collector.bound)
    # `def test(model, ...): model.eval()`: only modules have these methods.
    inf.module_names |= collector.module_owners
    inf.int_names |= {name for name, sources in collector.sources.items()
                      if all(kind == "number" or (kind == "value" and isinstance(v, cst.Integer)) for kind, v in sources)}
    # Names depend on each other (`h = model(x); out = h * 2`): iterate a few rounds.
    for _ in range(6):
        before = _sizes(inf)
        for target, value in collector.assignments:
            _classify(inf, target, value)
        for target, value in collector.augmented:
            _classify_augmented(inf, target, value)
        for owner, value in collector.appends:
            if owner not in inf.tensor_lists and inf.is_tensor(value):
                inf.tensor_lists.add(owner)
                inf.list_items.setdefault(owner, [])
        for target, iterable in collector.loops:
            _classify_loop(inf, target, iterable)
        for name, values in collector.returns.items():
            if name not in inf.tensor_functions and any(inf.is_tensor(v) for v in values):
                inf.tensor_functions.add(name)
        for name, values in collector.method_returns.items():
            if name not in inf.tensor_methods and any(inf.is_tensor(v) for v in values):
                inf.tensor_methods.add(name)
        if _sizes(inf) == before:
            break
    # A name bound to a tensor somewhere and to a known non-tensor elsewhere is neither known
    # to be a tensor nor known not to be one.
    inf.mixed_names |= inf.tensor_names & inf.non_tensor_names
    # Numbers and method results (`x = x.numpy()`) count as "not a tensor" only for names never
    # bound to a tensor: `total = 0; total += loss` is a tensor.
    inf.non_tensor_names |= (inf.number_names | inf.weak_non_tensor_names) - inf.tensor_names
    inf.tensor_names -= inf.non_tensor_names
    inf.tensor_names |= collector.forward_params
    # `p.grad` / `p.requires_grad` on a name: only tensors have those.
    inf.tensor_names |= collector.grad_owners - inf.non_tensor_names - inf.module_names
    # Names every binding of which is known not to be a tensor (for the crash forms, which are
    # reported wherever that is not known: a name also bound to a call's unknown result is not).
    inf.definite_non_tensor_names |= {
        name for name, sources in collector.sources.items()
        if sources and all(_non_tensor_source(inf, kind, value) for kind, value in sources)
    }
    collector.inference = None


def _seed(inf: TensorInference, previous: TensorInference, bound: set[str]) -> None:
    """A notebook cell sees what the cells before it bound (names it does not bind itself)."""
    for attr in ("tensor_names", "non_tensor_names", "module_names", "scalar_names", "vector_names",
                 "number_names", "tensor_lists", "tensor_functions", "function_instances",
                 "scalar_loss_modules", "vector_loss_modules", "mixed_names", "definite_non_tensor_names"):
        mine: set[str] = getattr(inf, attr)
        mine |= {n for n in getattr(previous, attr) if n not in bound}
    for attr in ("module_classes", "tensor_classes", "function_classes", "tensor_methods",
                 "self_tensor_attrs", "self_module_attrs", "self_scalar_attrs", "self_function_attrs"):
        getattr(inf, attr).update(n for n in getattr(previous, attr) if n not in bound)


def _classify(inf: TensorInference, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
    if isinstance(target, cst.Name):
        name = target.value
        kind = inf.loss_module_kind(value)
        if kind is not None:
            (inf.scalar_loss_modules if kind else inf.vector_loss_modules).add(name)
        if isinstance(value, cst.Call) and inf.constructs_module(value):
            inf.module_names.add(name)
            constructed = inf.module_class(value)
            inf.module_classes_of.setdefault(name, set()).add(constructed or "")
        elif isinstance(value, cst.Name) and value.value in inf.module_names:
            inf.module_names.add(name)  # `net = model`
        elif isinstance(value, cst.Call) and inf.is_function_instance(value):
            inf.function_instances.add(name)  # `relu = MyReLU()`
        elif inf.is_tensor(value):
            inf.tensor_names.add(name)
            if inf.scalar_form(value):
                inf.scalar_names.add(name)
            elif isinstance(value, cst.Call):
                inf.vector_names.add(name) if inf.is_unreduced_loss(value) else None
        elif is_number(value):
            inf.number_names.add(name)
        elif inf.is_non_tensor_value(value):
            inf.non_tensor_names.add(name)
        elif inf.is_weak_non_tensor_value(value):
            inf.weak_non_tensor_names.add(name)
    elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
        if isinstance(value, cst.Call) and inf.constructs_module(value):
            inf.self_module_attrs.add(target.attr.value)
        elif isinstance(value, cst.Call) and inf.is_function_instance(value):
            inf.self_function_attrs.add(target.attr.value)
        elif inf.is_tensor(value):
            inf.self_tensor_attrs.add(target.attr.value)
            if inf.scalar_form(value):
                inf.self_scalar_attrs.add(target.attr.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(target.elements):
            # `data, target = Variable(data), Variable(target)`
            for el, val in zip(target.elements, value.elements):
                if not isinstance(el, cst.StarredElement) and not isinstance(val, cst.StarredElement):
                    _classify(inf, el.value, val.value)
            return
        # `out, (h, c) = rnn(x)`: each part of a module's output is a tensor (or tuple of them).
        if isinstance(value, cst.Call) and inf.is_tensor(value):
            _mark_all_tensor_targets(inf, target)


def _classify_augmented(inf: TensorInference, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
    """`total += loss`: a name that starts as a number becomes a tensor (0-dim if what it adds is)."""
    if not inf.is_tensor(value):
        return
    scalar = inf.scalar_form(value)
    if isinstance(target, cst.Name):
        inf.tensor_names.add(target.value)
        if scalar:
            inf.scalar_names.add(target.value)
    elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
        inf.self_tensor_attrs.add(target.attr.value)
        if scalar:
            inf.self_scalar_attrs.add(target.attr.value)


def _classify_loop(inf: TensorInference, target: cst.BaseExpression, iterable: cst.BaseExpression) -> None:
    if iterates_parameters(iterable):
        _mark_tensor_target(inf, target)
        return
    for element_target, element_source in loop_pairs(target, iterable):
        if isinstance(element_target, cst.Name) and _holds_tensors(inf, element_source):
            inf.tensor_names.add(element_target.value)


def _holds_tensors(inf: TensorInference, iterable: cst.BaseExpression) -> bool:
    """Iterating `iterable` gives tensors: a tensor's rows, a list of tensors."""
    if isinstance(iterable, cst.Name) and iterable.value in inf.tensor_lists:
        return True
    if isinstance(iterable, (cst.List, cst.Tuple)) and iterable.elements:
        return all(not isinstance(e, cst.StarredElement) and inf.is_tensor(e.value) for e in iterable.elements)
    return inf.is_tensor(iterable)


def _mark_all_tensor_targets(inf: TensorInference, target: cst.BaseExpression) -> None:
    if isinstance(target, cst.Name):
        inf.tensor_names.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for el in target.elements:
            _mark_all_tensor_targets(inf, el.value)


def _mark_tensor_target(inf: TensorInference, target: cst.BaseExpression) -> None:
    if isinstance(target, cst.Name):
        inf.tensor_names.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        # `for name, p in model.named_parameters()`: the last element is the tensor.
        if target.elements:
            _mark_tensor_target(inf, target.elements[-1].value)


def _non_tensor_source(inf: TensorInference, kind: str, value: Optional[cst.BaseExpression]) -> bool:
    if kind == "number":
        return True
    if kind != "value" or value is None or inf.is_tensor(value):
        return False
    if isinstance(value, cst.Call) and inf.constructs_module(value):
        return True
    if isinstance(value, cst.Name):
        return value.value in inf.non_tensor_names and value.value not in inf.mixed_names
    return is_number(value) or inf.is_non_tensor_value(value) or inf.is_weak_non_tensor_value(value)

