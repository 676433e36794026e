"""The torchwire language server (pygls 2, stdio): a flat list of handlers over the engine.

Each handler turns an LSP request into an engine call and the result back into LSP types;
positions are converted in `positions.py` only. No analysis lives here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..config import Config, ConfigError, find_pyproject, load_pyproject
from ..engine.analysis import Analysis
from ..engine.findings import Finding, Severity, TextEdit
from ..engine.incremental import DocumentAnalyzer
from ..engine.source import Position, Range, SourceText
from .positions import Positions
from .settings import Settings

log = logging.getLogger("torchwire.lsp")

FIX_ALL = "source.fixAll.torchwire"
SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


@dataclass
class OpenDocument:
    analyzer: DocumentAnalyzer
    analysis: Analysis | None = None
    version: int | None = None  # the version `analysis` is of
    generation: int = -1  # the settings generation it was computed with
    pending: asyncio.TimerHandle | None = None


@dataclass
class State:
    settings: Settings = field(default_factory=Settings)
    generation: int = 0  # bumped when the settings change
    positions: Positions = field(default_factory=lambda: Positions("utf-16"))
    push: bool = True  # push diagnostics unless the client pulls them
    resolve_edits: bool = False  # client resolves code action edits lazily
    versioned_edits: bool = False
    documents: dict[str, OpenDocument] = field(default_factory=dict)


class TorchwireServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("torchwire", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.state = State()


server = TorchwireServer()


# ---------------------------------------------------------------------- documents and analysis


def _is_python(uri: str, language_id: str | None) -> bool:
    return language_id == "python" or uri.endswith((".py", ".pyi"))


@lru_cache(maxsize=256)
def _project_config(folder: str) -> Config:
    pyproject = find_pyproject(Path(folder))
    if pyproject is None:
        return Config()
    try:
        return load_pyproject(pyproject)
    except ConfigError as error:
        log.warning("%s", error)
        return Config()


def _config_for(ls: TorchwireServer, uri: str) -> Config:
    path = to_fs_path(uri)
    base = _project_config(str(Path(path).parent)) if path else Config()
    return base.merged(ls.state.settings.rules)


def analysis_for(ls: TorchwireServer, uri: str) -> Analysis | None:
    """The analysis of the document's current version (computed now if needed)."""
    state = ls.state
    entry = state.documents.get(uri)
    if entry is None:
        return None
    doc = ls.workspace.get_text_document(uri)
    if entry.analysis is not None and entry.version == doc.version and entry.generation == state.generation:
        return entry.analysis
    if entry.generation != state.generation:  # new settings: start afresh
        entry.analyzer = DocumentAnalyzer(entry.analyzer.path, _config_for(ls, uri))
    entry.analysis = entry.analyzer.update(doc.source)
    entry.version, entry.generation = doc.version, state.generation
    return entry.analysis


def _diagnostic(ls: TorchwireServer, source: SourceText, finding: Finding) -> types.Diagnostic:
    href = None if finding.code == "TW000" else ls.state.settings.docs_url.format(code=finding.code)
    return types.Diagnostic(
        range=ls.state.positions.range_to_client(source, finding.range),
        message=finding.message,
        severity=SEVERITIES[finding.severity],
        code=finding.code,
        code_description=types.CodeDescription(href=href) if href else None,
        source="torchwire",
        tags=[types.DiagnosticTag.Unnecessary] if finding.unnecessary else None,
    )


def diagnostics_for(ls: TorchwireServer, uri: str) -> list[types.Diagnostic]:
    analysis = analysis_for(ls, uri)
    if analysis is None:
        return []
    return [_diagnostic(ls, analysis.source, f) for f in analysis.findings]


def publish(ls: TorchwireServer, uri: str) -> None:
    entry = ls.state.documents.get(uri)
    if entry is None:
        return
    entry.pending = None
    diagnostics = diagnostics_for(ls, uri)
    version = ls.workspace.get_text_document(uri).version
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))


def schedule(ls: TorchwireServer, uri: str) -> None:
    """Analyse and publish after the debounce delay; a newer change restarts the wait, so only
    the latest version is ever published."""
    entry = ls.state.documents.get(uri)
    if entry is None or not ls.state.push:
        return
    if entry.pending is not None:
        entry.pending.cancel()
    delay = ls.state.settings.debounce_ms / 1000
    if delay <= 0:
        publish(ls, uri)
        return
    entry.pending = asyncio.get_running_loop().call_later(delay, _safely, publish, ls, uri)


def _safely(fn, *args):
    try:
        return fn(*args)
    except Exception:  # never let one document's failure end the session
        log.exception("%s failed", getattr(fn, "__name__", fn))
        return None


# ---------------------------------------------------------------------- lifecycle


