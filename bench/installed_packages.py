"""Models built on installed packages: a user's file importing transformers' LlamaModel, one
using diffusers blocks (a UNet2DModel among them) and one using timm's ViT Block and Mlp
(tests/fixtures/installed/, with transformers 5.24, diffusers 0.42.1 and timm 1.0.31 installed in
.venv by scripts/setup --test). In one run, medians over --runs:

- `torchwire check FILE` as a whole process: cold (an empty package index) and warm (the index
  of the previous run on disk), wall time and peak RSS;
- the language server through a real stdio client with the three files open: spawn to
  initialize, first diagnostics, change to diagnostics p50/p95 (a blank line typed and removed
  in each class), hover p50/p95 on the backbone attribute, code action latency, peak RSS;
- the reference: pyright (from npm, installed into bench/.cache/ at run time) checking the same
  files with the same interpreter, cold, wall time and peak RSS; and the bare `ast.parse` of
  each file.

    .venv/bin/python bench/installed_packages.py [--runs 3] [--edits 20] [--no-pyright]
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
from rpc import RawServer  # noqa: E402

FILES = ROOT / "tests" / "fixtures" / "installed"
CASES = {"llama_issue.py": (6, 15), "diffusers_unet.py": (9, 14), "timm_vit.py": (8, 14)}  # hover: a backbone attribute
PYRIGHT = "1.1.414"


def run_process(command: list[str], env: dict[str, str] | None = None, cwd: Path = FILES) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def check_times(runs: int) -> dict[str, dict[str, tuple[float, float]]]:
    out: dict[str, dict[str, tuple[float, float]]] = {}
    torchwire = str(ROOT / ".venv" / "bin" / "torchwire")
    for name in CASES:
        cold, warm = [], []
        for _ in range(runs):
            index = tempfile.mkdtemp(prefix="tw-index-")
            env = {**os.environ, "TORCHWIRE_INDEX_DIR": index}
            cold.append(run_process([torchwire, "check", name], env))
            warm.append(run_process([torchwire, "check", name], env))
            shutil.rmtree(index)
        out[name] = {"cold": _median_pair(cold), "warm": _median_pair(warm)}
    return out


def _median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def pyright_times(runs: int) -> dict[str, tuple[float, float]] | None:
    prefix = HERE / ".cache" / "pyright"
    binary = prefix / "node_modules" / ".bin" / "pyright"
    if not binary.exists():
        if shutil.which("npm") is None:
            return None
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-fund", "--no-audit", "--loglevel=error", f"pyright@{PYRIGHT}"],
                       check=True, stdout=subprocess.DEVNULL)
    python = str(ROOT / ".venv" / "bin" / "python")
    out = {}
    for name in CASES:
        out[name] = _median_pair([run_process([str(binary), "--pythonpath", python, name]) for _ in range(runs)])
    return out


def parse_times(runs: int) -> dict[str, float]:
    out = {}
    for name in CASES:
        text = (FILES / name).read_text()
        samples = []
        for _ in range(max(runs, 5)):
            start = time.perf_counter()
            ast.parse(text)
            samples.append(time.perf_counter() - start)
        out[name] = statistics.median(samples)
    return out


def server_latency(edits: int) -> dict[str, float]:
    index = tempfile.mkdtemp(prefix="tw-index-")
    os.environ["TORCHWIRE_INDEX_DIR"] = index
    start = time.perf_counter()
    server = RawServer(cwd=str(FILES))
    server.initialize(options={"debounce": 0})
    initialized = time.perf_counter() - start
    texts = {name: (FILES / name).read_text() for name in CASES}
    uris = {name: (FILES / name).as_uri() for name in CASES}
    versions = dict.fromkeys(CASES, 1)

    def diagnostics_of(uri: str, version: int | None = None, timeout: float = 60) -> dict:
        while True:
            message = server.read(timeout)
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                if version is None or message["params"].get("version") == version:
                    return message["params"]

    opened = time.perf_counter()
    for name in CASES:
        server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": uris[name], "languageId": "python", "version": 1, "text": texts[name]}}))
    diagnostics_of(uris[next(iter(CASES))])
    first = time.perf_counter() - opened
    time.sleep(5)  # let the background resolution finish and republish
    while not server.messages.empty():
        server.read()
    changes, hovers, actions = [], [], []
    for i in range(edits):
        for name, (line, character) in CASES.items():
            versions[name] += 1
            blank = {"range": {"start": {"line": line + 1, "character": 0}, "end": {"line": line + 1, "character": 0}}, "text": "\n"}
            undo = {"range": {"start": {"line": line + 1, "character": 0}, "end": {"line": line + 2, "character": 0}}, "text": ""}
            t = time.perf_counter()
            server.send(server.notification("textDocument/didChange", {"textDocument": {"uri": uris[name], "version": versions[name]},
                                                                          "contentChanges": [blank if i % 2 == 0 else undo]}))
            diagnostics_of(uris[name], versions[name])
            changes.append(time.perf_counter() - t)
            request = server.request("textDocument/hover", {"textDocument": {"uri": uris[name]}, "position": {"line": line, "character": character}})
            t = time.perf_counter()
            server.send(request)
            server.response_to(request["id"])
            hovers.append(time.perf_counter() - t)
            request = server.request("textDocument/codeAction", {"textDocument": {"uri": uris[name]}, "range": {
                "start": {"line": line, "character": 0}, "end": {"line": line, "character": 1}}, "context": {"diagnostics": []}})
            t = time.perf_counter()
            server.send(request)
            server.response_to(request["id"])
            actions.append(time.perf_counter() - t)
    rss = int(next(line for line in open(f"/proc/{server.proc.pid}/status") if line.startswith("VmHWM")).split()[1]) / 1024
    server.close()
    shutil.rmtree(index)
    return {"initialize": initialized, "first": first, "change_p50": _pct(changes, 50), "change_p95": _pct(changes, 95),
            "hover_p50": _pct(hovers, 50), "hover_p95": _pct(hovers, 95), "action_p50": _pct(actions, 50),
            "action_p95": _pct(actions, 95), "rss": rss}


def _pct(samples: list[float], p: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--no-pyright", action="store_true")
    args = parser.parse_args()
    parse = parse_times(args.runs)
    check = check_times(args.runs)
    pyright = None if args.no_pyright else pyright_times(args.runs)
    print(f"torchwire check, whole process, medians of {args.runs} runs (s, MB)")
    print("| file | ast.parse ms | check cold | check warm | peak RSS cold / warm | pyright cold | pyright RSS |")
    print("|---|---|---|---|---|---|---|")
    for name in CASES:
        (cold, cold_rss), (warm, warm_rss) = check[name]["cold"], check[name]["warm"]
        py = pyright[name] if pyright else (float("nan"), float("nan"))
        print(f"| {name} | {parse[name] * 1000:.1f} | {cold:.2f} | {warm:.2f} | {cold_rss:.0f} / {warm_rss:.0f} | {py[0]:.2f} | {py[1]:.0f} |")
    server = server_latency(args.edits)
    print()
    print(f"language server, the three files open, {args.edits} edits each (ms, MB)")
    print("| spawn->initialize | first diagnostics | change p50 / p95 | hover p50 / p95 | code action p50 / p95 | peak RSS |")
    print("|---|---|---|---|---|---|")
    ms = {k: v * 1000 for k, v in server.items() if k != "rss"}
    print(f"| {ms['initialize']:.0f} | {ms['first']:.0f} | {ms['change_p50']:.1f} / {ms['change_p95']:.1f} | "
          f"{ms['hover_p50']:.1f} / {ms['hover_p95']:.1f} | {ms['action_p50']:.1f} / {ms['action_p95']:.1f} | {server['rss']:.0f} |")


if __name__ == "__main__":
    main()
