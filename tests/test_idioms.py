"""Common, correct PyTorch code (checkpointing, MoE routing, U-Net skips, lazy init, weight
tying, wrapped blocks, LSTMs, attention, sliced and zipped containers...) yields no finding, and its parameter tables are
the ones PyTorch registers."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from torchwire.engine.analysis import analyze
from torchwire.engine.source import Position
from torchwire.explain import explain_at

IDIOMS = Path(__file__).resolve().parent / "fixtures" / "correct_idioms.py"
CLASSES = [
    "Block", "Encoder", "MoE", "UNetish", "TinyLM", "Siamese", "RNNTagger", "Attn",
    # containers walked in slices, pairs, by index, by reduce
    "MLP", "Reduce", "EncoderDecoder", "Paired", "Indexed", "Every2",
    # parallel heads, skips, reversed, dicts, while loops, early exits, masks, recurrences
    "Heads", "Branches", "Skips", "ReversedDec", "Dict", "WhileLoop", "EarlyExit", "Masked", "IndexedPairs",
    "NegativeIndex", "Recurrent", "SharedViews", "ZipFeatures", "Tiled",
]


def test_no_findings_on_correct_idioms():
    assert [(f.code, f.range.start.line + 1) for f in analyze(IDIOMS.read_text(), str(IDIOMS)).findings] == []


@pytest.mark.parametrize("name", CLASSES[1:])
def test_tables_match_pytorch(name):
    try:
        import torch
    except ImportError:  # pragma: no cover
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("torch is not installed")
    analysis = analyze(IDIOMS.read_text(), str(IDIOMS))
    (cls,) = [c for c in analysis.module_classes if c.name == name]
    static = [(r.name, r.shape) for r in cls.parameters()]
    spec = importlib.util.spec_from_file_location("correct_idioms", IDIOMS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the test's own fixture, imported to build the real model
    with torch.device("meta"):
        real = [(n, list(p.shape)) for n, p in getattr(module, name)().named_parameters()]
    assert static == real


def _hover(needle: str, occurrence: int = 1, offset: int = 0) -> str:
    text = IDIOMS.read_text()
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    start += offset
    line = text.count("\n", 0, start)
    found = explain_at(analyze(text, str(IDIOMS)), Position(line, start - (text.rfind("\n", 0, start) + 1)))
    assert found is not None
    return found.markdown


def test_hover_on_a_loop_over_a_slice_shows_only_the_sliced_modules():
    lines = _hover("for layer in self.layers[:-1]", offset=len("for ")).splitlines()
    assert lines[0] == (
        "**`layer`**: each module of `self.layers[:-1]` (nn.ModuleList) in turn: nn.Linear(a, b), nn.Linear(a, b)")
    assert [line.split(" | ")[0] for line in lines if line.startswith("| `")] == [
        "| `layers.0.weight`", "| `layers.0.bias`", "| `layers.1.weight`", "| `layers.1.bias`"]
    assert lines[-1].startswith("850 parameters (3.4 KB as float32) in all.")


def test_hover_on_a_stepped_slice_and_on_a_whole_container_loop():
    sliced = _hover("self.blocks[1::2]", offset=len("self.blocks[")).splitlines()
    assert sliced[0] == (
        "**`self.blocks[1::2]`**: modules of `self.blocks` (nn.ModuleList), in this order: nn.Linear(8, 4), nn.Linear(8, 4)")
    assert [line.split(" | ")[0] for line in sliced if line.startswith("| `")] == [
        "| `blocks.1.weight`", "| `blocks.1.bias`", "| `blocks.3.weight`", "| `blocks.3.bias`"]
    whole = _hover("for layer in self.enc", offset=len("for ")).splitlines()
    assert whole[0] == "**`layer`**: each module of `self.enc` (nn.ModuleList) in turn: nn.Linear(4, 8), nn.Linear(8, 16)"
    assert whole[-1].startswith("184 parameters (736 B as float32) in all.")


def test_hover_on_a_loop_over_reversed_lists_the_modules_last_first():
    lines = _hover("for layer in reversed(self.back)", offset=len("for ")).splitlines()
    assert lines[0] == (
        "**`layer`**: each module of `reversed(self.back)` (nn.ModuleList) in turn: nn.Linear(32, 16), nn.Linear(16, 8)")
    assert lines[-1].startswith("664 parameters (2.7 KB as float32) in all.")
