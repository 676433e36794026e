"""Activations: torch/nn/modules/activation.py (MultiheadAttention lives in transformer.py)."""

from .spec import Args, Built, LayerSpec

ANY = "*args, **kwargs"


def _prelu(a: Args) -> Built:
    b = Built()
    b.param("weight", a.size("num_parameters"))
    return b


def _inplace(name: str, params: str) -> LayerSpec:
    return LayerSpec(name, params, inplace_arg="inplace")


LAYERS = [
    LayerSpec("PReLU", "num_parameters=1, init=0.25, device=None, dtype=None", _prelu),
    _inplace("ReLU", "inplace=False"),
    _inplace("ReLU6", "inplace=False"),
    _inplace("LeakyReLU", "negative_slope=0.01, inplace=False"),
    _inplace("ELU", "alpha=1.0, inplace=False"),
    _inplace("CELU", "alpha=1.0, inplace=False"),
    _inplace("SELU", "inplace=False"),
    _inplace("SiLU", "inplace=False"),
    _inplace("Mish", "inplace=False"),
    _inplace("Hardswish", "inplace=False"),
    _inplace("Hardsigmoid", "inplace=False"),
    _inplace("Hardtanh", "min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None"),
    _inplace("RReLU", "lower=0.125, upper=0.3333333333333333, inplace=False"),
    _inplace("Threshold", "threshold, value, inplace=False"),
    LayerSpec("GELU", "approximate='none'"),
    LayerSpec("GLU", "dim=-1"),
    LayerSpec("Sigmoid", ANY),
    LayerSpec("Tanh", ANY),
    LayerSpec("LogSigmoid", ANY),
    LayerSpec("Softsign", ANY),
    LayerSpec("Tanhshrink", ANY),
    LayerSpec("Softmax2d", ANY),
    LayerSpec("Softmax", "dim=None"),
    LayerSpec("Softmin", "dim=None"),
    LayerSpec("LogSoftmax", "dim=None"),
    LayerSpec("Softplus", "beta=1.0, threshold=20.0"),
    LayerSpec("Softshrink", "lambd=0.5"),
    LayerSpec("Hardshrink", "lambd=0.5"),
]
