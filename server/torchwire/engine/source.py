"""Source text and positions.

The engine speaks one unit: 0-based lines and columns counted in code points (what libcst and
pygls' server side use, and what the CLI's JSON prints). Python's `ast` counts columns in UTF-8
bytes; this module is the one place where those are converted. Client units (UTF-16, ...) are
converted at the LSP boundary, nowhere else.
"""

from __future__ import annotations

import ast
import re
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

    def has_word(self, word: str) -> bool:
        """Whether `word` occurs in the text as a whole word (a run of `\\w` characters)."""
        return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", self.text) is not None


class CompactSourceText(SourceText):
    """A file of another package, as the engine reads it: kept for the session for a few of
    its definitions, so its text is kept in UTF-8 (one emoji in a docstring makes Python store a
    whole str in 4 bytes a character: modeling_utils.py took 1.1 MB, not 0.28) and its lines are
    found by their offsets, never split into strings. Reads as a SourceText of the same text."""

    def __init__(self, text: str, path: str = "<unknown>") -> None:
        self.data = text.encode("utf-8", "surrogatepass")
        self.path = path
        self._starts: array | None = None

    @property
    def text(self) -> str:  # the whole text, decoded again: for the rare reader of all of it
        return self.data.decode("utf-8", "surrogatepass")

    @property
    def lines(self) -> list[str]:
        return _split_lines_like_ast(self.text)

    def _line_starts_in_bytes(self) -> array:
        """Where each line starts, in bytes, and the end of the text (the lines ast numbers)."""
        if self._starts is None:
            data = self.data
            if b"\r" not in data:
                starts = array("q", accumulate((len(line) + 1 for line in data.split(b"\n")), initial=0))
                starts[-1] = len(data)  # the last line has no line end
            else:
                starts = array("q", [0, *(end.end() for end in _LINE_END.finditer(data)), len(data)])
            self._starts = starts
        return self._starts

    def _line_bytes(self, index: int) -> bytes:
        """Line `index`, without its line end."""
        starts = self._line_starts_in_bytes()
        if not 0 <= index < len(starts) - 1:
            return b""
        raw = self.data[starts[index] : starts[index + 1]]
        return raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw.endswith((b"\n", b"\r")) else raw

    def line(self, index: int) -> str:
        return self._line_bytes(index).decode("utf-8", "surrogatepass")

    def column(self, lineno: int, byte_col: int) -> int:
        if byte_col <= 0:
            return byte_col
        prefix = self._line_bytes(lineno - 1)[:byte_col]
        return byte_col if prefix.isascii() else len(prefix.decode("utf-8", errors="replace"))

    def _byte_offset(self, pos: Position) -> int:
        starts = self._line_starts_in_bytes()
        if pos.line >= len(starts) - 1:
            return len(self.data)
        start, end = starts[pos.line], starts[pos.line + 1]
        raw = self.data[start:end]
        inside = pos.character if raw.isascii() else len(raw.decode("utf-8", "surrogatepass")[: pos.character].encode("utf-8", "surrogatepass"))
        return min(start + inside, end)

    def offset(self, pos: Position) -> int:
        return len(self.data[: self._byte_offset(pos)].decode("utf-8", "surrogatepass"))

    def text_in(self, rng: Range) -> str:
        return self.data[self._byte_offset(rng.start) : self._byte_offset(rng.end)].decode("utf-8", "surrogatepass")

    def end_position(self) -> Position:
        starts = self._line_starts_in_bytes()
        last = len(starts) - 2
        return Position(last, len(self.line(last)))

    def has_word(self, word: str) -> bool:
        """As SourceText's, looked for in the bytes; next to a letter outside ASCII, an ASCII
        word counts as whole (a superset, and no decoding of the text)."""
        if not word.isascii():
            return super().has_word(word)
        data, found = self.data, word.encode()
        at = data.find(found)
        while at >= 0:
            end = at + len(found)
            if (at == 0 or data[at - 1] not in _ASCII_WORD) and (end == len(data) or data[end] not in _ASCII_WORD):
                return True
            at = data.find(found, at + 1)
        return False


_LINE_END = re.compile(rb"\r\n|\r|\n")
_ASCII_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


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
