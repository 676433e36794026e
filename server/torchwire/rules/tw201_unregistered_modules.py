"""TW201: modules kept in a plain list, tuple or dict are not registered."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.findings import Finding, Fix, Severity
from ..fixes.edits import code_fix, spell
from .base import Invalid, Rule
from .describe import parameters_of, plural


class UnregisteredModules(Rule):
    """
    ## What it does
    Flags modules stored on `self` in a plain Python list, tuple or dict: a literal, a
    comprehension, or an empty list filled with `.append(...)`.

    ## Why is this bad?
    `nn.Module` registers a submodule only when it is assigned as an attribute directly or
    held in `nn.ModuleList` / `nn.ModuleDict`. Modules in a plain list are invisible to
    `model.parameters()`, `state_dict()`, `.to(device)`, `.train()` / `.eval()` and the
    optimizer: their weights are never trained, never saved, and stay on the CPU when the model
    moves to the GPU. Modules that hold only buffers (a loss built with `weight=`) are flagged
    too: their buffers stay behind on `.to(device)` and are not saved.

    ## Example
    ```python
    self.blocks = [nn.Linear(64, 64) for _ in range(4)]
    ```

    ## Use instead
    ```python
    self.blocks = nn.ModuleList([nn.Linear(64, 64) for _ in range(4)])
    ```

    ## Fix safety
    Unsafe: registering the modules adds their weights to `state_dict()` (checkpoints saved
    before will miss those keys) and to the optimizer.
    """

    code = "TW201"
    name = "modules-in-plain-container"
    summary = "Modules in a plain list, tuple or dict on self are not registered"
    severity = Severity.WARNING
    fix_safety = "unsafe"

    VALID = [
        """
import torch.nn as nn

class Losses(nn.Module):
    def __init__(self):
        super().__init__()
        self.losses = [nn.CrossEntropyLoss(), nn.MSELoss()]  # no weights: nothing to move or save
""",
        """
import torch.nn as nn

class PyramidPooling(nn.Module):
    def __init__(self, pool_scales, channels):
        super().__init__()
        self.blocks = []
        for i, scale in enumerate(pool_scales):
            block = nn.Sequential(nn.AdaptiveAvgPool2d(scale), nn.Conv2d(channels, channels, 1))
            self.blocks.append(block)
            self.add_module(str(i), block)  # registered here, under its index
""",
        """
import torch.nn as nn

def build(model, d, n):
    model.blocks = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])
    model.sizes = [[d, d] for _ in range(n)]

def make_layers(d, n):
    return [nn.Linear(d, d) for _ in range(n)]

class Net(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        build(self, d, n)
        self.layers = nn.ModuleList(make_layers(d, n))
        self.groups = nn.ModuleList([nn.ModuleList([nn.Linear(d, d), nn.ReLU()]) for _ in range(n)])
""",
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(64, 64) for _ in range(4)])
        self.sizes = [64, 64, 64]
""",
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8)])
        self.first_and_last = [self.layers[0], self.layers[-1]]  # already registered
""",
    ]

    INVALID = [
        Invalid(
            """
import torch
import torch.nn as nn

class MultiTaskLoss(nn.Module):
    def __init__(self, class_weights):
        super().__init__()
        self.losses = [nn.CrossEntropyLoss(weight=class_weights), nn.BCEWithLogitsLoss(pos_weight=torch.ones(4))]

    def forward(self, logits, targets):
        return sum(loss(x, y) for loss, x, y in zip(self.losses, logits, targets))
""",
            flags="[nn.CrossEntropyLoss(weight=class_weights), nn.BCEWithLogitsLoss(pos_weight=torch.ones(4))]",
            message=(
                "`self.losses` is a plain list of 2 modules: PyTorch does not register modules held in a list, so "
                "their buffers (`weight` of nn.CrossEntropyLoss, `pos_weight` of nn.BCEWithLogitsLoss) do not move "
                "with `model.to(device)` (the forward pass then mixes devices on the GPU) and `state_dict()` does "
                "not save them. Use `nn.ModuleList(...)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

def add_blocks(model, d, n):
    model.blocks = [nn.Linear(d, d) for _ in range(n)]

class Net(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        add_blocks(self, d, n)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
""",
            flags="[nn.Linear(d, d) for _ in range(n)]",
            message=(
                "`model.blocks` is a plain list of 3 modules: PyTorch does not register modules held in a list, so "
                "their 216 parameters are invisible to `model.parameters()`, `state_dict()`, `.to(device)` and the "
                "optimizer, and are never trained. Use `nn.ModuleList(...)`."
            ),
            fixed="""
import torch.nn as nn

def add_blocks(model, d, n):
    model.blocks = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])

class Net(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        add_blocks(self, d, n)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
""",
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, d=8, n=2):
        super().__init__()
        self.stages = [[nn.Linear(d, d), nn.GELU()] for _ in range(n)]

    def forward(self, x):
        for lin, act in self.stages:
            x = act(lin(x))
        return x
