"""The class and function bodies and big top-level values of other packages' files, parsed when
first read.

A file of an installed package is read for a few of its classes (a base class's `__init__`, a
block's `forward`), yet the bodies of all its other functions are most of its tree: four nodes in
five of the files transformers' models import, held for the whole session. Here they are
dropped once the file's model is made and parsed again, alone, the first time anything reads
`.body`: the node stays the same FunctionDef, with the same statements at the same positions as
a parse of the whole file gives. So do the bodies of its classes (most of modeling_outputs.py's
dataclasses are never used): a class's body, once read, comes with its methods' bodies dropped.

The values of its big top-level assignments go the same way: transformers' tables of model
names (`MODEL_MAPPING_NAMES = OrderedDict([...])`) are 95% of modeling_auto.py's tree, read in
full for a class it also defines, and their values are only computed if an analysis asks.
"""

from __future__ import annotations

import ast
import re
import threading

from .analysis import parse_module
from .pieces import parse_in_pieces
from .source import Position, Range, SourceText

MIN_LINES = 4  # shorter bodies are not worth a second parse
PIECES_FROM = 100  # lines of a class's body parsed again a few at a time (a keystroke may come between)
# A function that defines a class keeps its body: the file's model holds the class's node.
DEFINES_CLASS = re.compile(r"^\s*class\s", re.MULTILINE)
DROPPED_MARK = "torchwire_dropped"  # on a module whose bodies were dropped
LAZY_KEY = "torchwire_lazy"  # on a node whose field was dropped: where to parse it from
_lock = threading.Lock()  # two analyses may read one package file's function at once


class _Lazy:
    """Where a dropped body is parsed from: the file's text."""

    __slots__ = ("source",)

    def __init__(self, source: SourceText) -> None:
        self.source = source


def _materialize(node: ast.AST, name: str):
    """The dropped field `name` of `node` (`body`, `value`), parsed again from the file's text."""
    with _lock:
        values = node.__dict__
        lazy = values.pop(LAZY_KEY, None)
        if lazy is not None:
            found = _parse_again(node, lazy.source)
            values[name] = getattr(found, name) if found is not None else _EMPTY[name](node)
            node.__class__ = _PLAIN[type(node)]
            if isinstance(node, ast.ClassDef):  # its methods' bodies wait in turn
                _drop_function_bodies(values[name], lazy, in_class=True)
        return values[name]


def _lazy_field(name: str) -> property:
    def get(self):
        return _materialize(self, name)

    def set_(self, value) -> None:
        with _lock:
            self.__dict__.pop(LAZY_KEY, None)
            self.__dict__[name] = value
            self.__class__ = _PLAIN[type(self)]

    return property(get, set_)


# Named as the classes they stand for: NodeVisitor dispatches on the class's name.
class FunctionDef(ast.FunctionDef):
    body = _lazy_field("body")


class AsyncFunctionDef(ast.AsyncFunctionDef):
    body = _lazy_field("body")


class ClassDef(ast.ClassDef):
    body = _lazy_field("body")


class Assign(ast.Assign):
    value = _lazy_field("value")


class AnnAssign(ast.AnnAssign):
    value = _lazy_field("value")


_LAZY = {ast.FunctionDef: FunctionDef, ast.AsyncFunctionDef: AsyncFunctionDef, ast.ClassDef: ClassDef, ast.Assign: Assign, ast.AnnAssign: AnnAssign}
_PLAIN = {lazy: plain for plain, lazy in _LAZY.items()}
_DROPPED = {FunctionDef: "body", AsyncFunctionDef: "body", ClassDef: "body", Assign: "value", AnnAssign: "value"}
# Never seen (the whole file holds the node): what a field reads as if it were not found.
_EMPTY = {"body": lambda node: [], "value": lambda node: ast.copy_location(ast.Constant(None), node)}


