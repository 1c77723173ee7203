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


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@pytest.mark.parametrize("before_path", _cases(), ids=lambda p: f"{p.parent.name}/{p.name[:-10]}")
def test_mutation_keeps_findings_and_format(before_path: Path, mutation: str, tmp_path: Path) -> None:
    before = _read(before_path)
    options = parse_header(before).settings()
    if "\t" in before or "\r" in before or not before.isascii() and mutation == "latin1":
        pytest.skip("the fixture already has this property")
    expected = fix_text(before, options)
    if expected == before and mutation != "crlf":
        pytest.skip("no fix here: covered by the CRLF run (and byte-identity by test_property)")
    mutate = MUTATIONS[mutation]
    try:
        data, want = mutate(before), mutate(expected)
    except UnicodeEncodeError:
        pytest.skip("not representable in latin-1")
    if mutation == "tabs" and "    " in expected and "    " not in before:
        pytest.skip("the fix introduces its own indentation")
    target = tmp_path / "case.py"
    target.write_bytes(data)
    original = run([str(tmp_path / "case.py")], options, jobs=1)
    plain = tmp_path / "plain.py"
    plain.write_text(before, encoding="utf-8", newline="")
    reference = run([str(plain)], options, jobs=1)
    shift = 2 if mutation == "latin1" else 0
    assert [(f.code, f.line) for f in original.findings] == [(f.code, f.line + shift if f.line > 1 or not before.startswith("# fixture:") else f.line) for f in reference.findings]
    assert [e.message for e in original.errors] == [e.message for e in reference.errors]
    run([str(target)], options, fix=True, jobs=1)
    assert target.read_bytes() == want
