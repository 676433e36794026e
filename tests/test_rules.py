"""Every rule's own examples: VALID snippets yield nothing of the rule, INVALID snippets yield
it on exactly the flagged text, with the exact message and fixed text where given."""

from __future__ import annotations


import pytest

from torchwire.engine.analysis import analyze
from torchwire.engine.source import Position, Range, SourceText
from torchwire.fixes.edits import apply_edits
from torchwire.rules import ALL_RULES, RULES_BY_CODE

VALID = [(rule.code, i, example) for rule in ALL_RULES for i, example in enumerate(rule.VALID)]
INVALID = [(rule.code, i, example) for rule in ALL_RULES for i, example in enumerate(rule.INVALID)]


def _range_of(text: str, needle: str, occurrence: int) -> Range:
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    source = SourceText(text)
    before = text[:start]
    line = before.count("\n")
    col = start - (before.rfind("\n") + 1)
    end_text = text[: start + len(needle)]
    end = Position(end_text.count("\n"), start + len(needle) - (end_text.rfind("\n") + 1))
    assert source.text_in(Range(Position(line, col), end)) == needle
    return Range(Position(line, col), end)


@pytest.mark.parametrize(("code", "index", "example"), VALID, ids=[f"{c}-valid-{i}" for c, i, _ in VALID])
def test_valid_example_is_not_flagged(code, index, example):
    findings = analyze(example, "example.py").findings
    assert [f for f in findings if f.code == code] == []


@pytest.mark.parametrize(("code", "index", "example"), INVALID, ids=[f"{c}-invalid-{i}" for c, i, _ in INVALID])
def test_invalid_example_is_flagged_and_fixed(code, index, example):
    findings = [f for f in analyze(example.code, "example.py").findings if f.code == code]
    expected = _range_of(example.code, example.flags, example.occurrence)
    assert [f.range for f in findings] == [expected]
    (finding,) = findings
    if example.message is not None:
        assert finding.message == example.message
    if example.fixed is not None:
        assert finding.fix is not None
        assert apply_edits(example.code, finding.fix.edits()) == example.fixed
        # The fixed code no longer has the finding.
        assert [f for f in analyze(example.fixed, "example.py").findings if f.code == code] == []


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_rule_documents_itself(rule):
    doc = rule.documentation()
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert heading in doc
    assert rule.VALID and rule.INVALID
    assert rule.fix_safety in ("safe", "unsafe", "none")
    if rule.fix_safety == "none":
        assert all(example.fixed is None for example in rule.INVALID)


@pytest.mark.parametrize("example", [e for e in RULES_BY_CODE["TW208"].INVALID if e.fixed is not None], ids=["nn.Buffer", "module", "buffer"])
def test_tw208_quotes_what_pytorch_raises_and_its_fix_builds(example):
    """The example raises in real PyTorch with the error the message quotes; the fixed code
    builds. (The rule's own examples are run here, never the code being analysed.)"""
    import torch  # noqa: F401

    finding = next(f for f in analyze(example.code, "example.py").findings if f.code == "TW208")
    quoted = finding.message.split("raises `")[1].split("`")[0]

    def classes(namespace: dict) -> list[type]:
        return [v for v in namespace.values() if isinstance(v, type) and v.__module__ == "example"]

    namespace = {"__name__": "example"}
    exec(compile(example.code, "example.py", "exec"), namespace)
    (cls,) = classes(namespace)
    with pytest.raises(AttributeError) as raised:
        cls(4)
    assert f"AttributeError: {raised.value}" == quoted
    namespace = {"__name__": "example"}
    exec(compile(example.fixed, "example.py", "exec"), namespace)
    (cls,) = classes(namespace)
    cls(4)


TW207_BUILDS = {"CausalAttention": ((4, 8), "mask", "buffer"), "Memory": ((4, 8), "keys", "parameter"), "Bias": ((4, "meta"), "bias", "parameter")}


@pytest.mark.parametrize("example", [e for e in RULES_BY_CODE["TW207"].INVALID if any(f"class {name}(" in e.code for name in TW207_BUILDS)],
                         ids=list(TW207_BUILDS))
def test_tw207_what_pytorch_registers_before_and_after_the_fix(example):
    """In real PyTorch the flagged tensor is registered nowhere and `model.to(...)` leaves it
    behind; after the fix it is the buffer or parameter the fix says."""
    import torch

    def build(code: str):
        namespace = {"__name__": "example"}
        exec(compile(code, "example.py", "exec"), namespace)
        (cls,) = [v for v in namespace.values() if isinstance(v, type) and v.__module__ == "example"]
        args, attribute, kind = TW207_BUILDS[cls.__name__]
        return cls(*args), attribute, kind

    model, attribute, kind = build(example.code)
    assert isinstance(getattr(model, attribute), torch.Tensor)
    assert attribute not in dict(model.named_parameters()) and attribute not in dict(model.named_buffers())
    assert attribute not in model.state_dict()
    tensor = getattr(model, attribute)
    assert getattr(model.to("meta"), attribute) is tensor  # left where it was
    fixed, _, _ = build(example.fixed)
    registered = dict(fixed.named_buffers() if kind == "buffer" else fixed.named_parameters())
    assert attribute in registered
    assert getattr(fixed.to("meta"), attribute).device.type == "meta"


COPIED_PARAMETERS = """
import torch
import torch.nn as nn

class Scale(nn.Module):
    def __init__(self, d=4):
        super().__init__()
        self.a = nn.Parameter(torch.ones(d)).float()
        self.b = nn.Parameter(torch.ones(d)).double()
        self.c = nn.Parameter(torch.ones(d)).to("cpu")
        self.e = nn.Parameter(torch.ones(d)).to(torch.float32)
        self.f = nn.Parameter(torch.ones(d)).half()

    def forward(self, x):
        return x * self.a * self.b * self.c * self.e * self.f
"""


def test_a_copied_parameter_is_missing_from_the_table_as_from_pytorch_and_reported():
    """`.float()`/`.cpu()`/`.to(torch.float32)` leave a new parameter as it is; `.double()` and
    `.half()` return a plain copy. The static table and TW207 agree with real PyTorch (the
    snippet, run below, imports it)."""
    analysis = analyze(COPIED_PARAMETERS, "example.py")
    static = [row.name for row in analysis.file.classes["Scale"].parameters()]
    namespace = {"__name__": "example"}
    exec(compile(COPIED_PARAMETERS, "example.py", "exec"), namespace)
    assert static == [name for name, _ in namespace["Scale"]().named_parameters()] == ["a", "c", "e"]
    reported = [(f.code, f.range.start.line + 1) for f in analysis.findings]
    assert reported == [("TW207", 9), ("TW207", 12)]  # self.b, self.f
