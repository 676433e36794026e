"""The torchwire language server (pygls 2, stdio): a flat list of handlers over the engine.

Each handler turns an LSP request into an engine call and the result back into LSP types;
positions are converted in `positions.py` only. No analysis lives here.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import os
import selectors
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .generated_code import cached, cached_from_now_on, forget_generated_sources, lean_globals

# lsprotocol's classes (and pygls'), built by attrs: 40% of the start-up, and 5 MB of globals
with cached("attr._make"), lean_globals("attr._make"):
    from lsprotocol import types
    from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
    from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
    from pygls.lsp.server import LanguageServer
    from pygls.protocol import LanguageServerProtocol
    from pygls.uris import to_fs_path
CONVERTERS = cached_from_now_on("cattrs.gen")  # how each message type is read and written

from .. import __version__
from ..config import Config, ConfigError, find_pyproject, load_pyproject
from ..files import modular_template
from ..engine.findings import Finding, Severity, TextEdit
from ..engine.source import Position, Range, SourceText
from .documents import edit_by_lsp_lines
from .notebooks import Cells, edits_by_cell, is_cell_uri, lone_cell, notebook_cells
from .positions import Positions
from .settings import Settings

if TYPE_CHECKING:  # the engine itself is imported once initialize is answered
    from ..engine.analysis import Analysis
    from ..engine.incremental import DocumentAnalyzer

log = logging.getLogger("torchwire.lsp")

FIX_ALL = "source.fixAll.torchwire"
NOTEBOOK_FIX_ALL = "notebook.source.fixAll.torchwire"  # every cell of a notebook at once
SWITCH_INTERVAL = 0.0005  # seconds; see serve()
IDLE_AFTER = 1.0  # seconds without a change or a running analysis: start-up work may go on
IDLE_CHECK = 0.25  # seconds between checks for that
WARM_AFTER = 0.3  # seconds without a change or request before hovers are computed ahead (in short steps)
HOVER_FIRST = 0.002  # seconds the hovers computed ahead pause for, while a hover is asked
GC_QUIET = 0.3  # seconds without a change before a full garbage collection
GC_PERIOD = 5.0  # seconds at least between two full garbage collections
GC_FORCE_AFTER = 10  # middle-generation collections that bring one on while the user types
GC_FULL_IDLE = 10.0  # seconds without a message from the client before the frozen are collected too
SCAN_PAUSE = 0.002  # seconds between two files of the scan, for the keystroke path
BACKGROUND_WAIT = 0.002  # seconds between two looks of the background at the editor's analyses
BACKGROUND_WAIT_MAX = 0.5  # seconds it waits for them at one point at most (a bound, never a hang)
TYPING_GAP = 0.05  # seconds since the last change under which the user is still typing: the background waits
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
    running: bool = False  # an analysis of this document is under way
    stale: bool = False  # changed since that analysis started: it runs again when done
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one analysis at a time
    # A cancelled request stops waiting, but its worker thread runs on: the analyzer and the
    # document it updates are guarded in the thread too.
    busy: threading.Lock = field(default_factory=threading.Lock)
    warming: asyncio.Task | None = None  # the hovers computed ahead, once the editor is quiet
    asking: int = 0  # hovers under way: the hovers computed ahead wait for them
    noting: asyncio.Task | None = None  # what the document reads of other objects, noted when quiet
    cells: Cells | None = None  # for a notebook: the cells `analysis` is of
    # For a notebook: the changes received. Its own version need not move when a cell's text
    # does (VS Code's does not), so this is the version its analyses are of.
    revision: int = 0
    # The cell documents diagnostics went to: what was sent, for which version of the cell.
    published: dict[str, tuple[int | None, list]] = field(default_factory=dict)

    def locked(self, work):
        def run():
            with self.busy:
                return work()

        return run


@dataclass
class State:
    initial: dict = field(default_factory=dict)  # initializationOptions: the base of every setting
    settings: Settings = field(default_factory=Settings)
    generation: int = 0  # bumped when the settings change
    positions: Positions = field(default_factory=lambda: Positions("utf-16"))
    push: bool = True  # push diagnostics unless the client pulls them
    resolve_edits: bool = False  # client resolves code action edits lazily
    markdown: bool = True  # client renders Markdown hovers
    project: Any = None  # where imported classes are found (torchwire.project.Project)
    resolving: bool = False  # a background jedi task is running
    versioned_edits: bool = False
    fixes_loaded: bool = False  # the fix machinery (libcst) is imported, or being imported
    last_change: float = 0.0  # time.monotonic() of the last document opened or changed
    last_message: float = 0.0  # time.monotonic() of the last message from the client
    lenses_shown: bool = False  # the client asked for code lenses: tell it when they change
    documents: dict[str, OpenDocument] = field(default_factory=dict)


class Protocol(LanguageServerProtocol):
    def structure_message(self, data: Any):
        """Answer a request whose parameters cannot be read with an error, instead of leaving
        the client waiting for a response that never comes."""
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if isinstance(data, dict) and "id" in data and "method" in data:
                self._send_response(data["id"], error=JsonRpcInvalidParams(str(error) or None).to_response_error())
            raise


class TorchwireServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "torchwire",
            __version__,
            protocol_cls=Protocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            # Advertised (by pygls) to clients that sync notebooks; the others send each cell
            # as a text document, analysed on its own.
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[types.NotebookDocumentFilterWithCells(cells=[types.NotebookCellLanguage(language="python")])]
            ),
        )
        self.state = State()

    def report_server_error(self, error: Exception, source) -> None:
        # Logged (editors show the server's log), never a pop-up per broken message.
        log.error("%s: %s", getattr(source, "__name__", source), error)

    def start_io(self, stdin=None, stdout=None) -> None:
        """pygls reads each header line and body of a message in a worker thread: three thread
        hand-offs per keystroke, through the pool the analyses also run in. Here the event loop
        reads the pipe itself (where it can: not on Windows, nor from a regular file)."""
        if stdin is not None or stdout is not None or os.name == "nt":
            return super().start_io(stdin, stdout)
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(sys.stdout.buffer))

        async def serve_pipe() -> None:
            loop = asyncio.get_running_loop()
            reader = None
            if _pollable(sys.stdin.fileno()):
                stream = asyncio.StreamReader(limit=2**20)
                try:
                    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), sys.stdin.buffer)
                    reader = stream
                except (ValueError, OSError):  # not a pipe, socket or terminal (a file, on macOS)
                    pass
            if reader is None:
                reader = StdinAsyncReader(sys.stdin.buffer, self.thread_pool)
            await run_async(self._stop_event, _Reader(reader), self.protocol, log, self.report_server_error)

        try:
            asyncio.run(serve_pipe())
        except BrokenPipeError:
            log.error("the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()


def _pollable(fd: int) -> bool:
    """Whether the event loop can wait on `fd`. asyncio accepts any character device as a pipe,
    but epoll refuses some (`/dev/null`), and only later, in a callback: the server then waited
    forever for input that had ended."""
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
        return True
    except (OSError, ValueError):
        return False


class _Reader:
    """An asyncio stream as pygls' reader: the end of the input reads as b"" (pygls then stops)."""

    def __init__(self, stream) -> None:
        self.stream = stream

    async def readline(self) -> bytes:
        return await self.stream.readline()

    async def readexactly(self, n: int) -> bytes:
        try:
            body = await self.stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""
        server.state.last_message = time.monotonic()  # a request or notification: the user is here
        return body


