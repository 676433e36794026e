"""TW102: a loop feeds every module of a container the same input and keeps only the last output."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
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
    Loops that pick the module by index count too (`self.layers[i](x)`,
    `getattr(self, f"layer{i}")(x)`), as does `[layer(x) for layer in self.layers][-1]`.

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
import torch.nn as nn
from transformers import PreTrainedModel
from transformers.utils.output_capturing import capture_outputs

class BridgeBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.conv = nn.Conv2d(d, d, 3, padding=2, dilation=2)

    def forward(self, x):
        return self.conv(x)

class Bridge(PreTrainedModel):
    _can_record_outputs = {"hidden_states": BridgeBlock}  # hooks keep every block's output

    def __init__(self, config):
        super().__init__(config)
        self.bridge = nn.ModuleList([BridgeBlock(8) for _ in range(3)])

    @capture_outputs
    def forward(self, hidden_states):
        for layer in self.bridge:
            feature = layer(hidden_states)
        return feature
""",
        """
import torch
import torch.nn as nn

class Pyramid(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        self.heads = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])

    def forward(self, feats):
        outs = [head(f) for head, f in zip(self.heads, feats)]  # one input each, all kept
        return torch.stack([head(feats[0]) for head in self.heads]).sum(0) + outs[-1]
""",
        """
import torch.nn as nn

class Heads(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])
        for i in range(n):
            setattr(self, f"head{i}", nn.Linear(d, d))

    def forward(self, x):
        for i in range(len(self.layers)):
            x = self.layers[i](x)  # chained by index
        outs = []
        for i in range(3):
            outs.append(getattr(self, f"head{i}")(x))  # one output per head, all kept
        return x, outs
""",
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

class Refiner(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        self.steps = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])

    def forward(self, x):
        return [step(x) for step in self.steps][-1]
""",
            flags="[step(x) for step in self.steps][-1]",
            message=(
                "Every module of `self.steps` (nn.ModuleList) gets the same input `x`, and `[...][-1]` keeps only "
                "the last output: the other 2 modules run for nothing. To chain them, pass each output on: "
                "`for layer in self.steps: x = layer(x)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Stack(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])

    def forward(self, inp):
        for i in range(len(self.layers)):
            out = self.layers[i](inp)
        return out
""",
            flags="self.layers[i](inp)",
            message=(
                "Every module of `self.layers` (nn.ModuleList) gets the same input `inp`, and `out` keeps only the "
                "last output: the other 2 modules run for nothing. To chain them, pass each output on "
                "(`out = self.layers[i](out)`, starting from `out = inp`); to combine them, accumulate "
                "(`out = out + self.layers[i](inp)`) or collect (`outs.append(self.layers[i](inp))`)."
            ),
            fixed="""
import torch.nn as nn

class Stack(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(n)])

    def forward(self, inp):
        out = inp
        for i in range(len(self.layers)):
            out = self.layers[i](out)
        return out
""",
        ),
        Invalid(
            """
import torch.nn as nn

class Tower(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        self.n = n
        for i in range(n):
            setattr(self, f"layer{i}", nn.Linear(d, d))

    def forward(self, inp):
        for i in range(self.n):
            x = getattr(self, f"layer{i}")(inp)
        return x
""",
            flags='getattr(self, f"layer{i}")(inp)',
            message=(
                'Every module `getattr(self, f"layer{i}")` names gets the same input `inp`, and `x` keeps only the '
                'last output: the other 2 modules run for nothing. To chain them, pass each output on '
                '(`x = getattr(self, f"layer{i}")(x)`, starting from `x = inp`); to combine them, accumulate '
                '(`x = x + getattr(self, f"layer{i}")(inp)`) or collect (`xs.append(getattr(self, f"layer{i}")(inp))`).'
            ),
        ),
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
            if cls.works_with_hooks:
                continue  # hooks may record every module's output, whatever forward keeps
            for flow in ctx.forward_flows(cls):
                for site in flow.calls:
                    found = _same_input_last_output(site, flow, cls)
                    if found is not None and site.id not in flow.escaped and ctx.enabled("TW103"):
                        continue  # the last output is lost too: TW103 says so, one finding per cause
                    if found is not None:
                        yield self.finding(ctx, site.node, _message(site, found), _fix(ctx, site, found))
                    last = _last_of_comprehension(site)
                    if last is not None:
                        yield self.finding(ctx, last, _comprehension_message(site, last))


@dataclass(frozen=True)
class _Found:
    source: str  # the input every module gets
    target: str  # the name that keeps only the last output
    loop: ast.For
    count: int | None  # how many modules the loop calls, if known


def _same_input_last_output(site: CallSite, flow, cls) -> _Found | None:
    """When the loop feeds all modules one input and overwrites the output."""
    stmt = site.statement
    loop, count = _varying_loop(site, flow, cls)
    if loop is None or (count is not None and count < 2):
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
    return _Found(source, target, loop, count)


