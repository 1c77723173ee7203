"""Independent oracle: list every candidate site of the legacy forms of issue 11 (and `.data` reads).

Stdlib only (`ast`, `tokenize`, `json`); it shares no code with varmigrate, on purpose: it is the
yardstick varmigrate's findings are measured against. It lists *candidates* syntactically and
generously; whether a site is a real tensor pattern or a look-alike is decided by hand in a label
file (see README.md), never here.

    python bench/qa/oracle.py ROOT...            # table: sites per form
    python bench/qa/oracle.py --jsonl ROOT...    # one site per line (JSON)

A site is (file relative to its ROOT, cell, line, col, form, variant); `cell` is the 1-based code
cell of a notebook (None for .py), line/col are 1-based, col in code points, as in varmigrate's JSON.
Python 2 files that do not parse are listed under "unparsable" and have no sites.
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import sys
import tokenize
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# form -> one-line description (the forms of issue 11, then `.data` reads in general)
FORMS: dict[str, str] = {
    "data0": "X.data[0] for any X",
    "acc_index0": "X[0] where X is an accumulator: X = <number> then X += <expr> (or X = X + <expr>)",
    "reduce_index0": "X.sum()[0] / X.mean()[0] / torch.sum(X)[0]...: [0] on a full reduction (0-dim today)",
    "convert_index0": "X.numpy()[0] / X.tolist()[0] (a 0-dim tensor gives a 0-d array / a float today)",
    "backward_grad": ".backward(T) / autograd.backward(x, T) with an explicit gradient",
    "multinomial_bare": "bare .multinomial() (0.3 default num_samples=1)",
    "cat_generator": "torch.cat / torch.stack over a generator expression",
    "variable_kwargs": "Variable(..., **kw) or Variable(*args)",
    "data_resize": "X.data.resize_ / resize_as_ / set_",
    "creator": "x.creator",
    "async_kw": "async= keyword (.cuda(async=True))",
    "legacy_fn_class": "class C(Function) with an instance (non-static) forward",
    "legacy_fn_use": "C(...) where C is a legacy Function class of the same repository",
    "volatile": "volatile= keyword, or the .volatile attribute",
    "retain_variables": "retain_variables= keyword",
    "backward_variables": "autograd.backward(variables=...)",
    "reinforce": ".reinforce(...)",
    "data_read": "any other X.data (reads, in-place updates, .grad.data, assignments)",
}
CRASH_FORMS = ("data0", "acc_index0", "reduce_index0", "convert_index0", "backward_grad", "multinomial_bare", "cat_generator",
               "async_kw", "legacy_fn_use", "retain_variables", "backward_variables", "creator",
               "reinforce")


@dataclass(frozen=True)
class Site:
    file: str
    cell: int | None
    line: int
    col: int
    form: str
    variant: str = ""
    end_line: int = 0
    end_col: int = 0  # exclusive, like varmigrate's end_location

    def key(self) -> tuple[str, int | None, int, int, str]:
        return (self.file, self.cell, self.line, self.col, self.form)


ASYNC_STANDIN = "_asyn"  # same length as `async`, so columns stay right


def mask_async(src: str) -> tuple[str, list[tuple[int, int]]]:
    """Replace `async` used as a keyword argument (`async=`) by a same-length name; return the
    new text and the (line, col0) of each replacement."""
    hits: list[tuple[int, int]] = []
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return src, hits
    for a, b in zip(toks, toks[1:]):
        if a.type == tokenize.NAME and a.string == "async" and b.string == "=":
            hits.append(a.start)
    if not hits:
        return src, hits
    lines = src.splitlines(keepends=True)
    for (ln, c) in hits:
        s = lines[ln - 1]
        lines[ln - 1] = s[:c] + ASYNC_STANDIN + s[c + 5:]
    return "".join(lines), hits


def is_number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp):
        return is_number(node.operand)
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def dotted(node: ast.AST) -> str:
    """`a.b.c` for a Name/Attribute chain, else ''."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def target_key(node: ast.AST) -> str:
    """Name or `self.attr` (the accumulator spellings), else ''."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return "self." + node.attr
    return ""


def is_index0(node: ast.Subscript) -> bool:
    s = node.slice
    return isinstance(s, ast.Constant) and s.value == 0 and type(s.value) is int


REDUCTIONS = ("sum", "mean", "prod", "norm", "max", "min", "dot", "std", "var")


def is_full_reduction(node: ast.AST) -> bool:
    """`x.sum()`, `x.norm(2)`, `torch.sum(x)`, `torch.dot(a, b)`: no dim argument, so 0-dim today."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in REDUCTIONS) or any(k.arg in ("dim", "axis") for k in node.keywords):
        return False
    on_torch = dotted(node.func.value) in ("torch", "th")
    n_args = len(node.args) - (1 if on_torch else 0)
    if node.func.attr == "dot":
        return True
    if node.func.attr == "norm":
        return n_args <= 1  # norm(p) still reduces everything
    return n_args == 0


