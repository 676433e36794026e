"""TW207: a tensor stored on self in `__init__` that is neither a parameter nor a buffer."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator

from ..engine.findings import Finding, Fix, Severity
from ..engine.interpreter import PARAMETER
from ..fixes.edits import code_fix, spell
from .base import Invalid, Rule

# torch functions that return a new tensor; the first group draws it at random, as weights are.
RANDOM = {"randn", "rand", "randint", "randperm", "normal", "empty", "randn_like", "rand_like", "empty_like", "Tensor", "FloatTensor"}
TENSOR_FUNCTIONS = RANDOM | {
    "zeros", "ones", "full", "eye", "arange", "linspace", "logspace", "tensor", "as_tensor", "from_numpy",
    "tril", "triu", "zeros_like", "ones_like", "full_like", "cat", "stack", "outer", "exp", "sin", "cos",
    "sqrt", "log", "pow", "where", "polar", "LongTensor", "BoolTensor",
}
RANDOM_INITS = {"torch.nn.init." + name for name in (
    "normal_", "uniform_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_", "orthogonal_",
)}
# Tensor methods that give a tensor again (their receiver decides what it is).
TENSOR_METHODS = {
    "to", "float", "double", "half", "bfloat16", "long", "int", "bool", "cuda", "cpu", "type", "unsqueeze", "squeeze",
    "view", "reshape", "expand", "repeat", "t", "transpose", "permute", "contiguous", "clone", "detach", "flatten",
    "masked_fill", "mul", "add", "div", "sub", "pow", "exp", "log", "sin", "cos", "sqrt", "tril", "triu", "fill_",
    "normal_", "uniform_", "zero_", "bernoulli_",
}
# Methods that return a copy of a parameter, a plain tensor, whenever they change anything (a
# new device or dtype); `.float()`/`.cpu()` leave a new float32 parameter as it is.
COPYING = {"cuda", "double", "half", "bfloat16", "to"}


@dataclass(frozen=True)
class _Tensor:
    random: bool  # drawn at random: looks like weights


class TensorAttribute(Rule):
    """
    ## What it does
    Flags a tensor stored on `self` in `__init__` as a plain attribute, neither an
    `nn.Parameter` nor a buffer, when the module's other methods (`forward`) use it; and an
    `nn.Parameter(...)` followed by `.cuda()`, `.to(device)`, `.double()` or `.half()`, which
    returns a plain tensor.

    ## Why is this bad?
    `nn.Module` keeps track of parameters, buffers and submodules only. A plain tensor
    attribute stays where it was made when `model.to(device)` moves the rest (the forward pass
    then fails with a device mismatch on the GPU), and `state_dict()` does not save it; if it
    was meant to learn, the optimizer never sees it. `nn.Parameter(t).cuda()` is the same bug
    in one line: the parameter is created and registered nowhere, and what is stored is its
    copy on the GPU, a plain tensor.

    ## Example
    ```python
    self.mask = torch.tril(torch.ones(n, n))
    self.gamma = nn.Parameter(torch.ones(d)).cuda()
    ```

    ## Use instead
    ```python
    self.register_buffer("mask", torch.tril(torch.ones(n, n)), persistent=False)
    self.gamma = nn.Parameter(torch.ones(d).cuda())
    ```

    ## Fix safety
    Safe for a computed tensor: it becomes a non-persistent buffer, which moves with the model
    and, like the attribute, is not saved. Safe for the copied parameter: the device or dtype
    call moves inside `nn.Parameter(...)`, as written the parameter was meant. Unsafe for a
    tensor drawn at random (it looks like weights): it becomes an `nn.Parameter`, which the
    optimizer then trains and `state_dict()` saves.
    """

    code = "TW207"
    name = "tensor-not-registered"
    summary = "A tensor on self is neither a parameter nor a buffer: .to(device) and state_dict() miss it"
    severity = Severity.WARNING
    fix_safety = "safe"

    VALID = [
        """
import math
import torch
import torch.nn as nn

