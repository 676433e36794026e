"""Convolutions: torch/nn/modules/conv.py."""

from ..engine.symbolic import floordiv
from .spec import Args, Built, LayerSpec

DEVICE = "device=None, dtype=None"
CONV = "in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros'"
TRANSPOSED = (
    "in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True, "
    "dilation=1, padding_mode='zeros'"
)
LAZY_CONV = "out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros'"
LAZY_TRANSPOSED = (
    "out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True, dilation=1, "
    "padding_mode='zeros'"
)


def _per_group(channels, groups):
    if channels is None or groups is None:
        return None
    return floordiv(channels, groups)


def _conv(n: int, transposed: bool):
    def build(a: Args) -> Built:
        b = Built()
        cin, cout, groups = a.size("in_channels"), a.size("out_channels"), a.size("groups")
        kernel = a.sizes("kernel_size", n)
        if transposed:
            b.param("weight", cin, _per_group(cout, groups), *kernel)
        else:
            b.param("weight", cout, _per_group(cin, groups), *kernel)
        b.param("bias", cout, when=a.flag("bias"), condition=a.condition_text("bias"))
        return b

    return build


LAYERS = [
    spec
    for n in (1, 2, 3)
    for spec in (
        LayerSpec(f"Conv{n}d", f"{CONV}, {DEVICE}", _conv(n, transposed=False)),
        LayerSpec(f"ConvTranspose{n}d", f"{TRANSPOSED}, {DEVICE}", _conv(n, transposed=True)),
        LayerSpec(f"LazyConv{n}d", f"{LAZY_CONV}, {DEVICE}", lazy=True),
        LayerSpec(f"LazyConvTranspose{n}d", f"{LAZY_TRANSPOSED}, {DEVICE}", lazy=True),
    )
]
