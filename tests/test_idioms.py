"""Common, correct PyTorch code (checkpointing, MoE routing, U-Net skips, lazy init, weight
tying, wrapped blocks, LSTMs, attention...) yields no finding, and its parameter tables are
the ones PyTorch registers."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from torchwire.engine.analysis import analyze

IDIOMS = Path(__file__).resolve().parent / "fixtures" / "correct_idioms.py"
CLASSES = ["Block", "Encoder", "MoE", "UNetish", "TinyLM", "Siamese", "RNNTagger", "Attn"]


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