""",
            flags="[[nn.Linear(d, d), nn.GELU()] for _ in range(n)]",
            message=(
                "`self.stages` is a plain list of 4 modules in nested containers: PyTorch does not register modules "
                "held in a list, so their 144 parameters are invisible to `model.parameters()`, `state_dict()`, "
                "`.to(device)` and the optimizer, and are never trained. Use `nn.ModuleList(...)`, with an "
                "`nn.ModuleList(...)` (or `nn.Sequential(...)`) for each inner list."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [nn.Linear(64, 64) for _ in range(4)]
""",
            flags="[nn.Linear(64, 64) for _ in range(4)]",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(64, 64) for _ in range(4)])
""",
            message=(
                "`self.blocks` is a plain list of 4 modules: PyTorch does not register modules held in "
                "a list, so their 16,640 parameters are invisible to `model.parameters()`, "
                "`state_dict()`, `.to(device)` and the optimizer, and are never trained. "
                "Use `nn.ModuleList(...)`."
            ),
        ),
        Invalid(
            """
import torch

class Net(torch.nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.heads = []
        for _ in range(n):
            self.heads.append(torch.nn.Linear(16, 1))
""",
            flags="[]",
            fixed="""
import torch

class Net(torch.nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.heads = torch.nn.ModuleList()
        for _ in range(n):
            self.heads.append(torch.nn.Linear(16, 1))
""",
        ),
        Invalid(
            """
import torch
from torch.nn import Module, Linear

class Net(Module):
    def __init__(self):
        super().__init__()
        self.experts = {"a": Linear(8, 8), "b": Linear(8, 8)}
""",
            flags='{"a": Linear(8, 8), "b": Linear(8, 8)}',
            fixed="""
import torch
from torch.nn import Module, Linear

class Net(Module):
    def __init__(self):
        super().__init__()
        self.experts = torch.nn.ModuleDict({"a": Linear(8, 8), "b": Linear(8, 8)})
""",
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for obs in ctx.observations:
            if obs.kind != "plain-holder":
                continue
            seq, modules = obs.data["seq"], obs.data["modules"]
            weights = any(m.has_parameters() for m in modules)
            if not weights and not any(m.has_buffers() for m in modules):
                continue  # nothing to train, move or save is lost (a list of activations)
            kind = seq.kind
            container = "nn.ModuleDict" if seq.kind == "dict" else "nn.ModuleList"
            conditional = any(e.condition for e in seq.entries)
            count = "modules" if conditional else plural(len(modules), "module")
            up_to = "up to " if conditional else ""
            target = obs.data.get("target")
            written = ctx.source.segment(target) if target is not None else f"self.{obs.data['attribute']}"
            nested = obs.data.get("nested", False)
            use = (
                f"Use `{container}(...)`, with an `nn.ModuleList(...)` (or `nn.Sequential(...)`) for each inner {kind}"
                if nested else f"Use `{container}(...)`"
            )
            lost = (
                f"their {up_to}{parameters_of(modules)} are invisible to `model.parameters()`, `state_dict()`, "
                "`.to(device)` and the optimizer, and are never trained"
                if weights else
                f"their buffers ({_buffer_names(modules)}) do not move with `model.to(device)` (the forward pass then "
                "mixes devices on the GPU) and `state_dict()` does not save them"
            )
            message = (
                f"`{written}` is a plain {kind} of {count}{' in nested containers' if nested else ''}: PyTorch does "
                f"not register modules held in a {kind}, so {lost}. {use}."
            )
            # Wrapping the outer list alone would not do: a ModuleList takes modules, not lists.
            yield self.finding(ctx, obs.node, message, None if nested else _fix(ctx, obs.node, seq.kind))


def _buffer_names(modules) -> str:
    """`weight` of nn.CrossEntropyLoss, ...: the buffers the held modules register."""
    named = []
    for module in modules:
        for name in module.members.buffers:
            text = f"`{name}` of {module.display}"
            if text not in named:
                named.append(text)
    return ", ".join(named[:3]) + (", ..." if len(named) > 3 else "")


def _fix(ctx, node: ast.expr, kind: str) -> Fix | None:
    if kind == "dict" and isinstance(node, ast.Dict):
        if not all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
            return None  # ModuleDict keys must be strings
    qualified = "torch.nn.ModuleDict" if kind == "dict" else "torch.nn.ModuleList"
    name, _ = spell(ctx.file.imports, ctx.tree, qualified)

    def wrap(expr):
        import libcst as cst

        empty = isinstance(expr, (cst.List, cst.Dict)) and not expr.elements
        if isinstance(expr, cst.Tuple):
            expr = cst.List(elements=expr.elements)
        return cst.Call(func=cst.parse_expression(name), args=[] if empty else [cst.Arg(expr)])

    return code_fix(ctx.doc, f"Wrap in `{name}(...)`", False, node, wrap, imports=(qualified,))