class Attention(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.register_buffer("mask", torch.tril(torch.ones(n, n)), persistent=False)
        self.scale = nn.Parameter(torch.ones(d))
        self.temperature = math.sqrt(d)
        self.eps = torch.tensor(1e-6)  # a 0-dim tensor: used with tensors on any device
        self.device = torch.device("cpu")

    def forward(self, x):
        return (x * self.scale / self.temperature + self.eps).masked_fill(self.mask == 0, 0.0)
""",
        """
import torch
import torch.nn as nn

class Rotary(nn.Module):
    def __init__(self, dim):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.original_inv_freq = self.inv_freq  # a second name for the buffer: not a new tensor
        table = torch.randn(4, dim)
        self.proj = nn.Linear(dim, dim)
        self.proj.weight.data[:4] = table  # a tensor used inside __init__ only

    def forward(self, x):
        return self.proj(x) * self.inv_freq.sum() + self.original_inv_freq.sum()
""",
        """
import torch
import torch.nn as nn

class Scale(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(d)).float()  # already float32: the same parameter
        self.steps = torch.zeros(d)  # never read outside __init__

    def forward(self, x):
        return x * self.gamma
""",
        """
import torch
import torch.nn as nn

class EmbedRope(nn.Module):
    def __init__(self, theta, dim):
        super().__init__()
        index = torch.arange(4096)
        # Complex frequencies kept off the module on purpose: `model.half()` must not cast them.
        self.pos_freqs = torch.polar(torch.ones(4096, dim), torch.outer(index, torch.arange(dim) / theta))

    def forward(self, x):
        freqs = self.pos_freqs.to(x.device)[: x.shape[1]]
        return x * freqs.real
""",
    ]

    INVALID = [
        Invalid(
            """
import torch
import torch.nn as nn

class CausalAttention(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.mask = torch.tril(torch.ones(n, n)).view(1, 1, n, n)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        att = (q @ k.transpose(-2, -1)).masked_fill(self.mask == 0, float("-inf"))
        return att.softmax(-1) @ v
""",
            flags="self.mask = torch.tril(torch.ones(n, n)).view(1, 1, n, n)",
            message=(
                "`self.mask` is a plain tensor, neither a parameter nor a buffer: `model.to(device)` leaves it "
                "behind (the forward pass then mixes devices) and `state_dict()` does not save it. Register it as "
                "a buffer: `self.register_buffer(\"mask\", torch.tril(torch.ones(n, n)).view(1, 1, n, n), "
                "persistent=False)`."
            ),
            fixed="""
import torch
import torch.nn as nn

class CausalAttention(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.register_buffer("mask", torch.tril(torch.ones(n, n)).view(1, 1, n, n), persistent=False)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        att = (q @ k.transpose(-2, -1)).masked_fill(self.mask == 0, float("-inf"))
        return att.softmax(-1) @ v
""",
        ),
        Invalid(
            """
import torch
import torch.nn as nn

class Memory(nn.Module):
    def __init__(self, slots, d):
        super().__init__()
        self.keys = torch.randn(slots, d)

    def forward(self, q):
        return (q @ self.keys.t()).softmax(-1)
""",
            flags="self.keys = torch.randn(slots, d)",
            message=(
                "`self.keys` is a plain tensor, neither a parameter nor a buffer: `model.to(device)` leaves it "
                "behind (the forward pass then mixes devices) and `state_dict()` does not save it. It is drawn at "
                "random, as weights are: if it should learn, make it `nn.Parameter(torch.randn(slots, d))` (the "
                "optimizer never sees a plain tensor); if it is fixed, register it as a buffer: "
                "`self.register_buffer(\"keys\", torch.randn(slots, d))`."
            ),
            fixed="""
import torch
import torch.nn as nn

class Memory(nn.Module):
    def __init__(self, slots, d):
        super().__init__()
        self.keys = nn.Parameter(torch.randn(slots, d))

    def forward(self, q):
        return (q @ self.keys.t()).softmax(-1)
""",
        ),
        Invalid(
            """
import torch
from torch import nn

class LayerScale(nn.Module):
    def __init__(self, d, init=1e-5):
        super().__init__()
        self.gamma = nn.Parameter(init * torch.ones(d)).cuda()

    def forward(self, x):
        return x * self.gamma
""",
            flags="nn.Parameter(init * torch.ones(d)).cuda()",
            message=(
                "`nn.Parameter(...).cuda()` returns a copy of the parameter, a plain tensor: `self.gamma` is not "
                "registered, so `model.parameters()` and the optimizer never see it and `state_dict()` does not "
                "save it. Call `.cuda()` on the tensor inside: `nn.Parameter((init * torch.ones(d)).cuda())`, or "
                "leave it out and move the whole model with `model.to(device)`."
            ),
            fixed="""
import torch
from torch import nn

class LayerScale(nn.Module):
    def __init__(self, d, init=1e-5):
        super().__init__()
        self.gamma = nn.Parameter((init * torch.ones(d)).cuda())

    def forward(self, x):
        return x * self.gamma
""",
        ),
        Invalid(
            """
import torch
import torch.nn as nn

class Bias(nn.Module):
    def __init__(self, d, device):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(d), requires_grad=True).to(device)

    def forward(self, x):
        return x + self.bias
""",
            flags="nn.Parameter(torch.zeros(d), requires_grad=True).to(device)",
            fixed="""
import torch
import torch.nn as nn

class Bias(nn.Module):
    def __init__(self, d, device):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(d).to(device), requires_grad=True)

    def forward(self, x):
        return x + self.bias
""",
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for cls in ctx.module_classes:
            init = cls.methods.get("__init__")
            if init is None or not init.args.args:
                continue
            me = init.args.args[0].arg
            candidates = list(_candidates(ctx, init, me))
            if not candidates:
                continue  # most classes: no tensor stored on self, nothing more to read
            read_elsewhere = _read_outside(cls, "__init__", {c[1] for c in candidates})
            registered = _registered_names(cls)
            stores = _stores(init, me)
            for stmt, name, found in candidates:
                if name in registered or name not in read_elsewhere:
                    continue
                if isinstance(found, str):
                    yield self._copied(ctx, name, stmt.value, found)
                else:
                    yield self._plain(ctx, cls, stmt, name, found, only_store=stores.get(name) == 1)

    def _plain(self, ctx, cls, stmt: ast.Assign, name: str, kind: _Tensor, only_store: bool) -> Finding:
        text = ctx.source.segment(stmt.value)
        parameter, _ = spell(ctx.file.imports, ctx.tree, "torch.nn.Parameter")
        message = (
            f"`self.{name}` is a plain tensor, neither a parameter nor a buffer: `model.to(device)` leaves it behind "
            "(the forward pass then mixes devices) and `state_dict()` does not save it. "
        )
        if kind.random:
            message += (
                f"It is drawn at random, as weights are: if it should learn, make it `{parameter}({text})` (the "
                f"optimizer never sees a plain tensor); if it is fixed, register it as a buffer: "
                f"`self.register_buffer(\"{name}\", {text})`."
            )
            fix = _parameter_fix(ctx, stmt.value, parameter) if only_store else None
        else:
            message += f"Register it as a buffer: `self.register_buffer(\"{name}\", {text}, persistent=False)`."
            fix = _buffer_fix(ctx, stmt, name) if only_store else None
        return self.finding(ctx, stmt, message, fix)

    def _copied(self, ctx, name: str, value: ast.Call, method: str) -> Finding:
        parameter = value.func.value
        func = ctx.source.segment(parameter.func)
        tensor = ctx.source.segment(parameter.args[0])
        if not isinstance(parameter.args[0], (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
            tensor = f"({tensor})"
        args = ", ".join(ctx.source.segment(a) for a in [*value.args, *value.keywords])
        rest = "".join(", " + ctx.source.segment(a) for a in [*parameter.args[1:], *parameter.keywords])
        shown = f".{method}(...)" if method == "to" else f".{method}()"
        message = (
            f"`{func}(...){shown}` returns a copy of the parameter, a plain tensor"
            f"{' (whenever the device or dtype changes)' if method == 'to' else ''}: `self.{name}` is not registered, "
            "so `model.parameters()` and the optimizer never see it and `state_dict()` does not save it. Call "
            f"`{shown}` on the tensor inside: `{func}({tensor}.{method}({args}){rest})`, or leave it out and move the "
            "whole model with `model.to(device)`."
        )
        return self.finding(ctx, value, message, _inside_fix(ctx, value))


# ---------------------------------------------------------------------- what the code says


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """`__init__`'s statements in order, those in branches and loops included."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            for block in ("body", "orelse", "finalbody"):
                yield from _statements(getattr(stmt, block, []))
            for handler in getattr(stmt, "handlers", []):
                yield from _statements(handler.body)


def _candidates(ctx, init: ast.FunctionDef, me: str) -> Iterator[tuple[ast.Assign, str, "_Tensor | str"]]:
    """`self.x = <new tensor>` in `__init__` (with what it is), and `self.x = nn.Parameter(t).cuda()`
    (with the copying method)."""
    tensors: dict[str, _Tensor] = {}  # local names bound to new tensors
    for stmt in _statements(init.body):
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            continue
        target, value = stmt.targets[0], stmt.value
        if isinstance(target, ast.Name):
            kind = _tensor(ctx, value, tensors)
            if kind is not None:
                tensors[target.id] = kind
            else:
                tensors.pop(target.id, None)
            continue
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == me):
            continue
        copy = _copied_parameter(ctx, value)
        if copy is not None:
            yield stmt, target.attr, copy
            continue
        kind = _tensor(ctx, value, tensors)
        if kind is not None and not _asks_for_grad(value) and not _scalar(ctx, value):
            yield stmt, target.attr, kind


