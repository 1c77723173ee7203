"""The libcst internals that `tree/` relies on, and a check that this libcst still has them.

libcst's public API has no hook for a fast position pass or a fast read-only walk, so two
modules lean on names libcst does not promise to keep:

- `positions.py` subclasses `libcst._nodes.internal.CodegenState` (its fields `default_indent`,
  `default_newline`, `tokens`, `indent_tokens`; its hooks `add_token`, `add_indent_tokens`,
  `pop_trailing_newline`, `before_codegen`, `after_codegen`, `record_syntactic_position`) and
  calls the private `Module._codegen(state)`, which must call those hooks around every node.
- `walk.py` reads the node classes' dataclass fields, and skips the no-op `visit_<Type>` /
  `leave_<Type>` stubs of libcst's visitor bases by their `_is_no_op` mark (without it every
  stub would be called: still right, much slower).

pyproject.toml pins libcst to the range these were checked on (`TESTED_RANGE`);
`tests/test_libcst_internals.py` runs `missing()` and fails naming what is gone.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from importlib import metadata

# The range in pyproject.toml's dependencies (tests/test_libcst_internals.py checks they agree).
TESTED_RANGE = ">=1.1,<1.10"

_STATE_FIELDS = ("default_indent", "default_newline", "tokens", "indent_tokens")
_STATE_HOOKS = ("add_token", "add_indent_tokens", "pop_trailing_newline", "before_codegen", "after_codegen",
                "record_syntactic_position")


def libcst_version() -> str:
    try:
        return metadata.version("libcst")
    except metadata.PackageNotFoundError:  # pragma: no cover - a libcst without metadata
        return "unknown"


def unsupported(what: str) -> str:
    """The error text for a missing internal: what is gone, this libcst, the tested range."""
    return (f"libcst {libcst_version()} lacks {what}, which varmigrate's tree/ relies on (a libcst internal): "
            f"install libcst{TESTED_RANGE} (the range pyproject.toml pins and the tests were run on), or adapt "
            "varmigrate/tree/positions.py and walk.py and widen the range")


def missing() -> list[str]:
    """Every internal `tree/` uses that this libcst does not have (or no longer behaves as
    `positions.py` expects), each as a sentence; empty when all is there."""
    import libcst as cst

    problems: list[str] = []
    try:
        state_cls = importlib.import_module("libcst._nodes.internal").CodegenState
    except (ImportError, AttributeError):
        return [unsupported("libcst._nodes.internal.CodegenState")]
    fields = {f.name for f in dataclasses.fields(state_cls)} if dataclasses.is_dataclass(state_cls) else set()
    problems += [unsupported(f"the CodegenState field {name!r}") for name in _STATE_FIELDS if name not in fields]
    problems += [unsupported(f"the CodegenState method {name!r}") for name in _STATE_HOOKS
                 if not callable(getattr(state_cls, name, None))]
    record = getattr(state_cls, "record_syntactic_position", None)
    if callable(record):
        params = inspect.signature(record).parameters
        for name in ("start_node", "end_node"):
            if name not in params or params[name].kind is not inspect.Parameter.KEYWORD_ONLY:
                problems.append(unsupported(f"the keyword-only {name!r} of CodegenState.record_syntactic_position"))
    if not callable(getattr(cst.Module, "_codegen", None)):
        problems.append(unsupported("Module._codegen(state)"))
    if not problems:
        problems += _codegen_calls_the_hooks(state_cls)
    if not dataclasses.is_dataclass(cst.Name) or "value" not in {f.name for f in dataclasses.fields(cst.Name)}:
        problems.append(unsupported("node classes that are dataclasses (cst.Name.value as a field)"))
    stub = getattr(cst.CSTVisitor, "visit_Name", None)
    if not getattr(stub, "_is_no_op", False):
        problems.append(unsupported("the `_is_no_op` mark on the visitor bases' visit_<Type> stubs"))
    return problems


def _codegen_calls_the_hooks(state_cls: type) -> list[str]:
    """`Module._codegen` still drives a CodegenState as positions.py expects: tokens that join to
    the module's code, before/after_codegen around every node, syntactic positions recorded."""
    import libcst as cst

    module = cst.parse_module("def f(a):\n    return a + 1\n")
    calls = {"before": 0, "after": 0, "syntactic": 0}

    class Recording(state_cls):  # type: ignore[misc]  # a dataclass subclass, as positions.py has
        def before_codegen(self, node: cst.CSTNode) -> None:
            calls["before"] += 1

        def after_codegen(self, node: cst.CSTNode) -> None:
            calls["after"] += 1

        def record_syntactic_position(self, node: cst.CSTNode, **kwargs: object) -> object:
            calls["syntactic"] += 1
            return super().record_syntactic_position(node, **kwargs)

    state = Recording(default_indent=module.default_indent, default_newline=module.default_newline)
    try:
        module._codegen(state)
    except Exception as exc:  # any failure here is the thing to report
        return [unsupported(f"a Module._codegen that accepts a CodegenState subclass ({type(exc).__name__}: {exc})")]
    problems = []
    if "".join(state.tokens) != module.code:
        problems.append(unsupported("a Module._codegen whose tokens join to the module's code"))
    if not (calls["before"] == calls["after"] > 5):
        problems.append(unsupported(f"before_codegen/after_codegen calls around every node (saw {calls})"))
    if calls["syntactic"] == 0:
        problems.append(unsupported("record_syntactic_position calls during codegen"))
    return problems
