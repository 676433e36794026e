"""The repository tracks only what people wrote: nothing generated, installed or machine-local.

A tracked file under an ignored path (a set-up log, an install stamp, a cache) travels with every
clone and tells a fresh machine that something is there when it is not.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs in a git clone: git and .git are required")
        pytest.skip("not a git checkout")
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_no_tracked_file_is_ignored():
    tracked_but_ignored = _git("ls-files", "--cached", "--ignored", "--exclude-standard").split()
    assert tracked_but_ignored == []

