"""TW203: a ModuleList / ModuleDict / ParameterList / ParameterDict called like a module."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.findings import Finding, Fix, Severity
from ..fixes.edits import code_fix, spell
from .base import Invalid, Rule
from .cst_helpers import elements_as_args

ERRORS = {
    "ModuleList": 'NotImplementedError: Module [ModuleList] is missing the required "forward" function',
    "ModuleDict": 'NotImplementedError: Module [ModuleDict] is missing the required "forward" function',
    "ParameterList": "RuntimeError: ParameterList should not be called.",
    "ParameterDict": "RuntimeError: ParameterDict should not be called.",
}


class ContainerCalled(Rule):
    """
    ## What it does
    Flags a call of an `nn.ModuleList`, `nn.ModuleDict`, `nn.ParameterList` or
    `nn.ParameterDict` as if it were a module: `self.layers(x)`, also through a submodule
    (`self.attn.to_out(h)`) or a parameter annotated with a module class (an attention
    processor's `attn: Attention`, then `attn.to_out(h)`).

    ## Why is this bad?
    These containers only hold modules (or parameters); they have no `forward`. The call
    raises `NotImplementedError: Module [ModuleList] is missing the required "forward"
    function` the first time it runs.

    ## Example
    ```python
    self.layers = nn.ModuleList([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])
    ...
    return self.layers(x)
    ```

    ## Use instead
    ```python
    self.layers = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))
    ...
    return self.layers(x)
    ```
    or loop over the list: `for layer in self.layers: x = layer(x)`.

    ## Fix safety
    Safe: the code raised before. The fix builds the `ModuleList` as an `nn.Sequential`, which
    runs its modules in order and keeps the same parameter names (`layers.0.weight`, ...), the
    same indexing and iteration.
    """

    code = "TW203"
    name = "container-called"
    summary = "A ModuleList, ModuleDict, ParameterList or ParameterDict is called like a module"
    severity = Severity.ERROR
    fix_safety = "safe"

    VALID = [
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))

    def forward(self, x):
        return self.layers(x)
""",
        # diffusers' attention: the output projection and its dropout, called one by one.
        """
import torch.nn as nn

class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.to_q = nn.Linear(dim, dim)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.1)])

class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.attn = Attention(dim)

    def forward(self, x):
        h = self.attn.to_q(x)
        h = self.attn.to_out[0](h)
        return self.attn.to_out[1](h)
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
        return self.layers(x)
""",
            flags="self.layers(x)",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))

    def forward(self, x):
        return self.layers(x)
""",
            message=(
                "`self.layers` is an nn.ModuleList, which holds modules but cannot be called: this "
                'raises `NotImplementedError: Module [ModuleList] is missing the required "forward" '
                "function`. Make it an `nn.Sequential` to run its modules in order, or loop over it: "
                "`for layer in self.layers: x = layer(x)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        y = self.blocks(x)
        return y
""",
            flags="self.blocks(x)",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        y = self.blocks(x)
        return y
""",
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 1)})

    def forward(self, x):
        return self.heads(x)
""",
            flags="self.heads(x)",
        ),
        Invalid(
            """
import torch.nn as nn

class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.to_q = nn.Linear(dim, dim)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.1)])

class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.attn = Attention(dim)

    def forward(self, x):
        h = self.attn.to_q(x)
        return self.attn.to_out(h)
""",
            flags="self.attn.to_out(h)",
            fixed="""
import torch.nn as nn

class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.to_q = nn.Linear(dim, dim)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.1))

class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.attn = Attention(dim)

    def forward(self, x):
        h = self.attn.to_q(x)
        return self.attn.to_out(h)
""",
        ),
        Invalid(  # diffusers' attention processors are handed the attention module
            """
import torch.nn as nn

class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.to_q = nn.Linear(dim, dim)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.1)])

    def forward(self, hidden_states):
        return AttnProcessor()(self, hidden_states)

class AttnProcessor:
    def __call__(self, attn: Attention, hidden_states):
        query = attn.to_q(hidden_states)
        return attn.to_out(query)
""",
            flags="attn.to_out(query)",
            message=(
                "`attn.to_out` is an nn.ModuleList, which holds modules but cannot be called: this "
                'raises `NotImplementedError: Module [ModuleList] is missing the required "forward" '
                "function`. Make it an `nn.Sequential` to run its modules in order, or loop over it: "
                "`for layer in attn.to_out: x = layer(x)`."
            ),
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        flows = [flow for cls in ctx.module_classes for flow in ctx.flows(cls).values()]
        for flow in [*flows, *ctx.function_flows]:  # and functions handed modules (`attn: Attention`)
            for site in flow.container_calls:
                container = site.ref.single
                kind = container.container
                name = site.ref.text
                loop = f" Make it an `nn.Sequential` to run its modules in order, or loop over it: `for layer in {name}: x = layer(x)`." if kind == "ModuleList" else ""
                holds = "parameters" if kind.startswith("Parameter") else "modules"
                message = (
                    f"`{name}` is an nn.{kind}, which holds {holds} but cannot be called: this raises "
                    f"`{ERRORS[kind]}`.{loop}"
                )
                # Built by a class of another file: fixed there, not here.
                fixable = kind == "ModuleList" and ctx.file.holds(container.node)
                yield self.finding(ctx, site.node, message, _fix(ctx, container.node) if fixable else None)


def _fix(ctx, construction: ast.AST | None) -> Fix | None:
    """Build the ModuleList as an nn.Sequential where it is constructed."""
    if not isinstance(construction, ast.Call) or len(construction.args) > 1 or construction.keywords:
        return None
    name, _ = spell(ctx.file.imports, ctx.tree, "torch.nn.Sequential")

    def to_sequential(call):
        import libcst as cst

        func = cst.parse_expression(name)
        if not call.args:
            return call.with_changes(func=func)
        (arg,) = call.args
        if isinstance(arg.value, (cst.List, cst.Tuple)) and all(isinstance(e, cst.Element) for e in arg.value.elements):
            return call.with_changes(func=func, args=elements_as_args(arg.value.elements))
        return call.with_changes(func=func, args=[arg.with_changes(star="*")])

    return code_fix(ctx.doc, "Build it as an `nn.Sequential`", True, construction, to_sequential, imports=("torch.nn.Sequential",))
