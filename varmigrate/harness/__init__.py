"""The gradient-equivalence harness behind ``varmigrate verify``.

torch is imported only by the modules that run inside the sandboxed child (capture, shim,
legacy_mode, device, gradcheck, execute, tensorio, naming, optrace).  Everything the parent
process of ``verify`` runs is torch-free: ``command``, ``api`` (the public API: ``verify``,
``run_pairs``, ``Harness``; what ``varmigrate.prove`` uses), ``pairs``, ``codebase``, ``worker``, ``detect``,
``features``, ``compare`` and ``numeric`` (stored tensors are graded from their bytes),
``verdict``, ``readings``, ``printed`` and the reports (``report``, ``report_md``,
``report_html``, ``svg``, ``schema``).  Tests run ``verify`` on a diverging pair, and a proof
(``verify --root --apply``), and check that the parent never imported torch.
"""
