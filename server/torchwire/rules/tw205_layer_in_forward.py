"""TW205: a layer with parameters constructed inside forward()."""

from __future__ import annotations

from typing import Iterator

from ..engine.findings import Finding, Severity
from .base import Invalid, Rule
from .describe import parameters_of


class LayerInForward(Rule):
    """
    ## What it does
    Flags a layer that has parameters (`nn.Linear`, `nn.Conv2d`, a module class of the file
    that registers weights, ...) constructed inside `forward` or a method it calls, and not
    stored on `self`.

    ## Why is this bad?
    Each call builds new, randomly initialised weights, uses them once and drops them. They
    are not registered with the model, so the optimizer never updates them and `state_dict()`
    never saves them: that part of the model is random noise on every step, in training and in
    inference.

    ## Example
    ```python
    def forward(self, x):
        return nn.Linear(x.shape[-1], 10)(x)
    ```

    ## Use instead
    ```python
    def __init__(self, d):
        super().__init__()
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        return self.head(x)
    ```

    ## Fix safety
    No fix: the layer's input size must become a constructor argument, which only the author
    can choose.
    """

    code = "TW205"
    name = "layer-built-in-forward"
    summary = "A layer with parameters is constructed inside forward(): new random weights on every call"
    severity = Severity.WARNING
    fix_safety = "none"

    VALID = [
        """
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = nn.ReLU()(x)  # no parameters: harmless
        return self.head(F.dropout(x, 0.1, self.training))
""",
        """
import torch.nn as nn

class Lazy(nn.Module):
    def forward(self, x):
        if not hasattr(self, "head"):
            self.head = nn.Linear(x.shape[-1], 10)  # stored on self: registered
        return self.head(x)
""",
        """
import torch.nn as nn

class Lazy(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = None

    def forward(self, x):
        if self.proj is None:
            self.proj = nn.Linear(x.shape[-1], 8).to(x.device)  # the same layer, moved: kept
        return self.proj(x)
""",
    ]

    INVALID = [
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def forward(self, x):
        return nn.Linear(64, 10)(x)
""",
            flags="nn.Linear(64, 10)",
            message=(
                "`nn.Linear(64, 10)` is constructed inside `forward`: every call creates new, randomly "
                "initialised weights (650 parameters) that are not registered with the model, so the "
                "optimizer never trains them. Create it once in `__init__` (e.g. "
                "`self.linear = nn.Linear(64, 10)`) and call that here."
            ),
        ),
        Invalid(
            """
import torch
import torch.nn as nn

class Net(nn.Module):
    def forward(self, x):
        return self.project(x)

    def project(self, x):
        proj = nn.Conv2d(x.shape[1], 16, kernel_size=1)
        return proj(x)
""",
            flags="nn.Conv2d(x.shape[1], 16, kernel_size=1)",
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for cls in ctx.module_classes:
            for flow in ctx.forward_flows(cls):
                name = flow.name
                for built in flow.constructions:
                    if built.kept or built.module.has_parameters() is not True:
                        continue
                    text = ctx.source.segment(built.node)
                    attribute = built.module.display.removeprefix("nn.").lower()
                    count = parameters_of([built.module])
                    weights = f" ({count})" if count[0].isdigit() else ""
                    message = (
                        f"`{text}` is constructed inside `{name}`: every call creates new, randomly "
                        f"initialised weights{weights} that are not registered with the model, so the "
                        f"optimizer never trains them. Create it once in `__init__` (e.g. "
                        f"`self.{attribute} = {text}`) and call that here."
                    )
                    yield self.finding(ctx, built.node, message)