def _read_outside(cls, skipped: str, wanted: set[str]) -> set[str]:
    """Which of `wanted` the class's other methods read on their `self`, except those they
    move themselves (`self.freqs.to(x.device)`): a table kept off the module on purpose, so
    that `model.half()` leaves its precision alone (diffusers' and transformers' rotary
    tables)."""
    read: set[str] = set()
    moved: set[str] = set()
    for method_name, method in cls.methods.items():
        if method_name == skipped or not method.args.args:
            continue
        me = method.args.args[0].arg
        reads = [node for node in ast.walk(method) if isinstance(node, ast.Attribute) and node.attr in wanted
                 and isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name) and node.value.id == me]
        if not reads:
            continue
        parents = {id(child): node for node in ast.walk(method) for child in ast.iter_child_nodes(node)}
        for node in reads:
            (moved if _moved_by_hand(node, parents) else read).add(node.attr)
    return read - moved


def _moved_by_hand(node: ast.expr, parents: dict[int, ast.AST]) -> bool:
    """Whether the expression chain `node` starts (`self.x.view(...).to(device)`) moves it."""
    while True:
        parent = parents.get(id(node))
        if isinstance(parent, ast.Attribute) and parent.value is node:
            if parent.attr in ("to", "cuda", "type_as"):
                return True
        elif not ((isinstance(parent, ast.Call) and parent.func is node) or (isinstance(parent, ast.Subscript) and parent.value is node)):
            return False
        node = parent


