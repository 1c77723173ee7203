"""The gradient-equivalence harness behind ``varmigrate verify``.

torch is imported only by the modules that run inside the sandboxed child (capture, shim,
legacy_mode, device, gradcheck, execute, tensorio, naming, optrace).  Everything the parent
process of ``verify`` runs is torch-free: ``command``, ``pairs``, ``worker``, ``detect``,
``features``, ``compare`` and ``numeric`` (stored tensors are graded from their bytes),
``verdict``, ``readings``, ``printed`` and the reports (``report``, ``report_md``,
``report_html``, ``svg``).  A test runs ``verify`` on a diverging pair and checks that the parent
never imported torch.
"""