def legacy_function_classes(tree: ast.AST) -> set[str]:
    """Classes deriving from something named `Function` with a non-static `forward` (an instance
    method, whatever its first parameter is called: `self`, or `ctx` in some 2017 code)."""
    out = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        if not any(dotted(b).split(".")[-1] == "Function" for b in node.bases):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "forward":
                static = any(dotted(d) == "staticmethod" for d in item.decorator_list)
                if not static and item.args.args:
                    out.add(node.name)
    return out


class Scanner:
    def __init__(self, tree: ast.AST, src_lines: list[str], legacy_classes: set[str]):
        self.tree = tree
        self.lines = src_lines
        self.legacy = legacy_classes
        self.sites: list[tuple[int, int, int, int, str, str]] = []  # line, col0, end line, end col0 (bytes), form, variant
        self.claimed: set[int] = set()  # ids of .data Attribute nodes already in a specific form

    def add(self, node: ast.AST, form: str, variant: str = "") -> None:
        n: Any = node
        if isinstance(node, ast.ClassDef):  # the header `class Name`, not the whole body
            end = (n.lineno, n.col_offset + len("class ") + len(node.name))
        else:
            end = (n.end_lineno, n.end_col_offset)
        self.sites.append((n.lineno, n.col_offset, end[0], end[1], form, variant))

    def char_col(self, line: int, col_bytes: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return len(text.encode("utf-8")[:col_bytes].decode("utf-8", "replace")) + 1

    def accumulators(self, scope: ast.AST) -> set[str]:
        """Names (and self.attrs) set to a number and then incremented by a non-number."""
        num, inc = set(), set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and is_number(node.value):
                for t in node.targets:
                    if target_key(t):
                        num.add(target_key(t))
            elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and target_key(node.target):
                if not is_number(node.value):
                    inc.add(target_key(node.target))
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and target_key(node.targets[0])
                  and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.Add)):
                k = target_key(node.targets[0])
                left, right = node.value.left, node.value.right
                if (target_key(left) == k and not is_number(right)) or (target_key(right) == k and not is_number(left)):
                    inc.add(k)
        return num & inc

    def scan(self) -> None:
        # accumulator scopes: each function (names), each class (self.attrs), the module (names)
        acc_in: dict[int, set[str]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
                acc = {k for k in self.accumulators(node) if not k.startswith("self.")}
                for sub in ast.walk(node):
                    acc_in.setdefault(id(sub), set()).update(acc)
            if isinstance(node, ast.ClassDef):
                acc = {k for k in self.accumulators(node) if k.startswith("self.")}
                for sub in ast.walk(node):
                    acc_in.setdefault(id(sub), set()).update(acc)

        for node in ast.walk(self.tree):
            if isinstance(node, ast.Subscript) and is_index0(node):
                v = node.value
                if isinstance(v, ast.Attribute) and v.attr == "data":
                    self.add(node, "data0", "data[0]")
                    self.claimed.add(id(v))
                elif isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "detach" \
                        and not v.args:
                    self.add(node, "data0", "detach()[0]")  # the shape a fix leaves; in fixed trees only
                elif isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) \
                        and v.func.attr in ("numpy", "tolist") and not v.args:
                    self.add(node, "convert_index0", v.func.attr)
                elif is_full_reduction(v):
                    self.add(node, "reduce_index0", dotted(getattr(v, "func", v)).split(".")[-1])
                elif target_key(v) and target_key(v) in acc_in.get(id(node), ()):
                    self.add(node, "acc_index0", "self" if target_key(v).startswith("self.") else "name")
            elif isinstance(node, ast.Call):
                self.call(node)
            elif isinstance(node, ast.Attribute):
                if node.attr == "creator":
                    self.add(node, "creator")
                elif node.attr == "volatile":
                    self.add(node, "volatile", "attr-store" if isinstance(node.ctx, ast.Store) else "attr-load")
            elif (isinstance(node, ast.ClassDef) and node.name in self.legacy
                  and node.name in legacy_function_classes(node)):
                self.add(node, "legacy_fn_class")

        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and node.attr == "data" and id(node) not in self.claimed:
                d = dotted(node)
                if d.endswith("utils.data") or d.startswith("torch.utils"):
                    continue  # the torch.utils.data module path, not a read
                self.add(node, "data_read", self.data_variant(node))

    def data_variant(self, node: ast.Attribute) -> str:
        if isinstance(node.ctx, ast.Store):
            return "assign"
        if isinstance(node.value, ast.Attribute) and node.value.attr == "grad":
            return "grad.data"
        return "read"

    def call(self, node: ast.Call) -> None:
        f = node.func
        name = dotted(f)
        last = name.split(".")[-1] if name else (f.attr if isinstance(f, ast.Attribute) else "")
        kws = {k.arg for k in node.keywords}
        if isinstance(f, ast.Attribute) and f.attr == "backward":
            is_fn = dotted(f.value).endswith("autograd") or dotted(f.value) == "torch"
            grad_pos = 1 if is_fn else 0
            if len(node.args) > grad_pos or kws & {"gradient", "grad_tensors", "grad_variables"}:
                self.add(node, "backward_grad", "autograd.backward" if is_fn else "method")
            if "variables" in kws:
                self.add(node, "backward_variables")
        if "retain_variables" in kws:
            self.add(node, "retain_variables")
        if "volatile" in kws:
            self.add(node, "volatile", "kw")
        bare = not node.args or (name == "torch.multinomial" and len(node.args) == 1)
        if isinstance(f, ast.Attribute) and f.attr == "multinomial" and bare and not node.keywords:
            self.add(node, "multinomial_bare")
        if isinstance(f, ast.Attribute) and f.attr in ("cat", "stack") and node.args \
                and isinstance(node.args[0], ast.GeneratorExp):
            self.add(node, "cat_generator")
        if last == "Variable" and (None in kws or any(isinstance(a, ast.Starred) for a in node.args)):
            self.add(node, "variable_kwargs")
        if isinstance(f, ast.Attribute) and f.attr in ("resize_", "resize_as_", "set_") \
                and isinstance(f.value, ast.Attribute) and f.value.attr == "data":
            self.add(node, "data_resize", f.attr)
            self.claimed.add(id(f.value))
        if isinstance(f, ast.Attribute) and f.attr == "reinforce":
            self.add(node, "reinforce")
        if last in self.legacy and not (isinstance(f, ast.Attribute) and f.attr == "apply"):
            self.add(node, "legacy_fn_use")