@server.feature(types.INITIALIZE)
def initialize(ls: TorchwireServer, params: types.InitializeParams) -> None:
    """Read the client's capabilities and settings."""
    state = ls.state
    state.settings = Settings.from_client(params.initialization_options)
    state.positions = Positions(ls.workspace.position_encoding)
    caps = params.capabilities
    text = caps.text_document
    state.push = not (text is not None and text.diagnostic is not None)
    action = text.code_action if text is not None else None
    state.resolve_edits = bool(action and action.resolve_support and "edit" in action.resolve_support.properties)
    edit = caps.workspace.workspace_edit if caps.workspace is not None else None
    state.versioned_edits = bool(edit and edit.document_changes)
    if params.process_id:
        _watch_parent(params.process_id)


def _watch_parent(pid: int) -> None:
    """Exit when the editor that started us is gone (it may die without saying `exit`)."""

    def watch() -> None:
        while True:
            time.sleep(3)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                log.info("parent process %d is gone: exiting", pid)
                os._exit(0)
            except PermissionError:
                pass  # alive, owned by someone else

    threading.Thread(target=watch, name="torchwire-parent-watch", daemon=True).start()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: TorchwireServer, params: types.DidChangeConfigurationParams) -> None:
    """New settings: re-analyse every open document."""
    settings = params.settings
    if not settings:  # the client expects us to ask
        try:
            (settings,) = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="torchwire")])
            )
        except Exception:
            settings = None
    ls.state.settings = Settings.from_client(settings)
    ls.state.generation += 1
    _project_config.cache_clear()
    _refresh_all(ls)


def _refresh_all(ls: TorchwireServer) -> None:
    if ls.state.push:
        for uri in list(ls.state.documents):
            schedule(ls, uri)
    else:
        caps = ls.client_capabilities.workspace
        if caps is not None and caps.diagnostics is not None and caps.diagnostics.refresh_support:
            ls.workspace_diagnostic_refresh(None)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: TorchwireServer, params: types.DidChangeWatchedFilesParams) -> None:
    """A pyproject.toml may have changed: its [tool.torchwire] table applies to every document."""
    if any(change.uri.endswith("pyproject.toml") for change in params.changes):
        _project_config.cache_clear()
        ls.state.generation += 1
        _refresh_all(ls)


# ---------------------------------------------------------------------- text synchronisation


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: TorchwireServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    if not _is_python(item.uri, item.language_id):
        return
    path = to_fs_path(item.uri) or item.uri
    ls.state.documents[item.uri] = OpenDocument(DocumentAnalyzer(path, _config_for(ls, item.uri)), generation=ls.state.generation)
    schedule(ls, item.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: TorchwireServer, params: types.DidChangeTextDocumentParams) -> None:
    schedule(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: TorchwireServer, params: types.DidSaveTextDocumentParams) -> None:
    if params.text_document.uri.endswith("pyproject.toml"):
        _project_config.cache_clear()
        ls.state.generation += 1
        _refresh_all(ls)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: TorchwireServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    entry = ls.state.documents.pop(uri, None)
    if entry is None:
        return
    if entry.pending is not None:
        entry.pending.cancel()
    if ls.state.push:
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


# ---------------------------------------------------------------------- diagnostics (pull)


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(identifier="torchwire", inter_file_dependencies=False, workspace_diagnostics=False),
)
async def pull_diagnostics(ls: TorchwireServer, params: types.DocumentDiagnosticParams):
    """Diagnostics for clients that ask for them."""
    await asyncio.sleep(0)  # let a cancellation that is already queued take effect
    uri = params.text_document.uri
    entry = ls.state.documents.get(uri)
    if entry is None:
        return types.RelatedFullDocumentDiagnosticReport(items=[], result_id=None)
    diagnostics = diagnostics_for(ls, uri)
    result_id = f"{entry.version}:{entry.generation}"
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.RelatedFullDocumentDiagnosticReport(items=diagnostics, result_id=result_id)


# ---------------------------------------------------------------------- hover


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: TorchwireServer, params: types.HoverParams) -> types.Hover | None:
    """The parameters a module attribute, element, loop variable, constructor or class registers."""
    from ..explain import explain_at

    analysis = analysis_for(ls, params.text_document.uri)
    if analysis is None or analysis.tree is None:
        return None
    positions = ls.state.positions
    explanation = _safely(explain_at, analysis, positions.from_client(analysis.source, params.position))
    if explanation is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=explanation.markdown),
        range=positions.range_to_client(analysis.source, explanation.range),
    )


