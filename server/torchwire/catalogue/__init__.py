"""The layer catalogue: what each `torch.nn` constructor registers, from its arguments."""

from __future__ import annotations

from . import activation, containers, conv, linear, normalization, parameterless, recurrent, sparse, transformer
from .spec import LayerSpec

CATALOGUE: dict[str, LayerSpec] = {
    spec.qualified: spec
    for family in (linear, conv, normalization, sparse, recurrent, transformer, activation, parameterless, containers)
    for spec in family.LAYERS
}


def lookup(qualified: str) -> LayerSpec | None:
    return CATALOGUE.get(qualified)
