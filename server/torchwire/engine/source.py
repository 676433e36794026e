"""Source text and positions.

The engine speaks one unit: 0-based lines and columns counted in code points (what libcst and
pygls' server side use, and what the CLI's JSON prints). Python's `ast` counts columns in UTF-8
bytes; this module is the one place where those are converted. Client units (UTF-16, ...) are
converted at the LSP boundary, nowhere else.
"""

from __future__ import annotations

import ast
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

from .cached import cached_property


class Position(NamedTuple):
    line: int  # 0-based
    character: int  # code points


class Range(NamedTuple):
    start: Position
    end: Position

    def contains(self, pos: Position) -> bool:
        return self.start <= pos <= self.end

    def to_json(self) -> dict:
        return {
            "start": {"line": self.start.line, "character": self.start.character},
            "end": {"line": self.end.line, "character": self.end.character},
        }


@dataclass
class SourceText:
    """The analysed text, with its lines split once when first read (most files of other
    packages never are: their lines would double the memory their text takes) and byte
    columns converted lazily."""

    text: str
    path: str = "<unknown>"

    def __post_init__(self) -> None:
        self._line_starts: array | None = None

    @cached_property
    def lines(self) -> list[str]:
        # ast numbers lines by \n, \r\n and \r; keepends=False would also split on form feeds
        # and other separators that ast does not treat as line ends.
        return _split_lines_like_ast(self.text)

    def line(self, index: int) -> str:
        return self.lines[index] if 0 <= index < len(self.lines) else ""

    # -- ast (1-based lines, UTF-8 byte columns) to engine positions --------------------------

    def column(self, lineno: int, byte_col: int) -> int:
        line = self.line(lineno - 1)
        if byte_col <= 0 or line.isascii():
            return byte_col
        return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))

    def node_range(self, node: ast.AST) -> Range:
        start = Position(node.lineno - 1, self.column(node.lineno, node.col_offset))
        end_lineno = node.end_lineno or node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
        return Range(start, Position(end_lineno - 1, self.column(end_lineno, end_col)))

    def segment(self, node: ast.AST) -> str:
        """The exact source text of a node (like ast.get_source_segment, without re-splitting)."""
        return self.text_in(self.node_range(node))

    # -- engine positions to offsets ----------------------------------------------------------

    def offset(self, pos: Position) -> int:
        if self._line_starts is None:
            lengths = map(len, _split_lines_like_ast(self.text, keepends=True))
            self._line_starts = array("q", accumulate(lengths, initial=0))  # 8 bytes a line, not 36
        starts = self._line_starts
        if pos.line >= len(starts) - 1:
            return len(self.text)
        return min(starts[pos.line] + pos.character, starts[pos.line + 1])

    def text_in(self, rng: Range) -> str:
        return self.text[self.offset(rng.start) : self.offset(rng.end)]

    def end_position(self) -> Position:
        if not self.lines:
            return Position(0, 0)
        return Position(len(self.lines) - 1, len(self.lines[-1]))


def _split_lines_like_ast(text: str, keepends: bool = False) -> list[str]:
    if "\r" not in text:
        lines = text.split("\n")
        if keepends:
            last = lines.pop()
            lines = [line + "\n" for line in lines]
            lines.append(last)
        return lines
    lines = _split_mixed(text)
    if not keepends:
        return lines
    # keepends: rebuild with the original terminators so offsets stay exact
    out, pos = [], 0
    for line in lines:
        end = pos + len(line)
        if text.startswith("\r\n", end):
            end += 2
        elif end < len(text) and text[end] in "\r\n":
            end += 1
        out.append(text[pos:end])
        pos = end
    return out


def _split_mixed(text: str) -> list[str]:
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n" or ch == "\r":
            out.append(text[start:i])
            i += 2 if ch == "\r" and i + 1 < n and text[i + 1] == "\n" else 1
            start = i
        else:
            i += 1
    out.append(text[start:])
    return out
