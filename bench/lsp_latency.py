"""Language-server latency, measured through a real stdio client (debounce 0), beside the
bare `ast.parse` of the same text in the same run:

- spawn to first diagnostics (process start, initialize, didOpen, publishDiagnostics);
- change to diagnostics, p50/p95 over edits typed at random lines (incremental changes);
- hover p50/p95 on `self.<attribute>` occurrences;
- hover on a module built from other files (tests/projects/gptlab: a GPT whose blocks live in
  a subpackage), cold (a fresh server: the first hover waits for jedi) and warm.

On a small example, a 1,500-line real model file (transformers' modeling_t5.py) and a
generated 10,000-line file.

    .venv/bin/python bench/lsp_latency.py [--edits 100] [--hovers 100]
    .venv/bin/python bench/lsp_latency.py --workspace   # files opened in transformers' tree, beside ruff server
    .venv/bin/python bench/lsp_latency.py --notebook    # one cell of a 200-cell notebook, beside the same .py
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from corpus import transformers_modeling_files  # noqa: E402
from rpc import RawServer  # noqa: E402  (the same raw stdio client the tests use)

CAPABILITIES = {"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"hover": {"contentFormat": ["markdown"]}}}

BLOCK = '''

class Block{i}(nn.Module):
    """A transformer-style block, generated for the benchmark."""

    def __init__(self, d_model=64, n_head=4, expansion=4, dropout=0.1):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_head, dropout=dropout)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, expansion * d_model),
            nn.GELU(),
            nn.Linear(expansion * d_model, d_model),
            nn.Dropout(dropout),
        )
        self.gate = nn.Parameter(torch.ones(d_model))

    def forward(self, x, mask=None):
        h = self.ln_1(x)
        h, _ = self.attn(h, h, h, attn_mask=mask)
        x = x + self.gate * h
        x = x + self.mlp(self.ln_2(x))
        return x


class Stack{i}(nn.Module):
    def __init__(self, depth=4, d_model=64):
        super().__init__()
        self.embed = nn.Embedding(1000, d_model)
        self.blocks = nn.ModuleList([Block{i}(d_model) for _ in range(depth)])
        self.head = nn.Linear(d_model, 1000, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(x)
'''


def generated(lines: int = 10_000) -> str:
    text = '"""A generated model file for the benchmark."""\n\nimport torch\nimport torch.nn as nn\n'
    i = 0
    while text.count("\n") < lines:
        text += BLOCK.format(i=i)
        i += 1
    return text


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Client:
    """One server over stdio (torchwire, or the `command` given), as an editor drives it:
    requests from the server (registrations, progress) are answered."""

    def __init__(self, command: list[str] | None = None, cwd: Path | None = None) -> None:
        self.server = RawServer(cwd=str(cwd) if cwd else None, command=command)

    def initialize(self, root: Path | None, options: dict) -> float:
        """Seconds from here (spawn, when called first) to the initialize response."""
        started = time.perf_counter()
        params = {"processId": None, "rootUri": root.as_uri() if root else None, "capabilities": CAPABILITIES, "initializationOptions": options}
        if root is not None:
            params["workspaceFolders"] = [{"uri": root.as_uri(), "name": root.name}]
        request = self.server.request("initialize", params)
        self.server.send(request)
        self._until(lambda m: m.get("id") == request["id"] and "method" not in m)
        self.server.send(self.server.notification("initialized", {}))
        return time.perf_counter() - started

    def initialize_with(self, capabilities: dict, options: dict) -> None:
        request = self.server.request("initialize", {"processId": None, "rootUri": None, "capabilities": capabilities, "initializationOptions": options})
        self.server.send(request)
        self._until(lambda m: m.get("id") == request["id"] and "method" not in m)
        self.server.send(self.server.notification("initialized", {}))

    def start(self, uri: str, text: str) -> float:
        """Seconds from spawning the process to the first diagnostics of `text` (debounce 0)."""
        started = time.perf_counter()
        self.initialize(None, {"debounce": 0})
        self.open(uri, text)
        return time.perf_counter() - started

    def _until(self, done) -> dict:
        while True:
            try:
                message = self.server.read(120)
            except EOFError:
                proc = self.server.proc
                raise SystemExit(f"{proc.args} exited ({proc.wait(5)}):\n{proc.stderr.read().decode(errors='replace')[-4000:]}") from None
            if "method" in message and "id" in message:  # a request of the server's
                self.server.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                continue
            if done(message):
                return message

    def diagnostics(self, uri: str, version: int) -> None:
        self._until(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                    and m["params"].get("version", version) == version)

    def open(self, uri: str, text: str) -> float:
        started = time.perf_counter()
        self.server.send(self.server.notification("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}))
        self.diagnostics(uri, 1)
        return time.perf_counter() - started

    def change(self, uri: str, version: int, start: tuple[int, int], end: tuple[int, int], new: str) -> float:
        started = time.perf_counter()
        self.server.send(self.server.notification("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": start[0], "character": start[1]}, "end": {"line": end[0], "character": end[1]}}, "text": new}],
        }))
        self.diagnostics(uri, version)
        return time.perf_counter() - started

    def hover(self, uri: str, line: int, character: int) -> float:
        started = time.perf_counter()
        request = self.server.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
        self.server.send(request)
        assert "result" in self._until(lambda m: m.get("id") == request["id"] and "method" not in m)
        return time.perf_counter() - started

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.server.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024

    def close(self) -> None:
        self.server.close()


def measure(name: str, text: str, edits: int, hovers: int, spawns: int) -> dict:
    uri = f"file:///bench/{name}.py"
    rnd = random.Random(7)
    parse = statistics.median(_timed(lambda: ast.parse(text)) for _ in range(7))
    spawn_times = []
    for _ in range(spawns):
        client = Client()
        spawn_times.append(client.start(uri, text))
        client.close()
    client = Client()
    client.start(uri, text)
    lines = text.split("\n")
    # Edits where people type: the end of a code line inside a function body.
    editable = [i for i, line in enumerate(lines) if line.startswith("        ") and line.strip() and not line.rstrip().endswith((",", "(", "[", "{", "\\", ":")) and "#" not in line and '"""' not in line]
    change_times = []
    for version in range(2, 2 + edits):
        i = rnd.choice(editable)
        end = utf16(lines[i])
        if version % 2 == 0:  # type a trailing comment, then delete it again
            change_times.append(client.change(uri, version, (i, end), (i, end), "  # x"))
            lines[i] += "  # x"
            last = i
        else:
            change_times.append(client.change(uri, version, (last, utf16(lines[last]) - 5), (last, utf16(lines[last])), ""))
            lines[last] = lines[last][:-5]
    targets = [(i, m.start() + 6) for i, line in enumerate(lines) for m in re.finditer(r"self\.[a-z_]\w*", line)]
    hover_times = [client.hover(uri, *rnd.choice(targets)) for _ in range(hovers)]
    client.close()
    return {
        "name": name, "lines": len(text.split("\n")), "parse": parse,
        "spawn": statistics.median(spawn_times),
        "change50": statistics.median(change_times), "change95": percentile(change_times, 0.95),
        "hover50": statistics.median(hover_times), "hover95": percentile(hover_times, 0.95),
    }