# ---------------------------------------------------------------------- code actions


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL],
        resolve_provider=True,
    ),
)
def code_action(ls: TorchwireServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    """Quick fixes for the findings in range, and `source.fixAll.torchwire` (safe fixes)."""
    uri = params.text_document.uri
    analysis = analysis_for(ls, uri)
    if analysis is None or analysis.tree is None:
        return None
    state = ls.state
    only = params.context.only
    wants = lambda kind: only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)  # noqa: E731
    version = ls.workspace.get_text_document(uri).version
    actions: list[types.CodeAction] = []
    if wants(types.CodeActionKind.QuickFix):
        wanted = state.positions.range_from_client(analysis.source, params.range)
        for index, finding in enumerate(analysis.findings):
            if not _overlaps(finding.range, wanted):
                continue
            diagnostic = _matching(params.context.diagnostics, ls, analysis.source, finding)
            if finding.fix is not None:
                action = types.CodeAction(
                    title=finding.fix.title + ("" if finding.fix.safe else " (unsafe)"),
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=finding.fix.safe,
                    data={"uri": uri, "version": version, "index": index},
                )
                if not state.resolve_edits:
                    action.edit = _fix_edit(ls, uri, index)
                actions.append(action)
            actions.append(_noqa_action(ls, uri, analysis.source, finding, diagnostic))
    if wants(FIX_ALL) and any(f.fix is not None and f.fix.safe for f in analysis.findings):
        action = types.CodeAction(title="torchwire: fix all safe fixes", kind=FIX_ALL, data={"uri": uri, "version": version, "index": -1})
        if not state.resolve_edits or only is not None:
            action.edit = _fix_edit(ls, uri, -1)  # on save, editors apply it without resolving
        actions.append(action)
    return actions


@server.feature(types.CODE_ACTION_RESOLVE)
def resolve_code_action(ls: TorchwireServer, action: types.CodeAction) -> types.CodeAction:
    """Compute the edit of the action the user picked (libcst runs only now)."""
    data = action.data if isinstance(action.data, dict) else {}
    uri, index = data.get("uri"), data.get("index")
    if not isinstance(uri, str) or not isinstance(index, int):
        return action
    if data.get("version") != ls.workspace.get_text_document(uri).version:
        return action  # the text changed since: the client asks again
    action.edit = _fix_edit(ls, uri, index)
    return action


def _overlaps(a: Range, b: Range) -> bool:
    return a.start <= b.end and b.start <= a.end


def _matching(diagnostics, ls: TorchwireServer, source: SourceText, finding: Finding) -> types.Diagnostic:
    mine = _diagnostic(ls, source, finding)
    for diagnostic in diagnostics:
        if diagnostic.code == mine.code and diagnostic.range == mine.range:
            return diagnostic
    return mine


def _fix_edit(ls: TorchwireServer, uri: str, index: int) -> types.WorkspaceEdit | None:
    from ..fixes.apply import fix_text
    from ..fixes.edits import FixUnavailable, minimal_edit

    analysis = analysis_for(ls, uri)
    if analysis is None:
        return None
    source = analysis.source
    if index == -1:
        entry = ls.state.documents[uri]
        result = fix_text(source.text, source.path, entry.analyzer.config, unsafe=False)
        edits = [minimal_edit(source.text, result.text)] if result.text != source.text else []
    elif 0 <= index < len(analysis.findings) and analysis.findings[index].fix is not None:
        try:
            edits = analysis.findings[index].fix.edits()
        except FixUnavailable:
            return None
    else:
        return None
    return _workspace_edit(ls, uri, source, edits)


def _noqa_action(ls: TorchwireServer, uri: str, source: SourceText, finding: Finding, diagnostic) -> types.CodeAction:
    line = finding.range.start.line
    text = source.line(line)
    comment = f"  # noqa: {finding.code}" if "#" not in text else f" # noqa: {finding.code}"
    edit = TextEdit(Range(Position(line, len(text)), Position(line, len(text))), comment)
    return types.CodeAction(
        title=f"Ignore {finding.code} on this line",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=_workspace_edit(ls, uri, source, [edit]),
    )


def _workspace_edit(ls: TorchwireServer, uri: str, source: SourceText, edits: list[TextEdit]) -> types.WorkspaceEdit:
    positions = ls.state.positions
    text_edits = [types.TextEdit(range=positions.range_to_client(source, e.range), new_text=e.new_text) for e in edits]
    if ls.state.versioned_edits:
        version = ls.workspace.get_text_document(uri).version
        return types.WorkspaceEdit(document_changes=[
            types.TextDocumentEdit(text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version), edits=text_edits)
        ])
    return types.WorkspaceEdit(changes={uri: text_edits})


# ---------------------------------------------------------------------- entry point


def serve() -> None:
    logging.basicConfig(level=os.environ.get("TORCHWIRE_LOG", "WARNING").upper(), format="%(levelname)s %(name)s: %(message)s")
    server.start_io()
