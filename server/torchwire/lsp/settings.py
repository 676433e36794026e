"""The server's settings, parsed once from `initializationOptions` and
`workspace/didChangeConfiguration`: one typed object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import Config, ConfigError

DOCS_URL = "https://github.com/torchwire/torchwire/blob/main/docs/rules/{code}.md"


@dataclass
class Settings:
    rules: Config = field(default_factory=Config)  # select / ignore / severity from the client
    debounce_ms: int = 0  # wait this long after a change before analysing (0: latest wins, at once)
    docs_url: str = DOCS_URL
    python: str | None = None  # the interpreter to resolve imports with (issue: cross-file)
    code_lens: bool = True  # parameter counts above module classes and containers

    @staticmethod
    def from_client(data: Any) -> "Settings":
        """Accepts `{...}` or `{"torchwire": {...}}`; unknown keys are ignored."""
        if not isinstance(data, dict):
            return Settings()
        if isinstance(data.get("torchwire"), dict):
            data = data["torchwire"]
        settings = Settings()
        try:
            settings.rules = Config.from_dict({k: data[k] for k in ("select", "ignore", "severity") if k in data})
        except ConfigError:
            pass  # keep the defaults rather than fail the session
        debounce = data.get("debounce", data.get("debounceMs"))
        if isinstance(debounce, (int, float)) and not isinstance(debounce, bool) and debounce >= 0:
            settings.debounce_ms = int(debounce)
        if isinstance(data.get("docsUrl"), str) and "{code}" in data["docsUrl"]:
            settings.docs_url = data["docsUrl"]
        if isinstance(data.get("codeLens"), bool):
            settings.code_lens = data["codeLens"]
        for key in ("python", "pythonPath", "interpreter"):
            if isinstance(data.get(key), str) and data[key]:
                settings.python = data[key]
        return settings
