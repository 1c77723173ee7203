"""The package's import structure (TEAM.md, docs/architecture.md): layers, no cycles, small modules.

Every import counts for the layers, at module level or inside a function, `TYPE_CHECKING` ones
too: a lazy import is still an arrow. Cycles are of run-time imports (a cycle through
`TYPE_CHECKING` imports is not one when the program runs). Layers, low to high (a module imports its own layer and those below):

    base      ftypes noqa config sources cache parallel lifeline triggers prefilter policy syntax/ (and the package)
    tree      tree/
    analysis  analysis/ rewrite/
    rules     rule.py rules/            (a rule imports no other rule and not the registry)
    engine    registry engine/
    services  edits notebook api baseline projects output/ docs testing editor
    entry     cli/ __main__ launch server demo prove/ harness/command harness/__main__

The harness (harness/ except command.py) stands beside the linter: it imports only itself and
the base layer, and nothing below the entry layer imports it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "varmigrate"
MAX_LINES = 450
GENERATED_STAMP = "# GENERATED"

# (layer, module patterns); `x.*` is every module under package x, `x` the module or package itself.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("varmigrate", "ftypes", "noqa", "config", "sources", "cache", "parallel", "collector", "lifeline", "triggers",
              "prefilter", "policy", "syntax", "syntax.*")),
    ("tree", ("tree", "tree.*")),
    ("analysis", ("analysis", "analysis.*", "rewrite", "rewrite.*")),
    ("rules", ("rule", "rules", "rules.*")),
    ("engine", ("registry", "engine", "engine.*")),
    ("services", ("edits", "notebook", "api", "baseline", "projects", "output", "output.*", "docs", "testing", "editor")),
    ("entry", ("cli", "cli.*", "__main__", "launch", "server", "demo", "prove", "prove.*", "harness.command", "harness.__main__")),
]
ENTRY_IN_HARNESS = ("varmigrate.harness.command", "varmigrate.harness.__main__")
HARNESS = ("harness", "harness.*")
ORDER = [name for name, _ in LAYERS]


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported module, dotted
    path: Path
    line: int
    text: str
    typing_only: bool  # inside `if TYPE_CHECKING:`


def _module_name(path: Path) -> str:
    parts = ["varmigrate", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def _matches(module: str, pattern: str) -> bool:
    full = "varmigrate" if pattern == "varmigrate" else f"varmigrate.{pattern.removesuffix('.*')}"
    if pattern.endswith(".*"):
        return module.startswith(full + ".")
    return module == full


def layer_of(module: str) -> Optional[str]:
    if any(_matches(module, p) for p in HARNESS) and module not in ENTRY_IN_HARNESS:
        return "harness"
    for name, patterns in LAYERS:
        if any(_matches(module, p) for p in patterns):
            return name
    return None


def _resolve(source: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = source.split(".") if is_package else source.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Import] = []
    typing_only: set[int] = set()
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and _is_type_checking(block.test):
            typing_only.update(id(n) for stmt in block.body for n in ast.walk(stmt))

    def add(target: str, node: ast.stmt) -> None:
        if target == "varmigrate" or target.startswith("varmigrate."):
            found.append(Import(module, target, path, node.lineno, lines[node.lineno - 1].strip(), id(node) in typing_only))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path.name == "__init__.py", node)
            add(target, node)
            for alias in node.names:  # `from . import engine`: the submodule is the import
                if f"{target}.{alias.name}" in MODULES:
                    add(f"{target}.{alias.name}", node)
    return found


ALL_IMPORTS = [imp for name, path in MODULES.items() for imp in imports_of(name, path)]


def _where(imp: Import) -> str:
    return f"{imp.path.relative_to(PACKAGE.parent)}:{imp.line}: `{imp.text}`"


def test_every_module_has_a_layer() -> None:
    missing = sorted(m for m in MODULES if layer_of(m) is None)
    assert not missing, (f"modules in no layer: {missing}; place them in tests/test_architecture.py's LAYERS "
                         "(and docs/architecture.md)")


def _allowed(source_layer: str, target_layer: str) -> bool:
    if source_layer == "harness":
        return target_layer in ("harness", "base")
    if target_layer == "harness":
        return source_layer == "entry"
    return ORDER.index(target_layer) <= ORDER.index(source_layer)


def test_no_import_goes_up_a_layer() -> None:
    wrong = []
    for imp in ALL_IMPORTS:
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is None or target is None or _allowed(source, target):
            continue
        why = ("the harness imports nothing of the linter" if source == "harness"
               else "only entry points (cli, harness/command, prove) import the harness" if target == "harness"
               else f"{target} is above {source}")
        wrong.append(f"{_where(imp)} imports {imp.target} ({target} layer) from {imp.source} ({source} layer): {why}")
    assert not wrong, "\n".join(wrong)


def test_rules_import_no_rule_and_not_the_registry() -> None:
    wrong = []
    for imp in ALL_IMPORTS:
        if not imp.source.startswith("varmigrate.rules."):
            continue
        if imp.target == "varmigrate.registry":
            wrong.append(f"{_where(imp)}: a rule must not import the registry (the engine gives rules what they need)")
        elif imp.target == "varmigrate.rules" or imp.target.startswith("varmigrate.rules."):
            wrong.append(f"{_where(imp)}: a rule must not import another rule (shared facts go to analysis/, "
                         "shared builders to rewrite/)")
    assert not wrong, "\n".join(wrong)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    runtime = [imp for imp in ALL_IMPORTS if not imp.typing_only]
    for imp in runtime:
        if imp.target in MODULES and imp.target != imp.source:
            edges[imp.source].add(imp.target)
    messages = []
    for component in _cycles(edges):
        members = set(component)
        arrows = [_where(imp) + f" ({imp.source} -> {imp.target})" for imp in runtime
                  if imp.source in members and imp.target in members and imp.target != imp.source]
        messages.append(f"import cycle among {component}:\n  " + "\n  ".join(arrows))
    assert not messages, "\n".join(messages)


def test_modules_stay_small() -> None:
    big = []
    for path in MODULES.values():
        text = path.read_text(encoding="utf-8")
        if text.startswith(GENERATED_STAMP):
            continue
        count = text.count("\n")
        if count > MAX_LINES:
            big.append(f"{path.relative_to(PACKAGE.parent)}: {count} lines (at most {MAX_LINES} outside generated files)")
    assert not big, "\n".join(big)


def test_the_checks_see_imports_and_cycles() -> None:
    # The checks themselves: relative imports resolve, a cycle is found, layers are known.
    engine = [imp.target for imp in ALL_IMPORTS if imp.source == "varmigrate.engine.lint"]
    assert "varmigrate.noqa" in engine and "varmigrate.registry" in engine
    assert layer_of("varmigrate.rules.variable_wrapper") == "rules"
    assert layer_of("varmigrate.harness.shim") == "harness" and layer_of("varmigrate.harness.command") == "entry"
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("module", ["varmigrate.ftypes", "varmigrate.noqa", "varmigrate.output.text", "varmigrate.output.machine",
                                    "varmigrate.cache", "varmigrate.prefilter", "varmigrate.triggers"])
def test_libcst_free_modules_do_not_import_it_at_module_level(module: str) -> None:
    # Their libcst names are under TYPE_CHECKING only (a subprocess test checks sys.modules too).
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] == "libcst"], module


BENCH = PACKAGE.parent / "bench"


def _is_harness_module(name: str) -> bool:
    return name == "varmigrate.harness" or name.startswith("varmigrate.harness.")


def private_harness_uses(module: str, path: Path) -> list[str]:
    """Where `module` (outside harness/) uses an underscore name of a harness module: imported
    by name (`from ..harness.pairs import _spec`) or read off a module it imported
    (`from ..harness import report as hreport` then `hreport._first`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    aliases: dict[str, str] = {}  # local name -> harness module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if _is_harness_module(sub) and sub in MODULES:
                    aliases[alias.asname or alias.name] = sub
                elif _is_harness_module(target) and alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.name}:{node.lineno}: imports {target}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_harness_module(alias.name) and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in aliases):
            found.append(f"{path.name}:{node.lineno}: uses {aliases[node.value.id]}.{node.attr}")
        elif (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
              and _is_harness_module(ast.unparse(node.value))):
            found.append(f"{path.name}:{node.lineno}: uses {ast.unparse(node)}")
    return found


def test_nothing_outside_the_harness_uses_its_private_names() -> None:
    # The proof, the CLI and the benches go through the harness's public API (harness/api.py,
    # the data in pairs.py, codebase.py's side_in_tree): a private helper may change under them.
    files = {name: path for name, path in MODULES.items() if not _is_harness_module(name)}
    files.update({f"bench.{p.stem}": p for p in sorted(BENCH.glob("*.py"))})
    wrong = [use for name, path in files.items() for use in private_harness_uses(name, path)]
    assert not wrong, "\n".join(wrong)


def test_the_private_name_check_sees_both_spellings(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from ..harness.pairs import Options, _spec\nfrom ..harness import report as hreport\n"
                     "import varmigrate.harness.codebase\nhreport._first(1)\nhreport.build()\n"
                     "varmigrate.harness.codebase._side()\n")
    found = private_harness_uses("varmigrate.prove.probe", probe)
    assert found == ["probe.py:1: imports varmigrate.harness.pairs._spec",
                     "probe.py:4: uses varmigrate.harness.report._first",
                     "probe.py:6: uses varmigrate.harness.codebase._side"]
