"""Protocol details done right: debouncing, configuration, incremental sync, cancellation,
shutdown and exit, a dying parent, and more hovers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_client import SERVER, Session
from rpc import RawServer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEED = (EXAMPLES / "seed_1_discarded_outputs.py").read_text()
BRANCHES = (EXAMPLES / "seed_3_branches.py").read_text()
URI = "file:///workspace/net.py"


def start(options: dict | None = None, client: str = "visual_studio_code", root: str = "file:///workspace"):
    @pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
    async def fixture(lsp_client: LanguageClient):
        await lsp_client.initialize_session(
            types.InitializeParams(capabilities=client_capabilities(client), root_uri=root, initialization_options=options)
        )
        yield
        await lsp_client.shutdown_session()

    return fixture


vscode = start({"debounce": 0})
debounced = start({"debounce": 300})
ignoring = start({"ignore": ["TW101", "TW103"], "debounce": 0})


async def test_debounce_publishes_only_the_latest_version(debounced: LanguageClient):
    session = Session(debounced, "utf-16", pulls=False)
    session.versions[URI] = 1
    debounced.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=URI, language_id="python", version=1, text=SEED)))
    for version, text in ((2, SEED + "\n"), (3, SEED.replace("layer(x)", "x = layer(x)"))):
        debounced.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    params = await asyncio.wait_for(debounced.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 10)
    assert (params.version, list(params.diagnostics)) == (3, [])
    await asyncio.sleep(0.5)  # nothing else follows: versions 1 and 2 were never published
    assert list(debounced.diagnostics[URI]) == []


async def test_settings_from_initialization_options(ignoring: LanguageClient):
    assert await Session(ignoring, "utf-16", pulls=False).open(URI, SEED) == []


async def test_did_change_configuration_reanalyses_open_documents(vscode: LanguageClient):
    session = Session(vscode, "utf-16", pulls=False)
    assert [d.code for d in await session.open(URI, SEED)] == ["TW101"]
    vscode.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"torchwire": {"severity": {"TW101": "error"}}}))
    params = await asyncio.wait_for(vscode.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 10)
    assert [(d.code, d.severity) for d in params.diagnostics] == [("TW101", types.DiagnosticSeverity.Error)]
    vscode.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"torchwire": {"select": ["TW2"]}}))
    params = await asyncio.wait_for(vscode.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 10)
    assert list(params.diagnostics) == []


async def test_pyproject_of_the_workspace_is_honoured(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.torchwire]\nselect = ["TW101"]\nseverity = { TW101 = "hint" }\n')
    (tmp_path / "net.py").write_text(SEED)
    server = RawServer()
    try:
        server.initialize(options={"debounce": 0})
        uri = (tmp_path / "net.py").as_uri()
        server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": SEED}}))
        message = server.read()
        while message.get("method") != "textDocument/publishDiagnostics":
            message = server.read()
        assert [(d["code"], d["severity"]) for d in message["params"]["diagnostics"]] == [("TW101", 4)]
    finally:
        server.close()


async def test_incremental_changes_in_utf16_units(vscode: LanguageClient):
    session = Session(vscode, "utf-16", pulls=False)
    text = '# é😀 unicode first\n' + SEED
    await session.open(URI, text)
    line = text.split("\n").index("            layer(x)")
    # Insert "x = " before `layer(x)`; then replace the emoji (2 UTF-16 units) with "ok".
    session.versions[URI] += 1
    vscode.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=session.versions[URI]),
        content_changes=[
            types.TextDocumentContentChangePartial(range=types.Range(types.Position(line, 12), types.Position(line, 12)), text="x = "),
            types.TextDocumentContentChangePartial(range=types.Range(types.Position(0, 4), types.Position(0, 6)), text="ok"),
        ]))
    assert await session.diagnostics(URI) == []
    hover = await session.hover(URI, 0, 0)
    assert hover is None
    hover = await session.hover(URI, 14, 14)
    assert hover.contents.value.startswith("**`self.layers`**: `nn.ModuleList`, 3 modules, 430 parameters")


async def test_incremental_changes_below_characters_that_split_no_lsp_line(vscode: LanguageClient):
    """A form feed (a page break in old sources) and U+2028 in comments end no line for LSP
    nor Python: an edit below them lands on the line the client means, and fixing `layer(x)`
    there clears the finding, and undoing it brings the finding back on that line."""
    session = Session(vscode, "utf-16", pulls=False)
    text = "# \x0c page one\r\n# a line \u2028 separator\r\n" + SEED.replace("\n", "\r\n")
    assert [d.code for d in await session.open(URI, text)] == ["TW101"]
    line = text.split("\r\n").index("            layer(x)")
    session.versions[URI] += 1
    vscode.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=session.versions[URI]),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(line, 12), types.Position(line, 12)), text="x = ")]))
    assert await session.diagnostics(URI) == []
    session.versions[URI] += 1
    vscode.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=session.versions[URI]),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(types.Position(line, 12), types.Position(line, 16)), text="")]))
    [diagnostic] = await session.diagnostics(URI)
    assert (diagnostic.code, diagnostic.range.start) == ("TW101", types.Position(line, 12))


async def test_hover_on_element_constructor_and_class(vscode: LanguageClient):
    session = Session(vscode, "utf-16", pulls=False)
    await session.open(URI, BRANCHES)
    lines = BRANCHES.split("\n")
    row = lines.index("        left = self.layers[2](x)")
    element = await session.hover(URI, row, lines[row].index("[2]") + 1)
    assert element.contents.value.split("\n")[0] == (
        "**`self.layers[2]`**: `nn.Linear(20, 30)`, element of `self.layers` (nn.ModuleList), 630 parameters (2.5 KB as float32)")
    assert "| `layers.2.weight` | `[30, 20]` | 600 |" in element.contents.value
    row = lines.index("            nn.Linear(20, 30),")
    constructor = await session.hover(URI, row, lines[row].index("Linear") + 2)
    assert constructor.contents.value.split("\n")[0] == "**`nn.Linear(20, 30)`**: `nn.Linear`, 630 parameters (2.5 KB as float32)"
    row = lines.index("class Branches(nn.Module):")
    summary = await session.hover(URI, row, 8)
    assert summary.contents.value.split("\n")[0] == "**`Branches`**: 1,060 parameters (4.2 KB as float32)"
    assert "└─ layers: nn.ModuleList" in summary.contents.value
    assert summary.range == types.Range(types.Position(row, 6), types.Position(row, 14))


async def test_pull_diagnostics_report_unchanged(vscode: LanguageClient):
    session = Session(vscode, "utf-16", pulls=True)
    await session.open(URI, SEED)
    first = await vscode.text_document_diagnostic_async(types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=URI)))
    again = await vscode.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=types.TextDocumentIdentifier(uri=URI), previous_result_id=first.result_id))
    assert [d.code for d in first.items] == ["TW101"]
    assert again.kind == "unchanged" and again.result_id == first.result_id


def test_cancelled_request_gets_the_cancellation_error_and_the_server_goes_on():
    server = RawServer()
    # Big enough that analysing it takes a while: the cancellation arrives meanwhile.
    big = SEED + "".join(BRANCHES.replace("class Branches", f"class Branches{i}") for i in range(150))
    try:
        server.initialize(options={"debounce": 10_000})
        server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": big}}))
        pull = server.request("textDocument/diagnostic", {"textDocument": {"uri": URI}})
        server.send(pull, server.notification("$/cancelRequest", {"id": pull["id"]}))
        assert server.response_to(pull["id"])["error"]["code"] == -32800  # RequestCancelled
        # The cancelled analysis ran on in its thread: the next one must not see it half-done.
        again = server.request("textDocument/diagnostic", {"textDocument": {"uri": URI}})
        server.send(again)
        assert [d["code"] for d in server.response_to(again["id"])["result"]["items"]][:1] == ["TW101"]
        hover = server.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": {"line": 13, "character": 14}})
        server.send(hover)
        assert server.response_to(hover["id"])["result"]["contents"]["value"].startswith("**`self.layers`**")
    finally:
        server.close()


def test_malformed_request_is_answered_with_an_error():
    server = RawServer()
    try:
        server.initialize()
        bad = server.request("textDocument/hover", {"textDocument": "not an object"})
        server.send(bad)
        assert "error" in server.response_to(bad["id"])
        ok = server.request("shutdown", None)
        server.send(ok)
        assert server.response_to(ok["id"])["result"] is None
    finally:
        server.close()


def test_shutdown_then_exit_ends_the_process_cleanly():
    server = RawServer()
    try:
        server.initialize()
        request = server.request("shutdown", None)
        server.send(request)
        assert server.response_to(request["id"]) == {"jsonrpc": "2.0", "id": request["id"], "result": None}
        server.send(server.notification("exit", None))
        assert server.proc.wait(10) == 0
    finally:
        server.close()


def test_input_that_has_already_ended_ends_the_server():
    """`torchwire serve < /dev/null` (a CI step, a misconfigured client): epoll refuses
    /dev/null, and the server used to wait forever."""
    with open(os.devnull, "rb") as nothing:
        done = subprocess.run([sys.executable, "-m", "torchwire", "--stdio"], stdin=nothing, capture_output=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, b"")


def test_messages_read_from_a_regular_file_are_answered(tmp_path):
    messages = tmp_path / "messages"
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}}
    shutdown = {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None}
    exit_ = {"jsonrpc": "2.0", "method": "exit", "params": None}
    messages.write_bytes(b"".join(RawServer.frame(m) for m in (initialize, {"jsonrpc": "2.0", "method": "initialized", "params": {}}, shutdown, exit_)))
    with messages.open("rb") as stream:
        done = subprocess.run([sys.executable, "-m", "torchwire", "--stdio"], stdin=stream, capture_output=True, timeout=60)
    bodies = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in done.stdout.split(b"Content-Length")[1:]]
    responses = {body["id"]: body for body in bodies if "id" in body}
    assert done.returncode == 0
    assert responses[1]["result"]["serverInfo"]["name"] == "torchwire"
    assert responses[2] == {"jsonrpc": "2.0", "id": 2, "result": None}


def test_modules_of_the_workspace_named_like_pythons_are_never_imported(tmp_path):
    """An editor starts `python -m torchwire` in the workspace, which `python -m` puts first on
    the search path: a `tokenize.py` there was imported (and run) in place of Python's own."""
    marker = tmp_path / "RAN"
    for name in ("tokenize.py", "json.py", "attr.py", "asyncio/__init__.py"):
        module = tmp_path / name
        module.parent.mkdir(exist_ok=True)
        module.write_text(f"open({str(marker)!r}, 'a').write({name!r})\nraise SystemExit(3)\n")
    (tmp_path / "model.py").write_text("import torch.nn as nn\n")
    messages = tmp_path / "messages"
    messages.write_bytes(b"".join(RawServer.frame(m) for m in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    )))
    with messages.open("rb") as stream:
        served = subprocess.run([sys.executable, "-m", "torchwire", "--stdio"], stdin=stream, capture_output=True, cwd=tmp_path, timeout=60)
    checked = subprocess.run([sys.executable, "-m", "torchwire", "check", "model.py"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert not marker.exists()
    assert (served.returncode, checked.returncode) == (0, 0), served.stderr + checked.stderr.encode()


def test_server_exits_when_its_parent_dies():
    parent = subprocess.Popen(["sleep", "1"])
    server = RawServer()
    try:
        server.initialize(process_id=parent.pid)
        parent.wait()
        start = time.time()
        assert server.proc.wait(10) == 0
        assert time.time() - start < 8
    finally:
        server.close()


async def test_empty_configuration_change_keeps_the_initialization_options(ignoring: LanguageClient):
    """eglot sends `didChangeConfiguration {settings: {}}` right after start-up."""
    session = Session(ignoring, "utf-16", pulls=False)
    assert await session.open(URI, SEED) == []
    ignoring.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    assert await session.change(URI, SEED + "\n") == []


def _plaintext_client():
    caps = client_capabilities("visual_studio_code")
    caps.text_document.hover.content_format = [types.MarkupKind.PlainText]
    return caps


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def plaintext(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=_plaintext_client(), initialization_options={"debounce": 0}))
    yield
    await lsp_client.shutdown_session()


async def test_hover_in_plain_text_for_clients_without_markdown(plaintext: LanguageClient):
    session = Session(plaintext, "utf-16", pulls=False)
    await session.open(URI, SEED)
    hover = await session.hover(URI, 13, 14)
    assert hover.contents.kind == types.MarkupKind.PlainText
    lines = hover.contents.value.split("\n")
    assert lines[0] == "self.layers: nn.ModuleList, 3 modules, 430 parameters (1.7 KB as float32)"
    assert "| layers.0.weight | [20, 10] | 200 |" in lines


async def test_unused_submodule_is_tagged_unnecessary(vscode: LanguageClient):
    session = Session(vscode, "utf-16", pulls=False)
    (diagnostic,) = await session.open(URI, (EXAMPLES / "tw302_unused_submodule.py").read_text())
    assert (diagnostic.code, diagnostic.severity, list(diagnostic.tags)) == (
        "TW302", types.DiagnosticSeverity.Hint, [types.DiagnosticTag.Unnecessary])


async def test_submodule_read_by_another_workspace_file_is_not_reported_unused(tmp_path):
    (tmp_path / "model.py").write_text((EXAMPLES / "tw302_unused_submodule.py").read_text())
    (tmp_path / "pipeline.py").write_text("def project(encoder, x):\n    return encoder.proj(x)\n")
    server = RawServer()
    try:
        request = server.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}, "initializationOptions": {"debounce": 0}})
        server.send(request)
        server.response_to(request["id"])
        server.send(server.notification("initialized", {}))
        uri = (tmp_path / "model.py").as_uri()
        server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": (tmp_path / "model.py").read_text()}}))
        published = []
        while not published or published[-1] != []:  # once the workspace is read: nothing
            message = server.read()
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                published.append([d["code"] for d in message["params"]["diagnostics"]])
        assert all(codes in (["TW302"], []) for codes in published)
    finally:
        server.close()


