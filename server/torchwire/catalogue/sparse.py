"""Embeddings: torch/nn/modules/sparse.py."""

from .spec import Args, Built, LayerSpec

DEVICE = "device=None, dtype=None"


def _embedding(a: Args) -> Built:
    b = Built()
    b.param("weight", a.size("num_embeddings"), a.size("embedding_dim"))
    return b


LAYERS = [
    LayerSpec(
        "Embedding",
        "num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, "
        f"sparse=False, _weight=None, _freeze=False, {DEVICE}",
        _embedding,
    ),
    LayerSpec(
        "EmbeddingBag",
        "num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, mode='mean', "
        f"sparse=False, _weight=None, include_last_offset=False, padding_idx=None, {DEVICE}",
        _embedding,
    ),
]
