"""`torchwire check` in a CI job: SARIF that validates and survives edits, GitHub annotations,
the full and concise text, statistics, --exit-zero and --output-file; the pre-commit hooks of
this repository run by real pre-commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from torchwire.cli import main
from torchwire.fixes.edits import apply_edits
from torchwire.engine.findings import TextEdit
from torchwire.engine.source import Position, Range

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

# TW204 over three lines, after a line with a comma and a colon in its text.
MULTI_LINE = """\
import torch.nn as nn


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        # sizes: 4, 4
        self.body = nn.Sequential([
            nn.Linear(4, 4),
            nn.ReLU()])

    def forward(self, x):
        return self.body(x)
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder (with a pyproject.toml, so that it is the root) as the working directory."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'm'\n")
    (tmp_path / "models").mkdir()
    shutil.copy(EXAMPLES / "seed_1_discarded_outputs.py", tmp_path / "models" / "seed.py")
    shutil.copy(EXAMPLES / "tw204_sequential_list.py", tmp_path / "models" / "seq.py")
    (tmp_path / "models" / "head.py").write_text(MULTI_LINE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sarif_of(capsys, *paths: str) -> dict:
    code, out, _ = run(capsys, "check", "--format", "sarif", *paths)
    assert code == 1
    return json.loads(out)


def test_sarif_validates_against_the_schema_and_describes_every_rule(capsys, project):
    log = sarif_of(capsys, ".")
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    run_ = log["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "torchwire" and driver["version"]
    from torchwire.rules import ALL_RULES

    assert [r["id"] for r in driver["rules"]] == ["TW000", *(r.code for r in ALL_RULES)]
    tw101 = next(r for r in driver["rules"] if r["id"] == "TW101")
    assert tw101["name"] == "module-output-discarded"
    assert tw101["shortDescription"]["text"] == "A module is called as a statement; its output is thrown away"
    assert tw101["fullDescription"]["text"].startswith("Flags a call of a registered submodule")
    assert tw101["help"]["markdown"].startswith("## What it does")
    assert tw101["helpUri"].endswith("/docs/rules/TW101.md")
    assert tw101["defaultConfiguration"] == {"level": "warning"}
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    assert run_["columnKind"] == "unicodeCodePoints"


def test_a_sarif_result_points_at_the_range_with_a_relative_uri(capsys, project):
    results = sarif_of(capsys, ".")["runs"][0]["results"]
    tw101 = next(r for r in results if r["ruleId"] == "TW101")
    assert tw101["level"] == "warning"
    assert tw101["message"]["text"].startswith("The output of `layer(x)` is thrown away")
    assert tw101["locations"] == [{"physicalLocation": {
        "artifactLocation": {"uri": "models/seed.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 18, "startColumn": 13, "endLine": 18, "endColumn": 21, "snippet": {"text": "layer(x)"}},
    }}]
    multi = next(r for r in results if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/head.py")
    region = multi["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endLine"], region["endColumn"]) == (8, 21, 10, 24)


def test_sarif_fixes_applied_give_what_check_fix_writes(capsys, project):
    results = sarif_of(capsys, "models/seq.py")["runs"][0]["results"]
    (result,) = results
    (fix,) = result["fixes"]
    assert fix["description"]["text"] == "Pass the modules as separate arguments"
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "models/seq.py", "uriBaseId": "%SRCROOT%"}
    text = (project / "models" / "seq.py").read_text()
    edits = [TextEdit(Range(Position(r["deletedRegion"]["startLine"] - 1, r["deletedRegion"]["startColumn"] - 1),
                            Position(r["deletedRegion"]["endLine"] - 1, r["deletedRegion"]["endColumn"] - 1)),
                      r["insertedContent"]["text"]) for r in change["replacements"]]
    via_sarif = apply_edits(text, edits)
    run(capsys, "check", "--fix", "models/seq.py")
    assert via_sarif == (project / "models" / "seq.py").read_text() != text


def test_fingerprints_survive_edits_elsewhere_and_tell_twins_apart(capsys, project):
    before = {r["ruleId"]: r["partialFingerprints"] for r in sarif_of(capsys, "models/seed.py")["runs"][0]["results"]}
    path = project / "models" / "seed.py"
    path.write_text("# a comment typed at the top\n\n" + path.read_text())
    after = {r["ruleId"]: r["partialFingerprints"] for r in sarif_of(capsys, "models/seed.py")["runs"][0]["results"]}
    assert before == after and list(after) == ["TW101"]
    # The same bug twice in one file: two results, two fingerprints.
    twice = path.read_text() + "\n\n" + (EXAMPLES / "seed_1_discarded_outputs.py").read_text().split("\n\n\n", 1)[1].replace(
        "class MLP", "class MLP2")
    path.write_text(twice)
    prints = [json.dumps(r["partialFingerprints"]) for r in sarif_of(capsys, "models/seed.py")["runs"][0]["results"]]
    assert len(prints) == 2 and len(set(prints)) == 2


def test_github_annotations(capsys, project):
    code, out, _ = run(capsys, "check", "--format", "github", "models/head.py", "models/seed.py")
    assert code == 1
    assert out.splitlines() == [
        # Over three lines: GitHub takes no columns then.
        "::error file=models/head.py,line=8,endLine=10,title=TW204::`nn.Sequential` takes modules as separate arguments, "
        "not a list: this raises `TypeError: list is not a Module subclass`. Pass the modules themselves: "
        "`nn.Sequential(a, b)` or `nn.Sequential(*layers)`.",
        "::warning file=models/seed.py,line=18,col=13,endLine=18,endColumn=21,title=TW101::The output of `layer(x)` is "
        "thrown away: calling a module returns a new tensor and leaves `x` unchanged, so the modules of `self.layers` "
        "(nn.ModuleList) have no effect here. A ModuleList does not chain its modules: write `x = layer(x)`.",
    ]


def test_github_escapes_what_would_end_a_property_or_the_message():
    from torchwire.engine.findings import Finding, Severity
    from torchwire.reporting import github

    finding = Finding("TW301", "100% wrong\nsecond line", Range(Position(0, 0), Position(0, 1)), Severity.ERROR, path="a,b:c.py")
    assert github([finding]) == ["::error file=a%2Cb%3Ac.py,line=1,col=1,endLine=1,endColumn=2,title=TW301::100%25 wrong%0Asecond line"]


def test_full_shows_the_line_and_a_caret_under_the_range(capsys, project):
    code, out, _ = run(capsys, "check", "--format", "full", "models/seed.py", "models/head.py")
    assert code == 1
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("models/seed.py:18:13: TW101")))
    assert lines[start + 1 : start + 6] == [
        "   |",
        "18 |             layer(x)",
        "   |             ^^^^^^^^",
        "   = fix (unsafe): Assign the output: `x = layer(x)`",
        "",
    ]
    start = lines.index(next(line for line in lines if line.startswith("models/head.py:8:21: TW204 [*]")))
    assert lines[start + 1 : start + 5] == [
        "  |",
        "8 |         self.body = nn.Sequential([",
        "  |                     ^^^^^^^^^^^^^^^ (and 2 more lines)",
        "  = fix: Pass the modules as separate arguments",
    ]
    assert lines[-1] == "Found 2 findings. 1 fixable with --fix. 1 more fixable with --unsafe-fixes (review them: they change what the model computes)."