server = TorchwireServer()


# ---------------------------------------------------------------------- documents and analysis


def _is_python(uri: str, language_id: str | None) -> bool:
    return language_id == "python" or uri.endswith((".py", ".pyi"))


def _snapshot(ls: TorchwireServer, uri: str) -> tuple[str, int | None, Cells | None]:
    """The text to analyse for an open document or notebook, its version, and for a notebook
    (or a lone cell) its cells."""
    notebook = ls.workspace.get_notebook_document(notebook_uri=uri)
    path = to_fs_path(uri) or uri
    if notebook is not None:
        cells = notebook_cells(ls.workspace, notebook, path)
        return cells.module.text, ls.state.documents[uri].revision, cells
    doc = ls.workspace.get_text_document(uri)
    if is_cell_uri(uri):
        cells = lone_cell(uri, doc.source, doc.version, path)
        return cells.module.text, doc.version, cells
    return doc.source, doc.version, None


def _version_now(ls: TorchwireServer, uri: str) -> int | None:
    notebook = ls.workspace.get_notebook_document(notebook_uri=uri)
    if notebook is not None:
        entry = ls.state.documents.get(uri)
        return entry.revision if entry is not None else None
    return ls.workspace.get_text_document(uri).version


def _owner(ls: TorchwireServer, uri: str) -> str:
    """The document analysed for a request about `uri`: its notebook, for a synced cell."""
    if uri in ls.state.documents:
        return uri
    notebook = ls.workspace.get_notebook_document(cell_uri=uri)
    return notebook.uri if notebook is not None and notebook.uri in ls.state.documents else uri


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
    if path and modular_template(path):
        return Config(select=[])  # transformers' modular file: its modeling file is what runs
    base = _project_config(str(Path(path).parent)) if path else Config()
    return base.merged(ls.state.settings.rules)


async def analysis_for(ls: TorchwireServer, uri: str) -> Analysis | None:
    """The analysis of the document's current version, computed in a worker thread if needed
    (the event loop goes on reading messages meanwhile: changes, cancellations)."""
    state = ls.state
    entry = state.documents.get(uri)
    if entry is None:
        return None
    async with entry.lock:
        text, version, cells = _snapshot(ls, uri)
        generation = state.generation
        if entry.analysis is not None and entry.version == version and entry.generation == generation:
            return entry.analysis
        replaced = None
        if entry.generation != generation:  # new settings or newly resolved imports: start afresh
            replaced, entry.analyzer = entry.analyzer, _analyzer(ls, uri, entry.analyzer)
        analyzer = entry.analyzer

        def analyse() -> Analysis:
            analysis = analyzer.update(text)
            if replaced is not None:
                # The last model, freed now rather than at a full collection (a refresh of a big
                # file left 11 MB behind each time). What reads it runs under `busy` too: the
                # hovers computed ahead check first that their analysis is still the document's,
                # and a hover asked just before finds nothing, as after an edit (_adopt).
                replaced.dispose()
            return analysis

        analysis = _moved_here(entry, text) if replaced is None else None
        if analysis is None:
            analysis = await asyncio.get_running_loop().run_in_executor(ls.thread_pool, entry.locked(analyse))
        entry.analysis, entry.version, entry.generation, entry.cells = analysis, version, generation, cells
    if state.project is not None and state.project.pending:
        _resolve_in_background(ls)
    return analysis


def _moved_here(entry: OpenDocument, text: str) -> Analysis | None:
    """The analysis of blank lines typed or removed (Enter, a line cleared), made on the event
    loop: no parse, no analysis, and without the hand-offs to a worker thread and back, a third
    of such an edit's time. None when the edit needs more, or the analyzer is busy elsewhere."""
    if not entry.busy.acquire(blocking=False):
        return None
    try:
        return entry.analyzer.update_if_moved(text)
    finally:
        entry.busy.release()


def _analyzer(ls: TorchwireServer, uri: str, replacing: DocumentAnalyzer | None = None) -> DocumentAnalyzer:
    """A fresh analyzer (keeping the parse of the one it replaces): imported classes come from
    the project's cache, never waiting on jedi."""
    from ..engine.incremental import DocumentAnalyzer

    _open_project(ls)  # a client that opens documents before it says `initialized`
    project = ls.state.project
    resolver = project.resolver(blocking=False) if project is not None else None
    if replacing is not None:
        return replacing.renewed(_config_for(ls, uri), resolver)
    return DocumentAnalyzer(to_fs_path(uri) or uri, _config_for(ls, uri), resolver)


def _resolve_in_background(ls: TorchwireServer) -> None:
    """Ask jedi, off the keystroke path, about the imported names analyses could not resolve;
    when it finds classes, analyse the open documents again with them."""
    state = ls.state
    if state.resolving:
        return
    state.resolving = True

    async def run() -> None:
        try:
            found = await asyncio.get_running_loop().run_in_executor(ls.thread_pool, state.project.resolve_pending)
        except Exception:
            log.exception("resolving imports failed")
            found = False
        finally:
            state.resolving = False
        if found:
            state.generation += 1
            _refresh_all(ls)
        elif state.project.pending:  # lookups cut short by their budget: another pass goes further
            _resolve_in_background(ls)

    asyncio.get_running_loop().create_task(run())


def _current(ls: TorchwireServer, uri: str, analysis: Analysis) -> bool:
    """Whether `analysis` is of the document as it is now (else a newer change is on its way)."""
    entry = ls.state.documents.get(uri)
    return entry is not None and entry.analysis is analysis and entry.version == _version_now(ls, uri)


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


