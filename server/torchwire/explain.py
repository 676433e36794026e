"""What hovering a piece of model code explains, as Markdown: the parameters a module
attribute, a container element, a loop variable over a container, a constructor call or a
whole `nn.Module` class registers, and whether PyTorch registers them at all.

Engine-level: an `Analysis` and a position in, Markdown and the range it describes out.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .engine.analysis import Analysis
from .engine.dataflow import ModRef
from .engine.interpreter import Frame, Interpreter
from .engine.locate import nodes_at
from .engine.model import ModuleClass
from .engine.params import ParamRow, named_tensors, totals
from .engine.source import Position, Range
from .engine.symbolic import Sym
from .engine.values import Entry, Members, ModuleVal, ParamVal, SeqVal, Slot
from .rules.describe import container_part
from .tables import count_cell, markdown_table, total_text

MAX_ROWS = 24


@dataclass
class Explanation:
    markdown: str
    range: Range


def explain_at(analysis: Analysis, pos: Position) -> Explanation | None:
    if analysis.tree is None or analysis.file is None:
        return None
    path = nodes_at(analysis.tree, analysis.source, pos)
    if not path:
        return None
    cls = _enclosing_module_class(analysis, path)
    for node in reversed(path):  # innermost first
        found = _explain_node(analysis, cls, path, node, pos)
        if found is not None:
            return Explanation(found, class_name_range(analysis, node) if isinstance(node, ast.ClassDef) else analysis.source.node_range(node))
    return None


def class_name_range(analysis: Analysis, node: ast.ClassDef) -> Range:
    line = node.lineno - 1
    text = analysis.source.line(line)
    start = text.find(node.name, text.find("class"))
    return Range(Position(line, start), Position(line, start + len(node.name)))


def _enclosing_module_class(analysis: Analysis, path: list[ast.AST]) -> ModuleClass | None:
    for node in reversed(path):
        if isinstance(node, ast.ClassDef):
            cls = next((c for c in analysis.file.all_classes if c.node is node), None)
            return cls if cls is not None and cls.is_module else None
    return None


def _explain_node(analysis: Analysis, cls: ModuleClass | None, path: list[ast.AST], node: ast.AST, pos: Position) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and cls is not None and _on_def_name(analysis, node, pos):
        return method_summary(analysis, cls, node)
    if isinstance(node, ast.ClassDef):
        if _on_class_name(analysis, node, pos):
            target = next((c for c in analysis.file.all_classes if c.node is node), None)
            return class_summary(target) if target is not None and target.is_module else None
        return None
    if isinstance(node, ast.Attribute) and cls is not None and isinstance(node.value, ast.Name) and node.value.id == _self_name(path):
        summary = member_summary(cls, node.attr)
        flow = _flow_of(analysis, cls, path)
        if summary is not None and flow is not None:
            summary += _chain_table(flow, cls, node.attr)
        return summary
    if isinstance(node, (ast.Name, ast.Subscript)) and cls is not None:
        ref = _ref_of(analysis, cls, node)
        if ref is not None:
            return reference_summary(ref, cls.root)
    if isinstance(node, ast.arg) and cls is not None:
        flow = _flow_of(analysis, cls, path)
        shape = flow.assumptions.get(node.arg) if flow is not None else None
        if shape is not None:
            return f"**`{node.arg}`**: `{shape}`\n\nAn input of `{flow.name}`: its shape is assumed from the first layer that reads it."
    if isinstance(node, ast.Name) and cls is not None:
        flow = _flow_of(analysis, cls, path)
        data = flow.names.get(id(node)) if flow is not None else None
        if data is not None and (data.shape is not None or data.made_by):
            return variable_summary(node.id, data, flow)
    if isinstance(node, ast.Name) and node.id in analysis.file.classes and analysis.file.classes[node.id].is_module:
        return class_summary(analysis.file.classes[node.id])
    if isinstance(node, ast.Call) and _within(analysis, node.func, pos):
        return constructor_summary(analysis, node)
    return None


def _on_class_name(analysis: Analysis, node: ast.ClassDef, pos: Position) -> bool:
    return class_name_range(analysis, node).contains(pos)


def _on_def_name(analysis: Analysis, node: ast.FunctionDef | ast.AsyncFunctionDef, pos: Position) -> bool:
    line = analysis.source.line(node.lineno - 1)
    start = line.find(node.name, line.find("def"))
    return pos.line == node.lineno - 1 and start <= pos.character <= start + len(node.name)


def _flow_of(analysis: Analysis, cls: ModuleClass, path: list[ast.AST]):
    """The dataflow of the method of `cls` that `path` runs through."""
    method = next((n for n in reversed(path) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if method is None or analysis.queries is None:
        return None
    flow = analysis.queries.flows(cls).get(method.name)
    return flow if flow is not None and flow.node is method else None


def _within(analysis: Analysis, node: ast.AST, pos: Position) -> bool:
    rng = analysis.source.node_range(node)
    return rng.start <= pos <= rng.end


def _self_name(path: list[ast.AST]) -> str:
    for node in reversed(path):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.args.args:
            return node.args.args[0].arg
    return "self"


def _ref_of(analysis: Analysis, cls: ModuleClass, node: ast.AST) -> ModRef | None:
    ctx = analysis.queries
    if ctx is None:
        return None
    for flow in ctx.flows(cls).values():
        ref = flow.refs.get(id(node))
        if ref is not None:
            return ref
    return None


# ---------------------------------------------------------------------- summaries


def _count(module: ModuleVal, prefix: str) -> tuple[list[ParamRow], str]:
    rows = named_tensors(module, "params", prefix)
    return rows, total_text(totals(rows))


def _entries_text(entries: list[Entry]) -> str:
    n = SeqVal("list", entries).length()
    if n is None:
        return "an unknown number of modules"
    if isinstance(n, Sym):
        return f"{n} modules"
    return f"{n:,} module" + ("" if n == 1 else "s")


def _table(rows: list[ParamRow]) -> str:
    return markdown_table(rows, MAX_ROWS) if rows else "_No parameters._"


REGISTERED_ONE = "Registered with the parent module: `model.parameters()`, `state_dict()` and the optimizer see it."
REGISTERED_MANY = "Registered with the parent module: `model.parameters()`, `state_dict()` and the optimizer see them."
NOTES = {
    "ModuleList": "A ModuleList does not pass inputs from one module to the next: `forward` must do `x = layer(x)`.",
    "Sequential": "An nn.Sequential passes each module's output to the next when called.",
    "ModuleDict": "A ModuleDict holds modules by name; `forward` must call each one and use its output.",
}


MEMBER_NAMES = ("member names",)  # where a class's answers keep the names of what it holds


def member_names(cls: ModuleClass) -> list[str]:
    """The names of what the class holds (children, parameters, buffers, plain attributes):
    the hovers `member_summary` answers (asked once per class, like them)."""
    if MEMBER_NAMES not in cls.answers:
        members = cls.root.members
        cls.answers[MEMBER_NAMES] = [*members.children, *members.params, *members.buffers, *members.attributes]
    return cls.answers[MEMBER_NAMES]


def unanswered_members(cls: ModuleClass) -> list[str] | None:
    """Of the names of what the class holds, those whose hover is not computed yet; None when
    the names themselves are not asked yet (kept from before an edit that did not reach the
    class, see FileContext.adopt_answers, they are answered in full)."""
    names = cls.answers.get(MEMBER_NAMES)
    return None if names is None else [name for name in names if ("member", name) not in cls.answers]


def member_summary(cls: ModuleClass, attr: str, instance: ModuleVal | None = None) -> str | None:
    """The hover of `self.<attr>` in `cls` (computed once per class: the server may have
    asked already, while the editor was idle), read from `instance` (another build of the
    class, see ModuleClass.built_again) or from the class's root."""
    key = ("member", attr)
    if key not in cls.answers:
        cls.answers[key] = _member_summary(instance or cls.root, attr)
    return cls.answers[key]