def _varying_loop(site: CallSite, flow, cls) -> tuple[ast.For | None, int | None]:
    """The loop whose iterations call a different module at this call, and how many: a loop
    over the container, or a loop whose variable picks the module (`self.layers[i]`,
    `getattr(self, f"layer{i}")`)."""
    ref = site.ref
    if site.loop is not None and ref.origin == "loop" and ref.owner is not None:
        return site.loop, _module_count(ref.owner)
    func = site.node.func
    if isinstance(func, ast.Subscript) and ref.origin == "element" and ref.owner is not None:
        chooser, count = func.slice, _module_count(ref.owner)
    elif isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "getattr" and len(func.args) == 2:
        chooser, count = func.args[1], _members_named_like(func.args[1], cls)
    else:
        return None, None
    names = {n.id for n in ast.walk(chooser) if isinstance(n, ast.Name)}
    for loop in reversed(_enclosing_loops(flow.node.body, site.statement) or []):
        if isinstance(loop.target, ast.Name) and loop.target.id in names:
            return loop, count
    return None, None


def _module_count(container) -> int | None:
    """How many modules a container holds; None when not a number (`n` blocks, or unknown)."""
    if container.unknown_contents:
        return None
    total = 0
    for entry in container.members.entries or []:
        if not isinstance(entry.count, int):
            return None
        total += entry.count
    return total


def _enclosing_loops(body: list[ast.stmt], wanted: ast.stmt, outer: tuple = ()) -> list[ast.For] | None:
    """The `for` loops around `wanted`, outermost first; None if `wanted` is not in `body`."""
    for stmt in body:
        if stmt is wanted:
            return list(outer)
        inner = outer + (stmt,) if isinstance(stmt, ast.For) else outer
        blocks = [getattr(stmt, b, None) or [] for b in ("body", "orelse", "finalbody")]
        for block in [*blocks, *(handler.body for handler in getattr(stmt, "handlers", []))]:
            found = _enclosing_loops(block, wanted, inner)
            if found is not None:
                return found
    return None


def _members_named_like(name: ast.expr, cls) -> int | None:
    """How many submodules `f"layer{i}"` can name (layer0, layer1, ...)."""
    if not isinstance(name, ast.JoinedStr):
        return None
    pattern = "".join(re.escape(str(p.value)) if isinstance(p, ast.Constant) else r"\w+" for p in name.values)
    try:
        children = cls.root.members.children
    except Exception:
        return None
    return sum(1 for child in children if re.fullmatch(pattern, child))


def _last_of_comprehension(site: CallSite) -> ast.Subscript | None:
    """`[layer(x) for layer in self.layers][-1]`: every module gets `x`, the last output is kept."""
    ref = site.ref
    count = _module_count(ref.owner) if ref.origin == "loop" and ref.owner is not None else 0
    if count is not None and count < 2:
        return None
    for node in ast.walk(site.statement):
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.ListComp) and node.value.elt is site.node):
            continue
        index = node.slice
        last = (isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) and isinstance(index.operand, ast.Constant)
                and index.operand.value == 1)
        (generator,) = node.value.generators if len(node.value.generators) == 1 else (None,)
        if not last or generator is None or not isinstance(generator.target, ast.Name):
            return None
        variable = generator.target.id
        if any(isinstance(n, ast.Name) and n.id == variable for a in site.node.args for n in ast.walk(a)):
            return None  # each module gets something of its own
        return node
    return None


def _comprehension_message(site: CallSite, last: ast.Subscript) -> str:
    ref = site.ref
    others = _the_others(_module_count(ref.owner))
    first = site.node.args[0].id if site.node.args and isinstance(site.node.args[0], ast.Name) else "the input"
    return (
        f"Every module of `{ref.owner_text}` ({ref.owner.display}) gets the same input `{first}`, and `[...][-1]` "
        f"keeps only the last output: {others} run for nothing. To "
        f"chain them, pass each output on: `for layer in {ref.owner_text}: {first} = layer({first})`."
    )


def _the_others(count: int | None) -> str:
    """`the other 2 modules`, of `count` in all (`the others` when not known)."""
    others = count - 1 if count is not None else 0
    return f"the other {others} module{'s' if others != 1 else ''}" if others > 0 else "the others"


def _message(site: CallSite, found: _Found) -> str:
    ref, source, target = site.ref, found.source, found.target
    rest = _the_others(found.count)
    layer = ref.text
    subject = f"Every module of `{ref.owner_text}` ({ref.owner.display})" if ref.owner is not None else f"Every module `{layer}` names"
    return (
        f"{subject} gets the same input `{source}`, and `{target}` "
        f"keeps only the last output: {rest} run for nothing. To chain them, pass each output on "
        f"(`{target} = {layer}({target})`, starting from `{target} = {source}`); to combine them, accumulate "
        f"(`{target} = {target} + {layer}({source})`) or collect (`{target}s.append({layer}({source}))`)."
    )


def _fix(ctx, site: CallSite, found: _Found) -> Fix | None:
    """`y = x` before the loop, and `layer(y)` in it."""
    loop, source, target = found.loop, found.source, found.target
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
