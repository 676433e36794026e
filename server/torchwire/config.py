"""Rule selection and severities: from `[tool.torchwire]` in pyproject.toml, the CLI's flags,
or the language client's settings. One typed object, parsed once."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.findings import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ConfigError(ValueError):
    pass


@dataclass
class Config:
    select: list[str] | None = None  # code prefixes; None selects every rule
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)

    def enabled(self, code: str) -> bool:
        if any(code.startswith(prefix) for prefix in self.ignore):
            return False
        return self.select is None or any(code.startswith(prefix) for prefix in self.select)

    def severity_of(self, code: str, default: Severity) -> Severity:
        return self.severity.get(code, default)

    @staticmethod
    def from_dict(data: dict[str, Any] | None) -> "Config":
        data = data or {}
        try:
            select = data.get("select")
            severity = {code: Severity(level) for code, level in (data.get("severity") or {}).items()}
            return Config(
                select=[str(s) for s in select] if select is not None else None,
                ignore=[str(s) for s in data.get("ignore") or []],
                severity=severity,
            )
        except (TypeError, ValueError, AttributeError) as error:
            raise ConfigError(f"invalid torchwire settings: {error}") from None

    def merged(self, other: "Config") -> "Config":
        """`other` wins where it says something."""
        return Config(
            select=other.select if other.select is not None else self.select,
            ignore=[*self.ignore, *other.ignore],
            severity={**self.severity, **other.severity},
        )


def find_pyproject(start: Path) -> Path | None:
    start = start if start.is_dir() else start.parent
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_pyproject(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    return Config.from_dict(data.get("tool", {}).get("torchwire"))
