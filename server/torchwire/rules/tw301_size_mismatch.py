"""TW301: consecutive layers whose sizes do not fit."""

from __future__ import annotations

import ast
import bisect
import itertools
from typing import Iterator

from ..engine import shapes as SH
from ..engine.dataflow import SizeMismatch
from ..engine.findings import Finding, Severity
from ..engine.model import ModuleClass, statement_lines
from ..engine.values import ModuleVal
from .base import Invalid, Rule


class SizeMismatchRule(Rule):
    """
    ## What it does
    Checks that consecutive layers fit: in an `nn.Sequential`, in a loop that chains the
    modules of a container (`x = layer(x)`), and in straight-line `forward` code. It compares
    `Linear` output features with the next `Linear`'s input features, `Conv` channels with the
    next `Conv` / `BatchNorm` / `GroupNorm`, `LayerNorm`'s shape, attention and recurrent input
    sizes, through the modules that keep the size (activations, dropout, norms) and the common
    tensor operations (`flatten`, `view`, `cat`, ...).

    ## Why is this bad?
    The model cannot run: the first forward pass raises, for example,
    `RuntimeError: mat1 and mat2 shapes cannot be multiplied (Bx20 and 30x10)`. Only sizes the
    code states are compared (numbers, or the same expression such as `d_model`); unknown sizes
    are left alone, and so is what an input of unknown shape is fed.

    ## Example
    ```python
    self.net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(30, 10))
    ```

    ## Use instead
    ```python
    self.net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))
    ```

    ## Fix safety
    No fix: which of the two sizes is wrong is for the author to say.
    """

    code = "TW301"
    name = "size-mismatch"
    summary = "Consecutive layers whose sizes do not fit: the forward pass raises"
    severity = Severity.ERROR
    fix_safety = "none"

    VALID = [
        """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, d_model=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Dropout(0.1), nn.Linear(20, 10))
        self.conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 16, 3))
        self.up = nn.Linear(d_model, 4 * d_model)
        self.down = nn.Linear(4 * d_model, d_model)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x, h):
        h = self.norm(self.down(torch.relu(self.up(h))))
        return self.net(x), h
""",
        """
import torch
import torch.nn as nn

class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 30), nn.Linear(20, 10)])

    def forward(self, x):
        x = self.layers[0](x)
        x = self.layers[1](x)
        return torch.cat([self.layers[2](x), self.layers[3](x)], dim=1)
""",
        """
import torch.nn as nn
import torch.nn.functional as F

class Pairs(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 8), nn.Linear(8, 4), nn.Linear(4, 8), nn.Linear(8, 4), nn.Linear(4, 2)])

    def forward(self, x):
        for up, down in zip(self.blocks[:-1:2], self.blocks[1::2]):
            x = down(F.gelu(up(x)))
        return self.blocks[-1](x)
""",
    ]

    INVALID = [
        Invalid(
            """
import torch
import torch.nn as nn

class Expert(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

class Router(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        self.expert = Expert(64)

    def forward(self, tokens):
        h = self.embed(tokens)
        return self.expert(h)
""",
            flags="self.expert(h)",
            message=(
                "`self.expert` (Expert) passes its input to `self.fc1` (nn.Linear(d, 2 * d)), which expects 64 input "
                "features, but `h` has 32, from `self.embed` (nn.Embedding(100, 32)): the forward pass raises "
                "`RuntimeError: mat1 and mat2 shapes cannot be multiplied (B*Tx32 and 64x128)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 30))

    def forward(self, x):
        return self.net(x)

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = Stem()
        self.net = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(30, 10))

    def forward(self, x):
        return self.net(self.stem(x))
""",
            flags="nn.Linear(30, 10)",
            message=(
                "`nn.Linear(30, 10)` expects 30 input features, but `nn.Linear(30, 20)` before it in this "
                "nn.Sequential gives 20: the forward pass raises `RuntimeError: mat1 and mat2 shapes cannot be "
                "multiplied (Bx20 and 30x10)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(30, 10))
""",
            flags="nn.Linear(30, 10)",
            message=(
                "`nn.Linear(30, 10)` expects 30 input features, but `nn.Linear(10, 20)` before it in this "
                "nn.Sequential gives 20: the forward pass raises `RuntimeError: mat1 and mat2 shapes cannot be "
                "multiplied (Bx20 and 30x10)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(32, 8, 3)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
""",
            flags="nn.Conv2d(32, 8, 3)",
            message=(
                "`self.layers[2]` (nn.Conv2d(32, 8, 3)) expects 32 input channels, but the loop in `forward` "
                "passes it 16, from `self.layers[0]` (nn.Conv2d(3, 16, 3)): the forward pass raises "
                "`RuntimeError: Given groups=1, weight of size [8, 32, 3, 3], expected input[B, 16, H - 2, W - 2] "
                "to have 32 channels, but got 16 channels instead`."
            ),
        ),
        Invalid(
            """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.up = nn.Linear(d_model, 4 * d_model)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x):
        h = torch.relu(self.up(x))
        return self.norm(h)
""",
            flags="self.norm(h)",
            message=(
                "`self.norm` (nn.LayerNorm(d_model)) expects a last dimension of d_model, but `h` has 4*d_model, "
                "from `self.up` (nn.Linear(d_model, 4 * d_model)): the forward pass raises `RuntimeError: Given "
                "normalized_shape=[d_model], expected input with shape [*, d_model], but got input of "
                "size[B, 4*d_model]`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn
import torch.nn.functional as F

class Pairs(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 8), nn.Linear(8, 4), nn.Linear(4, 8), nn.Linear(9, 4)])

    def forward(self, x):
        for up, down in zip(self.blocks[::2], self.blocks[1::2]):
            x = down(F.gelu(up(x)))
        return x
""",
            flags="nn.Linear(9, 4)",
            message=(
                "`self.blocks[3]` (nn.Linear(9, 4)) expects 9 input features, but the loop in `forward` passes it 8, "
                "from `self.blocks[2]` (nn.Linear(4, 8)): the forward pass raises `RuntimeError: mat1 and mat2 shapes "
                "cannot be multiplied (Bx8 and 9x4)`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = nn.ModuleList([
            nn.ModuleList([nn.Conv2d(3, 16, 3), nn.Conv2d(16, 16, 3)]),
            nn.ModuleList([nn.Conv2d(32, 32, 3)]),
        ])

    def forward(self, x):
        for stage in self.stages:
            for block in stage:
                x = block(x)
        return x
""",
            flags="nn.Conv2d(32, 32, 3)",
            message=(
                "`self.stages[1][0]` (nn.Conv2d(32, 32, 3)) expects 32 input channels, but the loop in `forward` "
                "passes it 16, from `self.stages[0][1]` (nn.Conv2d(16, 16, 3)): the forward pass raises "
                "`RuntimeError: Given groups=1, weight of size [32, 32, 3, 3], expected input[B, 16, H - 4, W - 4] "
                "to have 32 channels, but got 16 channels instead`."
            ),
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        reported: set[tuple] = set()
        sequentials = _Sequentials(ctx.file.instances)
        for cls in ctx.module_classes:
            for finding in (*self._sequentials(ctx, cls, sequentials), *self._in_methods(ctx, cls)):
                key = (finding.range, finding.message)
                if key not in reported:
                    reported.add(key)
                    yield finding

    def _sequentials(self, ctx, cls: ModuleClass, sequentials: _Sequentials) -> Iterator[Finding]:
        cls.root  # interpreting __init__ records the modules it builds
        for module in sequentials.within(*statement_lines(cls.node)):
            modules = SH.sequential_modules(module)
            if not modules:
                continue
            _, mismatch, index = SH.sequence_output(modules, SH.assumed_input(modules[0]))
            consumer = modules[index] if mismatch is not None else None
            if consumer is None or index == 0 or not isinstance(consumer.node, ast.Call):
                continue
            producer = _size_producer(modules[:index])
            message = (
                f"`{consumer.construction_text()}` expects {mismatch.expected}, but "
                f"`{producer.construction_text() if producer else 'the module'}` before it in this nn.Sequential "
                f"gives {mismatch.got}: the forward pass raises `{mismatch.exception}: {mismatch.error}`."
            )
            yield self.finding(ctx, consumer.node, message)

    def _in_methods(self, ctx, cls: ModuleClass) -> Iterator[Finding]:
        for flow in ctx.flows(cls).values():
            for found in flow.mismatches:
                yield self.finding(ctx, *_located(ctx, flow.name, found))


class _Sequentials:
    """The nn.Sequential the file's constructions built, by the line of their call: each class
    asks for those within its lines (a scan of every construction per class made 10,000 lines
    of 500 classes take 0.4 s). The constructions are only added to while the rule runs, in
    order, so the ones recorded since the last question are indexed as it comes."""

    def __init__(self, instances: dict[int, ModuleVal]) -> None:
        self.instances = instances
        self.indexed = 0
        self.by_line: list[tuple[int, int, ModuleVal]] = []  # (line, order recorded, module)

    def within(self, first: int, last: int) -> list[ModuleVal]:
        if len(self.instances) > self.indexed:
            recorded = itertools.islice(self.instances.values(), self.indexed, None)
            for order, module in enumerate(recorded, self.indexed):
                if module.container == "Sequential" and isinstance(module.node, ast.Call):
                    bisect.insort(self.by_line, (module.node.lineno, order, module), key=_place_of_entry)
            self.indexed = len(self.instances)
        line = _line_of_entry
        found = self.by_line[bisect.bisect_left(self.by_line, first, key=line) : bisect.bisect_right(self.by_line, last, key=line)]
        return [module for _, _, module in sorted(found, key=lambda entry: entry[1])]  # in the order recorded


def _line_of_entry(entry: tuple[int, int, ModuleVal]) -> int:
    return entry[0]


def _place_of_entry(entry: tuple[int, int, ModuleVal]) -> tuple[int, int]:
    return entry[0], entry[1]


def _size_producer(modules: list[ModuleVal]) -> ModuleVal | None:
    """The module that set the size a later one receives (skipping activations, norms, ...)."""
    for module in reversed(modules):
        if module.spec is None or module.spec.name not in SH.SIZE_KEEPING:
            return module
    return None


def _located(ctx, method: str, found: SizeMismatch) -> tuple[ast.AST, str]:
    m, module, ref = found.mismatch, found.module, found.ref
    raises = f"the forward pass raises `{m.exception}: {m.error}`"
    in_loop = ref.iteration_text is not None
    if in_loop and isinstance(module.node, ast.Call):
        # A chained loop over a container: the size to change is in the module's constructor.
        message = (
            f"`{ref.iteration_text}` ({module.construction_text()}) expects {m.expected}, but the loop in "
            f"`{method}` passes it {m.got}, from {found.producer}: {raises}."
        )
        return module.node, message
    given = found.node.args[0] if found.node.args else None
    name = ctx.source.segment(given) if given is not None else "its input"
    name = name if len(name) <= 30 else "its input"
    if found.via is not None:
        # The layer that cannot take the input is inside a block of the user's code.
        message = (
            f"{found.via} passes its input to `{found.inside}` ({module.construction_text()}), which expects "
            f"{m.expected}, but `{name}` has {m.got}, from {found.producer}: {raises}."
        )
        return found.node, message
    callee = ref.iteration_text or ref.text
    message = (
        f"`{callee}` ({module.construction_text()}) expects {m.expected}, but `{name}` has {m.got}, from "
        f"{found.producer}: {raises}."
    )
    return found.node, message