def cross_file(spawns: int, hovers: int) -> tuple[list[float], list[float]]:
    """Hover on `self.transformer` in gptlab/model.py, whose blocks come from other files."""
    project = HERE.parent / "tests" / "projects" / "gptlab"
    path = project / "gptlab" / "model.py"
    text, uri = path.read_text(), path.as_uri()
    line = text.split("\n").index("        self.transformer = nn.ModuleDict(dict(")
    cold, warm = [], []
    for i in range(spawns):
        client = Client()
        client.initialize(project, {"debounce": 0})
        client.open(uri, text)
        cold.append(client.hover(uri, line, 14))
        if i == 0:
            warm = [client.hover(uri, line, 14) for _ in range(hovers)]
        client.close()
    return cold, warm


# ---------------------------------------------------------------------- a real workspace

WORKSPACE_FILES = ("llama/modeling_llama.py", "bert/modeling_bert.py", "qwen3_omni_moe/modeling_qwen3_omni_moe.py", "synthetic/modeling_synthetic.py")
RUFF = "ruff==0.17.5"
SETTLE = 4.0  # seconds of quiet: the background's reading of the packages is over


def workspace_tree() -> Path:
    """transformers' source as a contributor opens it: `src/transformers/` in a repository
    folder (a copy of the installed package, in bench/.cache), with a generated 10,000-line
    model file among its models."""
    import importlib.util
    import shutil

    root = HERE / ".cache" / "workspace"
    package = root / "src" / "transformers"
    if not package.exists():
        installed = Path(importlib.util.find_spec("transformers").submodule_search_locations[0])
        shutil.copytree(installed, package, ignore=shutil.ignore_patterns("__pycache__"))
        (package / "models" / "synthetic").mkdir(exist_ok=True)
        (package / "models" / "synthetic" / "modeling_synthetic.py").write_text(generated())
        (root / "pyproject.toml").write_text('[project]\nname = "transformers"\nversion = "0"\n')
    return root


