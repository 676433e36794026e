"""The layer catalogue checked against real PyTorch.

torchwire never imports user code, so what it knows about `torch.nn` comes from the catalogue
(`torchwire.catalogue`): each constructor's signature and a `build` that lists what it registers.
A wrong entry silently gives every user wrong parameter counts, so this file holds the catalogue
to the installed PyTorch (the version pinned in pyproject.toml):

* signatures: every entry's parameter names, order, kinds and defaults equal
  `inspect.signature(torch.nn.X.__init__)` (RNN/LSTM/GRU take `*args, **kwargs` and are held
  to `nn.RNNBase.__init__` instead);
* parameters and buffers: for each constructor call in `CASES`, the same text is put in a small
  module class and analysed statically, and evaluated with real torch on the meta device; the
  `named_parameters()` and `named_buffers()` names and shapes must be equal, order included;
* lazy modules: the analysis reports one unknown row instead of guessing shapes.

A case that fails points at a catalogue entry, or at the interpreter that feeds it arguments.

torch is a test dependency that CI installs, so without it these tests fail under CI=true and
are skipped only on a developer machine that lacks it.
"""

from __future__ import annotations

import inspect
import os
import re

import pytest

try:
    import torch
except ImportError:
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("torch is not installed (pip install -e '.[test]')", allow_module_level=True)

import torch.nn.functional as F

from torchwire.catalogue import CATALOGUE
from torchwire.catalogue.spec import REQUIRED
from torchwire.engine.analysis import analyze

# PyTorch's own advice when it builds a TransformerEncoder without batch_first: not ours to act on.
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")

# ---------------------------------------------------------------------------------------------
# Cases: constructor calls as text. Each is both pasted into analysed source and evaluated with
# real torch, so keep them to `nn.` and `torch.` expressions.

LINEAR = [
    "nn.Linear(4, 3)",
    "nn.Linear(4, 3, bias=False)",
    "nn.Linear(4, 3, False)",
    "nn.Linear(in_features=7, out_features=2)",
    "nn.Linear(4, 3, bias=None)",
    "nn.Linear(4, 3, True, None, None)",
    "nn.Linear(*[3, 4])",
    "nn.Linear(**{'in_features': 3, 'out_features': 4})",
    "nn.Bilinear(3, 4, 5)",
    "nn.Bilinear(3, 4, 5, bias=False)",
    "nn.Bilinear(3, 4, 5, False)",
    "nn.Bilinear(in1_features=2, in2_features=2, out_features=1)",
]

CONV = [
    "nn.Conv1d(4, 8, 3)",
    "nn.Conv1d(4, 8, 3, bias=False)",
    "nn.Conv1d(4, 8, (5,), stride=2)",
    "nn.Conv1d(6, 9, 3, groups=3)",
    "nn.Conv2d(3, 16, 3)",
    "nn.Conv2d(3, 16, (3, 5))",
    "nn.Conv2d(4, 8, 3, groups=2)",
    "nn.Conv2d(8, 8, 3, groups=8, bias=False)",
    "nn.Conv2d(3, 6, kernel_size=[1, 7], padding=(0, 3))",
    "nn.Conv2d(3, 6, 3, 1, 1, 1, 1, False)",
    "nn.Conv2d(4, 4, 3, padding='same', padding_mode='reflect')",
    "nn.Conv2d(2, 4, kernel_size=(3, 3), stride=(2, 2), dilation=2, groups=2, padding_mode='circular', padding=1)",
    "nn.Conv2d(2 * 2, 8 // 2, 1 + 2)",
    "nn.Conv1d(4, 8, 3, padding='valid', bias=0)",
    "nn.Conv3d(2, 4, 3)",
    "nn.Conv3d(2, 4, (1, 3, 3), groups=2)",
    "nn.Conv3d(2, 4, 3, bias=False)",
    "nn.ConvTranspose1d(4, 2, 3)",
    "nn.ConvTranspose1d(4, 6, 3, groups=2)",
    "nn.ConvTranspose1d(4, 2, 3, bias=False)",
    "nn.ConvTranspose2d(8, 4, 2, stride=2)",
    "nn.ConvTranspose2d(8, 4, (2, 3), groups=4, bias=False)",
    "nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, 2)",
    "nn.ConvTranspose2d(4, 8, kernel_size=3, stride=2, padding=1, output_padding=1, groups=4, bias=False, dilation=1)",
    "nn.ConvTranspose1d(in_channels=4, out_channels=4, kernel_size=1, groups=4)",
    "nn.ConvTranspose3d(4, 2, 3)",
    "nn.ConvTranspose3d(6, 9, (1, 2, 3), groups=3)",
]

