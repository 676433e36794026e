"""transformers' weight tying: what `PreTrainedModel.post_init()` does to the table.

A model class lists the parameters it shares, `_tied_weights_keys = {"lm_head.weight":
"model.embed_tokens.weight"}`, and when its config says `tie_word_embeddings`, `post_init()`
makes the target the very same Parameter as the source (for the model and, prefixed, for
every sub-model it holds). `named_parameters()` then lists that tensor once, under the name
reached first. The real `post_init` does this through `named_modules()`, regexes and hub
bookkeeping, which a static reading cannot follow; this is the same rule, read from the class
attribute and the config.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .configs import mapped_attribute
from .values import ModuleVal, ObjectVal, ParamVal, SeqVal, Slot, truth

if TYPE_CHECKING:
    from .interpreter import Interpreter

_PLAIN = re.compile(r"^[A-Za-z0-9_.]+$")


def is_post_init(fn: Any) -> bool:
    """`PreTrainedModel.post_init` of transformers (the method, wherever it is reached from)."""
    ctx = getattr(fn, "ctx", None)
    node = getattr(fn, "node", None)
    if ctx is None or node is None or node.name != "post_init":
        return False
    return any(c.name == "PreTrainedModel" and c.methods.get("post_init") is node for c in ctx.all_classes)


def post_init(model: ModuleVal) -> None:
    """What post_init() does to the table, applied when the table is read (`apply`): finding
    the tied tensors builds the sub-models, which the analysis of forward does not need."""
    model.members.ties_pending = True


def apply(model: ModuleVal) -> None:
    """Tie the weights of `model` and of the sub-models it holds, as post_init() did."""
    from .interpreter import Interpreter

    if model.cls is None:
        return
    interp = Interpreter(model.cls.ctx, observe=False)
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    _collect(interp, model, "", mapping, unknown)
    members = model.members
    for target, source in mapping.items():
        if not _tie(model, target, source):
            members.gaps[target] = f"tied to `{source}` by post_init(), which torchwire could not follow here"
    for target in unknown:
        members.gaps[target] = "tied by post_init() when `config.tie_word_embeddings`, which torchwire cannot tell"


def _collect(interp: "Interpreter", model: ModuleVal, prefix: str, mapping: dict[str, str], unknown: list[str]) -> None:
    """The model's own ties and, prefixed, those of the sub-models that ran post_init."""
    model.members.ties_pending = False
    own: dict[str, str] = {}
    own_unknown: list[str] = []
    _own_mapping(interp, model, own, own_unknown)
    mapping.update({prefix + k: prefix + v for k, v in own.items()})
    unknown.extend(prefix + k for k in own_unknown)
    for name, child in _children(model):
        if child.members.ties_pending:
            _collect(interp, child, f"{prefix}{name}.", mapping, unknown)


def _own_mapping(interp: "Interpreter", model: ModuleVal, mapping: dict[str, str], unknown: list[str]) -> None:
    keys = interp.get_attribute(model, "_tied_weights_keys")
    if not isinstance(keys, SeqVal) or keys.kind != "dict" or not keys.entries:
        return
    pairs = [(e.key, e.value) for e in keys.entries]
    config = interp.get_attribute(model, "config")
    flag = config.fields.get(mapped_attribute(config, "tie_word_embeddings"), False) if isinstance(config, ObjectVal) else None
    tie = truth(flag)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs):
        unknown.append("?")
        return
    if tie is False:
        return
    if tie is None:
        unknown.extend(k for k, _ in pairs)
        return
    for target, source in pairs:
        if _PLAIN.match(target) and _PLAIN.match(source) and target.endswith(("weight", "bias")):
            mapping[target] = source
        else:  # a module or a pattern (`bbox_embed.(?![0])\d+`): not expanded statically
            unknown.append(target)


def _children(module: ModuleVal):
    members = module.members
    for name, slot in members.children.items():
        if isinstance(slot.value, ModuleVal):
            yield name, slot.value
    for i, e in enumerate(members.entries or []):
        if isinstance(e.value, ModuleVal) and e.count == 1:
            yield (e.key if e.key is not None else str(i)), e.value


def _find_module(root: ModuleVal, path: list[str]) -> ModuleVal | None:
    module = root
    for part in path:
        found = dict(_children(module)).get(part)
        if found is None:
            return None
        module = found
    return module


def _tie(root: ModuleVal, target: str, source: str) -> bool:
    *source_path, source_name = source.split(".")
    *target_path, target_name = target.split(".")
    owner = _find_module(root, source_path)
    holder = _find_module(root, target_path)
    if owner is None or holder is None or owner.unknown or holder.unknown:
        return False
    slot = owner.members.params.get(source_name)
    if slot is None or not isinstance(slot.value, ParamVal):
        return False
    params = holder.members.params
    if target_name in params:
        params[target_name].value = slot.value  # same key, same place: only the tensor changes
    else:
        holder.members.children.pop(target_name, None)
        params[target_name] = Slot(slot.value)
    return True
