"""Proven migrations (issue 13): fix a copy, verify it, delta-debug the fixes that moved a
gradient, downgrade them, re-verify, and write the tree only when it is proven.

Composes the linter API (`varmigrate.api`, torch-free, in this process) and the harness (a
warm fork worker runs the programs).  Nothing in `varmigrate.harness` imports this package.
"""
