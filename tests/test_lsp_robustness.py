"""Random edits of real example files, sent to one running server as incremental changes
(deleted and duplicated lines, truncation, unbalanced brackets, tabs, non-ASCII): it never
crashes, every range it returns lies inside the document, and its diagnostics are those of a
fresh analysis of the same text."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsp_client import units
from rpc import RawServer
from torchwire.engine.analysis import analyze

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TEXTS = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.py"))]
SNIPPETS = ["(", ")", "[", "]", ":", "\t", "é😀", "    ", "\n", "layer(x)\n", "self.", "#", '"', "def ", "\\", "x = "]
CAPABILITIES = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {"diagnostic": {}, "hover": {"contentFormat": ["markdown"]}, "codeAction": {}},
}
uris = itertools.count()


@pytest.fixture(scope="module")
def server():
    server = RawServer()
    request = server.request("initialize", {"processId": None, "rootUri": None, "capabilities": CAPABILITIES, "initializationOptions": {"debounce": 0}})
    server.send(request)
    assert server.response_to(request["id"])["result"]["capabilities"]["positionEncoding"] == "utf-16"
    server.send(server.notification("initialized", {}))
    yield server
    assert server.proc.poll() is None, "the server died"
    server.close()


def position(text: str, offset: int) -> dict:
    before = text[:offset]
    line = before.count("\n")
    start = before.rfind("\n") + 1
    return {"line": line, "character": units(text[start:offset], "utf-16")}


@st.composite
def edit(draw, text: str):
    """(start offset, end offset, new text) of one change."""
    lines = text.split("\n")
    line_starts = list(itertools.accumulate([0] + [len(line) + 1 for line in lines]))
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["delete-lines", "duplicate-line", "insert", "replace", "truncate"]))
    if kind == "delete-lines":
        j = min(i + draw(st.integers(1, 3)), len(lines))
        return line_starts[i], min(line_starts[j], len(text)), ""
    if kind == "duplicate-line":
        return line_starts[i], line_starts[i], lines[i] + "\n"
    if kind == "truncate":
        return draw(st.integers(0, len(text))), len(text), ""
    start = line_starts[i] + draw(st.integers(0, len(lines[i])))
    end = start if kind == "insert" else min(start + draw(st.integers(0, 8)), line_starts[i] + len(lines[i]))
    return start, end, draw(st.sampled_from(SNIPPETS))


@st.composite
def sessions(draw):
    original = text = draw(st.sampled_from(TEXTS))
    versions = []
    for _ in range(draw(st.integers(1, 5))):
        start, end, new = draw(edit(text))
        versions.append((position(text, start), position(text, end), new))
        text = text[:start] + new + text[end:]
        versions[-1] += (text,)
    probes = draw(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 120)), max_size=3))
    return original, versions, probes


def inside(text: str, rng: dict) -> bool:
    lines = text.split("\n")
    for key in ("start", "end"):
        p = rng[key]
        if not (0 <= p["line"] < len(lines) and 0 <= p["character"] <= units(lines[p["line"]], "utf-16")):
            return False
    return (rng["start"]["line"], rng["start"]["character"]) <= (rng["end"]["line"], rng["end"]["character"])


def expected(text: str) -> list[tuple]:
    analysis = analyze(text, "doc.py")
    out = []
    for f in analysis.findings:
        line_text = text.split("\n")[f.range.start.line]
        end_text = text.split("\n")[f.range.end.line]
        out.append((f.code, f.message, f.range.start.line, units(line_text[: f.range.start.character], "utf-16"),
                    f.range.end.line, units(end_text[: f.range.end.character], "utf-16")))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(sessions())
def test_random_edits_never_break_the_server(server, session):
    original, versions, probes = session
    uri = f"file:///workspace/doc{next(uris)}.py"
    server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": original}}))
    text = original
    for version, (start, end, new, after) in enumerate(versions, start=2):
        server.send(server.notification("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": start, "end": end}, "text": new}],
        }))
        text = after
    pull = server.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})
    server.send(pull)
    report = server.response_to(pull["id"])["result"]
    got = [(d["code"], d["message"], d["range"]["start"]["line"], d["range"]["start"]["character"],
            d["range"]["end"]["line"], d["range"]["end"]["character"]) for d in report["items"]]
    for d in report["items"]:
        assert inside(text, d["range"]), d
    fresh = expected(text) if "torch" in text else []
    syntax_errors = [f for f in fresh if f[0] == "TW000"]
    if not syntax_errors:
        assert got == fresh
    else:
        # While the text does not parse, the server reports the same syntax error as a fresh
        # analysis, and keeps the last findings of the code the edits did not touch.
        assert [g for g in got if g[0] == "TW000"] == syntax_errors
    for line, character in probes:
        for method, params in (
            ("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
            ("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": character}}, "context": {"diagnostics": []}}),
        ):
            request = server.request(method, params)
            server.send(request)
            response = server.response_to(request["id"])
            assert "error" not in response, response
            if method == "textDocument/hover" and response["result"]:
                assert inside(text, response["result"]["range"])
    server.send(server.notification("textDocument/didClose", {"textDocument": {"uri": uri}}))


def test_latest_wins_with_the_default_settings():
    """No debounce by default: each analysis starts at once and publishes the version it is of
    only if no newer one came meanwhile; changes that come while it runs are coalesced into one
    more analysis of the latest text. The versions published never go down, and end at the last."""
    burst = RawServer()
    try:
        request = burst.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}, "initializationOptions": {}})
        burst.send(request)
        burst.response_to(request["id"])
        burst.send(burst.notification("initialized", {}))
        uri = "file:///workspace/burst.py"
        text = TEXTS[0]
        bug = "        for layer in self.layers:\n            layer(x)\n"
        assert bug in text  # the classic bug of the first example
        messages = [burst.notification("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})]
        for version in range(2, 7):  # a comment typed a character at a time at the end of the file
            end = len(text.split("\n")) - 1
            messages.append(burst.notification("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": end, "character": 0}, "end": {"line": end, "character": 0}}, "text": "#"}],
            }))
        burst.send(*messages)  # in one write, as a fast typist's editor may
        published = []
        while not published or published[-1]["version"] != 6:
            message = burst.read(30)
            if message.get("method") == "textDocument/publishDiagnostics":
                published.append(message["params"])
        versions = [p["version"] for p in published]
        # Never an older version after a newer one; the same version may be published again
        # when imports resolved in the background refresh it.
        assert versions == sorted(versions) and versions[-1] == 6
        assert [d["code"] for d in published[-1]["diagnostics"]] == [f[0] for f in expected(text + "#####")]
    finally:
        burst.close()
