"""The language server as a process over stdio, through pytest-lsp, with the captured
capabilities of four real clients (each negotiates its own position encoding and its own
way of getting diagnostics). Asserts what the editor would show and the edited text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_client import CLIENTS, SERVER, Session, apply

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
URI = "file:///workspace/net.py"
SEED = (EXAMPLES / "seed_1_discarded_outputs.py").read_text()
# Non-ASCII text before the flagged call, on its own line: columns differ per encoding.
SEED_UNICODE = SEED.replace("            layer(x)\n", '            s = "é😀"; layer(x)\n')
COLUMNS = {"utf-16": (23, 31), "utf-8": (26, 34), "utf-32": (22, 30)}
MESSAGE = (
    "The output of `layer(x)` is thrown away: calling a module returns a new tensor and leaves `x` unchanged, "
    "so the modules of `self.layers` (nn.ModuleList) have no effect here. A ModuleList does not chain its "
    "modules: write `x = layer(x)`."
)
HOVER_LAYERS = """\
**`self.layers`**: `nn.ModuleList`, 3 modules, 430 parameters (1.7 KB as float32)

| name | shape | count |
|:-----|:------|------:|
| `layers.0.weight` | `[20, 10]` | 200 |
| `layers.0.bias` | `[20]` | 20 |
| `layers.2.weight` | `[10, 20]` | 200 |
| `layers.2.bias` | `[10]` | 10 |

