"""Modules that register no parameters: dropout, pooling, padding, reshaping, resampling,
distances and losses."""

from .spec import Args, Built, LayerSpec

POOL = "kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False"
AVG_POOL_1D = "kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True"
AVG_POOL = f"{AVG_POOL_1D}, divisor_override=None"
LP_POOL = "norm_type, kernel_size, stride=None, ceil_mode=False"
FRACTIONAL = "kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None"
UNPOOL = "kernel_size, stride=None, padding=0"
LOSS = "size_average=None, reduce=None, reduction='mean'"
WEIGHTED_LOSS = f"weight=None, {LOSS}"


def _weights(*names: str):
    """A loss's optional weight tensors: `register_buffer(name, tensor)`, skipped when None."""

    def build(a: Args) -> Built:
        b = Built()
        for name in names:
            value = a[name]
            if value is None:
                continue
            # A tensor the analysis knows carries its dims; anything else is a tensor of unknown
            # shape, or None at run time.
            known = hasattr(value, "dims")
            b.tensor(name, value, condition=None if known else f"{a.condition_text(name)} is not None")
        return b

    return build


_DROPOUTS = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]

LAYERS = [
    *(LayerSpec(name, "p=0.5, inplace=False", inplace_arg="inplace") for name in _DROPOUTS),
    *(LayerSpec(f"MaxPool{n}d", POOL) for n in (1, 2, 3)),
    LayerSpec("AvgPool1d", AVG_POOL_1D),
    *(LayerSpec(f"AvgPool{n}d", AVG_POOL) for n in (2, 3)),
    *(LayerSpec(f"AdaptiveAvgPool{n}d", "output_size") for n in (1, 2, 3)),
    *(LayerSpec(f"AdaptiveMaxPool{n}d", "output_size, return_indices=False") for n in (1, 2, 3)),
    *(LayerSpec(f"LPPool{n}d", LP_POOL) for n in (1, 2, 3)),
    *(LayerSpec(f"FractionalMaxPool{n}d", FRACTIONAL) for n in (2, 3)),
    *(LayerSpec(f"MaxUnpool{n}d", UNPOOL) for n in (1, 2, 3)),
    *(LayerSpec(f"{kind}Pad{n}d", "padding") for kind in ("Zero", "Reflection", "Replication", "Circular") for n in (1, 2, 3)),
    *(LayerSpec(f"ConstantPad{n}d", "padding, value") for n in (1, 2, 3)),
    LayerSpec("Flatten", "start_dim=1, end_dim=-1"),
    LayerSpec("Unflatten", "dim, unflattened_size"),
    LayerSpec("Fold", "output_size, kernel_size, dilation=1, padding=0, stride=1"),
    LayerSpec("Unfold", "kernel_size, dilation=1, padding=0, stride=1"),
    LayerSpec("PixelShuffle", "upscale_factor"),
    LayerSpec("PixelUnshuffle", "downscale_factor"),
    LayerSpec("ChannelShuffle", "groups"),
    LayerSpec("Upsample", "size=None, scale_factor=None, mode='nearest', align_corners=None, recompute_scale_factor=None"),
    LayerSpec("UpsamplingNearest2d", "size=None, scale_factor=None"),
    LayerSpec("UpsamplingBilinear2d", "size=None, scale_factor=None"),
    LayerSpec("CosineSimilarity", "dim=1, eps=1e-08"),
    LayerSpec("PairwiseDistance", "p=2.0, eps=1e-06, keepdim=False"),
    # Losses register their optional weights as buffers, never as parameters: the weighted ones
    # say so with _weights, or a CrossEntropyLoss(weight=...) would seem to register nothing.
    LayerSpec("L1Loss", LOSS),
    LayerSpec("MSELoss", LOSS),
    LayerSpec(
        "CrossEntropyLoss",
        "weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean', label_smoothing=0.0",
        _weights("weight"),
    ),
    LayerSpec(
        "NLLLoss",
        "weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean'",
        _weights("weight"),
    ),
    LayerSpec("BCELoss", WEIGHTED_LOSS, _weights("weight")),
    LayerSpec("BCEWithLogitsLoss", f"{WEIGHTED_LOSS}, pos_weight=None", _weights("weight", "pos_weight")),
    LayerSpec("KLDivLoss", f"{LOSS}, log_target=False"),
    LayerSpec("HuberLoss", "reduction='mean', delta=1.0"),
    LayerSpec("SmoothL1Loss", f"{LOSS}, beta=1.0"),
    LayerSpec("SoftMarginLoss", LOSS),
    LayerSpec("CTCLoss", "blank=0, reduction='mean', zero_infinity=False"),
    LayerSpec("PoissonNLLLoss", "log_input=True, full=False, size_average=None, eps=1e-08, reduce=None, reduction='mean'"),
    LayerSpec("GaussianNLLLoss", "*, full=False, eps=1e-06, reduction='mean'"),
    LayerSpec("MarginRankingLoss", f"margin=0.0, {LOSS}"),
    LayerSpec("HingeEmbeddingLoss", f"margin=1.0, {LOSS}"),
    LayerSpec("CosineEmbeddingLoss", f"margin=0.0, {LOSS}"),
    LayerSpec("MultiLabelMarginLoss", LOSS),
    LayerSpec("MultiLabelSoftMarginLoss", WEIGHTED_LOSS, _weights("weight")),
    LayerSpec("MultiMarginLoss", f"p=1, margin=1.0, {WEIGHTED_LOSS}", _weights("weight")),
    LayerSpec("TripletMarginLoss", f"margin=1.0, p=2.0, eps=1e-06, swap=False, {LOSS}"),
    LayerSpec("TripletMarginWithDistanceLoss", "*, distance_function=None, margin=1.0, swap=False, reduction='mean'"),
]
