"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict.

Their contents come from the code that fills them (literals, comprehensions, `.append`, ...),
which the interpreter follows; the entries here only carry their signatures.
"""

from ..engine.values import Entry, Members, ModuleVal
from .spec import LayerSpec

LAYERS = [
    LayerSpec("Sequential", "*args", container="Sequential"),
    LayerSpec("ModuleList", "modules=None", container="ModuleList"),
    LayerSpec("ModuleDict", "modules=None", container="ModuleDict"),
    LayerSpec("ParameterList", "values=None", container="ParameterList"),
    LayerSpec("ParameterDict", "parameters=None", container="ParameterDict"),
]
BY_KIND = {spec.container: spec for spec in LAYERS}


def make_container(kind: str, entries: list[Entry], node=None) -> ModuleVal:
    spec = BY_KIND[kind]
    module = ModuleVal(display=f"nn.{kind}", qualified=spec.qualified, node=node, spec=spec)
    module._members = Members(entries=entries)
    return module
