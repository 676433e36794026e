"""Containers reached through other modules or other forms (`for block in stage`,
`self.transformer.h`, `self.encoder.layers`, `for attn, ff in self.layers`, `reversed(...)`, a
container that may be None): no finding on correct code, the bug found when planted, and the
hover on the loop variable lists exactly the parameters PyTorch registers under it, by the same
names."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

from torchwire.engine.analysis import analyze
from torchwire.engine.source import Position
from torchwire.explain import explain_at

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nested_containers.py"
TEXT = FIXTURE.read_text()


def _hover(needle: str, text: str = TEXT) -> list[str]:
    start = text.index(needle) + len("for ")
    line = text.count("\n", 0, start)
    found = explain_at(analyze(text, str(FIXTURE)), Position(line, start - (text.rfind("\n", 0, start) + 1)))
    assert found is not None
    return found.markdown.splitlines()


def _real_rows(name: str, prefix: str | re.Pattern) -> list[tuple[str, list[int]]]:
    try:
        import torch
    except ImportError:  # pragma: no cover
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("torch is not installed")
    spec = importlib.util.spec_from_file_location("nested_containers", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the test's own fixture, imported to build the real model
    with torch.device("meta"):
        model = getattr(module, name)()
    wanted = prefix.match if isinstance(prefix, re.Pattern) else (lambda n: n.startswith(prefix))
    return [(n, list(p.shape)) for n, p in model.named_parameters() if wanted(n)]


def _table_rows(lines: list[str]) -> list[tuple[str, list[int]]]:
    rows = []
    for line in lines:
        if line.startswith("| `"):
            name, shape = line.split(" | ")[:2]
            rows.append((name.strip("| `"), [int(d) for d in shape.strip("`[]").split(", ")]))
    return rows


def test_no_findings():
    assert [(f.code, f.range.start.line + 1) for f in analyze(TEXT, str(FIXTURE)).findings] == []


@pytest.mark.parametrize(
    ("loop", "cls", "prefix", "head"),
    [
        ("for block in stage", "Stages", "stages.",
         "**`block`**: each module of `stage` (nn.ModuleList) in turn, for each `stage` in `self.stages`"),
        ("for block in self.transformer.h", "NanoStyle", "transformer.h.",
         "**`block`**: each module of `self.transformer.h` (nn.ModuleList) in turn: Block, Block"),
        ("for layer in self.encoder.layers", "WithEncoder", "encoder.layers.",
         "**`layer`**: each module of `self.encoder.layers` (nn.ModuleList) in turn: nn.Linear(8, 8), nn.Linear(8, 8)"),
    ],
)
def test_hover_on_the_loop_variable_names_parameters_as_pytorch_does(loop, cls, prefix, head):
    lines = _hover(loop)
    assert lines[0] == head
    assert _table_rows(lines) == _real_rows(cls, prefix)


def test_the_classic_bug_is_found_through_a_module_dict_and_a_nested_list():
    broken = TEXT.replace("                x = block(x)", "                block(x)").replace(
        "            x = block(x)\n        return self.lm_head", "            block(x)\n        return self.lm_head")
    found = sorted((f.code, f.range.start.line + 1, f.message) for f in analyze(broken, "broken.py").findings if f.code == "TW101")
    assert [(code, line) for code, line, _ in found] == [
        ("TW101", TEXT[: TEXT.index("                x = block(x)")].count("\n") + 1),
        ("TW101", TEXT[: TEXT.index("            x = block(x)\n        return self.lm_head")].count("\n") + 1),
    ]
    assert found[0][2].endswith("so the modules of `stage` (nn.ModuleList) have no effect here. "
                                "A ModuleList does not chain its modules: write `x = block(x)`.")
    assert found[1][2].endswith("so the modules of `self.transformer.h` (nn.ModuleList) have no effect here. "
                                "A ModuleList does not chain its modules: write `x = block(x)`.")


def test_hover_on_a_name_unpacked_from_each_element_lists_that_module_of_every_element():
    lines = _hover("for attn, ff in self.layers")
    assert lines[0] == (
        "**`attn`**: `Attention`, module 0 of each element of `self.layers` (nn.ModuleList), "
        "3,360 parameters (13.4 KB as float32)")
    assert _table_rows(lines) == _real_rows("PairedBlocks", re.compile(r"layers\.\d+\.0\."))


def test_a_dropped_output_of_an_unpacked_module_is_found():
    broken = TEXT.replace("            x = ff(x) + x\n", "            ff(x) + x\n")
    (finding,) = [f for f in analyze(broken, "broken.py").findings]
    assert (finding.code, finding.range.start.line + 1) == ("TW103", TEXT[: TEXT.index("            x = ff(x) + x")].count("\n") + 1)
    assert finding.message == (
        "The output of `ff` (FeedForward) never reaches what `forward` returns or keeps: the module runs but "
        "has no effect on the result, and its weights never learn.")


def test_a_container_that_may_be_none_is_checked_where_the_code_knows_it_is_not():
    broken = TEXT.replace("                hidden = downsampler(hidden)\n", "                downsampler(hidden)\n")
    line = TEXT[: TEXT.index("                hidden = downsampler(hidden)")].count("\n") + 1
    found = [(f.code, f.range.start.line + 1) for f in analyze(broken, "broken.py").findings]
    assert found == [("TW101", line)]  # one finding for the one cause


def test_a_loop_over_reversed_modules_is_checked_in_that_order():
    source = '''
import torch.nn as nn

class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.back = nn.ModuleList([nn.Linear(16, 8), nn.Linear(32, 12)])

    def forward(self, x):
        for layer in reversed(self.back):
            x = layer(x)
        return x
'''
    (finding,) = analyze(source, "decoder.py").findings
    assert (finding.code, finding.range.start.line + 1) == ("TW301", 7)
    assert finding.message == (
        "`self.back[0]` (nn.Linear(16, 8)) expects 16 input features, but the loop in `forward` passes it 12, "
        "from `self.back[1]` (nn.Linear(32, 12)): the forward pass raises `RuntimeError: mat1 and mat2 shapes "
        "cannot be multiplied (Bx12 and 16x8)`.")