def _member_summary(instance: ModuleVal, attr: str) -> str | None:
    members = instance.members
    slot = members.children.get(attr)
    if slot is not None and isinstance(slot.value, ModuleVal):
        return module_summary(f"self.{attr}", slot.value, attr, slot)
    for table, what in ((members.params, "nn.Parameter"), (members.buffers, "buffer")):
        slot = table.get(attr)
        if slot is not None and isinstance(slot.value, ParamVal):
            row = ParamRow(attr, slot.value.dims, 1, slot.condition)
            note = REGISTERED_ONE if what == "nn.Parameter" else (
                "A buffer: saved in `state_dict()` and moved by `.to(device)`, but not trained.")
            return f"**`self.{attr}`**: `{what}` of shape `{row.shape_text()}`, {count_cell(row)} values\n\n{note}"
    slot = members.attributes.get(attr)
    if slot is not None and isinstance(slot.value, SeqVal) and slot.value.module_entries():
        return plain_holder_summary(f"self.{attr}", slot.value, attr)
    if slot is not None and isinstance(slot.value, (int, float, str, Sym)) and not isinstance(slot.value, bool):
        value = repr(slot.value) if isinstance(slot.value, str) else str(slot.value)
        condition = f" (if {slot.condition})" if slot.condition else ""
        return f"**`self.{attr}`** = `{value}`{condition}: a plain attribute, not a parameter"
    return None


