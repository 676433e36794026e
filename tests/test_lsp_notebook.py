"""Notebooks through the language server (a process over stdio, pytest-lsp): LSP 3.17 notebook
sync with the code cells analysed as one program, diagnostics per cell in cell positions,
hovers, quick fixes and `notebook.source.fixAll.torchwire` in cells, cell edits, inserts,
deletes and moves; and cells sent as lone text documents by clients without notebook sync.

pytest-lsp's bundled client capabilities have no `notebookDocument`: it is added here, as VS
Code's language client sends it."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_client import SERVER, apply, read_notebook_filters

NOTEBOOK = "file:///workspace/model.ipynb"
IMPORTS = "%matplotlib inline\nimport torch\nfrom torch import nn\n"
MODEL = """class Stack(nn.Module):
    \"\"\"Three blocks (é, 😀).\"\"\"

    def __init__(self, d=16):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(d, d) for _ in range(3)])

    def forward(self, x):
        for block in self.blocks:
            block(x)  # é😀
        return x"""
USE = "model = Stack()\nmodel?\n"
CLIENTS = ["visual_studio_code", "neovim@v0.11.0"]  # has diagnostics pushed; pulls them


def cell_uri(n: int) -> str:
    return f"vscode-notebook-cell:/workspace/model.ipynb#W{n}sZmlsZQ%3D%3D"


def with_notebooks(name: str) -> types.ClientCapabilities:
    caps = client_capabilities(name)
    caps.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities(dynamic_registration=True, execution_summary_support=True)
    )
    return caps


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), params=CLIENTS)
async def client(request, lsp_client: LanguageClient):
    read_notebook_filters(lsp_client)
    result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=with_notebooks(request.param), root_uri="file:///workspace",
                               initialization_options={"debounce": 0})
    )
    lsp_client.sync = result.capabilities.notebook_document_sync
    lsp_client.pulls = client_capabilities(request.param).text_document.diagnostic is not None
    lsp_client.published = []
    lsp_client.diagnostics = _Log(lsp_client.published)
    yield
    await lsp_client.shutdown_session()


class Notebook:
    """A notebook as the client holds it: cells (kind, uri, text, version)."""

    def __init__(self, client: LanguageClient, cells: list[tuple[str, str]]):
        self.client = client
        self.cells = [{"kind": kind, "uri": cell_uri(i), "text": text, "version": 1} for i, (kind, text) in enumerate(cells)]
        self.next = len(cells)
        self.version = 1

    def open(self) -> None:
        self.client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(uri=NOTEBOOK, notebook_type="jupyter-notebook", version=1,
                                                     cells=[self._cell(c) for c in self.cells]),
            cell_text_documents=[self._item(c) for c in self.cells],
        ))

    def _cell(self, c) -> types.NotebookCell:
        kind = types.NotebookCellKind.Code if c["kind"] == "code" else types.NotebookCellKind.Markup
        return types.NotebookCell(kind=kind, document=c["uri"])

    def _item(self, c) -> types.TextDocumentItem:
        return types.TextDocumentItem(uri=c["uri"], language_id="python" if c["kind"] == "code" else "markdown", version=c["version"], text=c["text"])

    def edit(self, index: int, text: str) -> None:
        """The whole cell's text replaced (as a client may send it)."""
        cell = self.cells[index]
        old_lines = cell["text"].split("\n")
        cell["text"], cell["version"] = text, cell["version"] + 1
        self._change(types.NotebookDocumentCellChanges(text_content=[types.NotebookDocumentCellContentChanges(
            document=types.VersionedTextDocumentIdentifier(uri=cell["uri"], version=cell["version"]),
            changes=[types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(0, 0), types.Position(len(old_lines) - 1, len(old_lines[-1].encode("utf-16-le")) // 2)),
                text=text)],
        )]))

    def insert(self, index: int, text: str) -> None:
        cell = {"kind": "code", "uri": cell_uri(self.next), "text": text, "version": 1}
        self.next += 1
        self.cells.insert(index, cell)
        self._change(types.NotebookDocumentCellChanges(structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(start=index, delete_count=0, cells=[self._cell(cell)]),
            did_open=[self._item(cell)],
        )))

    def delete(self, index: int) -> None:
        cell = self.cells.pop(index)
        self._change(types.NotebookDocumentCellChanges(structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(start=index, delete_count=1),
            did_close=[types.TextDocumentIdentifier(uri=cell["uri"])],
        )))

    def move(self, index: int, to: int) -> None:
        """As VS Code moves a cell: one change deleting it and one inserting it elsewhere."""
        cell = self.cells.pop(index)
        self.cells.insert(to, cell)
        self._change(types.NotebookDocumentCellChanges(structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(start=index, delete_count=1))))
        self._change(types.NotebookDocumentCellChanges(structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(start=to, delete_count=0, cells=[self._cell(cell)]))))

    def _change(self, cells: types.NotebookDocumentCellChanges) -> None:
        if cells.text_content is None:  # VS Code's notebook version does not move when a cell's text does
            self.version += 1
        self.client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(uri=NOTEBOOK, version=self.version),
            change=types.NotebookDocumentChangeEvent(cells=cells),
        ))

    async def diagnostics(self) -> dict[int, list[types.Diagnostic]]:
        """Each code cell's diagnostics (by its index now), once the latest version is analysed."""
        if self.client.pulls:
            await asyncio.sleep(0)
            out = {}
            for i, cell in enumerate(self.cells):
                if cell["kind"] == "code":
                    report = await self.client.text_document_diagnostic_async(
                        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=cell["uri"])))
                    out[i] = list(report.items)
            return out
        # Pushed: an analysis publishes the cells edited and those whose findings changed; the
        # latest is in once nothing more comes for a moment.
        log = self.client.published
        seen, quiet = len(log), 0
        for _ in range(100):
            await asyncio.sleep(0.1)
            quiet = quiet + 1 if len(log) == seen else 0
            seen = len(log)
            if quiet >= 5:
                store = self.client.diagnostics
                return {i: list(store.get(c["uri"], [])) for i, c in enumerate(self.cells) if c["kind"] == "code"}
        raise AssertionError("diagnostics kept coming")