NORMALIZATION = [
    "nn.BatchNorm1d(8)",
    "nn.BatchNorm1d(8, affine=False)",
    "nn.BatchNorm1d(8, track_running_stats=False)",
    "nn.BatchNorm2d(16)",
    "nn.BatchNorm2d(3, 1e-3, 0.01)",
    "nn.BatchNorm2d(16, bias=False)",
    "nn.BatchNorm2d(4, 1e-5, 0.1, False, False)",
    "nn.BatchNorm3d(4, affine=False, track_running_stats=False)",
    "nn.BatchNorm3d(4)",
    "nn.BatchNorm1d(4, affine=0)",
    "nn.SyncBatchNorm(8)",
    "nn.SyncBatchNorm(8, affine=False)",
    "nn.SyncBatchNorm(8, 1e-5, 0.1, True, False)",
    "nn.InstanceNorm1d(4)",
    "nn.InstanceNorm2d(4, affine=True)",
    "nn.InstanceNorm2d(4, track_running_stats=True)",
    "nn.InstanceNorm3d(4, affine=True, track_running_stats=True)",
    "nn.InstanceNorm2d(4, affine=True, bias=False)",
    "nn.InstanceNorm1d(4, 1e-5, 0.1, True, True)",
    "nn.InstanceNorm1d(4, affine=False, track_running_stats=True)",
    "nn.LayerNorm(8)",
    "nn.LayerNorm([4, 5])",
    "nn.LayerNorm((2, 3, 4))",
    "nn.LayerNorm(torch.Size([4, 5]))",
    "nn.LayerNorm(8, elementwise_affine=False)",
    "nn.LayerNorm(8, bias=False)",
    "nn.LayerNorm(8, 1e-6, False)",
    "nn.LayerNorm(8, 1e-5, True, False)",
    "nn.LayerNorm([8], elementwise_affine=True, bias=False)",
    "nn.RMSNorm(8)",
    "nn.RMSNorm([3, 4])",
    "nn.RMSNorm(8, elementwise_affine=False)",
    "nn.RMSNorm(8, 1e-6, True)",
    "nn.GroupNorm(2, 8)",
    "nn.GroupNorm(4, 8, affine=False)",
    "nn.GroupNorm(2, 8, bias=False)",
    "nn.GroupNorm(1, 6, 1e-3)",
    "nn.GroupNorm(2, 4, affine=False, bias=False)",
]

SPARSE = [
    "nn.Embedding(10, 4)",
    "nn.Embedding(10, 4, padding_idx=0)",
    "nn.Embedding(100, 16, max_norm=1.0, sparse=True)",
    "nn.Embedding(10, 4, _freeze=True)",
    "nn.Embedding(num_embeddings=5, embedding_dim=2)",
    "nn.EmbeddingBag(10, 4)",
    "nn.EmbeddingBag(10, 4, mode='sum')",
    "nn.EmbeddingBag(10, 3, mode='max', include_last_offset=True)",
    "nn.EmbeddingBag(10, 3, padding_idx=2)",
    "nn.EmbeddingBag(10, 4, 2.0)",
    "nn.Embedding(10, 4, None, None, 2.0, False, False, None, True)",
    "nn.Embedding(3, 2, _weight=torch.zeros(3, 2))",
    "nn.Embedding.from_pretrained(torch.zeros(3, 2))",
    "nn.EmbeddingBag.from_pretrained(torch.zeros(7, 5), freeze=False)",
    "nn.EmbeddingBag(3, 2, _weight=torch.zeros(3, 2))",
]

