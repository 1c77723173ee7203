"""Fix and verify the hand-written legacy programs of bench/qa_programs/ (issues 11 and 12).

    python bench/qa_programs/run.py                       # this worktree's varmigrate
    python bench/qa_programs/run.py --tree /work/wt/core  # another worktree's code
    python bench/qa_programs/run.py --only dqn_mask_assign wgan_backward_one --json

Each program is a folder with `before.py` (or `before.ipynb`), sometimes sibling modules, and,
where the harness cannot show the truth (volatile, `.data.resize_`, forms that no shim restores),
a hand-written `expected.py`: the migration with the meaning 0.3 gave the program. In a temporary
folder each program is copied twice and fixed (`fix`, `fix --unsafe-fixes`); then:

- `fix` / `unsafe`: `varmigrate verify before fixed` (the harness's before run uses its legacy shim);
- `fix~exp` / `unsafe~exp`: `varmigrate verify expected fixed`: the fixed program against the
  0.3-intent migration, independent of how the harness reads the legacy code;
- `before~exp`: `varmigrate verify before expected`: IDENTICAL only when the harness reads the
  legacy program as 0.3 ran it (DIVERGED today for volatile programs: the modern misreading);
- `left after fix` / `left after unsafe`: what `check` still reports in the fixed program (codes),
  and the crash forms bench/qa/oracle.py still finds there.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "qa"))
import oracle
from measure import varmigrate

SHORT = {"IDENTICAL": "IDENTICAL", "EQUAL": "EQUAL", "CLOSE": "CLOSE", "DIVERGED": "DIVERGED",
         "AFTER-FAILED": "AFTER-FAILED", "BEFORE-FAILED": "BEFORE-FAILED",
         "INCONCLUSIVE": "INCONCLUSIVE", "NOT VERIFIABLE": "NOT-VERIF"}


def programs(only: list[str]) -> list[Path]:
    found = sorted(p for p in HERE.iterdir() if (p / "before.py").exists() or (p / "before.ipynb").exists())
    return [p for p in found if not only or p.name in only]


def entry(prog: Path) -> str:
    return "before.ipynb" if (prog / "before.ipynb").exists() else "before.py"


def is_single(prog: Path) -> bool:
    """One .py file and nothing to import: can go through `verify --fixtures`."""
    files = [p for p in prog.rglob("*") if p.is_file() and p.name != "expected.py" and "__pycache__" not in p.parts]
    return [p.name for p in files] == ["before.py"]


def copy_program(prog: Path, dest: Path) -> None:
    shutil.copytree(prog, dest, ignore=shutil.ignore_patterns("expected.*", "__pycache__", "README*"))
    (dest / "pyproject.toml").write_text("[tool.varmigrate]\n")  # each program is its own project


def verify_fixtures(tree: Path, pairs: dict[str, tuple[Path, Path]], work: Path, tag: str,
                    timeout: float) -> dict[str, dict[str, Any]]:
    """Verify single-file pairs in one `verify --fixtures` run: name -> report pair."""
    if not pairs:
        return {}
    fx = work / f"fx-{tag}"
    for name, (before, after) in pairs.items():
        (fx / name).mkdir(parents=True)
        shutil.copy(before, fx / name / "before.py")
        shutil.copy(after, fx / name / "after.py")
    rep = work / f"report-{tag}"
    varmigrate(tree, ["verify", "--fixtures", str(fx), "--report", str(rep), "--timeout", str(timeout)])
    return read_report(rep)


def verify_pair(tree: Path, before: Path, after: Path, rep: Path, timeout: float) -> dict[str, Any]:
    varmigrate(tree, ["verify", str(before), str(after), "--report", str(rep), "--timeout", str(timeout)])
    pairs = list(read_report(rep).values())
    return pairs[0] if pairs else {"verdict": "NO-REPORT", "reason": "verify wrote no report"}


def read_report(rep: Path) -> dict[str, dict[str, Any]]:
    path = rep / "report.json"
    if not path.exists():
        return {}
    return {Path(p["name"]).name: p for p in json.loads(path.read_text())["pairs"]}


def leftovers(tree: Path, fixed_root: Path) -> dict[str, dict[str, Counter[str]]]:
    """program -> {'codes': Counter of check codes, 'forms': Counter of oracle crash forms} in fixed code."""
    out: dict[str, dict[str, Counter[str]]] = {}
    r = varmigrate(tree, ["check", "--output-format", "json", "--no-cache", "--exit-zero", str(fixed_root)])
    report = json.loads(r.stdout) if r.stdout.strip() else {"findings": [], "errors": []}
    for f in report["findings"]:
        name = Path(f["filename"]).resolve().relative_to(fixed_root.resolve()).parts[0]
        out.setdefault(name, {"codes": Counter(), "forms": Counter()})["codes"][f["code"]] += 1
    for e in report.get("errors", []):
        name = Path(e["filename"]).resolve().relative_to(fixed_root.resolve()).parts[0]
        out.setdefault(name, {"codes": Counter(), "forms": Counter()})["codes"]["error"] += 1
    sites, _ = oracle.scan_root(fixed_root)
    for s in sites:
        if s.form in oracle.CRASH_FORMS or s.form in ("data_resize", "volatile"):
            form = f"{s.form}:{s.variant}" if s.form == "data0" else s.form
            out.setdefault(s.file.split("/")[0], {"codes": Counter(), "forms": Counter()})["forms"][form] += 1
    return out


def short(pair: dict[str, Any] | None) -> str:
    if pair is None:
        return ""
    verdict = str(pair["verdict"])
    return SHORT.get(verdict, verdict)


def fmt_left(left: dict[str, Counter[str]] | None) -> str:
    if not left:
        return "-"
    codes = " ".join(f"{c}x{n}" if n > 1 else c for c, n in sorted(left["codes"].items()))
    forms = " ".join(f"{c}x{n}" if n > 1 else c for c, n in sorted(left["forms"].items()))
    return (codes or "-") + (f" [{forms}]" if forms else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", type=Path, default=HERE.parent.parent, help="varmigrate worktree to measure")
    ap.add_argument("--only", nargs="*", default=[], metavar="NAME")
    ap.add_argument("--timeout", type=float, default=300.0, help="verify's wall-clock limit per run")
    ap.add_argument("--keep", type=Path, help="keep the work folder here (fixed copies, reports)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--from-json", type=Path, metavar="FILE", help="print the table of a saved --json run")
    a = ap.parse_args(argv)
    if a.from_json is not None:
        rows = json.loads(a.from_json.read_text())
    else:
        tree = a.tree.resolve()
        progs = programs(a.only)
        work = Path(tempfile.mkdtemp(prefix="qa-programs-")) if a.keep is None else a.keep.resolve()
        work.mkdir(parents=True, exist_ok=True)
        try:
            rows = run(tree, progs, work, a.timeout)
        finally:
            if a.keep is None:
                shutil.rmtree(work, ignore_errors=True)
    if a.json:
        print(json.dumps(rows, indent=1, default=lambda c: dict(c)))
        return 0
    cols = ("fix", "unsafe", "fix~exp", "unsafe~exp", "before~exp")
    print(f"{'program':26} " + " ".join(f"{c:13}" for c in cols) + "  left after fix | left after unsafe")
    for name, row in rows.items():
        print(f"{name:26} " + " ".join(f"{row[c] or '':13}" for c in cols)
              + f"  {row['left_fix']} | {row['left_unsafe']}")
    counts = {c: Counter(r[c] for r in rows.values() if r[c]) for c in cols}
    for c in cols:
        print(f"{c:11}", ", ".join(f"{v} {k}" for k, v in counts[c].most_common()))
    return 0


def run(tree: Path, progs: list[Path], work: Path, timeout: float) -> dict[str, dict[str, Any]]:
    for mode in ("orig", "fix", "unsafe"):
        for prog in progs:
            copy_program(prog, work / mode / prog.name)
    varmigrate(tree, ["fix", "--exit-zero", str(work / "fix")])
    varmigrate(tree, ["fix", "--exit-zero", "--unsafe-fixes", str(work / "unsafe")])
    left = {mode: leftovers(tree, work / mode) for mode in ("fix", "unsafe")}

    single = [p for p in progs if is_single(p)]
    with_exp = [p for p in single if (p / "expected.py").exists()]
    res: dict[str, dict[str, dict[str, Any]]] = {}
    for mode in ("fix", "unsafe"):
        res[mode] = verify_fixtures(tree, {p.name: (p / "before.py", work / mode / p.name / "before.py")
                                           for p in single}, work, mode, timeout)
        res[f"{mode}~exp"] = verify_fixtures(tree, {p.name: (p / "expected.py", work / mode / p.name / "before.py")
                                                    for p in with_exp}, work, f"{mode}-exp", timeout)
        for p in progs:
            if p not in single:
                e = entry(p)
                res[mode][p.name] = verify_pair(tree, work / "orig" / p.name / e, work / mode / p.name / e,
                                                work / f"report-{mode}-{p.name}", timeout)
    res["before~exp"] = verify_fixtures(tree, {p.name: (p / "before.py", p / "expected.py") for p in with_exp},
                                        work, "ref", timeout)

    rows: dict[str, dict[str, Any]] = {}
    for p in progs:
        row: dict[str, Any] = {c: short(res[c].get(p.name)) for c in res}
        row["reasons"] = {c: res[c][p.name].get("reason", "") for c in res if p.name in res[c]}
        row["left_fix"] = fmt_left(left["fix"].get(p.name))
        row["left_unsafe"] = fmt_left(left["unsafe"].get(p.name))
        rows[p.name] = row
    return rows


if __name__ == "__main__":
    sys.exit(main())
