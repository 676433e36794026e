"""TW208: a submodule, parameter or buffer stored on `self` before `super().__init__()`."""

from __future__ import annotations

import ast
from typing import Iterator

from ..engine.findings import Finding, Fix, Severity, TextEdit
from ..engine.source import Position, Range
from .base import Invalid, Rule

# What PyTorch's Module.__setattr__ (and register_*) raise before Module.__init__ ran.
ERRORS = {
    "module": "AttributeError: cannot assign module before Module.__init__() call",
    "parameter": "AttributeError: cannot assign parameters before Module.__init__() call",
    "buffer": "AttributeError: cannot assign buffer before Module.__init__() call",
}
REGISTERING = {"add_module": "module", "register_module": "module", "register_parameter": "parameter", "register_buffer": "buffer"}


class AssignedBeforeInit(Rule):
    """
    ## What it does
    Flags a submodule, an `nn.Parameter` or a buffer stored on `self` in `__init__` before
    `super().__init__()` (or `nn.Module.__init__(self)`, or the base class's `__init__`) is
    called.

    ## Why is this bad?
    `nn.Module.__init__` creates the dictionaries that hold a module's parameters, buffers and
    submodules. Before it runs there is nowhere to register them: constructing the model raises
    `AttributeError: cannot assign module before Module.__init__() call`. It often happens when
    a plain class becomes a module, or when a size is computed first and the call is moved.

    ## Example
    ```python
    def __init__(self, d):
        self.proj = nn.Linear(d, d)
        super().__init__()
    ```

    ## Use instead
    ```python
    def __init__(self, d):
        super().__init__()
        self.proj = nn.Linear(d, d)
    ```

    ## Fix safety
    Safe: the fix moves the `super().__init__(...)` call to the top of `__init__`, offered only
    when nothing before it reads `self` and its arguments use no name assigned before it (so
    the order does not matter to anything else).
    """

    code = "TW208"
    name = "assigned-before-module-init"
    summary = "A submodule, parameter or buffer is stored on self before super().__init__()"
    severity = Severity.ERROR
    fix_safety = "safe"

    VALID = [
        """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, d):
        hidden = 4 * d  # plain values may come first
        self.d = d
        super().__init__()
        self.proj = nn.Linear(d, hidden)
        self.register_buffer("mask", torch.ones(d))
""",
        """
import torch.nn as nn

class Config:
    def __init__(self):
        self.proj = nn.Linear(2, 2)  # not a module: a plain class may hold layers
""",
        """
import torch.nn as nn

class Block(nn.Linear):
    def __init__(self, d):
        nn.Linear.__init__(self, d, d)
        self.norm = nn.LayerNorm(d)
""",
    ]

    INVALID = [
        Invalid(
            """
import torch
import torch.nn as nn

class FrozenNorm(nn.Module):
    def __init__(self, n):
        self.weight = nn.Buffer(torch.ones(n))
        super().__init__()
""",
            flags="self.weight = nn.Buffer(torch.ones(n))",
            message=(
                "`self.weight` (nn.Buffer) is stored before `super().__init__()` runs: there is nowhere to register "
                "it yet, and building the model raises `AttributeError: cannot assign buffer before Module.__init__() "
                "call`. Call `super().__init__()` first."
            ),
            fixed="""
import torch
import torch.nn as nn

class FrozenNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Buffer(torch.ones(n))
""",
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, d):
        self.proj = nn.Linear(d, d)
        super().__init__()

    def forward(self, x):
        return self.proj(x)
""",
            flags="self.proj = nn.Linear(d, d)",
            message=(
                "`self.proj` (nn.Linear) is stored before `super().__init__()` runs: there is nowhere to register it "
                "yet, and building the model raises `AttributeError: cannot assign module before Module.__init__() "
                "call`. Call `super().__init__()` first."
            ),
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        return self.proj(x)
""",
        ),
        Invalid(
            """
import torch
import torch.nn as nn

class Scale(nn.Module):
    def __init__(self, d):
        self.register_buffer("mask", torch.ones(d))
        self.gain = nn.Parameter(torch.ones(d))
        super(Scale, self).__init__()
""",
            flags='self.register_buffer("mask", torch.ones(d))',
            message=(
                "A buffer (`mask`) is registered before `super().__init__()` runs: there is nowhere to register it "
                "yet, and building the model raises `AttributeError: cannot assign buffer before Module.__init__() "
                "call`. Call `super().__init__()` first."
            ),
            fixed="""
import torch
import torch.nn as nn

class Scale(nn.Module):
    def __init__(self, d):
        super(Scale, self).__init__()
        self.register_buffer("mask", torch.ones(d))
        self.gain = nn.Parameter(torch.ones(d))
""",
        ),
        Invalid(
            """
import torch.nn as nn

class Head(nn.Module):
    def __init__(self, d):
        self.out = nn.Linear(d, self.classes)
        self.classes = 10
        super().__init__()
""",
            flags="self.out = nn.Linear(d, self.classes)",
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for cls in ctx.module_classes:
            init = cls.methods.get("__init__")
            if init is None:
                continue
            body = init.body
            call_at = next((i for i, stmt in enumerate(body) if _is_base_init(stmt, cls)), None)
            if call_at is None:
                continue  # no call at all, or one in a branch: not this rule's to judge
            # One finding, at the first registration: the late call is the one cause, and its
            # fix resolves every registration before it.
            for stmt in body[:call_at]:
                found = _registration(ctx, cls, stmt)
                if found is not None:
                    kind, subject = found
                    message = (
                        f"{subject} before `super().__init__()` runs: there is nowhere to register it yet, and "
                        f"building the model raises `{ERRORS[kind]}`. Call `super().__init__()` first."
                    )
                    yield self.finding(ctx, stmt, message, _move_call_first(ctx, init, call_at))
                    break


def _is_base_init(stmt: ast.stmt, cls) -> bool:
    """`super().__init__(...)`, `super(Cls, self).__init__(...)`, `nn.Module.__init__(self)` or
    `Base.__init__(self, ...)` as a statement of its own."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    if not (isinstance(func, ast.Attribute) and func.attr == "__init__"):
        return False
    target = func.value
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == "super":
        return True
    base_names = {ast.unparse(base) for base in cls.node.bases}
    return ast.unparse(target) in base_names | {"nn.Module", "torch.nn.Module", "Module"}


def _registration(ctx, cls, stmt: ast.stmt) -> tuple[str, str] | None:
    """(kind, how to name it) when `stmt` stores a module, parameter or buffer on self."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if isinstance(func, ast.Attribute) and _is_self(func.value) and func.attr in REGISTERING:
            kind = REGISTERING[func.attr]
            args = stmt.value.args
            name = args[0].value if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str) else None
            article = "A buffer" if kind == "buffer" else "A parameter" if kind == "parameter" else "A module"
            return kind, f"{article} (`{name}`) is registered" if name else f"{article} is registered"
        return None
    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None:
        return None
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    attributes = [t.attr for t in targets if isinstance(t, ast.Attribute) and _is_self(t.value)]
    if not attributes or not isinstance(stmt.value, ast.Call):
        return None
    kind, display = _built(ctx, stmt.value)
    if kind is None:
        return None
    return kind, f"`self.{attributes[0]}` ({display}) is stored"


