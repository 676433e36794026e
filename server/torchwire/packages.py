"""Where an imported name is defined, read off the layout of packages: module files found on
the environment's search path, and what each module file binds at its top level (classes,
imports, `__all__`, star imports, `if TYPE_CHECKING:` blocks, and the lazy-module tables of
transformers and diffusers, `_import_structure`). Files are parsed, never imported.

Every lookup has a budget (files parsed and wall time); past it the answer is "not found",
which the engine shows as unknown. What was read of a package is kept in a small index on
disk, per package and keyed by each file's size and modification time, so that a second run
reads no file again.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .engine.analysis import parse_module
from .engine.imports import ImportMap
from .files import read_source, user_cache_dir

log = logging.getLogger(__name__)

INDEX_VERSION = 4  # 4: one file per folder
MAX_FILE_BYTES = 4_000_000  # a bigger "module" is generated data, not code to read
LOOKUP_FILES = 400  # module files parsed anew for one lookup
LOOKUP_SECONDS = 2.0
MAX_VISITS = 800  # (module, name) pairs one lookup may visit, re-exports and star imports together
RECENT_TREES = 16  # trees parsed for the index, kept for the analysis that usually follows


@dataclass
class ModuleIndex:
    """What a module file binds at its top level, as far as finding classes goes."""

    classes: dict[str, int]  # class name -> line
    functions: dict[str, int]  # function name -> line
    constants: dict[str, int]  # names assigned at the top level (`to_2tuple = _ntuple(2)`) -> line
    imports: dict[str, str]  # local name -> what it stands for (".x.Y" for relative imports)
    stars: list[str]  # modules imported with `*`
    exported: list[str] | None  # a literal `__all__`
    lazy: dict[str, list[str]]  # `_import_structure`: submodule -> the names it provides

    @staticmethod
    def of(tree: ast.Module) -> "ModuleIndex":
        imports = ImportMap(tree)
        index = ModuleIndex({}, {}, {}, dict(imports.names), list(imports.star_modules), None, {})
        index._walk(tree.body)
        return index

    def _walk(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.ClassDef):
                self.classes.setdefault(stmt.name, stmt.lineno)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(stmt.name, stmt.lineno)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                self._assignment(stmt)
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                self._lazy_extend(stmt.value)
            elif isinstance(stmt, (ast.If, ast.Try, ast.With)):  # TYPE_CHECKING, optional imports
                for block in (stmt.body, getattr(stmt, "orelse", []), *[h.body for h in getattr(stmt, "handlers", [])]):
                    self._walk(block)

    def _assignment(self, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if len(targets) != 1 or stmt.value is None:
            return
        target, value = targets[0], stmt.value
        if isinstance(target, ast.Name) and not isinstance(stmt, ast.AugAssign):
            self.constants.setdefault(target.id, stmt.lineno)
        if isinstance(target, ast.Name) and target.id == "__all__":
            names = _strings(value)
            if names is not None:
                self.exported = (self.exported or []) + names if isinstance(stmt, ast.AugAssign) else names
        elif isinstance(target, ast.Name) and target.id == "_import_structure" and isinstance(value, ast.Dict):
            for key, names in zip(value.keys, value.values):
                self._lazy_add(key, names)
        elif (
            isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
            and target.value.id == "_import_structure"
        ):
            self._lazy_add(target.slice, value)

    def _lazy_extend(self, call: ast.Call) -> None:
        """`_import_structure["generation"].extend([...])`."""
        func = call.func
        if (
            isinstance(func, ast.Attribute) and func.attr in ("extend", "append") and call.args
            and isinstance(func.value, ast.Subscript) and isinstance(func.value.value, ast.Name)
            and func.value.value.id == "_import_structure"
        ):
            value = call.args[0] if func.attr == "extend" else ast.List([call.args[0]])
            self._lazy_add(func.value.slice, value)

    def _lazy_add(self, key: ast.expr | None, value: ast.expr) -> None:
        names = _strings(value)
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and names is not None:
            self.lazy.setdefault(key.value, []).extend(names)

    def to_json(self) -> dict:
        return {"c": self.classes, "f": self.functions, "k": self.constants, "i": self.imports, "s": self.stars, "a": self.exported, "l": self.lazy}

    @staticmethod
    def from_json(data: dict) -> "ModuleIndex":
        return ModuleIndex(data["c"], data["f"], data["k"], data["i"], data["s"], data["a"], data["l"])


def _strings(node: ast.expr) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [e.value for e in node.elts]  # type: ignore[union-attr]
    return None


class LookupBudget(Exception):
    """A lookup read as many files, or took as long, as it may."""


@dataclass
class Budget:
    files: int = LOOKUP_FILES
    deadline: float = field(default_factory=lambda: time.monotonic() + LOOKUP_SECONDS)

    def spend_file(self) -> None:
        self.files -= 1
        if self.files < 0 or time.monotonic() > self.deadline:
            raise LookupBudget()


# ---------------------------------------------------------------------- the environment


def search_path(python: str | None) -> list[str]:
    """The module search path of an interpreter (this one when None): asked once of that
    interpreter, which runs no code of the project."""
    if python is None:
        return [p for p in sys.path if p and Path(p).is_dir()]
    exe = Path(python).expanduser().absolute()  # asked from another folder, below
    if exe.is_dir():  # a virtual environment's folder
        exe = exe / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    result = subprocess.run(
        [str(exe), "-c", "import json, sys; print(json.dumps(sys.path))"],
        capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
    )
    if result.returncode != 0:
        raise OSError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}")
    return [p for p in json.loads(result.stdout) if p and Path(p).is_dir()]


def editable_roots(entries: list[str]) -> dict[str, str]:
    """Packages installed in editable mode through a finder (setuptools' `__editable___*_finder.py`
    holds a literal `MAPPING = {"pkg": "/src/pkg"}`), read without running the finder."""
    roots: dict[str, str] = {}
    for entry in entries:
        try:
            finders = [p for p in Path(entry).glob("__editable___*_finder.py")]
        except OSError:
            continue
        for finder in finders:
            try:
                tree = ast.parse(finder.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, ValueError):
                continue
            for stmt in tree.body:
                target = stmt.target if isinstance(stmt, ast.AnnAssign) else (stmt.targets[0] if isinstance(stmt, ast.Assign) else None)
                if isinstance(target, ast.Name) and target.id == "MAPPING" and stmt.value is not None:
                    try:
                        mapping = ast.literal_eval(stmt.value)
                    except ValueError:
                        continue
                    if isinstance(mapping, dict):
                        roots.update({str(k): str(v) for k, v in mapping.items()})
    return roots


# ---------------------------------------------------------------------- the index on disk


def cache_dir() -> Path:
    base = os.environ.get("TORCHWIRE_INDEX_DIR")
    if base:
        return Path(base)
    return user_cache_dir() / f"packages-v{INDEX_VERSION}"


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def file_stamp(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


class IndexStore:
    """Module indexes in memory, backed by one JSON file per folder of modules: per package,
    transformers' grew to 2.4 MB on disk and 8 MB in memory for a session that reads thirty of
    its files. Writes go to a temporary file renamed into place, merged with what another run
    may have written since, so concurrent runs never see a torn file."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self._memory: dict[str, tuple[list[int], ModuleIndex]] = {}
        self._groups: dict[str, dict] = {}  # folder -> its stored entries
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._recent_trees: dict[str, tuple[str, ast.Module]] = {}  # path -> (text digest, tree)
        self.parse: Callable[[str, str], ast.Module] = parse_module  # the project's, in a project

    def get(self, path: str, budget: Budget | None) -> ModuleIndex | None:
        stamp = file_stamp(path)
        if stamp is None or stamp[1] > MAX_FILE_BYTES:
            return None
        known = self._memory.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        group_key = os.path.dirname(path)
        group = self._group(group_key)
        stored = group.get(path)
        if stored is not None and stored.get("t") == stamp:
            index = ModuleIndex.from_json(stored["x"])
        else:
            if budget is not None:
                budget.spend_file()
            parsed = self._read(path)
            if parsed is None:
                return None
            self.keep_tree(path, parsed)
            index = ModuleIndex.of(parsed[1])
            with self._lock:
                group[path] = {"t": stamp, "x": index.to_json()}
                self._dirty.add(group_key)
        self._memory[path] = (stamp, index)
        return index

    def _read(self, path: str) -> tuple[str, ast.Module] | None:
        """A module file's text digest and tree (decoded and parsed as the engine does)."""
        try:
            text = read_source(Path(path))
            return text_digest(text), self.parse(text, path)
        except (OSError, UnicodeDecodeError, SyntaxError, LookupError):
            return None

    def keep_tree(self, path: str, parsed: tuple[str, ast.Module]) -> None:
        """A tree for `take_tree`, with its text's digest (a few, the latest kept)."""
        self._recent_trees[path] = parsed
        while len(self._recent_trees) > RECENT_TREES:
            self._recent_trees.pop(next(iter(self._recent_trees)))

    def forget_trees(self) -> None:
        """The trees no analysis took: the background's pass is over, and they hold whole files
        (bodies included) that nobody may read again."""
        self._recent_trees.clear()

    def take_tree(self, path: str, digest: str) -> ast.Module | None:
        """The tree parsed for the index, if the file is then analysed with the same text:
        the file whose class a lookup found is parsed once, not twice."""
        parsed = self._recent_trees.pop(path, None)
        return parsed[1] if parsed is not None and parsed[0] == digest else None

    def _file_for(self, group_key: str) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.blake2b(group_key.encode(), digest_size=12).hexdigest()
        return self.directory / f"{Path(group_key).name}-{digest}.json"

    def _group(self, group_key: str) -> dict:
        group = self._groups.get(group_key)
        if group is None:
            group = self._load(group_key)
            self._groups[group_key] = group
        return group

    def _load(self, group_key: str) -> dict:
        file = self._file_for(group_key)
        if file is None:
            return {}
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if data.get("version") != INDEX_VERSION or data.get("root") != group_key:
            return {}
        return data.get("files", {})

    def save(self) -> None:
        with self._lock:
            dirty, self._dirty = set(self._dirty), set()
        for group_key in dirty:
            file = self._file_for(group_key)
            if file is None:
                continue
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                merged = {**self._load(group_key), **self._groups[group_key]}
                payload = json.dumps({"version": INDEX_VERSION, "root": group_key, "files": merged}, separators=(",", ":"))
                fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".json")
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                os.replace(tmp, file)
            except OSError as error:  # a read-only home: the index lives in memory only
                log.debug("cannot write the package index %s: %s", file, error)


