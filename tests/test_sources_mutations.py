"""Mutations of every rule fixture, end to end through files: CRLF, BOM, latin-1 with a cookie, tabs.

For each `tests/fixtures/<rule>/<case>.before.py` that `fix` changes: the mutated file gets the same
findings, and `fix` writes exactly the mutation of the expected output (CRLF stays CRLF
everywhere, the BOM stays, latin-1 bytes are written back as latin-1).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Callable

import pytest

from varmigrate.api import run
from varmigrate.testing import fix_text, parse_header

FIXTURES = Path(__file__).parent / "fixtures"


def _cases() -> list[Path]:
    return [p for p in sorted(FIXTURES.glob("*/*.before.py")) if p.parent.name != "programs"]


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def bom(text: str) -> bytes:
    return codecs.BOM_UTF8 + text.encode("utf-8")


def _after_first_line(text: str, insert: str) -> str:
    # Keep a `# fixture:` header first (it carries the options); a cookie may sit on line 2.
    first, sep, rest = text.partition("\n")
    if first.startswith("# fixture:"):
        return first + sep + insert + rest
    return insert + text


def latin1(text: str) -> bytes:
    return _after_first_line(text, "# -*- coding: latin-1 -*-\n# r\u00e9seau, na\u00efve\n").encode("latin-1")


def tabs(text: str) -> bytes:
    lines = []
    for line in text.splitlines(keepends=True):
        match = re.match(r"^((?:    )+)", line)
        lines.append("\t" * (len(match.group(1)) // 4) + line[len(match.group(1)):] if match else line)
    return "".join(lines).encode("utf-8")


MUTATIONS: dict[str, Callable[[str], bytes]] = {"crlf": crlf, "bom": bom, "latin1": latin1, "tabs": tabs}


def _params() -> list:
    """(fixture, mutation) pairs where the mutation is meaningful; decided at collection, so the
    run lists only real cases instead of skipping most of them."""
    params = []
    for before_path in _cases():
        before = _read(before_path)
        if "\t" in before or "\r" in before:
            continue  # the fixture already has these properties
        options = parse_header(before).settings()
        expected = fix_text(before, options)
        for mutation, mutate in MUTATIONS.items():
            if expected == before and mutation != "crlf":
                continue  # nothing to fix: CRLF covers it (and test_property covers byte identity)
            if mutation == "latin1" and not before.isascii():
                continue
            if mutation == "tabs" and "    " in expected and "    " not in before:
                continue  # the fix introduces its own indentation
            try:
                mutate(before), mutate(expected)
            except UnicodeEncodeError:
                continue  # not representable in latin-1
            params.append(pytest.param(before_path, mutation, id=f"{before_path.parent.name}/{before_path.name[:-10]}-{mutation}"))
    return params


@pytest.mark.parametrize("before_path, mutation", _params())
def test_mutation_keeps_findings_and_format(before_path: Path, mutation: str, tmp_path: Path) -> None:
    before = _read(before_path)
    options = parse_header(before).settings()
    expected = fix_text(before, options)
    mutate = MUTATIONS[mutation]
    data, want = mutate(before), mutate(expected)
    target = tmp_path / "case.py"
    target.write_bytes(data)
    original = run([str(tmp_path / "case.py")], options, jobs=1)
    plain = tmp_path / "plain.py"
    plain.write_text(before, encoding="utf-8", newline="")
    reference = run([str(plain)], options, jobs=1)
    shift = 2 if mutation == "latin1" else 0
    expected = [(f.code, f.line + shift if f.line > 1 or not before.startswith("# fixture:") else f.line) for f in reference.findings]
    assert [(f.code, f.line) for f in original.findings] == expected
    assert [e.message for e in original.errors] == [e.message for e in reference.errors]
    run([str(target)], options, fix=True, jobs=1)
    assert target.read_bytes() == want
