"""The lint pass: prefilter, parse (or report why not), run every rule in one traversal, noqa, hooks.

Text in, findings out: file handling (encodings, notebooks, atomic writes) lives in `sources.py`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

import libcst as cst

from ..analysis.context import FileContext
from ..analysis.facts import TORCH, OutsideFacts
from ..analysis.imports import ImportTracker
from ..analysis.project import imports_project_torch, project_function_names
from ..analysis.tensors import TensorInference
from ..config import Settings
from ..ftypes import Finding, SourceError
from ..noqa import NoqaMap, Suppressions, noqa_map
from ..prefilter import mentions, mentions_any_trigger
from ..registry import all_rules
from ..rule import Rule
from ..syntax import async_keyword, python2
from ..tree.memo import FileMemo
from ..tree.walk import visit_batched


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    module: Optional[cst.Module] = None
    imports: Optional[ImportTracker] = None
    # Notebook cells (`namespace=True`): the cell's tensor inference, which the next cell starts from.
    tensors: Optional[TensorInference] = field(default=None, repr=False, compare=False)
    # The lint's parent map of `module` (built on first call, shared with the fix round).
    parents: Optional[Callable[[], dict[int, cst.CSTNode]]] = field(default=None, repr=False, compare=False)


def selected_rules(settings: Settings) -> list[type[Rule]]:
    return [r for r in all_rules() if settings.is_selected(r.CODE)]


def passes_prefilter(text: str, rules: Sequence[type[Rule]], facts: Optional[OutsideFacts] = None) -> bool:
    """Cheap text test: a file without `torch` or without any trigger word has no findings (a file
    that gets torch from a project module, `from model import *`, mentions it through that module;
    one that names a project's legacy `Function` class needs no word of its own)."""
    if any(mentions(word, text) for rule in rules for word in rule.TRIGGERS) \
            and ("torch" in text or (facts is not None and imports_project_torch(text, facts))):
        return True
    if facts is not None and mentions_any_trigger(text) and facts.imported_by_torch():
        return True
    return facts is not None and any(r.PROJECT_FUNCTIONS for r in rules) and bool(project_function_names(text, facts))


def parse_error(path: str, exc: cst.ParserSyntaxError, text: Optional[str] = None) -> SourceError:
    """Prefer CPython's location and wording: libcst's can be a line late (CRLF files, IPython
    magics) or `1:1` with the bare "Syntax Error" (an indentation mix-up)."""
    if text is not None:
        try:
            with warnings.catch_warnings():  # e.g. SyntaxWarning for "\d" must not reach stderr
                warnings.simplefilter("ignore")
                compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as err:
            if err.lineno:
                # Python 2 read a tab as indentation to the next multiple of 8; `--convert-py2` expands them.
                hint = f" (Python 2 allowed it): {python2.ADVICE}" if isinstance(err, TabError) else _magic_hint(text, err.lineno)
                return SourceError(path, err.lineno, err.offset or 1, f"SyntaxError: {err.msg}{hint}")
        except (ValueError, RecursionError, MemoryError):
            pass
    message = str(exc).splitlines()[0] if str(exc) else "invalid syntax"
    return SourceError(path, exc.raw_line, exc.raw_column + 1, f"SyntaxError: {message}")


_MAGIC = re.compile(r"^\s*(%%?[A-Za-z_]\w*|!\S+)")


def _magic_hint(text: str, lineno: int) -> str:
    """A script exported from a notebook keeps its IPython magics and shell lines."""
    lines = text.splitlines()
    match = _MAGIC.match(lines[lineno - 1]) if 0 < lineno <= len(lines) else None
    if match is None:
        return ""
    return (f" (`{match.group(1)}` is an IPython magic or shell line, not Python: run varmigrate on the"
            " .ipynb notebook, or remove the line)")


def lint_module(
    module: cst.Module,
    path: str,
    settings: Settings,
    text: Optional[str] = None,
    imports: Optional[ImportTracker] = None,
    rules: Optional[Sequence[type[Rule]]] = None,
    noqa: Optional[NoqaMap] = None,
    facts: Optional[OutsideFacts] = None,
    previous: Optional[TensorInference] = None,
    namespace: bool = False,
) -> LintResult:
    """Run the rules over a parsed module. `text`: the source the positions refer to (default:
    the module's code); `noqa`: its noqa map, when the caller already has it. `facts`: what names
    from outside the file are (the project index's view from it; torch's API by default).
    `previous`/`namespace` (notebook cells): the inference of the cells before, and whether to
    hand this cell's on (`LintResult.tensors`)."""
    rules = selected_rules(settings) if rules is None else rules
    memo = FileMemo()
    with memo.active():
        ctx = FileContext(path, module, imports, memo, facts if facts is not None else TORCH, previous)
        instances = [rule(ctx) for rule in rules]
        if rules and ctx.imports.imports_torch:
            memo.prefill(module)
            visit_batched(module, instances, memo)
        tensors = ctx.tensors if namespace and ctx.imports.imports_torch else previous
    suppressions = Suppressions(noqa if noqa is not None else noqa_map(text if text is not None else module.code))
    findings = [f for f in ctx.findings if not suppressions.suppresses(f)]
    # The hooks see which directives silenced something; what they report is not filtered.
    start = len(ctx.findings)
    usage = suppressions.usage(tuple(r.CODE for r in all_rules()), settings.is_selected)
    for instance in instances:
        instance.after_lint(usage)
    findings += ctx.findings[start:]
    settings.apply_fix_overrides(findings)  # unfixable / extend-safe-fixes / extend-unsafe-fixes
    findings.sort(key=lambda f: (f.line, f.column, f.code))
    return LintResult(findings=findings, module=module, imports=ctx.imports, parents=ctx.parents_getter, tensors=tensors)


def lint_source(
    text: str,
    path: str,
    settings: Settings,
    imports: Optional[ImportTracker] = None,
    facts: Optional[OutsideFacts] = None,
    previous: Optional[TensorInference] = None,
    namespace: bool = False,
    *,
    tree: Optional[cst.Module] = None,
) -> LintResult:
    """Lint `text`. `tree`: libcst's tree of exactly `text` when the caller has one (the fix loop's
    validation parse); it is used unless the text passes need another text parsed."""
    rules = selected_rules(settings)
    if imports is None and not passes_prefilter(text, rules, facts):
        return LintResult()
    if imports is None:
        # A rule none of whose trigger words occur cannot report anything: not even instantiated.
        # (Not for notebook cells: an alias imported in an earlier cell hides the word.)
        functions = facts is not None and any(r.PROJECT_FUNCTIONS for r in rules) \
            and bool(project_function_names(text, facts))
        rules = [r for r in rules if not r.TRIGGERS or any(mentions(word, text) for word in r.TRIGGERS)
                 or (functions and r.PROJECT_FUNCTIONS)]
    noqa = noqa_map(text)
    # `x.cuda(async=True)` parses only after the token pre-pass renames the keyword (same length,
    # so positions hold); the async-keyword rule reports the renamed spots and its fix spells them.
    parsed = async_keyword.prepare(text, {r.CODE for r in rules}, noqa)
    try:
        module = tree if tree is not None and parsed == text else cst.parse_module(parsed)
    except cst.ParserSyntaxError as exc:
        legacy = python2.diagnose(parsed)
        if legacy is not None:
            return LintResult(errors=[SourceError(path, legacy.line, legacy.column, legacy.message)])
        return LintResult(errors=[parse_error(path, exc, parsed)])
    except RecursionError:
        return LintResult(errors=[SourceError(path, 1, 1, "file is too deeply nested to parse")])
    return lint_module(module, path, settings, text, imports, rules, noqa, facts, previous, namespace)
