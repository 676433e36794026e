"""TW302: a registered submodule that nothing uses."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.findings import Finding, Severity
from ..engine.model import REACHES_MEMBERS_BY_NAME, ModuleClass
from ..engine.values import ModuleVal
from .base import Invalid, Rule
from .describe import parameters_of

# Ways a class reaches its submodules without naming them: then nothing can be said.


class UnusedSubmodule(Rule):
    """
    ## What it does
    Flags a submodule registered in `__init__` (with parameters) that no code reads: no method
    of the class, of its base or derived classes, nor any other class of the file (a string
    naming it, such as `"lm_head.weight"`, counts as a use), nor any other file of the project
    (`encoder.proj`, or `self.proj` in a class derived from it). A class with a base class
    torchwire cannot read is not flagged: that base may use anything.

    ## Why is this bad?
    Its parameters are saved, moved and handed to the optimizer, but get no gradient and never
    change: wasted memory at best, and under `DistributedDataParallel` training fails with
    `RuntimeError: Expected to have finished reduction in the prior iteration before starting a
    new one ... find_unused_parameters=True`. Often it is a layer the author meant to call.
    Modules reached dynamically (`getattr`, `self.modules()`, `self.children()`, iterating over
    the module) are not flagged, nor one whose weights all belong to submodules used under
    another name.

    ## Example
    ```python
    self.proj = nn.Linear(64, 64)   # never called
    ```

    ## Use instead
    Call it in `forward`, or remove it.

    ## Fix safety
    No fix: whether to call it or remove it is for the author to say.
    """

    code = "TW302"
    name = "unused-submodule"
    summary = "A registered submodule with parameters that nothing uses"
    severity = Severity.HINT
    fix_safety = "none"
    unnecessary = True

    VALID = [
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.extra = nn.Linear(8, 8)

    def forward(self, x):
        for name in ("proj", "extra"):
            x = getattr(self, name)(x)
        return x
""",
        """
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = nn.Embedding(10, 8)

    def forward(self, x):
        return x

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()

    def forward(self, ids):
        return self.encoder(self.encoder.embeddings(ids))
""",
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)

    def forward(self, x):
        for layer in self.children():  # every child, by iteration
            x = layer(x)
        return x
""",
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)

    def forward(self, x):
        return sum(m(x) for name, m in self.named_modules() if name)
""",
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8)]
        self.body = nn.Sequential(*layers)
        self.linears = nn.ModuleList(layers[::2])  # the same layers: trained through self.body

    def forward(self, x):
        return self.body(x)
""",
        """
import torch.nn as nn