RECURRENT = [
    "nn.RNN(4, 8)",
    "nn.RNN(4, 8, 2)",
    "nn.RNN(4, 8, 2, 'relu')",
    "nn.RNN(4, 8, nonlinearity='relu', bias=False)",
    "nn.RNN(4, 8, num_layers=2, bidirectional=True)",
    "nn.RNN(4, 8, 1, 'tanh', False)",
    "nn.RNN(4, 8, 2, 'tanh', True, False, 0.0, True)",
    "nn.LSTM(10, 20)",
    "nn.LSTM(10, 20, 2)",
    "nn.LSTM(10, 20, bias=False)",
    "nn.LSTM(10, 20, 2, bidirectional=True)",
    "nn.LSTM(10, 20, proj_size=5)",
    "nn.LSTM(10, 20, 2, bidirectional=True, proj_size=5)",
    "nn.LSTM(10, 20, 3, True, True, 0.1, True)",
    "nn.LSTM(10, 20, 2, batch_first=True, proj_size=5, bias=False)",
    "nn.LSTM(input_size=3, hidden_size=6, num_layers=3, bidirectional=True, proj_size=2)",
    "nn.LSTM(10, 20, 1, True, False, 0.0, False, 3)",
    "nn.LSTM(10, 20, proj_size=0)",
    "nn.LSTM(4, 8, bidirectional=1)",
    "nn.GRU(4, 8)",
    "nn.GRU(4, 8, 3)",
    "nn.GRU(4, 8, 2, bidirectional=True, bias=False)",
    "nn.GRU(4, 8, 1, False)",
    "nn.GRU(4, 8, 2, True, False, 0.0, True)",
    "nn.RNNCell(4, 8)",
    "nn.RNNCell(4, 8, bias=False)",
    "nn.RNNCell(4, 8, nonlinearity='relu')",
    "nn.RNNCell(4, 8, True, 'relu')",
    "nn.LSTMCell(4, 8)",
    "nn.LSTMCell(4, 8, False)",
    "nn.GRUCell(4, 8)",
    "nn.GRUCell(4, 8, bias=False)",
    "nn.GRUCell(hidden_size=8, input_size=4)",
]

TRANSFORMER = [
    "nn.MultiheadAttention(8, 2)",
    "nn.MultiheadAttention(8, 2, bias=False)",
    "nn.MultiheadAttention(8, 2, add_bias_kv=True)",
    "nn.MultiheadAttention(8, 2, kdim=4, vdim=6)",
    "nn.MultiheadAttention(8, 2, kdim=8, vdim=8)",
    "nn.MultiheadAttention(8, 2, kdim=4, vdim=4, bias=False, add_bias_kv=True)",
    "nn.MultiheadAttention(8, 2, 0.1, True, True, True)",
    "nn.MultiheadAttention(8, 1, batch_first=True)",
    "nn.MultiheadAttention(8, 2, kdim=4)",
    "nn.MultiheadAttention(8, 2, vdim=4)",
    "nn.MultiheadAttention(8, 2, kdim=None, vdim=None)",
    "nn.MultiheadAttention(embed_dim=6, num_heads=3, kdim=2, vdim=2)",
    "nn.TransformerEncoderLayer(8, 2, 16)",
    "nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, bias=False)",
    "nn.TransformerEncoderLayer(8, 2, 16, activation='gelu')",
    "nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU())",
    "nn.TransformerEncoderLayer(8, 2, 16, norm_first=True, batch_first=True)",
    "nn.TransformerEncoderLayer(d_model=8, nhead=4, dim_feedforward=12, layer_norm_eps=1e-6)",
    "nn.TransformerEncoderLayer(8, 2, 16, activation=nn.PReLU())",
    "nn.TransformerEncoderLayer(4, 1)",
    "nn.TransformerDecoderLayer(8, 2, 16)",
    "nn.TransformerDecoderLayer(8, 2, 16, bias=False)",
    "nn.TransformerDecoderLayer(8, 2, 16, activation=nn.ReLU())",
    "nn.TransformerDecoderLayer(8, 2, 16, activation=nn.PReLU(3))",
    "nn.TransformerDecoderLayer(8, 2, 16, norm_first=True, activation='gelu')",
    "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2)",
    "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8))",
    "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, bias=False), num_layers=1)",
    "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, activation=nn.PReLU()), 3)",
    "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False)",
    "nn.TransformerEncoder(encoder_layer=nn.TransformerEncoderLayer(8, 2, 16), num_layers=2, norm=nn.RMSNorm(8))",
    "nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2)",
    "nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8))",
    "nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16)",
    "nn.Transformer(8, 2, 2, 1, 16, bias=False)",
    "nn.Transformer(8, 2, 1, 2, 16, activation='gelu')",
    "nn.Transformer(8, 2, 2, 1, 16, activation=nn.PReLU())",
    "nn.Transformer(8, 2, 1, 1, 16, custom_encoder=nn.Linear(8, 8))",
    "nn.Transformer(8, 2, 1, 1, 16, custom_decoder=nn.Linear(8, 8))",
    "nn.Transformer(8, 2, 1, 1, 16, custom_encoder=nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2))",
    "nn.Transformer()",
]

