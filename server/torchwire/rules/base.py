"""The shape of a rule: one class in one file, documented ruff-style in its docstring (What it
does / Why is this bad? / Example / Use instead / Fix safety), carrying `VALID` and `INVALID`
examples that the test suite runs and the docs print."""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterator

from ..engine.findings import Finding, Fix, Severity

if TYPE_CHECKING:
    from ..engine.analysis import RuleContext


@dataclass(frozen=True)
class Invalid:
    """A snippet the rule must flag: `flags` is the exact text of the flagged range (its first
    occurrence, or the `occurrence`-th); `fixed` the whole text after the rule's fix."""

    code: str
    flags: str
    fixed: str | None = None
    message: str | None = None
    occurrence: int = 1


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case, as in `torchwire rule`
    summary: ClassVar[str]
    severity: ClassVar[Severity]
    fix_safety: ClassVar[str]  # "safe", "unsafe" or "none"
    unnecessary: ClassVar[bool] = False
    VALID: ClassVar[list[str]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def check(self, ctx: "RuleContext") -> Iterator[Finding]:
        raise NotImplementedError

    # helpers for rules

    def finding(self, ctx: "RuleContext", node: ast.AST, message: str, fix: Fix | None = None) -> Finding:
        return Finding(self.code, message, ctx.source.node_range(node), self.severity, fix, self.unnecessary)

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")
