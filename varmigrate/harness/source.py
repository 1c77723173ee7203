"""Reading Python source files as the interpreter does (torch-free).

A PEP 263 coding line (``# -*- coding: latin-1 -*-``), a UTF-8 BOM and CRLF or CR line endings
are all valid Python; ``Path.read_text(encoding="utf-8")`` fails on the first and keeps the
``\\r`` of the others.  ``compile()`` takes the raw bytes directly; text is needed only where
the harness edits or scans the source.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional


def decode(data: bytes) -> str:
    """The source text: PEP 263 / BOM decoding and universal newlines, as ``import`` reads it."""
    return importlib.util.decode_source(data)


def read(path: str | Path) -> str:
    return decode(Path(path).read_bytes())


def read_or_none(path: str | Path) -> Optional[str]:
    """The text, or None for an unreadable or undecodable file (a scan skips it)."""
    try:
        return read(path)
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
        return None


def line(path: str | Path, number: int) -> str:
    """Line ``number`` (1-based) of a source file, stripped; empty when unavailable."""
    text = read_or_none(path)
    if text is None:
        return ""
    lines = text.splitlines()
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""
