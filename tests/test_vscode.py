"""The VS Code extension (vscode-client/): its unit tests (node --test), its package, and an
end-to-end run in real VS Code: code-server with the freshly built .vsix installed, driven in
headless Chromium by vscode-client/test/e2e/run.js, which checks what a user sees on
examples/seed_1_discarded_outputs.py (diagnostic, Problems panel, hover, quick fix, saved file)
and on examples/notebook_model.ipynb (the squiggle in the model's cell, the hover in a later
cell, the quick fix in the cell, the saved notebook), and leaves screenshots in
test-artifacts/vscode/.

The tools come from scripts/setup-vscode. Without them these tests skip, except on CI
(CI=true), where they fail.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "vscode-client"
CACHE = Path(os.environ.get("TORCHWIRE_CACHE", ROOT / ".cache"))
NODE_BIN = CACHE / "node24" / "node_modules" / f"node-linux-{'arm64' if platform.machine() in ('aarch64', 'arm64') else 'x64'}" / "bin"
CODE_SERVER = CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SERVER = ROOT / ".venv" / "bin" / "torchwire"
ARTIFACTS = ROOT / "test-artifacts" / "vscode"


def _missing(e2e: bool) -> list[str]:
    needed = {
        "npm": shutil.which("npm"),
        "Node 24": (NODE_BIN / "node").is_file() or None,
        "the npm workspace (npm ci)": (ROOT / "node_modules" / ".bin" / "vsce").exists() or None,
    }
    if e2e:
        needed.update({
            "code-server": CODE_SERVER.exists() or None,
            "playwright-core": (ROOT / "node_modules" / "playwright-core").is_dir() or None,
            f"chromium ({CHROMIUM})": CHROMIUM.is_file() or None,
            f"the torchwire server ({SERVER})": SERVER.is_file() or None,
        })
    return [name for name, found in needed.items() if not found]


def _require(e2e: bool) -> None:
    missing = _missing(e2e)
    if missing:
        message = f"missing {', '.join(missing)}: run scripts/setup-vscode"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_extension_unit_tests():
    """Server discovery and the settings sent to the server (node --test)."""
    _require(e2e=False)
    result = _run(["npm", "test"], timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "# fail 0" in output or "ℹ fail 0" in output, output[-3000:]


@pytest.fixture(scope="module")
def vsix() -> Path:
    """`npm run package` from the root: type-check, bundle, package."""
    _require(e2e=False)
    version = json.loads((EXTENSION / "package.json").read_text())["version"]
    package = EXTENSION / f"torchwire-{version}.vsix"
    package.unlink(missing_ok=True)
    result = _run(["npm", "run", "package"], timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert package.is_file()
    return package


def test_package_contents(vsix: Path):
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    for name in ("extension/dist/extension.js", "extension/package.json", "extension/readme.md",
                 "extension/changelog.md", "extension/LICENSE.txt", "extension/images/icon.png"):
        assert name in names, sorted(names)
    assert not any("node_modules/" in n or n.endswith(".ts") or "/test/" in n for n in names), sorted(names)
    assert "extension/dist/mermaid.min.js" in names  # the dataflow view's renderer, bundled
    assert vsix.stat().st_size < 3_000_000  # mermaid is most of it
    assert manifest["publisher"] == "torchwire"
    assert manifest["repository"]["url"] == "https://github.com/torchwire/torchwire"
    assert set(manifest["contributes"]["configuration"]["properties"]) >= {
        "torchwire.path", "torchwire.select", "torchwire.ignore", "torchwire.severity", "torchwire.trace.server"}


def test_vscode_end_to_end(vsix: Path):
    """Real VS Code (code-server) in headless Chromium; see vscode-client/test/e2e/run.js."""
    _require(e2e=True)
    result = _run(["node", str(EXTENSION / "test" / "e2e" / "run.js"), str(vsix)], timeout=420)
    output = result.stdout + result.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "run.log").write_text(output)  # the step-by-step log, with timings, for a flaky run
    assert result.returncode == 0 and "RESULT: PASS" in output, output[-8000:]
    report = json.loads((ARTIFACTS / "result.json").read_text())
    failed = [check["name"] for check in report["checks"] if not check["ok"]]
    assert report["passed"] and not failed, failed
    for step in ("1-diagnostic", "2-hover", "2b-codelens", "2c-dataflow", "3-quickfix", "4-fixed", "6-notebook", "7-notebook-hover", "8-notebook-fixed"):
        assert (ARTIFACTS / f"{step}.png").is_file(), step
