"""Models built on the packages PyTorch users have installed: transformers, diffusers and timm
(installed with --no-deps by scripts/setup --test, from tests/requirements/). torchwire reads
their files, never imports them, within a budget, and composes the tables of the user's classes
with theirs; the tables are compared, name by name and shape by shape, with what PyTorch
builds from the same files (in another process, on the meta device)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from torchwire.cli import main

FILES = Path(__file__).resolve().parent / "fixtures" / "installed"
PACKAGES = ("transformers", "diffusers", "timm")


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]  # found, not imported
    if missing:
        message = f"{', '.join(missing)} not installed: run scripts/setup --test"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def own_index(tmp_path, monkeypatch):
    """Each test starts with an empty package index (a cold run), in its own folder."""
    monkeypatch.setenv("TORCHWIRE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(FILES)


def static_table(capsys, file: str, cls: str) -> tuple[list[tuple[str, list[int] | None]], int | None]:
    assert main(["params", "--format", "json", "--class", cls, file]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert not [name for name in PACKAGES if name in sys.modules]  # read, never imported
    return [(p["name"], p["shape"]) for p in report["parameters"]], report["total"]


def pytorch_table(file: str, cls: str) -> list[tuple[str, list[int]]]:
    """What PyTorch registers: the user's file imported and its class built on the meta device."""
    script = textwrap.dedent(f"""
        import importlib.util, json, torch
        spec = importlib.util.spec_from_file_location("user_model", {str(FILES / file)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with torch.device("meta"):
            model = module.{cls}()
        print(json.dumps([(n, list(p.shape)) for n, p in model.named_parameters()]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=FILES)
    assert result.returncode == 0, result.stderr[-3000:]
    return [(name, shape) for name, shape in json.loads(result.stdout.strip().splitlines()[-1])]


@pytest.mark.parametrize(("file", "cls"), [
    ("llama_issue.py", "Head"),  # LlamaModel(LlamaConfig()): 6.6 billion parameters at the defaults
    ("llama_head.py", "Head"),  # a small config: dataclass fields, __post_init__ (head_dim, kv heads)
    ("gpt2_encoder.py", "Encoder"),  # attribute_map (hidden_size -> n_embd), Conv1D
    ("bert_classifier.py", "Classifier"),
    ("diffusers_unet.py", "Denoiser"),
    ("diffusers_unet.py", "SmallUNet"),  # blocks chosen by name in get_down_block / get_up_block
])
def test_tables_equal_pytorch(capsys, file, cls):
    static, total = static_table(capsys, file, cls)
    real = pytorch_table(file, cls)
    assert static == real
    assert total == sum(_numel(shape) for _, shape in real)


def _numel(shape: list[int]) -> int:
    n = 1
    for size in shape:
        n *= size
    return n


def test_timm_blocks_compose(capsys):
    # timm imports torchvision, which cannot be installed beside this torch: the table is
    # checked against what its constructors define (Block: LayerNorm, Attention without qkv
    # bias, Mlp with a 4x hidden layer; LayerScale and DropPath are Identity at the defaults).
    static, total = static_table(capsys, "timm_vit.py", "TinyViT")
    block = [
        ("norm1.weight", [32]), ("norm1.bias", [32]),
        ("attn.qkv.weight", [96, 32]), ("attn.proj.weight", [32, 32]), ("attn.proj.bias", [32]),
        ("norm2.weight", [32]), ("norm2.bias", [32]),
        ("mlp.fc1.weight", [128, 32]), ("mlp.fc1.bias", [128]), ("mlp.fc2.weight", [32, 128]), ("mlp.fc2.bias", [32]),
    ]
    head = [("head.fc1.weight", [64, 32]), ("head.fc1.bias", [64]), ("head.fc2.weight", [10, 64]), ("head.fc2.bias", [10])]
    expected = [(f"blocks.{i}.{name}", shape) for i in range(2) for name, shape in block] + head
    assert static == expected
    assert total == 27_978


def test_the_classic_bug_beside_an_installed_backbone_is_found_in_seconds(capsys):
    started = time.monotonic()
    assert main(["check", "--format", "json", "llama_issue.py"]) == 1
    elapsed = time.monotonic() - started
    findings = json.loads(capsys.readouterr().out)
    tw101 = [f for f in findings if f["code"] == "TW101"]
    assert [(f["range"]["start"], f["range"]["end"]) for f in tw101] == [
        ({"line": 11, "character": 12}, {"line": 11, "character": 20})]
    assert "transformers" not in sys.modules
    # Not a timing assertion (bench/ measures speed): a guard against the unbounded lookups that
    # took minutes before resolution had a budget.
    assert elapsed < 60


def test_a_second_run_reads_the_index_instead_of_the_files(capsys, tmp_path):
    from torchwire import packages

    assert main(["params", "--class", "Head", "llama_issue.py"]) == 0
    capsys.readouterr()
    stored = list((tmp_path / "index").glob("transformers-*.json"))
    assert len(stored) == 1
    parsed = []
    original = packages.IndexStore._read
    packages.IndexStore._read = lambda self, path: parsed.append(path) or original(self, path)
    try:
        assert main(["params", "--class", "Head", "llama_issue.py"]) == 0
    finally:
        packages.IndexStore._read = original
    assert parsed == []
    assert "6,607,343,946 parameters" in capsys.readouterr().out
