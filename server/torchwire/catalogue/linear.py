"""Linear layers: torch/nn/modules/linear.py."""

from .spec import Args, Built, LayerSpec

DEVICE = "device=None, dtype=None"


def _linear(a: Args) -> Built:
    b = Built()
    b.param("weight", a.size("out_features"), a.size("in_features"))
    b.param("bias", a.size("out_features"), when=a.flag("bias"), condition=a.condition_text("bias"))
    return b


def _bilinear(a: Args) -> Built:
    b = Built()
    b.param("weight", a.size("out_features"), a.size("in1_features"), a.size("in2_features"))
    b.param("bias", a.size("out_features"), when=a.flag("bias"), condition=a.condition_text("bias"))
    return b


LAYERS = [
    LayerSpec("Identity", "*args, **kwargs"),
    LayerSpec("Linear", f"in_features, out_features, bias=True, {DEVICE}", _linear),
    LayerSpec("Bilinear", f"in1_features, in2_features, out_features, bias=True, {DEVICE}", _bilinear),
    LayerSpec("LazyLinear", f"out_features, bias=True, {DEVICE}", lazy=True),
]