class Wrapper(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        block = nn.Linear(8, 8)
        self.shortcut = block  # the layer self.wrapped holds: trained through it
        self.wrapped = Wrapper(block)

    def forward(self, x):
        return self.wrapped(x)
""",
    ]

    INVALID = [
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(64, 64)
        self.proj = nn.Linear(64, 64)

    def forward(self, x):
        return self.body(x)
""",
            flags="self.proj",
            message=(
                "`self.proj` (nn.Linear, 4,160 parameters) is registered but nothing uses it: its weights get no "
                "gradient and never learn, and under DistributedDataParallel training fails with `RuntimeError: "
                "Expected to have finished reduction in the prior iteration before starting a new one` (unless "
                "find_unused_parameters=True). Use it in `forward`, or remove it."
            ),
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for cls in ctx.module_classes:
            if _unreadable_base(cls):
                continue  # a base class torchwire cannot read (or a dynamic one) may use anything
            own_targets: set[int] | None = None  # the targets of its own lines, when first needed
            # Read by its methods, or by methods inherited from a base class of another file
            # (the words of those files: big sets, looked into rather than copied).
            own = {name for flow in ctx.flows(cls).values() for name in flow.uses}
            read_by_methods = _AnyOf([own, *(b.ctx.names_read for b in _bases(cls) if b.ctx is not ctx.file)])
            for name, slot in cls.root.members.children.items():
                module, target = slot.value, slot.target
                if name in read_by_methods or not isinstance(module, ModuleVal) or module.has_parameters() is not True:
                    continue
                if own_targets is None:
                    own_targets = {id(node) for node in ast.walk(cls.node) if isinstance(node, ast.Attribute)}
                if id(target) not in own_targets:
                    continue  # an inherited registration: the base's to report
                if name in ctx.file.names_read or _dynamic(ctx, cls):  # anywhere else in the file
                    continue
                if _shared_with_used(cls, name, _AnyOf([*read_by_methods.sets, ctx.file.names_read])):
                    continue
                message = (
                    f"`self.{name}` ({module.display}, {parameters_of([module])}) is registered but nothing uses it: "
                    "its weights get no gradient and never learn, and under DistributedDataParallel training "
                    "fails with `RuntimeError: Expected to have finished reduction in the prior iteration before "
                    "starting a new one` (unless find_unused_parameters=True). Use it in `forward`, or remove it."
                )
                finding = self.finding(ctx, target, message)
                finding.subject, finding.owner = name, cls.name  # dropped if another file reads it
                yield finding


class _AnyOf:
    """Names in any of several sets."""

    def __init__(self, sets: list[set[str]]) -> None:
        self.sets = sets

    def __contains__(self, name: str) -> bool:
        return any(name in s for s in self.sets)


def _shared_with_used(cls: ModuleClass, name: str, used: _AnyOf) -> bool:
    """`self.every = nn.ModuleList(layers[::2])` over layers that `self.body` runs: the same
    weights, trained through `self.body`."""
    children = cls.root.members.children
    held = _weight_holders(children[name].value)  # every module under it built, to know them
    if not held:
        return False
    reached: set[int] = set()
    for other, slot in children.items():
        if other != name and other in used and isinstance(slot.value, ModuleVal):
            reached |= _weight_holders(slot.value, among_built=True) or set()
    return held <= reached


def _weight_holders(module: ModuleVal, depth: int = 0, among_built: bool = False) -> set[int] | None:
    """The modules under `module` (itself included) that own parameters, by identity; None when
    some contents are unknown. `among_built`: the modules not built yet and given no module
    (a model's 32 layers, at each keystroke) are not built: whatever they would hold would be
    built with them, and so is none of the modules already built."""
    if among_built and module._members is None and not module.fed_modules:
        return set()
    if module.unknown or module.unknown_contents or depth > 20:
        return None
    found = {module.uid} if module.members.params else set()
    for child in module.members.child_modules():
        below = _weight_holders(child, depth + 1, among_built)
        if below is None:
            return None
        found |= below
    return found


def _dynamic(ctx, cls: ModuleClass) -> bool:
    related = [cls, *_bases(cls), *(c for c in ctx.file.all_classes if cls in _bases(c))]
    return any(REACHES_MEMBERS_BY_NAME.search(ctx.source.segment(c.node)) for c in related)


def _unreadable_base(cls: ModuleClass, depth: int = 0) -> bool:
    """Whether a base class along the way is neither PyTorch's nor code torchwire has read
    (asked once per class: a model of transformers has a dozen bases, checked at each keystroke)."""
    if depth > 20:
        return False
    key = ("unreadable base",)
    if key not in cls.answers:
        cls.answers[key] = _has_unreadable_base(cls, depth)
    return cls.answers[key]


def _has_unreadable_base(cls: ModuleClass, depth: int) -> bool:
    readable = len(cls.local_bases) + (cls.spec_base is not None)
    known = sum(
        1 for base in cls.node.bases
        if (cls.ctx.imports.qualify(base) or "").startswith(("torch.", "typing.", "abc."))
        or (isinstance(base, ast.Name) and base.id == "object")
    )
    return len(cls.node.bases) > readable + known or any(_unreadable_base(b, depth + 1) for b in cls.local_bases)


def _bases(cls: ModuleClass, depth: int = 0) -> list[ModuleClass]:
    if depth > 20:
        return []
    return [b for base in cls.local_bases for b in (base, *_bases(base, depth + 1))]
