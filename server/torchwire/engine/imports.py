"""What the names of a file refer to: `nn.Linear`, `torch.nn.Linear` and `L` (from
`from torch.nn import Linear as L`) all qualify to `torch.nn.Linear`."""

from __future__ import annotations

import ast

# torch.nn re-exports everything in torch.nn.modules.<file>; we speak the public name.
_TORCH_NN_PRIVATE = "torch.nn.modules."


def canonical(qualified: str) -> str:
    if qualified.startswith(_TORCH_NN_PRIVATE):
        return "torch.nn." + qualified.rsplit(".", 1)[-1]
    if qualified.startswith("torch.nn.parameter."):
        return "torch.nn." + qualified.rsplit(".", 1)[-1]
    return qualified


class ImportMap:
    """Local names bound by imports (and simple aliases) at a file's top level."""

    def __init__(self, tree: ast.Module):
        self.names: dict[str, str] = {}
        self.star_modules: list[str] = []  # `from .common import *`: ".common"
        self._collect(tree.body)

    def add_star_names(self, names: dict[str, str]) -> None:
        """What a star import brings in, as found by a resolver; explicit imports win."""
        for local, qualified in names.items():
            self.names.setdefault(local, canonical(qualified))

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
