"""Parameter counts shown above model code (code lenses): above each `nn.Module` class, and above
each container its `__init__` stores on self (`self.layers = nn.ModuleList(...)`).

Listing the lenses reads the syntax tree only; a lens's title (its count) is computed when an
editor shows it (`codeLens/resolve`), from the same tables the hovers show.

Engine-level: an `Analysis` in, positions and titles out.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .engine.analysis import Analysis
from .engine.model import ModuleClass
from .engine.params import named_tensors, totals
from .engine.source import Range
from .engine.symbolic import Sym
from .engine.values import ModuleVal
from .explain import class_name_range
from .tables import human_bytes

CONTAINERS = ("ModuleList", "Sequential", "ModuleDict", "ParameterList", "ParameterDict")
MAX_EXPRESSION = 64  # characters of a symbolic count shown whole


@dataclass(frozen=True)
class Lens:
    range: Range  # the class's name, or the assignment's target (`self.layers`)
    class_name: str
    attribute: str | None = None  # None: the whole class
    dataflow: bool = False  # the lens that opens forward's dataflow picture


def code_lenses(analysis: Analysis) -> list[Lens]:
    out: list[Lens] = []
    for cls in analysis.module_classes:
        out.append(Lens(class_name_range(analysis, cls.node), cls.name))
        if "forward" in cls.methods:
            out.append(Lens(class_name_range(analysis, cls.node), cls.name, dataflow=True))
        init = next((s for s in cls.node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "__init__"), None)
        for stmt in init.body if init is not None else ():
            attribute = _container_assigned(stmt)
            if attribute is not None:
                out.append(Lens(analysis.source.node_range(stmt.targets[0]), cls.name, attribute))
    return out


DATAFLOW_TITLE = "dataflow"


def lens_title(analysis: Analysis, lens: Lens) -> str | None:
    """`430 parameters · 1.7 KB (float32)`; None when the class or attribute is gone."""
    if lens.dataflow:
        return DATAFLOW_TITLE
    cls = next((c for c in analysis.module_classes if c.name == lens.class_name), None)
    if cls is None:
        return None
    module = cls.root if lens.attribute is None else _child(cls, lens.attribute)
    if module is None:
        return None
    rows = named_tensors(module, "params", lens.attribute or "")
    return count_title(totals(rows))


def count_title(t) -> str:
    count = t.count
    if count is None:
        return "parameters not known"
    if isinstance(count, Sym):
        names = ", ".join(sorted(count.atoms))
        text = str(count)
        return f"{text} parameters (symbolic: {names})" if len(text) <= MAX_EXPRESSION else f"symbolic parameters ({names})"
    if count == 0:
        return "no parameters"
    prefix = "" if t.exact else "up to "
    return f"{prefix}{count:,} parameter{'s' if count != 1 else ''} · {human_bytes(4 * count)} (float32)"


def _container_assigned(stmt: ast.stmt) -> str | None:
    """`attr` of `self.attr = nn.ModuleList(...)` (or another container)."""
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or not isinstance(stmt.value, ast.Call):
        return None
    target, func = stmt.targets[0], stmt.value.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in CONTAINERS or not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"):
        return None
    return target.attr


def _child(cls: ModuleClass, attribute: str) -> ModuleVal | None:
    slot = cls.root.members.children.get(attribute)
    return slot.value if slot is not None and isinstance(slot.value, ModuleVal) else None


MAX_TABLE_ROWS = 2000


def parameter_page(analysis: Analysis, class_name: str, attribute: str | None) -> str | None:
    """What a click on a lens opens: the class's (or container's) summary, then every parameter
    as `named_parameters()` would list it."""
    from .explain import class_summary, member_summary
    from .tables import markdown_table

    cls = next((c for c in analysis.module_classes if c.name == class_name), None)
    if cls is None:
        return None
    module = cls.root if attribute is None else _child(cls, attribute)
    if module is None:
        return None
    summary = class_summary(cls) if attribute is None else member_summary(cls, attribute) or ""
    title = f"# {class_name}" + (f".{attribute}" if attribute else "")
    rows = named_tensors(module, "params", attribute or "")
    return "\n".join([title, "", summary, "", "## named_parameters()", "", markdown_table(rows, MAX_TABLE_ROWS) if rows else "_No parameters._"])
