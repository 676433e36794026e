"""Classes of other files: a project whose blocks are spread over a package and a subpackage
(relative and absolute imports, re-exports through __init__.py), and a package of timm-style
blocks installed into a separate Python environment. The tables torchwire composes are
compared, name by name and shape by shape, with what real PyTorch registers."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_client import SERVER, Session
from rpc import RawServer
from torchwire.cli import main

PROJECTS = Path(__file__).resolve().parent / "projects"
GPTLAB = PROJECTS / "gptlab"
TWBLOCKS = PROJECTS / "twblocks"


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> str:
    """A Python environment with twblocks installed (copied into its site-packages)."""
    venv = tmp_path_factory.mktemp("env") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["cp", "-r", str(TWBLOCKS / "twblocks"), purelib], check=True)
    return str(python)


def params(capsys, monkeypatch, *args: str) -> dict[str, list[tuple[str, list[int] | None]]]:
    monkeypatch.chdir(GPTLAB)
    assert main(["params", "--format", "json", *args]) == 0
    reports = json.loads(capsys.readouterr().out)
    return {r["class"]: [(p["name"], p["shape"]) for p in r["parameters"]] for r in reports}


def real_tables() -> dict[str, list[tuple[str, list[int]]]]:
    torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")
    sys.path[:0] = [str(GPTLAB), str(TWBLOCKS)]
    try:
        from gptlab import GPT, GPTConfig
        from gptlab.model import TinyGPT
        from gptlab.vision import ViTLite

        with torch.device("meta"):
            models = {"GPT": GPT(GPTConfig()), "TinyGPT": TinyGPT(), "ViTLite": ViTLite()}
        return {name: [(n, list(p.shape)) for n, p in m.named_parameters()] for name, m in models.items()}
    finally:
        del sys.path[:2]


def test_composed_tables_match_pytorch(capsys, monkeypatch, environment):
    static = params(capsys, monkeypatch, "--python", environment, "gptlab/model.py", "gptlab/vision.py")
    assert "gptlab" not in sys.modules and "twblocks" not in sys.modules  # read, never imported
    real = real_tables()
    assert sorted(static) == sorted(real) == ["GPT", "TinyGPT", "ViTLite"]
    matched = [name for name in real if static[name] == real[name]]
    assert matched == list(real), {name: (static[name], real[name]) for name in real if name not in matched}


def test_without_the_environment_the_installed_blocks_are_unknown(capsys, monkeypatch):
    static = params(capsys, monkeypatch, "--class", "ViTLite", "gptlab/vision.py")
    names = [name for name, _ in static["ViTLite"]]
    assert names == ["patch_embed.weight", "patch_embed.bias", "blocks.0.*", "blocks.1.*", "norm.weight", "norm.bias", "head.*"]
    assert dict(static["ViTLite"])["blocks.0.*"] is None


def test_a_wrong_interpreter_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.chdir(GPTLAB)
    assert main(["params", "--python", "/nonexistent/python", "gptlab/vision.py"]) == 2
    assert "cannot use the Python environment '/nonexistent/python'" in capsys.readouterr().err


def test_rules_see_imported_blocks_as_modules(capsys, monkeypatch):
    monkeypatch.chdir(GPTLAB)
    main(["check", "--format", "json", "gptlab/mistakes.py"])
    findings = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["range"]["start"]["line"] + 1) for f in findings] == [("TW201", 12), ("TW101", 18)]
    # `config: GPTConfig` is read at its defaults (n_layer=3, n_embd=32), through the import.
    assert findings[0]["message"].startswith(
        "`self.blocks` is a plain list of 3 modules: PyTorch does not register modules held in a list, so their "
        "38,112 parameters are invisible")


def test_star_imports_bring_in_nn_and_the_blocks(capsys, monkeypatch):
    monkeypatch.chdir(GPTLAB)
    loaded = set(sys.modules)
    main(["check", "--format", "json", "gptlab/starred.py"])
    findings = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["range"]["start"]["line"] + 1) for f in findings] == [("TW101", 15)]
    static = params(capsys, monkeypatch, "gptlab/starred.py")
    assert not [m for m in set(sys.modules) - loaded if m.startswith("gptlab")]  # read, never imported
    torch = pytest.importorskip("torch") if os.environ.get("CI") != "true" else __import__("torch")
    sys.path[:0] = [str(GPTLAB)]
    try:
        from gptlab.starred import Detector

        with torch.device("meta"):
            real = [(n, list(p.shape)) for n, p in Detector().named_parameters()]
    finally:
        del sys.path[0]
        for name in [m for m in sys.modules if m == "gptlab" or m.startswith("gptlab.")]:
            del sys.modules[name]
    assert static["Detector"] == real


def test_a_file_whose_own_imports_were_looked_up_still_gives_its_classes(capsys, monkeypatch):
    # Looking up block.py's imports must not hide block.py's own classes from later lookups
    # (jedi caches a file's parse by path: our lookup scripts never use a real file's path).
    static = params(capsys, monkeypatch, "gptlab/layers/block.py", "gptlab/starred.py")
    assert not any(name.endswith("*") for name, _ in static["Detector"])
    assert len(static["Detector"]) == 2 * 12 + 2


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("neovim@v0.7.0"), root_uri=GPTLAB.as_uri(), initialization_options={"debounce": 0}))
    yield
    await lsp_client.shutdown_session()


async def _until(client: LanguageClient, uri: str, predicate) -> list[types.Diagnostic]:
    """Diagnostics are published at once from what is known, and again when jedi has found
    the imported classes in the background."""
    for _ in range(20):
        params = await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 20)
        if params.uri == uri and predicate(list(params.diagnostics)):
            return list(params.diagnostics)
    raise AssertionError("never published the expected diagnostics")


async def test_server_resolves_imports_in_the_background_and_follows_edits(client: LanguageClient):
    session = Session(client, "utf-16", pulls=False)
    uri = (GPTLAB / "gptlab" / "mistakes.py").as_uri()
    text = (GPTLAB / "gptlab" / "mistakes.py").read_text()
    session.versions[uri] = 1
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    diagnostics = await _until(client, uri, lambda d: any(x.code == "TW201" for x in d))
    assert sorted(d.code for d in diagnostics) == ["TW101", "TW201"]
    hover = await session.hover(uri, 11, 14)  # self.blocks
    assert hover.contents.value.split("\n")[0] == (
        "**`self.blocks`**: plain `list` of 3 modules, 38,112 parameters (152.4 KB as float32): **not registered**")
    # Edit the MLP (another file) in the editor: the plain list's hover follows.
    mlp_uri = (GPTLAB / "gptlab" / "layers" / "mlp.py").as_uri()
    mlp = (GPTLAB / "gptlab" / "layers" / "mlp.py").read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=mlp_uri, language_id="python", version=1, text=mlp)))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=mlp_uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=mlp.replace("expansion=4", "expansion=2"))]))
    await asyncio.sleep(0.5)
    hover = await session.hover(uri, 11, 14)
    assert hover.contents.value.split("\n")[0] == (
        "**`self.blocks`**: plain `list` of 3 modules, 25,632 parameters (102.5 KB as float32): **not registered**")


def test_what_hovers_computed_ahead_could_not_find_is_looked_up_while_quiet(tmp_path):
    """M builds Block(kind="special"): the diagnostics never expand Block, the hovers computed
    ahead do, and reach `Special`, not yet looked up. It is looked up then, while the editor is
    quiet: the first hover, asked a moment later, already has Special's weights."""
    shutil.copytree(PROJECTS / "branching", tmp_path, dirs_exist_ok=True)
    server = RawServer(cwd=str(tmp_path))
    try:
        server.initialize(options={"debounce": 0})
        uri = (tmp_path / "model.py").as_uri()
        server.send(server.notification("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": (tmp_path / "model.py").read_text(encoding="utf-8")}}))
        published = 0
        while published < 3:  # at once, once Block is found, once Special is (no edit, no request)
            message = server.read(20)
            published += message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri
        request = server.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 7, "character": 14}})
        server.send(request)
        hover = server.response_to(request["id"])["result"]["contents"]["value"]
        assert hover.split("\n")[0] == "**`self.block`**: `Block`, 12 parameters (48 B as float32)"
        assert "| `block.lin.proj.weight` | `[3, 3]` | 9 |" in hover
    finally:
        server.close()


