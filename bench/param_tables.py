"""Parameter tables on real classes: `torchwire params` beside what PyTorch builds.

Every `nn.Module` class defined in the chosen files of timm, diffusers and transformers is
built by real PyTorch on the meta device, in a separate process, in one of two ways:

- `no-args`: its `__init__` needs no argument;
- `config`: its one required argument is annotated with a config class that needs none
  (`X(LlamaConfig())`: what torchwire reads as "at the defaults of LlamaConfig").

`torchwire params --format json` reads the same files (never importing them) and each class
is put in one of three bins:

- exact: the same names, in the same order, with the same shapes, and the total stated;
- partial: not exact, and the table says so (no total: an unknown row or size, a condition);
- wrong: a total stated, and names or shapes that differ. This bin must stay empty.

Usage: `.venv/bin/python bench/param_tables.py [--package timm] [--show wrong|partial|all]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The files read of each package: relative to the package folder, globbed.
CORPORA = {
    "timm": ["layers/*.py", "models/*.py"],
    "diffusers": ["models/**/*.py"],
    "transformers": [f"models/{name}/modeling_{name}.py" for name in (
        "albert", "bart", "beit", "bert", "bloom", "clip", "convnext", "deberta", "distilbert", "dinov2",
        "electra", "falcon", "gemma", "gpt2", "gpt_neox", "gptj", "llama", "mistral", "mixtral", "mobilebert",
        "opt", "phi", "qwen2", "qwen3", "resnet", "roberta", "segformer", "swin", "t5", "vit", "wav2vec2",
        "whisper", "xlm_roberta", "yolos",
    )],
}

# Run in the reference process: imports the package modules (the reference may run them; the
# analysis never does) and builds each class on the meta device.
REFERENCE = r'''
import importlib, inspect, json, signal, sys, types, typing, warnings
import torch
from torch import nn
warnings.filterwarnings("ignore")

def torchvision_stand_in():
    """timm imports torchvision at module level, which is not installed here (its wheels pull
    CUDA builds). Only FrozenBatchNorm2d is built by the classes read: it is given with
    torchvision's registrations (four buffers, no parameter); the other names are never built."""
    class FrozenBatchNorm2d(nn.Module):
        def __init__(self, num_features, eps=1e-5):
            super().__init__()
            self.eps = eps
            for name, value in (("weight", 1), ("bias", 0), ("running_mean", 0), ("running_var", 1)):
                self.register_buffer(name, torch.full((num_features,), float(value)))
    class Anything(type):  # any attribute of a name that is never built: a distinct name
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            value = Anything(f"{cls.__name__}.{name}", (), {})
            setattr(cls, name, value)
            return value
    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return Anything(name, (), {})
    for name in ("torchvision", "torchvision.ops", "torchvision.ops.misc", "torchvision.transforms",
                 "torchvision.transforms.functional", "torchvision.models", "torchvision.models.feature_extraction",
                 "torchvision.datasets", "torchvision.utils"):
        sys.modules[name] = Stub(name)
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, sys.modules[name])
    sys.modules["torchvision.ops.misc"].FrozenBatchNorm2d = FrozenBatchNorm2d

class Timeout(Exception):
    pass

def alarm(*_):
    raise Timeout()

signal.signal(signal.SIGALRM, alarm)
if sys.argv[2] == "timm":
    torchvision_stand_in()

