"""Re-analysing a document after an edit by touching only what the edit touched.

The text is cut into chunks, one per top-level statement (with the comments and blank lines
that follow it). After an edit, the chunks before and after the changed region keep their
syntax trees (those after it are shifted in place by the number of lines the edit added) and
their findings; only the changed region is parsed again. Rules then run on the changed chunks
and on the chunks that use, directly or not, a name those define. A fresh analysis of the same
text gives the same findings: it is the same code with every chunk changed.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass, replace

from ..config import Config
from .analysis import Analysis, Document, RuleContext, parse_module, run_rules, sort_findings, syntax_error_finding, uses_torch
from .cached import cached_property
from .findings import Finding
from .model import REACHES_MEMBERS_BY_NAME, FileContext, names_read_in, statement_lines
from .values import was_reached
from .source import Position, Range, SourceText, _split_lines_like_ast

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = frozenset(keyword.kwlist)  # words IDENTIFIER finds that no attribute is named
# What a method may hold that the file's model reads outside constructions: imports (names),
# classes (modules of their own), global or nonlocal statements.
BINDS_NAMES = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.Global, ast.Nonlocal)
# The words each of those starts with: text without them holds none (looked for in C first).
BINDING_WORDS = re.compile(r"\b(?:import|class|global|nonlocal)\b")


@dataclass(eq=False)
class Chunk:
    text: str  # its lines, line ends included; the chunks of a file concatenate to its text
    start: int  # first line, 0-based
    stmts: list[ast.stmt]
    defines: frozenset[str]
    findings: list[Finding] | None = None  # None: to be analysed

    @cached_property
    def uses(self) -> frozenset[str]:
        """The names it mentions (computed when an edit first asks what depends on what)."""
        return frozenset(IDENTIFIER.findall(self.text))

    @cached_property
    def reads(self) -> set[str]:
        """The names it reads (see names_read_in): what "is it used anywhere?" asks of it."""
        return names_read_in(self.positioned)  # names carry positions

    @property
    def lines(self) -> int:
        return _line_count(self.text)

    @cached_property
    def positioned(self) -> list[ast.AST]:
        """Its nodes that carry line numbers, listed once: shifting them below an edit (a
        line typed or removed) is then a tight loop, not a walk of every tree."""
        return _positioned(self.stmts)

    @cached_property
    def strings_over_lines(self) -> list[ast.AST]:
        """Its strings that span lines: a blank line typed inside one changes its value."""
        return [node for node in self.positioned if _spans_lines_of_text(node)]

    def shift(self, delta: int) -> None:
        for node in self.positioned:
            node.lineno += delta
            if node.end_lineno is not None:
                node.end_lineno += delta
        self.start += delta


def _positioned(nodes: list[ast.AST]) -> list[ast.AST]:
    # ast.iter_child_nodes, inlined: a generator per node made this half of a keystroke's parse.
    out: list[ast.AST] = []
    stack: list = list(nodes)
    pop, push, extend, keep = stack.pop, stack.append, stack.extend, out.append
    while stack:
        node = pop()
        if hasattr(node, "lineno"):
            keep(node)
        for name in getattr(node, "_fields", ()):  # none on the names and Nones of some lists
            value = getattr(node, name, None)
            if isinstance(value, list):
                extend(value)
            elif isinstance(value, ast.AST):
                push(value)
    return out


def _line_count(text: str) -> int:
    """Lines a chunk spans: its line ends, plus one for a last line without an end."""
    if not text:
        return 0
    ends = text.count("\n") + text.count("\r") - text.count("\r\n")
    return ends + (0 if text.endswith(("\n", "\r")) else 1)


def _line_aligned(text: str, offset: int) -> bool:
    """Whether `offset` is the start of a line (or the end of the text)."""
    return offset == 0 or offset >= len(text) or text[offset - 1] in "\n\r"


def _defined_names(stmts: list[ast.stmt]) -> frozenset[str]:
    names: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                names.add("*" if alias.name == "*" else (alias.asname or alias.name.split(".")[0]))
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            inner = [*stmt.body, *getattr(stmt, "orelse", []), *getattr(stmt, "finalbody", [])]
            inner += [s for h in getattr(stmt, "handlers", []) for s in h.body]
            names |= _defined_names(inner)
            if isinstance(stmt, ast.For):
                names.update(n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name))
    return frozenset(names)


def _chunks_from(stmts: list[ast.stmt], text: str, first_line: int) -> list[Chunk]:
    """Cut `text` (whose first line is `first_line`) at the top-level statements `stmts`."""
    lines = _lines_of_text(text)
    starts: list[int] = []
    groups: list[list[ast.stmt]] = []
    last_end = -1
    for stmt in stmts:
        begin, end = statement_lines(stmt)
        begin -= 1 + first_line
        if groups and begin <= last_end:  # `a = 1; b = 2`: one line, one chunk
            groups[-1].append(stmt)
        else:
            starts.append(begin)
            groups.append([stmt])
        last_end = max(last_end, end - 1 - first_line)
    if not groups:
        return [Chunk(text, first_line, [], frozenset())] if text else []
    starts[0] = 0  # leading comments and the docstring go with the first statement
    chunks = []
    for i, (begin, group) in enumerate(zip(starts, groups)):
        stop = starts[i + 1] if i + 1 < len(starts) else len(lines)
        chunk_text = "".join(lines[begin:stop])
        chunks.append(Chunk(chunk_text, first_line + begin, group, _defined_names(group)))
    return chunks


class DocumentAnalyzer:
    """Analyses successive versions of one document, re-using what an edit left untouched."""

    def __init__(self, path: str = "<unknown>", config: Config | None = None, resolver=None):
        self.path = path
        self.config = config or Config()
        self.resolver = resolver  # finds classes of other files (see torchwire/project.py)
        self.text: str | None = None  # the last text that parsed
        self.chunks: list[Chunk] = []
        self.doc: Document | None = None
        self._not_moved: tuple[str, tuple[int, int, int, int]] | None = None  # see update_if_moved

    # ------------------------------------------------------------------ public

    def dispose(self) -> None:
        """This analyzer is replaced (new settings, newly resolved imports): the cycles of its
        last model are broken, so that it is freed at once (see FileContext.dispose)."""
        if self.doc is not None and self.doc.file is not None:
            self.doc.file.dispose()

    def renewed(self, config: Config, resolver=None) -> DocumentAnalyzer:
        """A fresh analyzer (new settings, newly resolved imports) that keeps this one's parse:
        its first update of the same text analyses the trees again without parsing them
        (qwen3_omni_moe: 30 ms, not 80, at each pass of the background that finds classes)."""
        fresh = DocumentAnalyzer(self.path, config, resolver)
        if self.text is not None and self.chunks:
            fresh.text = self.text
            fresh.chunks = [Chunk(c.text, c.start, c.stmts, c.defines) for c in self.chunks]
        return fresh

    def update(self, text: str) -> Analysis:
        source = SourceText(text, self.path)
        checked, self._not_moved = self._not_moved, None
        if not uses_torch(text):
            self.text, self.chunks, self.doc = None, [], None
            return Analysis(source, None, None, [])
        if self.text is None or not self.chunks:
            return self._full(text, source)
        if self.doc is None:  # renewed: nothing analysed yet
            if text != self.text:
                return self._full(text, source)
            tree = self._whole_tree()
            return self._adopt(text, source, tree, dirty=set(range(len(self.chunks))))
        # update_if_moved just looked at this text: not a move, and where it differs.
        return self._incremental(text, source, checked[1] if checked is not None and checked[0] is text else None)

    # ------------------------------------------------------------------ whole text

    def _full(self, text: str, source: SourceText) -> Analysis:
        try:
            tree = parse_module(text, self.path)
        except SyntaxError as error:
            self.text, self.chunks, self.doc = None, [], None
            return self._broken(source, error, [])
        self.chunks = _chunks_from(tree.body, text, 0)
        return self._adopt(text, source, tree, dirty=set(range(len(self.chunks))))

    # ------------------------------------------------------------------ after an edit

    def update_if_moved(self, text: str) -> Analysis | None:
        """`update(text)` when it neither parses nor analyses: the text is the last one, or
        blank lines were typed or removed. None otherwise, and nothing changed."""
        if self.text is None or not self.chunks or not uses_torch(text):
            return None
        ends = self._unchanged_ends(text)
        moved = self._moved(text, SourceText(text, self.path), *ends)
        self._not_moved = (text, ends) if moved is None else None  # for update(text), next
        return moved

    def _unchanged_ends(self, text: str) -> tuple[int, int, int, int]:
        """The chunks unchanged at the start (how many, and where the rest begins in `text`)
        and at the end (how many, and where they begin), compared whole (str.startswith runs
        in C)."""
        old = self.chunks
        head, offset = 0, 0
        while head < len(old) and text.startswith(old[head].text, offset) and _line_aligned(text, offset + len(old[head].text)):
            offset += len(old[head].text)
            head += 1
        tail, back = 0, len(text)
        while tail < len(old) - head:
            chunk_text = old[-1 - tail].text
            begin = back - len(chunk_text)
            if begin < offset or not text.startswith(chunk_text, begin) or not _line_aligned(text, begin):
                break
            back = begin
            tail += 1
        return head, offset, tail, back

    def _moved(self, text: str, source: SourceText, head: int, offset: int, tail: int, back: int) -> Analysis | None:
        old = self.chunks
        if head == len(old) and back == len(text) == offset:
            return self._analysis(source)  # nothing changed
        if self._moved_by_blank_lines(text, head, len(old) - tail):
            # Blank lines typed or removed (Enter, a line cleared): the same code, so every chunk
            # keeps its tree and findings, moved line by line; nothing is parsed or analysed.
            tree = self._whole_tree()
            return self._adopt(text, source, tree, set(), same_code=True)
        return None

    def _incremental(self, text: str, source: SourceText, not_moved: tuple[int, int, int, int] | None = None) -> Analysis:
        old = self.chunks
        if not_moved is not None:
            head, offset, tail, back = not_moved
        else:
            head, offset, tail, back = self._unchanged_ends(text)
            moved = self._moved(text, source, head, offset, tail, back)
            if moved is not None:
                return moved
        edited = self._edited_method(text, source, head, len(old) - tail)
        if edited is not None:
            return edited
        for widen in (0, 1):  # if the region alone does not parse, try it with a neighbour each side
            first, last = max(head - widen, 0), len(old) - max(tail - widen, 0)
            start_char = sum(len(c.text) for c in old[:first])
            end_char = len(text) - sum(len(c.text) for c in old[last:])
            if end_char < start_char:
                continue
            start_line = old[first].start if first < len(old) else (old[-1].start + old[-1].lines if old else 0)
            region = text[start_char:end_char]
            try:
                tree = parse_module("\n" * start_line + region, self.path)
            except SyntaxError:
                continue
            new_chunks = _chunks_from(tree.body, region, start_line)
            return self._splice(text, source, first, last, new_chunks)
        try:  # an edit that reaches across chunks (a new decorator, a dedent): parse it all
            parse_module(text, self.path)
        except SyntaxError as error:  # reported as a fresh parse of the whole text reports it
            return self._broken(source, error, self._kept_findings(text, head, tail))
        self.text = None
        return self._full(text, source)

    def _splice(self, text: str, source: SourceText, first: int, last: int, new_chunks: list[Chunk]) -> Analysis:
        old = self.chunks
        old_lines = sum(c.lines for c in old[first:last])
        new_lines = sum(c.lines for c in new_chunks)
        delta = new_lines - old_lines
        _shift_all(old[last:], delta)
        # Code that only moved (comments, re-indented continuation lines) means the same: what
        # uses it need not be checked again, only the chunks themselves.
        same_code = _same_code(old[first:last], new_chunks)
        changed_names = set() if same_code else set().union(*(c.defines for c in old[first:last]), *(c.defines for c in new_chunks))
        # Names the edited code stopped (or started) mentioning: a chunk whose findings depend on
        # whether anything else reads them (TW302's "nothing uses self.norm") is checked again.
        mentions = set().union(*(c.uses for c in old[first:last])) ^ set().union(*(c.uses for c in new_chunks))
        if not same_code:  # and the names it still mentions but no longer reads, or now reads (`self.proj(h)` -> `self.proj = h`)
            mentions |= _read_in(old[first:last]) ^ _read_in(new_chunks)
        self.chunks = [*old[:first], *new_chunks, *old[last:]]
        dirty = set(range(first, first + len(new_chunks)))
        dirty |= self._dependents(changed_names, dirty)
        if not same_code and _reach_by_name("".join(c.text for c in old[first:last])) != _reach_by_name("".join(c.text for c in new_chunks)):
            dirty |= self._ancestors([s for c in (*old[first:last], *new_chunks) for s in c.stmts], dirty)
        mentions = self._changed_reads(dirty, mentions)
        dirty |= {i for i, chunk in enumerate(self.chunks) if i not in dirty and chunk.uses & mentions}
        tree = self._whole_tree()
        return self._adopt(text, source, tree, dirty)

    def _edited_method(self, text: str, source: SourceText, first: int, last: int) -> Analysis | None:
        """An edit inside one method's body (not its signature or decorators) that building any
        class never ran nor held, such as forward() as you type: the method alone is parsed
        again and put in the class's tree, so every construction is kept (rebuilding them was
        most of a keystroke's cost); the class and what uses it are checked again. None when
        the edit is anything else."""
        old = self.chunks
        if last - first != 1 or self.doc is None:
            return None
        chunk = old[first]
        if chunk.findings is None or len(chunk.stmts) != 1 or not isinstance(chunk.stmts[0], ast.ClassDef):
            return None
        begin = sum(len(c.text) for c in old[:first])
        end = len(text) - sum(len(c.text) for c in old[last:])
        edit = _method_edit(chunk, text[begin:end], self.path) if end >= begin else None
        if edit is None:
            return None
        index, new, new_nodes, old_nodes, slot_to, delta = edit
        class_node = chunk.stmts[0]
        # Move the class's later lines, then swap the method in.
        replaced = {id(node) for node in old_nodes}
        kept = [node for node in chunk.positioned if id(node) not in replaced]
        for node in kept:
            if node is not class_node and node.lineno - 1 >= slot_to:
                node.lineno += delta
                if node.end_lineno is not None:
                    node.end_lineno += delta
        if index == len(class_node.body) - 1:
            class_node.end_lineno, class_node.end_col_offset = new.end_lineno, new.end_col_offset
        elif class_node.end_lineno is not None:
            class_node.end_lineno += delta
        self.doc.file.replace_method(class_node, index, new, replaced)
        old_uses, old_text = chunk.uses, chunk.text
        chunk.text = text[begin:end]
        chunk.__dict__.pop("uses", None)
        chunk.__dict__.pop("reads", None)
        chunk.positioned = kept + new_nodes
        chunk.__dict__.pop("strings_over_lines", None)
        _shift_all(old[last:], delta)
        dirty = {first}
        dirty |= self._dependents(set(chunk.defines), dirty)
        if _reach_by_name(old_text) != _reach_by_name(chunk.text):
            dirty |= self._ancestors(chunk.stmts, dirty)
        mentions = (old_uses ^ chunk.uses) | (names_read_in(old_nodes) ^ names_read_in(new_nodes))
        mentions = self._changed_reads(dirty, mentions)
        dirty |= {i for i, c in enumerate(self.chunks) if i not in dirty and c.uses & mentions}
        tree = self._whole_tree()
        return self._adopt(text, source, tree, dirty, edited=class_node)

    def _moved_by_blank_lines(self, text: str, first: int, last: int) -> bool:
        """Whether the edit between chunks `first` and `last` (exclusive) only added, removed or
        changed whitespace-only lines outside strings and continuation lines: then the code
        parses to the same statements, and this moves the chunks' trees, findings and texts to
        the new lines, and returns True."""
        old = self.chunks
        if first == last:  # blank lines typed between two chunks: they join the one before
            first, last = (first - 1, last) if first > 0 else (first, last + 1)
        if last > len(old) or any(c.findings is None for c in old[first:last]):
            return False
        begin = sum(len(c.text) for c in old[:first])
        end = len(text) - sum(len(c.text) for c in old[last:])
        if end < begin:
            return False
        old_lines = _split_lines_like_ast("".join(c.text for c in old[first:last]), keepends=True)
        new_lines = _split_lines_like_ast(text[begin:end], keepends=True)
        old_kept = [i for i, line in enumerate(old_lines) if not _is_blank(line)]
        new_kept = [i for i, line in enumerate(new_lines) if not _is_blank(line)]
        if len(old_kept) != len(new_kept) or any(old_lines[i] != new_lines[j] for i, j in zip(old_kept, new_kept)):
            return False
        if any(old_lines[i].rstrip("\r\n").endswith("\\") for i in old_kept):
            return False  # a blank line after `\` ends the statement there
        start = old[first].start
        moved = {start + i: start + j for i, j in zip(old_kept, new_kept)}
        chunks = old[first:last]
        # Every node starts and ends on a line with code (its first and last tokens), which the
        # edit kept: only the lines strings span can differ.
        for chunk in chunks:
            for node in chunk.strings_over_lines:
                if _lines_of(node, old_lines, start) != _lines_of(node, new_lines, start, moved):
                    return False  # a blank line inside a triple-quoted string is part of its value
            if any(f.range.start.line not in moved or f.range.end.line not in moved for f in chunk.findings):
                return False
            if chunk is not chunks[0] and chunk.start not in moved:
                return False
        # Every check passed: move.
        starts = [start] + [moved[c.start] for c in chunks[1:]] + [start + len(new_lines)]
        for k, chunk in enumerate(chunks):
            for node in chunk.positioned:
                node.lineno = moved[node.lineno - 1] + 1
                if node.end_lineno is not None:
                    node.end_lineno = moved[node.end_lineno - 1] + 1
            chunk.findings = [_moved(f, moved) for f in chunk.findings]
            chunk.text = "".join(new_lines[starts[k] - start : starts[k + 1] - start])
            chunk.start = starts[k]
        delta = len(new_lines) - len(old_lines)
        _shift_all(old[last:], delta)
        return True

    def _changed_reads(self, dirty: set[int], mentions: set[str]) -> set[str]:
        """Of the names an edit typed or removed, those that may have been read somewhere in the
        file before it and not after, or the reverse: not Python's keywords (`False`, never an
        attribute), nor names that a chunk not checked again reads (`self`, `config`, `bias`)."""
        names = mentions - KEYWORDS
        for i, chunk in enumerate(self.chunks):
            if not names:
                break
            if i not in dirty:
                names -= chunk.reads
        return names

    def _ancestors(self, stmts: list[ast.stmt], dirty: set[int]) -> set[int]:
        """The chunks that define the classes these statements' classes inherit from, and
        theirs: whether a class's members are used anywhere depends on its subclasses' code
        too (`getattr(self, name)` in one may use any of them)."""
        found: set[int] = set()
        bases = _base_names(stmts)
        while bases:
            reached = [i for i, chunk in enumerate(self.chunks) if i not in dirty and i not in found and chunk.defines & bases]
            found.update(reached)
            bases = _base_names([s for i in reached for s in self.chunks[i].stmts])
        return found

    def _dependents(self, names: set[str], dirty: set[int]) -> set[int]:
        """Chunks that use a changed name, and the chunks that use theirs, and so on."""
        if not names:
            return set()
        if "*" in names:
            return set(range(len(self.chunks)))
        found: set[int] = set()
        frontier = set(names)
        while frontier:
            reached = set()
            for i, chunk in enumerate(self.chunks):
                if i not in dirty and i not in found and (chunk.uses & frontier or "*" in chunk.defines):
                    found.add(i)
                    reached |= chunk.defines
            frontier = reached - names
            names |= reached
        return found

    # ------------------------------------------------------------------ results

    def _adopt(self, text: str, source: SourceText, tree: ast.Module, dirty: set[int], same_code: bool = False, edited: ast.ClassDef | None = None) -> Analysis:
        """`same_code`: only lines moved, and what was learnt of the code stays true;
        `edited`: the class one of whose methods changed, the file's model updated in place
        (_edited_method)."""
        kept = (same_code or edited is not None) and self.doc is not None
        if kept:
            file = self.doc.file
            file.source, file.tree = source, tree
            if edited is not None:  # what is checked again: what the methods say
                tops = {id(s) for i in dirty for s in self.chunks[i].stmts}
                file.forget_what_methods_say([cls for cls in file.all_classes if id(cls.top) in tops], edited)
        else:
            file = FileContext(source, tree, self.resolver)
            if self.doc is not None:
                file.adopt_answers(self.doc.file, {id(s) for i, c in enumerate(self.chunks) if i not in dirty for s in c.stmts})
                self.doc.file.dispose()  # the last version's model: nothing reads it again
        if not (kept and same_code):  # code moved only: what the file reads stays
            # What every chunk reads, kept with it: a walk of the whole tree at each edit otherwise.
            file.names_read = _read_in(self.chunks)
        if self.doc is None:
            self.doc = Document(source, tree, file)
        else:  # in place: fixes of findings kept from earlier versions read the current text
            self.doc.source, self.doc.tree, self.doc.file = source, tree, file
        self.text = text
        scope = {id(s) for i in dirty for s in self.chunks[i].stmts}
        ctx = RuleContext(self.doc, scope if len(dirty) < len(self.chunks) else None)
        fresh = run_rules(ctx, self.config) if scope else []
        for i in dirty:
            self.chunks[i].findings = []
        by_line = [(c.start, c.start + c.lines, c) for c in self.chunks]
        for finding in fresh:
            owner = next((c for begin, end, c in by_line if begin <= finding.range.start.line < end), None)
            if owner is not None and owner.findings is not None:
                owner.findings.append(finding)
        return self._analysis(source)

    def _whole_tree(self) -> ast.Module:
        """The module of the chunks' statements, as they now stand."""
        return ast.Module(body=[s for c in self.chunks for s in c.stmts], type_ignores=[])

    def _analysis(self, source: SourceText) -> Analysis:
        findings = sort_findings(f for c in self.chunks for f in (c.findings or []))
        doc = self.doc
        return Analysis(source, doc.tree, doc.file, findings, doc)

    def _broken(self, source: SourceText, error: SyntaxError, kept: list[Finding]) -> Analysis:
        findings = [] if not self.config.enabled("TW000") else [syntax_error_finding(source, error)]
        return Analysis(source, None, None, sort_findings([*findings, *kept]))

    def _kept_findings(self, text: str, head: int, tail: int) -> list[Finding]:
        """While the text does not parse: the last findings of the chunks the edit did not touch
        (without fixes, which would be computed against the last text that parsed)."""
        old = self.chunks
        kept = [replace(f, fix=None) for c in old[:head] for f in (c.findings or [])]
        if tail:
            untouched = old[len(old) - tail :]
            before_tail = text[: len(text) - sum(len(c.text) for c in untouched)]
            delta = _line_count(before_tail) - untouched[0].start
            kept += [replace(_shifted(f, delta), fix=None) for c in untouched for f in (c.findings or [])]
        return kept


