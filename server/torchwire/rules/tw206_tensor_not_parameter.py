"""TW206: a tensor that requires grad stored on self instead of an nn.Parameter."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.findings import Finding, Fix, Severity
from ..fixes.edits import code_fix, spell
from .base import Invalid, Rule


class TensorNotParameter(Rule):
    """
    ## What it does
    Flags a tensor created with `requires_grad=True` (or `.requires_grad_()`) and assigned to
    `self` in `__init__`, instead of an `nn.Parameter`.

    ## Why is this bad?
    Only `nn.Parameter` attributes are registered. A plain tensor that requires grad gets
    gradients, but `model.parameters()` does not list it, so the optimizer never updates it;
    `.to(device)` does not move it (the forward pass then fails with a device mismatch on the
    GPU), and `state_dict()` does not save it.

    ## Example
    ```python
    self.scale = torch.ones(64, requires_grad=True)
    ```

    ## Use instead
    ```python
    self.scale = nn.Parameter(torch.ones(64))
    ```

    ## Fix safety
    Unsafe: the tensor becomes a trained parameter and a new `state_dict()` entry.
    """

    code = "TW206"
    name = "tensor-not-parameter"
    summary = "A tensor with requires_grad=True on self is not registered: use nn.Parameter"
    severity = Severity.WARNING
    fix_safety = "unsafe"

    VALID = [
        """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(64))
        self.register_buffer("mask", torch.ones(64))
        self.mean = torch.zeros(64)  # no grad: a constant
""",
    ]

    INVALID = [
        Invalid(
            """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.ones(64, requires_grad=True)
""",
            flags="torch.ones(64, requires_grad=True)",
            fixed="""
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(64))
""",
            message=(
                "`self.scale` is a tensor with `requires_grad=True`, not an `nn.Parameter`: it is not "
                "registered, so `model.parameters()` and the optimizer never see it, `.to(device)` "
                "does not move it and `state_dict()` does not save it. Wrap it: "
                "`nn.Parameter(torch.ones(64))`."
            ),
        ),
        Invalid(
            """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.bias = torch.zeros(d).requires_grad_()
""",
            flags="torch.zeros(d).requires_grad_()",
            fixed="""
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(d))
""",
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for obs in ctx.observations:
            if obs.kind != "grad-tensor-attribute":
                continue
            node = obs.node
            name, _ = spell(ctx.file.imports, ctx.tree, "torch.nn.Parameter")
            inner = _without_grad_request(ctx, node)
            message = (
                f"`self.{obs.data['attribute']}` is a tensor with `requires_grad=True`, not an "
                "`nn.Parameter`: it is not registered, so `model.parameters()` and the optimizer never "
                "see it, `.to(device)` does not move it and `state_dict()` does not save it. Wrap it: "
                f"`{name}({inner})`."
            )
            yield self.finding(ctx, node, message, _fix(ctx, node, name))


def _without_grad_request(ctx, node: ast.expr) -> str:
    """The tensor expression with `requires_grad=True` / `.requires_grad_()` taken out."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "requires_grad_":
        return ctx.source.segment(node.func.value)
    if isinstance(node, ast.Call):
        kept = [k for k in node.keywords if k.arg != "requires_grad"]
        func = ctx.source.segment(node.func)
        parts = [ctx.source.segment(a) for a in node.args] + [
            f"{k.arg}={ctx.source.segment(k.value)}" if k.arg else f"**{ctx.source.segment(k.value)}" for k in kept
        ]
        return f"{func}({', '.join(parts)})"
    return ctx.source.segment(node)


def _fix(ctx, node: ast.expr, name: str) -> Fix:
    def wrap(expr):
        import libcst as cst

        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "requires_grad_":
            tensor = expr.func.value
        elif isinstance(expr, cst.Call):
            args = [a for a in expr.args if not (a.keyword is not None and a.keyword.value == "requires_grad")]
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            tensor = expr.with_changes(args=args)
        else:
            tensor = expr
        return cst.Call(func=cst.parse_expression(name), args=[cst.Arg(tensor)])

    return code_fix(ctx.doc, f"Wrap in `{name}(...)`", False, node, wrap, imports=("torch.nn.Parameter",))
