"""`varmigrate server` for real: a subprocess driven over stdio with raw LSP JSON-RPC messages.

Each test starts `python -m varmigrate server`, speaks the protocol byte for byte (Content-Length
framing, requests, notifications, answers to the server's own requests), applies the edits it
receives to the text as an editor would, and compares the result with what `varmigrate fix` writes.
The waits have generous limits only so that a broken server fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Callable, Optional

import pytest
from click.testing import CliRunner

pytest.importorskip("pygls")

from varmigrate.cli import main

REPO = Path(__file__).resolve().parents[1]
LIMIT = 120.0  # seconds before a missing message fails the test (never reached when it works)

LEGACY = (
    "import torch\n"
    "from torch.autograd import Variable\n"
    's = "é𝒳"; x = Variable(torch.ones(3))\n'  # UTF-16 columns differ from code points here
    "def f(h):\n"
    "    return Variable(h)\n"
    "if type(x) == Variable:\n"
    "    p.data = x\n"
)


class Client:
    """A minimal LSP client: framing, ids, a reader thread, and answers to server requests."""

    def __init__(self, cwd: Path, stderr: IO[bytes]) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("VARMIGRATE_OUTPUT_FORMAT", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "varmigrate", "server"],
            cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
        )
        self.messages: queue.Queue[Optional[dict[str, Any]]] = queue.Queue()
        self.backlog: list[dict[str, Any]] = []
        self.applied: list[dict[str, Any]] = []  # workspace/applyEdit params the server sent
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.messages.put(json.loads(body.decode("utf-8")))

    def _write(self, payload: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        body = json.dumps(payload).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        ident = self.next_id
        self._write({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        reply = self.wait(lambda m: m.get("id") == ident and "method" not in m)
        assert "error" not in reply, reply
        return reply.get("result")

    def wait(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for index, message in enumerate(self.backlog):
            if predicate(message):
                return self.backlog.pop(index)
        while True:
            received = self.messages.get(timeout=LIMIT)
            if received is None:
                raise AssertionError("the server closed its output")
            message = received
            if "method" in message and "id" in message:  # a request from the server
                self._answer(message)
            if predicate(message):
                return message
            self.backlog.append(message)

    def _answer(self, message: dict[str, Any]) -> None:
        result: Any = None
        if message["method"] == "workspace/applyEdit":
            self.applied.append(message["params"])
            result = {"applied": True}
        self._write({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def diagnostics(self, uri: str, version: Optional[int] = None) -> list[dict[str, Any]]:
        def match(m: dict[str, Any]) -> bool:
            return (m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                    and (version is None or m["params"].get("version") == version))

        found: list[dict[str, Any]] = self.wait(match)["params"]["diagnostics"]
        return found

    def drain_diagnostics(self) -> None:
        self.backlog = [m for m in self.backlog if m.get("method") != "textDocument/publishDiagnostics"]

    def close(self) -> int:
        assert self.request("shutdown", None) is None
        self.notify("exit", None)
        return self.proc.wait(timeout=LIMIT)


# ------------------------------------------------------------------------------------------
# Applying LSP edits (UTF-16 positions) as an editor does
# ------------------------------------------------------------------------------------------
def _offset(text: str, line: int, character: int) -> int:
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    start = starts[line]
    units = 0
    index = start
    while units < character and index < len(text) and text[index] not in "\r\n":
        units += 2 if ord(text[index]) > 0xFFFF else 1
        index += 1
    return index


def apply(text: str, edits: list[dict[str, Any]]) -> str:
    spans = []
    for e in edits:
        r = e["range"]
        spans.append((_offset(text, r["start"]["line"], r["start"]["character"]),
                      _offset(text, r["end"]["line"], r["end"]["character"]), e["newText"]))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def edits_for(workspace_edit: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    if workspace_edit.get("changes"):
        changes: dict[str, list[dict[str, Any]]] = workspace_edit["changes"]
        return changes
    return {c["textDocument"]["uri"]: c["edits"] for c in workspace_edit.get("documentChanges", [])}


def cli_fix(folder: Path, name: str) -> str:
    result = CliRunner().invoke(main, ["fix", str(folder / name)])
    assert result.exit_code in (0, 1), result.output
    return (folder / name).read_text(encoding="utf-8")


def imported_modules(stderr_file: Path) -> set[str]:
    """Top-level packages the server imported (from `python -X importtime` on stderr)."""
    names = set()
    for line in stderr_file.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.fixture
def project(tmp_path: Path) -> Path:
    # The server must honour the nearest pyproject.toml: VM208 (`p.data = x`) is ignored here.
    (tmp_path / "pyproject.toml").write_text("[tool.varmigrate]\nignore = ['VM208']\n")
    (tmp_path / "pkg").mkdir()
    return tmp_path


def initialize(client: Client, root: Path, notebooks: bool = False) -> dict[str, Any]:
    capabilities: dict[str, Any] = {
        "general": {"positionEncodings": ["utf-16"]},
        "workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True}},
        "textDocument": {"publishDiagnostics": {"versionSupport": True},
                         "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source.fixAll"]}}}},
    }
    if notebooks:
        capabilities["notebookDocument"] = {"synchronization": {"dynamicRegistration": False}}
    result = client.request("initialize", {
        "processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": capabilities,
        "initializationOptions": {"debounce": 0.05},
    })
    client.notify("initialized", {})
    assert isinstance(result, dict)
    return result


def test_server_over_stdio_diagnostics_quick_fixes_fix_all_and_change(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = project / "pkg" / "train.py"
    path.write_text(LEGACY, encoding="utf-8")
    uri = path.as_uri()
    stderr_file = tmp_path_factory.mktemp("server") / "stderr.txt"
    with open(stderr_file, "wb") as stderr:
        client = Client(project, stderr)
        try:
            caps = initialize(client, project)["capabilities"]
            assert caps["positionEncoding"] == "utf-16"
            assert "varmigrate.applyAutofix" in caps["executeCommandProvider"]["commands"]
            assert set(caps["codeActionProvider"]["codeActionKinds"]) >= {"quickfix", "source.fixAll.varmigrate"}
            assert "notebookDocumentSync" not in caps  # offered only to clients that sync notebooks

            client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": LEGACY}})
            found = client.diagnostics(uri, version=1)
            by_code = {d["code"]: d for d in found}
            assert sorted(d["code"] for d in found) == ["VM101", "VM101", "VM105"]  # VM208 ignored by pyproject.toml
            wrapper = next(d for d in found if d["range"]["start"]["line"] == 2)
            # `Variable(torch.ones(3))` starts at code point 14 of the line, UTF-16 unit 15 (𝒳 takes two)
            assert wrapper["range"] == {"start": {"line": 2, "character": 15}, "end": {"line": 2, "character": 38}}
            assert wrapper["source"] == "varmigrate" and wrapper["severity"] == 2
            assert wrapper["codeDescription"]["href"].startswith("https://") and wrapper["codeDescription"]["href"].endswith("/rules/VM101.md")
            assert by_code["VM105"]["data"] == {"code": "VM105", "fixable": False, "safety": "unsafe"}

            # A quick fix per finding, labelled with its safety; the safe one is preferred.
            actions = client.request("textDocument/codeAction", {
                "textDocument": {"uri": uri}, "range": wrapper["range"], "context": {"diagnostics": [wrapper]},
            })
            quick = [a for a in actions if a["kind"] == "quickfix" and "noqa" not in a["title"]]
            assert [a["title"] for a in quick] == ["VM101: Remove the `Variable` wrapper (safe fix)"]
            assert quick[0]["isPreferred"] is True
            assert apply(LEGACY, edits_for(quick[0]["edit"])[uri]).splitlines()[2] == 's = "é𝒳"; x = torch.ones(3)'
            noqa = next(a for a in actions if "noqa" in a["title"])
            assert apply(LEGACY, edits_for(noqa["edit"])[uri]).splitlines()[2].endswith("Variable(torch.ones(3))  # noqa: VM101")
            fix_all = next(a for a in actions if a["kind"] == "source.fixAll.varmigrate")
            assert "safe" in fix_all["title"]

            # `Variable(h)`: a safe fix (h.detach()) and an unsafe alternative (h), each labelled.
            line4 = {"start": {"line": 4, "character": 11}, "end": {"line": 4, "character": 11}}
            actions = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": line4, "context": {"diagnostics": []}})
            titles = {a["title"]: a for a in actions if a["kind"] == "quickfix" and "noqa" not in a["title"]}
            safe = next(t for t in titles if t.endswith("(safe fix)"))
            unsafe = next(t for t in titles if t.endswith("(unsafe fix)"))
            assert apply(LEGACY, edits_for(titles[safe]["edit"])[uri]).splitlines()[4] == "    return h.detach()"
            assert apply(LEGACY, edits_for(titles[unsafe]["edit"])[uri]).splitlines()[4] == "    return h"
            assert titles[safe]["isPreferred"] and not titles[unsafe].get("isPreferred")

            # The unsafe-only VM105 is offered as an unsafe fix.
            compare = by_code["VM105"]
            actions = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": compare["range"],
                                                                 "context": {"diagnostics": [compare]}})
            assert any(a["title"].startswith("VM105:") and a["title"].endswith("(unsafe fix)") for a in actions)

            # only: ["source.fixAll"] gives the fix-all action alone.
            actions = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": compare["range"],
                                                                 "context": {"diagnostics": [], "only": ["source.fixAll"]}})
            assert [a["kind"] for a in actions] == ["source.fixAll.varmigrate"]

            # executeCommand: the server asks the client to apply every safe fix, as `fix` writes them.
            reply = client.request("workspace/executeCommand", {"command": "varmigrate.applyAutofix", "arguments": [uri]})
            assert reply == {"applied": True}
            assert len(client.applied) == 1
            fixed = apply(LEGACY, edits_for(client.applied[0]["edit"])[uri])
            assert fixed == cli_fix(project / "pkg", "train.py")
            assert apply(LEGACY, edits_for(fix_all["edit"])[uri]) == fixed

            # didChange (the client applied the edit): diagnostics of version 2 list what is left.
            client.drain_diagnostics()
            client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]})
            assert [d["code"] for d in client.diagnostics(uri, version=2)] == ["VM105"]

            # A burst of incremental changes is checked as of the last one (debounced).
            text = fixed
            for version, line in enumerate(["a = Variable(torch.zeros(1))\n", "b = loss.data[0]\n", "c = 1\n"], start=3):
                end = len(text.splitlines())
                client.notify("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"range": {"start": {"line": end, "character": 0}, "end": {"line": end, "character": 0}}, "text": line}],
                })
                text += line
            last = client.diagnostics(uri, version=5)
            assert sorted(d["code"] for d in last) == ["VM101", "VM105", "VM201"]

            client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            assert client.diagnostics(uri) == []
            assert client.close() == 0
        finally:
            if client.proc.poll() is None:
                client.proc.kill()
    modules = imported_modules(stderr_file)
    assert "pygls" in modules and "libcst" in modules  # the probe sees the server's imports
    assert "torch" not in modules


NOTEBOOK_CELLS = [
    ("code", "import torch\nfrom torch.autograd import Variable\n"),
    ("markdown", "# Training\nVariable(x) in prose is not code.\n"),
    ("code", "%matplotlib inline\nx = Variable(torch.ones(3))\n"),
    ("code", "loss = x.sum()\nprint(loss.data[0])\n"),
]


def test_server_notebook_cells_are_one_namespace(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    notebook = project / "pkg" / "nb.ipynb"
    uri = notebook.as_uri()
    cell_uris = [f"vscode-notebook-cell:{notebook}#cell{i}" for i in range(len(NOTEBOOK_CELLS))]
    cells = [{"kind": 2 if kind == "code" else 1, "document": cell_uris[i]} for i, (kind, _) in enumerate(NOTEBOOK_CELLS)]
    documents = [{"uri": cell_uris[i], "languageId": "python" if kind == "code" else "markdown", "version": 1, "text": text}
                 for i, (kind, text) in enumerate(NOTEBOOK_CELLS)]
    stderr_file = tmp_path_factory.mktemp("server") / "stderr.txt"
    with open(stderr_file, "wb") as stderr:
        client = Client(project, stderr)
        try:
            caps = initialize(client, project, notebooks=True)["capabilities"]
            assert caps["notebookDocumentSync"]["notebookSelector"][0]["cells"] == [{"language": "python"}]
            client.notify("notebookDocument/didOpen", {
                "notebookDocument": {"uri": uri, "notebookType": "jupyter-notebook", "version": 1, "cells": cells},
                "cellTextDocuments": documents,
            })
            # The import of cell 1 makes `Variable` in cell 3 the legacy wrapper; the magic is masked.
            third = client.diagnostics(cell_uris[2])
            assert [(d["code"], d["range"]["start"]["line"]) for d in third] == [("VM101", 1)]
            fourth = client.diagnostics(cell_uris[3])
            assert [(d["code"], d["range"]["start"]["line"]) for d in fourth] == [("VM201", 1)]
            assert client.diagnostics(cell_uris[0]) == []

            actions = client.request("textDocument/codeAction", {
                "textDocument": {"uri": cell_uris[2]}, "range": third[0]["range"], "context": {"diagnostics": third},
            })
            quick = next(a for a in actions if a["kind"] == "quickfix" and a["title"].endswith("(safe fix)"))
            changes = edits_for(quick["edit"])
            assert list(changes) == [cell_uris[2]]
            assert apply(NOTEBOOK_CELLS[2][1], changes[cell_uris[2]]) == "%matplotlib inline\nx = torch.ones(3)\n"

            # Fix all: every cell as `varmigrate fix` writes the same notebook.
            reply = client.request("workspace/executeCommand", {"command": "varmigrate.applyAutofix", "arguments": [cell_uris[2]]})
            assert reply == {"applied": True}
            changes = edits_for(client.applied[0]["edit"])
            after = [apply(text, changes.get(cell_uris[i], [])) for i, (_, text) in enumerate(NOTEBOOK_CELLS)]
            notebook.write_text(json.dumps({"cells": [
                {"cell_type": kind, "metadata": {}, "source": text, **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                for kind, text in NOTEBOOK_CELLS], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
            CliRunner().invoke(main, ["fix", str(notebook)])
            expected = [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]]
            assert after == expected
            assert after[0] == "import torch\n" and cell_uris[1] not in changes  # the unused import went; markdown untouched

            # A change to one cell re-checks the notebook: cell 4 is now clean.
            client.drain_diagnostics()
            client.notify("notebookDocument/didChange", {
                "notebookDocument": {"uri": uri, "version": 2},
                "change": {"cells": {"textContent": [{
                    "document": {"uri": cell_uris[3], "version": 2},
                    "changes": [{"range": {"start": {"line": 1, "character": 6}, "end": {"line": 1, "character": 18}}, "text": "loss.item()"}],
                }]}},
            })
            assert client.diagnostics(cell_uris[3]) == []
            client.notify("notebookDocument/didClose", {"notebookDocument": {"uri": uri}, "cellTextDocuments": [{"uri": u} for u in cell_uris]})
            assert client.close() == 0
        finally:
            if client.proc.poll() is None:
                client.proc.kill()
    assert "torch" not in imported_modules(stderr_file)


def test_check_and_fix_never_import_the_server(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(LEGACY, encoding="utf-8")
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom varmigrate.cli import main\n"
        "CliRunner().invoke(main, ['check', '--no-cache', '.'])\n"
        "CliRunner().invoke(main, ['fix', '--diff', '.'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol', 'varmigrate.server'))\n"
        "assert not heavy and 'varmigrate.server' not in sys.modules, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