def module_summary(text: str, module: ModuleVal, prefix: str, slot: Slot | None = None) -> str:
    rows, total = _count(module, prefix)
    if module.is_container:
        entries = module.members.entries or []
        head = f"**`{text}`**: `{module.display}`, {_entries_text(entries)}, {total}"
        note = f"{REGISTERED_MANY} {NOTES.get(module.container or '', '')}".strip()
    else:
        head = f"**`{text}`**: `{module.construction_text()}`, {total}"
        note = REGISTERED_ONE
    parts = [head, "", _table(rows), "", note]
    if slot is not None and slot.alternatives:
        others = ", ".join(
            f"`{a.value.display if isinstance(a.value, ModuleVal) else 'None'}` ({a.condition})"
            for a in slot.alternatives if isinstance(a.value, ModuleVal) or a.value is None
        )
        parts += ["", f"Depends on a condition ({slot.condition}); otherwise: {others}."]
    if module.unknown:
        parts += ["", f"Not fully known: {module.unknown}."]
    return "\n".join(parts)


def plain_holder_summary(text: str, seq: SeqVal, prefix: str) -> str:
    holder = ModuleVal(display="", qualified="")
    holder._members = Members(entries=seq.module_entries() if seq.kind != "dict" else seq.entries)
    rows = named_tensors(holder, "params", prefix)
    total = total_text(totals(rows))
    container = "nn.ModuleDict" if seq.kind == "dict" else "nn.ModuleList"
    head = f"**`{text}`**: plain `{seq.kind}` of {_entries_text(seq.module_entries())}, {total}: **not registered**"
    note = (
        f"PyTorch does not look inside a plain {seq.kind}: `model.parameters()`, `state_dict()`, `.to(device)` "
        f"and the optimizer never see these weights, so they are never trained or saved. Use `{container}(...)`."
    )
    return "\n".join([head, "", _table(rows), "", note])