ACTIVATION = [
    "nn.PReLU()",
    "nn.PReLU(num_parameters=3)",
    "nn.PReLU(8, init=0.1)",
    "nn.PReLU(4, 0.2)",
    "nn.PReLU(num_parameters=1, init=0.5)",
]

# Losses register their weight tensors as buffers.
LOSSES = [
    "nn.CrossEntropyLoss()",
    "nn.CrossEntropyLoss(weight=torch.ones(3))",
    "nn.CrossEntropyLoss(torch.ones(3), label_smoothing=0.1)",
    "nn.NLLLoss(torch.ones(4))",
    "nn.BCELoss(weight=torch.ones(2, 3))",
    "nn.BCEWithLogitsLoss()",
    "nn.BCEWithLogitsLoss(pos_weight=torch.ones(5))",
    "nn.BCEWithLogitsLoss(torch.ones(2), pos_weight=torch.ones(5))",
    "nn.MultiLabelSoftMarginLoss(weight=torch.ones(3))",
    "nn.MultiMarginLoss(weight=torch.zeros(3))",
    "nn.MultiMarginLoss(2, 0.5, torch.ones(4))",
]

# A sample of the modules that register nothing: the analysis must not invent anything for them.
PARAMETERLESS = [
    "nn.Identity()",
    "nn.Identity(54, unused='x')",
    "nn.ReLU()",
    "nn.ReLU(inplace=True)",
    "nn.LeakyReLU(0.2)",
    "nn.GELU(approximate='tanh')",
    "nn.Softmax(dim=-1)",
    "nn.Sigmoid()",
    "nn.Hardtanh(-2.0, 2.0)",
    "nn.Threshold(0.1, 20)",
    "nn.CELU(alpha=0.5)",
    "nn.GLU()",
    "nn.Dropout(0.1)",
    "nn.Dropout2d()",
    "nn.MaxPool2d(2)",
    "nn.AvgPool2d(3, stride=2, padding=1)",
    "nn.AdaptiveAvgPool2d((1, 1))",
    "nn.LPPool2d(2, 3)",
    "nn.FractionalMaxPool2d(3, output_ratio=0.5)",
    "nn.MaxUnpool2d(2)",
    "nn.ZeroPad2d(1)",
    "nn.ConstantPad1d(2, 3.5)",
    "nn.Flatten()",
    "nn.Unflatten(1, (2, 5))",
    "nn.Fold(output_size=(4, 5), kernel_size=(2, 2))",
    "nn.Unfold(kernel_size=(2, 3))",
    "nn.PixelShuffle(2)",
    "nn.ChannelShuffle(2)",
    "nn.Upsample(scale_factor=2, mode='nearest')",
    "nn.CosineSimilarity()",
    "nn.LocalResponseNorm(2)",
    "nn.CrossMapLRN2d(3)",
    "nn.L1Loss()",
    "nn.CTCLoss()",
    "nn.GaussianNLLLoss()",
    "nn.TripletMarginWithDistanceLoss(margin=0.5)",
]

