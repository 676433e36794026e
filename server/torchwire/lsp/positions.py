"""The one place where engine positions (code points) become client positions and back.

LSP counts columns in UTF-16 code units unless the client negotiated UTF-8 or UTF-32.
"""

from __future__ import annotations

from lsprotocol import types

from ..engine.source import Position, Range, SourceText


class Positions:
    def __init__(self, encoding: str | None):
        self.encoding = {"utf-8": "utf-8", "utf-32": "utf-32"}.get(str(encoding or "utf-16"), "utf-16")

    def units(self, text: str) -> int:
        if self.encoding == "utf-32" or text.isascii():
            return len(text)
        if self.encoding == "utf-8":
            return len(text.encode("utf-8"))
        return len(text.encode("utf-16-le")) // 2

    def to_client(self, source: SourceText, pos: Position) -> types.Position:
        line = source.line(pos.line)
        return types.Position(line=pos.line, character=self.units(line[: pos.character]))

    def range_to_client(self, source: SourceText, rng: Range) -> types.Range:
        return types.Range(start=self.to_client(source, rng.start), end=self.to_client(source, rng.end))

    def from_client(self, source: SourceText, pos: types.Position) -> Position:
        """Clamped into the document: a client may send a position past a line's end."""
        if pos.line >= len(source.lines):
            return source.end_position()
        return Position(pos.line, self.column_from_client(source.line(max(pos.line, 0)), pos.character))

    def column_from_client(self, line: str, character: int) -> int:
        """The code point of `line` a client's column names (past its end: its end)."""
        wanted = max(character, 0)
        if self.encoding == "utf-32" or line.isascii():
            return min(wanted, len(line))
        count = 0
        for index, char in enumerate(line):
            if count >= wanted:
                return index
            count += self.units(char)
        return len(line)

    def range_from_client(self, source: SourceText, rng: types.Range) -> Range:
        return Range(self.from_client(source, rng.start), self.from_client(source, rng.end))