def drop_bodies(tree: ast.Module, source: SourceText) -> int:
    """Drops the bodies of the module's classes and functions, and the values of its
    assignments (at its top level, or in its top-level `if`, `try` and `with` blocks); returns
    how many. A class's body, once read, comes with its methods' bodies dropped. A tree
    dropped before (kept while its file was read again) keeps what was read of it since
    (PreTrainedModel's body: 20 ms to parse again)."""
    if tree.__dict__.get(DROPPED_MARK):
        return 0
    setattr(tree, DROPPED_MARK, True)
    lazy = _Lazy(source)
    dropped = 0
    for node in _classes_and_assignments(tree.body):
        if _long(node) and (isinstance(node, ast.ClassDef) or node.value is not None):
            _drop(node, lazy)
            dropped += 1
    return dropped + _drop_function_bodies(tree.body, lazy)


def _drop_function_bodies(body: list[ast.stmt], lazy: _Lazy, in_class: bool = False) -> int:
    dropped = 0
    for fn in _functions(body, in_class):
        if not _long(fn) or DEFINES_CLASS.search(_body_text(lazy.source, fn)):
            continue
        _drop(fn, lazy)
        dropped += 1
    return dropped


def _long(node: ast.stmt) -> bool:
    return node.end_lineno is not None and node.end_lineno - node.lineno >= MIN_LINES


def _drop(node: ast.AST, lazy: _Lazy) -> None:
    node.__class__ = _LAZY[type(node)]
    values = node.__dict__
    values[_DROPPED[type(node)]] = None
    values[LAZY_KEY] = lazy


def _body_text(source: SourceText, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The lines below the function's `def`, with \\n line ends (sliced from the text: the
    file's lines are not split for this)."""
    text = source.text_in(Range(Position(fn.lineno, 0), Position(fn.end_lineno, 0)))
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _functions(body: list[ast.stmt], in_class: bool = False):
    for stmt in body:
        if type(stmt) in (ast.FunctionDef, ast.AsyncFunctionDef):
            yield stmt
        elif isinstance(stmt, ast.ClassDef) and not in_class and LAZY_KEY not in stmt.__dict__:
            yield from _functions(stmt.body, in_class=True)
        elif not in_class:
            for block in _blocks(stmt):
                yield from _functions(block)


def _classes_and_assignments(body: list[ast.stmt]):
    for stmt in body:
        if type(stmt) in (ast.ClassDef, ast.Assign, ast.AnnAssign):
            yield stmt
        else:
            for block in _blocks(stmt):
                yield from _classes_and_assignments(block)


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The bodies of an `if`, `try` or `with` (still the top level, for names); none of others."""
    if not isinstance(stmt, (ast.If, ast.Try, ast.With)):
        return []
    return [stmt.body, getattr(stmt, "orelse", []), getattr(stmt, "finalbody", []), *[h.body for h in getattr(stmt, "handlers", [])]]


def _parse_again(node: ast.stmt, source: SourceText) -> ast.stmt | None:
    """The statement parsed from its lines alone (under an `if 1:` on the line above when it
    is indented, so that lines and columns are the file's)."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
    own = source.text_in(Range(Position(first - 1, 0), Position(node.end_lineno, 0)))  # its lines
    if node.col_offset == 0:
        text = "\n" * (first - 1) + own
    elif first > 1:
        text = "\n" * (first - 2) + "if 1:\n" + own
    else:
        text = None
    found = _find(text, node) if text is not None else None
    if found is None:  # lines shared with other code: from the whole file
        found = _find(source.text, node)
    return found


def _find(text: str, node: ast.AST):
    try:
        if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno > PIECES_FROM:
            # PreTrainedModel's 4,000 lines: 18 ms holding the GIL at once, or a piece at a time
            tree = parse_in_pieces(text, "<body>", lambda: None)
        else:
            tree = parse_module(text, "<body>")
    except SyntaxError:
        return None
    for candidate in ast.walk(tree):
        if type(candidate) is _PLAIN[type(node)] and candidate.lineno == node.lineno and candidate.col_offset == node.col_offset:
            return candidate
    return None


__all__ = ["drop_bodies"]