CONTAINERS = [
    "nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))",
    "nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())",
    "nn.ModuleList([nn.Linear(2, 2), nn.LSTM(2, 3)])",
    "nn.ModuleDict({'a': nn.Linear(2, 3), 'b': nn.Conv1d(1, 2, 3)})",
    "nn.ModuleDict({'b': nn.Linear(2, 3), 'a': nn.PReLU()})",
    "nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3)))",
    "nn.Sequential(nn.Linear(2, 2), nn.Identity(), nn.PReLU(2))",
    "nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])",
    "nn.Sequential(*[nn.Linear(4, 4) for _ in range(2)])",
    "nn.ParameterList([nn.Parameter(torch.zeros(2, 3)), nn.Parameter(torch.zeros(4))])",
    # ParameterDict sorts the keys of a plain dict, and keeps an OrderedDict's order.
    "nn.ParameterDict({'w': nn.Parameter(torch.zeros(2)), 'b': nn.Parameter(torch.zeros(3, 1))})",
    "nn.ModuleList()",
    "nn.Sequential()",
    "nn.ParameterList()",
]

CASES = (
    LINEAR + CONV + NORMALIZATION + SPARSE + RECURRENT + TRANSFORMER + ACTIVATION + LOSSES + PARAMETERLESS + CONTAINERS
)

# One constructor call per lazy entry: the analysis cannot know their shapes before a forward.
LAZY = [
    "nn.LazyLinear(4)",
    "nn.LazyLinear(4, bias=False)",
    "nn.LazyConv1d(8, 3)",
    "nn.LazyConv2d(8, 3, groups=2)",
    "nn.LazyConv3d(8, (1, 3, 3))",
    "nn.LazyConvTranspose1d(8, 3)",
    "nn.LazyConvTranspose2d(8, 2, stride=2)",
    "nn.LazyConvTranspose3d(8, 3)",
    "nn.LazyBatchNorm1d()",
    "nn.LazyBatchNorm2d(eps=1e-3)",
    "nn.LazyBatchNorm3d()",
    "nn.LazyInstanceNorm1d()",
    "nn.LazyInstanceNorm2d()",
    "nn.LazyInstanceNorm3d()",
]

SOURCE = """\
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.m = {call}
"""


def _layer_name(call: str) -> str:
    """`"nn.LSTM(10, 20)"` -> `"LSTM"`."""
    return re.match(r"nn\.(\w+)[(.]", call).group(1)


def _analysed_source(text: str):
    (cls,) = analyze(text, "case.py").module_classes
    return cls


def _analysed(call: str):
    return _analysed_source(SOURCE.format(call=call))


def _real(call: str) -> torch.nn.Module:
    with torch.device("meta"):
        return eval(call, {"nn": torch.nn, "torch": torch})


# ---------------------------------------------------------------------------------------------
# Signatures

# PyTorch's transformer layers default `activation` to the function F.relu; the catalogue can
# only hold literals and writes it as the string 'relu', which PyTorch accepts as the same thing.
ACTIVATION_DEFAULT = {"TransformerEncoderLayer", "TransformerDecoderLayer", "Transformer"}

# nn.RNN, nn.LSTM and nn.GRU take (*args, **kwargs) and pass them to nn.RNNBase after `mode`;
# nn.RNN first takes `nonlinearity` out of the 4th positional slot (or the keywords).
RNN_BASE = {"RNN", "LSTM", "GRU"}


def _described(params) -> list[tuple[str, str, object]]:
    """inspect.Parameter objects as (name, kind, default) with REQUIRED for no default."""
    return [(p.name, p.kind.name, REQUIRED if p.default is p.empty else p.default) for p in params]


def _expected_signature(name: str) -> list[tuple[str, str, object]]:
    cls = getattr(torch.nn, name)
    if name in RNN_BASE:
        params = list(inspect.signature(torch.nn.RNNBase.__init__).parameters.values())[2:]  # self, mode
        out = _described(params)
        if name == "RNN":
            out.insert(3, ("nonlinearity", "POSITIONAL_OR_KEYWORD", "tanh"))
        return out
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # self
    out = _described(params)
    if name in ACTIVATION_DEFAULT:
        out = [(n, k, "relu" if n == "activation" and d is F.relu else d) for n, k, d in out]
    return out


