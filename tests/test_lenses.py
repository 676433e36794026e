"""Code lenses: where they go (each module class, each container `__init__` stores) and what
they say (the same totals as the hovers: exact, conditional, symbolic, unknown)."""

from __future__ import annotations

from torchwire.engine.analysis import analyze
from torchwire.lenses import code_lenses, lens_title, parameter_page

SYMBOLIC = """\
import torch.nn as nn


class Stack(nn.Module):
    def __init__(self, d_model, n_layer):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(d_model, d_model) for _ in range(n_layer)])
        self.head = nn.Linear(d_model, 10, bias=False)


class Maybe(nn.Module):
    def __init__(self, extra):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(4, 4))
        if extra:
            self.more = nn.Linear(4, 4)


class Empty(nn.Module):
    def forward(self, x):
        return x


class NotAModule:
    pass
"""


def titles(text: str) -> list[tuple[int, str, str | None, str | None]]:
    analysis = analyze(text, "m.py")
    return [(lens.range.start.line, lens.class_name, lens.attribute, lens_title(analysis, lens)) for lens in code_lenses(analysis)
            if not lens.dataflow]


def test_a_dataflow_lens_above_each_class_with_a_forward():
    analysis = analyze(SYMBOLIC, "m.py")
    assert [(lens.class_name, lens_title(analysis, lens)) for lens in code_lenses(analysis) if lens.dataflow] == [("Empty", "dataflow")]


def test_lenses_and_their_counts():
    assert titles(SYMBOLIC) == [
        (3, "Stack", None, "d_model**2*n_layer + d_model*n_layer + 10*d_model parameters (symbolic: d_model, n_layer)"),
        (6, "Stack", "blocks", "d_model**2*n_layer + d_model*n_layer parameters (symbolic: d_model, n_layer)"),
        (10, "Maybe", None, "up to 40 parameters · 160 B (float32)"),  # `more` only `if extra`
        (13, "Maybe", "fc", "20 parameters · 80 B (float32)"),
        (18, "Empty", None, "no parameters"),
    ]


def test_the_page_a_lens_opens_lists_every_parameter():
    analysis = analyze(SYMBOLIC, "m.py")
    page = parameter_page(analysis, "Maybe", None).split("\n")
    assert page[:3] == ["# Maybe", "", "**`Maybe`**: up to 40 parameters (160 B as float32)"]
    assert "| `more.weight (if extra)` | `[4, 4]` | 16 |" in page
    assert parameter_page(analysis, "Gone", None) is None
