"""Start-up: the methods attrs and dataclasses generate, compiled once per machine.

Importing `lsprotocol.types` defines about 570 attrs classes, and attrs writes the source of each
one's `__init__`, `__eq__`, `__repr__`, ... and compiles it, anew in every process: about 40% of
the language server's start-up; the engine's dataclasses are 40% of its import, on the way to
the first diagnostics. Here the code objects are kept in a per-user cache, one file per
generating module, keyed by their source text and file name. The same source compiles to the
same code, so a hit changes nothing but the time; a new attrs or lsprotocol only adds entries,
and a new Python reads another file (marshal's format is Python's own).

The methods attrs writes also get globals of only the names they read (`lean_globals`), not
each a copy of lsprotocol's.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
import types
from contextlib import contextmanager
from pathlib import Path

from ..files import user_cache_dir

MAX_ENTRIES = 5000  # a few versions of lsprotocol; past it the cache starts again


def cache_file(module_name: str) -> Path:
    tag = importlib.util.MAGIC_NUMBER.hex()
    return user_cache_dir() / f"generated-code-{module_name}-{sys.implementation.cache_tag}-{tag}.marshal"


class CompiledCode:
    """`compile` for the generated sources of one import, from and into `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.known: dict[bytes, object] = {}
        self.added = 0
        try:
            # Read whole, then unmarshalled: `marshal.load` of a stream reads it object by object
            # (20-30 ms for lsprotocol's file, against 3-5).
            known = marshal.loads(path.read_bytes())
            if isinstance(known, dict):
                self.known = known
        except (OSError, EOFError, ValueError, TypeError):
            pass  # absent, unreadable or from an interrupted write: compile as usual

    def compile(self, source, filename, mode, flags=0, dont_inherit=False, optimize=-1, **rest):
        if not isinstance(source, str) or flags or dont_inherit or optimize != -1 or rest:
            return builtins.compile(source, filename, mode, flags, dont_inherit, optimize, **rest)
        if "def __hash__(" in source:
            # attrs writes the process's hash seed into a hashable class's __hash__ (cattrs'
            # AttributeOverride): a new source in every process, which would rewrite the file
            # at every start.
            return builtins.compile(source, filename, mode)
        key = hashlib.blake2b(f"{filename}\0{mode}\0{source}".encode(), digest_size=16).digest()
        code = self.known.get(key)
        if code is None:
            code = self.known[key] = builtins.compile(source, filename, mode)
            self.added += 1
        return code

    def exec(self, source, globals=None, locals=None, /, **rest):
        if not isinstance(source, str) or rest:
            return builtins.exec(source, globals, locals, **rest)
        return builtins.exec(self.compile(source, "<string>", "exec"), globals, locals)

    def save(self) -> None:
        """Written whole to a temporary file and renamed: servers starting together each leave
        a complete file, and a failure leaves the old one."""
        if not self.added:
            return
        entries = self.known if len(self.known) <= MAX_ENTRIES else {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".generated-code-")
            with os.fdopen(handle, "wb") as stream:
                marshal.dump(entries, stream)
            os.replace(temporary, self.path)
        except OSError:
            pass  # a read-only home: start-up stays as it was


def cached_from_now_on(module_name: str) -> CompiledCode | None:
    """The module's calls of `compile` go through the cache for the rest of the process: cattrs
    writes the functions that convert each message type when the type is first sent or received
    (VS Code's capabilities in `initialize`: 77 functions, 19 ms of compiling). `save()` keeps
    what was added so far."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    code = CompiledCode(cache_file(module_name))
    module.compile = code.compile
    return code


@contextmanager
def cached(module_name: str, builtin: str = "compile"):
    """While the block runs, the module's calls of `builtin` (`compile`, or `exec` of a string)
    go through the cache (a module global shadows the builtin; a module that stops calling it
    just runs uncached)."""
    code = CompiledCode(cache_file(module_name))
    try:
        with _shadowed(module_name, builtin, getattr(code, builtin)) as module:
            yield code if module is not None else None
    finally:
        code.save()


@contextmanager
def lean_globals(module_name: str):
    """While the block runs, the functions the module's `eval` of code defines get globals of
    only the names they read. attrs gives the methods it writes for a class a copy of the
    class's module's globals, so that `typing.get_type_hints(cls.__init__)` resolves the
    annotations written as strings: lsprotocol's classes held 1,100 copies of its 300 names
    (5 MB). Nothing in the server asks an `__init__` for its hints (cattrs asks the class)."""
    with _shadowed(module_name, "eval", _eval_with_lean_globals):
        yield


def _eval_with_lean_globals(source, globals=None, locals=None, /):
    if isinstance(source, types.CodeType) and isinstance(globals, dict):
        read = _global_names(source)
        globals = {name: value for name, value in globals.items() if name in read or name == "__builtins__"}
    return builtins.eval(source, globals, locals)


def _global_names(code: types.CodeType) -> set[str]:
    """The names the code and the functions it defines may read as globals."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


@contextmanager
def _shadowed(module_name: str, builtin: str, replacement):
    """The module's global `builtin` is `replacement` while the block runs (the module, or None
    when it does not import)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        yield None
        return
    shadowed = module.__dict__.get(builtin)
    setattr(module, builtin, replacement)
    try:
        yield module
    finally:
        if shadowed is None:
            delattr(module, builtin)
        else:
            setattr(module, builtin, shadowed)


GENERATED_SOURCES = ("<attrs generated", "<cattrs generated")  # how attrs and cattrs name them


def forget_generated_sources() -> None:
    """attrs and cattrs put the source of every method they generate in `linecache`, for a
    debugger to step through (lsprotocol's: 1.6 MB, kept for the whole session). A traceback
    through one then shows no source line; nothing else reads them."""
    import linecache

    for name in [n for n in linecache.cache if n.startswith(GENERATED_SOURCES)]:
        linecache.cache.pop(name, None)