def test_concise_is_one_line_per_finding(capsys, project):
    _, concise, _ = run(capsys, "check", "--format", "concise", "models/seed.py")
    _, text, _ = run(capsys, "check", "models/seed.py")
    assert concise == text and len(concise.splitlines()) == 2


def test_statistics_exit_zero_and_output_file(capsys, project):
    code, out, _ = run(capsys, "check", "--statistics", ".")
    assert code == 1
    assert out.splitlines() == [  # most frequent first, then by code
        "2\tTW204\t[*] container-misbuilt", "1\tTW101\tmodule-output-discarded", "Found 3 findings.",
    ]
    code, out, _ = run(capsys, "check", "--statistics", "--format", "json", ".")
    assert json.loads(out)[0] == {"code": "TW204", "name": "container-misbuilt", "count": 2, "fixable": 2}
    code, out, _ = run(capsys, "check", "--exit-zero", "--format", "sarif", "--output-file", "report.sarif", ".")
    assert (code, out) == (0, "")
    assert len(json.loads((project / "report.sarif").read_text())["runs"][0]["results"]) == 3


# ---------------------------------------------------------------------- pre-commit


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def test_the_pre_commit_hooks_of_this_repository(tmp_path):
    """Real pre-commit installs this repository (its last commit) as a hook repository: the
    `torchwire` hook fails on a buggy file and passes once it is fixed; `torchwire-fix` applies
    the safe fixes."""
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pre-commit is not installed (scripts/setup --test installs it)")
        pytest.skip("pre-commit is not installed")
    rev = _git(ROOT, "rev-parse", "HEAD")
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(EXAMPLES / "seed_1_discarded_outputs.py", repo / "model.py")
    shutil.copy(EXAMPLES / "tw204_sequential_list.py", repo / "seq.py")
    shutil.copy(EXAMPLES / "notebook_model.ipynb", repo / "nb.ipynb")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {rev}\n  hooks:\n  - id: torchwire\n    files: ^(model\\.py|nb\\.ipynb)$\n  - id: torchwire-fix\n    files: ^seq\\.py$\n")
    _git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def hook(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([pre_commit, "run", name, "--all-files"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)

    failed = hook("torchwire")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "model.py:18:13: TW101 The output of `layer(x)` is thrown away" in failed.stdout
    assert "nb.ipynb:cell 3:10:13: TW101 The output of `block(x)` is thrown away" in failed.stdout  # notebooks too
    fixed = (repo / "model.py").read_text().replace("            layer(x)\n", "            x = layer(x)\n")
    (repo / "model.py").write_text(fixed)
    (repo / "nb.ipynb").write_text((repo / "nb.ipynb").read_text().replace('"            block(x)', '"            x = block(x)'))
    passed = hook("torchwire")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
    fixing = hook("torchwire-fix")
    assert fixing.returncode == 1 and "files were modified by this hook" in fixing.stdout
    assert "nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))" in (repo / "seq.py").read_text()
    assert hook("torchwire-fix").returncode == 0


# ---------------------------------------------------------------------- jobs and cache

LAYERS = """\
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return self.fc(x)
"""

MODEL = """\
import torch.nn as nn

from layers import Block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [Block(4) for _ in range(2)]

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
"""


@pytest.fixture
def blocks_project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'm'\n")
    (tmp_path / "layers.py").write_text(LAYERS)
    (tmp_path / "model.py").write_text(MODEL)
    for i in range(3):  # more files than jobs
        shutil.copy(EXAMPLES / "seed_1_discarded_outputs.py", tmp_path / f"seed_{i}.py")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_results_are_the_same_whatever_the_number_of_jobs(capsys, blocks_project):
    outputs = {jobs: run(capsys, "check", "--no-cache", "--jobs", jobs, "--format", "json", ".")[1] for jobs in ("1", "2", "3")}
    assert outputs["1"] == outputs["2"] == outputs["3"]
    assert [(Path(f["path"]).name, f["code"]) for f in json.loads(outputs["1"])] == [
        ("model.py", "TW201"), *[(f"seed_{i}.py", "TW101") for i in range(3)]]
    assert not (blocks_project / ".torchwire_cache").exists()


def test_a_cached_result_follows_the_imported_block(capsys, blocks_project, monkeypatch):
    monkeypatch.delenv("TORCHWIRE_CACHE_DIR")  # the default place
    first = run(capsys, "check", "--format", "json", ".")[1]
    cache = blocks_project / ".torchwire_cache"
    assert (cache / "CACHEDIR.TAG").is_file() and (cache / ".gitignore").read_text().endswith("*\n")
    assert run(capsys, "check", "--format", "json", ".")[1] == first  # from the cache
    # Block stops being a module: the plain list in model.py (unchanged) is fine now.
    (blocks_project / "layers.py").write_text(LAYERS.replace("class Block(nn.Module):", "class Block:").replace(
        "        super().__init__()\n        self.fc = nn.Linear(d, d)\n", "        self.d = d\n").replace("self.fc(x)", "x"))
    after = json.loads(run(capsys, "check", "--format", "json", ".")[1])
    assert "TW201" not in [f["code"] for f in after] and len(after) == 3
    assert after == json.loads(run(capsys, "check", "--no-cache", "--format", "json", ".")[1])


def test_touching_one_file_analyses_it_and_its_users_only(blocks_project):
    from torchwire.checking import ResultCache, Task, run_tasks
    from torchwire.config import Config
    from torchwire.project import Project

    names = ["layers.py", "model.py", "seed_0.py", "seed_1.py", "seed_2.py"]

    def one_run() -> tuple[int, int]:
        cache = ResultCache(blocks_project / ".torchwire_cache")
        project = Project(str(blocks_project))
        tasks = [Task(name, name, (blocks_project / name).read_text(), Config(), False) for name in names]
        keys = [cache.key(task, None) for task in tasks]
        missing = [(task, key) for task, key in zip(tasks, keys) if cache.get(key) is None]
        for (task, key), result in zip(missing, run_tasks([t for t, _ in missing], 1, project, str(blocks_project), None)):
            cache.put(key, result)
        return cache.hits, cache.misses

    assert one_run() == (0, 5)
    assert one_run() == (5, 0)
    os.utime(blocks_project / "seed_1.py", (1, 1))  # touched, not changed: still a hit
    assert one_run() == (5, 0)
    (blocks_project / "layers.py").write_text(LAYERS.replace("nn.Linear(d, d)", "nn.Linear(d, 2 * d)"))
    assert one_run() == (3, 2)  # layers.py itself, and model.py, which imports it


def test_cache_dir_option_and_environment_variable(capsys, blocks_project, tmp_path_factory, monkeypatch):
    monkeypatch.delenv("TORCHWIRE_CACHE_DIR")
    chosen = tmp_path_factory.mktemp("chosen")
    run(capsys, "check", "--cache-dir", str(chosen), ".")
    assert any(chosen.rglob("*.json")) and not (blocks_project / ".torchwire_cache").exists()
    from_env = tmp_path_factory.mktemp("env")
    monkeypatch.setenv("TORCHWIRE_CACHE_DIR", str(from_env))
    run(capsys, "check", ".")
    assert any(from_env.rglob("*.json")) and not (blocks_project / ".torchwire_cache").exists()


def test_two_runs_may_share_a_cache(blocks_project, monkeypatch):
    monkeypatch.delenv("TORCHWIRE_CACHE_DIR")
    command = [sys.executable, "-m", "torchwire", "check", "--format", "json", "--jobs", "1", "."]
    runs = [subprocess.Popen(command, cwd=blocks_project, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=300)[0] for p in runs]
    fresh = subprocess.run([*command, "--no-cache"], cwd=blocks_project, capture_output=True, text=True).stdout
    assert outputs == [fresh] * 3
    again = subprocess.run(command, cwd=blocks_project, capture_output=True, text=True).stdout
    assert again == fresh
    assert not list((blocks_project / ".torchwire_cache").rglob(".tmp-*"))


def test_without_worker_processes_check_runs_on_one_core(capsys, blocks_project, monkeypatch):
    import torchwire.checking

    expected = run(capsys, "check", "--no-cache", "--jobs", "1", "--format", "json", ".")[1]

    def no_semaphores():
        raise OSError("[Errno 38] Function not implemented")

    monkeypatch.setattr(torchwire.checking, "_context", no_semaphores)
    code, out, err = run(capsys, "check", "--no-cache", "--jobs", "2", "--format", "json", ".")
    assert (code, out) == (1, expected)
    assert err == "warning: cannot run 2 jobs ([Errno 38] Function not implemented); analysing on one core\n"
