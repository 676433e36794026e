"""Recall on the silent wiring bugs, planted in real model code. Each mutation operator turns a
correct statement into one bug pattern; the file is analysed as `torchwire check` would
(imports resolved), and a mutant counts as found when the expected rule reports the planted
line. Reports recall per pattern and lists the misses.

    .venv/bin/python bench/mutation_recall.py [--per-pattern 100] [--only TW203] [PATH ...]

Without paths: the `modeling_*.py` files of a `transformers` wheel (see corpus.py). Mutants
are sampled (seeded) per pattern, so that every pattern gets the same weight.

The patterns:
- TW101 `h = layer(h)` in a loop over a container becomes the bare call `layer(h)`;
- TW102 the same loop is fed one input: `h0 = h` before it, `h = layer(h0)` in it;
- TW201 `self.x = nn.ModuleList([...])` becomes the plain list `[...]`;
- TW202 `nn.ModuleList([Block(..) for _ in range(n)])` becomes `nn.ModuleList([Block(..)] * n)`;
- TW203 a loop `for layer in self.layers: h = layer(h)` becomes `h = self.layers(h)`;
- TW203 `attn.to_out[0](h)` (an attention processor's `attn: Attention`, or `self.attn`), where
  the file builds `self.to_out = nn.ModuleList(...)`, becomes `attn.to_out(h)`;
- TW207 `self.register_buffer("mask", t)` (or `self.mask = nn.Buffer(t)`) becomes `self.mask = t`;
- TW208 `super().__init__(...)` moves below the first submodule `__init__` stores.
"""

from __future__ import annotations

import argparse
import ast
import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import transformers_modeling_files  # noqa: E402

from torchwire.engine.analysis import analyze  # noqa: E402
from torchwire.files import discover, read_source  # noqa: E402
from torchwire.project import Project, project_root  # noqa: E402


@dataclass(frozen=True)
class Mutant:
    code: str  # the rule that should report it
    text: str  # the whole mutated file
    line: int  # 1-based line the finding should start on
    where: str  # what was planted, for the list of misses


def _segment(text: str, node: ast.AST) -> str:
    return ast.get_source_segment(text, node) or ""


