"""Runs one user program under capture, inside the sandboxed child (torch imported).

Order matters: seeds and determinism first, then the device policy (both sides), the
recorder, the legacy shim (before-runs only, outermost so capture sees modern arguments; its
features are the ones the program's source needs) and the Function probe (after-runs only).
"""

from __future__ import annotations

import builtins
import linecache
import os
import random
import runpy
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from .spec import RunSpec


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    if "numpy" in sys.modules or _has_numpy():
        import numpy

        numpy.random.seed(seed)


def _has_numpy() -> bool:
    import importlib.util

    return importlib.util.find_spec("numpy") is not None


def _determinism() -> dict[str, Any]:
    """`torch.use_deterministic_algorithms(True, warn_only=True)`, without what it costs a run that
    never compiles: that function imports `torch._inductor.config` (and with it torch._dynamo and
    the inductor package: ~1 s of CPU) only to set inductor's `deterministic` flag. Where inductor
    is not loaded yet, the flag's own environment variable sets it the moment it is; the torch
    flag is set as the function sets it."""
    import torch

    torch.set_num_threads(1)
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"  # read by torch/_inductor/config.py at import
        torch._C._set_deterministic_algorithms(True, warn_only=True)
    return {"threads": torch.get_num_threads(), "deterministic": torch.are_deterministic_algorithms_enabled()}


class _WarningLog:
    """Deduplicated warnings; legacy deprecation warnings are useful report content."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[str, str, str]] = Counter()

    def install(self) -> None:
        warnings.simplefilter("default")

        def showwarning(message: Any, category: type, filename: str, lineno: int,
                        file: Any = None, line: Optional[str] = None) -> None:
            site = f"{os.path.basename(filename)}:{lineno}"
            self.seen[(category.__name__, str(message)[:300], site)] += 1

        warnings.showwarning = showwarning

    def dump(self) -> list[dict[str, Any]]:
        return [{"category": c, "message": m, "site": s, "count": n}
                for (c, m, s), n in list(self.seen.items())[:50]]


def user_frame(tb: Any) -> Optional[dict[str, Any]]:
    from .naming import is_user_file

    frames = [f for f in traceback.extract_tb(tb) if is_user_file(f.filename)]
    if not frames:
        return None
    f = frames[-1]
    return {"file": f.filename, "line": f.lineno, "function": f.name, "code": (f.line or "").strip()}


def _compile_script(path: Path, fix_async: bool) -> Any:
    """Compiles the raw bytes, as ``python script.py`` does (PEP 263 coding line, BOM, CRLF)."""
    from . import shim as shim_mod
    from .source import decode

    data = path.read_bytes()
    try:
        return compile(data, str(path), "exec", dont_inherit=True)
    except SyntaxError:
        if not fix_async:
            raise
        source = decode(data)
        fixed = shim_mod.fix_source(source)
        if fixed == source:
            raise
        linecache.cache[str(path)] = (len(fixed), None, fixed.splitlines(True), str(path))
        return compile(fixed, str(path), "exec", dont_inherit=True)


def _run_target(spec: RunSpec) -> None:
    sys.argv = [spec.target, *spec.argv]
    if spec.sys_path0:
        sys.path.insert(0, spec.sys_path0)
    if spec.kind == "module":
        runpy.run_module(spec.target, run_name="__main__", alter_sys=True)
        return
    path = Path(spec.target)
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path),
                                 "__builtins__": builtins, "__package__": None}
    main = type(sys)("__main__")
    main.__dict__.update(namespace)
    sys.modules["__main__"] = main  # pickle and `if __name__` code expect a real module
    if spec.kind == "notebook":
        from .notebook import cell_filename, code_cells

        for number, source in code_cells(path):
            fname = cell_filename(path, number)
            linecache.cache[fname] = (len(source), None, source.splitlines(True), fname)
            exec(compile(source, fname, "exec", dont_inherit=True), main.__dict__)
        return
    exec(_compile_script(path, spec.shim and "async_keyword" in spec.features), main.__dict__)


def _leave_mode(mode: Any) -> None:
    """Exits the legacy mode; a mode the program entered and never left stays above it (the
    child ends right after, so only the final values are then read through both)."""
    from torch.overrides import _get_current_function_mode_stack

    if _get_current_function_mode_stack()[-1:] == [mode]:  # type: ignore[no-untyped-call]
        mode.__exit__(None, None, None)


def run(spec: RunSpec) -> dict[str, Any]:
    """Executes the program; returns the summary the parent reads (status, hits, final...)."""
    import torch

    from . import device, shim
    from .capture import Recorder
    from .gradcheck import FunctionProbe

    out = Path(spec.out_dir)
    summary: dict[str, Any] = {"run_id": spec.run_id, "status": "ok", "torch": torch.__version__,
                               "python": sys.version.split()[0], "seed": spec.seed}
    log = _WarningLog()
    log.install()
    summary.update(_determinism())
    summary["device"] = device.setup(spec.device)
    recorder = Recorder(out, spec.tensor_budget)
    recorder.install()
    legacy = shim.install(spec.features) if spec.shim else None
    probe = FunctionProbe() if spec.gradcheck else None
    if probe:
        probe.install()
    if spec.kind == "module" and spec.target == "pytest":
        # reseed before every test so one test's failure cannot shift the next one's RNG
        os.environ["VARMIGRATE_SEED"] = str(spec.seed)
        spec.argv = ["-p", "varmigrate.harness.pytest_plugin", "-p", "no:cacheprovider", *spec.argv]
    seed_everything(spec.seed)
    mode = None
    if spec.optrace_until >= 0:
        from .optrace import make_mode

        mode = make_mode(out / "ops.jsonl", recorder, spec.optrace_until)
        mode.__enter__()
    start = time.perf_counter()
    if legacy is not None:
        legacy.__enter__()
    try:
        _run_target(spec)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code:
            summary.update(status="exit", exit_code=code)
    except BaseException as exc:  # the user's exception is a result, not our crash
        summary["status"] = "exception"
        summary["exception"] = {
            "type": type(exc).__name__,
            "message": str(exc)[:2000],
            "frame": user_frame(exc.__traceback__),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-6000:],
        }
    finally:
        if legacy is not None:
            _leave_mode(legacy)
    summary["program_s"] = round(time.perf_counter() - start, 4)
    if mode is not None:
        mode.__exit__(None, None, None)
        mode.close()
    summary.update(recorder.finish())
    recorder.uninstall()
    if probe:
        summary["gradcheck"] = probe.check_all()
    summary["shim_hits"] = dict(shim.HITS)
    summary["device_hits"] = dict(device.HITS)
    summary["warnings"] = log.dump()
    tests = out / "tests.jsonl"
    if tests.exists():
        import json

        summary["tests"] = [json.loads(line) for line in tests.read_text().splitlines() if line]
    return summary