def reference_summary(ref: ModRef, root: ModuleVal | None = None) -> str:
    if ref.origin == "plain-element" and ref.holder is not None:
        return plain_holder_summary(ref.owner_text or ref.text, ref.holder, ref.attribute or "")
    nested = ref.origin == "loop" and ref.owner_text is not None and not ref.owner_text.startswith("self")
    if ref.owner is not None and nested and root is not None and (ref.owner_path or ref.attribute):
        # `block` in `for stage in self.stages: for block in stage`: the modules of every stage
        outer_text = re.sub(r"(\[\d+\])+$", "", ref.owner_path) if ref.owner_path else f"self.{ref.attribute}"
        outer = _resolve(root, outer_text)
        if outer is not None:
            head = f"**`{ref.text}`**: each module of `{ref.owner_text}` ({ref.owner.display}) in turn, for each `{ref.owner_text}` in `{outer_text}`"
            rows = named_tensors(outer, "params", _prefix(outer_text, ref.attribute))
            note = NOTES.get(ref.owner.container or "", "")
            return "\n".join([head, "", _table(rows), "", f"{total_text(totals(rows))} in all. {note}".strip()])
    if ref.owner is not None and (ref.origin == "loop" or ref.selection is not None):
        kinds = ", ".join(m.construction_text() for m in ref.modules[:6]) + (", …" if len(ref.modules) > 6 else "")
        if ref.origin == "loop":
            head = f"**`{ref.text}`**: each module of {container_part(ref)} in turn: {kinds}"
        else:
            head = f"**`{ref.text}`**: modules of `{ref.owner_text}` ({ref.owner.display}), in this order: {kinds}"
        prefix = _prefix(ref.owner_text, ref.attribute)
        rows = named_tensors(ref.owner, "params", prefix)
        if ref.selection is not None and ref.selection.positions is not None:
            picked = {f"{prefix}.{i}." if prefix else f"{i}." for i in ref.selection.positions}
            rows = [row for row in rows if any(row.name.startswith(p) for p in picked)]
        total = total_text(totals(rows))
        note = NOTES.get(ref.owner.container or "", "")
        return "\n".join([head, "", _table(rows), "", f"{total} in all. {note}".strip()])
    module = ref.single
    if module is None:
        return f"**`{ref.text}`**: one of {len(ref.modules)} modules"
    if ref.origin == "element" and ref.owner is not None:
        index = _index_in(ref.owner, module)
        owner_prefix = _prefix(ref.owner_text, ref.attribute)
        prefix = f"{owner_prefix}.{index}" if owner_prefix and index is not None else owner_prefix
        rows, total = _count(module, prefix)
        head = f"**`{ref.text}`**: `{module.construction_text()}`, element of `{ref.owner_text}` ({ref.owner.display}), {total}"
        return "\n".join([head, "", _table(rows), "", REGISTERED_ONE])
    if ref.origin == "unpacked" and ref.index is not None:
        # `for attn, ff in self.layers`: the `attn` of every element, not only the last one's
        outer_text = re.sub(r"(\[(\d+|\*)\])+$", "", ref.owner_text or "")
        outer = _resolve(root, outer_text) if root is not None and outer_text != ref.owner_text else None
        if outer is not None:
            pattern = re.compile(rf"{re.escape(_prefix(outer_text, ref.attribute))}\.[^.]+\.{ref.index}\.")
            rows = [row for row in named_tensors(outer, "params", _prefix(outer_text, ref.attribute)) if pattern.match(row.name)]
            head = (
                f"**`{ref.text}`**: `{module.display}`, module {ref.index} of each element of `{outer_text}` "
                f"({outer.display}), {total_text(totals(rows))}"
            )
            return "\n".join([head, "", _table(rows), "", REGISTERED_ONE.replace("see it", "see them")])
        return module_summary(ref.text, module, f"{_prefix(ref.owner_text, ref.attribute)}.{ref.index}")
    return module_summary(ref.text, module, _prefix(ref.text, ref.attribute))


def _prefix(text: str | None, attribute: str | None) -> str:
    """How `named_parameters()` names what `self.encoder.layers[1]` holds: `encoder.layers.1`."""
    parts: list[str] = []
    try:  # `[*]`: any element of a container whose length is not known
        node = ast.parse((text or "").replace("[*]", "['*']"), mode="eval").body
    except SyntaxError:
        return attribute or ""
    while not (isinstance(node, ast.Name) and node.id == "self"):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, (int, str)):
            parts.append(str(node.slice.value))
            node = node.value
        else:
            return attribute or ""
    return ".".join(reversed(parts))


def _resolve(root: ModuleVal, text: str) -> ModuleVal | None:
    """The submodule of `root` that `self.stages` names."""
    module = root
    for part in _prefix(text, None).split("."):
        if not part or module.unknown:
            return None
        slot = module.members.children.get(part)
        if slot is not None and isinstance(slot.value, ModuleVal):
            module = slot.value
            continue
        keyed = [e.value for e in module.members.entries or [] if e.key == part and isinstance(e.value, ModuleVal)]
        if not keyed:
            return None
        module = keyed[0]
    return module


