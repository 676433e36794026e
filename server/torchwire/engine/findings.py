"""What the engine reports: findings, each with an optional fix whose edits are computed only
when asked for (libcst is loaded then, not before)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

from .source import Range


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"


@dataclass(frozen=True)
class TextEdit:
    range: Range  # engine positions (code points)
    new_text: str


@dataclass
class Fix:
    title: str
    safe: bool
    compute: Callable[[], list[TextEdit]]  # lazily: libcst is imported only here
    _edits: list[TextEdit] | None = None

    def edits(self) -> list[TextEdit]:
        if self._edits is None:
            self._edits = self.compute()
        return self._edits


@dataclass
class Finding:
    code: str
    message: str
    range: Range
    severity: Severity
    fix: Fix | None = None
    unnecessary: bool = False  # unused code: editors fade it out
    path: str = ""
    subject: str | None = None  # the attribute a finding is about, for checks across files
    owner: str | None = None  # the class whose attribute `subject` is
    cell: int | None = None  # in a notebook: the cell's index among all cells; `range` is in the cell

    def to_json(self) -> dict:
        where = {"path": self.path} if self.cell is None else {"path": self.path, "cell": self.cell}
        return {
            **where,
            "range": self.range.to_json(),
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "fix": None if self.fix is None else {"safe": self.fix.safe, "title": self.fix.title},
        }
