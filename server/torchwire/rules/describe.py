"""Words for messages: how to name a module, a container, a count of parameters."""

from __future__ import annotations

from ..engine.dataflow import ModRef
from ..engine.params import named_tensors, totals
from ..engine.symbolic import Sym
from ..engine.values import ModuleVal


def kind(module: ModuleVal) -> str:
    """`nn.Linear`, `Block`."""
    return module.display


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def count_text(n: object) -> str:
    if isinstance(n, int):
        return f"{n:,}"
    if isinstance(n, Sym):
        return str(n)
    return "an unknown number of"


def parameters_of(modules: list[ModuleVal]) -> str:
    """`430 parameters` for the modules together (shared ones once)."""
    from ..engine.values import Members

    holder = ModuleVal(display="", qualified="")
    holder._members = Members(children={str(i): _slot(m) for i, m in enumerate(modules)})
    total = totals(named_tensors(holder)).count
    if isinstance(total, int):
        return plural(total, "parameter") if total else "no parameters"
    return f"{count_text(total)} parameters"


def _slot(module: ModuleVal):
    from ..engine.values import Slot

    return Slot(module)


def container_part(ref: ModRef) -> str:
    """`self.layers` (nn.ModuleList), or the part of it a loop runs over: `self.layers[1:]`
    (nn.ModuleList)."""
    if ref.selection is None:
        return f"`{ref.owner_text}` ({ref.owner.display})"
    return f"`{ref.selection.text}` ({ref.owner.display})"


def ref_subject(ref: ModRef) -> str:
    """What a call's callee is, for a sentence: "`layer`, a module of `self.layers` (nn.ModuleList)"."""
    if ref.origin in ("loop", "element") and ref.owner is not None:
        return f"the modules of {container_part(ref)}"
    if ref.origin == "plain-element":
        return f"the modules in the list `{ref.owner_text}`"
    module = ref.single
    if module is not None:
        return f"`{ref.text}` ({module.display})"
    return f"`{ref.text}`"
