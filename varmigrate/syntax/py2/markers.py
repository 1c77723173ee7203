"""Python 2 files that Python 3 parses: a call of `xrange` is a NameError only when it runs.

A 2017 file without print statements (`for i in xrange(n)`, `import cPickle`) parses as
Python 3 and breaks when run. Such a file counts as Python 2 when it uses a name that only
Python 2 defines and never binds it, or imports a module only Python 2 has outside a
`try: ... except ImportError:`. Code written for both (a `sys.version_info` test, `six`,
`PY2`/`PY3` flags, python-future's `builtins`) is not Python 2: it already runs on Python 3.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from typing import Optional

PY2_BUILTINS = frozenset({
    "xrange", "unicode", "basestring", "long", "raw_input", "unichr", "execfile", "reduce", "file",
    "cmp", "apply", "buffer", "intern", "coerce", "reload", "StandardError",
})
PY2_MODULES = frozenset({
    "cPickle", "cStringIO", "StringIO", "urllib2", "urlparse", "Queue", "ConfigParser", "__builtin__",
    "HTMLParser", "httplib", "cookielib", "Cookie", "Tkinter", "tkMessageBox", "commands", "SocketServer",
    "SimpleHTTPServer", "BaseHTTPServer", "copy_reg", "anydbm", "dummy_thread", "thread", "repr", "itertools.izip",
})
_PY2_ITERTOOLS = frozenset({"izip", "imap", "ifilter", "ifilterfalse", "izip_longest"})
_COMPAT_MODULES = frozenset({"six", "future", "builtins", "past", "future_builtins"})
_COMPAT_NAMES = frozenset({"PY2", "PY3", "PY3K", "IS_PY2", "IS_PY3", "PYTHON2", "PYTHON3"})


@dataclass(frozen=True)
class Marker:
    line: int
    column: int  # 1-based
    what: str  # e.g. "`xrange`"


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            pass
    return bound


def _guarded_imports(tree: ast.AST) -> set[int]:
    """ids of import statements inside a `try` whose handlers catch ImportError (or anything)."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            catches = any(h.type is None or "Error" in ast.dump(h.type) or "Exception" in ast.dump(h.type) for h in node.handlers)
            if catches:
                for stmt in node.body:
                    for inner in ast.walk(stmt):
                        if isinstance(inner, (ast.Import, ast.ImportFrom)):
                            guarded.add(id(inner))
    return guarded


def _compat(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in ("version_info", "version", "hexversion")
                and isinstance(node.value, ast.Name) and node.value.id == "sys"):
            return True
        if isinstance(node, ast.Name) and node.id in _COMPAT_NAMES:
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in _COMPAT_MODULES for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in _COMPAT_MODULES:
            return True
    return False


def python2_markers(text: str) -> list[Marker]:
    """What in Python 3-parseable `text` only Python 2 runs ([] when none, or for 2/3 code)."""
    if not any(word in text for word in (*PY2_BUILTINS, *PY2_MODULES, *_PY2_ITERTOOLS)):
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    if _compat(tree):
        return []
    bound = _bound_names(tree)
    guarded = _guarded_imports(tree)
    found: list[Marker] = []

    def add(node: ast.AST, what: str) -> None:
        found.append(Marker(getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, what))

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in PY2_BUILTINS and node.id not in bound:
            add(node, f"`{node.id}`")
        elif isinstance(node, ast.Import) and id(node) not in guarded:
            for alias in node.names:
                if alias.name in PY2_MODULES:
                    add(node, f"`import {alias.name}`")
        elif isinstance(node, ast.ImportFrom) and id(node) not in guarded and node.level == 0 and node.module:
            if node.module in PY2_MODULES or (node.module == "itertools" and any(a.name in _PY2_ITERTOOLS for a in node.names)):
                add(node, f"`from {node.module} import ...`")
    found.sort(key=lambda m: (m.line, m.column))
    return found


def first_marker(text: str) -> Optional[Marker]:
    markers = python2_markers(text)
    return markers[0] if markers else None
