"""libcst plumbing without rule knowledge: traversal (walk), positions, per-file memos."""