def _registered_names(cls) -> set[str]:
    """Names the class registers anywhere (`register_buffer("mask", ...)`), and what its model
    holds as parameters, buffers or submodules."""
    names: set[str] = set()
    for method in cls.methods.values():
        for node in ast.walk(method):
            if (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("register_buffer", "register_parameter", "add_module", "register_module")
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    try:
        members = cls.root.members
        names |= set(members.params) | set(members.buffers) | set(members.children)
    except Exception:  # a class the analysis could not build: what the code says is enough
        pass
    return names


def _stores(fn: ast.FunctionDef, me: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == me:
            counts[node.attr] = counts.get(node.attr, 0) + 1
    return counts


def _tensor(ctx, node: ast.expr, tensors: dict[str, _Tensor]) -> _Tensor | None:
    """What a new tensor `node` builds, if the code shows it is one."""
    if isinstance(node, ast.Name):
        return tensors.get(node.id)
    if isinstance(node, ast.BinOp):
        left, right = _tensor(ctx, node.left, tensors), _tensor(ctx, node.right, tensors)
        if left is None and right is None:
            return None
        others = [side for side, kind in ((node.left, left), (node.right, right)) if kind is None]
        if any(not _scalar_operand(other) for other in others):
            return None  # a tensor and something unknown (a module's output, say)
        return _Tensor(bool((left and left.random) or (right and right.random)))
    if isinstance(node, ast.Subscript):
        return _tensor(ctx, node.value, tensors)
    if not isinstance(node, ast.Call):
        return None
    qualified = ctx.file.imports.qualify(node.func) or ""
    if qualified.startswith("torch.") and qualified.count(".") == 1 and qualified[6:] in TENSOR_FUNCTIONS:
        return _Tensor(qualified[6:] in RANDOM)
    if qualified in RANDOM_INITS and node.args:
        inner = _tensor(ctx, node.args[0], tensors)
        return _Tensor(True) if inner is not None else None
    if isinstance(node.func, ast.Attribute) and node.func.attr in TENSOR_METHODS and not qualified.startswith("torch."):
        inner = _tensor(ctx, node.func.value, tensors)
        if inner is not None and node.func.attr in ("normal_", "uniform_", "bernoulli_"):
            return _Tensor(True)
        return inner
    return None


def _scalar_operand(node: ast.expr) -> bool:
    """A number, or a name: in `__init__`, `init * torch.ones(d)` scales by a size or a factor."""
    if isinstance(node, ast.UnaryOp):
        return _scalar_operand(node.operand)
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))) or isinstance(node, ast.Name)


