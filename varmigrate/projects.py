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

from .prefilter import ModuleMemo, may_use_project_function, mentions_any_trigger

if TYPE_CHECKING:
    from .analysis.facts import OutsideFacts
    from .analysis.project import ProjectIndex
    from .analysis.project_facts import FileFacts
    from .api import FileOutcome
    from .cache import Cache
    from .config import Settings


def sees_project_torch(text: str, facts: OutsideFacts) -> bool:
    """A file without `torch` that mentions a trigger word and imports a project module that uses
    torch, one with a trigger word that such a module imports (a helper module that never names
    torch: `x.data[0]`, `correct[:k].view(-1)`), or one without a trigger word that
    names a project's legacy `Function` class."""
    from .analysis.project import imports_project_torch, project_function_names

    if mentions_any_trigger(text) and imports_project_torch(text, facts):
        return True
    if facts.imported_by_torch():  # (a helper module with a trigger word, imported by torch code)
        return True
    return "import" in text and bool(project_function_names(text, facts))


class ProjectRun:
    """The run's project indexes, built on first use: a run over files without trigger words (a
    clean pre-commit) never needs one, and so never imports analysis/project.py. A run over several
    projects (`check ~/a ~/b`, each with its own `pyproject.toml`) gives each its own index."""

    def __init__(self, paths: Sequence[str], settings: Settings, cache: Optional[Cache] = None) -> None:
        self._paths = list(paths)
        self._config_root = settings.root if settings.config_path is not None else None
        self._cache = cache
        self._index: Optional[ProjectIndex] = None
        self._others: dict[Path, ProjectIndex] = {}
        self._modules = ModuleMemo()  # the prefilter's reading of the tree's modules

    @property
    def index(self) -> ProjectIndex:
        """The index of the paths' project (the configuration root, else their git root)."""
        if self._index is None:
            from .analysis.project import project_root

            self._index = self._new_index(project_root(self._paths, self._config_root))
        return self._index

    def _new_index(self, root: Path) -> ProjectIndex:
        from .analysis.project import ProjectIndex

        index = ProjectIndex(root)
        if self._cache is not None:
            index.preload(self._cache.project_summaries())
        return index

    def index_for(self, path: Path) -> ProjectIndex:
        """The index of the project `path` belongs to: the run's, else that of its own nearest
        configuration root (or git root) when it lies outside the run's."""
        if self.index.contains(path):
            return self.index
        from .analysis.project import project_root
        from .config import find_config

        config = find_config([str(path)])
        root = project_root([str(path)], config.parent if config is not None else None)
        if root not in self._others:
            self._others[root] = self._new_index(root)
        return self._others[root]

    def _indexes(self) -> list[ProjectIndex]:
        return [i for i in (self._index, *self._others.values()) if i is not None]

    def facts_for(self, path: Path) -> Optional[FileFacts]:
        index = self.index_for(path)
        return index.for_file(path) if index.contains(path) else None

    def sees_torch(self, path: Path, text: str) -> bool:
        inside = self._config_root is not None and self._config_root in path.resolve().parents
        if not mentions_any_trigger(text) and \
                not may_use_project_function(path, text, self._config_root if inside else None, self._modules):
            return False  # (what sees_project_torch would answer, without building the index)
        facts = self.facts_for(path)
        return facts is not None and sees_project_torch(text, facts)

    def current(self, cache: Cache, key: str, path: Optional[Path] = None) -> bool:
        dependencies = cache.dependencies(key)
        return not dependencies or (self.index_for(path) if path is not None else self.index).current(dependencies)

    def prepare(self, files: Iterable[tuple[Path, str]]) -> None:
        groups: dict[int, tuple[ProjectIndex, list[tuple[Path, str]]]] = {}
        for path, text in files:
            index = self.index_for(path)
            groups.setdefault(id(index), (index, []))[1].append((path, text))
        for index, listed in groups.values():
            index.prepare(listed)

    def save(self, cache: Cache) -> None:
        indexes = self._indexes()
        if indexes:  # an index never built summarized nothing: the cache keeps its own
            cache.set_project_summaries([s for index in indexes for s in index.summaries()])

    def fix_across_modules(self, outcomes: list[FileOutcome],
                           redo: Callable[[FileOutcome, str], FileOutcome]) -> list[FileOutcome]:
        """After a fix pass: a file that kept an import for another module is fixed again (from its
        fixed text) once no module of the project, as this run leaves them, takes the name from it.
        So `fix` twice equals once, and a name a module outside the run still uses stays."""
        for outcome in outcomes:
            if outcome.changed and outcome.new_text is not None:
                self.index_for(Path(outcome.path)).set_text(Path(outcome.path), outcome.new_text)
        for _ in range(3):
            again = [o for o in outcomes if o.kept_for_importers and set(o.kept_for_importers)
                     - self.index_for(Path(o.path)).external_uses(Path(o.path))]
            if not again:
                break
            redone: dict[str, FileOutcome] = {}
            for old in again:
                new = redo(old, old.new_text if old.new_text is not None else old.old_text or "")
                new.old_text, new.fixed = old.old_text, [*old.fixed, *new.fixed]
                if new.new_text is not None:
                    self.index_for(Path(new.path)).set_text(Path(new.path), new.new_text)
                redone[old.path] = new
            outcomes = [redone.get(o.path, o) for o in outcomes]
        return outcomes
