"""The engine's one entry point: `analyze(text, path, config)`.

text -> ast -> module model (classes, what they register, forward() dataflow) -> rules ->
findings with lazy fixes. The CLI, the language server, the tests and the benchmarks all call
this and nothing else.
"""

from __future__ import annotations

import ast
import logging
import warnings
from dataclasses import dataclass, field
from functools import cached_property

from ..config import Config
from .dataflow import MethodFlow, analyze_methods
from .findings import Finding, Severity
from .interpreter import Budget, Interpreter
from .model import FileContext, ModuleClass
from .noqa import suppressed
from .source import Position, Range, SourceText

log = logging.getLogger(__name__)


@dataclass
class RuleContext:
    """What a rule reads: the source, the module model and the dataflow of each class."""

    source: SourceText
    tree: ast.Module
    file: FileContext
    _flows: dict[int, dict[str, MethodFlow]] = field(default_factory=dict)

    def flows(self, cls: ModuleClass) -> dict[str, MethodFlow]:
        key = id(cls)
        if key not in self._flows:
            self._flows[key] = analyze_methods(self.file, cls)
        return self._flows[key]

    @cached_property
    def observations(self) -> list:
        """Observations from interpreting every module class's __init__ and the module-level
        code (in source order)."""
        for cls in self.file.module_classes:
            cls.root  # interpreting __init__ records the class's observations
        interp = Interpreter(self.file, observe=True)
        try:
            interp.run_module_level([s for s in self.tree.body if not isinstance(s, (ast.ClassDef,))])
            for fn in self.file.functions.values():
                Interpreter(self.file, observe=True).run_function(fn)
        except (Budget, RecursionError):
            pass
        return sorted(self.file.observations.values(), key=lambda o: (o.node.lineno, o.node.col_offset))


@dataclass
class Analysis:
    source: SourceText
    tree: ast.Module | None
    file: FileContext | None
    findings: list[Finding]

    @property
    def module_classes(self) -> list[ModuleClass]:
        return self.file.module_classes if self.file is not None else []


def uses_torch(text: str) -> bool:
    return "torch" in text


def parse(source: SourceText) -> tuple[ast.Module | None, Finding | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            return ast.parse(source.text, filename=source.path), None
    except SyntaxError as error:
        line = max((error.lineno or 1) - 1, 0)
        col = source.column(line + 1, max((error.offset or 1) - 1, 0)) if error.offset else 0
        col = min(col, len(source.line(line)))
        rng = Range(Position(line, col), Position(line, col))
        return None, Finding("TW000", f"Syntax error: {error.msg}", rng, Severity.ERROR, path=source.path)
    except (RecursionError, MemoryError, ValueError) as error:
        msg = "nested too deeply to parse" if isinstance(error, RecursionError) else str(error)
        return None, Finding("TW000", f"Cannot parse this file: {msg}", Range(Position(0, 0), Position(0, 0)), Severity.ERROR, path=source.path)


def analyze(text: str, path: str = "<unknown>", config: Config | None = None) -> Analysis:
    """Analyse one file's text. Never imports or runs it."""
    from ..rules import ALL_RULES

    config = config or Config()
    source = SourceText(text, path)
    if not uses_torch(text):
        return Analysis(source, None, None, [])
    tree, error = parse(source)
    if tree is None:
        findings = [error] if error is not None and config.enabled("TW000") else []
        return Analysis(source, None, None, findings)
    file = FileContext(source, tree)
    ctx = RuleContext(source, tree, file)
    findings: list[Finding] = []
    for rule in ALL_RULES:
        if not config.enabled(rule.code):
            continue
        try:
            for finding in rule.check(ctx):
                finding.path = path
                finding.severity = config.severity_of(finding.code, finding.severity)
                if not suppressed(source.line(finding.range.start.line), finding.code):
                    findings.append(finding)
        except (Budget, RecursionError):
            continue
        except Exception:  # a bug in one rule must not take the others (or the editor) down
            log.exception("rule %s failed on %s", rule.code, path)
    findings.sort(key=lambda f: (f.range.start, f.code))
    return Analysis(source, tree, file, findings)
