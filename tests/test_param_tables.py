"""Parameter tables are exact, or say what they could not follow: never a confident wrong total.

The idioms real model code uses to build layers (tests/fixtures/idioms/layer_idioms.py) are
compared with what PyTorch builds from the same file on the meta device; code torchwire cannot
follow gives an unknown row and no total; and over the classes of timm, diffusers and
transformers (bench/param_tables.py), none states a wrong total."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from torchwire.cli import main

ROOT = Path(__file__).resolve().parent.parent
IDIOMS = ROOT / "tests" / "fixtures" / "idioms" / "layer_idioms.py"


def _classes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [n.name for n in tree.body if isinstance(n, ast.ClassDef)]


def _pytorch_tables(path: Path) -> dict[str, list]:
    script = textwrap.dedent(f"""
        import importlib.util, json, torch
        spec = importlib.util.spec_from_file_location("idioms", {str(path)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out = {{}}
        for name in {_classes(path)!r}:
            cls = getattr(module, name)
            try:
                with torch.device("meta"):
                    model = cls()
            except TypeError:  # needs arguments: read only as a part of others
                continue
            out[name] = [(n, list(p.shape)) for n, p in model.named_parameters()]
        print(json.dumps(out))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def pytorch_tables() -> dict[str, list]:
    return _pytorch_tables(IDIOMS)


def _static(capsys, *args: str) -> list[dict]:
    assert main(["params", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("cls", ["DinoBlock", "Block", "Stages", "Reparametrized", "TiedLM", "Factory"])
def test_layer_idioms_equal_pytorch(capsys, pytorch_tables, cls):
    [report] = _static(capsys, "--class", cls, str(IDIOMS))
    real = pytorch_tables[cls]
    assert [(p["name"], p["shape"]) for p in report["parameters"]] == [tuple(x) for x in real]
    assert report["total"] == sum(_numel(shape) for _, shape in real)


def test_dinov2_norms_from_a_partial_are_counted(capsys):
    # partial(nn.LayerNorm, eps=1e-6) used to be dropped without a word: 72 where PyTorch has 104.
    code = main(["params", "--class", "DinoBlock", str(IDIOMS)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[1:] == [
        "name          shape   count",
        "---------------------------",
        "norm1.weight  [8]         8",
        "norm1.bias    [8]         8",
        "fc.weight     [8, 8]     64",
        "fc.bias       [8]         8",
        "norm2.weight  [8]         8",
        "norm2.bias    [8]         8",
        "Total: 104 parameters (416 B as float32)",
    ]


PARTIAL = """\
import torch.nn as nn
from some_library_not_installed import make_norm


class Opaque(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.norm = make_norm(dim)
        self.blocks = nn.ModuleList([make_norm(dim) for _ in range(2)])
"""


def test_a_call_it_cannot_follow_makes_the_table_partial(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.py").write_text(PARTIAL)
    [report] = _static(capsys, "model.py")
    rows = [(p["name"], p["shape"], p["unknown"]) for p in report["parameters"]]
    why = "`make_norm(dim)` calls `some_library_not_installed.make_norm`, which torchwire cannot read"
    assert rows == [
        ("fc.weight", [8, 8], None),
        ("fc.bias", [8], None),
        ("blocks.0", None, why),
        ("blocks.1", None, why),
        ("norm", None, why),
    ]
    assert report["total"] is None
    assert main(["params", "model.py"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("Total: an unknown number of parameters")


CHOICE = """\
import torch.nn as nn


class Head(nn.Module):
    def __init__(self, dim, affine):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        norm = nn.LayerNorm
        if affine:
            norm = nn.RMSNorm
        self.norm = norm(4)
        self.out = nn.Linear(4, 2) if dim > 2 else nn.Identity()
"""


def test_an_undecided_branch_is_neither_branch_alone(capsys, tmp_path, monkeypatch):
    # The last branch used to win: norm was always RMSNorm and out always a Linear.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "head.py").write_text(CHOICE)
    [report] = _static(capsys, "head.py")
    rows = [(p["name"], p["shape"], p["condition"]) for p in report["parameters"]]
    assert rows == [
        ("proj.weight", [4, 4], None),
        ("proj.bias", [4], None),
        ("norm.weight", [4], "not (affine)"),  # nn.LayerNorm
        ("norm.bias", [4], "not (affine)"),
        ("norm.weight", [4], "affine"),  # nn.RMSNorm
        ("out.weight", [2, 4], "dim > 2"),
        ("out.bias", [2], "dim > 2"),
    ]
    assert report["total"] is None


def _numel(shape: list[int]) -> int:
    n = 1
    for size in shape:
        n *= size
    return n


# ---------------------------------------------------------------------- the corpora


def _harness():
    spec = importlib.util.spec_from_file_location("param_tables", ROOT / "bench" / "param_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus_verdicts(tmp_path_factory) -> list[dict]:
    missing = [name for name in ("transformers", "diffusers", "timm") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: run scripts/setup --test"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    harness = _harness()
    index = str(tmp_path_factory.mktemp("index"))
    rows = []
    for package in ("timm", "diffusers", "transformers"):
        rows.extend({"package": package, **r} for r in harness.compare(sys.executable, package, index))
    return rows


def test_no_table_of_the_corpora_states_a_wrong_total(corpus_verdicts):
    wrong = [f"{r['package']}: {Path(r['path']).name}::{r['class']}" for r in corpus_verdicts if r["verdict"] == "wrong"]
    assert wrong == []


@pytest.mark.parametrize("kind", ["no-args", "config"])
def test_nine_tables_in_ten_of_the_corpora_are_exact(corpus_verdicts, kind):
    rows = [r for r in corpus_verdicts if r["kind"] == kind]
    exact = sum(r["verdict"] == "exact" for r in rows)
    assert len(rows) > 250 if kind == "config" else len(rows) > 380  # the corpus was read at all
    assert exact / len(rows) >= 0.90, f"{exact} of {len(rows)} exact"


def test_the_class_hover_says_what_was_not_followed_and_why(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.py").write_text(PARTIAL)
    assert main(["hover", "model.py:5:7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "**`Opaque`**: an unknown number of parameters"
    assert [line.split()[:3] + line.split()[-1:] for line in lines[3:7]] == [
        ["Opaque", "(nn.Module)", "?", "?"],
        ["├─", "fc:", "nn.Linear(dim,", "72"],
        ["├─", "blocks:", "nn.ModuleList([make_norm(dim)", "?"],
        ["└─", "norm:", "not", "?"],
    ]
    assert lines[-2:] == [
        "Not followed:",
        "- `blocks.0`: `make_norm(dim)` calls `some_library_not_installed.make_norm`, which torchwire cannot read",
    ]


def test_a_model_is_built_one_module_per_step():
    """What the server computes ahead of hovers, a step at a time: each step interprets one
    module's __init__ at most, and after the last one the table needs no more work."""
    from torchwire.engine.analysis import analyze
    from torchwire.engine.params import expand_modules, named_tensors

    text = textwrap.dedent("""
        import torch.nn as nn

        class Block(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.fc = nn.Linear(d, d)
                self.norm = nn.LayerNorm(d)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.ModuleList([Block(8) for _ in range(3)])
                self.head = nn.Linear(8, 2)
    """)
    net = next(c for c in analyze(text, "net.py").module_classes if c.name == "Net")
    steps = list(expand_modules(net.root))
    assert [m.display for m in steps] == ["Net", "nn.Linear", "nn.ModuleList", *["Block", "nn.LayerNorm", "nn.Linear"] * 3]
    assert all(m._members is not None for m in steps)
    assert [row.name for row in named_tensors(net.root)][:4] == ["blocks.0.fc.weight", "blocks.0.fc.bias", "blocks.0.norm.weight", "blocks.0.norm.bias"]


def test_the_hovers_computed_ahead_leave_the_analysis_model_as_it_built_it():
    """The server computes hovers ahead on another build of the class, let go once the texts
    are kept: the analysis's own model does not grow by every layer's parameters."""
    from torchwire.engine.analysis import analyze
    from torchwire.explain import member_summary

    text = textwrap.dedent("""
        import torch.nn as nn

        class Block(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.norm = nn.LayerNorm(d)

            def forward(self, x):
                return x + self.norm(x)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.ModuleList([Block(8) for _ in range(3)])

            def forward(self, x):
                for block in self.blocks:
                    x = block(x)
                return x
    """)
    net, again = (next(c for c in analyze(text, "net.py").module_classes if c.name == "Net") for _ in range(2))
    ahead = member_summary(net, "blocks", net.built_again())
    blocks = [entry.value for entry in net.root.members.children["blocks"].value.members.entries]
    assert [block.members.children["norm"].value._members for block in blocks[:1]] == [None]  # never expanded
    assert ahead == member_summary(again, "blocks")  # as a hover read from the class's model
    assert ahead.startswith("**`self.blocks`**: `nn.ModuleList`, 3 modules, 48 parameters")
    assert member_summary(net, "blocks") is ahead
