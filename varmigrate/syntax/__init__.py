"""Text passes before parsing: `async=` keyword arguments (async_keyword), Python 2 diagnosis (python2).

Neither imports libcst or torch: the harness's shim shares `async_keyword_spots`.
"""