def _diagnostics(ls: TorchwireServer, analysis: Analysis) -> list[types.Diagnostic]:
    return [_diagnostic(ls, analysis.source, f) for f in _findings(ls, analysis)]


def _findings(ls: TorchwireServer, analysis: Analysis) -> list[Finding]:
    findings = analysis.findings
    if ls.state.project is not None:
        findings = ls.state.project.without_used_elsewhere(findings)  # what other files read
    return findings


def _cell_diagnostics(ls: TorchwireServer, entry: OpenDocument) -> dict[str, list[types.Diagnostic]]:
    """A notebook's diagnostics by cell document, every code cell listed (clearing old ones)."""
    cells = entry.cells
    out: dict[str, list[types.Diagnostic]] = {cells.uris[span.cell.index]: [] for span in cells.module.spans}
    for finding in cells.module.findings_in_cells(_findings(ls, entry.analysis)):
        out[cells.uris[finding.cell]].append(_diagnostic(ls, cells.texts[finding.cell], finding))
    return out


async def publish(ls: TorchwireServer, uri: str) -> None:
    entry = ls.state.documents.get(uri)
    if entry is None:
        return
    entry.pending = None
    try:
        analysis = await analysis_for(ls, uri)
    except Exception:  # never let one document's failure end the session
        log.exception("analysing %s failed", uri)
        return
    if analysis is None or not _current(ls, uri, analysis):
        return  # a result for an older version: dropped, the newer one publishes
    _publish_current(ls, uri, entry)
    _warm_hovers_when_idle(ls, uri, entry)
    if ls.state.project is not None and uri.startswith("file:"):
        # What this file reads of other objects (for TW302 elsewhere): once the editor is
        # quiet, for the text then (a regex over the file, which would take the GIL from the
        # next keystroke's analysis).
        project, path, text = ls.state.project, to_fs_path(uri), analysis.source.text
        if entry.noting is not None:
            entry.noting.cancel()
        entry.noting = asyncio.get_running_loop().create_task(_when_idle(ls, lambda: project.note_reads(path, text)))
    if not ls.state.fixes_loaded and any(f.fix is not None for f in analysis.findings):
        ls.state.fixes_loaded = True
        # libcst takes a few hundred milliseconds to load (seconds on a busy machine): once the
        # editor is quiet, not when the user first asks for a quick fix, nor while they type;
        # and only once there is something to fix (it holds 11 MB).
        asyncio.get_running_loop().create_task(_when_idle(ls, _load_fixes))


def _publish_current(ls: TorchwireServer, uri: str, entry: OpenDocument) -> None:
    if entry.cells is None:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=_diagnostics(ls, entry.analysis), version=entry.version)
        )
        return
    by_cell = _cell_diagnostics(ls, entry)
    for gone in set(entry.published) - set(by_cell):  # a cell deleted, or no longer Python
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=gone, diagnostics=[]))
    published = {}
    for index, cell_uri in entry.cells.uris.items():
        if cell_uri not in by_cell:
            continue
        sent = (entry.cells.versions.get(index), by_cell[cell_uri])
        published[cell_uri] = sent
        if entry.published.get(cell_uri) != sent:  # a cell edited, or whose findings changed
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell_uri, diagnostics=sent[1], version=sent[0]))
    entry.published = published


def _warm_hovers_when_idle(ls: TorchwireServer, uri: str, entry: OpenDocument) -> None:
    """Once the diagnostics are out and the client has been quiet for WARM_AFTER, compute the
    hover of every attribute of the document's module classes in short steps, pausing for
    hovers asked meanwhile and stopping when the document changes: the first hover on a big
    table (`self.model`, 32 layers, 2,000 rows) is then a lookup, not 150 ms of work."""
    if entry.warming is not None:
        entry.warming.cancel()
    analysis = entry.analysis
    if analysis is None or analysis.file is None:
        return

    def current() -> bool:  # the analysis published last (a refresh publishes the same version anew)
        return ls.state.documents.get(uri) is entry and entry.analysis is analysis and not entry.running

    def turn() -> threading.Lock:  # as the analyses run (they move what is read here); a hover asked goes first
        while entry.asking:
            time.sleep(HOVER_FIRST)
        return entry.busy

    def warm() -> None:
        from ..engine.params import expand_modules
        from ..explain import member_summary, unanswered_members

        for cls in list(analysis.module_classes):
            if unanswered_members(cls) == []:
                continue  # kept from before an edit that did not reach it: nothing to build again
            with turn():
                attributes = _attributes_of(cls) if current() else None
                if attributes is not None and analysis.queries is not None:
                    _safely(analysis.queries.flows, cls)  # forward's dataflow, which hovers read too
            if attributes is None:
                return  # changed: the next version warms itself
            # What the class holds, one construction per step (a model's layers), so that a
            # keystroke waits for one step at most; then the hover texts, one per step. Built
            # apart from the analysis's model of the class and let go once the texts are kept.
            unanswered = unanswered_members(cls) or []
            with turn():
                instance = _safely(cls.built_again) if unanswered and current() else None
            modules = expand_modules(instance) if instance is not None else None
            while modules is not None:
                with turn():
                    if not current():
                        return
                    if _safely(next, modules, None) is None:
                        break
            for attr in unanswered:
                with turn():
                    if not current():
                        return
                    _safely(member_summary, cls, attr, instance)

    # At the first pause once the background is done reading the packages: each of its passes
    # that finds something replaces the analysis, and what was computed ahead for the last one
    # would be thrown away (18 MB more for qwen3_omni_moe, in memory freed too late to return).
    async def warm_then_look_up() -> None:
        await _when_idle(ls, warm, after=WARM_AFTER, unasked=True)
        # What the models built for the hovers could not find yet is looked up now, while the
        # editor is quiet, not when the next keystroke's analysis notices it (its refresh would
        # then come in the middle of the typing, and throw these hovers away).
        if ls.state.project is not None and ls.state.project.pending:
            _resolve_in_background(ls)

    entry.warming = asyncio.get_running_loop().create_task(warm_then_look_up())


def _attributes_of(cls) -> list[str]:
    from ..explain import member_names

    try:
        return member_names(cls)
    except Exception:  # a class the analysis could not build: nothing to warm
        return []


