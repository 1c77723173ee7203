"""`make demo`: run check, fix and verify on the bundled legacy examples, in a temporary copy.

Each step runs the real command line (`python -m varmigrate ...`) so what you see is what a user gets.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "legacy"


def _run(title: str, args: list[str], cwd: Path) -> int:
    print(f"\n$ varmigrate {' '.join(args)}    # {title}", flush=True)
    proc = subprocess.run([sys.executable, "-m", "varmigrate", *args], cwd=cwd)
    print(f"(exit code {proc.returncode})", flush=True)
    return proc.returncode


def main(examples: Path = EXAMPLES) -> int:
    if not examples.is_dir():
        print(f"error: {examples} not found (run the demo from a checkout of the repository)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="varmigrate-demo-") as tmp:
        work = Path(tmp)
        before = work / "before"
        after = work / "after"
        shutil.copytree(examples, before)
        shutil.copytree(examples, after)
        print(f"Copied {len(list(before.glob('*.py')))} legacy scripts from {examples} to {work}")
        _run("find legacy autograd patterns", ["check", "--statistics", "after"], work)
        _run("list them ([*]: the message says what the safe fix does)", ["check", "after"], work)
        _run("show the fixes of one file: the safe one, and the unsafe alternative with its condition",
             ["check", "--show-fixes", "--select", "VM101", "after/linear_regression.py"], work)
        _run("what the safe fixes would change", ["fix", "--diff", "after"], work)
        _run("apply safe and unsafe fixes (read each unsafe fix's condition first)", ["fix", "--unsafe-fixes", "after"], work)
        for script in sorted(after.glob("*.py")):
            proc = subprocess.run(
                ["diff", "-u", f"before/{script.name}", f"after/{script.name}"], cwd=work, capture_output=True, text=True
            )
            print(proc.stdout, end="")
        code = _run("what is left has no automatic fix: a person decides", ["check", "after"], work)
        if _has_harness():
            report = Path.cwd() / "demo-report"
            code = _run(
                "run each before/after pair and compare gradients",
                ["verify", "--pairs", str(before), str(after), "--report", str(report)],
                work,
            )
            print(f"\nReports: {report}/report.md, {report}/report.html, {report}/report.json")
    return 0 if code in (0, 1) else code


def _has_harness() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("\n(torch is not installed: skipping `varmigrate verify`; install varmigrate[verify])")
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
