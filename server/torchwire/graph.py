"""The dataflow of a module class's `forward`, as a graph: its inputs, each submodule call, the
tensor operations that join or split flows, and the result. A loop over a container is drawn as
the chain it is, or as parallel branches when each module gets the same input; an output that
never reaches the result is marked lost (the seed bug: `x` bypassing all three layers), and the
registered submodules that `forward` never calls are listed apart.

Engine-level: an `Analysis` in, a `Graph` out; `mermaid`, `dot` and `to_json` render it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .engine.analysis import Analysis
from .engine.dataflow import CallSite, Data, MethodFlow
from .engine.model import ModuleClass
from .engine.params import named_tensors, totals
from .engine.values import ModuleVal

MAX_LABEL = 48  # characters of code shown in an operation's label


@dataclass
class Node:
    id: str
    kind: str  # "input" | "module" | "operation" | "output" | "unused"
    label: str  # what the code calls it: `x`, `self.layers[0]`, `torch.cat`, `return`
    module: str | None = None  # `nn.Linear(10, 20)`
    parameters: int | None = None
    shape: str | None = None  # the output's, where known
    lost: bool = False  # its output never reaches the result
    group: str | None = None  # the container loop it belongs to: `for layer in self.layers`


@dataclass
class Graph:
    name: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


def dataflow_graphs(analysis: Analysis, class_name: str | None = None) -> list[Graph]:
    """One graph per module class with a `forward` (or only `class_name`'s)."""
    out = []
    for cls in analysis.module_classes:
        if class_name is not None and cls.name != class_name:
            continue
        flows = analysis.queries.flows(cls) if analysis.queries is not None else {}
        if "forward" in flows:
            out.append(_Builder(cls, flows["forward"]).build())
    return out


class _Builder:
    def __init__(self, cls: ModuleClass, flow: MethodFlow) -> None:
        self.cls, self.flow = cls, flow
        self.graph = Graph(cls.name)
        self.entry: dict[int, list[str]] = {}  # call id -> the nodes its inputs go to
        self.exit: dict[int, list[str]] = {}  # call id -> the nodes its output comes from
        self.ops = 0

    def build(self) -> Graph:
        fn = self.flow.node
        for arg in fn.args.posonlyargs + fn.args.args[1:] + fn.args.kwonlyargs:
            self.graph.nodes.append(Node(f"in:{arg.arg}", "input", arg.arg))
        # Each call's ancestors: a value's deps name every call upstream of it, and only the
        # nearest ones are drawn as its sources.
        self.upstream = {site.id: set().union(*(a.deps for a in site.args)) - {site.id} for site in self.flow.calls}
        for site in self.flow.calls:
            self._call_nodes(site)
        for site in self.flow.calls:
            for expr, data in zip(site.node.args, site.args):
                self._feed(expr, data, self.entry[site.id], own=site.id)
        returned = [(stmt.value, value) for stmt, value in self.flow.returns if stmt.value is not None and isinstance(value, Data)]
        if returned or not self.flow.returns:
            self.graph.nodes.append(Node("out", "output", "return"))
        for expr, value in returned:
            self._feed(expr, value, ["out"])
        self._mark_lost()
        self._unused()
        self.graph.nodes.sort(key=lambda n: {"input": 0, "output": 2, "unused": 3}.get(n.kind, 1))  # stable: code order within
        return self.graph

    # -- nodes --------------------------------------------------------------------------------

    def _call_nodes(self, site: CallSite) -> None:
        container = site.ref.owner if site.ref.origin == "loop" else None
        modules = _entries(container) if container is not None else None
        if not modules:  # one module
            module = site.ref.module
            node = Node(f"call:{site.id}", "module", site.ref.text, *self._about(module), shape=self._shape_of(site))
            self.graph.nodes.append(node)
            self.entry[site.id] = self.exit[site.id] = [node.id]
            return
        loop = site.loop
        group = f"for {ast.unparse(loop.target)} in {ast.unparse(loop.iter)}" if loop is not None else site.ref.owner_text
        links = {link.index: link for link in self.flow.chains.get(id(container), [])}
        chained = all(link.chained for i, link in links.items() if i > 0) if len(links) == len(modules) else _reassigns_its_input(site)
        ids = []
        for index, module in enumerate(modules):
            link = links.get(index)
            node_id = f"call:{site.id}:{index}"
            shape = str(link.output) if link is not None and link.output is not None else None
            label = f"{site.ref.owner_text or site.ref.text}[{index}]"
            self.graph.nodes.append(Node(node_id, "module", label, *self._about(module), shape=shape, group=group))
            ids.append(node_id)
        if chained and not site.bare:
            self.graph.edges.extend(zip(ids, ids[1:]))
            self.entry[site.id], self.exit[site.id] = ids[:1], ids[-1:]
        else:  # each gets the same input; what follows sees the last one's output
            self.entry[site.id], self.exit[site.id] = ids, ids[-1:]

    def _about(self, module: ModuleVal | None) -> tuple[str | None, int | None]:
        if module is None:
            return None, None
        count = totals(named_tensors(module, "params")).count
        return module.construction_text(), count if isinstance(count, int) else None

    def _shape_of(self, site: CallSite) -> str | None:
        stmt = site.statement
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is site.node:
            shape = self.flow.assigned.get(id(stmt))
            return str(shape) if shape is not None else None
        return None

    # -- edges --------------------------------------------------------------------------------

    def _feed(self, expr: ast.expr, data: Data, targets: list[str], own: int | None = None) -> None:
        """Edges from what `expr` carries into `targets`; through an operation node when the
        expression computes something (`torch.cat([a, b])`, `x + h`)."""
        if isinstance(expr, ast.Starred):
            expr = expr.value
        if not isinstance(expr, (ast.Name, ast.Call)) or (isinstance(expr, ast.Call) and not self._is_site(expr)):
            sources = self._sources(expr, data, own)
            if len(sources) > 1 or not isinstance(expr, ast.Name):
                if sources:
                    self.ops += 1
                    op = Node(f"op:{self.ops}", "operation", _operation(expr))
                    self.graph.nodes.append(op)
                    self._edges(sources, [op.id])
                    self._edges([op.id], targets)
                return
        self._edges(self._sources(expr, data, own), targets)

    def _sources(self, expr: ast.expr, data: Data, own: int | None) -> list[str]:
        deps = {d for d in data.deps if d != own and d in self.exit}
        nearest = [d for d in sorted(deps) if not any(d in self.upstream.get(other, ()) for other in deps if other != d)]
        sources = [node for d in nearest for node in self.exit[d]]
        params = {data.param} if data.param else set()
        for name in self._names_read(expr):  # the inputs an operation reads as they came in
            held = self.flow.names.get(id(name))
            if held is not None and held.param:
                params.add(held.param)
        if not sources and not params and own is not None and isinstance(expr, ast.Name):
            params.add(expr.id)  # a loop's first module: what the name held before the loop
        sources += [f"in:{p}" for p in sorted(params) if any(n.id == f"in:{p}" for n in self.graph.nodes)]
        return list(dict.fromkeys(sources))

    def _names_read(self, expr: ast.expr) -> list[ast.Name]:
        """Names `expr` reads itself, not those inside the module calls it contains."""
        out, stack = [], [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                out.append(node)
            elif not (isinstance(node, ast.Call) and self._is_site(node)):
                stack.extend(ast.iter_child_nodes(node))
        return out

    def _is_site(self, call: ast.Call) -> bool:
        return any(site.node is call for site in self.flow.calls)

    def _edges(self, sources: list[str], targets: list[str]) -> None:
        for source in sources:
            for target in targets:
                if source != target and (source, target) not in self.graph.edges:
                    self.graph.edges.append((source, target))

    # -- what does not reach the result ----------------------------------------------------------

    def _mark_lost(self) -> None:
        reaching = {"out"}
        changed = True
        while changed:
            changed = False
            for source, target in self.graph.edges:
                if target in reaching and source not in reaching:
                    reaching.add(source)
                    changed = True
        for node in self.graph.nodes:
            node.lost = node.kind in ("module", "operation") and node.id not in reaching

    def _unused(self) -> None:
        used = set(self.flow.uses)
        for attr, slot in self.cls.root.members.children.items():
            if attr not in used and isinstance(slot.value, ModuleVal):
                module, count = self._about(slot.value)
                self.graph.nodes.append(Node(f"unused:{attr}", "unused", f"self.{attr}", module, count))


def _entries(container: ModuleVal) -> list[ModuleVal] | None:
    entries = container.members.entries
    if entries is None or any(not isinstance(e.count, int) or e.count != 1 for e in entries):
        return None
    modules = [e.value for e in entries]
    return modules if all(isinstance(m, ModuleVal) for m in modules) else None


def _reassigns_its_input(site: CallSite) -> bool:
    """`x = layer(x)`: each module gets the previous one's output."""
    stmt = site.statement
    if not isinstance(stmt, ast.Assign) or stmt.value is not site.node or not site.node.args:
        return False
    first = site.node.args[0]
    return isinstance(first, ast.Name) and any(isinstance(t, ast.Name) and t.id == first.id for t in stmt.targets)


def _operation(expr: ast.expr) -> str:
    if isinstance(expr, ast.Call):
        return ast.unparse(expr.func)
    if isinstance(expr, ast.BinOp):
        return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.MatMult: "@", ast.Div: "/"}.get(type(expr.op), ast.unparse(expr)[:MAX_LABEL])
    if isinstance(expr, ast.Subscript):
        return f"[{ast.unparse(expr.slice)}]"[:MAX_LABEL]
    text = ast.unparse(expr)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


# ---------------------------------------------------------------------- output formats


def _caption(node: Node) -> list[str]:
    lines = [node.label]
    if node.module and node.module != node.label:
        lines.append(node.module)
    facts = [f"{node.parameters:,} params" if node.parameters is not None else None, node.shape]
    if any(facts):
        lines.append(" · ".join(f for f in facts if f))
    if node.lost:
        lines.append("output lost")
    if node.kind == "unused":
        lines.append("registered, never called")
    return lines


def mermaid(graph: Graph) -> str:
    """A Mermaid flowchart (GitHub renders it in Markdown)."""
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart TD", f"  %% {graph.name}.forward"]
    shapes = {"input": ("([", "])"), "output": ("([", "])"), "operation": ("{{", "}}"), "module": ("[", "]"), "unused": ("[", "]")}

    def declare(node: Node, indent: str) -> str:
        left, right = shapes[node.kind]
        text = "<br/>".join(_escape_mermaid(line) for line in _caption(node))
        return f'{indent}{ids[node.id]}{left}"{text}"{right}'

    groups: dict[str, list[Node]] = {}
    for node in graph.nodes:
        if node.group is not None:
            groups.setdefault(node.group, []).append(node)
        elif node.kind != "unused":
            lines.append(declare(node, "  "))
    for index, (group, members) in enumerate(groups.items()):
        lines.append(f'  subgraph loop{index}["{_escape_mermaid(group)}"]')
        lines += [declare(node, "    ") for node in members]
        lines.append("  end")
    unused = [n for n in graph.nodes if n.kind == "unused"]
    if unused:
        lines.append('  subgraph unused["registered, never called in forward"]')
        lines += [declare(node, "    ") for node in unused]
        lines.append("  end")
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in graph.edges]
    lines += ["  classDef lost stroke:#d33,stroke-dasharray:5 5,color:#d33", "  classDef unused stroke:#999,stroke-dasharray:2 2,color:#999"]
    lost = [ids[n.id] for n in graph.nodes if n.lost]
    if lost:
        lines.append(f"  class {','.join(lost)} lost")
    if unused:
        lines.append(f"  class {','.join(ids[n.id] for n in unused)} unused")
    return "\n".join(lines)


