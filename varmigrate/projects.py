"""A run's project: the index of the tree under the configuration root (analysis/project.py), built
once per run and cached with the check results.

- `facts_for(path)`: what the file's analyses ask about names from other modules.
- `sees_torch(path, text)`: the prefilter for a file that gets torch from a project module
  (`from model import *`): it mentions a trigger word and imports such a module.
- `current(cache, key)`: a cached result is stale when a module it used has changed.
- `fix_across_modules`: fixes reach a fixed point across modules; an import another module took
  from a file goes once this run has rewritten that module's last use of it.

Without libcst at import time: a clean pre-commit run imports neither libcst nor the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from .prefilter import mentions_any_trigger

if TYPE_CHECKING:
    from .analysis.facts import OutsideFacts
    from .analysis.project import ProjectIndex
    from .analysis.project_facts import FileFacts
    from .api import FileOutcome
    from .cache import Cache
    from .config import Settings


def sees_project_torch(text: str, facts: OutsideFacts) -> bool:
    """A file without `torch` that mentions a trigger word and imports a project module that uses torch."""
    if not mentions_any_trigger(text):
        return False
    from .analysis.project import imports_project_torch

    return imports_project_torch(text, facts)


class ProjectRun:
    """The run's project index, built on first use: a run over files without trigger words (a clean
    pre-commit) never needs it, and so never imports analysis/project.py."""

    def __init__(self, paths: Sequence[str], settings: Settings, cache: Optional[Cache] = None) -> None:
        self._paths = list(paths)
        self._config_root = settings.root if settings.config_path is not None else None
        self._cache = cache
        self._index: Optional[ProjectIndex] = None

    @property
    def index(self) -> ProjectIndex:
        if self._index is None:
            from .analysis.project import ProjectIndex, project_root

            self._index = ProjectIndex(project_root(self._paths, self._config_root))
            if self._cache is not None:
                self._index.preload(self._cache.project_summaries())
        return self._index

    def facts_for(self, path: Path) -> Optional[FileFacts]:
        return self.index.for_file(path) if self.index.contains(path) else None

    def sees_torch(self, path: Path, text: str) -> bool:
        if not mentions_any_trigger(text):
            return False  # (what sees_project_torch answers first, without the index)
        facts = self.facts_for(path)
        return facts is not None and sees_project_torch(text, facts)

    def current(self, cache: Cache, key: str) -> bool:
        dependencies = cache.dependencies(key)
        return not dependencies or self.index.current(dependencies)

    def prepare(self, files: Iterable[tuple[Path, str]]) -> None:
        listed = list(files)
        if listed:
            self.index.prepare(listed)

    def save(self, cache: Cache) -> None:
        if self._index is not None:  # an index never built summarized nothing: the cache keeps its own
            cache.set_project_summaries(self._index.summaries())

    def fix_across_modules(self, outcomes: list[FileOutcome],
                           redo: Callable[[FileOutcome, str], FileOutcome]) -> list[FileOutcome]:
        """After a fix pass: a file that kept an import for another module is fixed again (from its
        fixed text) once no module of the project, as this run leaves them, takes the name from it.
        So `fix` twice equals once, and a name a module outside the run still uses stays."""
        index = self.index
        for outcome in outcomes:
            if outcome.changed and outcome.new_text is not None:
                index.set_text(Path(outcome.path), outcome.new_text)
        for _ in range(3):
            again = [o for o in outcomes
                     if o.kept_for_importers and set(o.kept_for_importers) - index.external_uses(Path(o.path))]
            if not again:
                break
            redone: dict[str, FileOutcome] = {}
            for old in again:
                new = redo(old, old.new_text if old.new_text is not None else old.old_text or "")
                new.old_text, new.fixed = old.old_text, [*old.fixed, *new.fixed]
                if new.new_text is not None:
                    index.set_text(Path(new.path), new.new_text)
                redone[old.path] = new
            outcomes = [redone.get(o.path, o) for o in outcomes]
        return outcomes