async def _when_idle(ls: TorchwireServer, work, after: float = IDLE_AFTER, unasked: bool = False) -> None:
    """Run `work` in a worker thread once `_idle`: work no keystroke waits for."""
    while not _idle(ls, after, unasked):
        await asyncio.sleep(min(IDLE_CHECK, after))
    await asyncio.get_running_loop().run_in_executor(ls.thread_pool, work)


def _analysing(ls: TorchwireServer) -> bool:
    """An analysis of some document runs or waits for its debounce."""
    return any(e.running or e.pending is not None for e in ls.state.documents.values())


def _idle(ls: TorchwireServer, after: float = IDLE_AFTER, unasked: bool = False) -> bool:
    """No analysis runs, nor a lookup in the background, and nothing changed (nor was asked,
    if `unasked`) for `after` seconds."""
    state = ls.state
    if _analysing(ls) or state.resolving:
        return False
    last = max(state.last_change, state.last_message) if unasked else state.last_change
    return time.monotonic() - last >= after


async def _collect_garbage_when_idle(ls: TorchwireServer) -> None:
    """Full garbage collections scan every object not frozen: 300 ms once transformers' trees
    are in, a stall of every request. Python starts them in the middle of whatever allocates
    (a keystroke's parse); here they run between analyses, after a short pause in the typing,
    or after GC_FORCE_AFTER collections of the younger generations, and what the project reads
    of the packages (which lives as long as it does) is frozen out of them without a scan."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 10**9)  # no automatic full collection
    frozen_at = None  # what the project had learnt when the survivors were last frozen
    thawed_at = 0  # ... and when everything, the frozen included, was last collected
    while True:
        await asyncio.sleep(IDLE_CHECK)
        since = gc.get_count()[2]  # collections of the middle generation since the last full one
        if not since or _analysing(ls):
            continue
        project = ls.state.project
        learnt = project.learnt if project is not None else 0
        now = time.monotonic()
        if learnt != frozen_at and not ls.state.resolving:
            # Package files read: their models join the frozen ones after a collection of the
            # young generations alone. Frozen objects are still freed when nothing refers to
            # them (an analysis breaks its own cycles: FileContext.dispose); what a cycle keeps
            # waits for the full collection below.
            gc.collect(1)
            gc.freeze()
            frozen_at = learnt
        if frozen_at != thawed_at and now - max(ls.state.last_message, ls.state.last_change) >= GC_FULL_IDLE:
            # Nobody has asked anything for a while: everything, the frozen included, once.
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            thawed_at = frozen_at
        elif not ls.state.resolving and (now - ls.state.last_change >= GC_QUIET or since >= GC_FORCE_AFTER):
            gc.collect()  # what the analyses made since the last freeze: a few ms
        else:
            continue
        forget_generated_sources()  # cattrs', written as message types are first seen
        _return_freed_memory()
        await asyncio.sleep(GC_PERIOD)  # not back to back


def _return_freed_memory() -> None:
    """What the collections freed goes back to the system where C's allocator keeps it
    otherwise (glibc: the tails of its heaps; 4 MB of qwen3_omni_moe's first analyses)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError):  # not glibc
        return None


def _load_fixes() -> None:
    import libcst  # noqa: F401
    import libcst.metadata  # noqa: F401


def schedule(ls: TorchwireServer, uri: str) -> None:
    """Latest wins: analyse at once when idle; a change that comes while an analysis runs
    marks it stale, and however many come, one more analysis of the latest text follows when
    it ends (the stale result is never published). A `debounce` setting above 0 waits that long
    after the last change first."""
    entry = ls.state.documents.get(uri)
    if entry is None or not ls.state.push:
        return
    if entry.pending is not None:
        entry.pending.cancel()
        entry.pending = None
    if entry.running:
        entry.stale = True
        return
    loop = asyncio.get_running_loop()
    delay = ls.state.settings.debounce_ms / 1000
    if delay > 0:
        entry.pending = loop.call_later(delay, lambda: _start(ls, uri))
    else:
        _start(ls, uri)


def _start(ls: TorchwireServer, uri: str) -> None:
    entry = ls.state.documents.get(uri)
    if entry is None or entry.running:
        return
    entry.pending = None
    entry.running = True

    async def run() -> None:
        try:
            while True:
                entry.stale = False
                await publish(ls, uri)
                if not entry.stale or ls.state.documents.get(uri) is not entry:
                    return
        finally:
            entry.running = False

    asyncio.get_running_loop().create_task(run())


def _safely(fn, *args):
    try:
        return fn(*args)
    except Exception:  # a failure answers nothing; it never ends the session
        log.exception("%s failed", getattr(fn, "__name__", fn))
        return None


# ---------------------------------------------------------------------- lifecycle


@server.feature(types.INITIALIZE)
def initialize(ls: TorchwireServer, params: types.InitializeParams) -> None:
    """Read the client's capabilities and settings."""
    state = ls.state
    state.initial = params.initialization_options if isinstance(params.initialization_options, dict) else {}
    state.settings = Settings.from_client(state.initial)
    state.positions = Positions(ls.workspace.position_encoding)
    edit_by_lsp_lines(ls.workspace, state.positions)
    caps = params.capabilities
    text = caps.text_document
    formats = text.hover.content_format if text is not None and text.hover is not None else None
    state.markdown = not formats or types.MarkupKind.Markdown in formats
    state.push = not (text is not None and text.diagnostic is not None)
    action = text.code_action if text is not None else None
    state.resolve_edits = bool(action and action.resolve_support and "edit" in action.resolve_support.properties)
    edit = caps.workspace.workspace_edit if caps.workspace is not None else None
    state.versioned_edits = bool(edit and edit.document_changes)
    if params.process_id:
        _watch_parent(params.process_id)


@server.feature(types.INITIALIZED)
async def initialized(ls: TorchwireServer, params: types.InitializedParams) -> None:
    """Read, in the background, which attributes the workspace's files read on other objects
    (a submodule read elsewhere is not unused), then refresh what was published."""
    asyncio.get_running_loop().create_task(_collect_garbage_when_idle(ls))
    if CONVERTERS is not None:  # those of initialize, of the first diagnostics, ...
        asyncio.get_running_loop().create_task(_when_idle(ls, CONVERTERS.save))
    _open_project(ls)
    project = ls.state.project
    if project is None or project.root is None or not Path(project.root).is_dir():
        return
    from ..files import discover

    def scan() -> None:
        # One file at a time with a pause between: the GIL goes back to the event loop and the
        # analyses of what the user types (and waits while the user types on).
        def pause() -> None:
            _editor_first(ls)
            time.sleep(SCAN_PAUSE)

        project.scan_reads(list(discover([project.root])), pause=pause)

    try:
        await _when_idle(ls, scan)
    except Exception:
        log.exception("scanning the workspace failed")
        return
    for uri, entry in ls.state.documents.items():  # only what TW302 reports can change: no new analysis
        if entry.analysis is not None and _current(ls, uri, entry.analysis) and any(f.code == "TW302" for f in entry.analysis.findings):
            _publish_current(ls, uri, entry)


def _open_project(ls: TorchwireServer) -> None:
    """The project, and with it the engine, is imported once initialize is answered: nothing
    before needs it, and the client waits for that answer."""
    if ls.state.project is None:
        ls.state.project = _new_project(ls)


def _import_engine() -> None:
    """What the first analysis runs, its dataclasses' generated methods from the code cache
    (40% of the engine's import)."""
    with cached("dataclasses", "exec"):
        for name in ("torchwire.project", "torchwire.engine.incremental", "torchwire.rules"):
            importlib.import_module(name)


def _new_project(ls: TorchwireServer):
    """Imports resolve in the workspace and in the chosen interpreter's installed packages;
    open documents are read as the editor has them."""
    _import_engine()
    from ..project import Project

    root = to_fs_path(ls.workspace.root_uri) if ls.workspace.root_uri else None

    def read(path: str) -> str | None:
        from pygls.uris import from_fs_path

        document = ls.workspace.text_documents.get(from_fs_path(path) or "")
        if document is not None:
            return document.source
        from ..project import read_file

        return read_file(path)

    return Project(root, ls.state.settings.python, read, blocking_default=False, background_pause=lambda: _editor_first(ls))


def _editor_first(ls: TorchwireServer) -> None:
    """The background's pause (in its worker thread): while an analysis of an open document
    runs or waits, a hover is answered (from what is known: neither waits for the background's
    lock), or the user is typing (the next change is near: blank lines typed are analysed on
    the event loop, and waited 3-10 ms for a piece of a package file to parse), the background
    waits, rather than take half of the GIL from them."""
    deadline = time.monotonic() + BACKGROUND_WAIT_MAX
    while (now := time.monotonic()) < deadline:
        try:
            if (not _analysing(ls) and not any(e.asking for e in ls.state.documents.values())
                    and now - ls.state.last_change >= TYPING_GAP):
                return
        except RuntimeError:  # the documents changed while read: look again
            pass
        time.sleep(BACKGROUND_WAIT)


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
    if not settings:
        return  # nothing said (eglot sends `{}` at start-up): keep the initial settings
    python = ls.state.settings.python
    ls.state.settings = Settings.from_client(_merged(ls.state.initial, settings))
    if ls.state.settings.python != python:
        ls.state.project = _new_project(ls)  # another interpreter: other installed packages
    ls.state.generation += 1
    _project_config.cache_clear()
    _refresh_all(ls)


def _merged(initial: dict, settings: Any) -> dict:
    """Workspace settings over the initialization options, both read as `{"torchwire": {...}}`
    or the bare table."""
    def table(data: Any) -> dict:
        if not isinstance(data, dict):
            return {}
        return data["torchwire"] if isinstance(data.get("torchwire"), dict) else data

    return {**table(initial), **table(settings)}


def _refresh_all(ls: TorchwireServer) -> None:
    caps = ls.client_capabilities.workspace
    if ls.state.push:
        for uri in list(ls.state.documents):
            schedule(ls, uri)
    elif caps is not None and caps.diagnostics is not None and caps.diagnostics.refresh_support:
        ls.workspace_diagnostic_refresh(None)
    if ls.state.lenses_shown and caps is not None and caps.code_lens is not None and caps.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)  # counts read through imports may have changed


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: TorchwireServer, params: types.DidChangeWatchedFilesParams) -> None:
    """A pyproject.toml may have changed: its [tool.torchwire] table applies to every document."""
    if any(change.uri.endswith("pyproject.toml") for change in params.changes):
        _project_config.cache_clear()
        ls.state.generation += 1
        _refresh_all(ls)
    python_files = [c for c in params.changes if c.uri.endswith(".py")]
    _dependents_changed(ls, [c.uri for c in python_files if c.type != types.FileChangeType.Created])
    _dependents_changed(ls, [c.uri for c in python_files if c.type == types.FileChangeType.Created], appeared=True)


