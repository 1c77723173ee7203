"""Rebuild the real-code QA corpus and the maintainers' ports (MANIFEST.md) from git mirrors.

    python bench/qa/build_corpus.py --mirrors /work/.mirror --out ~/qa

Stdlib only. Reads the two tables of MANIFEST.md; takes each repository from
MIRRORS/<owner>+<name>/repo (a git directory, or a checkout with .git) and writes, with git
plumbing only (`rev-parse`, `ls-tree`, `cat-file`; nothing is checked out or run):

- OUT/corpus/<owner>__<name>/: the `.py`/`.ipynb` files at the commit shown, same paths, plus a
  `pyproject.toml` holding `[tool.varmigrate]` (each repository is its own project root);
- OUT/ports/<owner>__<name>/{before,after}/: the `.py`/`.ipynb` files the port changed, present at
  the same path on both sides (a file on one side only was renamed, deleted or added: dropped).

Each folder is rebuilt from scratch (idempotent). A missing mirror or commit leaves that repository
out; a blob the snapshot lacks (4 MiB and more) leaves that file out. The counts per repository are
printed, with `got/want!` where they differ from the MANIFEST's; exit 1 if anything is missing or differs.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUFFIXES = (".py", ".ipynb")
REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
Tree = dict[str, str]  # path -> blob sha


def tables(manifest: Path) -> list[list[dict[str, str]]]:
    """The Markdown tables of manifest, each a list of rows (header -> cell) naming a repository."""
    out: list[list[dict[str, str]]] = []
    header: list[str] | None = None
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            out.append([])
        elif REPO.match(cells[0]):
            out[-1].append(dict(zip(header, cells)))
    return [t for t in out if t]


class Mirror:
    def __init__(self, mirrors: Path, repo: str) -> None:
        base = mirrors / repo.replace("/", "+") / "repo"
        self.git_dir = base / ".git" if (base / ".git").is_dir() else base

    def git(self, *args: str, stdin: bytes | None = None) -> bytes:
        cmd = ["git", "-c", "core.fsmonitor=false", "--git-dir", str(self.git_dir), *args]
        return subprocess.run(cmd, input=stdin, capture_output=True, check=True).stdout

    def commit(self, prefix: str) -> str | None:
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{prefix}^{{commit}}").decode().strip() or None
        except subprocess.CalledProcessError:
            return None

    def tree(self, commit: str) -> Tree:
        """The regular `.py`/`.ipynb` files at commit (no symlinks, no submodules)."""
        out: Tree = {}
        for entry in self.git("ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
            if not entry:
                continue
            meta, path = entry.decode("utf-8", "surrogateescape").split("\t", 1)
            mode, kind, sha = meta.split()
            parts = Path(path).parts
            if kind == "blob" and mode in ("100644", "100755") and path.endswith(SUFFIXES) \
                    and ".." not in parts and ".git" not in parts:
                out[path] = sha
        return out

    def blobs(self, shas: list[str]) -> dict[str, bytes]:
        raw, got, i = self.git("cat-file", "--batch", stdin="".join(s + "\n" for s in shas).encode()), {}, 0
        for sha in shas:
            nl = raw.index(b"\n", i)
            head = raw[i:nl].split()
            if head[1] == b"missing":  # the snapshot lacks it (files of 4 MiB and more)
                i = nl + 1
                continue
            size = int(head[2])
            got[sha] = raw[nl + 1:nl + 1 + size]
            i = nl + 2 + size
        return got


def write(mirror: Mirror, files: Tree, dest: Path, pyproject: bool) -> list[str]:
    """dest holds exactly files (+ pyproject.toml): built beside it, then swapped in. -> paths lacking."""
    part = dest.with_name(dest.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)  # parents: OUT/ports/<repo>/ too
    data = mirror.blobs(sorted(set(files.values())))
    for path, sha in files.items():
        if sha not in data:
            continue
        target = part / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[sha])
    if pyproject:
        (part / "pyproject.toml").write_text("[tool.varmigrate]\n", encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    part.rename(dest)
    return sorted(p for p, sha in files.items() if sha not in data)


def counts(root: Path) -> dict[str, int]:
    """.py files, .ipynb files, .py lines, notebook code-cell lines under root."""
    c = {".py": 0, ".ipynb": 0, ".py lines": 0, "notebook code lines": 0}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix not in SUFFIXES:
            continue
        c[p.suffix] += 1
        raw = p.read_bytes()
        if p.suffix == ".py":
            c[".py lines"] += len(raw.decode("utf-8", "replace").splitlines())
            continue
        try:
            nb = json.loads(raw.decode("utf-8"))
        except ValueError:
            print(f"  {p.relative_to(root)}: not a JSON notebook", file=sys.stderr)
            continue
        cells = nb.get("cells") or [x for ws in nb.get("worksheets", []) for x in ws.get("cells", [])]
        for cell in cells:
            if cell.get("cell_type") == "code":
                src = cell.get("source", cell.get("input", ""))
                c["notebook code lines"] += len(("".join(src) if isinstance(src, list) else src).splitlines())
    return c


def cmp(got: int, want: str) -> str:
    return f"{got}" if str(got) == want else f"{got}/{want}!"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"), help="MIRRORS/<owner>+<name>/repo")
    ap.add_argument("--out", type=Path, default=Path.home() / "qa", help="writes OUT/corpus and OUT/ports")
    ap.add_argument("--manifest", type=Path, default=HERE / "MANIFEST.md")
    ap.add_argument("--only", nargs="*", default=[], metavar="OWNER/NAME", help="these repositories only")
    a = ap.parse_args(argv)
    corpus_rows, port_rows = ([r for r in t if not a.only or r["repository"] in a.only] for t in tables(a.manifest))
    problems: list[str] = []

    def open_at(repo: str, *prefixes: str) -> tuple[Mirror, list[str]] | None:
        """The mirror of repo and the full commits of prefixes; None (and a problem) if one is missing."""
        m = Mirror(a.mirrors, repo)
        if not m.git_dir.is_dir():
            problems.append(f"{repo}: no mirror at {m.git_dir}")
            return None
        shas = [m.commit(p) for p in prefixes]
        for p, sha in zip(prefixes, shas):
            if sha is None:
                problems.append(f"{repo}: commit {p} not in the snapshot")
        return (m, [s for s in shas if s]) if all(shas) else None

    keys, notes, differ = (".py", ".ipynb", ".py lines", "notebook code lines"), list[str](), 0
    print("corpus: " + " | ".join(("repository", "commit") + keys) + "  (got/want! where they differ)")
    for row in corpus_rows:
        if opened := open_at(row["repository"], row["commit"]):
            (m, (sha,)), dest = opened, a.out / "corpus" / row["repository"].replace("/", "__")
            notes += [f"{row['repository']}: {p}" for p in write(m, m.tree(sha), dest, pyproject=True)]
            line = " | ".join([row["repository"], sha[:12]] + [cmp(counts(dest)[k], row[k]) for k in keys])
            differ += "!" in line
            print(line)

    print("\nports: repository | before..after | files compared | files dropped")
    for row in port_rows:
        if opened := open_at(row["repository"], row["before"], row["after"]):
            (m, (old, new)), dest = opened, a.out / "ports" / row["repository"].replace("/", "__")
            tb, ta = m.tree(old), m.tree(new)
            changed = {p: (tb[p], ta[p]) for p in tb if p in ta and tb[p] != ta[p]}
            dropped = set(tb) ^ set(ta)  # on one side only: renamed, deleted or added (the MANIFEST counts all three)
            for i, side in enumerate(("before", "after")):
                lacking = write(m, {p: shas[i] for p, shas in changed.items()}, dest / side, pyproject=False)
                notes += [f"{row['repository']}: {side}/{p}" for p in lacking]
            line = (f"{row['repository']} | {old[:10]}..{new[:10]} | {cmp(len(changed), row['files compared'])} | "
                    f"{cmp(len(dropped), row['files dropped (renamed/deleted)'])}")
            differ += "!" in line
            print(line)

    for n in notes:
        print(f"not in the snapshot (left out): {n}", file=sys.stderr)
    for p in problems:
        print(f"MISSING {p}", file=sys.stderr)
    print(f"{len(problems)} missing, {differ} rows differing from the MANIFEST", file=sys.stderr)
    return 1 if problems or differ else 0


if __name__ == "__main__":
    sys.exit(main())