def _asks_for_grad(node: ast.expr) -> bool:
    """`requires_grad=True` or `.requires_grad_()` anywhere in it: TW206's to report."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.keyword) and sub.arg == "requires_grad":
            return True
        if isinstance(sub, ast.Attribute) and sub.attr == "requires_grad_":
            return True
    return False


def _scalar(ctx, node: ast.expr) -> bool:
    """`torch.tensor(0.5)`: a 0-dim tensor, which PyTorch lets any device's tensors use."""
    return (
        isinstance(node, ast.Call) and ctx.file.imports.qualify(node.func) in ("torch.tensor", "torch.as_tensor")
        and len(node.args) == 1 and _scalar_operand(node.args[0]) and not isinstance(node.args[0], ast.Name)
    )


def _copied_parameter(ctx, node: ast.expr) -> str | None:
    """`nn.Parameter(t).cuda()` (or `.to(...)`, `.double()`, `.half()`): the copying method."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in COPYING):
        return None
    inner = node.func.value
    if not (isinstance(inner, ast.Call) and inner.args and ctx.file.imports.qualify(inner.func) in PARAMETER):
        return None
    if node.func.attr == "to" and all(_keeps_parameter(ctx, a) for a in [*node.args, *(k.value for k in node.keywords)]):
        return None  # `.to("cpu")`, `.to(torch.float32)`: nothing changes for a new parameter
    return node.func.attr


def _keeps_parameter(ctx, node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in ("cpu", False)
    return ctx.file.imports.qualify(node) in ("torch.float32", "torch.float")


# ---------------------------------------------------------------------- fixes


def _buffer_fix(ctx, stmt: ast.Assign, name: str) -> Fix:
    def register(assign):
        import libcst as cst

        target = assign.targets[0].target
        call = cst.Call(
            func=cst.Attribute(value=target.value, attr=cst.Name("register_buffer")),
            args=[
                cst.Arg(cst.SimpleString(f'"{name}"')),
                cst.Arg(assign.value),
                cst.Arg(cst.Name("False"), keyword=cst.Name("persistent"), equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))),
            ],
        )
        return cst.Expr(call, semicolon=assign.semicolon)

    return code_fix(ctx.doc, f'Register as a buffer: `register_buffer("{name}", ..., persistent=False)`', True, stmt, register)


def _parameter_fix(ctx, value: ast.expr, parameter: str) -> Fix:
    def wrap(expr):
        import libcst as cst

        return cst.Call(func=cst.parse_expression(parameter), args=[cst.Arg(expr)])

    return code_fix(ctx.doc, f"Make it a parameter: `{parameter}(...)`", False, value, wrap, imports=("torch.nn.Parameter",))


def _inside_fix(ctx, value: ast.Call) -> Fix:
    method = value.func.attr

    def move_inside(call):
        import libcst as cst

        parameter = call.func.value
        args = list(parameter.args)
        tensor = args[0].value
        if not isinstance(tensor, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            tensor = tensor.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        moved = cst.Call(func=cst.Attribute(value=tensor, attr=cst.Name(method)), args=call.args)
        args[0] = args[0].with_changes(value=moved)
        return parameter.with_changes(args=args)

    return code_fix(ctx.doc, f"Call `.{method}(...)` on the tensor inside `nn.Parameter(...)`", True, value, move_inside)
