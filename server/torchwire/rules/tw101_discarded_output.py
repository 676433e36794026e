"""TW101: a module's output is thrown away."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.dataflow import CallSite
from ..engine.findings import Finding, Fix, Severity
from ..fixes.edits import code_fix
from .base import Invalid, Rule
from .describe import ref_subject


class DiscardedOutput(Rule):
    """
    ## What it does
    Flags a call of a registered submodule, a container element (`self.layers[2](x)`), a loop
    variable over a container, or a `ModuleDict` value, made as a statement of its own, so
    that its output is thrown away.

    ## Why is this bad?
    Calling a module returns a new tensor; it does not change its input. `layer(x)` on its
    own computes a result and drops it: the model runs and trains, but the layer has no effect
    on what `forward` returns. `nn.ModuleList` registers its modules' weights but does not
    chain them; `forward` must pass each output on itself. Modules that act in place
    (`nn.ReLU(inplace=True)`), modules whose `forward` returns nothing, and classes that work
    with forward hooks (which record outputs on their own) are not flagged.

    ## Example
    ```python
    for layer in self.layers:
        layer(x)
    return x
    ```

    ## Use instead
    ```python
    for layer in self.layers:
        x = layer(x)
    return x
    ```

    ## Fix safety
    Unsafe: assigning the output to the first argument (`x = layer(x)`) changes what the model
    computes; it is offered when that argument is a plain name, for you to confirm.
    """

    code = "TW101"
    name = "module-output-discarded"
    summary = "A module is called as a statement; its output is thrown away"
    severity = Severity.WARNING
    fix_safety = "unsafe"

    VALID = [
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
""",
        """
import torch.nn as nn

class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.fc(x)
        self.act(x)  # modifies x in place
        return x
""",
        """
import torch.nn as nn

class Probe(nn.Module):
    def forward(self, x):
        print(x.shape)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.probe = Probe()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        self.probe(x)  # returns nothing: called for its side effect
        return self.fc(x)
""",
        """
import torch.nn as nn

class Features(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
        self.outputs = []
        self.blocks[0].register_forward_hook(lambda m, i, o: self.outputs.append(o))

    def forward(self, x):
        self.outputs.clear()
        self.blocks(x)  # the hook records what is needed
        return list(self.outputs)
""",
    ]

    INVALID = [
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])

    def forward(self, x):
        for layer in self.layers:
            layer(x)
        return x
""",
            flags="layer(x)",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
""",
            message=(
                "The output of `layer(x)` is thrown away: calling a module returns a new tensor and "
                "leaves `x` unchanged, so the modules of `self.layers` (nn.ModuleList) have no effect "
                "here. A ModuleList does not chain its modules: write `x = layer(x)`."
            ),
        ),
        Invalid(
            """
import torch
from torch import nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(64)
        self.proj = nn.Linear(64, 10)

    def forward(self, h):
        self.norm(h)   # keeps the comment
        return self.proj(h)
""",
            flags="self.norm(h)",
            fixed="""
import torch
from torch import nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(64)
        self.proj = nn.Linear(64, 10)

    def forward(self, h):
        h = self.norm(h)   # keeps the comment
        return self.proj(h)
""",
        ),
        Invalid(  # a submodule of a submodule: the encoder's final norm, called and dropped
            """
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(64, 64)
        self.norm = nn.LayerNorm(64)

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.head = nn.Linear(64, 10)

    def forward(self, h):
        h = self.encoder.layer(h)
        self.encoder.norm(h)
        return self.head(h)
""",
            flags="self.encoder.norm(h)",
            fixed="""
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(64, 64)
        self.norm = nn.LayerNorm(64)

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.head = nn.Linear(64, 10)

    def forward(self, h):
        h = self.encoder.layer(h)
        h = self.encoder.norm(h)
        return self.head(h)
""",
        ),
        Invalid(
            """
import torch.nn as nn

class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(10, 20), nn.Linear(20, 20)])

    def forward(self, x):
        x = self.layers[0](x)
        self.layers[1](x * 2)
        return x
""",
            flags="self.layers[1](x * 2)",
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(16, 16) for _ in range(4)])

    def forward(self, x):
        x = self.layers[0](x)
        for layer in self.layers[1:]:
            layer(x)  # the stem runs, the rest does nothing
        return x
