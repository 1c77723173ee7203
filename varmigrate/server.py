"""`varmigrate server`: a language server (LSP over stdio) built on pygls.

- Diagnostics: every open Python document is checked on open, on save, and on change (debounced:
  a burst of keystrokes is checked once, `debounce` seconds after the last one), with the
  configuration of the nearest `pyproject.toml` of the document's file, exactly as `check` would.
- Code actions: each finding's fix is a quick fix labelled with its safety (the safe fix first and
  preferred; the unsafe alternative, when there is one, with its condition in the title), a
  `# noqa: CODE` suppression, and "Fix all safe fixes" for the document as a `source.fixAll`
  action and as the `varmigrate.applyAutofix` command (which sends `workspace/applyEdit`).
- Notebooks (LSP 3.17 `notebookDocument/*` sync, for clients that support it): the code cells are
  checked as one namespace in order, as for an `.ipynb` file, and each cell gets its diagnostics.

pygls is an optional dependency (`pip install "varmigrate[server]"`): `check` and `fix` never
import this module, and nothing here imports torch.
"""


from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from . import __version__
from .editor import (
    FIX_ALL_KIND,
    SOURCE,
    Analysis,
    Target,
    analyze,
    code_actions,
    diagnostics,
    fix_all_edit,
    uri_to_path,
)

FIX_ALL_COMMAND = "varmigrate.applyAutofix"
DEFAULT_DEBOUNCE = 0.3  # seconds of quiet after a change before the document is checked again
logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------
class VarmigrateServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            SOURCE,
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[types.NotebookDocumentFilterWithCells(
                    notebook="*", cells=[types.NotebookCellLanguage(language="python")])],
                save=True,
            ),
        )
        self.debounce = DEFAULT_DEBOUNCE
        self.analyses: dict[str, Analysis] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._published: dict[str, set[str]] = {}  # notebook -> cell URIs given diagnostics
        # One worker: checks never run concurrently (each is CPU-bound under the GIL anyway), and
        # the event loop stays free to read the next change.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="varmigrate-check")

    @property
    def encoding(self) -> str:
        """The position encoding agreed at initialize (UTF-16 unless the client offered another)."""
        capabilities = getattr(self.protocol, "server_capabilities", None)
        chosen = capabilities.position_encoding if capabilities is not None else None
        return str(chosen or types.PositionEncodingKind.Utf16)

    def is_open(self, uri: str) -> bool:
        return unquote(uri) in self.workspace.text_documents

    @property
    def root(self) -> Optional[str]:
        try:
            root = self.workspace.root_path
        except RuntimeError:  # not initialized yet
            return None
        return str(root) if root else None

    # -- what is checked -----------------------------------------------------------------------
    def target(self, uri: str) -> Optional[Target]:
        """The unit `uri` belongs to: its notebook when it is a cell, else the text document."""
        notebook = self.workspace.get_notebook_document(notebook_uri=uri) or self.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            cells = [c.document for c in notebook.cells if c.kind == types.NotebookCellKind.Code]
            cells = [c for c in cells if self.is_open(c)]
            return Target(notebook.uri, uri_to_path(notebook.uri), cells,
                          [self.workspace.get_text_document(c).source for c in cells], notebook.version, notebook=True)
        if not self.is_open(uri):
            return None
        document = self.workspace.get_text_document(uri)
        return Target(uri, uri_to_path(uri), [uri], [document.source], document.version)

    def schedule(self, uri: str, delay: float) -> None:
        """Check `uri`'s unit after `delay` seconds, replacing a check not yet started."""
        target = self.target(uri)
        if target is None:
            return
        pending = self._pending.pop(target.uri, None)
        if pending is not None and not pending.done():
            pending.cancel()
        self._pending[target.uri] = asyncio.ensure_future(self._check_later(target.uri, delay))

    async def _check_later(self, uri: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        await self.check(uri)

    async def check(self, uri: str) -> Optional[Analysis]:
        target = self.target(uri)
        if target is None:
            return None
        analysis = await asyncio.get_running_loop().run_in_executor(self._executor, analyze, target, self.root)
        current = self.target(uri)
        if current is None or current.texts != target.texts or current.cell_uris != target.cell_uris:
            return None  # changed while it was checked: the scheduled check publishes
        self.analyses[target.uri] = analysis
        self.publish(analysis)
        return analysis

    async def current(self, uri: str) -> Optional[Analysis]:
        """The analysis of `uri`'s unit as it is now (checking it again if it changed)."""
        target = self.target(uri)
        if target is None:
            return None
        known = self.analyses.get(target.uri)
        if known is not None and known.target.texts == target.texts and known.target.cell_uris == target.cell_uris:
            return known
        return await self.check(uri)

    def publish(self, analysis: Analysis) -> None:
        if analysis.config_error:
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=analysis.config_error))
        by_uri = diagnostics(analysis, self.encoding)
        if analysis.target.notebook:
            for gone in self._published.get(analysis.target.uri, set()) - set(by_uri):
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=gone, diagnostics=[]))
            self._published[analysis.target.uri] = set(by_uri)
        for uri, found in by_uri.items():
            version = analysis.target.version if not analysis.target.notebook else None
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=version))

    def forget(self, uri: str, cell_uris: Sequence[str]) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self.analyses.pop(uri, None)
        for cell in {*cell_uris, *self._published.pop(uri, set())}:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell, diagnostics=[]))


