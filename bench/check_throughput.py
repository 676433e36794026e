"""Analysis throughput of `torchwire check` on real model code, beside the bare `ast.parse` of
the same files in the same run (the machine is shared and noisy: compare within one run).

    .venv/bin/python bench/check_throughput.py [--repeat 5]

Prints lines/s for both and the ratio analysis/parse (goal: under 3).
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import transformers_modeling_files  # noqa: E402

from torchwire.engine.analysis import analyze  # noqa: E402


def timed(fn, texts: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for path, text in texts:
        fn(text, path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = transformers_modeling_files()
    texts = [(str(p), p.read_text(encoding="utf-8")) for p in files]
    lines = sum(t.count("\n") + 1 for _, t in texts)
    parse_times, analyze_times, ratios = [], [], []
    findings = 0
    for _ in range(args.repeat):
        p = timed(lambda text, path: ast.parse(text, path), texts)
        a = timed(lambda text, path: analyze(text, path), texts)
        parse_times.append(p)
        analyze_times.append(a)
        ratios.append(a / p)
    findings = sum(len(analyze(t, p).findings) for p, t in texts)
    p, a = statistics.median(parse_times), statistics.median(analyze_times)
    print(f"corpus: {len(files)} transformers modeling files, {lines:,} lines; {args.repeat} runs, medians")
    print(f"ast.parse          {p:7.2f} s  {lines / p:10,.0f} lines/s")
    print(f"torchwire analyze  {a:7.2f} s  {lines / a:10,.0f} lines/s  ({findings} findings)")
    print(f"ratio analyze/parse: median {statistics.median(ratios):.2f} (per run: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