def _base_names(stmts: list[ast.stmt]) -> set[str]:
    """The names the classes among these statements inherit from (`class Child(Base)`)."""
    return {b.id for node in stmts if isinstance(node, ast.ClassDef) for b in node.bases if isinstance(b, ast.Name)}


def _reach_by_name(text: str) -> int:
    """How often the text reaches a module's members by name (see REACHES_MEMBERS_BY_NAME)."""
    return len(REACHES_MEMBERS_BY_NAME.findall(text))


def _read_in(chunks: list[Chunk]) -> set[str]:
    return set().union(*(c.reads for c in chunks))


def _method_edit(chunk: Chunk, new_text: str, path: str) -> tuple[int, ast.FunctionDef | ast.AsyncFunctionDef, list[ast.AST], list[ast.AST], int, int] | None:
    """When the class chunk's new text differs from its old one only inside one method's body
    (a method no construction reached): that method's index in the class, the method parsed
    from its new lines, its nodes with positions and the old method's, where the old lines
    end (0-based, exclusive: the next statement of the class, or the chunk's end) and how many
    lines the edit added."""
    class_node = chunk.stmts[0]
    old_lines, new_lines = _lines_of_text(chunk.text), _lines_of_text(new_text)
    same_before = 0
    while same_before < min(len(old_lines), len(new_lines)) and old_lines[same_before] == new_lines[same_before]:
        same_before += 1
    same_after = 0
    while same_after < min(len(old_lines), len(new_lines)) - same_before and old_lines[-1 - same_after] == new_lines[-1 - same_after]:
        same_after += 1
    changed_from, changed_to = chunk.start + same_before, chunk.start + len(old_lines) - same_after  # 0-based, old lines
    body = class_node.body
    for index, stmt in enumerate(body):
        slot_from = statement_lines(stmt)[0] - 1  # the method's lines and the comments below it
        slot_to = statement_lines(body[index + 1])[0] - 1 if index + 1 < len(body) else chunk.start + len(old_lines)
        if slot_from <= changed_from and changed_to <= slot_to:
            break
    else:
        return None
    if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) or stmt.name == "__init__" or was_reached(stmt):
        return None
    delta = len(new_lines) - len(old_lines)
    slot = new_lines[slot_from - chunk.start : slot_to - chunk.start + delta]
    code = [line for line in slot if not _is_blank(line)]
    if not code or code[-1].rstrip("\r\n").endswith("\\"):
        return None
    try:  # under a class header on the line above, so that its lines are the file's
        parsed = parse_module("\n" * (slot_from - 1) + "class _:\n" + "".join(slot), path)
    except SyntaxError:
        return None
    holder = parsed.body[0] if len(parsed.body) == 1 and isinstance(parsed.body[0], ast.ClassDef) else None
    new = holder.body[0] if holder is not None and len(holder.body) == 1 else None
    if new is None or not _same_signature(stmt, new):
        return None
    # Indented as before, to the character: under `class _:` any indentation parses, and in
    # the class only the one its other statements have.
    if _indentation(slot[statement_lines(new)[0] - 1 - slot_from]) != _indentation(old_lines[slot_from - chunk.start]):
        return None
    new_nodes = _positioned([new])
    # The old method's nodes are those on its lines (no other statement of the class is).
    old_nodes = [n for n in chunk.positioned if slot_from < n.lineno <= slot_to and n is not class_node]
    old_text = "".join(old_lines[slot_from - chunk.start : slot_to - chunk.start])
    if BINDING_WORDS.search(old_text) or BINDING_WORDS.search("".join(slot)):
        if any(isinstance(n, BINDS_NAMES) for n in (*new_nodes, *old_nodes)):
            return None
    return index, new, new_nodes, old_nodes, slot_to, delta


