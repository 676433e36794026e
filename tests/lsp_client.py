"""Client-side helpers for the end-to-end LSP tests: what an editor does with the server's
answers (apply an edit in the negotiated encoding, wait for diagnostics), written
independently of the server's own conversion code."""

from __future__ import annotations

import asyncio
import sys

from lsprotocol import types
from pytest_lsp import LanguageClient

SERVER = [sys.executable, "-m", "torchwire", "--stdio"]
CLIENTS = ["neovim@v0.7.0", "neovim@v0.11.0", "emacs@v29.1", "visual_studio_code"]


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def offset(text: str, position: types.Position, encoding: str) -> int:
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    count = 0
    for index, char in enumerate(line):
        if count >= position.character:
            return start + index
        count += units(char, encoding)
    return start + len(line)


def apply(text: str, edit: types.WorkspaceEdit, uri: str, encoding: str) -> str:
    if edit.document_changes:
        edits = [e for change in edit.document_changes if change.text_document.uri == uri for e in change.edits]
    else:
        edits = list(edit.changes[uri])
    spans = sorted(((offset(text, e.range.start, encoding), offset(text, e.range.end, encoding), e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


class Session:
    """One document in one client: open, change, and read its diagnostics however the client
    gets them (pushed by the server, or pulled)."""

    def __init__(self, client: LanguageClient, encoding: str, pulls: bool):
        self.client = client
        self.encoding = encoding
        self.pulls = pulls
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}

    async def open(self, uri: str, text: str) -> list[types.Diagnostic]:
        self.versions[uri], self.texts[uri] = 1, text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        return await self.diagnostics(uri)

    async def change(self, uri: str, text: str) -> list[types.Diagnostic]:
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return await self.diagnostics(uri)

    async def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        if self.pulls:
            report = await self.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
            return list(report.items)
        version = self.versions[uri]
        for _ in range(50):
            params = await asyncio.wait_for(self.client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 10)
            if params.uri == uri and params.version == version:
                return list(params.diagnostics)
        raise AssertionError("no diagnostics for the current version")

    async def hover(self, uri: str, line: int, character: int) -> types.Hover | None:
        return await self.client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, character))
        )

    async def actions(self, uri: str, diagnostic: types.Diagnostic, only=None) -> list[types.CodeAction]:
        return list(
            await self.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=diagnostic.range,
                    context=types.CodeActionContext(diagnostics=[diagnostic], only=only),
                )
            )
            or []
        )

    async def resolved_edit(self, action: types.CodeAction) -> types.WorkspaceEdit:
        if action.edit is None:
            action = await self.client.code_action_resolve_async(action)
        assert action.edit is not None
        return action.edit


def read_notebook_filters(client: LanguageClient) -> None:
    """lsprotocol's converter has no structure hook for the `notebook` field of a notebook
    document filter (a string or one of three filter types): a client built on it cannot read
    an `initialize` result that advertises notebook sync. Editors read it as plain JSON; this
    gives the test client the hook it lacks."""
    from typing import Optional, Union

    converter = client.protocol._converter
    kinds = {
        "notebookType": types.NotebookDocumentFilterNotebookType,
        "scheme": types.NotebookDocumentFilterScheme,
        "pattern": types.NotebookDocumentFilterPattern,
    }

    def structure(value, _):
        if value is None or isinstance(value, str):
            return value
        kind = next(kind for key, kind in kinds.items() if key in value)
        return converter.structure(value, kind)

    field = Optional[Union[str, types.NotebookDocumentFilterNotebookType, types.NotebookDocumentFilterScheme, types.NotebookDocumentFilterPattern]]
    converter.register_structure_hook(field, structure)
