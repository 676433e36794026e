"""Classes of other files: the project's own modules and the installed packages of a Python
environment, found by reading package layouts (packages.py; jedi only as a fallback for
modules no search-path folder holds), never by importing, and analysed by the same engine.

`Project.find_class` is the engine's resolver. In blocking mode (the CLI, hover) it looks on
the spot, within a budget; in cache-only mode (the diagnostics of the file being edited) it
answers from what is known and queues the rest for `resolve_pending`, which the language
server runs off the keystroke path.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
import sysconfig
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .engine.analysis import parse_module
from .engine.findings import Finding
from .engine.lazy_bodies import drop_bodies
from .engine.model import FileContext, ModuleClass
from .engine.pieces import parse_in_pieces
from .engine.source import CompactSourceText
from .engine.interpreter import Interpreter
from .engine.values import ClassRef, FunctionRef, is_unknown
from .files import read_source
from .packages import Budget, Layouts, LookupBudget, file_stamp, text_digest

log = logging.getLogger(__name__)

Location = tuple[str, str, int]  # (file, class or function name, line)
_NOT_READY = object()
SCAN_SECONDS = 10.0  # reading what a whole project's files read, for `check`; past it nothing is known
MAX_TRIES = 10  # background tries of a lookup that spends its budget each time
# Never a model's code (typing, collections, dataclasses, ...); on Python 3.10 the list is missing.
STDLIB = frozenset(getattr(sys, "stdlib_module_names", ("typing", "collections", "dataclasses", "abc", "enum"))) - {"test"}


PYTHON_LIB = re.compile(r"python3\.\d+t?")


def in_standard_library(path: str) -> bool:
    """A file of Python's own library: `.../lib/python3.11/typing.py`, not one of the packages
    installed under it (`site-packages`)."""
    parts = Path(path).parts
    if any(part in ("site-packages", "dist-packages") for part in parts):
        return False
    if str(Path(path).parent) == sysconfig.get_paths()["stdlib"]:
        return True
    return any(PYTHON_LIB.fullmatch(part) and parts[i - 1].lower() == "lib" for i, part in enumerate(parts[:-1]) if i > 0)


def read_file(path: str) -> str | None:
    try:
        return read_source(Path(path))
    except (OSError, ValueError, SyntaxError, LookupError):  # ValueError: undecodable, or not a notebook
        return None


@dataclass
class Project:
    root: str | None = None  # where the project's own packages are found (and jedi's project)
    python: str | None = None  # the interpreter whose installed packages count (None: this one)
    read: Callable[[str], str | None] = read_file  # the text of a file (open documents first)
    # How a lookup asked outside any other (a base class of a file of another package, decided
    # when first needed) behaves: the CLI waits for it; the server's analyses never do.
    blocking_default: bool = True
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _lookups: dict[tuple[str, str], Location | None] = field(default_factory=dict, repr=False)
    _files: dict[str, tuple[str, FileContext | None]] = field(default_factory=dict, repr=False)
    _jedi: object = field(default=None, repr=False)
    pending: set[tuple[str, str]] = field(default_factory=set)
    _star_files: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False)
    pending_stars: set[tuple[str, str]] = field(default_factory=set)
    uses: dict[str, set[str]] = field(default_factory=dict)  # importer -> files it reaches
    reads: dict[str, "FileReads"] = field(default_factory=dict)  # file -> the attributes it reads
    readers: dict[str, set[str]] = field(default_factory=dict)  # attribute -> the files that read it on other objects
    self_readers: dict[str, set[str]] = field(default_factory=dict)  # attribute -> the files that read it on self
    layouts: Layouts = field(init=False, repr=False)
    _jedi_error: str | None = field(default=None, repr=False)
    _thread: threading.local = field(default_factory=threading.local, repr=False)  # the mode of the lookup under way
    _incomplete: set[str] = field(default_factory=set, repr=False)
    _retry: set[tuple[str, str]] = field(default_factory=set, repr=False)  # lookups cut short by their budget
    _tries: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    _stamps: dict[str, list[int] | None] = field(default_factory=dict, repr=False)  # file -> (mtime, size) when analysed
    learnt: int = 0  # counts the files read and forgotten: what the server's collections watch
    # Called by the background between two pieces of its work (files, parts of a big file, a
    # few hundred steps of a construction): the server waits there while an editor's analysis
    # runs, which otherwise shares the GIL with it (or waits for all of a big file's parse).
    background_pause: Callable[[], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.layouts = Layouts(self.root, self.python)
        self.layouts.store.parse = self._parse

    def pause(self) -> None:
        """Where the background may wait (see background_pause); nothing in other threads."""
        if self._pausing():
            self.background_pause()

    def _pausing(self) -> bool:
        return self.background_pause is not None and getattr(self._thread, "background", False)

    def _parse(self, text: str, path: str) -> ast.Module:
        """In the background, in pieces, with its pause between them."""
        return parse_in_pieces(text, path, self.background_pause) if self._pausing() else parse_module(text, path)

    def resolver(self, blocking: bool | None) -> "ProjectResolver":
        """blocking: look up on the spot; False: answer from what is known and queue the rest;
        None (the files of other packages): as the lookup that reached them does."""
        return ProjectResolver(self, blocking)

    # ------------------------------------------------------------------ resolution

    def _mode(self, blocking: bool | None) -> bool:
        if blocking is not None:
            return blocking
        current = getattr(self._thread, "blocking", None)
        return self.blocking_default if current is None else current

    @contextmanager
    def _looking(self, blocking: bool):
        """The mode of the lookup under way in this thread, which the files it reads inherit."""
        outer = getattr(self._thread, "blocking", None)
        self._thread.blocking = blocking
        try:
            yield
        finally:
            self._thread.blocking = outer

    def find_class(self, importer: FileContext, qualified: str, blocking: bool | None = True) -> ModuleClass | None:
        found = self._find(importer, qualified, blocking)
        if isinstance(found, ClassRef):  # an alias, `SqueezeExcite = SEModule`
            found = found.definition
        return found if isinstance(found, ModuleClass) else None

    def find_value(self, importer: FileContext, qualified: str, blocking: bool | None = True) -> Any:
        """What an imported lowercase or constant name of another file stands for: a helper
        function (`get_down_block`, `create_conv2d`), which the interpreter follows into that
        file, or a module-level value (`to_2tuple = _ntuple(2)`, a dict of layer classes),
        computed there. None when unknown."""
        found = self._find(importer, qualified, blocking)
        return None if isinstance(found, ModuleClass) else found

    def find_constant(self, importer: FileContext, qualified: str, blocking: bool | None = True) -> Any:
        """What an imported upper-case name of another file stands for when it is a plain
        constant: a number, a string, or a tuple of them, maybe computed from others (`WIDTH =
        64`, `HIDDEN = 4 * WIDTH`). None otherwise: a table (`LOSS_MAPPING = {...}`) names
        classes whose files would all be read."""
        return self._find(importer, qualified, blocking, plain_constant=True)

    def _find(self, importer: FileContext, qualified: str, blocking: bool | None, plain_constant: bool = False) -> Any:
        root = qualified.split(".", 1)[0]
        if root == "torch" or root in STDLIB:
            return None
        blocking = self._mode(blocking)
        key = (importer.source.path, qualified)
        if not blocking:
            known = self._known(key, plain_constant)
            if known is not _NOT_READY:
                return known
        # The cache-only mode never waits: while a lookup runs elsewhere, the name is queued.
        if not self._lock.acquire(blocking=blocking):
            self._defer(key)
            return None
        try:
            with self._looking(blocking):
                if key not in self._lookups:
                    if not blocking:
                        self._defer(key)
                        return None
                    self._lookups[key] = self._locate(*key)
                location = self._lookups[key]
                if location is None:
                    return None
                self.uses.setdefault(importer.source.path, set()).add(location[0])
                return self._definition_at(location, plain_constant)
        finally:
            self._lock.release()

    def _known(self, key: tuple[str, str], plain_constant: bool = False) -> Any:
        """A lookup answered from what is already known, without the lock (dictionary reads
        are atomic): a found definition in a file already read, or None for a name known not
        to be found; `_NOT_READY` when answering needs work."""
        location = self._lookups.get(key, _NOT_READY)
        if location is None or location is _NOT_READY:
            return location
        cached = self._files.get(location[0])
        if cached is None or cached[1] is None:
            return _NOT_READY
        self.uses.setdefault(key[0], set()).add(location[0])
        return self._definition_in(cached[1], location, plain_constant)

    def _defer(self, key: tuple[str, str], queue: set | None = None) -> None:
        """Queue a lookup (or a star import) for the background. A file of another package that
        asked is then known incompletely (a base class missing, say): it is read again once the
        lookup is done."""
        (self.pending if queue is None else queue).add(key)
        if key[0] in self._files:
            self._incomplete.add(key[0])

    def star_names(self, importer: FileContext, module: str, blocking: bool | None = True) -> dict[str, str]:
        """`from <module> import *`: the public names of that module's file (its `__all__` if it
        lists them), each qualified through the module, or directly when the module imported it
        from an absolute place (`nn` -> `torch.nn`)."""
        if module in ("torch.nn", "torch.nn.modules"):
            from .catalogue import nn_names

            return {name: f"torch.nn.{name}" for name in nn_names()}
        blocking = self._mode(blocking)
        key = (importer.source.path, module)
        if not self._lock.acquire(blocking=blocking):
            self._defer(key, self.pending_stars)
            return {}
        try:
            with self._looking(blocking):
                if key not in self._star_files:
                    path = self.layouts.module_file(*key)  # read off the layout: cheap, never waits
                    if path is None and not blocking and not module.startswith("."):
                        self._defer(key, self.pending_stars)  # jedi's turn, in the background
                        return {}
                    self._star_files[key] = path or self._jedi_module_file(*key)
                path = self._star_files[key]
                ctx = self._context(path) if path is not None else None
                if ctx is None:
                    return {}
                self.uses.setdefault(importer.source.path, set()).add(path)
                return {name: _exported_as(ctx, module, name) for name in _public_names(ctx)}
        finally:
            self._lock.release()

    def _locate_module(self, importer: str, module: str) -> str | None:
        """The file of a module named in an import: read off the package layouts, with jedi
        as the fallback for modules no search-path folder holds (namespace packages, stubs)."""
        return self.layouts.module_file(importer, module) or self._jedi_module_file(importer, module)

    def _jedi_module_file(self, importer: str, module: str) -> str | None:
        if module.startswith(".") or not module or not all(part.isidentifier() for part in module.split(".")):
            return None
        top = module.split(".", 1)[0]
        if self.layouts.module_file(importer, top) is not None:
            return None  # its package is on the search path: jedi would find no more than we did
        if not self.layouts.has_folder(importer, top):
            # Nowhere on it (an optional dependency not installed: transformers' `kernels`):
            # nor would jedi find it, and importing jedi costs 15 MB.
            return None
        project = self._jedi_project(importer)
        if project is None:
            return None
        code = f"import {module}\n"
        try:
            import jedi

            names = jedi.Script(code=code, path=_lookup_path(importer), project=project).goto(1, len(code) - 2)
        except Exception as error:  # jedi on odd code: treat as not found
            log.debug("jedi failed on %r in %s: %s", code, importer, error)
            return None
        for found in names:
            path = str(found.module_path) if found.module_path else ""
            if found.type == "module" and path.endswith(".py"):
                return path
        return None

    def resolve_pending(self) -> bool:
        """Look up the names analyses have queued and read what they lead to, so that the next
        analysis finds everything ready; True if anything new was found. The lock is taken one
        name at a time, so that analyses can go on in between."""
        with self._looking(True):  # this is the background: here lookups may take their time
            self._thread.background = True
            try:
                return self._resolve_pending()
            finally:
                self._thread.background = False

    def _resolve_pending(self) -> bool:
        self.pause()  # the editor first: the pass starts as the first diagnostics go out
        self.layouts.entries  # the environment's search path, asked once
        stars, self.pending_stars = set(self.pending_stars), set()
        found = False
        for key in stars:
            with self._lock:
                if key not in self._star_files:
                    self._star_files[key] = self._locate_module(*key)
                    found = found or self._star_files[key] is not None
        keys, self.pending = set(self.pending), set()
        for key in keys:
            self.pause()
            with self._lock:
                if key not in self._lookups:
                    self._lookups[key] = self._locate(*key)
                location = self._lookups[key]
                # Found, or found before but its file not read yet (the analysis that queued
                # it went without it): either way the next analysis has more.
                found = found or (location is not None and location[0] not in self._files)
        with self._lock:
            incomplete, self._incomplete = set(self._incomplete), set()
            read = {path for path, (_, ctx) in self._files.items() if ctx is not None}
            for path in incomplete:
                self.forget(path)
            # Read again here, from the trees _drop kept, what was forgotten with them: the
            # next analysis needs it (modeling_utils.py for PreTrainedModel), and would parse
            # it on the keystroke path once these trees are let go (35 ms, at each refresh).
            for path in sorted(read - set(self._files)):
                self._context(path)
            for key in keys:
                location = self._lookups.get(key)
                cls = self._class_at(location) if location is not None else None
                if cls is not None and cls.is_module:
                    # Built once at its defaults here, off the keystroke path: every name its
                    # construction reaches is then looked up and every file it needs is read.
                    try:
                        cls.parameters()
                    except Exception:  # a bonus: the analysis itself will say what it cannot follow
                        log.debug("building %s at its defaults failed", cls.name, exc_info=True)
        with self._lock:
            for key in self._retry:  # another try, from where the last one stopped
                self._lookups.pop(key, None)
            self.pending |= self._retry
            self._retry = set()
        self.layouts.store.save()
        self.layouts.store.forget_trees()
        return found or bool(incomplete)

    def _locate(self, importer: str, qualified: str) -> Location | None:
        """Where the class an import names is defined, following re-exports. A lookup that
        spends its budget is "not found" for now; the server tries it again in the background,
        going further each time (what was read is kept)."""
        try:
            found = self.layouts.locate(importer, qualified)
        except LookupBudget:
            tries = self._tries.get((importer, qualified), 0) + 1
            self._tries[(importer, qualified)] = tries
            if tries < MAX_TRIES:
                self._retry.add((importer, qualified))
            log.info("gave up looking for %s from %s for now (try %d)", qualified, importer, tries)
            return None
        if found is None and not qualified.startswith("."):
            module, _, name = qualified.rpartition(".")
            path = self._jedi_module_file(importer, module) if module else None
            found = self.layouts.definition_in(path, name, Budget(), set()) if path else None
        # A re-export can lead into Python's own library (`from typing import Unpack` in a
        # package's utils): never a model's code, and its big files are not worth reading.
        return None if found is not None and in_standard_library(found[0]) else found

    def _definition_at(self, location: Location, plain_constant: bool = False) -> Any:
        ctx = self._context(location[0])
        return self._definition_in(ctx, location, plain_constant) if ctx is not None else None

    def _definition_in(self, ctx: FileContext, location: Location, plain_constant: bool = False) -> Any:
        path, name, line = location
        if plain_constant:
            return ctx.plain_constant(name)
        if name not in ctx.classes:
            if name in ctx.functions:
                return FunctionRef(ctx.functions[name], ctx=ctx)
            if name in ctx.constant_names:
                value = ctx.global_value(name, Interpreter(ctx, observe=False))
                return None if is_unknown(value) else value
        candidates = [c for c in ctx.all_classes if c.name == name]
        found = min(candidates, key=lambda c: abs(c.node.lineno - line), default=None)
        if found is not None:
            found.is_module  # decides it, resolving its bases (contexts of other files are lazy)
        return found

    def _class_at(self, location: Location) -> ModuleClass | None:
        found = self._definition_at(location)
        return found if isinstance(found, ModuleClass) else None

    def save(self) -> None:
        """Keep what was read of installed packages for the next run."""
        self.layouts.store.save()

    @property
    def environment_error(self) -> str | None:
        return self.layouts.environment_error or self._jedi_error

    def _jedi_project(self, importer: str):
        if self._jedi is None:
            import jedi

            root = self.root or str(Path(importer).parent)
            try:
                self._jedi = jedi.Project(root, environment_path=self.python) if self.python else jedi.Project(root)
                self._jedi.get_environment()  # fail now, clearly, for a wrong interpreter
            except Exception as error:
                self._jedi_error = f"cannot use the Python environment {self.python!r}: {error}"
                log.warning("%s", self._jedi_error)
                self._jedi = False
        return self._jedi or None

    # ------------------------------------------------------------------ files

    def _context(self, path: str) -> FileContext | None:
        """The module model of a file, analysed once per content. A file already analysed is
        not read again while it is unchanged on disk (an open document's edits reach `forget`)."""
        stamp = file_stamp(path)
        cached = self._files.get(path)
        if cached is not None and cached[1] is not None and stamp is not None and self._stamps.get(path) == stamp:
            return cached[1]
        text = self.read(path)
        if text is None:
            return None
        digest = text_digest(text)
        if cached is not None and cached[0] == digest:
            self._stamps[path] = stamp
            return cached[1]
        self._files[path] = (digest, None)  # guards import cycles
        tree = self.layouts.store.take_tree(path, digest)
        if tree is None:
            self.pause()
            try:
                tree = self._parse(text, path)
            except SyntaxError:
                return None
        # Lazy: only the classes asked for have their bases resolved (a package's big files
        # hold hundreds of classes that nobody uses).
        ctx = FileContext(CompactSourceText(text, path), tree, self.resolver(blocking=None), lazy=True)
        drop_bodies(tree, ctx.source)  # parsed again when read: most are never run
        self._files[path] = (digest, ctx)
        self.learnt += 1
        self._stamps[path] = stamp
        return ctx

    def knows(self, path: str) -> bool:
        """Whether anything was learnt from this file (asked without waiting for the lock)."""
        try:
            return path in self._files or any(path in files for files in list(self.uses.values()))
        except RuntimeError:  # changed while read: assume so
            return True

    def forget(self, path: str, appeared: bool = False) -> set[str]:
        """A file changed (or appeared): drop what was learnt from it. Returns the files that
        reached it, directly or not, whose analyses are now out of date."""
        with self._lock:
            self._drop(path)
            self.learnt += 1
            if appeared:  # a new file may answer lookups that found nothing before
                for key in [k for k, v in self._lookups.items() if v is None]:
                    del self._lookups[key]
            affected, frontier = set(), {path}
            while frontier:
                reached = {importer for importer, files in self.uses.items() if files & frontier} - affected
                affected |= reached
                frontier = reached
            for importer in affected:
                self._drop(importer)
            return affected

    def _drop(self, path: str) -> None:
        """Forget a file's model. Its tree is kept a while: a file dropped because one it reads
        changed (or was read incompletely) is most often read again, unchanged, at once
        (modeling_utils.py: 100 ms of parsing each time)."""
        cached = self._files.pop(path, None)
        if cached is not None and cached[1] is not None:
            self.layouts.store.keep_tree(path, (cached[0], cached[1].tree))


    # ------------------------------------------------------------------ attributes read across files

    def note_reads(self, path: str, text: str | None) -> None:
        """Remember which attributes a file reads on other objects (`encoder.proj`) and on self,
        with the classes its classes derive from; None: the file is gone."""
        key = _resolved(path)
        after = FileReads.of(text) if text is not None else FileReads()
        before = self.reads.get(key, FileReads())
        if after == before:
            return
        for index, old, new in ((self.readers, before.through_objects, after.through_objects),
                                (self.self_readers, before.on_self, after.on_self)):
            for name in old - new:
                readers = index.get(name)
                if readers is not None:
                    readers.discard(key)
                    if not readers:
                        del index[name]
            for name in new - old:
                index.setdefault(name, set()).add(key)
        if after.through_objects or after.on_self:
            self.reads[key] = after
        else:
            self.reads.pop(key, None)

    def scan_reads(self, paths: list[Path], pause=None) -> None:
        """`pause()` between files: a scan of a big workspace yields to the keystroke path."""
        for path in paths:
            text = self.read(str(path))
            if text is not None:
                self.note_reads(str(path), text)
            if pause is not None:
                pause()

    def scan_project_reads(self, skip: set[str], seconds: float = SCAN_SECONDS) -> bool:
        """What every file of the project reads (the files in `skip`, already noted, aside), so
        that a file checked alone gets the findings it gets with the whole repository. False
        when its files could not all be read in time."""
        if self.root is None:
            return True  # no other files
        from .files import discover

        deadline = time.monotonic() + seconds
        for path in discover([self.root]):
            if time.monotonic() > deadline:
                return False
            if _resolved(str(path)) not in skip:
                text = self.read(str(path))
                if text is not None:
                    self.note_reads(str(path), text)
        return True

    def without_used_elsewhere(self, findings: list[Finding]) -> list[Finding]:
        """A submodule reported unused (TW302) that another file reads is used after all: on an
        object (which may be an instance of the class: torchwire cannot tell), or on self in a
        class derived from the finding's class."""

        def used_elsewhere(f: Finding) -> bool:
            if f.subject is None:
                return False
            here = _resolved(f.path)
            if any(path != here for path in self.readers.get(f.subject, ())):
                return True
            return any(path != here and f.owner in self.reads[path].bases for path in self.self_readers.get(f.subject, ()))

        return [f for f in findings if not (f.code == "TW302" and used_elsewhere(f))]


@lru_cache(maxsize=4096)
def _resolved(path: str) -> str:
    return str(Path(path).resolve())


ATTRIBUTE = re.compile(r"\.([A-Za-z_]\w*)")
OWN = re.compile(r"(?<![\w.])self$")
CLASS_BASES = re.compile(r"^[ \t]*class[ \t]+\w+[ \t]*\(([^)]*)\)", re.MULTILINE)
WORD = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class FileReads:
    """What one file reads of attributes, found by regular expressions over its text (a scan of
    a whole workspace parses nothing)."""

    through_objects: frozenset[str] = frozenset()  # `encoder.proj`
    # `self.proj`: another class's own attribute, a use of ours only in a class derived from ours
    on_self: frozenset[str] = frozenset()
    bases: frozenset[str] = frozenset()  # every word of its classes' base lists

    @staticmethod
    def of(text: str) -> "FileReads":
        through, own = set(), set()
        for m in ATTRIBUTE.finditer(text):
            (own if OWN.search(text, max(0, m.start() - 5), m.start()) else through).add(m.group(1))
        bases = {word for m in CLASS_BASES.finditer(text) for word in WORD.findall(m.group(1))} if own else set()
        return FileReads(frozenset(through), frozenset(own) if bases else frozenset(), frozenset(bases))



@dataclass
class ProjectResolver:
    """The engine's view of a Project: blocking or answering from the cache only."""

    project: Project
    blocking: bool | None

    def find_class(self, importer: FileContext, qualified: str) -> ModuleClass | None:
        return self.project.find_class(importer, qualified, self.blocking)

    def find_value(self, importer: FileContext, qualified: str) -> Any:
        return self.project.find_value(importer, qualified, self.blocking)

    def find_constant(self, importer: FileContext, qualified: str) -> Any:
        return self.project.find_constant(importer, qualified, self.blocking)

    def star_names(self, importer: FileContext, module: str) -> dict[str, str]:
        return self.project.star_names(importer, module, self.blocking)

    def pause(self) -> None:
        self.project.pause()


def _lookup_path(importer: str) -> str:
    """Where jedi is told our one-line lookup scripts live: beside the importer, so that its
    search path is the same, but never the importer itself. Jedi caches a file's parse by
    path, and a lookup under a real file's path would hide that file's classes from later
    lookups."""
    return str(Path(importer).resolve().with_name("__torchwire_lookup__.py"))


def _public_names(ctx: FileContext) -> list[str]:
    """What `import *` takes from a module: its literal `__all__`, else its names without a
    leading underscore."""
    for stmt in ctx.tree.body:
        if (
            isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == "__all__" and isinstance(stmt.value, (ast.List, ast.Tuple))
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in stmt.value.elts)
        ):
            return [e.value for e in stmt.value.elts]
    names = {*ctx.imports.names, *(c.name for c in ctx.all_classes if c.top is c.node), *ctx.functions, *ctx.constant_names}
    return sorted(n for n in names if not n.startswith("_"))


def _exported_as(ctx: FileContext, module: str, name: str) -> str:
    imported = ctx.imports.names.get(name)
    if imported is not None and not imported.startswith("."):
        return imported  # `nn` in that module is torch.nn here too
    return f"{module}.{name}" if not module.endswith(".") else f"{module}{name}"


def project_root(start: Path) -> Path:
    """The project a path belongs to: the nearest folder above it with a pyproject.toml,
    setup.py or .git; else the path's own folder."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in ("pyproject.toml", "setup.py", "setup.cfg", ".git")):
            return candidate
    return folder


__all__ = ["Project", "ProjectResolver", "project_root"]
