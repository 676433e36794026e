"""Shared set-up: the tests keep torchwire's package index in a folder of their own (never the
user's cache), inherited by the servers and commands they start."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def package_index(tmp_path_factory):
    os.environ["TORCHWIRE_INDEX_DIR"] = str(tmp_path_factory.mktemp("package-index"))
    yield


@pytest.fixture(autouse=True)
def result_cache(tmp_path_factory, monkeypatch):
    """`check`'s result cache in a folder of each test's own: the source tree stays clean and a
    test analyses what it checks (the cache's own tests choose their folder)."""
    monkeypatch.setenv("TORCHWIRE_CACHE_DIR", str(tmp_path_factory.mktemp("result-cache")))
