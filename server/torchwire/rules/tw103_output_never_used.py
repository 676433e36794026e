"""TW103: a submodule or container runs in forward(), but none of its outputs arrives anywhere."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.dataflow import CallSite, Data, MethodFlow
from ..engine.findings import Finding, Severity
from .base import Invalid, Rule
from .describe import container_part, plural


class OutputNeverUsed(Rule):
    """
    ## What it does
    Follows the data through `forward` (and the methods it calls) and flags a submodule or
    container that is called, but none of whose outputs reaches the return value or any other
    escape: stored on `self`, handed to a call whose result is used, returned inside a tuple or
    dict, used in a condition.

    ## Why is this bad?
    The module runs (and costs time and memory) but has no effect on what the model computes:
    its weights get no gradient and never learn. Usually an output was assigned to the wrong
    name, or the chain `x = layer(x)` was forgotten. Unknown calls count as uses, so the rule
    stays silent when in doubt. A call made as a statement of its own (`layer(x)`) is TW101's:
    one finding per cause.

    ## Example
    ```python
    def forward(self, x):
        for layer in self.layers:
            h = layer(x)
        return x
    ```

    ## Use instead
    ```python
    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
    ```

    ## Fix safety
    No fix: where the lost output should go (the next layer, the return value) is for the
    author to say.
    """

    code = "TW103"
    name = "module-output-never-used"
    summary = "A submodule runs in forward(), but none of its outputs reaches the result"
    severity = Severity.WARNING
    fix_safety = "none"

    VALID = [
        # Each call drops its output: TW101 reports them, this rule does not repeat it.
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
        """
import torch
import torch.nn as nn

class Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleList([nn.Linear(8, 1) for _ in range(3)])
        self.gate = nn.Linear(8, 1)

    def forward(self, x):
        outs = []
        for head in self.heads:
            outs.append(head(x))
        if self.gate(x).mean() > 0:  # used in a condition: it decides the result
            return torch.cat(outs, dim=-1)
        return x
""",
        """
import torch.nn as nn

class Cache(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        self.last = self.proj(x)  # kept on the module
        return x
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
            h = layer(x)
        return x
""",
            flags="self.layers",
            occurrence=2,
            message=(
                "`forward` returns its input `x` unchanged: the outputs of the 3 modules of `self.layers` "
                "(nn.ModuleList) never reach the return value, so they have no effect on the result and "
                "their weights never learn."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(16, 16)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        h = self.encoder(x)
        return self.head(x)
""",
            flags="self.encoder",
            occurrence=2,
            message=(
                "The output of `self.encoder` (nn.Linear) never reaches what `forward` returns or keeps: "
                "the module runs but has no effect on the result, and its weights never learn."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        h = self.drop(self.fc(x))
        return self.fc(x)
""",
            flags="self.drop",
            occurrence=2,
            message=(
                "The output of `self.drop` (nn.Dropout) never reaches what `forward` returns or keeps: "
                "the module runs but has no effect on the result."
            ),
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for cls in ctx.module_classes:
            if cls.works_with_hooks:
                continue  # modules may be called for what their hooks record
            for flow in ctx.forward_flows(cls):
                for sites in _groups(flow).values():
                    if any(site.id in flow.escaped for site in sites) or not sites[0].ref.output_matters():
                        continue
                    if all(site.bare for site in sites) and ctx.enabled("TW101"):
                        continue  # every call drops its output: TW101 reports each, one finding per cause
                    node = _where(sites[0])
                    yield self.finding(ctx, node, _message(flow, sites))


def _groups(flow: MethodFlow) -> dict[tuple, list[CallSite]]:
    """Call sites by what they call: an attribute, or the container a loop or index reaches."""
    groups: dict[tuple, list[CallSite]] = {}
    for site in flow.calls:
        ref = site.ref
        if ref.origin in ("loop", "element", "plain-element") and ref.owner_text:
            key = ("container", ref.owner_text)
        elif ref.origin == "attribute" and ref.attribute:
            key = ("attribute", ref.attribute)
        elif ref.origin == "unpacked":
            key = ("unpacked", ref.owner_text, ref.index)
        else:
            continue
        groups.setdefault(key, []).append(site)
    return groups


def _where(site: CallSite) -> ast.AST:
    """The container in the loop header, or the module called."""
    loop = site.loop
    if loop is not None and site.ref.origin == "loop" and isinstance(loop.iter, (ast.Attribute, ast.Subscript)):
        return loop.iter
    func = site.node.func
    return func.value if isinstance(func, ast.Subscript) else func


def _message(flow: MethodFlow, sites: list[CallSite]) -> str:
    ref = sites[0].ref
    returned = [value for _, value in flow.returns]
    first = returned[0] if returned and isinstance(returned[0], Data) else None
    unchanged = first is not None and first.param is not None and all(isinstance(v, Data) and v.param == first.param for v in returned)
    several = ref.owner is not None and ref.owner_text and ref.origin != "unpacked"
    size = len(ref.owner.members.entries or []) if several and ref.selection is None else None
    if several and size == 1:
        what = f"the output of the one module of `{ref.owner_text}` ({ref.owner.display})"
    elif several and size is not None:
        what = f"the outputs of the {plural(size, 'module')} of `{ref.owner_text}` ({ref.owner.display})"
    elif several:
        what = f"the outputs of the modules of {container_part(ref)}"
    else:
        what = f"the output of `{ref.text}` ({ref.modules[0].display})"
    if what.startswith("the outputs"):
        they, reach, run, have, their = "they", "reach", "run", "have", "their"
    else:
        they, reach, run, have, their = "it", "reaches", "runs", "has", "its"
    # Dropout or an activation has no weights to speak of.
    weighted = any(m.has_parameters() is not False for m in ref.modules)
    if unchanged:
        learn = f" and {their} weights never learn" if weighted else ""
        return (
            f"`{flow.name}` returns its input `{first.param}` unchanged: {what} never {reach} the return value, "
            f"so {they} {have} no effect on the result{learn}."
        )
    module = "the modules" if what.startswith("the outputs") else "the module"
    learn = f", and {their} weights never learn" if weighted else ""
    return (
        f"{what[0].upper()}{what[1:]} never {reach} what `{flow.name}` returns or keeps: {module} {run} but "
        f"{have} no effect on the result{learn}."
    )