def ruff_command() -> list[str]:
    """`ruff server`, installed from the package registry into bench/.cache (not committed)."""
    import subprocess

    target = HERE / ".cache" / "ruff"
    binary = target / "bin" / "ruff"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), RUFF], check=True)
    return [str(binary), "server"]


def workspace(runs: int, edits: int, hovers: int, only: str | None = None) -> list[dict]:
    """Each file opened in place in the workspace, by torchwire (default settings) and by ruff
    server, `runs` times each, interleaved; medians of the per-run figures."""
    root = workspace_tree()
    servers = {"torchwire": (None, {}), "ruff server": (ruff_command(), {})}
    results = []
    for relative in [f for f in WORKSPACE_FILES if only is None or only in f]:
        path = root / "src" / "transformers" / "models" / relative
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        middle = len(lines) // 2
        targets = [(i, m.start() + 6) for i, line in enumerate(lines) for m in re.finditer(r"self\.[a-z_]\w*", line)]
        # The first `name = self.layer(...)` below the middle: a letter typed at the end of `name`.
        typing_line = next(i for i in range(middle, len(lines)) if re.match(r"\s+\w+ = self\.\w+\(", lines[i]))
        typing_column = lines[typing_line].index(" = ")
        # The first `self.name = nn.Layer(...)` below the middle (an __init__): a letter typed at
        # the end of `name`, which builds the class and what uses it again.
        init_line = next(i for i in range(middle, len(lines)) if re.match(r"\s+self\.\w+ = nn\.\w+\(", lines[i]))
        init_column = lines[init_line].index(" = ")
        per_server: dict[str, list[dict]] = {name: [] for name in servers}
        for run in range(runs):
            for name, (command, options) in servers.items():
                rnd = random.Random(run)
                client = Client(command, cwd=root)
                initialize = client.initialize(root, options)
                first = client.open(path.as_uri(), text)
                version = 1

                def blank_lines() -> list[float]:  # a blank line typed in the middle, then removed
                    nonlocal version
                    times = []
                    for _ in range(edits):
                        version += 1
                        end = (middle, 0) if version % 2 == 0 else (middle + 1, 0)
                        times.append(client.change(path.as_uri(), version, (middle, 0), end, "\n" if version % 2 == 0 else ""))
                    return times

                changes = blank_lines()  # right after opening: the background is still reading the packages
                hover_times = [client.hover(path.as_uri(), *rnd.choice(targets)) for _ in range(hovers)]
                time.sleep(SETTLE)
                settled = blank_lines()
                def letters(line: int, column: int) -> list[float]:  # a letter typed at the end of a name, then deleted
                    nonlocal version
                    times = []
                    for _ in range(edits):
                        version += 1
                        if version % 2 == 0:
                            times.append(client.change(path.as_uri(), version, (line, column), (line, column), "x"))
                        else:
                            times.append(client.change(path.as_uri(), version, (line, column), (line, column + 1), ""))
                    return times

                typed = letters(typing_line, typing_column)
                time.sleep(SETTLE)
                in_init = letters(init_line, init_column)
                time.sleep(SETTLE)
                per_server[name].append({
                    "initialize": initialize, "first": first,
                    "change50": statistics.median(changes), "change95": percentile(changes, 0.95),
                    "settled50": statistics.median(settled), "settled95": percentile(settled, 0.95),
                    "type50": statistics.median(typed), "type95": percentile(typed, 0.95),
                    "init50": statistics.median(in_init), "init95": percentile(in_init, 0.95),
                    "hover50": statistics.median(hover_times), "hover95": percentile(hover_times, 0.95),
                    "rss": client.rss_mb(),
                })
                client.close()
        for name, figures in per_server.items():
            results.append({"file": relative.split("/")[-1], "lines": len(lines), "server": name,
                            **{key: statistics.median(f[key] for f in figures) for key in figures[0]}})
    return results


