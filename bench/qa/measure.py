"""Recall and precision of `varmigrate check` by form on the real-code QA corpus, and what `fix` leaves.

    python bench/qa/measure.py                      # this worktree's varmigrate, ~/qa/corpus, ~/qa/labels.jsonl
    python bench/qa/measure.py --tree /work/wt/core # another worktree's code
    python bench/qa/measure.py --no-fix --json      # check only, machine-readable

The yardstick is bench/qa/oracle.py (independent of varmigrate) plus the hand labels: every oracle
site is labelled `real` (a tensor legacy pattern) or `lookalike` (numpy, list buffers, argparse, ...).
A finding *matches* a site when it is in the same file/cell, its code is in the form's family and
its span overlaps the site (for the `[0]` forms it must also reach the `[0]`); of several, the one
it fits best (intersection over union); sites wholly inside a matched finding count as found too.
Recall = real sites found / real sites; precision = real sites matched / sites matched (labelled).
Findings that match no site are counted per code ("unmatched").

Leftovers: the corpus is copied twice, `fix` and `fix --unsafe-fixes` are applied, the oracle is run
on the results and each remaining site is mapped back (by a line diff) to its original label; a
leftover is a remaining site whose original is real (for the `[0]` forms: only the 0-dim ones, the
crashes).
"still reported" counts leftovers that `check` on the fixed tree still reports.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import oracle

HERE = Path(__file__).resolve().parent
ALL_BUT_VM1 = ("VM2", "VM3", "VM4", "VM5", "VM6", "VM7", "VM8")
EXCLUDE = {"backward_grad": ("VM301",), "multinomial_bare": ("VM301",), "cat_generator": ("VM301",),
           "creator": ("VM301",)}  # VM301 (legacy Function) spans whole classes
FAMILY: dict[str, tuple[str, ...]] = {
    "data0": ("VM2",), "acc_index0": ("VM2",), "reduce_index0": ("VM2",), "convert_index0": ("VM2",),
    "backward_grad": ALL_BUT_VM1, "multinomial_bare": ALL_BUT_VM1, "cat_generator": ALL_BUT_VM1,
    "variable_kwargs": ("VM1",), "data_resize": ("VM2",), "creator": ALL_BUT_VM1 + ("VM1",),
    "async_kw": ("VM3",), "legacy_fn_class": ("VM3",), "legacy_fn_use": ("VM3",), "volatile": ("VM1",),
    "retain_variables": ("VM3",), "backward_variables": ("VM3",), "reinforce": ("VM3",),
    "data_read": ("VM2",),
}
INDEX_FORMS = ("data0", "acc_index0", "reduce_index0", "convert_index0")

Key = tuple[str, Optional[int]]  # file, cell


def accepts(form: str, code: str) -> bool:
    return code.startswith(FAMILY[form]) and code not in EXCLUDE.get(form, ())


def varmigrate(tree: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    venv = tree / ".venv" / "bin" / "python"
    py = str(venv) if venv.exists() else sys.executable
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONPYCACHEPREFIX=f"/tmp/pycache-measure-{tree.name}")
    r = subprocess.run([py, "-P", "-m", "varmigrate", *args], capture_output=True, text=True, env=env, check=False)
    if r.returncode == 2 and "Usage:" in r.stderr:
        sys.exit(f"varmigrate {' '.join(args[:1])}: usage error: {r.stderr.strip()[-500:]}")
    return r


def check(tree: Path, corpus: Path, saved: Path | None = None) -> dict[str, Any]:
    if saved is not None:
        report: dict[str, Any] = json.loads(saved.read_text())
    else:
        r = varmigrate(tree, ["check", "--output-format", "json", "--no-cache", "--exit-zero", str(corpus)])
        if r.returncode not in (0, 1, 2) or not r.stdout.strip():
            sys.exit(f"varmigrate check failed ({r.returncode}): {r.stderr[-2000:]}")
        report = json.loads(r.stdout)
    for f in report["findings"]:
        f["rel"] = str(Path(f["filename"]).resolve().relative_to(corpus.resolve()))
    return report


def overlaps(f: dict[str, Any], s: dict[str, Any]) -> bool:
    fs = (f["location"]["row"], f["location"]["column"])
    fe = (f["end_location"]["row"], f["end_location"]["column"])
    ss, se = (s["line"], s["col"]), (s["end_line"], s["end_col"])
    if not (fs < se and ss < fe):
        return False
    return s["form"] not in INDEX_FORMS or fe >= se  # a `[0]` form: the finding must reach the `[0]`


def span(x: dict[str, Any], finding: bool) -> tuple[int, int]:
    """(start, end) as one number per position, for overlap arithmetic."""
    if finding:
        return (x["location"]["row"] * 100000 + x["location"]["column"],
                x["end_location"]["row"] * 100000 + x["end_location"]["column"])
    return x["line"] * 100000 + x["col"], x["end_line"] * 100000 + x["end_col"]


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    return (min(a[1], b[1]) - max(a[0], b[0])) / max(max(a[1], b[1]) - min(a[0], b[0]), 1)


def match(findings: list[dict[str, Any]], sites: list[dict[str, Any]]
          ) -> tuple[dict[int, list[str]], dict[int, list[str]], Counter[str]]:
    """Each finding goes to the overlapping site (of a form whose family has its code) that it
    fits best (largest intersection over union): hits[site] = codes. Other eligible sites lying
    wholly inside the finding (the `loss.data` of `loss.data.numpy()[0]`) are covered by it:
    covered[site] = codes, which counts for recall only. Unmatched findings are counted per code."""
    by_file: dict[Key, list[int]] = defaultdict(list)
    for i, s in enumerate(sites):
        by_file[(s["file"], s["cell"])].append(i)
    hits: dict[int, list[str]] = defaultdict(list)
    covered: dict[int, list[str]] = defaultdict(list)
    unmatched: Counter[str] = Counter()
    for f in findings:
        cands = [i for i in by_file.get((f["rel"], f["cell"]), ())
                 if accepts(sites[i]["form"], f["code"]) and overlaps(f, sites[i])]
        if not cands:
            unmatched[f["code"]] += 1
            continue
        fspan = span(f, True)
        best = max(cands, key=lambda i: iou(fspan, span(sites[i], False)))
        hits[best].append(f["code"])
        for i in cands:
            ss, se = span(sites[i], False)
            if i != best and fspan[0] <= ss and se <= fspan[1]:
                covered[i].append(f["code"])
    return hits, covered, unmatched


def site_key(s: dict[str, Any]) -> tuple[Any, ...]:
    return (s["file"], s["cell"], s["line"], s["col"], s["form"])


def load_sites(root: Path) -> list[dict[str, Any]]:
    sites, _ = oracle.scan_root(root)
    return [dataclasses.asdict(s) for s in sites]


def recall_precision(sites: list[dict[str, Any]], labels: dict[tuple[Any, ...], dict[str, Any]],
                     hits: dict[int, list[str]], covered: dict[int, list[str]]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for form in oracle.FORMS:
        r: dict[str, Any] = {"sites": 0, "real": 0, "found": 0, "lookalike": 0, "flagged_lookalike": 0, "unlabelled": 0, "codes": Counter()}
        for i, s in enumerate(sites):
            if s["form"] != form:
                continue
            r["sites"] += 1
            lab = labels.get(site_key(s))
            if lab is None:
                r["unlabelled"] += 1
                continue
            if lab["label"] == "real":
                r["real"] += 1
                r["found"] += bool(hits.get(i) or covered.get(i))
            else:
                r["lookalike"] += 1
                r["flagged_lookalike"] += bool(hits.get(i))
            r["codes"].update(hits.get(i, ()))
        flagged = r["found"] + r["flagged_lookalike"]
        r["recall"] = r["found"] / r["real"] if r["real"] else None
        r["precision"] = r["found"] / flagged if flagged else None
        r["codes"] = dict(r["codes"].most_common())
        rows[form] = r
    return rows


# ---- fix leftovers ---------------------------------------------------------------------------

def cell_lines(path: Path) -> dict[int | None, list[str]]:
    try:
        return {c: src.splitlines() for c, src in oracle.cells_of(path)}
    except (ValueError, UnicodeDecodeError):
        return {}


def line_map(before: list[str], after: list[str]) -> dict[int, int]:
    """1-based after-line -> before-line: exact on equal blocks, positional inside changed blocks."""
    out: dict[int, int] = {}
    sm = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        for k, j in enumerate(range(j1, j2)):
            if tag == "equal":
                out[j + 1] = i1 + k + 1
            elif i2 > i1:
                out[j + 1] = min(i1 + k, i2 - 1) + 1
    return out


def leftovers(corpus: Path, fixed: Path, labels: dict[tuple[Any, ...], dict[str, Any]],
              fixed_hits: dict[int, list[str]], fixed_sites: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    real_on_line: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for lab in labels.values():
        if lab["label"] == "real":
            real_on_line[(lab["file"], lab["cell"], lab["line"], lab["form"])].append(lab)
    maps: dict[Key, dict[int, int]] = {}
    used: Counter[tuple[Any, ...]] = Counter()
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"left": 0, "reported": 0, "sites": []})
    for i, s in enumerate(fixed_sites):
        if s["form"] == "data_read":
            continue
        k = (s["file"], s["cell"])
        if k not in maps:
            b, a = cell_lines(corpus / s["file"]), cell_lines(fixed / s["file"])
            for c in a:
                maps[(s["file"], c)] = line_map(b.get(c, []), a[c])
        orig_line = maps.get(k, {}).get(s["line"])
        if orig_line is None:
            continue
        lk = (s["file"], s["cell"], orig_line, s["form"])
        cands = real_on_line.get(lk, [])
        if s["form"] in INDEX_FORMS:
            cands = [c for c in cands if c["kind"] == "0d"]  # a row or a 1-D read is fine as it is
        if used[lk] >= len(cands):
            continue  # nothing real left to account for on that line (or the site is new)
        used[lk] += 1
        out[s["form"]]["left"] += 1
        out[s["form"]]["reported"] += bool(fixed_hits.get(i))
        cell = f":cell {s['cell']}" if s["cell"] else ""
        out[s["form"]]["sites"].append(f"{s['file']}{cell}:{orig_line}{'' if fixed_hits.get(i) else ' (not reported)'}")
    return dict(out)


def run_fix(tree: Path, corpus: Path, unsafe: bool, workdir: Path) -> Path:
    dest = workdir / ("unsafe" if unsafe else "safe")
    shutil.copytree(corpus, dest)
    args = ["fix", "--exit-zero", str(dest)] + (["--unsafe-fixes"] if unsafe else [])
    r = varmigrate(tree, args)
    if r.returncode not in (0, 1, 2):
        sys.exit(f"varmigrate fix failed ({r.returncode}): {r.stderr[-2000:]}")
    return dest


# ---- report ----------------------------------------------------------------------------------

def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def table(rows: dict[str, dict[str, Any]], left: dict[str, dict[str, dict[str, Any]]]) -> Iterable[str]:
    yield (f"{'form':18} {'sites':>5} {'real':>5} {'found':>5} {'recall':>7} {'look':>5} {'lk-flag':>7} "
           f"{'precis':>7} {'fix left':>9} {'unsafe left':>11}  codes")
    for form, r in rows.items():
        if not r["sites"]:
            continue
        crash = "*" if form in oracle.CRASH_FORMS else " "
        cell = {}
        for m in ("safe", "unsafe"):
            got = left.get(m, {}).get(form)
            cell[m] = "" if not left.get(m) else f"{got['left']}({got['reported']})" if got else "0"
        codes = ",".join(f"{c}:{n}" for c, n in r["codes"].items())
        yield (f"{crash}{form:17} {r['sites']:5} {r['real']:5} {r['found']:5} {pct(r['recall']):>7} "
               f"{r['lookalike']:5} {r['flagged_lookalike']:7} {pct(r['precision']):>7} "
               f"{cell['safe']:>9} {cell['unsafe']:>11}  {codes}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", type=Path, default=HERE.parent.parent, help="varmigrate worktree to measure")
    ap.add_argument("--corpus", type=Path, default=Path.home() / "qa" / "corpus")
    ap.add_argument("--labels", type=Path, default=HERE / "labels.jsonl")
    ap.add_argument("--no-fix", action="store_true", help="skip the fix leftovers (check only)")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep the fixed copies of the corpus here")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--show", action="append", default=[], metavar="FORM",
                    help="list the missed real sites and the flagged look-alikes of FORM (repeatable)")
    ap.add_argument("--check-report", type=Path, metavar="FILE",
                    help="use this saved `check --output-format json` report of the corpus instead of running check")
    a = ap.parse_args(argv)
    corpus, tree = a.corpus.resolve(), a.tree.resolve()
    labels = {site_key(label): label for label in map(json.loads, a.labels.read_text().splitlines()) if label}

    t0 = time.time()
    sites = load_sites(corpus)
    report = check(tree, corpus, a.check_report)
    hits, covered, unmatched = match(report["findings"], sites)
    rows = recall_precision(sites, labels, hits, covered)
    t_check = time.time() - t0

    left: dict[str, dict[str, dict[str, Any]]] = {}
    if not a.no_fix:
        with tempfile.TemporaryDirectory(prefix="qa-measure-") as tmp:
            workdir = Path(tmp) if a.keep is None else a.keep
            workdir.mkdir(parents=True, exist_ok=True)
            for mode in ("safe", "unsafe"):
                shutil.rmtree(workdir / mode, ignore_errors=True)
                fixed = run_fix(tree, corpus, mode == "unsafe", workdir)
                fsites = load_sites(fixed)
                fhits, fcovered, _ = match(check(tree, fixed)["findings"], fsites)
                fhits = {i: fhits.get(i, []) + fcovered.get(i, []) for i in set(fhits) | set(fcovered)}
                left[mode] = leftovers(corpus, fixed, labels, fhits, fsites)

    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    result = {"tree": str(tree), "commit": head, "summary": report["summary"], "forms": rows,
                  "unmatched": dict(unmatched.most_common()), "leftovers": left,
                  "check_seconds": round(t_check, 1)}
    if a.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"varmigrate {head} ({tree}) on {corpus}: {report['summary']}")
    for line in table(rows, left):
        print(line)
    print("* crash form.  found = real sites matched by a finding; look = look-alike sites; lk-flag = of them"
          " flagged;\n  fix left = real sites ([0] forms: 0-dim ones) left after `fix`, (n) still reported by check.")
    for form in a.show:
        for i, s in enumerate(sites):
            lab = labels.get(site_key(s))
            if s["form"] != form or lab is None:
                continue
            found = bool(hits.get(i) or covered.get(i))
            if found != (lab["label"] == "real"):
                what = "missed" if lab["label"] == "real" else "flagged look-alike"
                cell = f":cell {s['cell']}" if s["cell"] else ""
                print(f"  {form} {what} ({lab['kind']}): {s['file']}{cell}:{s['line']}:{s['col']}")
        for mode, forms in left.items():
            for where in forms.get(form, {}).get("sites", []):
                print(f"  {form} left after {mode} fix: {where}")
    print("unmatched findings by code:", ", ".join(f"{c}:{n}" for c, n in unmatched.most_common()) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
