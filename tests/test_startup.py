"""The language server's start-up: what answering `initialize` imports, and the cache of the
code attrs generates for lsprotocol's classes, cattrs for reading messages and dataclasses for
the engine's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rpc import RawServer

IMPORT_TYPES = """
from torchwire.lsp.generated_code import cached
with cached("attr._make") as code:
    from lsprotocol import types
print(code.added, len(code.known))
print(types.Position(line=1, character=2) == types.Position(line=1, character=2), repr(types.Position(line=1, character=2)))
"""


def run(script: str, cache: str) -> list[str]:
    env = {**os.environ, "XDG_CACHE_HOME": cache}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.fixture
def cache(tmp_path) -> str:
    return str(tmp_path / "cache")


def test_the_second_start_compiles_nothing_and_builds_the_same_classes(cache):
    added, known = map(int, run(IMPORT_TYPES, cache)[0].split())
    assert added == known > 500  # every class of lsprotocol.types, compiled once
    first, classes = run(IMPORT_TYPES, cache)
    assert first == f"0 {known}"
    assert classes == "True 1:2"


IMPORT_ENGINE = """
from torchwire.lsp.generated_code import cached
with cached("dataclasses", "exec") as code:
    from torchwire.engine.source import Position, Range
    from torchwire.engine import incremental