def print_workspace(results: list[dict]) -> None:
    """Milliseconds and MB; `p50/p95` pairs. "change": blank lines right after opening, while the
    background reads the packages; "settled": the same once it is quiet; "typed": a letter
    typed and deleted in a name, once quiet (the code changes: its class is analysed again);
    "init": the same in the attribute an `__init__` assigns a layer to (the class is built again,
    and what uses it)."""
    columns = [("spawn→init", "initialize", 1), ("first diag", "first", 1)]
    pairs = [("change", "change"), ("settled", "settled"), ("typed", "type"), ("init", "init"), ("hover", "hover")]
    header = f"{'file (lines)':<36} {'server':<11}" + "".join(f" {c[0]:>10}" for c in columns)
    header += "".join(f" {name + ' p50/p95':>19}" for name, _ in pairs) + f" {'RSS MB':>7}"
    print(header)
    by_file: dict[str, dict[str, dict]] = {}
    for r in results:
        by_file.setdefault(r["file"], {})[r["server"]] = r
        row = f"{r['file'] + ' (' + format(r['lines'], ',') + ')':<36} {r['server']:<11}"
        row += "".join(f" {1000 * r[key]:>10.1f}" for _, key, _ in columns)
        row += "".join(f" {1000 * r[key + '50']:>9.1f}/{1000 * r[key + '95']:<9.1f}" for _, key in pairs)
        print(row + f" {r['rss']:>7.0f}")
    for name, pair in by_file.items():
        ours, ruff = pair["torchwire"], pair["ruff server"]
        ratios = ", ".join(f"{label} p50 {ours[key + '50'] / ruff[key + '50']:.1f}x p95 {ours[key + '95'] / ruff[key + '95']:.1f}x"
                           for label, key in pairs[:4])
        print(f"{name:<36} torchwire / ruff: {ratios}, RSS {ours['rss'] / ruff['rss']:.1f}x")


# ---------------------------------------------------------------------- a notebook

NOTEBOOK_CELLS = 200


def notebook_cells(count: int = NOTEBOOK_CELLS) -> list[tuple[str, str]]:
    """(kind, text) of a generated notebook: imports, then model classes one per cell with a
    markdown cell now and then, and a `%%time` cell that builds a model."""
    cells = [("code", "%matplotlib inline\nimport torch\nimport torch.nn as nn\n")]
    i = 0
    while len(cells) < count:
        block, stack = BLOCK.format(i=i).strip("\n").split("\n\n\nclass Stack")
        cells += [("markdown", f"## Block {i}"), ("code", block + "\n"), ("code", "class Stack" + stack + "\n"),
                  ("code", f"%%time\nmodel{i} = Stack{i}()\nmodel{i}?\n")]
        i += 1
    return cells[:count]