# ---------------------------------------------------------------------- text synchronisation


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: TorchwireServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    if not _is_python(item.uri, item.language_id):
        return
    ls.state.documents[item.uri] = OpenDocument(_analyzer(ls, item.uri), generation=ls.state.generation)
    if ls.state.project is not None and item.uri.startswith("file:"):
        ls.state.project.note_reads(to_fs_path(item.uri), item.text)  # the editor's text, saved or not
    ls.state.last_change = time.monotonic()
    schedule(ls, item.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: TorchwireServer, params: types.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.state.last_change = time.monotonic()
    schedule(ls, uri)
    _dependents_changed(ls, [uri])


def _dependents_changed(ls: TorchwireServer, uris: list[str], appeared: bool = False) -> None:
    """Open documents that import classes from these files are analysed again. The project is
    updated in a worker thread: a lookup running in the background holds it, and the event loop
    must not wait for that (a file nothing reads, the usual case, needs no update at all)."""
    project = ls.state.project
    if project is None:
        return
    paths = [to_fs_path(uri) or uri for uri in uris]
    if not paths or (not appeared and not any(project.knows(path) for path in paths)):
        return

    def forget() -> set[str]:
        return set().union(*(project.forget(path, appeared) for path in paths))

    async def run() -> None:
        affected = await asyncio.get_running_loop().run_in_executor(ls.thread_pool, forget)
        for other, entry in ls.state.documents.items():
            if (to_fs_path(other) or other) in affected:
                entry.generation = -1  # start afresh
                schedule(ls, other)

    asyncio.get_running_loop().create_task(run())


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
    for waiting in (entry.pending, entry.noting, entry.warming):
        if waiting is not None:
            waiting.cancel()
    if ls.state.project is not None and uri.startswith("file:"):
        # What the file reads is now what is on disk (nothing, for a file never saved).
        from ..project import read_file

        path = to_fs_path(uri)
        ls.state.project.note_reads(path, read_file(path))
    if ls.state.push:
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
async def did_open_notebook(ls: TorchwireServer, params: types.DidOpenNotebookDocumentParams) -> None:
    """A notebook: its code cells, in order, are analysed as one module."""
    uri = params.notebook_document.uri
    ls.state.documents[uri] = OpenDocument(_analyzer(ls, uri), generation=ls.state.generation)
    ls.state.last_change = time.monotonic()
    schedule(ls, uri)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
async def did_change_notebook(ls: TorchwireServer, params: types.DidChangeNotebookDocumentParams) -> None:
    """Cells typed in, added, removed or moved (pygls has updated the notebook already)."""
    entry = ls.state.documents.get(params.notebook_document.uri)
    if entry is None:
        return
    entry.revision += 1
    ls.state.last_change = time.monotonic()
    schedule(ls, params.notebook_document.uri)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
async def did_close_notebook(ls: TorchwireServer, params: types.DidCloseNotebookDocumentParams) -> None:
    entry = ls.state.documents.pop(params.notebook_document.uri, None)
    if entry is None:
        return
    if entry.pending is not None:
        entry.pending.cancel()
    if ls.state.push:
        for cell_uri in entry.published:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell_uri, diagnostics=[]))


