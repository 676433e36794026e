"""TW204: a container constructed with the wrong kind of arguments."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.findings import Finding, Fix, Severity
from ..fixes.edits import code_fix
from .base import Invalid, Rule
from .cst_helpers import elements_as_args


class ContainerMisbuilt(Rule):
    """
    ## What it does
    Flags containers given the wrong kind of arguments: `nn.Sequential([a, b])` (a list
    instead of modules), `nn.ModuleList(a, b)` (modules instead of one list),
    `nn.ModuleList(nn.Linear(...))` (one module instead of a list), `nn.ModuleDict([...])`
    (a list of modules instead of a mapping).

    ## Why is this bad?
    Each raises a `TypeError` when the model is built: `nn.Sequential([a, b])` gives
    `TypeError: list is not a Module subclass`, `nn.ModuleList(a, b)` gives
    `TypeError: ModuleList.__init__() takes from 1 to 2 positional arguments but 3 were given`.

    ## Example
    ```python
    self.net = nn.Sequential([nn.Linear(10, 20), nn.ReLU()])
    ```

    ## Use instead
    ```python
    self.net = nn.Sequential(nn.Linear(10, 20), nn.ReLU())
    ```

    ## Fix safety
    Safe: the code raised before; the fix unpacks the list (`*layers`) or wraps the modules in
    one.
    """

    code = "TW204"
    name = "container-misbuilt"
    summary = "A module container is given the wrong kind of arguments"
    severity = Severity.ERROR
    fix_safety = "safe"

    VALID = [
        """
import torch.nn as nn

layers = [nn.Linear(10, 20), nn.ReLU()]
net = nn.Sequential(*layers)
blocks = nn.ModuleList(layers)
stack = nn.ModuleList(nn.Sequential(nn.Linear(4, 4), nn.ReLU()))  # a Sequential is iterable
""",
    ]

    INVALID = [
        Invalid(
            """
import torch.nn as nn

net = nn.Sequential([nn.Linear(10, 20), nn.ReLU()])
""",
            flags="nn.Sequential([nn.Linear(10, 20), nn.ReLU()])",
            fixed="""
import torch.nn as nn

net = nn.Sequential(nn.Linear(10, 20), nn.ReLU())
""",
            message=(
                "`nn.Sequential` takes modules as separate arguments, not a list: this raises "
                "`TypeError: list is not a Module subclass`. Pass the modules themselves: "
                "`nn.Sequential(a, b)` or `nn.Sequential(*layers)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.net = nn.Sequential(list(layers))
""",
            flags="nn.Sequential(list(layers))",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.net = nn.Sequential(*list(layers))
""",
        ),
        Invalid(
            """
import torch.nn as nn

blocks = nn.ModuleList(nn.Linear(4, 4), nn.ReLU())
""",
            flags="nn.ModuleList(nn.Linear(4, 4), nn.ReLU())",
            fixed="""
import torch.nn as nn

blocks = nn.ModuleList([nn.Linear(4, 4), nn.ReLU()])
""",
        ),
        Invalid(
            """
import torch.nn as nn

head = nn.ModuleList(nn.Linear(4, 4))
""",
            flags="nn.ModuleList(nn.Linear(4, 4))",
            fixed="""
import torch.nn as nn

head = nn.ModuleList([nn.Linear(4, 4)])
""",
        ),
        Invalid(
            """
import torch.nn as nn

heads = nn.ModuleDict([nn.Linear(4, 4), nn.Linear(4, 2)])
""",
            flags="nn.ModuleDict([nn.Linear(4, 4), nn.Linear(4, 2)])",
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for obs in ctx.observations:
            if obs.kind != "container-misuse":
                continue
            node: ast.Call = obs.node
            kind, problem = obs.data["container"], obs.data["problem"]
            if problem == "list":
                message = (
                    f"`nn.{kind}` takes modules as separate arguments, not a list: this raises "
                    f"`TypeError: list is not a Module subclass`. Pass the modules themselves: "
                    f"`nn.{kind}(a, b)` or `nn.{kind}(*layers)`."
                )
                yield self.finding(ctx, node, message, _unpack_fix(ctx, node))
            elif problem == "many":
                n = obs.data["count"]
                message = (
                    f"`nn.{kind}` takes one iterable of modules, not {n} modules: this raises "
                    f"`TypeError: {kind}.__init__() takes from 1 to 2 positional arguments but {n + 1} were given`. "
                    f"Put them in a list: `nn.{kind}([a, b])`."
                )
                yield self.finding(ctx, node, message, _wrap_fix(ctx, node) if kind in ("ModuleList", "ParameterList") else None)
            elif problem == "module":
                got = obs.data["arg"].display.removeprefix("nn.")
                if kind == "ModuleDict":
                    error = f"TypeError: ModuleDict.update should be called with an iterable of key/value pairs, but got {got}"
                    advice = 'Give it a mapping: `nn.ModuleDict({"name": module})`.'
                else:
                    error = f"TypeError: {kind}.extend should be called with an iterable, but got {got}"
                    advice = f"Put the module in a list: `nn.{kind}([module])`."
                message = f"`nn.{kind}` takes an iterable of modules, not a module: this raises `{error}`. {advice}"
                yield self.finding(ctx, node, message, _wrap_fix(ctx, node) if kind == "ModuleList" else None)
            elif problem == "not-mapping":
                message = (
                    f"`nn.{kind}` takes a mapping of names to modules (or (name, module) pairs), not a list "
                    "of modules: this raises `TypeError: ModuleDict update sequence element #0 should be "
                    'Iterable`. Name each module: `nn.ModuleDict({"name": module})`.'
                )
                yield self.finding(ctx, node, message)


def _unpack_fix(ctx, call: ast.Call) -> Fix | None:
    if len(call.args) != 1 or call.keywords or isinstance(call.args[0], ast.Starred):
        return None

    def unpack(node):
        import libcst as cst

        (arg,) = node.args
        if isinstance(arg.value, (cst.List, cst.Tuple)) and all(isinstance(e, cst.Element) for e in arg.value.elements):
            return node.with_changes(args=elements_as_args(arg.value.elements))
        return node.with_changes(args=[arg.with_changes(star="*")])

    return code_fix(ctx.doc, "Pass the modules as separate arguments", True, call, unpack)


def _wrap_fix(ctx, call: ast.Call) -> Fix | None:
    if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        return None

    def wrap(node):
        import libcst as cst

        elements = [cst.Element(a.value, comma=a.comma) for a in node.args]
        elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(args=[cst.Arg(cst.List(elements))])

    return code_fix(ctx.doc, "Put the modules in a list", True, call, wrap)