def cells_of(path: Path) -> Iterator[tuple[int | None, str]]:
    """(None, text) for a .py file; (n, masked text) per code cell of a notebook."""
    raw = path.read_bytes()
    if path.suffix != ".ipynb":
        yield None, raw.decode("utf-8", "replace")
        return
    nb = json.loads(raw.decode("utf-8"))
    cells = nb.get("cells") or [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    n = 0
    for c in cells:
        if c.get("cell_type") != "code":
            continue
        n += 1
        src = c.get("source", c.get("input", ""))
        src = "".join(src) if isinstance(src, list) else src
        lines = [("#" + row[1:]) if row.lstrip().startswith(("%", "!")) else row for row in src.splitlines(True)]
        yield n, "".join(lines)


def repo_legacy_classes(root: Path, files: list[Path]) -> dict[Path, set[str]]:
    """Legacy Function class names per top folder (repository) under root."""
    by_repo: dict[Path, set[str]] = {}
    for p in files:
        repo = root / p.relative_to(root).parts[0] if p.parent != root else root
        for _, src in cells_of(p):
            try:
                tree = ast.parse(mask_async(src)[0])
            except (SyntaxError, ValueError):
                continue
            by_repo.setdefault(repo, set()).update(legacy_function_classes(tree))
    return by_repo


def scan_root(root: Path) -> tuple[list[Site], list[str]]:
    files = sorted(p for p in root.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file()
                   and ".ipynb_checkpoints" not in p.parts)
    legacy = repo_legacy_classes(root, files)
    sites: list[Site] = []
    unparsable: list[str] = []
    for p in files:
        rel = str(p.relative_to(root))
        repo = root / p.relative_to(root).parts[0] if p.parent != root else root
        try:
            cells = list(cells_of(p))
        except (ValueError, UnicodeDecodeError):
            unparsable.append(rel)
            continue
        for cell, src in cells:
            masked, async_hits = mask_async(src)
            try:
                tree = ast.parse(masked)
            except (SyntaxError, ValueError):
                if cell is None:
                    unparsable.append(rel)
                else:
                    unparsable.append(f"{rel}:cell {cell}")
                continue
            lines = masked.splitlines()
            sc = Scanner(tree, lines, legacy.get(repo, set()))
            sc.scan()
            for line, col0 in async_hits:
                sites.append(Site(rel, cell, line, col0 + 1, "async_kw", "", line, col0 + 6))
            for line, colb, eline, ecolb, form, variant in sc.sites:
                sites.append(Site(rel, cell, line, sc.char_col(line, colb), form, variant,
                                  eline, sc.char_col(eline, ecolb)))
    sites.sort(key=lambda s: (s.file, s.cell or 0, s.line, s.col, s.form))
    return sites, unparsable


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roots", nargs="+", type=Path)
    ap.add_argument("--jsonl", action="store_true", help="one site per line")
    a = ap.parse_args(argv)
    for root in a.roots:
        sites, bad = scan_root(root)
        if a.jsonl:
            for s in sites:
                print(json.dumps(asdict(s)))
            continue
        c = Counter(s.form for s in sites)
        print(f"{root}: {len(sites)} sites, {len(bad)} unparsable files/cells")
        for form, what in FORMS.items():
            print(f"  {form:18} {c.get(form, 0):6}   {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
