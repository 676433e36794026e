"""Jupyter notebooks as one program: the code cells, in order, analysed as one module.

A notebook's cells run in one namespace, so a class defined in cell 3 is used in cell 5. Here
the code cells are joined into one module text, each cell starting on a line of its own, and
positions map between that text and the cells (lines shift by the cell's first line; columns do
not change). IPython syntax (`%magic`, `!shell`, `x?`) is masked first, keeping every line and
column where it was; a cell that is not Python (`%%bash`, markdown) is left out, and one that
does not parse on its own (a cell half typed) is reported there and read as blank lines, so the
other cells are still analysed.

Pure: texts in, texts and positions out. `NotebookFile` reads and writes `.ipynb` JSON exactly:
a fix rewrites the `source` of the cells it changes and leaves every other byte as it was.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import json
import re
import warnings
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

from .engine.findings import Finding, Severity
from .engine.source import Position, Range, SourceText, _split_lines_like_ast

# Cell magics whose body is Python (timed, captured, profiled): the first line is masked, the
# rest analysed. Any other cell magic (%%bash, %%writefile, %%html, ...) makes a cell not Python.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3", "pypy"})

_HELP = re.compile(r"\s*(\?{1,2}[\w.\[\]'\"()]+|[\w.\[\]'\"()]+\?{1,2})\s*(#.*)?$")  # `?x`, `x?`, `x??`
_ASSIGNED_MAGIC = re.compile(r"(\s*[\w.,\s()\[\]*]+?\s*=\s*)[%!]")  # `files = !ls`, `t = %timeit -o f()`


# ---------------------------------------------------------------------- IPython syntax


@lru_cache(maxsize=4096)
def mask_ipython(text: str) -> str | None:
    """The cell's text with IPython's own syntax replaced by Python of the same length (`0`
    and spaces), line ends untouched; None for a cell that is not Python (a `%%bash` cell)."""
    lines = _split_lines_like_ast(text, keepends=True)
    if not any(_could_be_magic(line) for line in lines):
        return text
    first = lines[0].lstrip() if lines else ""
    out: list[str] = []
    start = 0
    if first.startswith("%%"):
        name = first[2:].split(None, 1)[0] if first[2:].strip() else ""
        if name not in PYTHON_CELL_MAGICS:
            return None
        out.append(_blanked(lines[0], lines[0].index("%")))
        start = 1
    scanner = _Scanner()
    continued = False  # the previous line was a magic ending in `\`
    for line in lines[start:]:
        body = line.rstrip("\r\n")
        if continued:
            out.append(_spaces(line, 0))
            continued = body.endswith("\\")
            continue
        if scanner.at_statement_start:
            masked = _masked_line(line)
            if masked is not None:
                out.append(masked)
                continued = body.endswith("\\")
                continue
        out.append(line)
        scanner.feed(line)
    return "".join(out)


def _could_be_magic(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and (stripped[0] in "%!?" or stripped.endswith("?") or "=" in stripped and ("!" in stripped or "%" in stripped))


def _masked_line(line: str) -> str | None:
    """The masked form of a line that is a magic, a shell escape or a help request."""
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    if stripped[:1] in ("%", "!") and not stripped.startswith("!="):
        return _blanked(line, indent)
    if stripped.startswith("?") or (_HELP.match(line) and not stripped.startswith("#")):
        return _blanked(line, indent)
    assigned = _ASSIGNED_MAGIC.match(line)
    if assigned and not stripped.startswith("#"):
        target = assigned.group(1)
        if "==" not in target and "!=" not in line[: len(target) + 2] and _is_target(target):
            return _blanked(line, len(target))
    return None


def _is_target(text: str) -> bool:
    try:
        tree = ast.parse(text.strip().rstrip("=").strip() + " = 0")
    except SyntaxError:
        return False
    return isinstance(tree.body[0], ast.Assign)


def _blanked(line: str, at: int) -> str:
    """`line` with everything from column `at` to its end replaced by `0` and spaces."""
    body = line.rstrip("\r\n")
    end = line[len(body) :]
    return body[:at] + "0" + " " * (len(body) - at - 1) + end


def _spaces(line: str, at: int) -> str:
    body = line.rstrip("\r\n")
    return body[:at] + " " * (len(body) - at) + line[len(body) :]


class _Scanner:
    """Just enough of Python's tokenizer to tell whether a line starts a statement: not inside
    brackets, a string that spans lines, or after a `\\` continuation."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None  # the open triple quote
        self.continued = False

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        while i < n:
            if self.quote is not None:
                end = line.find(self.quote, i)
                while end > 0 and _escaped(line, end):
                    end = line.find(self.quote, end + 1)
                if end < 0:
                    break
                i, self.quote = end + 3, None
                continue
            char = line[i]
            if char == "#":
                break
            if char in "\"'":
                triple = line[i : i + 3]
                if triple in ('"""', "'''"):
                    self.quote = triple
                    i += 3
                    continue
                end = i + 1
                while end < n and line[end] != char:
                    end += 2 if line[end] == "\\" else 1
                i = end + 1
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(self.depth - 1, 0)
            i += 1
        body = line.rstrip("\r\n")
        self.continued = self.quote is None and body.endswith("\\") and not body.lstrip().startswith("#")