# ---------------------------------------------------------------------- requests about a cell


@dataclass
class Frame:
    """Where a request's positions count: in the analysed text itself, or in one cell of the
    analysed notebook (its lines then start at the cell's first line in the module)."""

    source: SourceText  # the text client positions are in
    cells: Cells | None = None
    cell: int | None = None

    def from_client(self, positions: Positions, pos: types.Position) -> Position | None:
        local = positions.from_client(self.source, pos)
        return local if self.cells is None else self.cells.module.to_module(self.cell, local)

    def range_from_client(self, positions: Positions, rng: types.Range) -> Range | None:
        start, end = self.from_client(positions, rng.start), self.from_client(positions, rng.end)
        return None if start is None or end is None else Range(start, end)

    def local(self, rng: Range) -> Range | None:
        """A module range in this frame's text; None if it is in another cell."""
        if self.cells is None:
            return rng
        located = self.cells.module.range_to_cell(rng)
        return located[1] if located is not None and located[0].cell.index == self.cell else None

    def to_client(self, positions: Positions, rng: Range) -> types.Range | None:
        local = self.local(rng)
        return None if local is None else positions.range_to_client(self.source, local)


def _frame(ls: TorchwireServer, uri: str, entry: OpenDocument, analysis: Analysis) -> Frame | None:
    if entry.cells is None:
        return Frame(analysis.source)
    index = entry.cells.index_of(uri)
    if index is None or entry.cells.module.span_of(index) is None:
        return None  # a markdown cell, or one not in the version analysed
    return Frame(entry.cells.texts[index], entry.cells, index)


# ---------------------------------------------------------------------- diagnostics (pull)


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    # Inter-file: an edit in one notebook cell changes what other cells report (and TW302 reads
    # other files): clients pull the other open documents again after a change.
    types.DiagnosticOptions(identifier="torchwire", inter_file_dependencies=True, workspace_diagnostics=False),
)
async def pull_diagnostics(ls: TorchwireServer, params: types.DocumentDiagnosticParams):
    """Diagnostics for clients that ask for them."""
    uri = params.text_document.uri
    owner = _owner(ls, uri)
    analysis = await analysis_for(ls, owner)
    entry = ls.state.documents.get(owner)
    if analysis is None or entry is None:
        return types.RelatedFullDocumentDiagnosticReport(items=[], result_id=None)
    diagnostics = _diagnostics(ls, analysis) if entry.cells is None else _cell_diagnostics(ls, entry).get(uri, [])
    result_id = f"{entry.version}:{entry.generation}"
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.RelatedFullDocumentDiagnosticReport(items=diagnostics, result_id=result_id)


# ---------------------------------------------------------------------- hover


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def hover(ls: TorchwireServer, params: types.HoverParams) -> types.Hover | None:
    """The parameters a module attribute, element, loop variable, constructor or class registers."""
    from ..explain import explain_at

    uri = _owner(ls, params.text_document.uri)
    analysis = await analysis_for(ls, uri)
    if analysis is None or analysis.tree is None:
        return None
    # Answered from what is known, never waiting for lookups: names it could not resolve go to
    # the background, and the next hover has them.
    project = ls.state.project
    if project is not None and project.pending:
        _resolve_in_background(ls)
    positions = ls.state.positions
    entry = ls.state.documents.get(uri)
    frame = _frame(ls, params.text_document.uri, entry, analysis) if entry is not None else None
    position = frame.from_client(positions, params.position) if frame is not None else None
    if position is None:  # closed meanwhile, or not a code cell
        return None
    # In a worker, as the document's analyses run (they move its trees): a big table does not
    # hold up the messages that follow.
    explain = entry.locked(lambda: _safely(explain_at, analysis, position))
    entry.asking += 1
    try:
        explanation = await asyncio.get_running_loop().run_in_executor(ls.thread_pool, explain)
    finally:
        entry.asking -= 1
    if explanation is None:
        return None
    if ls.state.markdown:
        contents = types.MarkupContent(kind=types.MarkupKind.Markdown, value=explanation.markdown)
    else:
        contents = types.MarkupContent(kind=types.MarkupKind.PlainText, value=plain_text(explanation.markdown))
    return types.Hover(contents=contents, range=frame.to_client(positions, explanation.range))


def plain_text(markdown: str) -> str:
    """For clients that cannot render Markdown: the same text without its markup."""
    lines = [line for line in markdown.split("\n") if line not in ("```text", "```") and not line.startswith("|:")]
    return "\n".join(line.replace("**", "").replace("`", "") for line in lines)


# ---------------------------------------------------------------------- inlay hints


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
async def inlay_hint(ls: TorchwireServer, params: types.InlayHintParams) -> list[types.InlayHint] | None:
    """The shapes forward's statements assign, where known: `x = layer(x)  # [B, 20]`."""
    from ..explain import inlay_hints

    uri = _owner(ls, params.text_document.uri)
    analysis = await analysis_for(ls, uri)
    entry = ls.state.documents.get(uri)
    if analysis is None or analysis.tree is None or entry is None:
        return None
    positions = ls.state.positions
    frame = _frame(ls, params.text_document.uri, entry, analysis)
    wanted = frame.range_from_client(positions, params.range) if frame is not None else None
    if wanted is None:
        return None
    hints = _safely(inlay_hints, analysis, wanted.start.line, wanted.end.line) or []
    placed = [(hint, frame.to_client(positions, Range(hint.position, hint.position))) for hint in hints]
    return [
        types.InlayHint(position=at.start, label=hint.label, kind=types.InlayHintKind.Type, padding_left=True)
        for hint, at in placed
        if at is not None
    ]


