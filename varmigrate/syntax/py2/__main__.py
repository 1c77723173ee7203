"""`python -m varmigrate.syntax.py2 [--in-place | --out-dir DIR] FILE...`: convert Python 2 scripts.

The harness's `verify --convert-py2` runs this in a subprocess (nothing in the harness imports
the linter): each FILE that is Python 2 is converted (to DIR/<n>/<name>, or in place), and one
JSON object per FILE is printed, one per line:
`{"path", "converted", "output", "summary", "reported": [{"line", "column", "message"}], "error"}`.
Exit status 0, or 2 when a file could not be read, converted or written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

from ...sources import SourceReadError, atomic_write, read_source
from . import ConversionError, NotPython2, Py2Unavailable, convert


def convert_file(path: Path, output: Optional[Path]) -> dict[str, Any]:
    result: dict[str, Any] = {"path": str(path), "converted": False, "output": str(output or path),
                              "summary": "", "reported": [], "error": None}
    try:
        source = read_source(path)
        conversion = convert(source.text, str(path))
    except (OSError, SourceReadError) as exc:
        result["error"] = f"cannot read: {exc}"
        return result
    except (NotPython2, ConversionError) as exc:
        result["error"] = f"{path}:{exc.line}:{exc.column}: {exc.message}"
        return result
    if conversion is None:
        result["output"] = str(path)
        return result
    target = output or path
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, source.encode(conversion.text))
    result.update(converted=True, summary=conversion.summary(),
                  reported=[{"line": d.line, "column": d.column, "message": d.describe()} for d in conversion.reported])
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m varmigrate.syntax.py2", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--in-place", action="store_true")
    where.add_argument("--out-dir", type=Path)
    args = parser.parse_args(argv)
    status = 0
    for index, path in enumerate(args.files):
        output = None if args.in_place else args.out_dir / str(index) / path.name
        try:
            result = convert_file(path, output)
        except Py2Unavailable as exc:
            print(json.dumps({"path": str(path), "error": str(exc)}))
            return 2
        if result["error"]:
            status = 2
        print(json.dumps(result), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