def _escape_mermaid(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def dot(graph: Graph) -> str:
    """Graphviz DOT."""
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    shapes = {"input": "oval", "output": "oval", "operation": "hexagon", "module": "box", "unused": "box"}
    lines = [f'digraph "{graph.name}.forward" {{', "  rankdir=TB;", '  node [fontname="Helvetica"];']

    def declare(node: Node, indent: str) -> str:
        label = "\\n".join(_escape_dot(line) for line in _caption(node))
        style = ', style=dashed, color="#dd3333", fontcolor="#dd3333"' if node.lost else ', style=dotted, color="#999999"' if node.kind == "unused" else ""
        return f'{indent}{ids[node.id]} [label="{label}", shape={shapes[node.kind]}{style}];'

    groups: dict[str, list[Node]] = {}
    for node in graph.nodes:
        if node.group is not None:
            groups.setdefault(node.group, []).append(node)
        else:
            lines.append(declare(node, "  "))
    for index, (group, members) in enumerate(groups.items()):
        lines += [f"  subgraph cluster_{index} {{", f'    label="{_escape_dot(group)}";']
        lines += [declare(node, "    ") for node in members]
        lines.append("  }")
    lines += [f"  {ids[a]} -> {ids[b]};" for a, b in graph.edges]
    lines.append("}")
    return "\n".join(lines)


def _escape_dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_json(graph: Graph) -> dict:
    return {
        "class": graph.name,
        "nodes": [
            {"id": n.id, "kind": n.kind, "label": n.label, "module": n.module, "parameters": n.parameters,
             "shape": n.shape, "lost": n.lost, "group": n.group}
            for n in graph.nodes
        ],
        "edges": [{"from": a, "to": b} for a, b in graph.edges],
    }
