"""Normalization layers: torch/nn/modules/{batchnorm,instancenorm,normalization}.py."""

from .spec import Args, Built, LayerSpec

DEVICE = "device=None, dtype=None"
BATCH_NORM = f"num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, {DEVICE}, *, bias=True"
SYNC_BATCH_NORM = (
    f"num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, process_group=None, {DEVICE}, "
    "*, bias=True"
)
INSTANCE_NORM = f"num_features, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False, {DEVICE}, *, bias=True"
LAZY_NORM = f"eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, {DEVICE}, *, bias=True"


def _both(a: Args, first: str, second: str) -> bool | None:
    x, y = a.flag(first), a.flag(second)
    if x is False or y is False:
        return False
    return True if (x and y) else None


def _batch_norm(a: Args) -> Built:
    b = Built()
    c = a.size("num_features")
    b.param("weight", c, when=a.flag("affine"), condition=a.condition_text("affine"))
    b.param("bias", c, when=_both(a, "affine", "bias"), condition="affine and bias")
    track = a.flag("track_running_stats")
    cond = a.condition_text("track_running_stats")
    b.buffer("running_mean", c, when=track, condition=cond)
    b.buffer("running_var", c, when=track, condition=cond)
    b.buffer("num_batches_tracked", when=track, condition=cond)
    return b


def _layer_norm(a: Args) -> Built:
    b = Built()
    shape = a.shape("normalized_shape") or (None,)
    b.param("weight", *shape, when=a.flag("elementwise_affine"), condition=a.condition_text("elementwise_affine"))
    b.param("bias", *shape, when=_both(a, "elementwise_affine", "bias"), condition="elementwise_affine and bias")
    return b


def _rms_norm(a: Args) -> Built:
    b = Built()
    shape = a.shape("normalized_shape") or (None,)
    b.param("weight", *shape, when=a.flag("elementwise_affine"), condition=a.condition_text("elementwise_affine"))
    return b


def _group_norm(a: Args) -> Built:
    b = Built()
    c = a.size("num_channels")
    b.param("weight", c, when=a.flag("affine"), condition=a.condition_text("affine"))
    b.param("bias", c, when=_both(a, "affine", "bias"), condition="affine and bias")
    return b


LAYERS = [
    *(LayerSpec(f"BatchNorm{n}d", BATCH_NORM, _batch_norm) for n in (1, 2, 3)),
    LayerSpec("SyncBatchNorm", SYNC_BATCH_NORM, _batch_norm),
    *(LayerSpec(f"InstanceNorm{n}d", INSTANCE_NORM, _batch_norm) for n in (1, 2, 3)),
    *(LayerSpec(f"LazyBatchNorm{n}d", LAZY_NORM, lazy=True) for n in (1, 2, 3)),
    *(LayerSpec(f"LazyInstanceNorm{n}d", LAZY_NORM, lazy=True) for n in (1, 2, 3)),
    LayerSpec("LayerNorm", f"normalized_shape, eps=1e-05, elementwise_affine=True, bias=True, {DEVICE}", _layer_norm),
    LayerSpec("RMSNorm", f"normalized_shape, eps=None, elementwise_affine=True, {DEVICE}", _rms_norm),
    LayerSpec("GroupNorm", f"num_groups, num_channels, eps=1e-05, affine=True, {DEVICE}, *, bias=True", _group_norm),
    LayerSpec("LocalResponseNorm", "size, alpha=0.0001, beta=0.75, k=1.0"),
    LayerSpec("CrossMapLRN2d", "size, alpha=0.0001, beta=0.75, k=1"),
]