def notebook(edits: int) -> dict:
    """Edit-to-diagnostics in one code cell in the middle of a 200-cell notebook (synced with
    LSP notebook messages), and the same edits in the same code as one .py file, interleaved."""
    cells = notebook_cells()
    code = [text for kind, text in cells if kind == "code"]
    from torchwire.notebook import Cell, NotebookModule

    module_text = NotebookModule([Cell(i, text, kind == "code") for i, (kind, text) in enumerate(cells)]).text
    parse = statistics.median(_timed(lambda: ast.parse(module_text)) for _ in range(7))
    nb_uri = "file:///bench/model.ipynb"
    cell_uris = [f"vscode-notebook-cell:/bench/model.ipynb#W{i}sZmlsZQ%3D%3D" for i in range(len(cells))]
    caps = {**CAPABILITIES, "notebookDocument": {"synchronization": {"dynamicRegistration": True}}}
    nb_client = Client()
    nb_client.initialize_with(caps, {"debounce": 0})
    nb_client.server.send(nb_client.server.notification("notebookDocument/didOpen", {
        "notebookDocument": {"uri": nb_uri, "notebookType": "jupyter-notebook", "version": 1,
                             "cells": [{"kind": 2 if kind == "code" else 1, "document": cell_uris[i]} for i, (kind, _) in enumerate(cells)]},
        "cellTextDocuments": [{"uri": cell_uris[i], "languageId": "python" if kind == "code" else "markdown", "version": 1, "text": text}
                              for i, (kind, text) in enumerate(cells)],
    }))
    edited = next(i for i in range(len(cells) // 2, len(cells)) if cells[i][0] == "code" and cells[i][1].startswith("class Block"))
    nb_client.diagnostics(cell_uris[edited], 1)
    py_client = Client()
    py_client.initialize_with(CAPABILITIES, {"debounce": 0})
    py_uri = "file:///bench/model.py"
    py_client.open(py_uri, module_text)
    cell_lines = cells[edited][1].split("\n")
    line = next(i for i, text in enumerate(cell_lines) if text.startswith("        x = x + self.mlp"))
    end = utf16(cell_lines[line])
    module_line = module_text.split("\n").index(cell_lines[line], sum(len(t.split("\n")) - 1 for t in code[: code.index(cells[edited][1])]))
    nb_times, py_times = [], []
    for version in range(2, 2 + edits):
        typed = version % 2 == 0  # a trailing comment typed, then deleted again
        start, stop, new = ((line, end), (line, end), "  # x") if typed else ((line, end), (line, end + 5), "")
        started = time.perf_counter()
        nb_client.server.send(nb_client.server.notification("notebookDocument/didChange", {
            "notebookDocument": {"uri": nb_uri, "version": version},
            "change": {"cells": {"textContent": [{"document": {"uri": cell_uris[edited], "version": version},
                                                  "changes": [{"range": _range(start, stop), "text": new}]}]}},
        }))
        nb_client.diagnostics(cell_uris[edited], version)
        nb_times.append(time.perf_counter() - started)
        py_times.append(py_client.change(py_uri, version, (module_line, start[1]), (module_line, stop[1]), new))
    nb_client.close()
    py_client.close()
    return {"cells": len(cells), "lines": len(module_text.split("\n")), "parse": parse,
            "nb50": statistics.median(nb_times), "nb95": percentile(nb_times, 0.95),
            "py50": statistics.median(py_times), "py95": percentile(py_times, 0.95)}


def _range(start: tuple[int, int], end: tuple[int, int]) -> dict:
    return {"start": {"line": start[0], "character": start[1]}, "end": {"line": end[0], "character": end[1]}}


def print_notebook(r: dict) -> None:
    print(f"notebook of {r['cells']} cells ({r['lines']:,} lines as one module; bare ast.parse {1000 * r['parse']:.1f} ms), "
          "edit to diagnostics in one cell (ms, p50/p95, debounce 0):")
    print(f"  notebook (LSP notebook sync) {1000 * r['nb50']:7.1f} / {1000 * r['nb95']:.1f}")
    print(f"  the same code as one .py     {1000 * r['py50']:7.1f} / {1000 * r['py95']:.1f}")
    print(f"  notebook / .py: p50 {r['nb50'] / r['py50']:.2f}x, p95 {r['nb95'] / r['py95']:.2f}x")


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--hovers", type=int, default=100)
    parser.add_argument("--spawns", type=int, default=5)
    parser.add_argument("--workspace", action="store_true", help="only the workspace case, beside ruff server")
    parser.add_argument("--runs", type=int, default=3, help="runs per server and file in the workspace case")
    parser.add_argument("--only", help="the workspace files whose path contains this (e.g. llama)")
    parser.add_argument("--notebook", action="store_true", help="only the notebook case, beside the same code as one .py file")
    args = parser.parse_args()
    if args.notebook:
        print_notebook(notebook(args.edits))
        return
    if args.workspace:
        print_workspace(workspace(args.runs, min(args.edits, 40), min(args.hovers, 40), args.only))
        return
    t5 = next(p for p in transformers_modeling_files() if p.name == "modeling_t5.py")
    files = [
        ("small", (HERE.parent / "examples" / "seed_1_discarded_outputs.py").read_text()),
        ("t5", t5.read_text(encoding="utf-8")),
        ("generated", generated()),
    ]

    def ms(seconds: float) -> str:
        return f"{1000 * seconds:7.1f}"

    print(f"{'file':<10} {'lines':>6} {'ast.parse':>9} {'spawn→diag':>10} {'change p50':>10} {'change p95':>10} {'hover p50':>9} {'hover p95':>9}   (ms, medians; debounce 0)")
    for name, text in files:
        r = measure(name, text, args.edits, args.hovers, args.spawns)
        print(f"{r['name']:<10} {r['lines']:>6} {ms(r['parse']):>9} {ms(r['spawn']):>10} {ms(r['change50']):>10} {ms(r['change95']):>10} {ms(r['hover50']):>9} {ms(r['hover95']):>9}")
        print(f"{'':<10} {'':>6} {'':>9} {'':>10} {r['change50'] / r['parse']:>9.2f}x {r['change95'] / r['parse']:>9.2f}x   (change / bare parse of the whole file)")
    cold, warm = cross_file(args.spawns, args.hovers)
    print(f"hover on a module composed from other files (gptlab): cold p50 {ms(statistics.median(cold))} p95 {ms(percentile(cold, 0.95))};"
          f" warm p50 {ms(statistics.median(warm))} p95 {ms(percentile(warm, 0.95))}")


if __name__ == "__main__":
    main()
