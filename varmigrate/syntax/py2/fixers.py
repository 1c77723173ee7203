"""The 2to3 fixers that `--convert-py2` applies, run through fissix (the maintained lib2to3 fork).

Every fixer here keeps the meaning the code had on Python 2. 2to3's defaults are followed except
where they change behaviour (documented in docs/python2.md, section "The fixers"):

- `map`/`filter`/`zip` built a list eagerly in Python 2. 2to3 leaves the lazy Python 3 iterator
  wherever "only iteration is needed" (`for` loops, comprehensions, `enumerate`, `any`, `all`,
  `iter`); a lazy iterator interleaves the mapped function (or the zipped iterators: a data
  loader, a random augmentation) with the loop body, which changes the order of side effects
  and of random draws. Here the call is left bare only where it is consumed whole at once
  (`list`, `tuple`, `sorted`, `set`, `frozenset`, `dict`, `sum`, `min`, `max`, `str.join`).
- `d.keys()`/`.items()`/`.values()` returned list copies in Python 2. A view is kept where it is
  consumed at once, and as the iterable of a `for` loop or comprehension whose body does not
  mention the dictionary's root name (so the loop cannot delete or add its keys through it);
  elsewhere it is wrapped in `list(...)`, as 2to3 does.
- `types.StringType` becomes `str` (2to3 says `bytes`): string literals stay `str`, so the check
  keeps accepting what it accepted before.

Fixers not applied, and why, are listed in EXCLUDED (and in docs/python2.md).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from fissix import fixer_base, patcomp, pytree
from fissix.fixes import (
    fix_apply,
    fix_asserts,
    fix_basestring,
    fix_dict,
    fix_except,
    fix_exec,
    fix_execfile,
    fix_exitfunc,
    fix_filter,
    fix_funcattrs,
    fix_getcwdu,
    fix_has_key,
    fix_imports,
    fix_imports2,
    fix_input,
    fix_intern,
    fix_isinstance,
    fix_itertools,
    fix_itertools_imports,
    fix_long,
    fix_map,
    fix_metaclass,
    fix_methodattrs,
    fix_ne,
    fix_next,
    fix_nonzero,
    fix_numliterals,
    fix_operator,
    fix_paren,
    fix_print,
    fix_raise,
    fix_raw_input,
    fix_reduce,
    fix_reload,
    fix_renames,
    fix_repr,
    fix_standarderror,
    fix_sys_exc,
    fix_throw,
    fix_tuple_params,
    fix_types,
    fix_unicode,
    fix_urllib,
    fix_xrange,
    fix_xreadlines,
    fix_zip,
)
from fissix.pgen2 import token
from fissix.refactor import RefactoringTool

# ------------------------------------------------------------------------------------------
# Where a list and an iterator are interchangeable: the consumer takes every item at once
# ------------------------------------------------------------------------------------------
_EAGER_CALLS = ("list", "tuple", "sorted", "set", "frozenset", "dict", "sum", "min", "max")
_EAGER_SOURCE = f"""
power< ( {' | '.join(repr(c) for c in _EAGER_CALLS)} | (any* trailer< '.' 'join' >) )
       trailer< '(' node=any ')' > any* >
