"""The engine's entry points: `analyze(text, path, config)` for one text, and
`DocumentAnalyzer` for a document that changes (the language server keeps one per open file).

text -> ast -> module model (classes, what they register, forward() dataflow) -> rules ->
findings with lazy fixes. The CLI, the language server, the tests and the benchmarks all come
through here.
"""

from __future__ import annotations

import ast
import logging
import warnings
from dataclasses import dataclass
from typing import Iterable

from ..config import Config
from .cached import cached_property
from .configs import hierarchy
from .dataflow import MethodFlow, analyze_methods, analyze_with_modules
from .findings import Finding, Severity
from .interpreter import Budget, Interpreter, Observation
from .model import FileContext, ModuleClass, statement_lines
from .noqa import suppressed
from .source import Position, Range, SourceText

log = logging.getLogger(__name__)


@dataclass
class Document:
    """The current version of a file. The language server keeps one per open document and
    updates it in place, so that fixes computed later read the text as it is then."""

    source: SourceText
    tree: ast.Module
    file: FileContext


@dataclass
class RuleContext:
    """What a rule reads: the document, and which of its top-level statements to look at."""

    doc: Document
    scope: set[int] | None = None  # ids of top-level statements to analyse; None: all
    config: Config | None = None  # the rules that run (None: all)

    @property
    def source(self) -> SourceText:
        return self.doc.source

    @property
    def tree(self) -> ast.Module:
        return self.doc.tree

    @property
    def file(self) -> FileContext:
        return self.doc.file

    def enabled(self, code: str) -> bool:
        """Whether rule `code` runs: a rule that another reports better leaves it to that one."""
        return self.config is None or self.config.enabled(code)

    def in_scope(self, top: ast.stmt) -> bool:
        return self.scope is None or id(top) in self.scope

    @property
    def module_classes(self) -> list[ModuleClass]:
        return [c for c in self.file.module_classes if self.in_scope(c.top)]

    def flows(self, cls: ModuleClass) -> dict[str, MethodFlow]:
        """The dataflow of the class's methods, kept in the file's model: an edit inside a
        method computes again only the flows that read that method (FileContext.replace_method),
        not those of every class that uses the edited one."""
        kept = self.file.flows.get(cls)
        if kept is None:
            flows = analyze_methods(self.file, cls)
            reads = {id(c.node) for c in hierarchy(cls)}.union(*(f.follows for f in flows.values()))
            kept = self.file.flows[cls] = (flows, frozenset(reads))
        return kept[0]

    def forward_flows(self, cls: ModuleClass) -> list[MethodFlow]:
        """The dataflow of `forward` and of the methods it calls on self, transitively."""
        flows = self.flows(cls)
        seen: list[str] = []
        stack = ["forward"]
        while stack:
            name = stack.pop()
            if name in seen or name not in flows:
                continue
            seen.append(name)
            stack.extend(flows[name].uses)
        return [flows[name] for name in seen]

    @cached_property
    def function_flows(self) -> list[MethodFlow]:
        """The dataflow of the in-scope functions outside module classes that are handed
        modules through annotated parameters (an attention processor's `attn: Attention`)."""
        modules = {id(c.node) for c in self.file.module_classes}
        found = []
        for top in self.tree.body:
            if not self.in_scope(top):
                continue
            candidates = [top] if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
            if isinstance(top, ast.ClassDef) and id(top) not in modules:
                candidates = [s for s in top.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
            found += [flow for fn in candidates if (flow := analyze_with_modules(self.file, fn)) is not None]
        return found

    @cached_property
    def observations(self) -> list[Observation]:
        """What interpreting the in-scope code recorded: each class's __init__, each function,
        each module-level statement (each observes only inside itself)."""
        for cls in self.module_classes:
            cls.root  # interpreting __init__ records the class's observations
        for stmt in self.tree.body:
            # An import alone observes nothing: run, it would look up every name it imports
            # (and read their files), for a frame then thrown away.
            if not self.in_scope(stmt) or isinstance(stmt, (ast.ClassDef, ast.Import, ast.ImportFrom)):
                continue
            try:
                interp = Interpreter(self.file, observe=True, within=statement_lines(stmt))
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    interp.run_function(stmt)
                else:
                    interp.run_module_level([stmt])
            except (Budget, RecursionError):
                continue
        found = [o for o in self.file.observations.values() if self.scope is None or self._inside_scope(o.node)]
        return sorted(found, key=lambda o: (o.node.lineno, o.node.col_offset))

    def _inside_scope(self, node: ast.AST) -> bool:
        return any(first <= node.lineno <= last for first, last in self._scope_lines)

    @cached_property
    def _scope_lines(self) -> list[tuple[int, int]]:
        return [statement_lines(s) for s in self.tree.body if self.in_scope(s)]


@dataclass
class Analysis:
    source: SourceText
    tree: ast.Module | None
    file: FileContext | None
    findings: list[Finding]
    doc: Document | None = None

    @property
    def module_classes(self) -> list[ModuleClass]:
        return self.file.module_classes if self.file is not None else []

    @cached_property
    def queries(self) -> RuleContext | None:
        """A context for questions about this version (hover, inlay hints), caching the
        dataflow it computes."""
        return RuleContext(self.doc) if self.doc is not None else None


def uses_torch(text: str) -> bool:
    """A quick filter: files that never name torch are left alone, unless a star import may
    bring it in (`from .common import *` and then `nn.Module`)."""
    return "torch" in text or "import *" in text


def syntax_error_finding(source: SourceText, error: SyntaxError) -> Finding:
    line = min(max((error.lineno or 1) - 1, 0), max(len(source.lines) - 1, 0))
    col = source.column(line + 1, max((error.offset or 1) - 1, 0)) if error.offset else 0
    col = min(col, len(source.line(line)))
    rng = Range(Position(line, col), Position(line, col))
    return Finding("TW000", f"Syntax error: {error.msg}", rng, Severity.ERROR, path=source.path)


def parse_module(text: str, path: str) -> ast.Module:
    """`ast.parse`, quiet about invalid escape sequences; raises SyntaxError for anything that
    cannot be parsed (including nesting too deep for the parser)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path)
    except SyntaxError:
        raise
    except (RecursionError, MemoryError) as error:
        raise SyntaxError("nested too deeply to parse" if isinstance(error, RecursionError) else "too large to parse") from None
    except ValueError as error:  # e.g. null bytes
        raise SyntaxError(str(error)) from None


def run_rules(ctx: RuleContext, config: Config) -> list[Finding]:
    from ..rules import ALL_RULES

    findings: list[Finding] = []
    ctx.config = config
    for rule in ALL_RULES:
        if not config.enabled(rule.code):
            continue
        try:
            for finding in rule.check(ctx):
                finding.path = ctx.source.path
                finding.severity = config.severity_of(finding.code, finding.severity)
                if not suppressed(ctx.source.line(finding.range.start.line), finding.code):
                    findings.append(finding)
        except (Budget, RecursionError):
            continue
        except Exception:  # a bug in one rule must not take the others (or the editor) down
            log.exception("rule %s failed on %s", rule.code, ctx.source.path)
    return findings


def analyze(text: str, path: str = "<unknown>", config: Config | None = None, resolver=None) -> Analysis:
    """Analyse one file's text. Never imports or runs it. A `resolver` (see
    torchwire/project.py) lets imported classes be analysed in their own files too."""
    from .incremental import DocumentAnalyzer

    return DocumentAnalyzer(path, config, resolver).update(text)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.range.start, f.range.end, f.code))