def _lines_of_text(text: str) -> list[str]:
    """Its lines, line ends kept (none after a last line end)."""
    lines = _split_lines_like_ast(text, keepends=True)
    return lines[:-1] if lines and lines[-1] == "" else lines


def _same_signature(old: ast.FunctionDef | ast.AsyncFunctionDef, new: ast.stmt) -> bool:
    """The same kind of function, name, parameters and decorators: what callers and the class
    see of it (its body aside)."""
    if type(old) is not type(new) or old.name != new.name or not _same_tree(old.args, new.args):
        return False
    return len(old.decorator_list) == len(new.decorator_list) and all(map(_same_tree, old.decorator_list, new.decorator_list))


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def _is_blank(line: str) -> bool:
    return not line.strip(" \t\f\r\n")  # Python's whitespace, not str.isspace's


def _spans_lines_of_text(node: ast.AST) -> bool:
    multi_line = node.end_lineno is not None and node.end_lineno > node.lineno
    return multi_line and (isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))))


def _lines_of(node: ast.AST, lines: list[str], start: int, moved: dict[int, int] | None = None) -> list[str]:
    first, last = node.lineno - 1, node.end_lineno - 1
    if moved is not None:
        first, last = moved[first], moved[last]
    return lines[first - start : last - start + 1]