class _Log(dict):
    """pytest-lsp's store of published diagnostics, also kept in the order they came."""

    def __init__(self, published: list) -> None:
        super().__init__()
        self.published = published

    def __setitem__(self, uri, diagnostics) -> None:
        self.published.append((uri, diagnostics))
        super().__setitem__(uri, diagnostics)


def codes(diagnostics: dict[int, list[types.Diagnostic]]) -> dict[int, list[tuple[str, int, int, int]]]:
    return {i: [(d.code, d.range.start.line, d.range.start.character, d.range.end.character) for d in ds] for i, ds in diagnostics.items()}


@pytest.fixture
def notebook(client: LanguageClient) -> Notebook:
    nb = Notebook(client, [("markdown", "# Stack"), ("code", IMPORTS), ("code", MODEL), ("code", USE)])
    nb.open()
    return nb


async def test_notebook_sync_is_advertised_to_clients_that_sync_notebooks(client: LanguageClient):
    (selector,) = client.sync.notebook_selector
    assert [c.language for c in selector.cells] == ["python"]


async def test_the_bug_is_reported_in_its_cell_in_utf16_columns(notebook: Notebook):
    found = await notebook.diagnostics()
    # `block(x)` in the model's cell (line 9, after 12 spaces); the IPython lines are no errors.
    assert codes(found) == {1: [], 2: [("TW101", 9, 12, 20)], 3: []}
    (diagnostic,) = found[2]
    assert diagnostic.message.startswith("The output of `block(x)` is thrown away")


async def test_hover_in_a_later_cell_knows_the_class(notebook: Notebook, client: LanguageClient):
    await notebook.diagnostics()
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=cell_uri(3)), position=types.Position(0, 9)))
    assert hover.contents.value.splitlines()[0] == "**`Stack`**: 816 parameters (3.3 KB as float32)"
    assert hover.range == types.Range(types.Position(0, 8), types.Position(0, 13))  # `Stack`
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=cell_uri(2)), position=types.Position(8, 27)))
    assert hover.contents.value.splitlines()[0] == "**`self.blocks`**: `nn.ModuleList`, 3 modules, 816 parameters (3.3 KB as float32)"
    assert hover.range.start.line == 8


async def test_the_quick_fix_edits_the_cell(notebook: Notebook, client: LanguageClient):
    found = await notebook.diagnostics()
    (diagnostic,) = found[2]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=cell_uri(2)), range=diagnostic.range,
        context=types.CodeActionContext(diagnostics=[diagnostic])))
    assert [a.title for a in actions] == ["Assign the output: `x = block(x)` (unsafe)", "Ignore TW101 on this line"]
    fix = actions[0] if actions[0].edit is not None else await client.code_action_resolve_async(actions[0])
    fixed = apply(MODEL, fix.edit, cell_uri(2), "utf-16")
    assert fixed == MODEL.replace("            block(x)", "            x = block(x)")
    noqa = apply(MODEL, actions[1].edit, cell_uri(2), "utf-16")
    assert noqa.split("\n")[9] == "            block(x)  # é😀 # noqa: TW101"
    notebook.edit(2, fixed)
    assert codes(await notebook.diagnostics()) == {1: [], 2: [], 3: []}