print(code.added, len(code.known))
print(Range(Position(1, 2), Position(1, 3)) == Range(Position(1, 2), Position(1, 3)), repr(Position(1, 2)))
"""


def test_the_engines_dataclasses_are_compiled_once_too(cache):
    added, known = map(int, run(IMPORT_ENGINE, cache)[0].split())
    assert added == known > 100  # __init__, __eq__, __repr__, ... of the engine's dataclasses
    first, values = run(IMPORT_ENGINE, cache)
    assert first == f"0 {known}"
    assert values == "True Position(line=1, character=2)"


READ_VSCODES_INITIALIZE = """
from pytest_lsp import client_capabilities
from lsprotocol import types
import torchwire.lsp.server as server
converter = server.server.protocol._converter
params = {"processId": None, "rootUri": None, "capabilities": converter.unstructure(client_capabilities("visual_studio_code"))}
read = converter.structure(params, types.InitializeParams)
server.CONVERTERS.save()
print(server.CONVERTERS.added, len(server.CONVERTERS.known))
print(read.capabilities.text_document.hover.content_format)
"""


def test_the_functions_cattrs_writes_to_read_messages_are_compiled_once(cache):
    """VS Code's `initialize` names about 80 message types, each read by a function cattrs
    writes and compiles when the type is first met."""
    added, known = map(int, run(READ_VSCODES_INITIALIZE, cache)[0].split())
    assert added == known > 50
    first, formats = run(READ_VSCODES_INITIALIZE, cache)
    assert first == f"0 {known}"
    assert formats == "(<MarkupKind.Markdown: 'markdown'>, <MarkupKind.PlainText: 'plaintext'>)"


def test_a_start_after_the_first_writes_no_cache_file(cache):
    """Nothing the server's imports compile is new the second time, so the cache files are
    not rewritten at each start (attrs writes the hash seed into a hashable class's code)."""
    run("import torchwire.lsp.server", cache)
    files = sorted(Path(cache).rglob("*.marshal"))
    stamps = [(f.name, f.stat().st_mtime_ns, f.read_bytes()) for f in files]
    assert [f.name.split("-cpython")[0] for f in files] == ["generated-code-attr._make"]
    run("import torchwire.lsp.server", cache)
    assert [(f.name, f.stat().st_mtime_ns, f.read_bytes()) for f in sorted(Path(cache).rglob("*.marshal"))] == stamps


def test_a_damaged_cache_file_is_compiled_again(cache):
    run(IMPORT_TYPES, cache)
    (path,) = [os.path.join(root, f) for root, _, files in os.walk(cache) for f in files]
    with open(path, "r+b") as stream:
        stream.truncate(1000)
    added, known = map(int, run(IMPORT_TYPES, cache)[0].split())
    assert added == known > 500
    assert run(IMPORT_TYPES, cache)[0] == f"0 {known}"


def test_an_unwritable_cache_leaves_start_up_as_it_was(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    lines = run(IMPORT_TYPES, str(blocked))
    assert lines[1] == "True 1:2"


def test_answering_initialize_imports_no_analysis():
    """The engine is imported after the answer (the client waits for it, nothing else does)."""
    script = "import sys, torchwire.cli, torchwire.lsp.server; print(sorted(m for m in sys.modules if m.startswith(('torchwire.engine', 'torchwire.project', 'torchwire.rules', 'jedi', 'libcst'))))"
    (line,) = run(script, "/nonexistent")
    assert line == "['torchwire.engine', 'torchwire.engine.cached', 'torchwire.engine.findings', 'torchwire.engine.source']"


def test_the_server_started_as_editors_start_it_skips_the_command_line(tmp_path):
    """`python -m torchwire serve --stdio` (VS Code) goes straight to the server: the command
    line's parser and reports are never imported."""
    body = b'{"jsonrpc": "2.0", "method": "exit", "params": null}'
    messages = tmp_path / "messages"
    messages.write_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    for args in (["serve", "--stdio"], ["--stdio"]):
        with messages.open("rb") as stream:
            done = subprocess.run([sys.executable, "-X", "importtime", "-m", "torchwire", *args], stdin=stream, capture_output=True, text=True, timeout=60)
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert "torchwire.lsp.server" in imported
        assert not imported & {"torchwire.cli", "argparse", "torchwire.reporting"}


def test_the_sources_attrs_generates_are_not_kept(cache):
    """attrs keeps the source of each method it writes in linecache (1.6 MB for lsprotocol):
    the server drops them once its imports are done, and cattrs' as it writes more."""
    script = (
        "import linecache, torchwire.lsp.server\n"
        "from torchwire.lsp.generated_code import GENERATED_SOURCES, forget_generated_sources\n"
        "print(sum(n.startswith('<attrs generated') for n in linecache.cache))\n"
        "forget_generated_sources()\n"
        "print(sum(n.startswith(GENERATED_SOURCES) for n in linecache.cache))\n"
    )
    before, after = run(script, cache)
    assert int(before) > 500 and int(after) == 0  # lsprotocol's classes, then none


OPENSSL_MAPPED = ("libssl", "libcrypto", "/_ssl.", "/_hashlib.")  # its libraries, or Python's modules of it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process's mappings from /proc")
def test_the_server_maps_no_openssl(tmp_path):
    """asyncio's TLS and hashlib's OpenSSL digests go unused over stdio: a server that has
    answered, analysed a file and published maps none of OpenSSL (5 MB of its resident set)."""
    text = "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(2, 2)\n"
    server = RawServer(cwd=str(tmp_path))
    try:
        server.initialize(options={"debounce": 0})
        server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": (tmp_path / "net.py").as_uri(), "languageId": "python", "version": 1, "text": text}}))
        while server.read().get("method") != "textDocument/publishDiagnostics":
            pass
        maps = Path(f"/proc/{server.proc.pid}/maps").read_text()
    finally:
        server.close()
    assert [name for name in OPENSSL_MAPPED if name in maps] == []


def test_openssl_imports_as_usual_once_the_servers_imports_are_done(cache):
    script = (
        "import sys\n"
        "from torchwire.lsp import without_openssl\n"
        "with without_openssl():\n"
        "    import asyncio.sslproto, hashlib\n"
        "print(asyncio.sslproto.ssl, hashlib.sha256(b'').hexdigest()[:8], 'ssl' in sys.modules)\n"
        "import ssl\n"
        "print(ssl.OPENSSL_VERSION.split()[0])\n"
    )
    during, after = run(script, cache)
    assert during == "None e3b0c442 False"
    assert after == "OpenSSL"


LEAN_TYPES = """
from torchwire.lsp.generated_code import cached, lean_globals
with cached("attr._make"), lean_globals("attr._make"):
    from lsprotocol import types
from lsprotocol.converters import get_converter
print(max(len(cls.__init__.__globals__) for cls in vars(types).values() if hasattr(cls, "__attrs_attrs__")), len(vars(types)))
message = {"textDocument": {"uri": "file:///m.py"}, "position": {"line": 3, "character": 7}}
params = get_converter().structure(message, types.HoverParams)
print(params.position == types.Position(line=3, character=7), repr(params.position), get_converter().unstructure(params) == message)
"""


def test_the_methods_attrs_writes_keep_only_the_globals_they_read(cache):
    """Each lsprotocol class's methods held a copy of the module's globals (5 MB in all)."""
    most, module_names = map(int, run(LEAN_TYPES, cache)[0].split())
    assert most < 30 < 250 < module_names  # the most: CompletionItem, of 20 fields
    assert run(LEAN_TYPES, cache)[1] == "True 3:7 True"
