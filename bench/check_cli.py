"""`torchwire check` from the command line as CI runs it, on transformers' `modeling_*.py`
files in their package tree (bench/.cache/workspace, as bench/lsp_latency.py builds it), beside
the bare `ast.parse` of the same files on one core, in the same run:

- cold on one job, cold on all cores (no result cache: `--no-cache`);
- with a result cache: empty (cold), then warm, then warm after one file was edited.

The index of installed packages (a separate cache, kept between runs) is warm for every run.

    .venv/bin/python bench/check_cli.py [--files 200] [--runs 1]
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from lsp_latency import workspace_tree  # noqa: E402

CACHE = HERE / ".cache" / "check-cache"
EDITED = "models/llama/modeling_llama.py"


def check(root: Path, files: list[str], *options: str) -> float:
    command = [sys.executable, "-m", "torchwire", "check", "--format", "json", "--exit-zero", *options, *files]
    started = time.perf_counter()
    subprocess.run(command, cwd=root, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def written_since(moment: float) -> int:
    """Cache entries written (new, or rewritten after a miss) since `moment`."""
    return sum(1 for f in CACHE.rglob("*.json") if f.stat().st_mtime >= moment) if CACHE.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=0, help="the first N modeling files (default: all)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    root = workspace_tree()
    package = root / "src" / "transformers"
    paths = sorted(p for p in package.glob("models/*/modeling_*.py") if "synthetic" not in p.parts)
    if args.files:
        paths = paths[: args.files]
        if package / EDITED not in paths:
            paths[-1] = package / EDITED
    files = [str(p.relative_to(root)) for p in paths]
    texts = [p.read_text(encoding="utf-8") for p in paths]
    lines = sum(t.count("\n") + 1 for t in texts)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    check(root, files[:3], "--no-cache")  # the installed-package index, warm for every run below

    figures: dict[str, list[float]] = {k: [] for k in ("parse", "one", "all", "cold", "warm", "edited")}
    reanalysed = []
    edited = package / EDITED
    original = edited.read_text(encoding="utf-8")
    try:
        for _ in range(args.runs):
            started = time.perf_counter()
            for path, text in zip(paths, texts):
                ast.parse(text, str(path))
            figures["parse"].append(time.perf_counter() - started)
            figures["one"].append(check(root, files, "--no-cache", "--jobs", "1"))
            figures["all"].append(check(root, files, "--no-cache"))
            shutil.rmtree(CACHE, ignore_errors=True)
            figures["cold"].append(check(root, files, "--cache-dir", str(CACHE)))
            figures["warm"].append(check(root, files, "--cache-dir", str(CACHE)))
            before = time.time()
            edited.write_text(original.replace("class LlamaMLP(nn.Module):", "class LlamaMLP(nn.Module):  # edited", 1), encoding="utf-8")
            figures["edited"].append(check(root, files, "--cache-dir", str(CACHE)))
            reanalysed.append(written_since(before))
            edited.write_text(original, encoding="utf-8")
    finally:
        edited.write_text(original, encoding="utf-8")
    m = {k: statistics.median(v) for k, v in figures.items()}
    print(f"corpus: {len(files)} transformers modeling files in their package tree, {lines:,} lines; {cores} cores; "
          f"{args.runs} run(s), medians")
    rows = [("ast.parse, one core", "parse"), ("check --jobs 1 --no-cache", "one"), (f"check (all {cores} cores) --no-cache", "all"),
            ("check, empty cache", "cold"), ("check, warm cache", "warm"), ("check, warm, one file edited", "edited")]
    for label, key in rows:
        print(f"{label:<34} {m[key]:8.2f} s {lines / m[key]:12,.0f} lines/s")
    print(f"all cores / one job: {m['one'] / m['all']:.2f}x; warm / cold cache: {m['cold'] / m['warm']:.1f}x faster; "
          f"one file edited: {m['cold'] / m['edited']:.1f}x faster than cold, {statistics.median(reanalysed):.0f} file(s) "
          f"of {len(files)} analysed again ({EDITED} and the results that read it, directly or not); "
          f"one job / ast.parse: {m['one'] / m['parse']:.0f}x")


if __name__ == "__main__":
    main()
