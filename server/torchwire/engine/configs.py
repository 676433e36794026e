"""Instances of plain classes, configs above all: what `LlamaConfig(hidden_size=64)` or a
`GPTConfig` dataclass holds once built, as far as the code shows it.

Configs come in three shapes, all read the same way along the class hierarchy (bases first,
so that a subclass's defaults win): dataclasses (fields with defaults, then `__post_init__`),
transformers 5's dataclass-like configs (fields inherited from a `@dataclass` base, kwargs
that are not fields passed on to `__post_init__`), and classes whose `__init__` stores its
arguments on `self` (transformers 4's `PretrainedConfig` style).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from .values import UNKNOWN, ObjectVal, SeqVal

if TYPE_CHECKING:
    from .interpreter import Interpreter
    from .model import ModuleClass

# A config's __post_init__ or __init__ may do a lot that no size depends on (logging,
# validation, hub bookkeeping): it gets this many statements of its own, and what it had set
# when they run out is kept.
CONFIG_STEPS = 4_000

DATACLASS_DECORATORS = {"dataclass", "dataclasses.dataclass", "pydantic.dataclasses.dataclass", "dataclass_transform", "typing_extensions.dataclass_transform", "typing.dataclass_transform"}


def hierarchy(cls: "ModuleClass") -> tuple["ModuleClass", ...]:
    """The class and its readable bases, most derived first (Python's MRO for the usual single
    and mixin inheritance). Kept on the class: a config's attributes are read thousands of
    times, each along its hierarchy, and a class's bases are decided once."""
    known = cls.__dict__.get("_hierarchy")
    if known is None:
        known = cls.__dict__["_hierarchy"] = tuple(_hierarchy(cls))
    return known


def _hierarchy(cls: "ModuleClass") -> list["ModuleClass"]:
    # Depth first, bases in order; a loop, not a recursive closure (a cycle that would keep
    # the classes, and their file's model, until a full collection).
    order: list[ModuleClass] = []
    stack = [(cls, 0)]
    while stack:
        c, depth = stack.pop()
        if depth > 20 or any(c is seen for seen in order):
            continue
        order.append(c)
        stack.extend((base, depth + 1) for base in reversed(c.local_bases))
    return order


def is_dataclass_like(classes: list["ModuleClass"]) -> bool:
    for c in classes:
        for decorator in c.node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = c.ctx.imports.qualify(target) or (target.id if isinstance(target, ast.Name) else "")
            if name in DATACLASS_DECORATORS:
                return True
    return False


def _field_default(interp: "Interpreter", node: ast.expr, depth: int) -> Any:
    """A field's default: `x: int = 3`, or `field(default=3)`."""
    from .interpreter import Frame

    if isinstance(node, ast.Call):
        name = interp.ctx.imports.qualify(node.func) or (node.func.id if isinstance(node.func, ast.Name) else "")
        if name in ("dataclasses.field", "field", "pydantic.Field"):
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            return interp.eval(default, Frame({}, depth=depth)) if default is not None else UNKNOWN
    return interp.eval(node, Frame({}, depth=depth))


def build_object(interp: "Interpreter", definition: "ModuleClass", args: list[Any], kwargs: dict[str, Any], depth: int, label: str | None) -> ObjectVal:
    from .interpreter import Budget, Frame, _Return

    classes = hierarchy(definition)
    obj = ObjectVal(definition.name, {}, label, definition)
    for cls in reversed(classes):  # class attributes, bases first
        own = interp.for_file(cls.ctx)
        for name, node in cls.class_attributes().items():
            obj.fields[name] = _field_default(own, node, depth)

    def run(method: ast.FunctionDef, owner: "ModuleClass", call_args: list[Any], call_kwargs: dict[str, Any]) -> None:
        own = interp.for_file(owner.ctx)
        start, limit = own.steps, own.step_limit
        own.step_limit = min(limit, start + CONFIG_STEPS)
        frame = Frame({}, self_module=obj, cls=owner, depth=depth)
        try:
            own._bind(method, frame, [obj, *call_args], dict(call_kwargs), method=True)
            own.exec_body(method.body, frame)
        except (_Return, Budget, RecursionError):
            pass
        finally:
            own.step_limit = limit
            if own is not interp:
                interp.steps = own.steps

    if is_dataclass_like(classes):
        fields: list[str] = []
        for cls in reversed(classes):
            for name in cls.dataclass_fields():
                if name not in fields:
                    fields.append(name)
        for name, value in zip(fields, args):
            obj.fields[name] = value
        extra: dict[str, Any] = {}
        for name, value in kwargs.items():
            if name in fields:
                obj.fields[name] = value
            else:
                extra[name] = value
        for name in fields:  # a field with no default and no argument
            if name not in obj.fields and label is None:
                obj.fields[name] = UNKNOWN  # (with a label, it reads as the symbol `label.name`)
        post_init, owner = definition.find_method("__post_init__")
        if post_init is not None and owner is not None:
            accepts_kwargs = post_init.args.kwarg is not None
            run(post_init, owner, [], extra if accepts_kwargs else {})
        else:
            obj.fields.update(extra)
        return obj
    init, owner = definition.find_method("__init__")
    if init is not None and owner is not None:
        run(init, owner, list(args), dict(kwargs))
    return obj


def mapped_attribute(obj: ObjectVal, attr: str) -> str:
    """transformers' `attribute_map` (`{"hidden_size": "n_embd"}`): the field an attribute
    name stands for."""
    mapping = obj.fields.get("attribute_map")
    if isinstance(mapping, SeqVal) and mapping.kind == "dict":
        for entry in mapping.entries:
            if entry.key == attr and isinstance(entry.value, str):
                return entry.value
    return attr


__all__ = ["build_object", "hierarchy", "is_dataclass_like", "mapped_attribute"]
