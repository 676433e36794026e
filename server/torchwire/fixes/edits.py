"""Edits computed with libcst, on the smallest statement that holds the code to change.

The engine finds things with `ast` (fast); a fix parses only the enclosing statement with
libcst (which keeps every space and comment), replaces one node, and turns the difference into
a single minimal text edit. libcst is imported here, on demand, never on the analysis path.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Callable

from ..engine.findings import TextEdit
from ..engine.imports import ImportMap
from ..engine.source import Position, Range, SourceText

if TYPE_CHECKING:
    import libcst as cst

    from ..engine.analysis import Document

Transform = Callable[["cst.CSTNode"], "cst.CSTNode"]


class FixUnavailable(Exception):
    """The code could not be rewritten safely (it changed, or does not parse)."""


def enclosing_statements(tree: ast.Module, target: ast.AST) -> list[ast.stmt]:
    """Statements that contain `target`, innermost first."""
    line, end = target.lineno, target.end_lineno or target.lineno
    chain: list[ast.stmt] = []
    body: list[ast.stmt] = tree.body
    while True:
        for stmt in body:
            if stmt.lineno <= line and end <= (stmt.end_lineno or stmt.lineno) and _contains(stmt, target):
                chain.append(stmt)
                body = [s for field in ("body", "orelse", "finalbody", "handlers", "cases") for s in _stmts(stmt, field)]
                break
        else:
            return list(reversed(chain))


def _stmts(stmt: ast.stmt, field: str) -> list[ast.stmt]:
    items = getattr(stmt, field, None) or []
    out: list[ast.stmt] = []
    for item in items:
        if isinstance(item, (ast.ExceptHandler, ast.match_case)):
            out.extend(item.body)
        elif isinstance(item, ast.stmt):
            out.append(item)
    return out


def _contains(stmt: ast.stmt, target: ast.AST) -> bool:
    start = (stmt.lineno, stmt.col_offset)
    stop = (stmt.end_lineno, stmt.end_col_offset)
    return start <= (target.lineno, target.col_offset) and (target.end_lineno, target.end_col_offset) <= stop


def rewrite(source: SourceText, tree: ast.Module, target: ast.AST, transform: Transform) -> list[TextEdit]:
    """Replace the libcst node at `target`'s position by `transform(node)`; return the edit."""
    import libcst as cst

    want = source.node_range(target)
    for stmt in enclosing_statements(tree, target):
        first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
        body = "".join(line + "\n" for line in source.lines[first : last + 1])
        indent = body[: len(body) - len(body.lstrip(" \t"))]
        wrapper = "if 1:\n" if indent else ""
        try:
            module = cst.parse_module(wrapper + body)
        except cst.ParserSyntaxError:
            continue  # e.g. the line starts with `else:`; try the enclosing statement
        offset = 1 if wrapper else 0
        wanted = (cst.BaseSmallStatement, cst.BaseCompoundStatement) if isinstance(target, ast.stmt) else (cst.BaseExpression,)
        node = _node_at(module, want, first - offset, wanted)
        if node is None:
            continue
        new_module = module.deep_replace(node, transform(node))
        new_body = new_module.code[len(wrapper) :]
        return [_minimal_edit(body, new_body, first)]
    raise FixUnavailable("the code to fix could not be located")


def _node_at(module: "cst.Module", want: Range, line_shift: int, wanted: tuple[type, ...]) -> "cst.CSTNode | None":
    from libcst.metadata import MetadataWrapper, PositionProvider

    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    start = (want.start.line - line_shift + 1, want.start.character)
    end = (want.end.line - line_shift + 1, want.end.character)
    best = None
    best_size = None
    for node, pos in positions.items():
        if not isinstance(node, wanted):
            continue
        s = (pos.start.line, pos.start.column)
        e = (pos.end.line, pos.end.column)
        if s == start and e == end:
            return node
        if s <= start and end <= e:  # parenthesised: libcst counts the brackets, ast does not
            size = (e[0] - s[0], e[1] - s[1])
            if best is None or size < best_size:
                best, best_size = node, size
    return best


def minimal_edit(old: str, new: str, first_line: int = 0) -> TextEdit:
    """The one edit that turns `old` into `new` (their common start and end left alone)."""
    return _minimal_edit(old, new, first_line)


def _minimal_edit(old: str, new: str, first_line: int) -> TextEdit:
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    start = _position(old, prefix, first_line)
    end = _position(old, len(old) - suffix, first_line)
    return TextEdit(Range(start, end), new[prefix : len(new) - suffix])


def _position(text: str, offset: int, first_line: int) -> Position:
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return Position(first_line + line, column)


def code_fix(doc: "Document", title: str, safe: bool, node: ast.AST, transform: Transform, imports: tuple[str, ...] = ()):
    """A fix that rewrites `node` with `transform`, adding the imports `imports` (qualified names
    such as "torch.nn.ModuleList", or modules such as "copy") need. Everything is computed when
    the fix is asked for, against the document as it is then."""
    from ..engine.findings import Fix

    def compute() -> list[TextEdit]:
        edits = rewrite(doc.source, doc.tree, node, transform)
        for qualified in imports:
            edits.extend(required_import(doc, qualified))
        return edits

    return Fix(title, safe, compute)


def required_import(doc: "Document", qualified: str) -> list[TextEdit]:
    if "." not in qualified:
        return module_name(doc.file.imports, doc.tree, qualified)[1]
    return spell(doc.file.imports, doc.tree, qualified)[1]


# ---------------------------------------------------------------------- imports


def spell(imports: ImportMap, tree: ast.Module, qualified: str) -> tuple[str, list[TextEdit]]:
    """How to write `qualified` (e.g. torch.nn.ModuleList) here, and the import to add if needed."""
    local = imports.local_name_for(qualified)
    if local is not None:
        return local, []
    if qualified.startswith("torch.nn.") and not _bound(tree, "nn"):
        return "nn." + qualified[len("torch.nn.") :], [import_edit(tree, "from torch import nn")]
    if qualified.startswith("torch.") and not _bound(tree, "torch"):
        return qualified, [import_edit(tree, "import torch")]
    return qualified, []


def module_name(imports: ImportMap, tree: ast.Module, module: str) -> tuple[str, list[TextEdit]]:
    """The local name of a plain module such as `copy`, importing it when needed."""
    for local, target in imports.names.items():
        if target == module:
            return local, []
    return module, [import_edit(tree, f"import {module}")]


def _bound(tree: ast.Module, name: str) -> bool:
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name.split(".")[0]) == name for alias in stmt.names):
                return True
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == name:
            return True
        elif isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            return True
    return False


def import_edit(tree: ast.Module, statement: str) -> TextEdit:
    """Insert an import after the file's last top-level import (or its docstring)."""
    line = 0
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            line = stmt.end_lineno or stmt.lineno
        elif line == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            line = stmt.end_lineno or stmt.lineno  # after the module docstring
        elif line:
            break
    return TextEdit(Range(Position(line, 0), Position(line, 0)), statement + "\n")


def apply_edits(text: str, edits: list[TextEdit]) -> str:
    """Apply non-overlapping edits (engine positions) to a text."""
    source = SourceText(text)
    ordered = sorted(edits, key=lambda e: (e.range.start, e.range.end), reverse=True)
    out = text
    last_start = None
    for edit in ordered:
        start, end = source.offset(edit.range.start), source.offset(edit.range.end)
        if last_start is not None and end > last_start:
            continue  # overlaps an edit already applied
        out = out[:start] + edit.new_text + out[end:]
        last_start = start
    return out