async def test_notebook_fix_all_edits_every_cell_with_a_safe_fix(notebook: Notebook, client: LanguageClient):
    broken = (
        "class Wrapped(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.seq = nn.Sequential([nn.Linear(2, 2), nn.ReLU()])\n\n    def forward(self, x):\n        return self.seq(x)\n"
    )
    notebook.insert(4, broken)
    found = await notebook.diagnostics()
    assert [d.code for d in found[4]] == ["TW204"]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=cell_uri(1)), range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=["notebook.source.fixAll.torchwire"])))
    (action,) = actions
    assert action.kind == "notebook.source.fixAll.torchwire"
    assert apply(broken, action.edit, cell_uri(4), "utf-16") == broken.replace("nn.Sequential([nn.Linear(2, 2), nn.ReLU()])", "nn.Sequential(nn.Linear(2, 2), nn.ReLU())")
    # The unsafe TW101 fix in cell 2 is not applied: that cell is not edited.
    edited = [change.text_document.uri for change in action.edit.document_changes] if action.edit.document_changes else list(action.edit.changes)
    assert edited == [cell_uri(4)]


async def test_cells_inserted_deleted_and_moved(notebook: Notebook):
    await notebook.diagnostics()
    # A cell using the model before it is defined is still one program (cells run in any order).
    notebook.insert(1, "class Twice(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 4)\n\n    def forward(self, x):\n        self.fc(x)\n        return x\n")
    assert codes(await notebook.diagnostics()) == {1: [("TW101", 6, 8, 18)], 2: [], 3: [("TW101", 9, 12, 20)], 4: []}
    notebook.move(1, 4)  # to the end
    assert codes(await notebook.diagnostics()) == {1: [], 2: [("TW101", 9, 12, 20)], 3: [], 4: [("TW101", 6, 8, 18)]}
    notebook.delete(2)  # the model's cell
    assert codes(await notebook.diagnostics()) == {1: [], 2: [], 3: [("TW101", 6, 8, 18)]}


async def test_a_half_typed_cell_is_an_error_there_and_the_others_still_analysed(notebook: Notebook):
    await notebook.diagnostics()
    notebook.edit(3, "model = Stack(\n")
    found = await notebook.diagnostics()
    assert codes(found)[2] == [("TW101", 9, 12, 20)]
    assert [(d.code, d.range.start.line) for d in found[3]] == [("TW000", 0)]


# ---------------------------------------------------------------------- without notebook sync


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def plain_client(lsp_client: LanguageClient):
    result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("neovim@v0.7.0"), root_uri="file:///workspace",
                               initialization_options={"debounce": 0})
    )
    assert result.capabilities.notebook_document_sync is None  # pygls advertises it only to clients that sync notebooks
    yield
    await lsp_client.shutdown_session()


async def test_a_cell_sent_as_a_text_document_is_analysed_with_its_ipython_lines_masked(plain_client: LanguageClient):
    text = IMPORTS + MODEL + "\n!nvidia-smi\n"
    plain_client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=cell_uri(0), language_id="python", version=1, text=text)))
    for _ in range(20):
        params = await asyncio.wait_for(plain_client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 10)
        if params.uri == cell_uri(0):
            break
    assert [(d.code, d.range.start.line, d.range.start.character) for d in params.diagnostics] == [("TW101", 12, 12)]


async def test_requests_on_markdown_cells_and_unknown_documents_answer_nothing(notebook: Notebook, client: LanguageClient):
    await notebook.diagnostics()
    for uri in (cell_uri(0), cell_uri(99)):  # the markdown cell; a cell of no notebook
        hover = await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 0)))
        assert hover is None
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[])))
        assert not actions
    # A change to a notebook that was never opened is ignored; the session goes on.
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri="file:///workspace/other.ipynb", version=2),
        change=types.NotebookDocumentChangeEvent()))
    notebook.edit(2, MODEL.replace("            block(x)", "            x = block(x)"))
    assert codes(await notebook.diagnostics()) == {1: [], 2: [], 3: []}


async def test_source_fix_all_on_a_cell_fixes_that_cell(notebook: Notebook, client: LanguageClient):
    broken = "class Wrapped(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.seq = nn.Sequential([nn.ReLU()])\n\n    def forward(self, x):\n        return self.seq(x)\n"
    notebook.insert(4, broken)
    await notebook.diagnostics()

    async def fix_all(index: int):
        return await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uri(index)), range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll.torchwire"])))

    assert not await fix_all(2)  # the model's cell has no safe fix
    (action,) = await fix_all(4)
    assert apply(broken, action.edit, cell_uri(4), "utf-16") == broken.replace("nn.Sequential([nn.ReLU()])", "nn.Sequential(nn.ReLU())")


async def test_inlay_hints_in_a_cell_are_the_shapes_of_its_lines(notebook: Notebook, client: LanguageClient):
    notebook.edit(2, MODEL.replace("            block(x)", "            x = block(x)"))
    await notebook.diagnostics()
    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=cell_uri(2)), range=types.Range(types.Position(0, 0), types.Position(11, 0))))
    # `x = block(x)  # é😀`: after `block(x)`, in UTF-16 columns of the cell's own lines.
    assert [(h.position.line, h.position.character, h.label) for h in hints] == [(9, 24, "# [B, 16]"), (10, 16, "# [B, 16]")]
    assert not await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=cell_uri(3)), range=types.Range(types.Position(0, 0), types.Position(2, 0))))
