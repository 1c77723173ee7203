"""Agreement of `varmigrate fix` with the maintainers' own 0.4 ports (issue 17).

    python bench/qa/agreement.py                       # this worktree, ~/qa/ports
    python bench/qa/agreement.py --tree /work/wt/core --json
    python bench/qa/agreement.py --show 20             # print 20 disagreements (before / maintainers / tool)

~/qa/ports/<owner>__<name>/{before,after}/ hold the files a maintainers' port changed (see
MANIFEST.md). `before` is copied and fixed (plain `fix`, then `fix --unsafe-fixes` on a second copy).
Per file (per code cell for notebooks), a *legacy line* is a line of `before` with a legacy token
(Variable, .data, volatile, async, Function, backward, [0], ...). Over the legacy lines that both the
maintainers and the tool changed, a line *agrees* when the tool's replacement equals the
maintainers' (whitespace ignored); the replacement of a changed line is the most similar line of
the block that replaced it. Lines whose maintainers' replacement is less than 50 % similar to them
(difflib ratio) were rewritten, not ported: they are counted apart ("rewr") and not compared.

Issue-17 forms are counted over whole files (ast): `with torch.no_grad()` nested in another in the
same function, `.detach()` inside a `no_grad` block, chains with two `detach()` (or `resize_as_(x.detach())`),
`x = x` statements, and `w.new(...).zero_()/.fill_()` (where 0.4 wrote `new_zeros`/`new_full`).
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import oracle
from measure import HERE, varmigrate

LEGACY = re.compile(r"Variable|\.data\b|volatile|\basync\b|Function|backward|\[0\]|multinomial|creator|"
                    r"retain_variables|size_average|\.cuda\(|\.new\(|type_as")
FORMS17 = ("nested_no_grad", "detach_in_no_grad", "redundant_chain", "self_assign", "new_zero_fill")


def segments(path: Path) -> dict[int | None, list[str]]:
    try:
        return {c: src.splitlines() for c, src in oracle.cells_of(path)}
    except (ValueError, UnicodeDecodeError):
        return {}


REWRITTEN = 0.5  # a replacement less similar than this to its line is a rewrite, not a port of the line


def similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.strip(), b.strip()).ratio()


def replacements(before: list[str], after: list[str]) -> dict[int, str | None]:
    """0-based index of each changed line of `before` -> its replacement in `after` (None: deleted)."""
    out: dict[int, str | None] = {}
    sm = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        block = after[j1:j2]
        for i in range(i1, i2):
            if not block:
                out[i] = None
                continue
            out[i] = max(block, key=lambda b: similar(before[i], b))
    return out


def norm(s: str | None) -> str:
    return "<deleted>" if s is None else re.sub(r"\s+", "", s)


def is_no_grad(item: ast.withitem) -> bool:
    e = item.context_expr
    return isinstance(e, ast.Call) and oracle.dotted(e.func) in ("torch.no_grad", "no_grad")


def chain(node: ast.AST) -> Iterator[str]:
    """Method names of a call chain, outermost first: a.detach().clone().detach() -> detach, clone, detach."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        yield node.func.attr
        node = node.func.value


def forms17(src: str) -> Counter[str]:
    c: Counter[str] = Counter()
    try:
        tree = ast.parse(oracle.mask_async(src)[0])
    except (SyntaxError, ValueError):
        return c

    def walk(node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            d = depth
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                d = 0  # a new function: the enclosing `no_grad` does not hold when it runs
            elif isinstance(child, ast.With) and any(is_no_grad(i) for i in child.items):
                if depth:
                    c["nested_no_grad"] += 1
                d = depth + 1
            elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                  and child.func.attr == "detach" and depth):
                c["detach_in_no_grad"] += 1
            walk(child, d)
    walk(tree, 0)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            names = list(chain(node))
            if names.count("detach") >= 2 and names[0] == "detach":
                c["redundant_chain"] += 1
            if node.func.attr == "resize_as_" and node.args and isinstance(node.args[0], ast.Call) \
                    and list(chain(node.args[0]))[:1] == ["detach"]:
                c["redundant_chain"] += 1
            if node.func.attr in ("zero_", "fill_") and isinstance(node.func.value, ast.Call) \
                    and isinstance(node.func.value.func, ast.Attribute) and node.func.value.func.attr == "new":
                c["new_zero_fill"] += 1
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            t, v = node.targets[0], node.value
            if oracle.target_key(t) and oracle.target_key(t) == oracle.target_key(v):
                c["self_assign"] += 1
    return c


def fix_copy(tree: Path, src: Path, dest: Path, unsafe: bool) -> None:
    shutil.copytree(src, dest)
    r = varmigrate(tree, ["fix", "--exit-zero", str(dest)] + (["--unsafe-fixes"] if unsafe else []))
    if r.returncode not in (0, 1, 2):
        sys.exit(f"varmigrate fix failed ({r.returncode}): {r.stderr[-2000:]}")


