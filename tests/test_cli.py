"""The `torchwire` command line, as a user or a CI job sees it: output, exit codes, files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from torchwire.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# What `torchwire check examples/` must report, and nothing else: (file, 1-based line, code).
EXPECTED_EXAMPLE_FINDINGS = [
    ("seed_1_discarded_outputs.py", 18, "TW101"),
    ("tw101_norm_output_dropped.py", 18, "TW101"),
    ("tw102_same_input_every_layer.py", 17, "TW102"),
    ("tw103_output_never_used.py", 20, "TW103"),
    ("tw201_plain_list.py", 16, "TW201"),
    ("tw202_shared_block.py", 15, "TW202"),
    ("tw203_modulelist_called.py", 17, "TW203"),
    ("tw204_sequential_list.py", 14, "TW204"),
    ("tw205_layer_in_forward.py", 18, "TW205"),
    ("tw206_requires_grad_tensor.py", 15, "TW206"),
    ("tw207_plain_tensor_mask.py", 15, "TW207"),
    ("tw208_module_before_init.py", 15, "TW208"),
    ("tw301_sizes_do_not_chain.py", 14, "TW301"),
    ("tw302_unused_submodule.py", 15, "TW302"),
    ("notebook_model.ipynb", 10, "TW101"),  # in its third cell (index 2)
]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_examples_reports_exactly_the_intended_findings(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "check", "examples", "--format", "json")
    findings = json.loads(out)
    got = sorted((Path(f["path"]).name, f["range"]["start"]["line"] + 1, f["code"]) for f in findings)
    assert got == sorted(EXPECTED_EXAMPLE_FINDINGS)
    assert code == 1


def test_check_text_output_for_the_article_network(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "check", "examples/seed_1_discarded_outputs.py")
    assert out.splitlines() == [
        "examples/seed_1_discarded_outputs.py:18:13: TW101 The output of `layer(x)` is thrown away: calling a "
        "module returns a new tensor and leaves `x` unchanged, so the modules of `self.layers` (nn.ModuleList) have "
        "no effect here. A ModuleList does not chain its modules: write `x = layer(x)`.",
        "Found 1 finding. 1 more fixable with --unsafe-fixes (review them: they change what the model computes).",
    ]
    assert code == 1


@pytest.mark.parametrize("name", ["seed_2_chained.py", "seed_3_branches.py"])
def test_correct_networks_are_clean(capsys, monkeypatch, name):
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "check", f"examples/{name}")
    assert (code, out) == (0, "All checks passed.\n")


def test_json_finding_shape(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, out, _ = run(capsys, "check", "--format", "json", "examples/tw204_sequential_list.py")
    (finding,) = json.loads(out)
    assert finding == {
        "path": "examples/tw204_sequential_list.py",
        "range": {"start": {"line": 13, "character": 19}, "end": {"line": 13, "character": 83}},
        "code": "TW204",
        "severity": "error",
        "message": (
            "`nn.Sequential` takes modules as separate arguments, not a list: this raises `TypeError: list is not "
            "a Module subclass`. Pass the modules themselves: `nn.Sequential(a, b)` or `nn.Sequential(*layers)`."
        ),
        "fix": {"safe": True, "title": "Pass the modules as separate arguments"},
    }


def test_json_columns_count_code_points(capsys, workdir):
    (workdir / "m.py").write_text(  # a discarded output (TW101) after non-ASCII text
        "import torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(2, 2)\n"
        "    def forward(self, x):\n"
        "        s = 'é😀'; self.fc(x)\n"
        "        return x\n",
        encoding="utf-8",
    )
    _, out, _ = run(capsys, "check", "--format", "json", "--select", "TW101", "m.py")
    (finding,) = json.loads(out)
    assert finding["range"]["start"] == {"line": 6, "character": 18}
    assert finding["range"]["end"] == {"line": 6, "character": 28}


def test_select_and_ignore(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, out, _ = run(capsys, "check", "examples", "--format", "json", "--select", "TW2", "--ignore", "TW203,TW204")
    assert sorted(f["code"] for f in json.loads(out)) == ["TW201", "TW202", "TW205", "TW206", "TW207", "TW208"]
    _, out, _ = run(capsys, "check", "examples", "--format", "json", "--select", "TW3")
    assert sorted(f["code"] for f in json.loads(out)) == ["TW301", "TW302"]


def test_fix_applies_safe_fixes_only(capsys, workdir):
    for name in ("tw203_modulelist_called.py", "seed_1_discarded_outputs.py"):
        shutil.copy(EXAMPLES / name, workdir / name)
    code, out, _ = run(capsys, "check", "--fix", ".")
    assert "Fixed 1 finding." in out
    fixed = (workdir / "tw203_modulelist_called.py").read_text()
    assert "self.layers = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))" in fixed
    assert (workdir / "seed_1_discarded_outputs.py").read_text() == (EXAMPLES / "seed_1_discarded_outputs.py").read_text()
    assert code == 1  # the unsafe finding remains


def test_unsafe_fixes_rewrite_the_article_network(capsys, workdir):
    shutil.copy(EXAMPLES / "seed_1_discarded_outputs.py", workdir / "net.py")
    code, out, _ = run(capsys, "check", "--unsafe-fixes", "net.py")
    assert (code, out) == (0, "Fixed 1 finding.\nAll checks passed.\n")
    expected = (EXAMPLES / "seed_1_discarded_outputs.py").read_text().replace("            layer(x)\n", "            x = layer(x)\n")
    assert (workdir / "net.py").read_text() == expected


def test_diff_shows_and_does_not_write(capsys, workdir):
    shutil.copy(EXAMPLES / "tw204_sequential_list.py", workdir / "mlp.py")
    before = (workdir / "mlp.py").read_text()
    code, out, _ = run(capsys, "check", "--diff", "mlp.py")
    assert code == 1
    assert "-        self.net = nn.Sequential([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])" in out.splitlines()
    assert "+        self.net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))" in out.splitlines()
    assert (workdir / "mlp.py").read_text() == before


def test_syntax_error_is_one_finding_and_the_run_goes_on(capsys, workdir):
    (workdir / "broken.py").write_text("import torch\nclass M(torch.nn.Module:\n    pass\n")
    shutil.copy(EXAMPLES / "tw204_sequential_list.py", workdir / "ok.py")
    code, out, _ = run(capsys, "check", "--format", "json", ".")
    codes = sorted((f["path"], f["code"]) for f in json.loads(out))
    assert codes == [("broken.py", "TW000"), ("ok.py", "TW204")]
    broken = next(f for f in json.loads(out) if f["code"] == "TW000")
    assert broken["message"].startswith("Syntax error: ")
    assert broken["range"]["start"]["line"] == 1
    assert code == 1


def test_missing_path_is_a_usage_error(capsys, workdir):
    code, _, err = run(capsys, "check", "nope.py")
    assert code == 2
    assert "nope.py: no such file or directory" in err


def test_unknown_flag_is_a_usage_error(capsys):
    assert main(["check", "--no-such-flag"]) == 2


def test_discovery_skips_hidden_venvs_and_gitignored(capsys, workdir):
    bug = (EXAMPLES / "tw204_sequential_list.py").read_text()
    (workdir / ".git").mkdir()
    (workdir / ".gitignore").write_text("generated/\n")
    for rel in ("pkg/a.py", ".hidden/b.py", "env/lib/c.py", "generated/d.py", "pkg/sub/e.py"):
        (workdir / rel).parent.mkdir(parents=True, exist_ok=True)
        (workdir / rel).write_text(bug)
    (workdir / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    _, out, _ = run(capsys, "check", "--format", "json", ".")
    assert sorted(f["path"] for f in json.loads(out)) == ["pkg/a.py", "pkg/sub/e.py"]


def test_pyproject_configuration(capsys, workdir):
    shutil.copy(EXAMPLES / "tw202_shared_block.py", workdir / "a.py")
    shutil.copy(EXAMPLES / "tw206_requires_grad_tensor.py", workdir / "b.py")
    (workdir / "pyproject.toml").write_text('[tool.torchwire]\nignore = ["TW206"]\nseverity = { TW202 = "error" }\n')
    _, out, _ = run(capsys, "check", "--format", "json", ".")
    assert [(f["code"], f["severity"]) for f in json.loads(out)] == [("TW202", "error")]


def test_noqa_suppresses(capsys, workdir):
    text = (EXAMPLES / "tw204_sequential_list.py").read_text()
    line = "        self.net = nn.Sequential([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])"
    (workdir / "a.py").write_text(text.replace(line, line + "  # noqa: TW204"))
    (workdir / "b.py").write_text(text.replace(line, line + "  # noqa"))
    (workdir / "c.py").write_text(text.replace(line, line + "  # noqa: TW101"))
    _, out, _ = run(capsys, "check", "--format", "json", ".")
    assert [f["path"] for f in json.loads(out)] == ["c.py"]


def test_latin1_file_with_coding_cookie(capsys, workdir):
    text = "# -*- coding: latin-1 -*-\n# café\n" + (EXAMPLES / "tw204_sequential_list.py").read_text()
    (workdir / "old.py").write_bytes(text.encode("latin-1"))
    _, out, _ = run(capsys, "check", "--format", "json", "--fix", "old.py")
    assert json.loads(out) == []
    assert (workdir / "old.py").read_bytes().decode("latin-1").startswith("# -*- coding: latin-1 -*-\n# café\n")


def test_undecodable_file_is_reported_not_fatal(capsys, workdir):
    (workdir / "bad.py").write_bytes(b"import torch\nx = '\xff\xfe'\n")
    code, out, _ = run(capsys, "check", "--format", "json", ".")
    (finding,) = json.loads(out)
    assert finding["code"] == "TW000" and finding["message"].startswith("Cannot read this file:")
    assert code == 1


PARAMS_SEED_1 = """\
examples/seed_1_discarded_outputs.py:11: DiscardedOutputs
name             shape     count
--------------------------------
layers.0.weight  [20, 10]    200
layers.0.bias    [20]         20
layers.2.weight  [10, 20]    200
layers.2.bias    [10]         10
Total: 430 parameters (1.7 KB as float32)
"""


def test_params_text(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "params", "examples/seed_1_discarded_outputs.py")
    assert (code, out) == (0, PARAMS_SEED_1)


def test_params_json_for_the_three_seed_networks(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, out, _ = run(capsys, "params", "--format", "json", "examples/seed_1_discarded_outputs.py",
                    "examples/seed_2_chained.py", "examples/seed_3_branches.py")
    reports = json.loads(out)
    assert [(r["class"], r["line"], r["total"]) for r in reports] == [
        ("DiscardedOutputs", 10, 430), ("Chained", 6, 430), ("Branches", 10, 1060)]
    assert reports[2]["parameters"] == [
        {"name": "layers.0.weight", "shape": [20, 10], "expr": ["20", "10"], "numel": 200, "condition": None, "unknown": None},
        {"name": "layers.0.bias", "shape": [20], "expr": ["20"], "numel": 20, "condition": None, "unknown": None},
        {"name": "layers.2.weight", "shape": [30, 20], "expr": ["30", "20"], "numel": 600, "condition": None, "unknown": None},
        {"name": "layers.2.bias", "shape": [30], "expr": ["30"], "numel": 30, "condition": None, "unknown": None},
        {"name": "layers.3.weight", "shape": [10, 20], "expr": ["10", "20"], "numel": 200, "condition": None, "unknown": None},
        {"name": "layers.3.bias", "shape": [10], "expr": ["10"], "numel": 10, "condition": None, "unknown": None},
    ]


def test_params_symbolic_shapes(capsys, workdir):
    (workdir / "ffn.py").write_text(
        "import torch.nn as nn\n\n"
        "class FeedForward(nn.Module):\n"
        "    def __init__(self, d_model, bias=True):\n"
        "        super().__init__()\n"
        "        self.up = nn.Linear(d_model, 4 * d_model, bias=bias)\n"
        "        self.down = nn.Linear(4 * d_model, d_model)\n"
    )
    _, out, _ = run(capsys, "params", "--format", "json", "--class", "FeedForward", "ffn.py")
    (report,) = json.loads(out)
    assert report["parameters"] == [
        {"name": "up.weight", "shape": None, "expr": ["4*d_model", "d_model"], "numel": None, "condition": None, "unknown": None},
        {"name": "up.bias", "shape": None, "expr": ["4*d_model"], "numel": None, "condition": None, "unknown": None},
        {"name": "down.weight", "shape": None, "expr": ["d_model", "4*d_model"], "numel": None, "condition": None, "unknown": None},
        {"name": "down.bias", "shape": None, "expr": ["d_model"], "numel": None, "condition": None, "unknown": None},
    ]
    assert report["total"] is None


def test_params_unknown_class(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, _, err = run(capsys, "params", "--class", "Nope", "examples/seed_2_chained.py")
    assert code == 2 and "No nn.Module class named 'Nope'" in err


def test_hover_prints_what_the_editor_shows(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "hover", "examples/seed_1_discarded_outputs.py:14:14")
    assert code == 0
    assert out.splitlines()[0] == "**`self.layers`**: `nn.ModuleList`, 3 modules, 430 parameters (1.7 KB as float32)"
    assert "| `layers.2.weight` | `[10, 20]` | 200 |" in out.splitlines()
    assert run(capsys, "hover", "examples/seed_1_discarded_outputs.py:1:1")[0] == 1
    assert run(capsys, "hover", "examples/seed_1_discarded_outputs.py")[0] == 2


def test_rule_explains_itself(capsys):
    code, out, _ = run(capsys, "rule", "TW101")
    assert code == 0
    assert out.startswith("# TW101: module-output-discarded\n")
    assert "## Why is this bad?" in out and "x = layer(x)" in out


def test_rule_list(capsys):
    _, out, _ = run(capsys, "rule")
    assert [line.split()[0] for line in out.splitlines()] == [
        "TW101", "TW102", "TW103", "TW201", "TW202", "TW203", "TW204", "TW205", "TW206", "TW207", "TW208", "TW301", "TW302"]


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "torchwire"
    result = subprocess.run([str(exe), "check", str(EXAMPLES / "seed_2_chained.py")], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "All checks passed.\n")


def test_unused_submodule_read_by_another_file_of_the_project_is_not_reported(capsys, workdir):
    (workdir / "model.py").write_text((EXAMPLES / "tw302_unused_submodule.py").read_text())
    _, out, _ = run(capsys, "check", "--format", "json", "model.py")
    assert [f["code"] for f in json.loads(out)] == ["TW302"]
    (workdir / "pipeline.py").write_text("def project(encoder, x):\n    return encoder.proj(x)\n")
    for paths in (["."], ["model.py"]):  # alone (as pre-commit checks it) as with the whole project
        _, out, _ = run(capsys, "check", "--format", "json", *paths)
        assert json.loads(out) == []


BASE_WITH_HEAD = """\
import torch.nn as nn


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(8, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.body(x)
"""


def test_a_submodule_used_by_a_derived_class_of_another_file_is_used(capsys, workdir):
    (workdir / "backbone.py").write_text(BASE_WITH_HEAD)
    (workdir / "other.py").write_text(
        "import torch.nn as nn\n\n\nclass Other(nn.Module):\n    def forward(self, x):\n        return self.head(x)\n")
    _, out, _ = run(capsys, "check", "--format", "json", "backbone.py")
    assert [(f["code"], f["range"]["start"]["line"]) for f in json.loads(out)] == [("TW302", 7)]  # self.head: another class reads its own head
    (workdir / "classifier.py").write_text(
        "from backbone import Backbone\n\n\nclass Classifier(Backbone):\n    def forward(self, x):\n        return self.head(super().forward(x))\n")
    _, out, _ = run(capsys, "check", "--format", "json", "backbone.py")
    assert json.loads(out) == []


def test_a_class_with_a_base_torchwire_cannot_read_is_not_said_to_leave_a_submodule_unused(capsys, workdir):
    (workdir / "model.py").write_text(
        "import torch.nn as nn\n\n\ndef make(klass):\n    class Encoder(klass):\n        def __init__(self):\n"
        "            super().__init__()\n            self.spare = nn.Linear(8, 8)\n\n        def forward(self, x):\n"
        "            return x\n\n    return Encoder\n")
    _, out, _ = run(capsys, "check", "--format", "json", "model.py")
    assert json.loads(out) == []


def test_a_folder_with_nothing_to_check_warns_instead_of_passing_silently(capsys, workdir):
    (workdir / ".git").mkdir()  # a repository whose .gitignore lists the folder
    (workdir / ".gitignore").write_text("generated/\n")
    (workdir / "generated").mkdir()
    (workdir / "generated" / "model.py").write_text("import torch.nn as nn\n")
    code, out, err = run(capsys, "check", "generated")
    assert (code, out) == (0, "All checks passed.\n")
    assert err.startswith("warning: no Python files found under the given paths")
    code, _, err = run(capsys, "check", "generated/model.py")  # named explicitly: checked
    assert (code, err) == (0, "")


def test_transformers_modular_files_are_left_to_their_generated_files(capsys, tmp_path, monkeypatch):
    """transformers' `modular_x.py` is expanded by its converter into `modeling_x.py` (which
    says so): the template's partial methods (`super().forward(...)` then changes) are not what
    runs, so `check` reports on the generated file only; a `modular_` file nothing was generated
    from is checked as any other."""
    broken = (EXAMPLES / "seed_1_discarded_outputs.py").read_text(encoding="utf-8")
    header = "# This file was automatically generated from src/transformers/models/x/modular_x.py.\n"
    (tmp_path / "modular_x.py").write_text(broken, encoding="utf-8")
    (tmp_path / "modeling_x.py").write_text(header + broken, encoding="utf-8")
    (tmp_path / "modular_y.py").write_text(broken, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    main(["check", "--format", "json", "--no-cache", "."])
    findings = json.loads(capsys.readouterr().out)
    assert sorted({f["path"] for f in findings}) == ["modeling_x.py", "modular_y.py"]
