"""TW202: one module instance repeated where distinct modules were meant."""

from __future__ import annotations

import ast
import re
from typing import Iterator

from ..engine.findings import Finding, Fix, Severity
from ..fixes.edits import code_fix, enclosing_statements, module_name
from .base import Invalid, Rule


class SharedInstance(Rule):
    """
    ## What it does
    Flags one module instance repeated to fill a container: `[block] * n`,
    `nn.ModuleList([layer] * 3)`, `[layer for _ in range(n)]` with `layer` built before, or the
    same module twice in one container.

    ## Why is this bad?
    Every entry is the same object, so all of them share one set of weights: a "12-layer"
    stack has the parameters of one layer, applied 12 times. PyTorch registers the instance
    once, so `named_parameters()` lists a single copy. Weight sharing is occasionally
    intended; it is much more often a copy-paste of a list idiom that works for numbers. Where
    the code says it is meant (a module named `shared_...` or `tied_...`, or built under a
    condition such as `if config.share_bbox_head:`), nothing is reported.

    ## Example
    ```python
    block = nn.Linear(64, 64)
    self.layers = nn.ModuleList([block] * 4)
    ```

    ## Use instead
    ```python
    self.layers = nn.ModuleList([nn.Linear(64, 64) for _ in range(4)])
    ```

    ## Fix safety
    Unsafe: independent copies have their own weights, which changes the number of
    parameters, the `state_dict()` and what the model learns.
    """

    code = "TW202"
    name = "shared-module-instance"
    summary = "One module instance fills several places of a container: they share weights"
    severity = Severity.WARNING
    fix_safety = "unsafe"

    VALID = [
        """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, n=4):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(64, 64) for _ in range(n)])
        self.sizes = [64] * n
""",
        """
import torch.nn as nn

class Detector(nn.Module):
    def __init__(self, n=6, share_head=True):
        super().__init__()
        if share_head:
            head = nn.Linear(256, 4)
            self.heads = nn.ModuleList([head] * n)  # one head for all layers, on purpose
        else:
            self.heads = nn.ModuleList([nn.Linear(256, 4) for _ in range(n)])
""",
    ]

    INVALID = [
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        block = nn.Linear(64, 64)
        self.layers = nn.ModuleList([block] * 4)
""",
            flags="[block] * 4",
            fixed="""
import torch.nn as nn
import copy

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        block = nn.Linear(64, 64)
        self.layers = nn.ModuleList([copy.deepcopy(block) for _ in range(4)])
""",
            message=(
                "`[block] * 4` repeats one module: all 4 entries are the same nn.Linear object, so "
                "they share one set of weights and PyTorch registers it once. Build a new module "
                "for each entry, e.g. `[copy.deepcopy(block) for _ in range(4)]`."
            ),
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(8, 8)] * n)
""",
            flags="[nn.Linear(8, 8)] * n",
            fixed="""
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(8, 8) for _ in range(n)])
""",
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, depth):
        super().__init__()
        layer = nn.TransformerEncoderLayer(64, 4)
        self.layers = nn.ModuleList([layer for _ in range(depth)])
""",
            flags="[layer for _ in range(depth)]",
        ),
        Invalid(
            """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        act = nn.PReLU()
        self.body = nn.Sequential(nn.Linear(8, 8), act, nn.Linear(8, 8), act)
""",
            flags="nn.Sequential(nn.Linear(8, 8), act, nn.Linear(8, 8), act)",
        ),
    ]

    def check(self, ctx) -> Iterator[Finding]:
        for obs in ctx.observations:
            if obs.kind != "repeated-instance":
                continue
            module = obs.data["module"]
            if not module.has_parameters():
                continue  # an activation reused: nothing is shared that matters
            node = obs.node
            if _shared_on_purpose(ctx, node):
                continue
            text = ctx.source.segment(node)
            kind = module.display
            if obs.data["how"] == "container":
                message = (
                    f"The same {kind} object appears more than once in `{_short(text)}`: the entries "
                    "share one set of weights and PyTorch registers it once. Use a separate module "
                    "for each place, unless the weights are meant to be shared."
                )
                yield self.finding(ctx, node, message)
                continue
            count = obs.data.get("count")
            many = f"all {count} entries" if isinstance(count, int) else "all entries"
            replacement, fix = _fix(ctx, node)
            message = (
                f"`{_short(text)}` repeats one module: {many} are the same {kind} object, so they share "
                "one set of weights and PyTorch registers it once. Build a new module for each "
                f"entry, e.g. `{replacement}`."
            )
            yield self.finding(ctx, node, message, fix)


SHARING = re.compile(r"shar|tie|tied", re.IGNORECASE)


def _shared_on_purpose(ctx, node: ast.AST) -> bool:
    """The code says the sharing is meant: the module's name (`shared_head`) or the condition
    it is built under (`if config.share_bbox_head:`)."""
    names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    if any(SHARING.search(name) for name in names):
        return True
    for stmt in enclosing_statements(ctx.tree, node):
        if isinstance(stmt, ast.If) and SHARING.search(ctx.source.segment(stmt.test)):
            return True
    return False


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _fix(ctx, node: ast.expr) -> tuple[str, Fix | None]:
    """`[m] * n` -> `[copy.deepcopy(m) for _ in range(n)]` (or a fresh constructor call)."""
    if isinstance(node, ast.BinOp) and isinstance(node.left, ast.List) and len(node.left.elts) == 1:
        element, count = node.left.elts[0], node.right
    elif isinstance(node, ast.BinOp) and isinstance(node.right, ast.List) and len(node.right.elts) == 1:
        element, count = node.right.elts[0], node.left
    elif isinstance(node, ast.ListComp) and len(node.generators) == 1:
        element, count = node.elt, None
    else:
        return "a comprehension that calls the constructor", None
    fresh_call = isinstance(element, ast.Call)
    copy_name = "" if fresh_call else module_name(ctx.file.imports, ctx.tree, "copy")[0]
    element_text = ctx.source.segment(element)
    new_element = element_text if fresh_call else f"{copy_name}.deepcopy({element_text})"
    if count is not None:
        replacement = f"[{new_element} for _ in range({ctx.source.segment(count)})]"
    else:  # keep the comprehension's own `for ... in ...` clause
        source = ctx.source
        after_element = source.offset(source.node_range(element).end) - source.offset(source.node_range(node).start)
        replacement = "[" + new_element + source.segment(node)[after_element:]

    def renew(expr):
        import libcst as cst

        if isinstance(expr, cst.ListComp):
            return expr.with_changes(elt=cst.parse_expression(new_element))
        return cst.parse_expression(replacement)

    title = "Build a new module for each entry" + ("" if fresh_call else " with `copy.deepcopy`")
    return replacement, code_fix(ctx.doc, title, False, node, renew, imports=() if fresh_call else ("copy",))