def config_class(cls):
    params = [p for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
              if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if len(params) != 1:
        return None
    annotation = params[0].annotation
    if isinstance(annotation, str):
        annotation = sys.modules[cls.__module__].__dict__.get(annotation.strip("'\""))
    if not isinstance(annotation, type) or issubclass(annotation, nn.Module):
        return None
    try:
        inspect.signature(annotation).bind()
    except (TypeError, ValueError):
        return None
    return annotation

def build(cls):
    sig = inspect.signature(cls.__init__)
    required = [p for p in list(sig.parameters.values())[1:]
                if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not required:
        return "no-args", lambda: cls()
    config = config_class(cls)
    if config is not None:
        return "config", lambda: cls(config())
    return None, None

out = []
for module_name, path in json.loads(sys.argv[1]):
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:
        print(f"cannot import {module_name}: {type(error).__name__}: {error}", file=sys.stderr)
        continue
    for name, cls in list(vars(module).items()):
        if not (isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == module_name):
            continue
        if cls.__name__ != name:  # an alias (`EfficientChannelAttn = EcaModule`): read under its name
            continue
        if inspect.isabstract(cls):
            continue
        try:
            kind, make = build(cls)
        except (TypeError, ValueError):
            continue
        if kind is None:
            continue
        signal.alarm(20)
        try:
            with torch.device("meta"):
                model = make()
            table = [(n, list(p.shape)) for n, p in model.named_parameters()]
        except BaseException as error:
            table = None
        finally:
            signal.alarm(0)
        if table is not None:
            out.append({"path": path, "class": name, "kind": kind, "params": table})
print(json.dumps(out))
'''


def package_dir(python: str, package: str) -> Path:
    found = subprocess.run(
        [python, "-c", f"import importlib.util; print(importlib.util.find_spec({package!r}).submodule_search_locations[0])"],
        capture_output=True, text=True, check=True,
    )
    return Path(found.stdout.strip())


def corpus_files(root: Path, package: str) -> list[Path]:
    files: list[Path] = []
    for pattern in CORPORA[package]:
        files.extend(p for p in sorted(root.glob(pattern)) if p.name != "__init__.py")
    return files


def module_name(root: Path, package: str, path: Path) -> str:
    return ".".join([package, *path.relative_to(root).with_suffix("").parts])


def reference_tables(python: str, package: str, root: Path, files: list[Path]) -> list[dict]:
    modules = [(module_name(root, package, p), str(p)) for p in files]
    result = subprocess.run([python, "-c", REFERENCE, json.dumps(modules), package], capture_output=True, text=True, timeout=3600)
    if result.returncode:
        raise SystemExit(result.stderr[-4000:])
    failures = [line for line in result.stderr.splitlines() if line.startswith("cannot import")]
    if failures:
        print(f"{package}: {len(failures)} modules not importable, first: {failures[0]}", file=sys.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def static_tables(python: str, files: list[Path], index_dir: str) -> tuple[dict, float]:
    env = {**os.environ, "TORCHWIRE_INDEX_DIR": index_dir}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "torchwire", "params", "--format", "json", "--python", python, *map(str, files)],
        capture_output=True, text=True, env=env, timeout=3600,
    )
    elapsed = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(result.stderr[-4000:])
    tables = {}
    for report in json.loads(result.stdout):
        tables[(str(Path(report["path"]).resolve()), report["class"])] = report
    return tables, elapsed


def verdict(real: list, report: dict | None) -> str:
    if report is None:
        return "partial"  # not recognised as a module class: no table at all, nothing stated
    static = [(p["name"], p["shape"]) for p in report["parameters"]]
    stated = report["total"] is not None
    if static == [tuple(x) for x in real] and stated and report["total"] == sum(_numel(s) for _, s in real):
        return "exact"
    return "wrong" if stated else "partial"


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def compare(python: str, package: str, index_dir: str) -> list[dict]:
    root = package_dir(python, package)
    files = corpus_files(root, package)
    started = time.perf_counter()
    reference = reference_tables(python, package, root, files)
    built = time.perf_counter() - started
    tables, read = static_tables(python, sorted({Path(r["path"]) for r in reference}), index_dir)
    for r in reference:
        r["report"] = tables.get((str(Path(r["path"]).resolve()), r["class"]))
        r["verdict"] = verdict(r["params"], r["report"])
    print(f"{package}: {len(files)} files, {len(reference)} classes built by PyTorch in {built:.0f} s; "
          f"torchwire params read them in {read:.1f} s", file=sys.stderr)
    return reference


def summary(rows: list[dict]) -> str:
    lines = ["| package | kind | classes | exact | partial, said so | wrong |", "|---|---|---:|---:|---:|---:|"]
    groups: dict[tuple[str, str], Counter] = {}
    for r in rows:
        groups.setdefault((r["package"], r["kind"]), Counter())[r["verdict"]] += 1
    for (package, kind), c in sorted(groups.items()):
        n = sum(c.values())
        lines.append(f"| {package} | {kind} | {n} | {c['exact']} ({100 * c['exact'] / n:.1f}%) | {c['partial']} | {c['wrong']} |")
    return "\n".join(lines)


def show(r: dict) -> str:
    real = [f"{n} {s}" for n, s in r["params"]]
    report = r["report"]
    static = [f"{p['name']} {p['shape']}" for p in report["parameters"]] if report else ["(no table)"]
    import difflib

    diff = list(difflib.unified_diff(real, static, "pytorch", "torchwire", lineterm="", n=0))[2:14]
    total = report["total"] if report else None
    return f"{r['verdict'].upper()} {r['path']}::{r['class']} ({r['kind']}) pytorch {sum(_numel(s) for _, s in r['params']):,} torchwire {total}\n  " + "\n  ".join(diff)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", action="append", choices=sorted(CORPORA))
    parser.add_argument("--python", default=sys.executable, help="the interpreter with torch and the packages")
    parser.add_argument("--show", choices=("wrong", "partial", "all"), help="list the classes in these bins")
    parser.add_argument("--json", metavar="FILE", help="write every verdict to FILE")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as index_dir:
        for package in args.package or sorted(CORPORA):
            for r in compare(args.python, package, index_dir):
                rows.append({"package": package, **r})
    if args.show:
        for r in rows:
            if args.show == "all" and r["verdict"] != "exact" or r["verdict"] == args.show:
                print(show(r))
    if args.json:
        Path(args.json).write_text(json.dumps(rows))
    print(summary(rows))


if __name__ == "__main__":
    main()
