"""Which syntax nodes lie under a position (for hover and inlay hints)."""

from __future__ import annotations

import ast

from .source import Position, SourceText


def nodes_at(tree: ast.Module, source: SourceText, pos: Position) -> list[ast.AST]:
    """The nodes containing `pos`, outermost first."""
    line = pos.line + 1
    text = source.line(pos.line)
    col = len(text[: pos.character].encode("utf-8"))  # ast columns count UTF-8 bytes
    here = (line, col)
    path: list[ast.AST] = []
    children: list[ast.AST] = list(tree.body)
    while children:
        for child in children:
            if not hasattr(child, "lineno"):
                continue
            start = (child.lineno, child.col_offset)
            end = (child.end_lineno or child.lineno, child.end_col_offset or 0)
            if start <= here <= end:
                path.append(child)
                children = list(ast.iter_child_nodes(child))
                break
        else:
            # Arguments, keywords and comprehension clauses carry no position of their own.
            nested = [g for c in children if not hasattr(c, "lineno") for g in ast.iter_child_nodes(c)]
            if not nested:
                break
            children = nested
    return path
