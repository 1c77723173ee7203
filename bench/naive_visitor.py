"""The baseline a first attempt would write: one libcst visitor with QualifiedNameProvider per file.

    python bench/naive_visitor.py PATH...

Reports calls of `torch.autograd.Variable` (one of varmigrate's 20-odd patterns), without any
prefilter: every file is parsed and gets full scope analysis, as TorchFix does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider


class VariableCalls(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[int, int]] = []

    def visit_Call(self, node: cst.Call) -> None:
        names = self.get_metadata(QualifiedNameProvider, node.func, set())
        if any(q.name == "torch.autograd.Variable" for q in names):
            pos = self.get_metadata(PositionProvider, node).start
            self.found.append((pos.line, pos.column + 1))


def files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


def main(argv: list[str]) -> int:
    count = 0
    for path in files(argv):
        try:
            module = cst.parse_module(path.read_bytes())
        except cst.ParserSyntaxError:
            continue  # `x.cuda(async=True)` and other 0.3-era syntax
        visitor = VariableCalls()
        MetadataWrapper(module).visit(visitor)
        for line, column in visitor.found:
            print(f"{path}:{line}:{column}: Variable call")
        count += len(visitor.found)
    print(f"{count} findings", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
