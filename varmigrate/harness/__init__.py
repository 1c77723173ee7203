"""The gradient-equivalence harness behind ``varmigrate verify``.

torch is imported only by the modules that run inside the sandboxed child (capture, shim,
device, gradcheck, execute, tensorio, naming) and, lazily, by ``compare`` when two hashes
differ.  ``command``, ``pairs``, ``worker``, ``report`` and ``verdict`` stay torch-free.
"""
