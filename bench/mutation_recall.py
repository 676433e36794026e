"""Recall on the classic bug, planted in real model code: every single-line `h = layer(h, ...)`
in a loop over a `self.` container becomes the bare call `layer(h, ...)`, and the file is
analysed as `torchwire check` would (imports resolved). Reports how many of these mutants get
TW101 on the mutated line, and lists the misses.

    .venv/bin/python bench/mutation_recall.py [PATH ...]

Without paths: the `modeling_*.py` files of a `transformers` wheel (see corpus.py).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import transformers_modeling_files  # noqa: E402

from torchwire.engine.analysis import analyze  # noqa: E402
from torchwire.files import discover, read_source  # noqa: E402
from torchwire.project import Project, project_root  # noqa: E402


def chained_calls(tree: ast.AST):
    """`h = layer(h, ...)` statements, on one line, in `for layer in self.<container>:`."""
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
                yield stmt


def main() -> None:
    paths = list(discover(sys.argv[1:])) if len(sys.argv) > 1 else transformers_modeling_files()
    projects: dict[str, Project] = {}
    planted = reported = 0
    missed = []
    for path in paths:
        try:
            text = read_source(path)
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        root = str(project_root(path))
        resolver = projects.setdefault(root, Project(root, None)).resolver(blocking=True)
        lines = text.splitlines(keepends=True)
        for stmt in chained_calls(tree):
            line = lines[stmt.lineno - 1]
            bare = line[: stmt.col_offset] + ast.get_source_segment(text, stmt.value) + "\n"
            mutant = "".join([*lines[: stmt.lineno - 1], bare, *lines[stmt.lineno :]])
            planted += 1
            found = {(f.code, f.range.start.line + 1) for f in analyze(mutant, str(path), None, resolver).findings}
            if ("TW101", stmt.lineno) in found:
                reported += 1
            else:
                missed.append(f"{path}:{stmt.lineno}: {bare.strip()}")
    print(f"{len(paths)} files, {planted} bugs planted, {reported} reported as TW101 ({reported / max(planted, 1):.1%})")
    for line in missed:
        print(f"  missed {line}")


if __name__ == "__main__":
    main()
