"""What the names of a file refer to: `nn.Linear`, `torch.nn.Linear` and `L` (from
`from torch.nn import Linear as L`) all qualify to `torch.nn.Linear`."""

from __future__ import annotations

import ast
from typing import Callable

# torch.nn re-exports everything in torch.nn.modules.<file>; we speak the public name.
_TORCH_NN_PRIVATE = "torch.nn.modules."


def canonical(qualified: str) -> str:
    if qualified.startswith(_TORCH_NN_PRIVATE):
        return "torch.nn." + qualified.rsplit(".", 1)[-1]
    if qualified.startswith("torch.nn.parameter."):
        return "torch.nn." + qualified.rsplit(".", 1)[-1]
    return qualified


class _Names(dict):
    """Local name -> qualified name, with the names of star imports read when first needed: at
    a name no other binding answers, or when all names are asked for. A package's `__init__`
    star-imports each of its submodules (transformers: two thousand files), and a lookup of
    its `__version__` needs none of them."""

    def __init__(self) -> None:
        super().__init__()
        self.load: Callable[[], None] | None = None
        self.bound_elsewhere: Callable[[str], bool] = lambda name: False

    def _load(self) -> None:
        load, self.load = self.load, None  # once, and not again from inside (import cycles)
        if load is not None:
            load()

    def _missing(self, name: object) -> bool:
        if self.load is None or dict.__contains__(self, name):
            return False
        if isinstance(name, str) and self.bound_elsewhere(name):
            return False  # a class or function of the file itself
        self._load()
        return True

    def get(self, name, default=None):
        self._missing(name)
        return dict.get(self, name, default)

    def __contains__(self, name) -> bool:
        self._missing(name)
        return dict.__contains__(self, name)

    def __getitem__(self, name):
        self._missing(name)
        return dict.__getitem__(self, name)

    def __iter__(self):
        self._load()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load()
        return dict.__len__(self)

    def keys(self):
        self._load()
        return dict.keys(self)

    def values(self):
        self._load()
        return dict.values(self)

    def items(self):
        self._load()
        return dict.items(self)


class ImportMap:
    """Local names bound by imports (and simple aliases) at a file's top level."""

    def __init__(self, tree: ast.Module):
        self.names: dict[str, str] = {}
        self.star_modules: list[str] = []  # `from .common import *`: ".common"
        self._collect(tree.body)

    def add_star_names(self, names: dict[str, str]) -> None:
        """What a star import brings in, as found by a resolver; explicit imports win."""
        for local, qualified in names.items():
            dict.setdefault(self.names, local, canonical(qualified))

    def read_stars_when_needed(self, load: Callable[[], None], bound_elsewhere: Callable[[str], bool]) -> None:
        """Star imports resolved by `load()` only once a name needs them (see _Names)."""
        names = _Names()
        dict.update(names, self.names)
        names.load, names.bound_elsewhere = load, bound_elsewhere
        self.names = names

    def _collect(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        self.names[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".", 1)[0]
                        self.names[root] = root
            elif isinstance(stmt, ast.ImportFrom):
                base = "." * stmt.level + (stmt.module or "")
                for alias in stmt.names:
                    if alias.name == "*":
                        self.star_modules.append(base)
                        continue
                    sep = "" if base.endswith(".") else "."
                    self.names[alias.asname or alias.name] = canonical(f"{base}{sep}{alias.name}")
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                # `Linear = nn.Linear`: an alias of an imported name
                target = stmt.targets[0]
                if isinstance(target, ast.Name):
                    qualified = self.qualify(stmt.value)
                    if qualified is not None:
                        self.names[target.id] = qualified
            elif isinstance(stmt, ast.If):  # `if TYPE_CHECKING:` and version switches
                self._collect(stmt.body)
                self._collect(stmt.orelse)
            elif isinstance(stmt, ast.Try):  # optional imports
                self._collect(stmt.body)
                for handler in stmt.handlers:
                    self._collect(handler.body)

    def qualify(self, node: ast.expr) -> str | None:
        """The qualified name of a dotted expression whose root is imported, else None."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        root = self.names.get(node.id)
        if root is None:
            return None
        parts.append(root)
        return canonical(".".join(reversed(parts)))

    def local_name_for(self, qualified: str) -> str | None:
        """How this file can spell a qualified name with its current imports (for fixes)."""
        best = None
        for local, target in self.names.items():
            if qualified == target:
                return local
            if qualified.startswith(target + "."):
                candidate = local + qualified[len(target) :]
                if best is None or len(candidate) < len(best):
                    best = candidate
        return best

    @property
    def uses_torch(self) -> bool:
        return any(q == "torch" or q.startswith("torch.") for q in self.names.values())
