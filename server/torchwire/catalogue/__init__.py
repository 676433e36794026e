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


def nn_names() -> list[str]:
    """The `torch.nn` names `from torch.nn import *` binds that the analysis knows of."""
    return [q.rsplit(".", 1)[-1] for q in CATALOGUE if q.startswith("torch.nn.")] + ["Module", "Parameter", "functional", "init"]