def test_a_closed_unsaved_document_no_longer_counts_as_reading_a_submodule(tmp_path):
    """An unsaved buffer that read `encoder.proj` stops counting once closed: the file on disk
    (here, none) is what is read then."""
    server = RawServer()
    try:
        request = server.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {"textDocument": {"diagnostic": {}}}, "initializationOptions": {"debounce": 0}})
        server.send(request)
        server.response_to(request["id"])
        scratch, model = (tmp_path / "scratch.py").as_uri(), (tmp_path / "model.py").as_uri()

        def pull(uri: str) -> list[str]:
            request = server.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})
            server.send(request)
            return [d["code"] for d in server.response_to(request["id"])["result"]["items"]]

        server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": scratch, "languageId": "python", "version": 1, "text": "x = encoder.proj\n"}}))
        server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": model, "languageId": "python", "version": 1, "text": (EXAMPLES / "tw302_unused_submodule.py").read_text()}}))
        assert pull(model) == []  # read by the open scratch buffer
        server.send(server.notification("textDocument/didClose", {"textDocument": {"uri": scratch}}))
        assert pull(model) == ["TW302"]
    finally:
        server.close()


def test_the_background_waits_while_the_user_types():
    """The background's pause (in its worker thread) returns at once when the editor is quiet,
    and waits while a change came in less than TYPING_GAP ago, never longer than its bound."""
    from types import SimpleNamespace

    import torchwire.lsp.server as server

    ls = SimpleNamespace(state=server.State())
    started = time.monotonic()
    server._editor_first(ls)
    assert time.monotonic() - started < server.TYPING_GAP  # nobody typed
    ls.state.last_change = time.monotonic()
    started = time.monotonic()
    server._editor_first(ls)
    assert server.TYPING_GAP <= time.monotonic() - started < server.BACKGROUND_WAIT_MAX
