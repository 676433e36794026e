"""Finding and reading the Python files of a project."""

from __future__ import annotations

import os
import tokenize
from io import BytesIO
from pathlib import Path
from typing import Iterator, Sequence

SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages"}
CHECKED_SUFFIXES = (".py", ".pyi", ".ipynb")


class UsageError(Exception):
    pass


def read_source(path: Path) -> str:
    """A Python file's text, decoded as Python itself would (BOM, coding cookie); for a
    notebook, its code cells as one module (see notebook.py)."""
    if path.suffix == ".ipynb":
        return read_notebook(path).module(str(path)).text
    data = path.read_bytes()
    encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
    return data.decode(encoding)


def read_notebook(path: Path):
    """An `.ipynb` file (JSON in UTF-8). Raises OSError, UnicodeDecodeError or NotebookError."""
    from .notebook import NotebookFile

    return NotebookFile(path.read_bytes().decode("utf-8"))


def modular_template(path: str | Path) -> bool:
    """Whether the file is a transformers modular file (`modular_llama.py`): a template that
    the library's converter expands into the `modeling_llama.py` beside it, whose header says
    it was generated from this file. Its methods are partial (`super().forward(...)` stands for
    the parent's body), so what it says is not what runs: the generated file is checked."""
    path = Path(path)
    if not path.name.startswith("modular_") or path.suffix != ".py":
        return False
    generated = path.with_name("modeling_" + path.name[len("modular_"):])
    try:
        with open(generated, encoding="utf-8", errors="replace") as stream:
            header = stream.read(2048)
    except OSError:
        return False
    return "generated from" in header and path.name in header


def user_cache_dir() -> Path:
    """torchwire's folder in the user's cache: `$XDG_CACHE_HOME/torchwire`, `~/.cache/torchwire`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "torchwire"


def discover(paths: Sequence[str]) -> Iterator[Path]:
    """Python files and notebooks under `paths`: recursive, skipping hidden folders, virtual environments and
    what `.gitignore` files exclude. A file named explicitly is always checked."""
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from _walk(path)
        else:
            raise UsageError(f"{raw}: no such file or directory")


def _walk(root: Path) -> Iterator[Path]:
    import pathspec

    def load(folder: Path) -> list:
        ignore = folder / ".gitignore"
        if not ignore.is_file():
            return []
        try:
            lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []
        return [(folder, pathspec.GitIgnoreSpec.from_lines(lines))]

    # .gitignore files above the root, up to the repository's top, apply too.
    inherited: list = []
    for parent in reversed(root.resolve().parents):
        if (parent / ".git").exists() or inherited:
            inherited.extend(load(parent))
    stack = [(root, inherited + load(root))]
    while stack:
        folder, specs = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            entry_path = Path(entry.path)
            is_dir = entry.is_dir(follow_symlinks=False)
            if entry.name.startswith(".") or _ignored(entry_path, is_dir, specs):
                continue
            if is_dir:
                if entry.name in SKIPPED_DIRS or (entry_path / "pyvenv.cfg").exists():
                    continue
                stack.append((entry_path, specs + load(entry_path)))
            elif entry.name.endswith(CHECKED_SUFFIXES) and entry.is_file():
                yield entry_path


def _ignored(path: Path, is_dir: bool, specs: list) -> bool:
    for base, spec in specs:
        try:
            relative = path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
        if spec.match_file(relative + ("/" if is_dir else "")):
            return True
    return False