def variable_summary(name: str, data, flow) -> str:
    """A value in forward: its shape, and the module whose output it is."""
    parts = [f"**`{name}`**"]
    if data.shape is not None:
        parts.append(f": `{data.shape}`")
    assumed = flow.assumptions.get(data.param) if data.param else None
    lines = ["".join(parts)]
    if data.made_by:
        source = f", with the sizes of {data.producer}" if data.producer and data.producer != data.made_by else ""
        lines.append(f"Output of {data.made_by}{source}.")
    elif assumed is not None:
        lines.append(f"An input of `{flow.name}`: its shape is assumed from the first layer that reads it.")
    if data.shape is not None and data.shape.guessed:
        lines.append("Some sizes follow from the assumed number of dimensions of an input.")
    return "\n\n".join(lines)


def method_summary(analysis: Analysis, cls: ModuleClass, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """`forward`: the shapes it assumes for its inputs and the shape it returns."""
    flow = analysis.queries.flows(cls).get(node.name) if analysis.queries is not None else None
    if flow is None:
        return None
    lines = [f"**`{cls.name}.{node.name}`**"]
    for param, shape in flow.assumptions.items():
        lines.append(f"- `{param}`: `{shape}` (assumed from the first layer that reads it)")
    shapes = {str(v.shape) for _, v in flow.returns if v is not None and getattr(v, "shape", None) is not None}
    if len(shapes) == 1 and len(flow.returns) == len([1 for _, v in flow.returns if getattr(v, "shape", None) is not None]):
        lines.append(f"- returns `{shapes.pop()}`")
    return "\n".join(lines) if len(lines) > 1 else None


def _chain_table(flow, cls: ModuleClass, attr: str) -> str:
    """For a container whose modules a loop chains: the shape after each module."""
    slot = cls.root.members.children.get(attr)
    chain = flow.chains.get(id(slot.value)) if slot is not None else None
    if not chain or not all(link.chained for link in chain[1:]):
        return ""
    rows = ["", "", f"Shapes through `{flow.name}` (each module's output goes to the next):", "", "| module | output |", "|:--|:--|"]
    for link in sorted(chain, key=lambda l: l.index):
        rows.append(f"| `{attr}[{link.index}]` {link.module.construction_text()} | `{link.output if link.output is not None else '?'}` |")
    return "\n".join(rows)


@dataclass
class InlayHint:
    position: Position  # where the label goes: the end of a statement
    label: str


def inlay_hints(analysis: Analysis, first_line: int, last_line: int) -> list[InlayHint]:
    """The shape a statement of `forward` (or a method it calls) assigns or returns, where known."""
    if analysis.queries is None:
        return []
    hints: list[InlayHint] = []
    for cls in analysis.module_classes:
        start, end = cls.node.lineno - 1, (cls.node.end_lineno or cls.node.lineno) - 1
        if end < first_line or start > last_line or cls.root.unknown:
            continue
        for flow in analysis.queries.forward_flows(cls):
            shapes: dict[int, object] = dict(flow.assigned)
            returned = {id(stmt): getattr(v, "shape", None) for stmt, v in flow.returns}
            for node in ast.walk(flow.node):
                if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return)):
                    continue
                shape = returned.get(id(node)) if isinstance(node, ast.Return) else shapes.get(id(node))
                if shape is None or not first_line <= node.end_lineno - 1 <= last_line:
                    continue
                hints.append(InlayHint(analysis.source.node_range(node).end, f"# {shape}"))
    return sorted(hints, key=lambda h: h.position)


def _index_in(container: ModuleVal, module: ModuleVal) -> str | None:
    entries = container.members.entries or []
    for i, e in enumerate(entries):
        if e.value is module:
            return e.key if e.key is not None else str(i)
    return None


def constructor_summary(analysis: Analysis, call: ast.Call) -> str | None:
    module = analysis.file.instances.get(id(call))
    if module is None:
        try:
            value = Interpreter(analysis.file, observe=False).eval(call, Frame({}))
        except Exception:
            return None
        module = value if isinstance(value, ModuleVal) else None
    if module is None:
        return None
    if module.cls is not None:
        return class_summary(module.cls, module)
    rows, total = _count(module, "")
    text = analysis.source.segment(call)
    text = text if len(text) <= 60 else module.display
    head = f"**`{' '.join(text.split())}`**: `{module.display}`, {total}"
    parts = [head, "", _table(rows)]
    if module.unknown:
        parts += ["", f"Not fully known: {module.unknown}."]
    return "\n".join(parts)


