"""Notebook cells at the LSP boundary: which cell documents make up an analysed notebook, and
positions and edits between a cell's client positions and the notebook's module (see
torchwire/notebook.py for the module itself).

A notebook synced with LSP 3.17's notebook messages is analysed as one module of its code
cells. A cell that a client sends as a text document of its own (a client without notebook
sync: `vscode-notebook-cell:` URIs) is a notebook of one cell: its IPython lines are masked too.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from lsprotocol import types

from ..engine.findings import TextEdit
from ..engine.source import Position, Range, SourceText
from ..notebook import Cell, NotebookModule

CELL_SCHEMES = ("vscode-notebook-cell:", "vscode-interactive-input:")


def is_cell_uri(uri: str) -> bool:
    return uri.startswith(CELL_SCHEMES)


@dataclass
class Cells:
    """The cells of one version of a notebook: its module, and each code cell's document."""

    module: NotebookModule
    uris: dict[int, str]  # cell index -> the cell document's URI
    texts: dict[int, SourceText]  # cell index -> its text, which client positions count in
    versions: dict[int, int | None]  # cell index -> its document's version

    def index_of(self, uri: str) -> int | None:
        for index, cell_uri in self.uris.items():
            if cell_uri == uri:
                return index
        return None


def notebook_cells(workspace, notebook: types.NotebookDocument, path: str) -> Cells:
    cells, uris, texts, versions = [], {}, {}, {}
    for index, cell in enumerate(notebook.cells):
        document = workspace.text_documents.get(unquote(cell.document))  # pygls keys documents unquoted
        text = document.source if document is not None else ""
        language = getattr(document, "language_id", None) or "python"
        cells.append(Cell(index, text, cell.kind == types.NotebookCellKind.Code and language == "python"))
        uris[index] = cell.document
        texts[index] = SourceText(text)
        versions[index] = document.version if document is not None else None
    return Cells(NotebookModule(cells, path), uris, texts, versions)


def lone_cell(uri: str, text: str, version: int | None, path: str) -> Cells:
    """A cell opened as a text document of its own."""
    return Cells(NotebookModule([Cell(0, text)], path), {0: uri}, {0: SourceText(text)}, {0: version})


def edits_by_cell(cells: Cells, new_module_text: str) -> dict[str, list[TextEdit]] | None:
    """The module's new text as one edit per changed cell (cell URI -> edits in the cell);
    None when it cannot be split into cells (see NotebookModule.split)."""
    from ..fixes.edits import minimal_edit

    changed = cells.module.split(new_module_text)
    if changed is None:
        return None
    out = {}
    for index, text in changed.items():
        if index in cells.uris:
            out[cells.uris[index]] = [minimal_edit(cells.module.cells[index].source, text)]
    return out


def cell_position(cells: Cells, index: int, pos: Position) -> Position | None:
    """A cell position in the module."""
    return cells.module.to_module(index, pos)


def cell_range(cells: Cells, index: int, rng: Range) -> Range | None:
    start, end = cell_position(cells, index, rng.start), cell_position(cells, index, rng.end)
    return None if start is None or end is None else Range(start, end)