def compare(port: Path, fixed: Path, show: list[dict[str, Any]]) -> dict[str, int]:
    r = {"legacy": 0, "human": 0, "rewritten": 0, "tool": 0, "both": 0, "agree": 0}
    for bpath in sorted(p for p in (port / "before").rglob("*") if p.suffix in (".py", ".ipynb")):
        rel = bpath.relative_to(port / "before")
        b, h, t = segments(bpath), segments(port / "after" / rel), segments(fixed / rel)
        for cell, blines in b.items():
            hrep = replacements(blines, h.get(cell, []))
            trep = replacements(blines, t.get(cell, blines))
            for i, line in enumerate(blines):
                if not LEGACY.search(line):
                    continue
                r["legacy"] += 1
                r["human"] += i in hrep
                r["tool"] += i in trep
                human = hrep.get(i)
                if human is not None and similar(line, human) < REWRITTEN:
                    r["rewritten"] += 1  # the maintainers rewrote the code around it: no line to compare
                    continue
                if i in hrep and i in trep:
                    r["both"] += 1
                    if norm(hrep[i]) == norm(trep[i]):
                        r["agree"] += 1
                    else:
                        show.append({"file": f"{port.name}/{rel}", "cell": cell, "line": i + 1, "before": line.strip(),
                                         "human": (hrep[i] or "<deleted>").strip(), "tool": (trep[i] or "<deleted>").strip()})
    return r


def count_forms(root: Path) -> Counter[str]:
    c: Counter[str] = Counter()
    for p in root.rglob("*"):
        if p.suffix in (".py", ".ipynb"):
            for _, src in (oracle.cells_of(p) if p.is_file() else ()):
                c.update(forms17(src))
    return c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", type=Path, default=HERE.parent.parent, help="varmigrate worktree to measure")
    ap.add_argument("--ports", type=Path, default=Path.home() / "qa" / "ports")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show", type=int, default=0, metavar="N", help="print N disagreements (plain fix)")
    a = ap.parse_args(argv)
    tree = a.tree.resolve()
    rows: dict[str, dict[str, Any]] = {}
    shown: list[dict[str, Any]] = []
    totals: dict[str, Counter[str]] = {m: Counter() for m in ("safe", "unsafe")}
    forms: dict[str, Counter[str]] = {m: Counter() for m in ("before", "after", "safe", "unsafe")}
    with tempfile.TemporaryDirectory(prefix="qa-agree-") as tmp:
        for port in sorted(p for p in a.ports.iterdir() if (p / "before").is_dir()):
            row: dict[str, Any] = {}
            for mode in ("safe", "unsafe"):
                dest = Path(tmp) / mode / port.name
                fix_copy(tree, port / "before", dest, mode == "unsafe")
                row[mode] = compare(port, dest, shown if mode == "safe" else [])
                totals[mode].update(row[mode])
                row[f"forms_{mode}"] = dict(count_forms(dest))
                forms[mode].update(row[f"forms_{mode}"])
            for side in ("before", "after"):
                row[f"forms_{side}"] = dict(count_forms(port / side))
                forms[side].update(row[f"forms_{side}"])
            rows[port.name] = row
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True, check=False).stdout.strip()
    result = {"tree": str(tree), "commit": head, "ports": rows, "totals": {m: dict(v) for m, v in totals.items()},
                  "forms": {m: {f: v.get(f, 0) for f in FORMS17} for m, v in forms.items()}}
    if a.json:
        print(json.dumps(result, indent=1))
        return 0

    def rate(r: dict[str, int]) -> str:
        return f"{100 * r['agree'] / r['both']:.1f}%" if r.get("both") else "-"
    print(f"varmigrate {head} ({tree}) on {len(rows)} maintainers' ports in {a.ports}")
    print(f"{'repository':48} {'legacy':>6} {'human':>5} {'rewr':>4} | {'fix':>4} {'both':>4} {'agree':>5} {'rate':>6} |"
          f" {'unsafe':>6} {'both':>4} {'agree':>5} {'rate':>6}")
    for name, row in list(rows.items()) + [("TOTAL", {"safe": totals["safe"], "unsafe": totals["unsafe"]})]:
        s, u = row["safe"], row["unsafe"]
        print(f"{name[:48]:48} {s['legacy']:6} {s['human']:5} {s['rewritten']:4} | {s['tool']:4} {s['both']:4} {s['agree']:5} {rate(s):>6} |"
              f" {u['tool']:6} {u['both']:4} {u['agree']:5} {rate(u):>6}")
    print("\nissue-17 forms (whole files):")
    print(f"{'form':20} " + " ".join(f"{m:>8}" for m in forms))
    for f in FORMS17:
        print(f"{f:20} " + " ".join(f"{forms[m].get(f, 0):8}" for m in forms))
    for d in shown[:a.show]:
        cell = f":cell {d['cell']}" if d["cell"] else ""
        print(f"\n{d['file']}{cell}:{d['line']}\n  before: {d['before']}"
              f"\n  human:  {d['human']}\n  tool:   {d['tool']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