Registered with the parent module: `model.parameters()`, `state_dict()` and the optimizer see them. \
A ModuleList does not pass inputs from one module to the next: `forward` must do `x = layer(x)`."""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), params=CLIENTS)
async def client(request, lsp_client: LanguageClient):
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            root_uri="file:///workspace",
            initialization_options={"debounce": 0},
        )
    )
    caps = client_capabilities(request.param)
    lsp_client.name = request.param
    lsp_client.negotiated = (  # what this client and the server agreed on
        str(result.capabilities.position_encoding or "utf-16"),
        caps.text_document is not None and caps.text_document.diagnostic is not None,
    )
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def session(client: LanguageClient) -> Session:
    encoding, pulls = client.negotiated
    return Session(client, encoding, pulls)


def tw101(diagnostics: list[types.Diagnostic]) -> types.Diagnostic:
    (diagnostic,) = [d for d in diagnostics if d.code == "TW101"]
    return diagnostic


async def test_diagnostic_exactly_as_the_editor_shows_it(session: Session):
    diagnostics = await session.open(URI, SEED_UNICODE)
    # The dropped output, once: TW101 (TW103 would repeat it on the loop's container).
    assert [d.code for d in diagnostics] == ["TW101"]
    diagnostic = diagnostics[0]
    start, end = COLUMNS[session.encoding]
    assert diagnostic.range == types.Range(types.Position(17, start), types.Position(17, end))
    assert diagnostic.message == MESSAGE
    assert (diagnostic.code, diagnostic.source, diagnostic.severity) == ("TW101", "torchwire", types.DiagnosticSeverity.Warning)
    assert diagnostic.code_description.href.endswith("/docs/rules/TW101.md")
    assert diagnostic.tags is None


async def test_hover_on_the_module_list(session: Session):
    await session.open(URI, SEED_UNICODE)
    hover = await session.hover(URI, 13, 14)  # on `self.layers` in __init__
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value == HOVER_LAYERS
    assert hover.range == types.Range(types.Position(13, 8), types.Position(13, 19))
    # The same table wherever the attribute appears, here in forward's loop header.
    assert (await session.hover(URI, 16, 25)).contents.value == HOVER_LAYERS


async def test_quick_fix_assigns_the_output_and_the_warning_goes(session: Session):
    diagnostic = tw101(await session.open(URI, SEED_UNICODE))
    actions = await session.actions(URI, diagnostic)
    assert [(a.title, a.kind, a.is_preferred) for a in actions] == [
        ("Assign the output: `x = layer(x)` (unsafe)", types.CodeActionKind.QuickFix, False),
        ("Ignore TW101 on this line", types.CodeActionKind.QuickFix, None),
    ]
    assert list(actions[0].diagnostics) == [diagnostic]
    fixed = apply(SEED_UNICODE, await session.resolved_edit(actions[0]), URI, session.encoding)
    assert fixed == SEED_UNICODE.replace('s = "é😀"; layer(x)', 's = "é😀"; x = layer(x)')
    assert await session.change(URI, fixed) == []


async def test_noqa_action(session: Session):
    diagnostic = tw101(await session.open(URI, SEED_UNICODE))
    noqa = (await session.actions(URI, diagnostic))[1]
    fixed = apply(SEED_UNICODE, noqa.edit, URI, session.encoding)
    assert 's = "é😀"; layer(x)  # noqa: TW101\n' in fixed
    # The call is meant to drop its output: nothing else repeats the finding.
    assert [d.code for d in await session.change(URI, fixed)] == []


async def test_fix_all_applies_safe_fixes_only(session: Session):
    text = (EXAMPLES / "tw203_modulelist_called.py").read_text() + "\n\n" + SEED
    diagnostics = await session.open(URI, text)
    assert sorted(d.code for d in diagnostics) == ["TW101", "TW203"]
    (action,) = await session.actions(URI, diagnostics[0], only=["source.fixAll"])
    assert action.kind == "source.fixAll.torchwire"
    fixed = apply(text, await session.resolved_edit(action), URI, session.encoding)
    assert "self.layers = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))" in fixed
    assert [d.code for d in await session.change(URI, fixed)] == ["TW101"]  # the unsafe one stays


async def test_syntax_error_mid_edit_then_recovery(session: Session):
    await session.open(URI, SEED)
    broken = SEED.replace("def forward(self, x):", "def forward(self, x:")
    diagnostics = await session.change(URI, broken)
    assert [d.code for d in diagnostics] == ["TW000"]
    assert diagnostics[0].message.startswith("Syntax error: ")
    assert [d.code for d in await session.change(URI, SEED)] == ["TW101"]


async def test_files_without_torch_get_nothing(session: Session):
    assert await session.open("file:///workspace/plain.py", "def f(x):\n    return x\n") == []


async def test_malformed_positions_and_unknown_documents(session: Session):
    await session.open(URI, SEED)
    assert await session.hover(URI, 500, 3) is None
    assert await session.hover(URI, 13, 999) is None
    assert await session.hover("file:///workspace/never-opened.py", 0, 0) is None


async def test_inlay_hints_show_the_shapes_through_forward(session: Session):
    text = (EXAMPLES / "seed_3_branches.py").read_text()
    await session.open(URI, text)
    hints = await session.client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        range=types.Range(types.Position(0, 0), types.Position(len(text.split("\n")), 0))))
    lines = text.split("\n")
    got = [(h.position.line, h.position.character, h.label) for h in hints]
    ends = {i: len(line) for i, line in enumerate(lines)}  # ASCII: the same in every encoding
    assert got == [
        (21, ends[21], "# [B, 20]"),  # x = self.layers[0](x)
        (22, ends[22], "# [B, 20]"),  # x = self.layers[1](x)
        (23, ends[23], "# [B, 30]"),  # left = self.layers[2](x)
        (24, ends[24], "# [B, 10]"),  # right = self.layers[3](x)
        (25, ends[25], "# [B, 40]"),  # return torch.cat([left, right], dim=1)
    ]
    assert all(h.kind == types.InlayHintKind.Type and h.padding_left for h in hints)


async def test_hover_on_a_variable_and_on_forward(session: Session):
    text = (EXAMPLES / "seed_3_branches.py").read_text()
    await session.open(URI, text)
    assert (await session.hover(URI, 22, 9)).contents.value == (
        "**`x`**: `[B, 20]`\n\nOutput of `self.layers[1]` (nn.ReLU()), with the sizes of `self.layers[0]` (nn.Linear(10, 20)).")
    assert (await session.hover(URI, 20, 9)).contents.value == (
        "**`Branches.forward`**\n- `x`: `[B, 10]` (assumed from the first layer that reads it)\n- returns `[B, 40]`")


# ---------------------------------------------------------------------- code lens


async def test_code_lens_counts_above_the_class_and_its_container(session: Session):
    await session.open(URI, SEED_UNICODE)
    client = session.client
    refreshes = []
    client.feature(types.WORKSPACE_CODE_LENS_REFRESH)(lambda ls, params: refreshes.append(params))
    lenses = list(await client.text_document_code_lens_async(types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=URI))))
    assert [(lens.range.start.line, lens.range.start.character, lens.command and lens.command.title) for lens in lenses] == [
        (10, 6, None), (10, 6, "dataflow"), (13, 8, None)]
    dataflow = lenses.pop(1).command
    assert (dataflow.command, list(dataflow.arguments)) == ("torchwire.showDataflow", [URI, "DiscardedOutputs"])
    (graph,) = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="torchwire.dataflowGraph", arguments=[URI, "DiscardedOutputs"]))
    assert graph["class"] == "DiscardedOutputs" and graph["mermaid"].startswith("flowchart TD\n")
    assert [n["label"] for n in graph["graph"]["nodes"] if n["lost"]] == ["self.layers[0]", "self.layers[1]", "self.layers[2]"]
    resolved = [await client.code_lens_resolve_async(lens) for lens in lenses]
    assert [lens.command.title for lens in resolved] == ["430 parameters · 1.7 KB (float32)"] * 2
    assert resolved[1].command.command == "torchwire.showParameters"
    assert list(resolved[1].command.arguments) == [URI, "DiscardedOutputs", "layers"]
    page = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="torchwire.parameterTable", arguments=resolved[0].command.arguments))
    assert page["title"] == "DiscardedOutputs"
    lines = page["markdown"].split("\n")
    assert lines[:3] == ["# DiscardedOutputs", "", "**`DiscardedOutputs`**: 430 parameters (1.7 KB as float32)"]
    assert "| `layers.2.bias` | `[10]` | 10 |" in lines
    # The setting turns them off.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"torchwire": {"codeLens": False}}))
    assert list(await client.text_document_code_lens_async(types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=URI)))) == []
    supports = client_capabilities(client.name).workspace
    if supports.code_lens is not None and supports.code_lens.refresh_support:  # told the lenses changed
        for _ in range(50):
            if refreshes:
                break
            await asyncio.sleep(0.05)
        assert refreshes == [None]


GENERATED_HEADER = (
    "#           This file was automatically generated from src/transformers/models/tiny/modular_tiny.py.\n"
    "#               Do NOT edit this file manually as any edits will be overwritten by the generation of\n"
    "#             the file from the modular.\n"
)


async def test_a_transformers_modular_file_gets_no_diagnostics_but_hovers(session: Session, tmp_path):
    """`modular_tiny.py` is a template transformers' converter expands into `modeling_tiny.py`
    (whose header says so): its partial methods are not what runs, the generated file is."""
    (tmp_path / "modeling_tiny.py").write_text(GENERATED_HEADER + SEED_UNICODE, encoding="utf-8")
    modular = (tmp_path / "modular_tiny.py").as_uri()
    assert await session.open(modular, SEED_UNICODE) == []
    assert (await session.hover(modular, 13, 14)).contents.value == HOVER_LAYERS
    assert [d.code for d in await session.open((tmp_path / "modeling_tiny.py").as_uri(), GENERATED_HEADER + SEED_UNICODE)] == ["TW101"]