def _escaped(line: str, at: int) -> bool:
    backslashes = 0
    while at - 1 - backslashes >= 0 and line[at - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


# ---------------------------------------------------------------------- cells as one module


@dataclass(frozen=True)
class Cell:
    """A cell as the notebook holds it: `index` among all cells (markdown ones too)."""

    index: int
    source: str
    code: bool = True  # a code cell in Python (markdown, raw and other languages are not)


@dataclass
class CellSpan:
    """Where a code cell's lines are in the module text."""

    cell: Cell
    start: int  # its first line in the module
    lines: int  # the lines it takes there (at least one)
    masked: str  # its text as analysed
    error: SyntaxError | None  # it does not parse on its own: blank lines in the module


class NotebookModule:
    """The code cells of a notebook joined into one module text, with positions between the
    two. Built anew for each version of the notebook (cheap: masks and parses are cached per
    cell text)."""

    def __init__(self, cells: Sequence[Cell], path: str = "<notebook>") -> None:
        self.path = path
        self.cells = list(cells)
        self.spans: list[CellSpan] = []
        parts: list[str] = []
        line = 0
        for cell in self.cells:
            if not cell.code:
                continue
            masked = mask_ipython(cell.source)
            if masked is None:
                continue  # %%bash and the like
            error = _parse_error(masked)
            if masked and not masked.endswith(("\n", "\r")):
                masked += "\n"
            count = max(_line_count(masked), 1)
            shown = masked if error is None else "\n" * count
            parts.append(shown or "\n")
            self.spans.append(CellSpan(cell, line, count, masked, error))
            line += count
        self.text = "".join(parts)
        self._starts = [span.start for span in self.spans]

    # -- positions ----------------------------------------------------------------------------

    def span_of(self, cell_index: int) -> CellSpan | None:
        for span in self.spans:
            if span.cell.index == cell_index:
                return span
        return None

    def to_cell(self, pos: Position) -> tuple[CellSpan, Position] | None:
        """The cell of a module position, and the position in that cell."""
        at = bisect.bisect_right(self._starts, pos.line) - 1
        if at < 0:
            return None
        span = self.spans[at]
        return span, Position(pos.line - span.start, pos.character)

    def range_to_cell(self, rng: Range) -> tuple[CellSpan, Range] | None:
        """The cell a module range lies in; None when it spans cells."""
        located = self.to_cell(rng.start)
        if located is None:
            return None
        span, start = located
        end_line = rng.end.line - span.start
        if end_line >= span.lines:
            if end_line == span.lines and rng.end.character == 0:  # up to the end of the cell's last line
                last = _split_lines_like_ast(span.cell.source)
                return span, Range(start, Position(len(last) - 1, len(last[-1])))
            return None
        return span, Range(start, Position(end_line, rng.end.character))

    def to_module(self, cell_index: int, pos: Position) -> Position | None:
        """A position in a cell as a position in the module (clamped to the cell)."""
        span = self.span_of(cell_index)
        if span is None:
            return None
        if pos.line >= span.lines:
            return Position(span.start + span.lines - 1, len(_split_lines_like_ast(span.masked)[span.lines - 1]))
        return Position(span.start + pos.line, pos.character)

    # -- findings -----------------------------------------------------------------------------

    def findings_in_cells(self, findings: Sequence[Finding]) -> list[Finding]:
        """Module findings as findings of their cells (`cell` set, ranges relative to the cell),
        with a syntax error for each cell that does not parse; in cell order."""
        out: list[Finding] = []
        for finding in findings:
            located = self.range_to_cell(finding.range)
            if located is None:
                continue
            span, rng = located
            out.append(replace(finding, range=rng, cell=span.cell.index))
        for span in self.spans:
            if span.error is not None:
                out.append(_syntax_error(span, self.path))
        return sorted(out, key=lambda f: (f.cell, f.range.start, f.range.end, f.code))

    # -- edits --------------------------------------------------------------------------------

    def split(self, new_text: str) -> dict[int, str] | None:
        """The new source of each cell an edit of the module text changed (cell index -> text);
        None when the edit reaches across cells or into masked IPython lines, or breaks a cell."""
        old_lines = _lines(self.text)
        new_lines = _lines(new_text)
        changed: dict[int, list[str]] = {}  # span position -> its new lines, as written
        added: dict[int, int] = {}  # span position -> lines its changes so far added
        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            at = self._owner(i1, i2, new_lines[j1:j2])
            if at is None:
                return None
            span = self.spans[at]
            written = _lines(_terminated(span.cell.source))
            if span.error is not None or any(_lines(span.masked)[i - span.start] != written[i - span.start] for i in range(i1, i2)):
                return None  # a cell that does not parse, or a masked IPython line
            lines = changed.setdefault(at, written)
            offset = added.get(at, 0)
            lines[i1 - span.start + offset : i2 - span.start + offset] = new_lines[j1:j2]
            added[at] = offset + (j2 - j1) - (i2 - i1)
        out: dict[int, str] = {}
        for at, lines in changed.items():
            span = self.spans[at]
            text = "".join(lines)
            if not span.cell.source.endswith(("\n", "\r")) and text.endswith("\n"):
                text = text[:-1]  # the line end the module added after the cell
            if _parse_error(mask_ipython(text) or "") is not None:
                return None
            if text != span.cell.source:
                out[span.cell.index] = text
        return out

    def _owner(self, i1: int, i2: int, inserted: list[str]) -> int | None:
        """The span a changed block of module lines [i1, i2) belongs to."""
        if not self.spans:
            return None
        if i1 < i2:
            first = bisect.bisect_right(self._starts, i1) - 1
            last = bisect.bisect_right(self._starts, i2 - 1) - 1
            return first if first == last and first >= 0 else None
        at = bisect.bisect_right(self._starts, i1) - 1
        if at < 0:
            return 0
        if i1 == self.spans[at].start and at > 0:
            # Between two cells: an indented line goes on the block of the cell before.
            indented = bool(inserted) and inserted[0][:1] in (" ", "\t")
            return at - 1 if indented else at
        return at


def _lines(text: str) -> list[str]:
    lines = _split_lines_like_ast(text, keepends=True)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _terminated(text: str) -> str:
    """A cell's text as it is in the module: ending with a line end."""
    return text if text.endswith(("\n", "\r")) else text + "\n"


def _line_count(text: str) -> int:
    ends = text.count("\n") + text.count("\r") - text.count("\r\n")
    return ends + (0 if not text or text.endswith(("\n", "\r")) else 1)


@lru_cache(maxsize=4096)
def _parse_error(text: str) -> SyntaxError | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        return error
    except (ValueError, RecursionError, MemoryError) as error:
        return SyntaxError(str(error) or "cannot be parsed")
    return None


def _syntax_error(span: CellSpan, path: str) -> Finding:
    error = span.error
    source = SourceText(span.masked, path)
    line = min(max((error.lineno or 1) - 1, 0), max(len(source.lines) - 1, 0))
    col = min(source.column(line + 1, max((error.offset or 1) - 1, 0)), len(source.line(line))) if error.offset else 0
    at = Position(line, col)
    return Finding("TW000", f"Syntax error: {error.msg}", Range(at, at), Severity.ERROR, path=path, cell=span.cell.index)


# ---------------------------------------------------------------------- .ipynb files


class NotebookError(ValueError):
    pass


class NotebookFile:
    """An `.ipynb` file's cells, and the exact places of their sources in its JSON."""

    def __init__(self, raw: str) -> None:
        self.bom = "\ufeff" if raw.startswith("\ufeff") else ""
        raw = self.raw = raw[len(self.bom) :]
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise NotebookError(f"not a notebook: invalid JSON ({error})") from None
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            raise NotebookError("not a notebook: no list of cells")
        python = _is_python_notebook(data.get("metadata"))
        self.cells: list[Cell] = []
        for index, cell in enumerate(data["cells"]):
            cell = cell if isinstance(cell, dict) else {}
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else source if isinstance(source, str) else ""
            code = python and cell.get("cell_type") == "code" and _cell_language(cell) in (None, "python")
            self.cells.append(Cell(index, text, code))
        try:
            self._spans = _source_spans(raw)
        except (IndexError, ValueError) as error:  # valid JSON always scans; this is a bug guard
            raise NotebookError(f"cannot locate the cells in the JSON: {error}") from None
        self._ascii = raw.isascii() and not all(c.source.isascii() for c in self.cells)

    def module(self, path: str) -> NotebookModule:
        return NotebookModule(self.cells, path)

    def with_sources(self, sources: dict[int, str]) -> str:
        """The file's text with these cells' sources replaced, byte for byte the same elsewhere."""
        out, last = [], 0
        for index in sorted(sources):
            span = self._spans[index] if index < len(self._spans) else None
            if span is None:
                raise NotebookError(f"cell {index} has no source to replace")
            begin, end = span
            out += [self.raw[last:begin], self._encoded(self.raw[begin:end], sources[index], begin)]
            last = end
        out.append(self.raw[last:])
        return self.bom + "".join(out)

    def file_range(self, cell: int, rng: Range) -> Range | None:
        """A range in a cell as a range in the `.ipynb` file's text (what a diff of the file,
        and so a GitHub annotation, counts in); None if the cell has no source."""
        start, end = self._file_position(cell, rng.start), self._file_position(cell, rng.end)
        return None if start is None or end is None else Range(start, end)

    def _file_position(self, cell: int, pos: Position) -> Position | None:
        span = self._spans[cell] if cell < len(self._spans) else None
        if span is None:
            return None
        begin, end = span
        lines = _split_lines_like_ast(self.cells[cell].source, keepends=True)
        line = lines[pos.line] if pos.line < len(lines) else ""
        if self.raw.startswith("[", begin):  # one JSON string per line: find the line's
            items = _item_starts(self.raw, begin, end)
            if pos.line >= len(items):
                return None
            at = items[pos.line] + 1 + len(self._escaped(line[: pos.character]))
        else:
            before = "".join(lines[: pos.line]) + line[: pos.character]
            at = begin + 1 + len(self._escaped(before))
        line_start = self.raw.rfind("\n", 0, at) + 1
        return Position(self.raw.count("\n", 0, at), at - line_start)

    def _escaped(self, text: str) -> str:
        return json.dumps(text, ensure_ascii=self._ascii)[1:-1]

    def _encoded(self, old: str, text: str, at: int) -> str:
        """`text` as a JSON value laid out as the old one was: one string, or a list of lines."""
        if not old.startswith("["):
            return json.dumps(text, ensure_ascii=self._ascii)
        lines = text.splitlines(keepends=True)
        if not lines:
            return "[]"
        items = [json.dumps(line, ensure_ascii=self._ascii) for line in lines]
        layout = re.match(r"\[(\s*)", old)
        opening = layout.group(1)
        if old[layout.end()] != "]":
            _, first_end = json.JSONDecoder().raw_decode(old, layout.end())
            between = re.match(r",\s*", old[first_end:])
            separator = between.group(0) if between else "," + opening
            closing = re.search(r"(\s*)\]$", old).group(1)
        else:  # `[]` before: indent as the notebook does below the key
            line_start = self.raw.rfind("\n", 0, at) + 1
            key_indent = len(self.raw[line_start:at]) - len(self.raw[line_start:at].lstrip())
            unit = _indent_unit(self.raw)
            opening, closing = ("\n" + " " * (key_indent + unit), "\n" + " " * key_indent) if unit else ("", "")
            separator = "," + opening
        return "[" + opening + separator.join(items) + closing + "]"


def _is_python_notebook(metadata) -> bool:
    if not isinstance(metadata, dict):
        return True
    for section, key in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(section, {}).get(key) if isinstance(metadata.get(section), dict) else None
        if isinstance(value, str):
            return value.lower() == "python"
    return True


def _cell_language(cell: dict) -> str | None:
    """A cell's own language where the notebook says one (VS Code keeps it in the metadata)."""
    metadata = cell.get("metadata")
    vscode = metadata.get("vscode") if isinstance(metadata, dict) else None
    language = vscode.get("languageId") if isinstance(vscode, dict) else None
    return language.lower() if isinstance(language, str) else None


def _indent_unit(raw: str) -> int:
    match = re.search(r"\{\n( +)\"", raw)
    return len(match.group(1)) if match else 0


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _item_starts(raw: str, begin: int, end: int) -> list[int]:
    """Where each string of the JSON list at raw[begin:end] starts."""
    decoder, starts = json.JSONDecoder(), []
    i = _WHITESPACE.match(raw, begin + 1).end()
    while i < end and raw[i] != "]":
        starts.append(i)
        _, i = decoder.raw_decode(raw, i)
        i = _WHITESPACE.match(raw, i).end()
        if raw[i] == ",":
            i = _WHITESPACE.match(raw, i + 1).end()
    return starts


def _source_spans(raw: str) -> list[tuple[int, int] | None]:
    """For each cell, where its `source` value is in the JSON text (begin, end offsets)."""
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        return _WHITESPACE.match(raw, i).end()

    def members(i: int):
        """(key, value start, value end) of the object at `i`; the end of the object last."""
        i = skip(i)
        if raw[i] != "{":
            raise NotebookError("not a notebook: expected an object")
        i = skip(i + 1)
        if raw[i] == "}":
            return [], i + 1
        out = []
        while True:
            key, i = json.decoder.scanstring(raw, skip(i) + 1)
            i = skip(skip(i) + 1)  # the colon
            _, end = decoder.raw_decode(raw, i)
            out.append((key, i, end))
            i = skip(end)
            if raw[i] == "}":
                return out, i + 1
            i += 1  # the comma

    top, _ = members(0)
    for key, begin, _ in top:
        if key != "cells":
            continue
        spans: list[tuple[int, int] | None] = []
        i = skip(begin + 1)
        while raw[i] != "]":
            if raw[i] != "{":
                _, end = decoder.raw_decode(raw, i)
                spans.append(None)
            else:
                fields, end = members(i)
                spans.append(next(((b, e) for k, b, e in fields if k == "source"), None))
            i = skip(end)
            if raw[i] == ",":
                i = skip(i + 1)
        return spans
    return []