# ---------------------------------------------------------------------- lookups


def _similarity(module: str, name: str) -> int:
    """How much a module's last name shares with a class name (`modeling_llama` with
    `LlamaModel`: 5): star imports are searched in this order, most alike first."""
    a = module.rsplit(".", 1)[-1].replace("_", "").lower()
    b = name.lower()
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


@dataclass
class Layouts:
    """Finds module files and the classes their names stand for, for one environment."""

    root: str | None  # the project's own folder
    python: str | None
    store: IndexStore = field(default_factory=lambda: IndexStore(cache_dir()))
    _path: list[str] | None = field(default=None, repr=False)
    _editable: dict[str, str] = field(default_factory=dict, repr=False)
    environment_error: str | None = None

    @property
    def entries(self) -> list[str]:
        if self._path is None:
            try:
                self._path = search_path(self.python)
            except (OSError, ValueError, subprocess.SubprocessError) as error:
                self.environment_error = f"cannot use the Python environment {self.python!r}: {error}"
                log.warning("%s", self.environment_error)
                self._path = []
            self._editable = editable_roots(self._path)
        return self._path

    # ------------------------------------------------------------------ module files

    def module_file(self, importer: str, module: str) -> str | None:
        """The file of a module named in an import, written in `importer`."""
        dots = len(module) - len(module.lstrip("."))
        parts = [p for p in module[dots:].split(".") if p]
        if not all(p.isidentifier() for p in parts):
            return None
        here = Path(importer).resolve().parent
        if dots:
            if dots - 2 >= len(here.parents):
                return None
            return _file_in(here.parents[dots - 2] if dots > 1 else here, parts)
        if not parts:
            return None
        for base in self._search_folders(here):
            found = _file_in(base, parts)
            if found is not None:
                return found
        editable = self._editable.get(parts[0])
        if editable is not None:
            return _file_in(Path(editable), parts[1:])
        return None

    def has_folder(self, importer: str, name: str) -> bool:
        """Whether a folder named `name` is where an absolute import from `importer` looks (a
        namespace package, which module_file does not take): without one, nor a module
        module_file would have found, nothing of that name can be imported."""
        here = Path(importer).resolve().parent
        return name in self._editable or any((base / name).is_dir() for base in self._search_folders(here))

    def _search_folders(self, here: Path):
        """The project's own packages, from the folders that could be on its sys.path; then the
        environment's search path."""
        yield from [*([Path(self.root)] if self.root else []), here, *here.parents]
        yield from map(Path, self.entries)

    # ------------------------------------------------------------------ classes

    def locate(self, importer: str, qualified: str, budget: Budget | None = None) -> tuple[str, str, int] | None:
        """Where the class or function that `qualified` (as written in `importer`) is
        defined: (file, name, line), or None when it is not found. Raises LookupBudget when
        the budget ran out first (what was read is kept: another try goes further)."""
        budget = budget or Budget()
        try:
            return self._locate(importer, qualified, budget, set())
        except RecursionError:
            return None

    def _locate(self, importer: str, qualified: str, budget: Budget, seen: set) -> tuple[str, str, int] | None:
        dots = len(qualified) - len(qualified.lstrip("."))
        module, _, name = qualified[dots:].rpartition(".")
        if not name.isidentifier():
            return None
        if not module and not dots:
            return None
        path = self.module_file(importer, "." * dots + module)
        if path is None:
            # `from pkg import sub` where `sub` is a module, not a name: no class there.
            return None
        return self.definition_in(path, name, budget, seen)

    def definition_in(self, path: str, name: str, budget: Budget, seen: set) -> tuple[str, str, int] | None:
        """The class, function or constant `name` as the module file `path` provides it: defined,
        imported, listed in its lazy structure or brought in by one of its star imports."""
        if (path, name) in seen or len(seen) > MAX_VISITS:
            return None
        seen.add((path, name))
        index = self.store.get(path, budget)
        if index is None:
            return None
        if name in index.classes:
            return path, name, index.classes[name]
        if name in index.functions:
            return path, name, index.functions[name]
        if name in index.constants and name not in index.imports:
            return path, name, index.constants[name]
        target = index.imports.get(name)
        if target is not None:
            return self._locate(path, target, budget, seen)
        package = path if path.endswith("__init__.py") else None
        for submodule, names in index.lazy.items():
            if name in names and package is not None:
                found = self._locate(path, f".{submodule}.{name}", budget, seen)
                if found is not None:
                    return found
        if package is not None and index.stars and self.module_file(path, "." + name) is not None:
            # `from transformers import initialization`: a submodule, not a name its star
            # imports bring (looking there walked the index of two thousand files).
            return None
        for star in sorted(index.stars, key=lambda m: -_similarity(m, name)):
            star_path = self.module_file(path, star)
            if star_path is None:
                continue
            star_index = self.store.get(star_path, budget)
            if star_index is None or (star_index.exported is not None and name not in star_index.exported):
                continue
            found = self.definition_in(star_path, name, budget, seen)
            if found is not None:
                return found
        return None


def _file_in(base: Path, parts: list[str]) -> str | None:
    target = base.joinpath(*parts)
    candidates = (target.with_suffix(".py"), target / "__init__.py") if parts else (target / "__init__.py",)
    for path in candidates:
        if path.is_file():
            return str(path)
    return None


__all__ = ["Budget", "IndexStore", "Layouts", "LookupBudget", "ModuleIndex", "cache_dir", "file_stamp", "search_path", "text_digest"]