server = VarmigrateServer()


@server.feature(types.INITIALIZE)
def _initialize(ls: VarmigrateServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("debounce"), (int, float)):
        ls.debounce = max(0.0, float(options["debounce"]))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def _did_open(ls: VarmigrateServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def _did_change(ls: VarmigrateServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, ls.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def _did_save(ls: VarmigrateServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)  # the configuration may have changed too


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def _did_close(ls: VarmigrateServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.forget(params.text_document.uri, [params.text_document.uri])


@server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
async def _notebook_open(ls: VarmigrateServer, params: types.DidOpenNotebookDocumentParams) -> None:
    ls.schedule(params.notebook_document.uri, 0)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
async def _notebook_change(ls: VarmigrateServer, params: types.DidChangeNotebookDocumentParams) -> None:
    ls.schedule(params.notebook_document.uri, ls.debounce)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
async def _notebook_save(ls: VarmigrateServer, params: types.DidSaveNotebookDocumentParams) -> None:
    ls.schedule(params.notebook_document.uri, 0)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
def _notebook_close(ls: VarmigrateServer, params: types.DidCloseNotebookDocumentParams) -> None:
    ls.forget(params.notebook_document.uri, [c.uri for c in params.cell_text_documents])


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
)
async def _code_action(ls: VarmigrateServer, params: types.CodeActionParams) -> Optional[list[types.CodeAction]]:
    analysis = await ls.current(params.text_document.uri)
    if analysis is None:
        return None
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(ls._executor, code_actions, analysis, params.text_document.uri,
                                      params.range, ls.encoding, params.context.only)


@server.command(FIX_ALL_COMMAND)
async def _fix_all(ls: VarmigrateServer, *args: Any) -> Optional[dict[str, Any]]:
    """Arguments: a document (or notebook, or cell) URI, or `{"uri": ...}` (ruff's shape)."""
    uri = args[0] if args else None
    if isinstance(uri, dict):
        uri = uri.get("uri")
    if not isinstance(uri, str):
        raise TypeError(f"{FIX_ALL_COMMAND} takes the document's URI")
    analysis = await ls.current(uri)
    if analysis is None:
        raise ValueError(f"{uri} is not open")
    edit = await asyncio.get_running_loop().run_in_executor(ls._executor, fix_all_edit, analysis, ls.encoding)
    if edit is None:
        return {"applied": False, "reason": "nothing to fix"}
    response = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="varmigrate: fix all safe fixes"))
    return {"applied": bool(response.applied)}


def serve() -> None:
    server.start_io()
