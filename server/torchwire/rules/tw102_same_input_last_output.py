"""TW102: a loop feeds every module of a container the same input and keeps only the last output."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.dataflow import CallSite
from ..engine.findings import Finding, Fix, Severity, TextEdit
from ..engine.source import Position, Range
from ..fixes.edits import rewrite
from .base import Invalid, Rule


class SameInputLastOutput(Rule):
    """
    ## What it does
    Flags a loop over a container (`for layer in self.layers: y = layer(x)`) that passes every
    module the same input (the input is never reassigned in the loop) and overwrites the output
    each time (not accumulated with `+=`, appended, or merged), when the last output is then
    used; when it is not, all of them are lost and TW103 reports it (one finding per cause).

    ## Why is this bad?
    Every module runs, but only the last one's output survives the loop: the others cost time
    and their weights never learn. Either the modules were meant to be chained
    (`x = layer(x)`) or their outputs combined (`y = y + layer(x)`, `outs.append(layer(x))`).
    Parallel heads written that way are not flagged.

    ## Example
    ```python
    for layer in self.layers:
        y = layer(x)
    return y
    ```

    ## Use instead
    ```python
    y = x
    for layer in self.layers:
        y = layer(y)
    return y
    ```

    ## Fix safety
    Unsafe, and offered only where it is unambiguous (the output is a plain name the loop does
    not read): chaining the modules changes what the model computes.
    """

    code = "TW102"
    name = "loop-keeps-last-output"
    summary = "A loop feeds every module the same input and keeps only the last output"
    severity = Severity.WARNING
    fix_safety = "unsafe"

    VALID = [
        """
import torch
import torch.nn as nn

class Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleList([nn.Linear(8, 4) for _ in range(3)])

    def forward(self, x):
        outs = [head(x) for head in self.heads]
        total = 0
        for head in self.heads:
            total = total + head(x)
        ys = []
        for head in self.heads:
            y = head(x)
            ys.append(y)
        return torch.cat(outs, dim=-1), total, ys
""",
        """
import torch.nn as nn

class Chain(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
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
        self.layers = nn.ModuleList([nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8)])

    def forward(self, x):
        for layer in self.layers:
            y = layer(x)
        return y
""",
            flags="layer(x)",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8)])

    def forward(self, x):
        y = x
        for layer in self.layers:
            y = layer(y)
        return y
""",
            message=(
                "Every module of `self.layers` (nn.ModuleList) gets the same input `x`, and `y` keeps only the "
                "last output: the other 2 modules run for nothing. To chain them, pass each output on "
                "(`y = layer(y)`, starting from `y = x`); to combine them, accumulate (`y = y + layer(x)`) "
                "or collect (`ys.append(layer(x))`)."
            ),
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for cls in ctx.module_classes:
            for flow in ctx.forward_flows(cls):
                for site in flow.calls:
                    names = _same_input_last_output(site)
                    if names is not None and site.id not in flow.escaped and ctx.enabled("TW103"):
                        continue  # the last output is lost too: TW103 says so, one finding per cause
                    if names is not None:
                        yield self.finding(ctx, site.node, _message(site, *names), _fix(ctx, site, *names))


def _same_input_last_output(site: CallSite) -> tuple[str, str] | None:
    """(input, output) names when the loop feeds all modules one input and overwrites the output."""
    ref, loop, stmt = site.ref, site.loop, site.statement
    if loop is None or ref.origin != "loop" or ref.owner is None:
        return None
    count = len(ref.owner.members.entries or [])
    if count < 2 and not ref.owner.unknown_contents:
        return None
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
        return None
    if not any(node is site.node for node in ast.walk(stmt.value)):
        return None  # the call is not what the assignment computes
    if not site.node.args or not isinstance(site.node.args[0], ast.Name):
        return None
    source, target = site.node.args[0].id, stmt.targets[0].id
    if source == target:
        return None
    for node in (n for part in loop.body for n in ast.walk(part)):
        if isinstance(node, ast.Name) and node.id == source and isinstance(node.ctx, ast.Store):
            return None  # the input changes in the loop
        if isinstance(node, ast.Name) and node.id == target and isinstance(node.ctx, ast.Load):
            return None  # the output is read in the loop: accumulated or collected
    if isinstance(loop.target, ast.Name) and loop.target.id in (source, target):
        return None
    return source, target


def _message(site: CallSite, source: str, target: str) -> str:
    ref = site.ref
    others = len(ref.owner.members.entries or []) - 1
    rest = f"the other {others} module{'s' if others != 1 else ''}" if others > 0 else "the others"
    layer = ref.text
    return (
        f"Every module of `{ref.owner_text}` ({ref.owner.display}) gets the same input `{source}`, and `{target}` "
        f"keeps only the last output: {rest} run for nothing. To chain them, pass each output on "
        f"(`{target} = {layer}({target})`, starting from `{target} = {source}`); to combine them, accumulate "
        f"(`{target} = {target} + {layer}({source})`) or collect (`{target}s.append({layer}({source}))`)."
    )


def _fix(ctx, site: CallSite, source: str, target: str) -> Fix | None:
    """`y = x` before the loop, and `layer(y)` in it."""
    loop = site.loop
    if len(site.node.args) != 1 or site.node.keywords:
        return None
    doc = ctx.doc

    def compute() -> list[TextEdit]:
        import libcst as cst

        line = loop.lineno - 1
        text = doc.source.line(line)
        indent = text[: len(text) - len(text.lstrip())]
        before_loop = TextEdit(Range(Position(line, 0), Position(line, 0)), f"{indent}{target} = {source}\n")
        chained = rewrite(doc.source, doc.tree, site.node.args[0], lambda _: cst.Name(target))
        return [before_loop, *chained]

    return Fix(f"Chain the modules: `{target} = {site.ref.text}({target})`", safe=False, compute=compute)
