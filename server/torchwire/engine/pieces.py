"""A big file parsed a few lines at a time, for the server's background.

`ast.parse` holds the GIL from start to end: 30-90 ms for transformers' modeling_utils.py, during
which a keystroke's analysis cannot run at all. Parsed in pieces, cut before the statements of
the top level and the `def`, `class` and decorator lines of a class's body, the longest hold is
a piece's, and `between()` runs between two pieces (where the server's background waits while
an editor's analysis runs).

The tree is the one `ast.parse` makes of the whole text: each piece is parsed with blank lines
before it, so that its positions are the file's, and a piece of a class's body under a
`class _:` line, its statements then joined to the class they belong to (a piece that goes on
a block other than a class is parsed again with that block). A cut that was not between two
statements (inside a string, brackets, or a block it leaves empty) makes the piece before it
unparseable, and the whole text is parsed at once instead.
"""

from __future__ import annotations

import ast
from typing import Callable

from .analysis import parse_module
from .source import _split_lines_like_ast

# Lines at least per piece: ast.parse takes about 10 µs a line (the Python objects it makes),
# all of it holding the GIL, so pieces of 200 lines kept a keystroke waiting 3-6 ms; cut at the
# next def after 10 lines, nine in ten take under a millisecond, and all of them no longer
# than one parse (modeling_utils.py: 45-60 ms, in 21 pieces or in 115).
PIECE_LINES = 10
TOP_LEVEL_STARTS = ("def ", "async def ", "class ", "@")
CLASS_BODY_STARTS = tuple("    " + start for start in TOP_LEVEL_STARTS)
CONTINUATIONS = ("else", "elif", "except", "except*", "finally")  # go on the statement before


def parse_in_pieces(text: str, path: str, between: Callable[[], None]) -> ast.Module:
    """`parse_module(text, path)`, calling `between()` between pieces."""
    lines = _split_lines_like_ast(text, keepends=True)
    cuts = _cuts(lines)
    if len(cuts) < 2:
        return parse_module(text, path)
    try:
        return _joined(lines, cuts, path, between)
    except SyntaxError:  # a cut inside a statement, or an error of the text: as one piece
        return parse_module(text, path)


def _cuts(lines: list[str]) -> list[int]:
    """Line indexes where a piece starts: the first line of a statement of the top level, or of
    a function, class or decorated statement in the body of a class of the top level,
    PIECE_LINES at least after the last cut. Lines of triple-quoted strings and of decorators, and the line
    after one that leaves its statement open, are passed over (a cut in the middle of a
    statement would only cost a parse at once)."""
    cuts = [0]
    quote = None  # the triple quote of the string the line is in
    top = ""  # how the last statement of the top level began
    decorating = False  # in a decorator, up to its function or class
    open_end = False  # the code line before opens a block or a bracket, or ends in a backslash
    for i, line in enumerate(lines):
        if quote is not None or '"""' in line or "'''" in line:
            inside, quote = quote is not None, _quote_after(line, quote)
            if inside:
                continue
        code = line.split(" #", 1)[0].strip()
        if not code or code.startswith("#"):
            continue
        starts = (
            line.startswith(TOP_LEVEL_STARTS)
            or (line.startswith(CLASS_BODY_STARTS) and top.startswith("class "))
            # Any statement of the top level: transformers' tables of names are thousands of
            # lines of assignments (modeling_auto.py: 2,300 before its first class, 13 ms).
            or (line[:1].isidentifier() and code.split(None, 1)[0].rstrip(":") not in CONTINUATIONS)
        )
        if starts and not decorating and not open_end and i - cuts[-1] >= PIECE_LINES:
            cuts.append(i)
        if not line[:1].isspace() and not code.startswith(("@", ")", "]", "}")):
            top = code
        if code.startswith("@"):
            decorating = True
        elif code.startswith(("def ", "async def ", "class ")):
            decorating = False
        open_end = code.endswith((":", "(", "[", "{", ",", "\\"))
    return cuts


def _quote_after(line: str, quote: str | None) -> str | None:
    """The triple-quoted string still open at the end of `line` (`quote`: open at its start)."""
    at = 0
    while True:
        if quote is None:
            found = [(line.find(q, at), q) for q in ('"""', "'''")]
            found = [(position, q) for position, q in found if position >= 0]
            if not found:
                return None
            at, quote = min(found)
            at += 3
        else:
            end = line.find(quote, at)
            if end < 0:
                return quote
            at, quote = end + 3, None


def _joined(lines: list[str], cuts: list[int], path: str, between: Callable[[], None]) -> ast.Module:
    body: list[ast.stmt] = []
    spans = list(zip(cuts, cuts[1:] + [len(lines)]))
    i = 0
    while i < len(spans):
        if i:
            between()
        start, stop = spans[i]
        if lines[start].startswith(" "):
            owner = body[-1] if body else None
            if isinstance(owner, ast.ClassDef) and not owner.col_offset and _four_spaces(lines, owner.body[0]):
                # A piece of a class's body: parsed under a header on the line before it.
                piece = "".join(lines[start:stop])
                wrapper, *after = parse_module("\n" * (start - 1) + "class _:\n" + piece, path).body
                owner.body.extend(wrapper.body)
                owner.end_lineno, owner.end_col_offset = wrapper.end_lineno, wrapper.end_col_offset
                body.extend(after)
                i += 1
                continue
            if owner is None:
                raise SyntaxError("an indented first line")
            # Of a block that is not a class (`if is_torch_available():`): the block is parsed
            # again with this piece and the next pieces that go on it.
            body.pop()
            start = min([owner.lineno, *(d.lineno for d in getattr(owner, "decorator_list", []))]) - 1
            while i + 1 < len(spans) and lines[spans[i + 1][0]].startswith(" "):
                i += 1
            stop = spans[i][1]
        body.extend(parse_module("\n" * start + "".join(lines[start:stop]), path).body)
        i += 1
    return ast.Module(body=body, type_ignores=[])


def _four_spaces(lines: list[str], stmt: ast.stmt) -> bool:
    """Whether the statement is indented by four spaces (a tab and three spaces is also four
    bytes, at another indentation for the tokenizer)."""
    return stmt.col_offset == 4 and lines[stmt.lineno - 1].startswith("    ")


__all__ = ["PIECE_LINES", "parse_in_pieces"]
