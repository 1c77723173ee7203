"""The 0.3 reading of legacy code (harness/legacy_mode.py), in-process, against hand-written
modern equivalents: a `volatile` program read as 0.3 must compute exactly what its `torch.no_grad()`
migration computes, and `w.data.resize_()` / `set_()` must change `w` as 0.3's `.data` did."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any, Callable

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
pytestmark = pytest.mark.torch

from torch.autograd import Variable  # noqa: E402


class Reading:
    """Runs a function under the legacy mode (0.3) or without it (modern torch)."""

    def __init__(self, features: set[str]) -> None:
        self.features = features
        self.hits: Counter[str] = Counter()

    def __call__(self, fn: Callable[[], Any]) -> Any:
        from varmigrate.harness.legacy_mode import LegacyMode, install_set_hook, install_variable_hook

        mode = LegacyMode(self.features, self.hits)
        undo = [install_variable_hook(mode)] if "volatile" in self.features else []
        undo += [install_set_hook(mode)] if "data_metadata" in self.features else []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "volatile was removed": modern torch's own warning
                with mode:
                    return fn()
        finally:
            for u in undo:
                u()


@pytest.fixture
def as03() -> Iterator[Reading]:
    yield Reading({"volatile", "data_metadata", "zero_dim_index"})


def modern(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


# -- the DQN target pattern (issue 12's figures) ----------------------------------------------

def dqn_legacy() -> Any:
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    s, s2 = Variable(torch.randn(8, 4)), Variable(torch.randn(8, 4), volatile=True)
    target = model(s2).max(1)[0]
    target.volatile = False  # 0.3: the bootstrap target is a constant
    loss = ((model(s).max(1)[0] - (0.9 * target + 1)) ** 2).mean()
    loss.backward()
    return model.bias.grad


def dqn_no_grad() -> Any:
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    s, s2 = torch.randn(8, 4), torch.randn(8, 4)
    with torch.no_grad():
        target = model(s2).max(1)[0]
    loss = ((model(s).max(1)[0] - (0.9 * target + 1)) ** 2).mean()
    loss.backward()
    return model.bias.grad


def test_dqn_target_read_as_03_equals_the_no_grad_migration(as03: Reading) -> None:
    grad03 = as03(dqn_legacy)
    assert torch.equal(grad03, dqn_no_grad())  # bitwise
    assert grad03.tolist() == pytest.approx([-0.8838, -1.6263], abs=1e-4)
    assert as03.hits["volatile_variable"] == 1 and as03.hits["volatile_attribute"] == 1
    assert as03.hits["volatile_op"] == 2  # the linear and the max of the volatile branch


def test_dqn_target_read_as_modern_torch_leaks_into_the_target() -> None:
    assert modern(dqn_legacy).tolist() == pytest.approx([0.3086, -0.5596], abs=1e-4)


# -- the mask-assignment variant, the helper with a flag parameter -----------------------------

def masked(legacy: bool, flags: Any = None) -> Any:
    torch.manual_seed(1)
    policy = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    states = torch.randn(6, 5)
    mask = torch.tensor([True, False, True, True, False, True])
    nxt = torch.randn(4, 5)
    rewards = torch.randn(6)
    q = policy(states).max(1)[0]
    if legacy:
        values = Variable(torch.zeros(6))
        values[mask] = policy(Variable(nxt, volatile=True)).max(1)[0]
        if flags is not None:
            flags.append(values.volatile)  # 0.3: item assignment made the target volatile
        values.volatile = False
    else:
        values = torch.zeros(6)
        with torch.no_grad():
            values[mask] = policy(nxt).max(1)[0]
    F.smooth_l1_loss(q, values * 0.9 + rewards).backward()
    return [p.grad.clone() for p in policy.parameters()]


def test_mask_assignment_read_as_03_equals_the_no_grad_migration(as03: Reading) -> None:
    flags: list[bool] = []
    for g03, g in zip(as03(lambda: masked(True, flags)), masked(False)):
        assert torch.equal(g03, g)
    assert flags == [True]
    leaked = modern(lambda: masked(True))
    assert not all(torch.equal(a, b) for a, b in zip(leaked, masked(False)))


def to_var(x: Any, volatile: bool = False) -> Any:
    return Variable(x, volatile=volatile)


def helper_flow(legacy: bool, flags: Any = None) -> Any:
    torch.manual_seed(2)
    model = nn.Linear(3, 3)
    x, x2 = torch.randn(5, 3), torch.randn(5, 3)
    if legacy:
        soft = F.softmax(model(to_var(x2, volatile=True)), dim=1)
        target = Variable(soft.data)  # 0.3: `.data` is a plain tensor, so this is not volatile
        if flags is not None:
            flags += [soft.volatile, soft.grad_fn is None, soft.requires_grad, target.volatile]
        out = model(to_var(x))
    else:
        with torch.no_grad():
            soft = F.softmax(model(x2), dim=1)
        target = soft.detach()
        out = model(x)
    ((F.softmax(out, dim=1) - target) ** 2).sum().backward()
    return model.weight.grad


def test_helper_taking_the_flag_as_a_parameter(as03: Reading) -> None:
    flags: list[bool] = []
    assert torch.equal(as03(lambda: helper_flow(True, flags)), helper_flow(False))
    assert flags == [True, True, False, False]
    assert as03.hits["volatile_variable"] == 1  # to_var(x) with the default flag makes nothing volatile


# -- propagation rules ------------------------------------------------------------------------

def test_volatility_follows_the_data_flow(as03: Reading) -> None:
    def flow() -> dict[str, Any]:
        w = torch.randn(3, requires_grad=True)
        v = Variable(torch.randn(3), volatile=True)
        plain = Variable(torch.randn(3))
        acc = Variable(torch.zeros(3))
        acc.add_(v)  # in-place with a volatile operand: the target becomes volatile
        out = torch.zeros(3)
        torch.add(plain, v, out=out)
        return {"mixed": (w * v).volatile, "mixed_grad": (w * v).requires_grad, "cat": torch.cat([plain, v]).volatile,
                "plain": (w * plain).volatile, "inplace": acc.volatile, "out": out.volatile,
                "detach": v.detach().volatile, "data": v.data.volatile, "wrap_data": Variable(v.data).volatile,
                "wrap": Variable(v).volatile, "tuple": all(t.volatile for t in v.max(0)),
                "rows": all(row.volatile for row in Variable(torch.randn(2, 3), volatile=True))}

    got = as03(flow)
    assert got == {"mixed": True, "mixed_grad": False, "cat": True, "plain": False, "inplace": True, "out": True,
                   "detach": True, "data": False, "wrap_data": False, "wrap": True, "tuple": True, "rows": True}


def test_volatile_attribute_has_the_03_checks(as03: Reading) -> None:
    def flags() -> list[Any]:
        x = Variable(torch.randn(2))
        seen = [x.volatile]
        x.volatile = True
        seen.append(x.volatile)
        seen.append((x + 1).volatile)
        x.volatile = False
        seen.append((x + 1).volatile)
        for bad in (1, "yes"):
            with pytest.raises(RuntimeError, match="volatile must be a bool"):
                x.volatile = bad
        y = torch.randn(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="only be set on leaf"):
            y.volatile = True
        return seen

    assert as03(flags) == [False, True, True, False]


def test_backward_through_a_volatile_result_fails_as_on_03(as03: Reading) -> None:
    def run() -> None:
        model = nn.Linear(2, 1)
        loss = model(Variable(torch.randn(4, 2), volatile=True)).sum()
        loss.backward()

    with pytest.raises(RuntimeError, match="does not require grad"):
        as03(run)


# -- .data was the tensor itself --------------------------------------------------------------

def test_data_resize_and_set_change_the_owner(as03: Reading) -> None:
    def legacy() -> tuple[Any, ...]:
        w = Variable(torch.arange(12.0).reshape(4, 3), requires_grad=True)
        w.data.resize_(2, 3)
        p = Variable(torch.zeros(3), requires_grad=True)
        src = torch.ones(5)
        p.data.set_(src)
        alias = p.data
        alias.unsqueeze_(0)
        return w.shape, w.detach().clone(), p.shape, p.data_ptr() == src.data_ptr()

    shape, values, pshape, shares = as03(legacy)
    assert shape == (2, 3) and torch.equal(values, torch.arange(6.0).reshape(2, 3))
    assert pshape == (1, 5) and shares
    assert as03.hits["data_metadata"] == 3  # resize_, set_ (outside __torch_function__), unsqueeze_
    assert "set_" not in torch.Tensor.__dict__  # the set_ wrapper is gone again
    shape, _, pshape, shares = modern(legacy)  # modern torch: only the temporary aliases change
    assert shape == (4, 3) and pshape == (3,) and not shares


def test_data_reads_and_value_writes_are_unchanged(as03: Reading) -> None:
    def legacy() -> Any:
        torch.manual_seed(0)
        w = Variable(torch.randn(3), requires_grad=True)
        (w * 2).sum().backward()
        w.data -= 0.1 * w.grad.data
        w.data.resize_(3)  # same shape: nothing to change
        return w.detach().clone()

    assert torch.equal(as03(legacy), modern(legacy))
    assert as03.hits["data_metadata"] == 0


# -- the 0-dim index without overriding Tensor.__getitem__ -------------------------------------

def test_zero_dim_index_leaves_tensor_class_alone() -> None:
    reading = Reading({"zero_dim_index"})

    def run() -> tuple[Any, ...]:
        loss = (torch.randn(3, requires_grad=True) ** 2).sum()
        t0, t1 = torch.tensor(1.5), torch.tensor(2.5)
        return (loss.data[0], loss.detach()[-1], loss[0] is loss, torch.tensor([t0, t1]).tolist(),
                torch.FloatTensor([t0]).tolist(), torch.arange(4)[0].item())

    number, last, same, pair, single, first = reading(run)
    assert isinstance(number, float) and isinstance(last, float) and same
    assert pair == [1.5, 2.5] and single == [1.5] and first == 0
    assert reading.hits["zero_dim_index"] == 3
    assert "__getitem__" not in torch.Tensor.__dict__  # never overridden on the class


def test_nothing_is_installed_for_a_program_that_needs_nothing() -> None:
    from varmigrate.harness import shim

    assert shim.install([]) is None
    assert shim.install(["async_keyword"]) is None


# -- 0.3's plain tensors gave numbers -----------------------------------------------------------

def test_reductions_and_elements_of_data_tensors_are_numbers() -> None:
    reading = Reading({"data_number"})

    def legacy() -> dict[str, Any]:
        torch.manual_seed(0)
        out = Variable(torch.randn(8, 3), requires_grad=True)
        target = Variable(torch.randint(0, 3, (8,)))
        pred = out.data.max(1)[1]
        correct = 0
        correct += pred.eq(target.data).sum()
        _, topi = out.data.topk(1)
        (out * 2).sum().backward()
        return {
            "correct": correct, "element": topi[0][0], "pair_index": out.data[1, 2],
            "norm": out.data.norm(), "p_norm": torch.norm(out.data, 2), "dot": out.data[0].dot(out.data[1]),
            "rows": [v for v in out.data[0]],
            # tensors in 0.3 too: a reduction over a dim, a row, a Variable's own reduction
            "dim_sum": out.data.sum(0), "row": out.data[0], "variable_sum": out.sum(),
            "rewrapped": Variable(out.data).sum(),
            # a library's own reductions stay tensors (it was written for today's torch)
            "clipped": torch.nn.utils.clip_grad_norm_([out], 1.0),
        }

    as03 = reading(legacy)
    assert type(as03["correct"]) is int and type(as03["element"]) is int
    assert all(type(as03[k]) is float for k in ("pair_index", "norm", "p_norm", "dot"))
    assert [type(v) for v in as03["rows"]] == [float] * 3
    for k in ("dim_sum", "row", "variable_sum", "rewrapped", "clipped"):
        assert isinstance(as03[k], torch.Tensor), k
    assert reading.hits["data_number"] == 9  # correct, element, pair_index, norm, p_norm, dot, 3 rows
    today = modern(legacy)
    assert all(isinstance(today[k], torch.Tensor) for k in ("correct", "element", "norm", "dot"))
    assert today["correct"].item() == as03["correct"] and today["norm"].item() == as03["norm"]
