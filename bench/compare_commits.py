"""Prove a change behaviour-preserving: run two commits of varmigrate on the same inputs, byte for byte.

    .venv/bin/python bench/compare_commits.py d28939f HEAD           # full corpus + examples + fixtures
    .venv/bin/python bench/compare_commits.py d28939f WORKTREE --files 60 --skip-verify   # quick

Each commit is exported with `git archive` into a temporary folder (WORKTREE: a copy of this
checkout's package as it is, committed or not) and run by this interpreter with `PYTHONPATH=<tree>`:
nothing is installed, both sides use the same libcst, click and torch (`--python-b` runs B with
another interpreter: one commit under two libcst versions; JSON `url` and SARIF `helpUri` come
from the installed varmigrate's metadata, so an interpreter without it prints relative links and
those lines differ). The inputs are the same files for
both sides: the bench corpus (`generate_corpus.py`, deterministic for `--seed`; `--files N` takes
its first N files), this checkout's `examples/` and rule fixtures (`tests/fixtures/*/`), and
notebooks built from them. On every input set it compares `check --no-cache` (text, with stderr
and exit status), `check --output-format json`, `--output-format sarif` and `--show-fixes` (these
two on the corpus only with `--all-formats`: the fix edits are the slow part), and the trees that
`fix` and `fix --unsafe-fixes` write (on copies, with their output; the `.varmigrate_cache` folder
left out: its file names hash the code itself); then the
`verify --fixtures tests/fixtures/programs --report` report.json and report.md, with timing,
memory, temporary paths, the creation time and versions normalised. Prints a table; exits 1 on
any difference, after showing the first differing lines of each.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate_corpus import generate  # noqa: E402

WORKTREE = "WORKTREE"
# (name, arguments after `varmigrate`, on the corpus too); each runs in an input set's folder. The
# fix edits of json, sarif and --show-fixes cost ~10x the check itself: the last two (the same
# edits, formatted differently) run on the corpus only with --all-formats.
CHECKS: list[tuple[str, list[str], bool]] = [
    ("check text", ["check", "--no-cache", "."], True),
    ("check json", ["check", "--no-cache", "--output-format", "json", "."], True),
    ("check sarif", ["check", "--no-cache", "--output-format", "sarif", "."], False),
    ("check --show-fixes", ["check", "--no-cache", "--show-fixes", "."], False),
]
FIXES: list[tuple[str, list[str]]] = [
    ("fix", ["fix", "."]),
    ("fix --unsafe-fixes", ["fix", "--unsafe-fixes", "."]),
]
SHOWN_LINES = 12


@dataclass
class Side:
    label: str  # what the user typed
    commit: str  # the resolved commit (or WORKTREE)
    tree: Path  # the folder that goes on PYTHONPATH
    python: str = sys.executable  # the interpreter (another venv: other libcst/click versions)


@dataclass
class Row:
    inputs: str
    run: str
    seconds: tuple[float, float]
    difference: Optional[str] = None  # None: identical
    status: tuple[str, str] = ("", "")


@dataclass
class Captured:
    """What one run produced, as named texts to compare (stdout, stderr, exit, written files)."""

    parts: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0
    status: str = ""


# ------------------------------------------------------------------------------------------
# The two trees
# ------------------------------------------------------------------------------------------
def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def export(label: str, dest: Path) -> Side:
    if label == WORKTREE:  # a snapshot: editing the checkout while this runs changes nothing
        shutil.copytree(ROOT / "varmigrate", dest / "varmigrate", ignore=shutil.ignore_patterns("__pycache__"))
        return Side(label, WORKTREE, dest)
    commit = git("rev-parse", "--verify", f"{label}^{{commit}}")
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", commit, "varmigrate"], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    assert archive.stdout is not None
    archive.stdout.close()
    if archive.wait() != 0:
        raise SystemExit(f"git archive {commit} failed")
    return Side(label, commit[:12], dest)


def environment(side: Side) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VARMIGRATE_")}
    env["PYTHONPATH"] = str(side.tree)
    env["CI"] = "1"  # never a progress bar
    env.pop("PYTHONSTARTUP", None)
    return env


def versions(side: Side) -> str:
    probe = "import sys, libcst, click; from importlib.metadata import version; " \
            "print(sys.version.split()[0], 'libcst', version('libcst'), 'click', version('click'))"
    out = subprocess.run([side.python, "-c", probe], env=environment(side), capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip().splitlines()[-1]


def check_import(side: Side) -> None:
    """The tree on PYTHONPATH must win over the editable install of this checkout."""
    out = subprocess.run([side.python, "-c", "import varmigrate; print(varmigrate.__file__)"],
                         env=environment(side), capture_output=True, text=True, cwd=tempfile.gettempdir())
    where = Path(out.stdout.strip()).resolve() if out.returncode == 0 else None
    if where is None or side.tree.resolve() not in where.parents:
        raise SystemExit(f"{side.label}: `import varmigrate` resolves to {where or out.stderr.strip()}, not {side.tree}")


# ------------------------------------------------------------------------------------------
# Inputs: the same files for both sides
# ------------------------------------------------------------------------------------------
def to_notebook(text: str, magic: bool) -> str:
    """One code cell per top-level block (split at two blank lines), a markdown cell first."""
    blocks = [b for b in re.split(r"\n\n\n+", text) if b.strip()]
    cells: list[dict[str, Any]] = [{"cell_type": "markdown", "metadata": {}, "source": ["# converted\n"]}]
    for index, block in enumerate(blocks):
        source = ("%matplotlib inline\n" if magic and index == 0 else "") + block.rstrip("\n") + "\n"
        lines = re.findall(r"[^\n]*\n|[^\n]+$", source)
        cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": lines})
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1) + "\n"


def prepare_inputs(work: Path, files: int, seed: int) -> dict[str, Path]:
    inputs: dict[str, Path] = {}
    corpus = work / "inputs" / "corpus"
    generate(corpus, files, seed)  # writes its own empty [tool.varmigrate]
    inputs["corpus"] = corpus
    for name, source in (("examples", ROOT / "examples"), ("rule fixtures", ROOT / "tests" / "fixtures")):
        dest = work / "inputs" / name.replace(" ", "_")
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns("programs", "__pycache__"))
        (dest / "pyproject.toml").write_text("[tool.varmigrate]\n", encoding="utf-8")
        inputs[name] = dest
    notebooks = work / "inputs" / "notebooks"
    notebooks.mkdir(parents=True)
    (notebooks / "pyproject.toml").write_text("[tool.varmigrate]\n", encoding="utf-8")
    legacy = sorted(p for p in corpus.rglob("*.py") if "Variable" in p.read_text(encoding="utf-8"))[:12]
    sources = sorted((ROOT / "examples").rglob("*.py")) + legacy
    for index, path in enumerate(sources):
        text = path.read_text(encoding="utf-8")
        (notebooks / f"{index:02d}_{path.stem}.ipynb").write_text(to_notebook(text, magic=index % 2 == 0), encoding="utf-8")
    inputs["notebooks"] = notebooks
    return inputs


# ------------------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------------------
def run(side: Side, argv: list[str], cwd: Path) -> Captured:
    start = time.perf_counter()
    proc = subprocess.run([side.python, "-m", "varmigrate", *argv], cwd=cwd, env=environment(side), capture_output=True)
    captured = Captured(seconds=time.perf_counter() - start, status=f"exit {proc.returncode}")
    captured.parts = {"exit status": f"{proc.returncode}\n".encode(), "stdout": proc.stdout, "stderr": proc.stderr}
    return captured


# The cache `fix` leaves in the tree: its file names hash the code itself (two commits never share
# one), and what it holds is the output compared elsewhere.
CACHE_DIR = ".varmigrate_cache"


def tree_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and CACHE_DIR not in p.relative_to(root).parts}


def run_fix(side: Side, argv: list[str], inputs: Path, dest: Path) -> Captured:
    shutil.copytree(inputs, dest)
    captured = run(side, argv, dest)
    for name, data in tree_files(dest).items():
        captured.parts[f"file {name}"] = data
    shutil.rmtree(dest)
    return captured


_SECONDS = re.compile(r"\b\d+(?:\.\d+)? ?s\b")
_MEGABYTES = re.compile(r"\b\d+(?:\.\d+)? ?MB\b")
_TEMP = re.compile(re.escape(tempfile.gettempdir()) + r"/[^\s\"'`),]+")
_VOLATILE_KEYS = {"created", "seconds", "wall_s", "cpu_s", "max_rss_mb"}


def normalise_text(text: str, fixtures: Path) -> str:
    text = text.replace(str(fixtures), "<FIXTURES>")
    text = _TEMP.sub("<TMP>", text)
    text = _MEGABYTES.sub("<MB>", text)
    return _SECONDS.sub("<SECONDS>", text)


def normalise_json(value: Any, fixtures: Path, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _VOLATILE_KEYS and isinstance(v, (int, float, str)):
                out[k] = f"<{k}>"
            elif k == "environment" and isinstance(v, dict):
                out[k] = {ek: (f"<{ek}>" if ek in ("python", "torch", "platform") else normalise_json(ev, fixtures, ek))
                          for ek, ev in v.items()}
            elif k == "tool" and isinstance(v, dict):
                out[k] = {**v, "version": "<version>"}
            else:
                out[k] = normalise_json(v, fixtures, k)
        return out
    if isinstance(value, list):
        return [normalise_json(v, fixtures, key) for v in value]
    if isinstance(value, str):
        return normalise_text(value, fixtures)
    return value


def run_verify(side: Side, fixtures: Path, work: Path) -> Captured:
    report = work / "report"
    work.mkdir(parents=True, exist_ok=True)  # the run's folder (verify writes its work files there)
    captured = run(side, ["verify", "--fixtures", str(fixtures), "--report", str(report)], work)
    captured.parts = {k: normalise_text(v.decode("utf-8", "replace"), fixtures).encode() for k, v in captured.parts.items()}
    for name in ("report.json", "report.md"):
        path = report / name
        if not path.exists():
            captured.parts[name] = b"<missing>\n"
        elif name.endswith(".json"):
            data = normalise_json(json.loads(path.read_text(encoding="utf-8")), fixtures)
            captured.parts[name] = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
        else:
            captured.parts[name] = normalise_text(path.read_text(encoding="utf-8"), fixtures).encode()
    shutil.rmtree(work)
    return captured


# ------------------------------------------------------------------------------------------
# Comparison
# ------------------------------------------------------------------------------------------
def first_difference(a: Captured, b: Captured, labels: tuple[str, str]) -> Optional[str]:
    names = sorted(set(a.parts) | set(b.parts), key=lambda n: (n.startswith("file "), n))
    for name in names:
        if name not in a.parts or name not in b.parts:
            return f"{name}: only in {labels[0] if name in a.parts else labels[1]}"
        x, y = a.parts[name], b.parts[name]
        if x == y:
            continue
        xs = x.decode("utf-8", "replace").splitlines(keepends=True)
        ys = y.decode("utf-8", "replace").splitlines(keepends=True)
        diff = list(difflib.unified_diff(xs, ys, f"{labels[0]}: {name}", f"{labels[1]}: {name}", n=1))
        if not diff:  # same lines, different line endings or bytes that decode alike
            return f"{name}: differs in bytes only ({len(x)} vs {len(y)} bytes)"
        shown = "".join(diff[:SHOWN_LINES])
        more = len(diff) - SHOWN_LINES
        return shown + (f"... ({more} more diff lines)\n" if more > 0 else "")
    return None


def compare(inputs: str, run_name: str, make: Callable[[Side], Captured], sides: tuple[Side, Side], rows: list[Row]) -> None:
    a, b = make(sides[0]), make(sides[1])
    row = Row(inputs, run_name, (a.seconds, b.seconds), first_difference(a, b, (sides[0].label, sides[1].label)),
              (a.status, b.status))
    rows.append(row)
    mark = "identical" if row.difference is None else "DIFFERENT"
    print(f"  {inputs:14s} {run_name:20s} {mark:10s} {a.seconds:7.1f}s {b.seconds:7.1f}s  {a.status}", flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Compare two commits' check/fix/verify output byte for byte.")
    parser.add_argument("a", help="the reference commit (e.g. d28939f)")
    parser.add_argument("b", nargs="?", default="HEAD", help=f"the commit to compare (default HEAD; {WORKTREE}: this checkout as it is)")
    parser.add_argument("--files", type=int, default=600, help="bench corpus files (its first N; default the whole 600)")
    parser.add_argument("--seed", type=int, default=0, help="bench corpus seed (default 0)")
    parser.add_argument("--all-formats", action="store_true", help="also sarif and --show-fixes on the corpus")
    parser.add_argument("--skip-verify", action="store_true", help="do not compare the verify reports (the slowest part)")
    parser.add_argument("--only", action="append", default=[], metavar="INPUTS",
                        help="only these input sets (corpus, examples, rule fixtures, notebooks); repeatable")
    parser.add_argument("--python-a", default=sys.executable, metavar="PYTHON", help="A's interpreter (default: this one)")
    parser.add_argument("--python-b", default=sys.executable, metavar="PYTHON",
                        help="B's interpreter: e.g. a venv with another libcst, to compare one commit under two versions")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="varmigrate-compare-"))
    try:
        sides = (export(args.a, work / "tree-a"), export(args.b, work / "tree-b"))
        sides[0].python, sides[1].python = args.python_a, args.python_b
        for side in sides:
            check_import(side)
            print(f"{'A' if side is sides[0] else 'B'} = {side.label} ({side.commit}), {side.python}: {versions(side)}")
        inputs = prepare_inputs(work, args.files, args.seed)
        if args.only:
            unknown = set(args.only) - set(inputs)
            if unknown:
                parser.error(f"unknown input set(s) {sorted(unknown)}; choose from {sorted(inputs)}")
            inputs = {k: v for k, v in inputs.items() if k in args.only}
        for name, folder in inputs.items():
            count = sum(1 for p in folder.rglob("*") if p.suffix in (".py", ".ipynb"))
            print(f"inputs {name}: {count} files ({folder})")
        print(f"  {'inputs':14s} {'run':20s} {'result':10s} {'A':>8s} {'B':>8s}  A's status")
        rows: list[Row] = []
        for name, folder in inputs.items():
            for run_name, run_argv, on_corpus in CHECKS:
                if name == "corpus" and not (on_corpus or args.all_formats):
                    continue
                compare(name, run_name, lambda side, a=run_argv, f=folder: run(side, a, f), sides, rows)
            for run_name, run_argv in FIXES:
                def make_fix(side: Side, a: list[str] = run_argv, f: Path = folder, r: str = run_name) -> Captured:
                    return run_fix(side, a, f, work / "fixed" / f"{'b' if side is sides[1] else 'a'}-{r.replace(' ', '_')}")

                compare(name, run_name, make_fix, sides, rows)
        if not args.skip_verify:
            programs = ROOT / "tests" / "fixtures" / "programs"
            compare("programs", "verify --report",
                    lambda side: run_verify(side, programs, work / ("verify-b" if side is sides[1] else "verify-a")),
                    sides, rows)
        different = [r for r in rows if r.difference is not None]
        print()
        for r in different:
            print(f"--- {r.inputs} / {r.run}: first difference")
            print(r.difference.rstrip("\n") if r.difference else "")
            print()
        total = sum(sum(r.seconds) for r in rows)
        verdict = "byte-identical" if not different else f"{len(different)} of {len(rows)} runs DIFFER"
        print(f"{sides[0].label} vs {sides[1].label}: {len(rows)} runs, {verdict} ({total:.0f}s of runs)")
        return 1 if different else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