def _built(ctx, call: ast.Call) -> tuple[str | None, str]:
    """What a constructor call builds: a module (of torch.nn, or a module class torchwire
    knows), a parameter, or neither."""
    from ..catalogue import lookup

    qualified = ctx.file.imports.qualify(call.func)
    if qualified in ("torch.nn.Parameter", "torch.nn.parameter.Parameter"):
        return "parameter", "nn.Parameter"
    if qualified in ("torch.nn.Buffer", "torch.nn.parameter.Buffer"):
        return "buffer", "nn.Buffer"
    if qualified is not None and qualified.startswith("torch.nn.") and lookup(qualified) is not None:
        return "module", "nn." + qualified.rsplit(".", 1)[-1]
    if isinstance(call.func, ast.Name):
        local = ctx.file.classes.get(call.func.id)
        if local is not None and local.is_module:
            return "module", local.name
    return None, ""


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _move_call_first(ctx, init: ast.FunctionDef, call_at: int) -> Fix | None:
    """Move the base `__init__` call to the top of the body, when nothing before it reads
    `self` or defines a name its arguments use, and every statement involved has lines of its
    own."""
    body = init.body
    first = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str) else 0
    if call_at <= first:
        return None
    call, before = body[call_at], body[first:call_at]
    assigned = {n.id for stmt in before for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if any(isinstance(n, ast.Name) and n.id in assigned for n in ast.walk(call)):
        return None
    for stmt in before:
        reads = [n for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id == "self"]
        stores = [t.value for t in getattr(stmt, "targets", [getattr(stmt, "target", None)]) if isinstance(t, ast.Attribute)]
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute) \
                and _is_self(stmt.value.func.value) and stmt.value.func.attr in REGISTERING:
            stores.append(stmt.value.func.value)
        if len(reads) != len(stores):
            return None  # `self` is read there (self.classes): it may rely on what comes after
    source = ctx.source
    lines = [(s.lineno, s.end_lineno) for s in (body[first], call)]
    if any(source.line(a - 1)[: _col(source, s)].strip() for (a, _), s in zip(lines, (body[first], call))):
        return None  # shares its first line with something else
    doc = ctx.doc

    def compute() -> list[TextEdit]:
        src = doc.source
        start, end = call.lineno - 1, call.end_lineno
        text = src.text[src.offset(Position(start, 0)) : src.offset(Position(end, 0))]  # its lines, as they end
        top = body[first].lineno - 1
        return [TextEdit(Range(Position(start, 0), Position(end, 0)), ""), TextEdit(Range(Position(top, 0), Position(top, 0)), text)]

    return Fix("Call `super().__init__()` first", True, compute)


def _col(source, stmt: ast.stmt) -> int:
    return source.column(stmt.lineno, stmt.col_offset)