def _write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _check(capsys, monkeypatch, root: Path, *paths: str) -> list[dict]:
    monkeypatch.chdir(root)
    main(["check", "--format", "json", "--no-cache", *paths])
    return json.loads(capsys.readouterr().out)


def test_sizes_from_constants_of_another_file(capsys, monkeypatch, tmp_path):
    """`from .sizes import WIDTH`: a plain constant of another file is a size (a table of
    classes there is not computed)."""
    _write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/sizes.py": "import torch.nn as nn\n\nWIDTH = 32\nHIDDEN = 2 * WIDTH\nKERNEL = (3, 3)\nKINDS = {'linear': nn.Linear}\n",
        "pkg/model.py": (
            "import torch.nn as nn\n\nfrom .sizes import HIDDEN, KERNEL, KINDS, WIDTH\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.a = nn.Linear(WIDTH, HIDDEN)\n"
            "        self.b = nn.Linear(WIDTH, 10)\n        self.conv = nn.Conv2d(3, 8, KERNEL, bias=False)\n\n"
            "    def forward(self, x):\n        return self.b(self.a(x))\n"
        ),
    })
    findings = _check(capsys, monkeypatch, tmp_path, "pkg/model.py")
    assert [(f["code"], f["range"]["start"]["line"] + 1) for f in findings] == [("TW302", 11), ("TW301", 14)]  # the conv is unused
    assert findings[1]["message"].startswith("`self.b` (nn.Linear(WIDTH, 10)) expects 32 input features, but `self.a(x)` has 64")
    assert main(["params", "--format", "json", "pkg/model.py"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert [(p["name"], p["shape"]) for p in report["parameters"]] == [("a.weight", [64, 32]), ("a.bias", [64]), ("b.weight", [10, 32]), ("b.bias", [10]), ("conv.weight", [8, 3, 3, 3])]


def test_a_container_of_a_block_of_another_file_called(capsys, monkeypatch, tmp_path):
    """`self.attn.to_out(h)` where `to_out` is a ModuleList built by a class of another file:
    reported where it is called, with no fix here (the list is built in the other file)."""
    _write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/attention.py": (
            "import torch.nn as nn\n\n\nclass Attention(nn.Module):\n    def __init__(self, dim):\n        super().__init__()\n"
            "        self.to_q = nn.Linear(dim, dim)\n        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.1)])\n"
        ),
        "pkg/block.py": (
            "import torch.nn as nn\n\nfrom .attention import Attention\n\n\nclass Block(nn.Module):\n"
            "    def __init__(self, dim):\n        super().__init__()\n        self.attn = Attention(dim)\n\n"
            "    def forward(self, x):\n        h = self.attn.to_q(x)\n        h = self.attn.to_out[0](h)\n        return self.attn.to_out(h)\n"
        ),
    })
    findings = _check(capsys, monkeypatch, tmp_path, "pkg/block.py")
    assert [(f["code"], f["range"]["start"]["line"] + 1, f["range"]["start"]["character"]) for f in findings] == [("TW203", 14, 15)]
    assert findings[0]["message"].startswith("`self.attn.to_out` is an nn.ModuleList, which holds modules but cannot be called")
    assert findings[0]["fix"] is None
