"""Facts about a file (and, later, a project), with no rule knowledge.

- imports.py: local names to qualified names (`ImportTracker`)
- facts.py: what is known about names defined outside the file (`OutsideFacts`; torch's API today)
- context.py: one file's state shared by the rules of a traversal (`FileContext`)
- tensors.py: which expressions are tensors, 0-dim, modules (`TensorInference`)
- data_uses.py: what each `.data` is used for; names.py, aliases.py: scopes and alias escapes
- volatility.py, volatile_scope.py: how a volatile value flows, and the `no_grad` scope that covers it
- legacy_function.py: old-style `autograd.Function` classes and their call sites
- project.py: the project index (a project is one namespace: star imports, functions returning tensors, module classes of other modules)
- shapes.py: the shape of a tensor, as far as the file tells (for the fix of `x.data[0]`)
- nodes.py: matchers the rules share (`is_variable`, `variable_args`, `is_no_grad_block`, ...)
"""