def class_summary(cls: ModuleClass, instance: ModuleVal | None = None) -> str:
    """The whole model, torchinfo-style: its modules as a tree with parameter counts."""
    module = instance or cls.root
    rows = named_tensors(module, "params")
    t = totals(rows)
    lines = [f"{cls.name} ({module.display if instance else 'nn.Module'})"]
    _tree(module, lines, "", depth=0, budget=[40])
    width = max(len(line) for line in lines)
    counts = [_subtotal(module, None)] + _counts_of(module, depth=0, budget=[40])
    body = [f"{line:<{width}}  {count:>14}" for line, count in zip(lines, counts)]
    buffers = named_tensors(module, "buffers")
    assumed = cls.assumptions() if instance is None else None
    out = [f"**`{cls.name}`**: {total_text(t)}" + (f", {assumed}" if assumed else ""), "", "```text", *body, "```"]
    if buffers:
        out += ["", f"Buffers (saved, not trained): {total_text(totals(buffers)).replace('parameters', 'values')}."]
    if module.unknown:
        out += ["", f"Not fully known: {module.unknown}."]
    out += _not_followed(rows)
    return "\n".join(out)


def _not_followed(rows: list, limit: int = 5) -> list[str]:
    """What the table could not follow, and why: each unknown row once per reason."""
    seen: dict[str, str] = {}
    for row in rows:
        if row.unknown and row.unknown not in seen:
            seen[row.unknown] = row.name
    if not seen:
        return []
    lines = ["", "Not followed:"]
    for why, name in list(seen.items())[:limit]:
        lines.append(f"- `{name}`: {why}")
    if len(seen) > limit:
        lines.append(f"- and {len(seen) - limit} more")
    return lines


def _children(module: ModuleVal) -> list[tuple[str, ModuleVal | None, object]]:
    if module.unknown:
        return []
    members = module.members
    out: list[tuple[str, ModuleVal | None, object]] = []
    for i, e in enumerate(members.entries or []):
        if isinstance(e.value, ModuleVal):
            name = e.key or (str(i) if e.count == 1 else f"{i}… (×{e.count})")
            out.append((name, e.value, e.count))
    for name, slot in members.children.items():
        if isinstance(slot.value, ModuleVal):
            out.append((name, slot.value, 1))
    for name in members.gaps:  # kept a value torchwire could not follow (see "Not followed")
        out.append((name, None, 1))
    return out


def _tree(module: ModuleVal, lines: list[str], indent: str, depth: int, budget: list[int]) -> None:
    children = _children(module)
    for i, (name, child, _) in enumerate(children):
        if budget[0] <= 0:
            return
        budget[0] -= 1
        last = i == len(children) - 1
        lines.append(f"{indent}{'└─' if last else '├─'} {name}: {child.construction_text() if child else 'not followed'}")
        if depth < 2 and child is not None:
            _tree(child, lines, indent + ("   " if last else "│  "), depth + 1, budget)


def _counts_of(module: ModuleVal, depth: int, budget: list[int]) -> list[str]:
    out: list[str] = []
    for name, child, count in _children(module):
        if budget[0] <= 0:
            return out
        budget[0] -= 1
        out.append(_subtotal(child, count) if child is not None else "?")
        if depth < 2 and child is not None:
            out.extend(_counts_of(child, depth + 1, budget))
    return out


def _subtotal(module: ModuleVal, count: object) -> str:
    t = totals(named_tensors(module, "params"))
    if t.count is None:
        return "?"
    n = t.count
    if count not in (None, 1) and isinstance(count, (int, Sym)) and isinstance(n, (int, Sym)):
        from .engine.symbolic import mul

        n = mul(n, count)
    return f"{n:,}" if isinstance(n, int) else str(n)

