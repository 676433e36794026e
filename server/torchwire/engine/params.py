"""The table `named_parameters()` would print, computed from the module model.

Follows PyTorch's order and de-duplication: a module's own parameters first, then its children
depth-first in registration order; a module or parameter reached twice is listed once, under
the first name it was reached by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from . import tying
from .symbolic import Dim, Sym, add, dim_text, is_size, mul, product
from .values import Choice, Entry, ModuleVal, Opaque, ParamVal, Slot, is_unknown


@dataclass
class ParamRow:
    name: str
    dims: tuple[Dim, ...] | None  # None: the module holding it could not be analysed
    repeat: Dim = 1  # how many copies the name stands for (`blocks.*.weight`)
    condition: str | None = None  # registered only when this holds
    unknown: str | None = None  # why a module's contents are unknown
    module: ModuleVal | None = None  # the module registering the parameter

    @property
    def numel(self) -> Dim:
        if self.dims is None or self.repeat is None:
            return None
        size = product(self.dims)
        return None if size is None else mul(size, self.repeat)

    @property
    def shape(self) -> list[int] | None:
        if self.dims is None or not all(isinstance(d, int) for d in self.dims):
            return None
        return list(self.dims)

    @property
    def expr(self) -> list[str] | None:
        return None if self.dims is None else [dim_text(d) for d in self.dims]

    def shape_text(self) -> str:
        return "?" if self.dims is None else "[" + ", ".join(dim_text(d) for d in self.dims) + "]"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _and(a: str | None, b: str | None) -> str | None:
    if a and b:
        return f"{a} and {b}"
    return a or b


def named_tensors(root: ModuleVal, kind: str = "params", prefix: str = "") -> list[ParamRow]:
    """`named_parameters()` (kind "params") or `named_buffers()` (kind "buffers") of `root`."""
    rows: list[ParamRow] = []
    seen_modules: set[tuple] = set()
    seen_tensors: set[tuple] = set()

    def walk(module: ModuleVal, prefix: str, copy: tuple, repeat: Dim, condition: str | None) -> None:
        key = (copy, module.uid)
        if key in seen_modules:
            return
        seen_modules.add(key)
        members = module.members  # may discover that the module is unknown
        if members.ties_pending:
            tying.apply(module)
        if module.unknown:
            rows.append(ParamRow(_join(prefix, "*"), None, repeat, condition, module.unknown, module))
            return
        own = members.params if kind == "params" else members.buffers
        for name, slot in own.items():
            for alt in _alternatives(slot):
                tensor = alt.value
                if not isinstance(tensor, ParamVal):
                    continue
                tkey = (copy, id(tensor))
                if tkey in seen_tensors:
                    continue
                seen_tensors.add(tkey)
                reps = _times(repeat, alt.repeat)
                rows.append(ParamRow(_join(prefix, name), tensor.dims, reps, _and(condition, alt.condition), None, module))
        if members.entries is not None:
            walk_entries(members.entries, prefix, copy, repeat, condition)
            if module.unknown_contents:
                rows.append(ParamRow(_join(prefix, "*"), None, repeat, condition, "filled from values torchwire cannot see", module))
        for name, slot in members.children.items():
            for alt in _alternatives(slot):
                if isinstance(alt.value, ModuleVal):
                    walk(alt.value, _join(prefix, name), copy, _times(repeat, alt.repeat), _and(condition, alt.condition))
        for name, why in members.gaps.items():
            rows.append(ParamRow(_join(prefix, name), None, repeat, condition, why, module))

    def walk_entries(entries: list[Entry], prefix: str, copy: tuple, repeat: Dim, condition: str | None) -> None:
        index: Dim = 0
        for entry in entries:
            cond = _and(condition, entry.condition)
            value = entry.value
            if entry.count == 1:
                name = entry.key if entry.key is not None else _index_text(index)
                visit(value, _join(prefix, name), copy, repeat, cond)
            elif isinstance(entry.count, int) and entry.fresh:
                for i in range(entry.count):
                    name = _index_text(add(index, i)) if index is not None else "?"
                    visit(value, _join(prefix, name), copy + ((id(entry), i),), repeat, cond)
            elif isinstance(entry.count, int):  # the same object n times: registered once
                for i in range(entry.count):
                    visit(value, _join(prefix, _index_text(add(index, i)) if index is not None else "?"), copy, repeat, cond)
            else:  # a symbolic number of copies
                reps = _times(repeat, entry.count) if entry.fresh else repeat
                visit(value, _join(prefix, "*"), copy + ((id(entry), "*"),), reps, cond)
            index = None if index is None or entry.count is None else add(index, entry.count)

    def visit(value: Any, prefix: str, copy: tuple, repeat: Dim, condition: str | None) -> None:
        if isinstance(value, Choice):
            for option, cond in zip(value.options, value.conditions):
                visit(option, prefix, copy, repeat, _and(condition, cond))
        elif isinstance(value, ModuleVal):
            walk(value, prefix, copy, repeat, condition)
        elif isinstance(value, ParamVal) and kind == "params":  # ParameterList / ParameterDict
            tkey = (copy, id(value))
            if tkey not in seen_tensors:
                seen_tensors.add(tkey)
                rows.append(ParamRow(prefix, value.dims, repeat, condition))
        elif is_unknown(value):  # a container holds only modules (or parameters): which one is unknown
            why = value.reason if isinstance(value, Opaque) else "an element torchwire cannot see"
            rows.append(ParamRow(prefix, None, repeat, condition, why))

    walk(root, prefix, (), 1, None)
    return rows


def expand_modules(root: ModuleVal) -> Iterator[ModuleVal]:
    """Builds what `root` holds one module at a time (a class's `__init__` is interpreted when
    its members are first read): each step expands the module it yields, so that whoever
    iterates decides how much to do at once (a model's 32 layers are 32 short steps)."""
    seen: set[int] = set()
    stack: list[Any] = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, Choice):
            stack.extend(value.options)
            continue
        if not isinstance(value, ModuleVal) or id(value) in seen:
            continue
        seen.add(id(value))
        members = value.members
        yield value
        for slot in members.children.values():
            stack.extend(alt.value for alt in _alternatives(slot))
        stack.extend(entry.value for entry in members.entries or ())


def _alternatives(slot: Slot) -> Iterator[Slot]:
    yield slot
    yield from slot.alternatives


def _times(a: Dim, b: Dim) -> Dim:
    if a is None or b is None:
        return None
    return mul(a, b)


def _index_text(index: Dim) -> str:
    return "?" if index is None else str(index)


@dataclass
class Totals:
    count: Dim  # total number of elements, None if any row is unknown
    exact: bool  # no row is conditional or symbolic
    rows: int


def totals(rows: list[ParamRow]) -> Totals:
    acc: Dim = 0
    exact = True
    for row in rows:
        n = row.numel
        if row.condition:
            exact = False
        if n is None:
            acc = None
            exact = False
        elif acc is not None:
            acc = add(acc, n)
        if isinstance(n, Sym):
            exact = False
    return Totals(acc, exact and is_size(acc) and not isinstance(acc, Sym), len(rows))
