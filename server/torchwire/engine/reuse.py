"""Constructions of classes of other files, reused: `LlamaDecoderLayer(config, 3)` built with
the same arguments gives the same members, so a class of an installed package is interpreted
once per distinct arguments rather than at every keystroke in the file that uses it.

Reuse hands out copies (fresh module identities, the sharing inside one construction kept),
since the code that built the instance may go on to change it (`self.backbone.head = ...`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Hashable

from .symbolic import Sym
from .values import ClassRef, Entry, FunctionRef, Members, ModuleVal, ObjectVal, ParamVal, SeqVal, Slot, is_unknown, new_uid

MAX_KEY_PARTS = 2_000  # a larger argument (a huge config) is not worth a key


def construction_key(args: list[Any], kwargs: dict[str, Any], depth: int) -> Hashable | None:
    """What the arguments of a construction are, as a dictionary key; None when they hold
    something with an identity of its own (a module, a tensor), which a reuse would share."""
    budget = [MAX_KEY_PARTS]
    try:
        return (depth, tuple(_freeze(a, budget) for a in args), tuple(sorted((k, _freeze(v, budget)) for k, v in kwargs.items())))
    except _Unfreezable:
        return None


class _Unfreezable(Exception):
    pass


def _freeze(value: Any, budget: list[int]) -> Hashable:
    budget[0] -= 1
    if budget[0] < 0:
        raise _Unfreezable()
    if value is None or is_unknown(value) or isinstance(value, (bool, int, float, str)):
        return ("v", type(value).__name__, value if not is_unknown(value) else "?")
    if isinstance(value, Sym):
        return ("sym", str(value))
    if isinstance(value, ObjectVal):
        return ("obj", value.cls_name, value.label, id(value.cls),
                tuple((k, _freeze(v, budget)) for k, v in sorted(value.fields.items())))
    if isinstance(value, SeqVal):
        return ("seq", value.kind, value.ordered, tuple((e.key, _freeze(e.count, budget), e.fresh, e.condition, _freeze(e.value, budget)) for e in value.entries))
    if isinstance(value, ClassRef):
        return ("cls", value.qualified, id(value.spec), id(value.definition))
    if isinstance(value, FunctionRef) and value.bound_self is None and not value.closure:
        return ("fn", id(value.node), id(value.ctx))
    raise _Unfreezable()


def clone_members(members: Members, memo: dict[int, Any] | None = None) -> Members:
    memo = {} if memo is None else memo
    return Members(
        params={k: _clone_slot(s, memo) for k, s in members.params.items()},
        buffers={k: _clone_slot(s, memo) for k, s in members.buffers.items()},
        children={k: _clone_slot(s, memo) for k, s in members.children.items()},
        entries=None if members.entries is None else [_clone_entry(e, memo) for e in members.entries],
        attributes={k: _clone_slot(s, memo) for k, s in members.attributes.items()},
        gaps=dict(members.gaps),
        ties_pending=members.ties_pending,
    )


# Written out field by field: dataclasses.replace is several times slower, and this runs for
# every member of every reused construction.
def _clone_slot(slot: Slot, memo: dict[int, Any]) -> Slot:
    alternatives = [_clone_slot(a, memo) for a in slot.alternatives] if slot.alternatives else []
    return Slot(_clone(slot.value, memo), slot.condition, slot.repeat, slot.node, slot.target, alternatives)


def _clone_entry(entry: Entry, memo: dict[int, Any]) -> Entry:
    return Entry(_clone(entry.value, memo), entry.count, entry.fresh, entry.key, entry.condition)


def clone_value(value: Any, memo: dict[int, Any]) -> Any:
    """A copy of a module, parameter or sequence value (as copy.deepcopy makes), sharing
    nothing that a construction could change."""
    return _clone(value, memo)


def _clone(value: Any, memo: dict[int, Any]) -> Any:
    if not isinstance(value, (ModuleVal, ParamVal, SeqVal)):
        return value  # plain values, configs, classes: never changed in place by a construction
    known = memo.get(id(value))
    if known is not None:
        return known
    if isinstance(value, ModuleVal):
        copy = ModuleVal(value.display, value.qualified, value.node, value.spec, value.cls, dict(value.args), value.unknown,
                         new_uid(), value.maybe, value.unknown_contents, None, value._expand, value.fed_modules)
        memo[id(value)] = copy
        if value._members is not None:
            copy._members = clone_members(value._members, memo)
        return copy
    if isinstance(value, ParamVal):
        copy = dataclasses.replace(value)
        memo[id(value)] = copy
        return copy
    copy = dataclasses.replace(value, entries=[])
    memo[id(value)] = copy
    copy.entries.extend(_clone_entry(e, memo) for e in value.entries)
    return copy


__all__ = ["clone_members", "construction_key"]