# ---------------------------------------------------------------------- code lens

SHOW_PARAMETERS = "torchwire.showParameters"  # the lens's command: the client shows the page
PARAMETER_PAGE = "torchwire.parameterTable"  # the server's command that gives it
SHOW_DATAFLOW = "torchwire.showDataflow"  # the dataflow lens's command: the client draws it
DATAFLOW = "torchwire.dataflowGraph"  # the server's command that gives the graph


@server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=True))
async def code_lens(ls: TorchwireServer, params: types.CodeLensParams) -> list[types.CodeLens] | None:
    """A parameter count above each module class and each container `__init__` stores: where
    they are now, their counts when the editor shows them (`codeLens/resolve`)."""
    from ..lenses import DATAFLOW_TITLE, code_lenses

    if not ls.state.settings.code_lens:
        return []
    ls.state.lenses_shown = True
    target = params.text_document.uri
    uri = _owner(ls, target)
    analysis = await analysis_for(ls, uri)
    entry = ls.state.documents.get(uri)
    if analysis is None or analysis.tree is None or entry is None:
        return None
    frame = _frame(ls, target, entry, analysis)
    if frame is None:
        return None
    out = []
    for lens in _safely(code_lenses, analysis) or []:
        at = frame.to_client(ls.state.positions, lens.range)
        if at is None:
            continue
        if lens.dataflow:  # nothing to compute for its title
            command = types.Command(title=DATAFLOW_TITLE, command=SHOW_DATAFLOW, arguments=[target, lens.class_name])
            out.append(types.CodeLens(range=at, command=command))
        else:
            out.append(types.CodeLens(range=at, data={"uri": target, "class": lens.class_name, "attribute": lens.attribute}))
    return out


@server.feature(types.CODE_LENS_RESOLVE)
async def resolve_code_lens(ls: TorchwireServer, lens: types.CodeLens) -> types.CodeLens:
    from ..lenses import Lens, lens_title

    data = lens.data if isinstance(lens.data, dict) else {}
    target, name, attribute = data.get("uri"), data.get("class"), data.get("attribute")
    if not isinstance(target, str) or not isinstance(name, str) or not isinstance(attribute, (str, type(None))):
        return lens
    uri = _owner(ls, target)
    analysis = await analysis_for(ls, uri)
    entry = ls.state.documents.get(uri)
    if analysis is None or entry is None:
        return lens
    title = await asyncio.get_running_loop().run_in_executor(
        ls.thread_pool, entry.locked(lambda: _safely(lens_title, analysis, Lens(Range(Position(0, 0), Position(0, 0)), name, attribute))))
    if title is not None:
        lens.command = types.Command(title=title, command=SHOW_PARAMETERS, arguments=[target, name, attribute])
    return lens


@server.command(PARAMETER_PAGE)
async def parameter_page(ls: TorchwireServer, *arguments):
    """`[uri, class, attribute or null]` -> `{"title", "markdown"}`: the page a lens opens."""
    from ..lenses import parameter_page as page

    if len(arguments) < 2 or not all(isinstance(a, (str, type(None))) for a in arguments[:3]):
        raise JsonRpcInvalidParams("expected [uri, class, attribute]")
    target, name = arguments[0], arguments[1]
    attribute = arguments[2] if len(arguments) > 2 else None
    uri = _owner(ls, target)
    analysis = await analysis_for(ls, uri)
    entry = ls.state.documents.get(uri)
    if analysis is None or entry is None:
        return None
    markdown = await asyncio.get_running_loop().run_in_executor(ls.thread_pool, entry.locked(lambda: _safely(page, analysis, name, attribute)))
    if markdown is None:
        return None
    return {"title": f"{name}.{attribute}" if attribute else name, "markdown": markdown}


@server.command(DATAFLOW)
async def dataflow_graph(ls: TorchwireServer, *arguments):
    """`[uri, class or null]` -> `[{"class", "mermaid", "dot", "graph"}]`: forward's dataflow
    of that class (or of each class of the document), for clients to draw."""
    from ..graph import dataflow_graphs, dot, mermaid, to_json

    if not arguments or not isinstance(arguments[0], str) or not all(isinstance(a, (str, type(None))) for a in arguments[1:2]):
        raise JsonRpcInvalidParams("expected [uri, class]")
    target, name = arguments[0], arguments[1] if len(arguments) > 1 else None
    uri = _owner(ls, target)
    analysis = await analysis_for(ls, uri)
    entry = ls.state.documents.get(uri)
    if analysis is None or entry is None:
        return []

    def draw() -> list[dict]:
        return [{"class": g.name, "mermaid": mermaid(g), "dot": dot(g), "graph": to_json(g)} for g in dataflow_graphs(analysis, name)]

    return await asyncio.get_running_loop().run_in_executor(ls.thread_pool, entry.locked(lambda: _safely(draw) or []))