def _replace(text: str, node: ast.AST, new: str) -> str:
    """The text with `node`'s source replaced by `new`."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode("utf-8")))
    data = text.encode("utf-8")
    begin = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset
    return (data[:begin] + new.encode("utf-8") + data[end:]).decode("utf-8")


def _container_loops(tree: ast.AST):
    """`for layer in self.<x>:` loops, with their `h = layer(h, ...)` one-line statements."""
    for loop in ast.walk(tree):
        if not (isinstance(loop, ast.For) and isinstance(loop.target, ast.Name)):
            continue
        if not (isinstance(loop.iter, ast.Attribute) and isinstance(loop.iter.value, ast.Name) and loop.iter.value.id == "self"):
            continue
        for stmt in loop.body:
            call = stmt.value if isinstance(stmt, ast.Assign) else None
            if (
                isinstance(call, ast.Call) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(call.func, ast.Name) and call.func.id == loop.target.id
                and call.args and isinstance(call.args[0], ast.Name) and call.args[0].id == stmt.targets[0].id
                and stmt.lineno == stmt.end_lineno
            ):
                yield loop, stmt


def discarded_output(text: str, tree: ast.AST):
    for _, stmt in _container_loops(tree):
        yield Mutant("TW101", _replace(text, stmt, _segment(text, stmt.value)), stmt.lineno, _segment(text, stmt.value))


def same_input(text: str, tree: ast.AST):
    for loop, stmt in _container_loops(tree):
        name = stmt.targets[0].id
        first = stmt.value.args[0]
        fed = _replace(text, first, f"{name}_in")  # later positions first: the loop line stays put
        indent = " " * loop.col_offset
        lines = fed.splitlines(keepends=True)
        lines.insert(loop.lineno - 1, f"{indent}{name}_in = {name}\n")
        yield Mutant("TW102", "".join(lines), stmt.lineno + 1, f"{name} = {stmt.value.func.id}({name}_in, ...)")


def _self_store(stmt: ast.stmt) -> ast.Attribute | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            return target
    return None


def _calls_named(node: ast.AST, name: str) -> bool:
    func = node.func if isinstance(node, ast.Call) else None
    return (isinstance(func, ast.Attribute) and func.attr == name) or (isinstance(func, ast.Name) and func.id == name)


def plain_list(text: str, tree: ast.AST):
    for stmt in ast.walk(tree):
        target = _self_store(stmt)
        value = stmt.value if target is not None else None
        if value is not None and _calls_named(value, "ModuleList") and len(value.args) == 1 and isinstance(value.args[0], (ast.List, ast.ListComp)):
            yield Mutant("TW201", _replace(text, value, _segment(text, value.args[0])), value.lineno, f"self.{target.attr} = [...]")


def shared_instance(text: str, tree: ast.AST):
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _calls_named(node, "ModuleList") and len(node.args) == 1):
            continue
        comp = node.args[0]
        if not (isinstance(comp, ast.ListComp) and len(comp.generators) == 1 and isinstance(comp.elt, ast.Call)):
            continue
        gen = comp.generators[0]
        if gen.ifs or not isinstance(gen.target, ast.Name) or not (isinstance(gen.iter, ast.Call) and _calls_named(gen.iter, "range") and len(gen.iter.args) == 1):
            continue
        if any(isinstance(n, ast.Name) and n.id == gen.target.id for n in ast.walk(comp.elt)):
            continue  # each element depends on its index: not one module repeated
        repeated = f"[{_segment(text, comp.elt)}] * {_segment(text, gen.iter.args[0])}"
        yield Mutant("TW202", _replace(text, comp, repeated), comp.lineno, repeated[:60])


def container_called(text: str, tree: ast.AST):
    for loop, stmt in _container_loops(tree):
        if len(loop.body) != 1 or loop.orelse:
            continue
        name = stmt.targets[0].id
        rest = "".join(", " + _segment(text, a) for a in [*stmt.value.args[1:], *stmt.value.keywords])
        call = f"{name} = {_segment(text, loop.iter)}({name}{rest})"
        yield Mutant("TW203", _replace(text, loop, call), loop.lineno, call[:60])


def container_called_elsewhere(text: str, tree: ast.AST):
    """`attn.to_out[0](h)` (an attention processor handed `attn: Attention`) or
    `self.attn.to_out[0](h)`, where the file builds `self.to_out = nn.ModuleList(...)`, becomes
    `attn.to_out(h)`: the list called through another object."""
    lists = {target.attr for stmt in ast.walk(tree) if (target := _self_store(stmt)) is not None
             and isinstance(stmt.value, ast.Call) and _segment(text, stmt.value.func).endswith("ModuleList")}
    for call in ast.walk(tree):
        func = call.func if isinstance(call, ast.Call) else None
        if not (isinstance(func, ast.Subscript) and isinstance(func.value, ast.Attribute) and func.value.attr in lists):
            continue
        owner = func.value.value
        if isinstance(owner, ast.Name) and owner.id == "self":
            continue  # the own list: the TW203 pattern above
        new = f"{_segment(text, func.value)}({', '.join(_segment(text, a) for a in [*call.args, *call.keywords])})"
        yield Mutant("TW203", _replace(text, call, new), call.lineno, new[:60])


def buffer_as_attribute(text: str, tree: ast.AST):
    for stmt in ast.walk(tree):
        target = _self_store(stmt)
        if target is not None and isinstance(stmt.value, ast.Call) and _calls_named(stmt.value, "Buffer") and stmt.value.args:
            # transformers 5: `self.inv_freq = nn.Buffer(inv_freq, persistent=False)`
            yield Mutant("TW207", _replace(text, stmt.value, _segment(text, stmt.value.args[0])), stmt.lineno, f"self.{target.attr} = ...")
            continue
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "register_buffer"):
            continue
        if not (isinstance(call.func.value, ast.Name) and call.func.value.id == "self" and len(call.args) >= 2):
            continue
        name = call.args[0]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.isidentifier()):
            continue
        yield Mutant("TW207", _replace(text, stmt, f"self.{name.value} = {_segment(text, call.args[1])}"), stmt.lineno, f"self.{name.value} = ...")


def store_before_init(text: str, tree: ast.AST):
    for fn in ast.walk(tree):
        if not (isinstance(fn, ast.FunctionDef) and fn.name == "__init__"):
            continue
        body = fn.body
        at = next((i for i, s in enumerate(body) if isinstance(s, ast.Expr) and _calls_named(s.value, "__init__")
                   and isinstance(s.value.func.value, ast.Call) and _calls_named(s.value.func.value, "super")), None)
        if at is None or body[at].lineno != body[at].end_lineno:
            continue
        store = next((s for s in body[at + 1 :] if _self_store(s) is not None and isinstance(s.value, ast.Call)
                      and isinstance(s.value.func, ast.Attribute) and s.value.func.attr[:1].isupper()), None)
        if store is None or store.lineno != store.end_lineno or store is not body[at + 1]:
            continue  # only the store right after the call: what comes between may read self
        lines = text.splitlines(keepends=True)
        call_line, store_line = lines[body[at].lineno - 1], lines[store.lineno - 1]
        lines[body[at].lineno - 1], lines[store.lineno - 1] = store_line, call_line
        yield Mutant("TW208", "".join(lines), body[at].lineno, _segment(text, store)[:60])


PATTERNS = {
    "TW101 output discarded": discarded_output,
    "TW102 one input for every layer": same_input,
    "TW201 plain list of modules": plain_list,
    "TW202 one module repeated": shared_instance,
    "TW203 container called": container_called,
    "TW203 container called through another object": container_called_elsewhere,
    "TW207 buffer stored as a plain tensor": buffer_as_attribute,
    "TW208 stored before super().__init__()": store_before_init,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--per-pattern", type=int, default=100, help="mutants analysed per pattern (sampled, seeded)")
    parser.add_argument("--misses", type=int, default=10, help="misses listed per pattern")
    parser.add_argument("--only", help="the patterns whose name holds this text")
    options = parser.parse_args()
    paths = list(discover(options.paths)) if options.paths else transformers_modeling_files()
    patterns = {name: op for name, op in PATTERNS.items() if options.only is None or options.only in name}
    candidates: dict[str, list[tuple[Path, Mutant]]] = {name: [] for name in patterns}
    for path in paths:
        try:
            text = read_source(path)
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for name, operator in patterns.items():
            candidates[name].extend((path, m) for m in operator(text, tree))
    projects: dict[str, Project] = {}
    print(f"{len(paths)} files; per pattern: mutants found / analysed (of all the candidates)")
    for name, found in candidates.items():
        sample = random.Random(0).sample(found, min(options.per_pattern, len(found)))
        reported, missed = 0, []
        for path, mutant in sample:
            root = str(project_root(path))
            resolver = projects.setdefault(root, Project(root, None)).resolver(blocking=True)
            try:
                findings = analyze(mutant.text, str(path), None, resolver).findings
            except SyntaxError:
                continue
            if any(f.code == mutant.code and f.range.start.line + 1 == mutant.line for f in findings):
                reported += 1
            else:
                missed.append(f"{path}:{mutant.line}: {mutant.where}")
        share = reported / len(sample) if sample else 0.0
        print(f"  {name:<40} {reported:>4} / {len(sample):<4} ({share:.0%}) of {len(found)}")
        for line in missed[: options.misses]:
            print(f"      missed {line}")


if __name__ == "__main__":
    main()