""",
            flags="layer(x)",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(16, 16) for _ in range(4)])

    def forward(self, x):
        x = self.layers[0](x)
        for layer in self.layers[1:]:
            x = layer(x)  # the stem runs, the rest does nothing
        return x
""",
            message=(
                "The output of `layer(x)` is thrown away: calling a module returns a new tensor and "
                "leaves `x` unchanged, so the modules of `self.layers[1:]` (nn.ModuleList) have no "
                "effect here. A ModuleList does not chain its modules: write `x = layer(x)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = nn.ModuleList([nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(2)]) for _ in range(3)])

    def forward(self, x):
        for stage in self.stages:
            for block in stage:
                block(x)
        return x
""",
            flags="block(x)",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = nn.ModuleList([nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(2)]) for _ in range(3)])

    def forward(self, x):
        for stage in self.stages:
            for block in stage:
                x = block(x)
        return x
""",
            message=(
                "The output of `block(x)` is thrown away: calling a module returns a new tensor and "
                "leaves `x` unchanged, so the modules of `stage` (nn.ModuleList) have no effect here. "
                "A ModuleList does not chain its modules: write `x = block(x)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Head(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(2):
            self.layers.append(nn.Conv2d(channels, channels, 3, padding=1))
            self.layers.append(nn.ReLU(inplace=True))  # in place, but the convolutions are not

    def forward(self, features):
        for layer in self.layers:
            layer(features)
        return features
""",
            flags="layer(features)",
            message=(
                "The output of `layer(features)` is thrown away: calling a module returns a new tensor and "
                "leaves `features` unchanged, so the modules of `self.layers` (nn.ModuleList) have no effect here. "
                "A ModuleList does not chain its modules: write `features = layer(features)`."
            ),
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for cls in ctx.module_classes:
            if cls.works_with_hooks:
                continue  # modules may be called for what their hooks record
            for flow in ctx.flows(cls).values():
                for site in flow.calls:
                    if site.bare and site.ref.output_matters():
                        yield self.finding(ctx, site.node, _message(site), _fix(ctx, site))


def _first_name(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Name):
        return call.args[0].id
    return None


def _message(site: CallSite) -> str:
    name = _first_name(site.node)
    call_text = ast.unparse(site.node) if len(site.node.args) <= 3 else f"{site.ref.text}(...)"
    subject = ref_subject(site.ref)
    effect = f"{subject} {'have' if site.ref.origin in ('loop', 'element', 'plain-element') and site.ref.owner_text else 'has'} no effect here"
    unchanged = f"leaves `{name}` unchanged" if name else "leaves its input unchanged"
    advice = f"write `{name} = {call_text}`" if name else "assign the result and use it"
    if site.ref.origin == "loop" and site.ref.owner is not None and site.ref.owner.container == "ModuleList":
        advice = f"A ModuleList does not chain its modules: {advice}"
    else:
        advice = advice[0].upper() + advice[1:]
    return f"The output of `{call_text}` is thrown away: calling a module returns a new tensor and {unchanged}, so {effect}. {advice}."


def _fix(ctx, site: CallSite) -> Fix | None:
    name = _first_name(site.node)
    if name is None or not isinstance(site.statement, ast.Expr) or site.statement.value is not site.node:
        return None

    def assign(node):
        import libcst as cst

        return cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=node.value, semicolon=node.semicolon)

    return code_fix(ctx.doc, f"Assign the output: `{name} = {ast.unparse(site.node)}`", False, site.statement, assign)