# ---------------------------------------------------------------------- code actions


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL, NOTEBOOK_FIX_ALL],
        resolve_provider=True,
    ),
)
async def code_action(ls: TorchwireServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    """Quick fixes for the findings in range, `source.fixAll.torchwire` (safe fixes), and in
    a notebook `notebook.source.fixAll.torchwire` (safe fixes in every cell)."""
    target = params.text_document.uri
    uri = _owner(ls, target)
    analysis = await analysis_for(ls, uri)
    if analysis is None or analysis.tree is None:
        return None
    entry = ls.state.documents[uri]
    async with entry.lock:  # edits read the document: not while it is re-analysed
        if not _current(ls, uri, analysis):
            return None  # changed meanwhile: the client asks again for the new text
        frame = _frame(ls, target, entry, analysis)
        if frame is None:
            return None
        work = entry.locked(lambda: _code_actions(ls, target, uri, analysis, params, frame))
        return await asyncio.get_running_loop().run_in_executor(ls.thread_pool, work)


def _code_actions(ls: TorchwireServer, target: str, uri: str, analysis: Analysis, params: types.CodeActionParams, frame: Frame) -> list[types.CodeAction]:
    """`target`: the document asked about (a cell, in a notebook); `uri`: the one analysed."""
    state = ls.state
    only = params.context.only

    def wants(kind: str) -> bool:
        return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)

    version = _version_now(ls, uri)
    actions: list[types.CodeAction] = []
    wanted = frame.range_from_client(state.positions, params.range)
    if wants(types.CodeActionKind.QuickFix) and wanted is not None:
        for index, finding in enumerate(analysis.findings):
            local = frame.local(finding.range)
            if local is None or not _overlaps(finding.range, wanted):
                continue
            shown = replace(finding, range=local)  # as the diagnostic shows it
            diagnostic = _matching(params.context.diagnostics, ls, frame.source, shown)
            if finding.fix is not None:
                action = types.CodeAction(
                    title=finding.fix.title + ("" if finding.fix.safe else " (unsafe)"),
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=finding.fix.safe,
                    data={"uri": target, "version": version, "index": index},
                )
                if not state.resolve_edits:
                    action.edit = _fix_edit(ls, target, uri, analysis, index)
                actions.append(action)
            actions.append(_noqa_action(ls, target, frame.source, shown, diagnostic))
    fixable = any(f.fix is not None and f.fix.safe for f in analysis.findings)
    kinds = [(FIX_ALL, -1, "torchwire: fix all safe fixes")]
    if frame.cells is not None and only is not None:  # asked for by name only: it edits other cells
        kinds.append((NOTEBOOK_FIX_ALL, -2, "torchwire: fix all safe fixes in the notebook"))
    for kind, index, title in kinds:
        if not fixable or not wants(kind):
            continue
        action = types.CodeAction(title=title, kind=kind, data={"uri": target, "version": version, "index": index})
        if not state.resolve_edits or only is not None:
            action.edit = _fix_edit(ls, target, uri, analysis, index)  # on save, editors apply it without resolving
            if action.edit is None:
                continue  # nothing to fix (in a cell: nothing in this one)
        actions.append(action)
    return actions


@server.feature(types.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: TorchwireServer, action: types.CodeAction) -> types.CodeAction:
    """Compute the edit of the action the user picked (libcst runs only now)."""
    data = action.data if isinstance(action.data, dict) else {}
    target, index = data.get("uri"), data.get("index")
    if not isinstance(target, str) or not isinstance(index, int):
        return action
    uri = _owner(ls, target)
    if uri not in ls.state.documents or data.get("version") != _version_now(ls, uri):
        return action  # closed, or the text changed since: the client asks again
    analysis = await analysis_for(ls, uri)
    entry = ls.state.documents.get(uri)
    if analysis is not None and entry is not None:
        async with entry.lock:  # fixes read the document: not while it is re-analysed
            if _current(ls, uri, analysis):
                work = entry.locked(lambda: _fix_edit(ls, target, uri, analysis, index))
                action.edit = await asyncio.get_running_loop().run_in_executor(ls.thread_pool, work)
    return action


def _overlaps(a: Range, b: Range) -> bool:
    return a.start <= b.end and b.start <= a.end


def _matching(diagnostics, ls: TorchwireServer, source: SourceText, finding: Finding) -> types.Diagnostic:
    mine = _diagnostic(ls, source, finding)
    for diagnostic in diagnostics:
        if diagnostic.code == mine.code and diagnostic.range == mine.range:
            return diagnostic
    return mine


def _fix_edit(ls: TorchwireServer, target: str, uri: str, analysis: Analysis, index: int) -> types.WorkspaceEdit | None:
    """The edit of finding `index`'s fix; -1: every safe fix; -2: every safe fix of a notebook.
    In a notebook, the module's new text is cut back into the cells it changes; the fixes of
    `source.fixAll` on one cell come only when that cell is among them."""
    from ..fixes.apply import fix_text
    from ..fixes.edits import FixUnavailable, apply_edits, minimal_edit

    source = analysis.source
    entry = ls.state.documents[uri]
    if index < 0:
        result = fix_text(source.text, source.path, entry.analyzer.config, unsafe=False)
        edits = [minimal_edit(source.text, result.text)] if result.text != source.text else []
    elif 0 <= index < len(analysis.findings) and analysis.findings[index].fix is not None:
        try:
            edits = analysis.findings[index].fix.edits()
        except FixUnavailable:
            return None
    else:
        return None
    cells = entry.cells
    if cells is None:
        return _workspace_edit(ls, {uri: (source, edits)})
    by_cell = edits_by_cell(cells, apply_edits(source.text, edits)) if edits else {}
    if not by_cell or (index == -1 and target not in by_cell):
        return None
    return _workspace_edit(ls, {cell: (cells.texts[cells.index_of(cell)], cell_edits) for cell, cell_edits in by_cell.items()})


def _noqa_action(ls: TorchwireServer, uri: str, source: SourceText, finding: Finding, diagnostic) -> types.CodeAction:
    """`finding` in the coordinates of `source`, the text of document `uri`."""
    line = finding.range.start.line
    text = source.line(line)
    comment = f"  # noqa: {finding.code}" if "#" not in text else f" # noqa: {finding.code}"
    edit = TextEdit(Range(Position(line, len(text)), Position(line, len(text))), comment)
    return types.CodeAction(
        title=f"Ignore {finding.code} on this line",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=_workspace_edit(ls, {uri: (source, [edit])}),
    )


def _workspace_edit(ls: TorchwireServer, changes: dict[str, tuple[SourceText, list[TextEdit]]]) -> types.WorkspaceEdit:
    """Edits of documents (a file, or cells of a notebook), each with the text it counts in."""
    positions = ls.state.positions
    text_edits = {
        uri: [types.TextEdit(range=positions.range_to_client(source, e.range), new_text=e.new_text) for e in edits]
        for uri, (source, edits) in changes.items()
    }
    if ls.state.versioned_edits:
        return types.WorkspaceEdit(document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=ls.workspace.get_text_document(uri).version),
                edits=edits,
            )
            for uri, edits in text_edits.items()
        ])
    return types.WorkspaceEdit(changes=text_edits)


# ---------------------------------------------------------------------- entry point


def serve() -> None:
    logging.basicConfig(level=os.environ.get("TORCHWIRE_LOG", "WARNING").upper(), format="%(levelname)s %(name)s: %(message)s")
    # Background work (jedi, the workspace scan) holds the GIL for up to the switch interval
    # each time the event loop or an analysis wants it back: 5 ms by default, several times
    # per keystroke. A shorter interval bounds that wait at little cost to throughput.
    sys.setswitchinterval(SWITCH_INTERVAL)
    server.start_io()
