"""Shapes through layers, checked against real PyTorch: for each (constructor, input shape),
the output shape torchwire computes is the one PyTorch produces, and torchwire reports a
mismatch exactly where PyTorch raises, quoting its error. The tensors are tiny and on the CPU
(the meta device words some errors differently). Plus the article's networks."""

from __future__ import annotations

import os
import warnings

import pytest

try:
    import torch
except ImportError:  # pragma: no cover
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("torch is not installed (pip install -e '.[test]')", allow_module_level=True)

from torchwire.engine import shapes as SH
from torchwire.engine.analysis import analyze
from torchwire.engine.shapes import Shape
from torchwire.explain import method_summary

warnings.filterwarnings("ignore", message=".*enable_nested_tensor.*")

CASES = [
    ("nn.Linear(10, 20)", (4, 10)),
    ("nn.Linear(10, 20)", (4, 7, 10)),
    ("nn.Linear(10, 20)", (4, 30)),
    ("nn.Conv2d(3, 8, 3)", (2, 3, 16, 16)),
    ("nn.Conv2d(3, 8, 3, stride=2, padding=1)", (2, 3, 15, 17)),
    ("nn.Conv2d(3, 8, (3, 5), padding='same')", (2, 3, 16, 16)),
    ("nn.Conv2d(3, 8, 3, dilation=2)", (2, 3, 16, 16)),
    ("nn.Conv2d(4, 8, 3)", (2, 3, 16, 16)),
    ("nn.Conv2d(3, 8, 3)", (3, 16, 16)),
    ("nn.Conv1d(4, 6, 5, stride=2)", (2, 4, 33)),
    ("nn.Conv3d(2, 4, 3, padding=1)", (1, 2, 6, 6, 6)),
    ("nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)", (2, 8, 7, 7)),
    ("nn.ConvTranspose1d(8, 4, 3, stride=2, output_padding=1)", (2, 8, 10)),
    ("nn.BatchNorm2d(8)", (2, 8, 5, 5)),
    ("nn.BatchNorm2d(8)", (2, 4, 5, 5)),
    ("nn.BatchNorm1d(8)", (2, 8)),
    ("nn.BatchNorm1d(8)", (2, 6)),
    ("nn.GroupNorm(2, 8)", (2, 8, 5)),
    ("nn.GroupNorm(2, 8)", (2, 4, 5)),
    ("nn.LayerNorm(8)", (2, 5, 8)),
    ("nn.LayerNorm(8)", (2, 4)),
    ("nn.LayerNorm([5, 8])", (2, 5, 8)),
    ("nn.InstanceNorm1d(4)", (2, 4, 9)),
    ("nn.Embedding(100, 16)", (2, 7)),
    ("nn.Flatten()", (2, 3, 4, 5)),
    ("nn.Flatten(0, -1)", (2, 3, 4)),
    ("nn.ReLU()", (2, 3)),
    ("nn.Dropout(0.5)", (2, 3, 4)),
    ("nn.MultiheadAttention(16, 4)", (5, 2, 16)),
    ("nn.MultiheadAttention(16, 4)", (5, 2, 8)),
    ("nn.LSTM(10, 20)", (5, 2, 10)),
    ("nn.LSTM(10, 20, bidirectional=True)", (5, 2, 10)),
    ("nn.LSTM(10, 20, proj_size=5)", (5, 2, 10)),
    ("nn.GRU(10, 20)", (5, 2, 12)),
    ("nn.TransformerEncoderLayer(16, 4, 32)", (5, 2, 16)),
    ("nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))", (3, 10)),
    ("nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 2))", (2, 3, 6, 6)),
]


def _static(call: str):
    source = f"import torch\nimport torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.m = {call}\n"
    (cls,) = analyze(source, "case.py").module_classes
    return cls.root.members.children["m"].value


def _real(call: str, shape: tuple[int, ...]):
    module = eval(call, {"nn": torch.nn}).eval()
    x = torch.zeros(shape, dtype=torch.long) if "Embedding" in call else torch.zeros(shape)
    with torch.no_grad():
        out = module(x, x, x) if "MultiheadAttention" in call else module(x)
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize(("call", "shape"), CASES, ids=[f"{c} {s}" for c, s in CASES])
def test_output_shape_and_errors_match_pytorch(call, shape):
    out, mismatch = SH.layer_output(_static(call), Shape(shape))
    try:
        real = _real(call, shape)
    except (RuntimeError, AssertionError, ValueError) as error:
        assert mismatch is not None, f"PyTorch raised {error!r} but torchwire saw no mismatch"
        assert mismatch.error == str(error)
        return
    assert mismatch is None, f"torchwire reported {mismatch} but PyTorch ran"
    assert out is not None and list(out.dims) == list(real.shape)


def _class(path: str):
    text = open(path).read()
    analysis = analyze(text, path)
    (cls,) = analysis.module_classes
    return analysis, cls


@pytest.mark.parametrize(
    ("name", "codes"),
    [("seed_1_discarded_outputs.py", ["TW101"]), ("seed_2_chained.py", []), ("seed_3_branches.py", [])],
)
def test_the_article_networks(name, codes):
    analysis, _ = _class(f"examples/{name}")
    assert [f.code for f in analysis.findings] == codes


def test_the_third_network_returns_b_by_40():
    analysis, cls = _class("examples/seed_3_branches.py")
    assert method_summary(analysis, cls, cls.methods["forward"]).endswith("- returns `[B, 40]`")


RECURRENT = {
    "straight": (
        """
import torch.nn as nn

class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.LSTM(8, 16, batch_first=True)
        self.b = nn.LSTM(32, 16, batch_first=True)

    def forward(self, x):
        x, _ = self.a(x)
        x, _ = self.b(x)
        return x
""",
        (2, 5, 8),
    ),
    "loop": (
        """
import torch.nn as nn

class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnns = nn.ModuleList([nn.GRU(8, 16), nn.GRU(32, 16)])

    def forward(self, x):
        for rnn in self.rnns:
            x = rnn(x)[0]
        return x
""",
        (5, 2, 8),
    ),
}


@pytest.mark.parametrize("case", RECURRENT)
def test_recurrent_layers_that_do_not_chain_raise_what_pytorch_raises(case):
    source, shape = RECURRENT[case]
    findings = [f for f in analyze(source, "case.py").findings if f.code == "TW301"]
    assert len(findings) == 1
    namespace: dict = {}
    exec(compile(source, "case.py", "exec"), namespace)  # the test's own snippet, to get PyTorch's error
    with pytest.raises(RuntimeError) as raised:
        namespace["M"]()(torch.zeros(shape))
    assert findings[0].message.endswith(f"the forward pass raises `RuntimeError: {raised.value}`.")
