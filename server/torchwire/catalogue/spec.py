"""How a catalogue entry describes a `torch.nn` constructor.

An entry gives the constructor's signature (as in PyTorch 2.13, defaults included) and a `build`
function from the bound arguments to what the module registers: parameters with their shapes,
buffers, and child modules. `tests/test_catalogue.py` instantiates every entry with real PyTorch
on the meta device and compares names and shapes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable

from ..engine.cached import cached_property
from ..engine.symbolic import Dim, Sym, is_size
from ..engine.values import UNKNOWN, Entry, Members, ModuleVal, ParamVal, SeqVal, Slot, may_hold_modules, truth

REQUIRED: Any = object()


class NotStatic(Exception):
    """The arguments do not pin down what the constructor registers."""


@dataclass(frozen=True)
class Signature:
    positional: tuple[tuple[str, Any], ...]  # (name, default or REQUIRED)
    keyword_only: tuple[tuple[str, Any], ...] = ()
    varargs: str | None = None  # name of *args, for Sequential and friends
    varkw: bool = False  # accepts **kwargs (Identity)

    @staticmethod
    def parse(text: str) -> "Signature":
        """`"in_features, out_features, bias=True, *, device=None"` as a Signature."""
        fn = ast.parse(f"def f({text}): pass").body[0]
        a = fn.args
        def with_defaults(args: list[ast.arg], defaults: list) -> tuple:
            pad = [REQUIRED] * (len(args) - len(defaults))
            return tuple((x.arg, d if d is REQUIRED else ast.literal_eval(d)) for x, d in zip(args, pad + defaults))
        kw_defaults = [REQUIRED if d is None else d for d in a.kw_defaults]
        return Signature(
            positional=with_defaults(a.posonlyargs + a.args, list(a.defaults)),
            keyword_only=tuple((x.arg, d if d is REQUIRED else ast.literal_eval(d)) for x, d in zip(a.kwonlyargs, kw_defaults)),
            varargs=a.vararg.arg if a.vararg else None,
            varkw=a.kwarg is not None,
        )

    def defaults(self) -> dict[str, Any]:
        return {n: d for n, d in self.positional + self.keyword_only if d is not REQUIRED}

    def bind(self, args: list[Any], kwargs: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Bind call arguments; returns (values, error). Missing optional values get defaults."""
        bound: dict[str, Any] = {}
        names = [n for n, _ in self.positional]
        if self.varargs is not None:
            bound[self.varargs] = list(args)
        else:
            if len(args) > len(names):
                return bound, f"takes {len(names)} positional arguments but {len(args)} were given"
            bound.update(zip(names, args))
        known = {n for n, _ in self.positional + self.keyword_only}
        for key, value in kwargs.items():
            if key not in known:
                if self.varkw:
                    continue
                return bound, f"got an unexpected keyword argument '{key}'"
            if key in bound:
                return bound, f"got multiple values for argument '{key}'"
            bound[key] = value
        for name, default in self.positional + self.keyword_only:
            if name not in bound:
                if default is REQUIRED:
                    return bound, f"missing required argument '{name}'"
                bound[name] = default
        return bound, None


class Args:
    """Bound constructor arguments, read as sizes and flags."""

    def __init__(self, values: dict[str, Any]):
        self.values = values

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name, UNKNOWN)

    def size(self, name: str) -> Dim:
        value = self[name]
        return value if is_size(value) else None

    def flag(self, name: str) -> bool | None:
        return truth(self[name])

    def condition_text(self, name: str) -> str:
        value = self[name]
        return str(value) if isinstance(value, Sym) else name

    def sizes(self, name: str, n: int) -> tuple[Dim, ...]:
        """An `int | tuple` argument such as kernel_size, as n sizes."""
        value = self[name]
        if is_size(value):
            return (value,) * n
        if isinstance(value, SeqVal) and len(value.entries) == n and all(e.count == 1 for e in value.entries):
            return tuple(e.value if is_size(e.value) else None for e in value.entries)
        return (None,) * n

    def shape(self, name: str) -> tuple[Dim, ...] | None:
        """An `int | list | tuple | torch.Size` shape argument (LayerNorm's normalized_shape)."""
        value = self[name]
        if is_size(value):
            return (value,)
        if isinstance(value, SeqVal) and all(e.count == 1 for e in value.entries):
            return tuple(e.value if is_size(e.value) else None for e in value.entries)
        return None


@dataclass
class Built:
    """What a constructor registers, in registration order."""

    params: list[tuple[str, tuple[Dim, ...] | None, str | None]] = field(default_factory=list)
    buffers: list[tuple[str, tuple[Dim, ...] | ParamVal | None, str | None]] = field(default_factory=list)
    children: list[tuple[str, ModuleVal]] = field(default_factory=list)
    entries: list[Entry] | None = None

    def param(self, name: str, *dims: Dim, condition: str | None = None, when: bool | None = True) -> None:
        """Register a parameter; `when` False drops it, None marks it conditional."""
        if when is False:
            return
        self.params.append((name, tuple(dims), condition if when is None else None))

    def buffer(self, name: str, *dims: Dim, condition: str | None = None, when: bool | None = True) -> None:
        if when is False:
            return
        self.buffers.append((name, tuple(dims), condition if when is None else None))

    def tensor(self, name: str, value: Any, condition: str | None = None) -> None:
        """Register a tensor argument as a buffer: the very tensor when the analysis has one (so a
        buffer passed on is counted once, as `named_buffers()` does), else by its dims."""
        self.buffers.append((name, value if isinstance(value, ParamVal) else getattr(value, "dims", None), condition))

    def members(self) -> Members:
        def tensor(d: Any) -> ParamVal:
            return d if isinstance(d, ParamVal) else ParamVal(d)

        return Members(
            params={n: Slot(tensor(d), c) for n, d, c in self.params},
            buffers={n: Slot(tensor(d), c) for n, d, c in self.buffers},
            children={n: Slot(m) for n, m in self.children},
            entries=self.entries,
        )


@dataclass(frozen=True)
class LayerSpec:
    name: str  # the public class name, "Linear"
    params: str  # the constructor's parameters as written in PyTorch, "in_features, out_features, ..."
    build: Callable[[Args], Built] | None = None  # None: registers nothing
    container: str | None = None  # "ModuleList", "Sequential", "ModuleDict", "ParameterList", ...
    lazy: bool = False  # shapes are inferred at the first forward call
    inplace_arg: str | None = None  # name of the `inplace` flag, for activations
    doc: str = ""

    @cached_property
    def signature(self) -> Signature:
        return Signature.parse(self.params)

    @property
    def qualified(self) -> str:
        return f"torch.nn.{self.name}"

    @property
    def registers_parameters(self) -> bool:
        return self.build is not None or self.lazy or self.container is not None

    def acts_in_place(self, args: dict[str, Any]) -> bool:
        return self.inplace_arg is not None and truth(args.get(self.inplace_arg, False)) is True

    def instantiate(self, args: dict[str, Any], node: Any = None) -> ModuleVal:
        module = ModuleVal(display=f"nn.{self.name}", qualified=self.qualified, node=node, spec=self, args=args)
        module.fed_modules = self.container is not None or any(may_hold_modules(v) for v in args.values())
        if self.lazy:
            module.unknown = f"nn.{self.name} infers its shapes at the first forward call"
        if self.build is not None:
            module._expand = self._expand
        return module

    def _expand(self, module: ModuleVal) -> Members:
        try:
            return self.build(Args(module.args)).members()
        except NotStatic as reason:
            module.unknown = str(reason)
            return Members()