def _moved(finding: Finding, moved: dict[int, int]) -> Finding:
    r = finding.range
    return replace(finding, range=Range(Position(moved[r.start.line], r.start.character), Position(moved[r.end.line], r.end.character)))


def _same_code(old: list[Chunk], new: list[Chunk]) -> bool:
    """Whether two runs of chunks hold the same statements, positions aside."""
    if len(old) != len(new) or [c.defines for c in old] != [c.defines for c in new]:
        return False
    return all(len(a.stmts) == len(b.stmts) and all(map(_same_tree, a.stmts, b.stmts)) for a, b in zip(old, new))


def _same_tree(a: ast.AST, b: ast.AST) -> bool:
    """`ast.dump(a) == ast.dump(b)`, without building the strings, stopping at the first
    difference (a letter typed in a name)."""
    stack: list[tuple[object, object]] = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, ast.AST):
            stack.extend((getattr(x, f, None), getattr(y, f, None)) for f in x._fields)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif x != y and not (x is y):
            return False
    return True


def _shift_all(chunks: list[Chunk], delta: int) -> None:
    """Chunks below an edit that added `delta` lines: their trees and findings move down."""
    if not delta:
        return
    for chunk in chunks:
        chunk.shift(delta)
        if chunk.findings:
            chunk.findings = [_shifted(f, delta) for f in chunk.findings]


def _shifted(finding: Finding, delta: int) -> Finding:
    r = finding.range
    moved = Range(Position(r.start.line + delta, r.start.character), Position(r.end.line + delta, r.end.character))
    return replace(finding, range=moved)
