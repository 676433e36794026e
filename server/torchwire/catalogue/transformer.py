"""Attention and transformer layers: torch/nn/modules/{activation,transformer}.py."""

from ..engine.symbolic import is_size, mul
from ..engine.values import Entry, ModuleVal
from .containers import make_container
from .spec import Args, Built, LayerSpec, NotStatic

DEVICE = "device=None, dtype=None"
MHA = (
    "embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None, "
    f"batch_first=False, {DEVICE}"
)
ENCODER_LAYER = (
    "d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu', layer_norm_eps=1e-05, "
    f"batch_first=False, norm_first=False, bias=True, {DEVICE}"
)
TRANSFORMER = (
    "d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048, dropout=0.1, "
    "activation='relu', custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-05, batch_first=False, "
    f"norm_first=False, bias=True, {DEVICE}"
)


def _make(name: str, **args) -> ModuleVal:
    from . import lookup

    spec = lookup(f"torch.nn.{name}")
    bound, _ = spec.signature.bind([], args)
    return spec.instantiate(bound)


def _multihead_attention(a: Args) -> Built:
    embed = a.size("embed_dim")
    kdim = embed if a["kdim"] is None else a.size("kdim")
    vdim = embed if a["vdim"] is None else a.size("vdim")
    if embed is None or kdim is None or vdim is None:
        raise NotStatic("embed_dim, kdim and vdim must be known to tell packed from separate projections")
    bias, bias_text = a.flag("bias"), a.condition_text("bias")
    b = Built()
    if kdim == embed and vdim == embed:
        b.param("in_proj_weight", mul(embed, 3), embed)
    else:
        b.param("q_proj_weight", embed, embed)
        b.param("k_proj_weight", embed, kdim)
        b.param("v_proj_weight", embed, vdim)
    b.param("in_proj_bias", mul(embed, 3), when=bias, condition=bias_text)
    add_bias_kv = a.flag("add_bias_kv")
    b.param("bias_k", 1, 1, embed, when=add_bias_kv, condition=a.condition_text("add_bias_kv"))
    b.param("bias_v", 1, 1, embed, when=add_bias_kv, condition=a.condition_text("add_bias_kv"))
    b.children.append(("out_proj", _make("Linear", in_features=embed, out_features=embed, bias=a["bias"])))
    return b


def _transformer_layer(decoder: bool):
    def build(a: Args) -> Built:
        d, dff, bias = a["d_model"], a["dim_feedforward"], a["bias"]
        eps = a["layer_norm_eps"]
        b = Built()
        b.children.append(("self_attn", _make("MultiheadAttention", embed_dim=d, num_heads=a["nhead"], bias=bias)))
        if decoder:
            b.children.append(
                ("multihead_attn", _make("MultiheadAttention", embed_dim=d, num_heads=a["nhead"], bias=bias))
            )
        b.children.append(("linear1", _make("Linear", in_features=d, out_features=dff, bias=bias)))
        b.children.append(("dropout", _make("Dropout", p=a["dropout"])))
        b.children.append(("linear2", _make("Linear", in_features=dff, out_features=d, bias=bias)))
        norms = ("norm1", "norm2", "norm3") if decoder else ("norm1", "norm2")
        for name in norms:
            b.children.append((name, _make("LayerNorm", normalized_shape=d, eps=eps, bias=bias)))
        for name in ("dropout1", "dropout2", "dropout3") if decoder else ("dropout1", "dropout2"):
            b.children.append((name, _make("Dropout", p=a["dropout"])))
        if isinstance(a["activation"], ModuleVal):
            b.children.append(("activation", a["activation"]))
        return b

    return build


def _stack(layer_arg: str):
    def build(a: Args) -> Built:
        layer, count = a[layer_arg], a["num_layers"]
        if not isinstance(layer, ModuleVal):
            raise NotStatic(f"{layer_arg} is not a module the analysis can see")
        # The stack registers deep copies of the layer it is given, never the layer itself.
        b = Built()
        copies = Entry(layer, count=count if is_size(count) else None, fresh=True)
        b.children.append(("layers", make_container("ModuleList", [copies])))
        if isinstance(a["norm"], ModuleVal):
            b.children.append(("norm", a["norm"]))
        return b

    return build


def _transformer(a: Args) -> Built:
    d, eps, bias = a["d_model"], a["layer_norm_eps"], a["bias"]
    layer_args = dict(
        d_model=d, nhead=a["nhead"], dim_feedforward=a["dim_feedforward"], dropout=a["dropout"],
        activation=a["activation"], layer_norm_eps=eps, bias=bias,
    )
    b = Built()
    for part, custom, count in (
        ("encoder", "custom_encoder", "num_encoder_layers"),
        ("decoder", "custom_decoder", "num_decoder_layers"),
    ):
        if isinstance(a[custom], ModuleVal):
            b.children.append((part, a[custom]))
            continue
        if a[custom] is not None:
            raise NotStatic(f"{custom} is not a module the analysis can see")
        stack = "TransformerEncoder" if part == "encoder" else "TransformerDecoder"
        layer = _make(stack + "Layer", **layer_args)
        norm = _make("LayerNorm", normalized_shape=d, eps=eps, bias=bias)
        layer_kw = "encoder_layer" if part == "encoder" else "decoder_layer"
        b.children.append((part, _make(stack, **{layer_kw: layer, "num_layers": a[count], "norm": norm})))
    return b


LAYERS = [
    LayerSpec("MultiheadAttention", MHA, _multihead_attention),
    LayerSpec("TransformerEncoderLayer", ENCODER_LAYER, _transformer_layer(decoder=False)),
    LayerSpec("TransformerDecoderLayer", ENCODER_LAYER, _transformer_layer(decoder=True)),
    LayerSpec(
        "TransformerEncoder",
        "encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True",
        _stack("encoder_layer"),
    ),
    LayerSpec("TransformerDecoder", "decoder_layer, num_layers, norm=None", _stack("decoder_layer")),
    LayerSpec("Transformer", TRANSFORMER, _transformer),
]