"""
_SORTED_SOURCE = "power< 'sorted' trailer< '(' arglist< node=any any* > ')' > any* >"
_patterns: dict[str, Any] = {}


def _pattern(source: str) -> Any:
    if source not in _patterns:
        _patterns[source] = patcomp.compile_pattern(source)
    return _patterns[source]


def eager_context(node: pytree.Base) -> bool:
    """`node` is the whole argument of a call that consumes it entirely before returning."""
    parent = node.parent
    holders = ((_EAGER_SOURCE, parent.parent if parent else None),
               (_SORTED_SOURCE, parent.parent.parent if parent and parent.parent else None))
    for source, holder in holders:
        results: dict[str, Any] = {}
        if holder is not None and _pattern(source).match(holder, results) and results["node"] is node:
            return True
    return False


def _with_context(function: Callable[..., Any], context: Callable[[pytree.Base], bool]) -> Callable[..., Any]:
    """`function` (a fixer's transform) reading `in_special_context` as `context`."""
    namespace = dict(function.__globals__)
    namespace["in_special_context"] = context
    return types.FunctionType(function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__)


class FixMap(fix_map.FixMap):  # type: ignore[misc]
    """`map(f, xs)` -> `list(map(f, xs))` except where consumed whole at once."""

    transform = _with_context(fix_map.FixMap.transform, eager_context)


class FixFilter(fix_filter.FixFilter):  # type: ignore[misc]
    transform = _with_context(fix_filter.FixFilter.transform, eager_context)


class FixZip(fix_zip.FixZip):  # type: ignore[misc]
    transform = _with_context(fix_zip.FixZip.transform, eager_context)


def _names(node: pytree.Base) -> set[str]:
    return {leaf.value for leaf in node.leaves() if leaf.type == token.NAME}


class FixDict(fix_dict.FixDict):  # type: ignore[misc]
    """2to3's dict fixer; a `for` loop's `d.items()` stays a view when the loop cannot touch `d`."""

    _LOOP = "for_stmt< 'for' any 'in' node=any ':' body=any* > | comp_for< 'for' any 'in' node=any body=any* >"

    def in_special_context(self, node: pytree.Base, isiter: bool) -> bool:
        if node.parent is None:
            return False
        results: dict[str, Any] = {}
        holder = node.parent.parent
        if holder is not None and self.p1.match(holder, results) and results["node"] is node:
            func = results["func"].value
            return bool(func in fix_dict.iter_exempt if isiter else func in _EAGER_CALLS)
        results = {}
        if not _pattern(self._LOOP).match(node.parent, results) or results["node"] is not node:
            return False
        if isiter:
            return True
        root = node.children[0]
        if root.type != token.NAME:
            return False
        loop = node.parent
        if loop.type == self.syms.for_stmt:
            mentioned = set().union(*(_names(part) for part in results.get("body") or []))
        else:  # a comprehension: its element, conditions and other clauses
            mentioned = _names_outside(loop, node)
        return root.value not in mentioned


def _names_outside(loop: pytree.Base, node: pytree.Base) -> set[str]:
    """Names of the comprehension around `loop`, except those of its iterable `node`."""
    syms = fixer_base.BaseFix.syms
    kinds = {getattr(syms, n) for n in ("comp_for", "comp_iter", "comp_if", "old_comp_for", "old_comp_iter", "old_comp_if") if hasattr(syms, n)}
    outer = loop.parent
    while outer is not None and outer.type in kinds:
        outer = outer.parent
    if outer is None:
        return set()
    inside = {id(leaf) for leaf in node.leaves()}
    return {leaf.value for leaf in outer.leaves() if leaf.type == token.NAME and id(leaf) not in inside}


_STRING_TYPES = {"StringType": "str", "StringTypes": "(str,)"}


class FixTypes(fix_types.FixTypes):  # type: ignore[misc]
    """`types.IntType` -> `int` and so on, with `types.StringType` -> `str` (2to3: `bytes`)."""

    def transform(self, node: pytree.Base, results: dict[str, Any]) -> Optional[pytree.Base]:
        name = results["name"].value
        if name in _STRING_TYPES:
            return fix_types.Name(_STRING_TYPES[name], prefix=node.prefix)
        return super().transform(node, results)


# ------------------------------------------------------------------------------------------
# The set
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fixer:
    name: str
    cls: type
    example: str


FIXERS: tuple[Fixer, ...] = (
    Fixer("print", fix_print.FixPrint, "`print x, y` -> `print(x, y)`; `print >>f, x` -> `print(x, file=f)`"),
    Fixer("except", fix_except.FixExcept, "`except E, e:` -> `except E as e:`"),
    Fixer("raise", fix_raise.FixRaise, "`raise E, v` -> `raise E(v)`; `raise E, v, tb` -> `.with_traceback(tb)`"),
    Fixer("throw", fix_throw.FixThrow, "`gen.throw(E, v)` -> `gen.throw(E(v))`"),
    Fixer("exec", fix_exec.FixExec, "`exec code in ns` -> `exec(code, ns)`"),
    Fixer("execfile", fix_execfile.FixExecfile, "`execfile(f)` -> `exec(compile(open(f).read(), f, 'exec'))`"),
    Fixer("repr", fix_repr.FixRepr, "`` `x` `` -> `repr(x)`"),
    Fixer("ne", fix_ne.FixNe, "`a <> b` -> `a != b`"),
    Fixer("numliterals", fix_numliterals.FixNumliterals, "`0777` -> `0o777`; `10L` -> `10`"),
    Fixer("long", fix_long.FixLong, "`long(x)` -> `int(x)`"),
    Fixer("unicode", fix_unicode.FixUnicode, "`unicode(s)` -> `str(s)`; `u'x'` -> `'x'`; `unichr` -> `chr`"),
    Fixer("basestring", fix_basestring.FixBasestring, "`basestring` -> `str`"),
    Fixer("types", FixTypes, "`types.IntType` -> `int`; `types.StringType` -> `str`"),
    Fixer("isinstance", fix_isinstance.FixIsinstance, "`isinstance(x, (int, int))` -> `isinstance(x, int)` (after `long`)"),
    Fixer("has_key", fix_has_key.FixHasKey, "`d.has_key(k)` -> `k in d`"),
    Fixer("dict", FixDict, "`d.iteritems()` -> `d.items()`; `d.keys()` -> `list(d.keys())` where a copy is needed"),
    Fixer("xrange", fix_xrange.FixXrange, "`xrange(n)` -> `range(n)`; `range(n)` -> `list(range(n))` where a list is needed"),
    Fixer("map", FixMap, "`map(f, xs)` -> `list(map(f, xs))` unless consumed whole at once"),
    Fixer("filter", FixFilter, "`filter(f, xs)` -> `list(filter(f, xs))` unless consumed whole at once"),
    Fixer("zip", FixZip, "`zip(a, b)` -> `list(zip(a, b))` unless consumed whole at once"),
    Fixer("itertools", fix_itertools.FixItertools, "`itertools.imap(f, xs)` -> `map(f, xs)` (both lazy)"),
    Fixer("itertools_imports", fix_itertools_imports.FixItertoolsImports, "`from itertools import imap` -> (removed)"),
    Fixer("imports", fix_imports.FixImports, "`import cPickle` -> `import pickle`; `Queue` -> `queue`; ..."),
    Fixer("imports2", fix_imports2.FixImports2, "`import dbm` renames (`anydbm`, `whichdb`, ...)"),
    Fixer("urllib", fix_urllib.FixUrllib, "`urllib.urlopen` -> `urllib.request.urlopen`; ..."),
    Fixer("renames", fix_renames.FixRenames, "`sys.maxint` -> `sys.maxsize`"),
    Fixer("getcwdu", fix_getcwdu.FixGetcwdu, "`os.getcwdu()` -> `os.getcwd()`"),
    Fixer("raw_input", fix_raw_input.FixRawInput, "`raw_input()` -> `input()`"),
    Fixer("input", fix_input.FixInput, "`input()` -> `eval(input())` (Python 2's input evaluated)"),
    Fixer("intern", fix_intern.FixIntern, "`intern(s)` -> `sys.intern(s)`"),
    Fixer("reduce", fix_reduce.FixReduce, "`reduce(f, xs)` -> `functools.reduce(f, xs)` (import added)"),
    Fixer("reload", fix_reload.FixReload, "`reload(m)` -> `importlib.reload(m)`"),
    Fixer("apply", fix_apply.FixApply, "`apply(f, args, kw)` -> `f(*args, **kw)`"),
    Fixer("funcattrs", fix_funcattrs.FixFuncattrs, "`f.func_name` -> `f.__name__`; `func_globals`, ..."),
    Fixer("methodattrs", fix_methodattrs.FixMethodattrs, "`m.im_func` -> `m.__func__`; `im_self`, `im_class`"),
    Fixer("nonzero", fix_nonzero.FixNonzero, "`def __nonzero__` -> `def __bool__`"),
    Fixer("next", fix_next.FixNext, "`it.next()` -> `next(it)`; `def next(self)` -> `def __next__(self)`"),
    Fixer("metaclass", fix_metaclass.FixMetaclass, "`__metaclass__ = M` in a class body -> `class C(metaclass=M)`"),
    Fixer("tuple_params", fix_tuple_params.FixTupleParams, "`def f((a, b)):` -> one parameter unpacked in the body"),
    Fixer("paren", fix_paren.FixParen, "`[x for x in 1, 2]` -> `[x for x in (1, 2)]`"),
    Fixer("standarderror", fix_standarderror.FixStandarderror, "`StandardError` -> `Exception`"),
    Fixer("sys_exc", fix_sys_exc.FixSysExc, "`sys.exc_type` -> `sys.exc_info()[0]`"),
    Fixer("exitfunc", fix_exitfunc.FixExitfunc, "`sys.exitfunc = f` -> `atexit.register(f)`"),
    Fixer("operator", fix_operator.FixOperator, "`operator.isCallable(f)` -> `callable(f)`; ..."),
    Fixer("asserts", fix_asserts.FixAsserts, "`self.assertEquals` -> `self.assertEqual` (the aliases are gone in 3.12)"),
    Fixer("xreadlines", fix_xreadlines.FixXreadlines, "`for l in f.xreadlines()` -> `for l in f`"),
)

# Fixers 2to3 has that are NOT applied: name -> why.
EXCLUDED: dict[str, str] = {
    "future": "removes `from __future__` imports; they are harmless on Python 3 and `division` decides how `/` was read",
    "import": "turns `import sibling` into `from . import sibling` inside a package, which breaks the same file run as "
              "a script (`python pkg/train.py`): a text conversion cannot know how a file is run",
    "idioms": "`type(x) == T` -> `isinstance(x, T)` and `while 1` -> `while True`: the first changes the result "
              "for subclasses (2to3 applies it only on request)",
    "buffer": "`buffer` -> `memoryview` is not the same object (2to3 applies it only on request)",
    "set_literal": "cosmetic (`set([1, 2])` -> `{1, 2}`)",
    "ws_comma": "cosmetic (whitespace after commas)",
    "sorted": "fissix's own addition (positional `sorted(xs, cmp)` arguments); Python 2's `cmp=` has no direct "
              "equivalent it writes correctly in every case",
}


# ------------------------------------------------------------------------------------------
# Running them
# ------------------------------------------------------------------------------------------
@dataclass
class FixerRun:
    text: str
    counts: dict[str, int] = field(default_factory=dict)  # fixer -> changes made
    warnings: list[str] = field(default_factory=list)  # what a fixer could not convert


class _Tool(RefactoringTool):  # type: ignore[misc]
    """RefactoringTool over our fixer classes, counting the changes of each."""

    def __init__(self, fixers: tuple[Fixer, ...]) -> None:
        self._chosen = fixers
        self.counts: dict[str, int] = {}
        super().__init__([])

    def get_fixers(self) -> tuple[list[fixer_base.BaseFix], list[fixer_base.BaseFix]]:
        pre: list[fixer_base.BaseFix] = []
        post: list[fixer_base.BaseFix] = []
        for spec in self._chosen:
            fixer = spec.cls(self.options, self.fixer_log)
            fixer.transform = self._counting(spec.name, fixer.transform)
            (pre if fixer.order == "pre" else post).append(fixer)
        pre.sort(key=lambda f: f.run_order)
        post.sort(key=lambda f: f.run_order)
        return pre, post

    def _counting(self, name: str, transform: Callable[..., Any]) -> Callable[..., Any]:
        def counted(node: pytree.Base, results: dict[str, Any]) -> Any:
            before = str(node)
            root = node
            while root.parent is not None:
                root = root.parent
            statements = len(root.children)  # `reduce`, `reload`: an import added at the top
            new = transform(node, results)
            if new is not None or str(node) != before or len(root.children) != statements:
                self.counts[name] = self.counts.get(name, 0) + 1
            return new

        return counted


def run_fixers(text: str, name: str = "<string>", fixers: tuple[Fixer, ...] = FIXERS) -> FixerRun:
    """Apply `fixers` to Python 2 `text`. Raises fissix's ParseError/TokenError when it is not Python 2."""
    tool = _Tool(fixers)
    tree = tool.refactor_string(text, name)
    warnings = [m for m in tool.fixer_log if not m.startswith("### In file")]
    return FixerRun(str(tree), dict(tool.counts), warnings)
