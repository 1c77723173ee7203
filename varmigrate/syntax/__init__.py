"""Text passes before parsing: `async=` keyword arguments (async_keyword), Python 2 diagnosis (python2),
and Python 2 -> 3 conversion for `--convert-py2` (py2/, which imports fissix only when it converts).

None imports libcst or torch: the harness's shim shares `async_keyword_spots`.
"""
