"""The benchmark corpus: the `modeling_*.py` files of a `transformers` wheel, fetched with
`pip download` at run time into bench/.cache (never committed)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"


def transformers_modeling_files(version: str | None = None) -> list[Path]:
    target = CACHE / "transformers"
    files = sorted(target.rglob("modeling_*.py")) if target.exists() else []
    if files:
        return files
    CACHE.mkdir(exist_ok=True)
    spec = f"transformers=={version}" if version else "transformers"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(CACHE), spec],
        check=True,
    )
    wheel = max(CACHE.glob("transformers-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if Path(n).name.startswith("modeling_") and n.endswith(".py")]
        archive.extractall(target, members=members)
    return sorted(target.rglob("modeling_*.py"))