def _catalogue_signature(spec) -> list[tuple[str, str, object]]:
    sig = spec.signature
    out = [(n, "POSITIONAL_OR_KEYWORD", d) for n, d in sig.positional]
    if sig.varargs is not None:
        out.append((sig.varargs, "VAR_POSITIONAL", REQUIRED))
    out += [(n, "KEYWORD_ONLY", d) for n, d in sig.keyword_only]
    if sig.varkw:
        out.append(("kwargs", "VAR_KEYWORD", REQUIRED))
    return out


def _takes_anything(name: str) -> bool:
    params = list(inspect.signature(getattr(torch.nn, name).__init__).parameters.values())[1:]
    return [p.kind for p in params] == [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD]


SPECS = sorted(CATALOGUE.values(), key=lambda s: s.name)
CHECKED_SPECS = [s for s in SPECS if s.name in RNN_BASE or not _takes_anything(s.name)]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_entry_names_a_torch_nn_module(spec):
    assert issubclass(getattr(torch.nn, spec.name), torch.nn.Module)


@pytest.mark.parametrize("spec", CHECKED_SPECS, ids=[s.name for s in CHECKED_SPECS])
def test_signature_matches_pytorch(spec):
    expected = _expected_signature(spec.name)
    actual = _catalogue_signature(spec)
    assert [(n, k) for n, k, _ in actual] == [(n, k) for n, k, _ in expected]
    for (name, _, mine), (_, _, theirs) in zip(actual, expected):
        assert (mine is REQUIRED) == (theirs is REQUIRED), name
        if mine is not REQUIRED:
            assert mine == theirs and type(mine) is type(theirs), name


# ---------------------------------------------------------------------------------------------
# Parameters and buffers


def _assert_same(rows, named) -> None:
    """Analysed rows against real `named_parameters()`/`named_buffers()` of `self.m`: same names and
    shapes in the same order. The arguments are literals, so no row may be conditional, unknown or
    stand for several copies."""
    assert [(r.name, r.shape) for r in rows] == [(f"m.{n}", list(t.shape)) for n, t in named]
    assert [(r.name, r.condition, r.unknown, r.repeat) for r in rows] == [(r.name, None, None, 1) for r in rows]


@pytest.mark.parametrize("call", CASES, ids=CASES)
def test_parameters_match_pytorch(call):
    _assert_same(_analysed(call).parameters(), _real(call).named_parameters())


@pytest.mark.parametrize("call", CASES, ids=CASES)
def test_buffers_match_pytorch(call):
    _assert_same(_analysed(call).buffers(), _real(call).named_buffers())


def test_every_registering_entry_has_cases():
    covered = {_layer_name(call) for call in CASES}
    registering = {s.name for s in SPECS if s.build is not None}
    assert registering - covered == set()


SHARED_BUFFER = """\
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("class_weights", torch.ones(3))
        self.loss = nn.CrossEntropyLoss(weight=self.class_weights)
        self.other = nn.BCEWithLogitsLoss(pos_weight=torch.ones(2))
"""


def test_buffer_passed_to_a_loss_is_counted_once():
    # named_buffers() skips a tensor it has already yielded: `loss.weight` is `class_weights`.
    rows = _analysed_source(SHARED_BUFFER).buffers()
    namespace: dict = {}
    exec(SHARED_BUFFER, namespace)
    with torch.device("meta"):
        real = namespace["M"]()
    assert [(r.name, r.shape) for r in rows] == [(n, list(b.shape)) for n, b in real.named_buffers()]


# ---------------------------------------------------------------------------------------------
# Lazy modules


def test_every_lazy_entry_has_a_case():
    assert {s.name for s in SPECS if s.lazy} == {_layer_name(call) for call in LAZY}


@pytest.mark.parametrize("call", LAZY, ids=LAZY)
def test_lazy_module_is_one_unknown_row(call):
    real = _real(call)
    assert any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in real.parameters())
    (row,) = _analysed(call).parameters()
    assert row.shape is None
    assert isinstance(row.unknown, str) and row.unknown
