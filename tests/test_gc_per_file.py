"""The garbage collector in a run of ours (issue 15): within one file only young objects are
collected (the older generations' passes rescanned the file's whole tree, a per-line cost that
grew with the file), the usual thresholds are back after it so cycle garbage still goes, and a
fixed tree is freed by reference count alone. Counted in collections, never timed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest
import targets  # bench/targets.py (tests/conftest.py puts bench/ on the path)

import varmigrate.api as api
from varmigrate import collector
from varmigrate.config import Settings
from varmigrate.engine import fix_source

# bench/targets.py's dense module-level script: two volatile sources in every nine lines
HEADER, BLOCK = targets.VOLATILE_HEADER, targets.VOLATILE_BLOCK


def _script(blocks: int) -> str:
    return HEADER + "".join(BLOCK.format(i=i) for i in range(blocks))


@pytest.fixture
def tuned_gc() -> Iterator[None]:
    """`collector.tune` as the CLI calls it, undone afterwards (it freezes the whole heap)."""
    thresholds = gc.get_threshold()
    collector.tune()
    try:
        yield
    finally:
        collector._tuned = False
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _collections(callback_log: list[int]) -> object:
    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            callback_log.append(info["generation"])

    return record


def test_one_file_runs_only_young_collections(tuned_gc: None, tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(_script(120), encoding="utf-8")
    seen: list[int] = []
    thresholds: list[tuple[int, ...]] = []
    real = api.process_source

    def watched(*args: object, **kwargs: object) -> api.FileOutcome:
        thresholds.append(gc.get_threshold())
        callback = _collections(seen)
        gc.callbacks.append(callback)
        try:
            return real(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            gc.callbacks.remove(callback)

    api.process_source = watched  # type: ignore[assignment]
    try:
        report = api.run([str(tmp_path / "script.py")], Settings(root=tmp_path, unsafe_fixes=True), fix=True, write=False, jobs=1, tune_gc=True)
    finally:
        api.process_source = real  # type: ignore[assignment]
    assert report.files[0].changed
    assert thresholds and thresholds[0][0] == collector.BETWEEN_FILES[0] and min(thresholds[0][1:]) > 1 << 20
    assert seen and set(seen) == {0}, f"collections by generation within the file: {seen}"
    assert gc.get_threshold() == collector.BETWEEN_FILES  # back after the file


def test_cycle_garbage_of_a_file_is_collected_after_it(tuned_gc: None, tmp_path: Path) -> None:
    # A cycle alive at a young pass within the file (so it moved to an older generation), dropped
    # later in the file: the collector finds it after the file, with no explicit gc.collect().
    (tmp_path / "script.py").write_text(_script(2), encoding="utf-8")
    real = api.process_source
    refs: list[weakref.ref[object]] = []

    class Node:
        pass

    def with_cycle(*args: object, **kwargs: object) -> api.FileOutcome:
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        refs.append(weakref.ref(a))
        gc.collect(0)  # survives a young pass
        del a, b
        return real(*args, **kwargs)  # type: ignore[arg-type]

    api.process_source = with_cycle  # type: ignore[assignment]
    try:
        api.run([str(tmp_path / "script.py")], Settings(root=tmp_path), write=False, jobs=1, tune_gc=True)
    finally:
        api.process_source = real  # type: ignore[assignment]
    assert refs and refs[0]() is not None, "the cycle must outlive the file for the test to mean anything"
    keep = [[] for _ in range(12 * collector.BETWEEN_FILES[0])]  # enough young passes for an older one
    del keep
    assert refs[0]() is None, "cycle garbage of a file stayed after it"


def test_a_fixed_tree_is_freed_without_the_cycle_collector() -> None:
    # Within a file only young passes run: a tree kept alive by a cycle would stay to the end of
    # the file (and, once old, until a full pass after it). The fix of a module-level volatile
    # script (VM103's block rewrites, several rounds) leaves no tree to the collector.
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds unreachable stays in gc.garbage
    try:
        result = fix_source(_script(12), "script.py", Settings(unsafe_fixes=True))
        assert "torch.no_grad()" in result.source
        del result
        gc.collect()
        stranded = [o for o in gc.garbage if isinstance(o, (cst.Module, cst.SimpleStatementLine, cst.With))]
        assert not stranded, f"{len(stranded)} tree nodes were freed only by the cycle collector"
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
