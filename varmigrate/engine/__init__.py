"""One engine for lint and fix: parse once, run every rule in one traversal, apply fixes to a fixed point.

- `lint.py`: prefilter, parse (or the error saying why not), the rules' traversal, noqa, hooks.
- `fix.py`: the fixed-point loop; a fix whose output does not parse is dropped.
- `transforms.py`: one fix round on a module (the applier, `no_grad` blocks, unused legacy
  imports, `x = x` left by a fix, `import torch`).

Other modules use the names below only.
"""

from .fix import MAX_ITERATIONS, FixResult, fix_alone, fix_source, parses, recursion_headroom
from .lint import LintResult, lint_module, lint_source, parse_error, passes_prefilter, selected_rules
from .transforms import REMOVABLE_IMPORTS, Chosen, UnfixedModule, insert_import_torch

__all__ = [
    "MAX_ITERATIONS", "REMOVABLE_IMPORTS", "Chosen", "FixResult", "LintResult", "UnfixedModule", "fix_alone",
    "fix_source", "insert_import_torch", "lint_module", "lint_source", "parse_error", "parses", "passes_prefilter",
    "recursion_headroom", "selected_rules",
]
