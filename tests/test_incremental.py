"""Re-analysing after edits gives the same findings as analysing the new text afresh.

Random edit sequences (deleted, duplicated and moved lines, inserted characters, truncation,
brackets, tabs, non-ASCII) on the example files, applied one after another to one
DocumentAnalyzer, the way a language server sees a document change.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchwire.config import Config
from torchwire.engine.analysis import analyze
from torchwire.engine.incremental import DocumentAnalyzer
from torchwire.engine.source import Position
from torchwire.explain import explain_at
from torchwire.fixes.edits import apply_edits

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TEXTS = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.py"))]
# All examples in one file: many classes, so edits land in some and not in others.
COMBINED = "\n\n".join(TEXTS)
SNIPPETS = ["(", ")", "]", ":", "\t", "é😀", "    ", "\n", "x", "layer(x)\n", "self.", "nn.Linear(3, 4)", "#", '"""', "def ", "\\"]


def summary(findings):
    return [(f.code, tuple(f.range.start), tuple(f.range.end), f.message) for f in findings]


def parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError, RecursionError):
        return False


@st.composite
def edits(draw, text: str):
    lines = text.split("\n")
    kind = draw(st.sampled_from(["delete", "duplicate", "insert", "replace-char", "truncate", "move", "blank"]))
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind == "delete":
        n = draw(st.integers(1, 3))
        del lines[i : i + n]
    elif kind == "duplicate":
        lines.insert(i, lines[i] if lines else "")
    elif kind == "move":
        j = draw(st.integers(0, max(len(lines) - 1, 0)))
        lines.insert(j, lines.pop(i)) if lines else None
    elif kind == "insert":
        line = lines[i] if lines else ""
        col = draw(st.integers(0, len(line)))
        lines[i] = line[:col] + draw(st.sampled_from(SNIPPETS)) + line[col:]
    elif kind == "replace-char":
        line = lines[i] if lines else ""
        if line:
            col = draw(st.integers(0, len(line) - 1))
            lines[i] = line[:col] + draw(st.sampled_from(SNIPPETS)) + line[col + 1 :]
    elif kind == "blank":  # Enter pressed, a line cleared, blank lines removed (even inside strings)
        blank = draw(st.sampled_from(["", "    ", "\t", " \f"]))
        if lines and draw(st.booleans()) and not lines[i].strip():
            del lines[i]
        elif lines and draw(st.booleans()):
            lines[i] = blank if not lines[i].strip() else lines[i]
        else:
            lines.insert(i, blank)
    elif kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    return "\n".join(lines)


@st.composite
def edit_sequences(draw, text: str | None = None, most: int = 6):
    """A text (of the examples, unless given) and up to `most` versions edited from it."""
    text = text if text is not None else draw(st.sampled_from([COMBINED, *TEXTS]))
    versions = [text]
    for _ in range(draw(st.integers(1, most))):
        text = draw(edits(text))
        versions.append(text)
    return versions


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(edit_sequences(), st.lists(st.booleans(), min_size=7, max_size=7))
def test_incremental_matches_fresh_analysis(versions, renewals):
    """Whatever the edits, and wherever the server renews the analyzer between them (newly
    resolved imports: the last parse analysed again), the findings of a fresh analysis."""
    analyzer = DocumentAnalyzer("doc.py")
    for text, renew in zip(versions, renewals):
        last = analyzer.text  # the last text that parsed
        if renew and last is not None:
            analyzer = analyzer.renewed(analyzer.config)
            assert summary(analyzer.update(last).findings) == summary(analyze(last, "doc.py").findings)
        incremental = analyzer.update(text)
        lines = text.split("\n") if text else [""]
        for finding in incremental.findings:
            assert 0 <= finding.range.start.line <= finding.range.end.line < max(len(lines), 1) + 1
        if "torch" not in text:
            assert incremental.findings == []  # not a PyTorch file: nothing to say
        elif parses(text):
            assert summary(incremental.findings) == summary(analyze(text, "doc.py").findings)
        else:
            assert [f.code for f in incremental.findings].count("TW000") == 1


def test_edit_inside_one_class_keeps_the_others():
    analyzer = DocumentAnalyzer("doc.py")
    first = analyzer.update(COMBINED)
    assert len([f for f in first.findings if f.code == "TW101"]) == 2
    edited = COMBINED.replace("            layer(x)\n", "            x = layer(x)\n", 1)
    second = analyzer.update(edited)
    assert summary(second.findings) == summary(analyze(edited, "doc.py").findings)
    assert len([f for f in second.findings if f.code == "TW101"]) == 1


def test_fix_of_a_kept_finding_applies_to_the_current_text():
    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(COMBINED)
    # Add lines at the top: every finding below moves down two lines, without re-analysis.
    edited = "# a comment\n# another\n" + COMBINED
    analysis = analyzer.update(edited)
    finding = next(f for f in analysis.findings if f.code == "TW204")
    fixed = apply_edits(edited, finding.fix.edits())
    assert "nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10))" in fixed
    assert [f.code for f in analyze(fixed, "doc.py").findings].count("TW204") == 0


def test_syntax_error_keeps_findings_of_untouched_code():
    analyzer = DocumentAnalyzer("doc.py")
    good = analyzer.update(COMBINED)
    broken_text = COMBINED.replace("class MLP(nn.Module):", "class MLP(nn.Module:", 1)
    broken = analyzer.update(broken_text)
    codes = [f.code for f in broken.findings]
    assert codes.count("TW000") == 1
    # Everything but the class being edited keeps its findings, without fixes.
    assert len(broken.findings) == len(good.findings)
    assert all(f.fix is None for f in broken.findings)
    recovered = analyzer.update(COMBINED)
    assert summary(recovered.findings) == summary(good.findings)


def test_a_use_removed_from_another_statement_is_seen():
    """`self.norm` was read only by a function outside the class; when that read goes, the
    class (unchanged) now has an unused submodule (found by the random edits above)."""
    head = "import torch\nfrom torch import nn\n\n\nclass Head(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    head += "        self.norm = nn.LayerNorm(8)\n        self.proj = nn.Linear(8, 2)\n\n    def forward(self, h):\n        return self.proj(h)\n\n\n"
    analyzer = DocumentAnalyzer("doc.py")
    assert [f.code for f in analyzer.update(head + "def use(m, h):\n    return m.norm(h)\n").findings] == []
    after = head + "def use(m, h):\n    return h\n"
    assert [f.code for f in analyzer.update(after).findings] == [f.code for f in analyze(after, "doc.py").findings] == ["TW302"]


def test_blank_lines_typed_inside_a_class_move_its_findings_and_fixes():
    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(COMBINED)
    # Enter pressed on the line before the bug, and a blank line cleared of its indentation.
    edited = COMBINED.replace("            layer(x)\n", "\n            layer(x)\n", 1).replace("\n    \n", "\n\n", 1)
    analysis = analyzer.update(edited)
    assert summary(analysis.findings) == summary(analyze(edited, "doc.py").findings)
    finding = next(f for f in analysis.findings if f.code == "TW101")
    assert analysis.source.line(finding.range.start.line).strip() == "layer(x)"
    fixed = apply_edits(edited, finding.fix.edits())
    assert fixed == edited.replace("            layer(x)\n", "            x = layer(x)\n", 1)


def test_only_blank_lines_moved_are_analysed_without_parsing():
    """What the server analyses on its event loop (update_if_moved): blank lines typed, the
    findings moved as a whole analysis finds them; any other edit is left to `update`, and
    leaves the analyzer as it was."""
    analyzer = DocumentAnalyzer("doc.py")
    assert analyzer.update_if_moved(COMBINED) is None  # nothing analysed yet
    analyzer.update(COMBINED)
    edited = COMBINED.replace("            layer(x)\n", "\n\n            layer(x)\n", 1)
    moved = analyzer.update_if_moved(edited)
    assert moved is not None and summary(moved.findings) == summary(analyze(edited, "doc.py").findings)
    assert analyzer.update_if_moved(edited).findings == moved.findings  # the same text again
    for other in (edited.replace("layer(x)", "x = layer(x)", 1), edited + "x = (\n"):  # code; a syntax error
        chunks = [(c.text, c.start) for c in analyzer.chunks]
        assert analyzer.update_if_moved(other) is None
        assert [(c.text, c.start) for c in analyzer.chunks] == chunks
    fixed = edited.replace("layer(x)", "x = layer(x)", 1)
    assert summary(analyzer.update(fixed).findings) == summary(analyze(fixed, "doc.py").findings)


def test_a_class_or_import_typed_in_a_method_is_read_as_a_fresh_analysis_reads_it():
    """A method's body is swapped in alone unless it may hold what the file's model reads
    outside constructions (a class, an import: looked for as words first): either way, what a
    fresh analysis finds."""
    text = "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.proj = nn.Linear(2, 2)\n\n    def forward(self, x):\n        return self.proj(x)\n"
    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(text)
    inner = "        class Inner(nn.Module):\n            def __init__(self):\n                super().__init__()\n                self.layers = [nn.Linear(2, 2)]\n\n"
    for typed in (inner, "        from torch.nn import Linear as proj\n"):
        edited = text.replace("        return self.proj(x)\n", typed + "        return self.proj(x)\n")
        assert summary(analyzer.update(edited).findings) == summary(analyze(edited, "doc.py").findings)
        assert summary(analyzer.update(text).findings) == summary(analyze(text, "doc.py").findings)


def test_a_blank_line_inside_a_string_is_part_of_the_code():
    text = 'import torch\nfrom torch import nn\n\nNAME = """a\nb"""\n\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.layers = [nn.Linear(2, 2)]\n'
    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(text)
    edited = text.replace('"""a\nb"""', '"""a\n\nb"""')
    assert summary(analyzer.update(edited).findings) == summary(analyze(edited, "doc.py").findings)
    assert analyzer.doc.tree.body[2].value.value == "a\n\nb"


def hovers(analysis):
    """The hover of every `self.<name>` and class name: what the editor shows there."""
    found = []
    for line_no, line in enumerate(analysis.source.lines):
        for match in re.finditer(r"(?<=self\.)\w+|(?<=class )\w+", line):
            explanation = explain_at(analysis, Position(line_no, match.start()))
            if explanation is not None:
                found.append((line_no, match.start(), explanation.markdown, tuple(explanation.range.start)))
    return found


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, COMBINED.count("\n")), st.sampled_from(["\n", "\n\n", "    \n"]), st.booleans())
def test_hovers_after_blank_lines_typed_match_a_fresh_analysis(line, blank, hover_first):
    analyzer = DocumentAnalyzer("doc.py")
    first = analyzer.update(COMBINED)
    if hover_first:  # what the hovers computed stays, moved with the lines
        hovers(first)
    lines = COMBINED.split("\n")
    edited = "\n".join(lines[:line]) + ("\n" if line else "") + blank + "\n".join(lines[line:])
    if not parses(edited):
        return
    assert hovers(analyzer.update(edited)) == hovers(analyze(edited, "doc.py"))


def method_body_lines(text: str, name: str | None = None) -> list[int]:
    """0-based lines inside the bodies of the methods of classes (`name`: of that method only)."""
    found = []
    for cls in ast.parse(text).body:
        if isinstance(cls, ast.ClassDef):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name != "__init__" and name in (None, fn.name):
                    found.extend(range(fn.body[0].lineno - 1, fn.end_lineno))
    return found


# Blocks whose users read their forward(): inherited, returning nothing, chained by size.
HIERARCHY = COMBINED + """


class BaseBlock(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)

    def forward(self, x):
        x = self.fc(x)
        return self.norm(x)


class SubBlock(BaseBlock):
    pass


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = SubBlock(8)
        self.second = BaseBlock(8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        self.first(x)
        x = self.second(x)
        return self.head(x)
"""
FORWARD_LINES = method_body_lines(HIERARCHY)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(edit_sequences(HIERARCHY, most=4))
def test_hovers_after_edits_match_a_fresh_analysis(versions):
    """Hovered before each edit: the hover texts of the classes no edit reached are kept
    (see FileContext.adopt_answers), and every hover reads as a fresh analysis's."""
    analyzer = DocumentAnalyzer("doc.py")
    for text in versions:
        analysis = analyzer.update(text)
        if "torch" in text and parses(text):
            assert hovers(analysis) == hovers(analyze(text, "doc.py"))


def test_an_edit_in_one_class_keeps_the_hover_texts_of_the_classes_that_do_not_use_it():
    analyzer = DocumentAnalyzer("doc.py")
    hovers(analyzer.update(HIERARCHY))
    edited = HIERARCHY.replace("self.fc = nn.Linear(width, width)", "self.fc = nn.Linear(width, 2 * width)")
    analysis = analyzer.update(edited)
    answered = {cls.name: sorted(key[1] for key in cls.answers if key[0] == "member") for cls in analysis.file.all_classes}
    assert answered["BaseBlock"] == answered["Stack"] == []  # edited, and built from what was
    assert answered["Chained"] == ["layers"]  # neither: its hovers stay
    assert hovers(analysis) == hovers(analyze(edited, "doc.py"))
TYPED = ["x", "layer(x)", " + 1", "(", "self.", "é😀", "\n        y = x", "\n        return x", "\n\n", "[0]"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FORWARD_LINES), st.sampled_from(TYPED), st.integers(0, 80)), min_size=1, max_size=6), st.booleans())
def test_edits_inside_methods_match_a_fresh_analysis(typed, hover_first):
    """Typing in forward() and the other methods (the class's construction is kept when no
    construction ran the method): the same findings and hovers as a fresh analysis."""
    analyzer = DocumentAnalyzer("doc.py")
    analysis = analyzer.update(HIERARCHY)
    text = HIERARCHY
    for line, snippet, column in typed:
        if hover_first:
            hovers(analysis)
        lines = text.split("\n")
        if line >= len(lines):
            continue
        column = min(column, len(lines[line]))
        lines[line] = lines[line][:column] + snippet + lines[line][column:]
        text = "\n".join(lines)
        analysis = analyzer.update(text)
        if parses(text):
            fresh = analyze(text, "doc.py")
            assert summary(analysis.findings) == summary(fresh.findings)
    if parses(text):
        assert hovers(analysis) == hovers(analyze(text, "doc.py"))


@pytest.mark.parametrize("edited", ["        return self.xproj(h)", "        self.proj = h\n        return h"])
def test_a_read_typed_away_in_one_class_is_missed_by_the_others(edited):
    """`self.proj` read in one class's forward keeps another class's unused `self.proj` quiet
    (TW302: a name read anywhere in the file); typed into another name, or into an assignment
    whose words are the same, that class is checked again, as a fresh analysis checks it."""
    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(HIERARCHY)
    text = HIERARCHY.replace("        return self.proj(h)", edited, 1)
    assert summary(analyzer.update(text).findings) == summary(analyze(text, "doc.py").findings)
    assert "TW302" in {f.code for f in analyze(text, "doc.py").findings} - {f.code for f in analyze(HIERARCHY, "doc.py").findings}


@pytest.mark.parametrize("unread", ["        return self.xproj(h)", "        self.proj = h\n        return h"])
def test_a_read_typed_in_one_class_quiets_the_others(unread):
    """The other way: once `self.proj` is read again, the other class's TW302 goes."""
    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(HIERARCHY.replace("        return self.proj(h)", unread, 1))
    assert summary(analyzer.update(HIERARCHY).findings) == summary(analyze(HIERARCHY, "doc.py").findings)


INHERITED = """import torch.nn as nn


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.body = nn.Linear(4, 4)

    def forward(self, x):
        return self.body(x)


class Child(Base):
    def forward(self, x):
        return self.body(x)
"""
BY_NAME = INHERITED[: INHERITED.rindex("self.body(x)")] + 'getattr(self, "body")(x)\n'


@pytest.mark.parametrize(("before", "after"), [(INHERITED, BY_NAME), (BY_NAME, INHERITED)], ids=["typed", "removed"])
def test_members_reached_by_name_in_a_subclass_recheck_its_base(before, after):
    """`getattr(self, ...)` typed in a subclass's forward may use any member, its base's
    too: the base's unused `self.proj` (TW302) is checked again, and quiet, as a fresh
    analysis has it; removed, it is reported again."""
    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(before)
    assert summary(analyzer.update(after).findings) == summary(analyze(after, "doc.py").findings)
    assert {f.code for f in analyze(INHERITED, "doc.py").findings} == {"TW302"} and analyze(BY_NAME, "doc.py").findings == []


def test_typing_in_forward_keeps_what_the_classes_built():
    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(COMBINED)
    built = {cls.name: cls.root for cls in analyzer.doc.file.module_classes}
    line = method_body_lines(COMBINED, "forward")[0]
    lines = COMBINED.split("\n")
    lines[line] += "  # typed"
    edited = "\n".join(lines)
    analysis = analyzer.update(edited)
    assert summary(analysis.findings) == summary(analyze(edited, "doc.py").findings)
    assert {cls.name: cls.root for cls in analysis.file.module_classes} == built


def test_a_method_that_construction_runs_is_built_again():
    text = (
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.build()\n\n    def build(self):\n        self.layers = [nn.Linear(4, 4), nn.Linear(4, 4)]\n\n"
        "    def forward(self, x):\n        for layer in self.layers:\n            x = layer(x)\n        return x\n"
    )
    analyzer = DocumentAnalyzer("doc.py")
    assert [f.code for f in analyzer.update(text).findings] == ["TW201"]
    edited = text.replace("self.layers = [nn.Linear(4, 4), nn.Linear(4, 4)]", "self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])")
    assert analyzer.update(edited).findings == []
    assert [row.name for row in analyzer.doc.file.classes["Net"].parameters()] == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]


def test_forward_edited_in_a_block_changes_what_its_users_find():
    """The users of a block read its forward (what it returns): checked again, not kept."""
    text = (
        "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.block = Block()\n\n"
        "    def forward(self, x):\n        self.block(x)\n        return x\n"
    )
    analyzer = DocumentAnalyzer("doc.py")
    assert [(f.code, f.range.start.line) for f in analyzer.update(text).findings] == [("TW101", 18)]  # self.block(x)
    edited = text.replace("        return self.fc(x)\n", "        self.fc(x)\n")  # a block called for its effects
    analysis = analyzer.update(edited)
    assert [(f.code, f.range.start.line) for f in analysis.findings] == [("TW101", 9)]  # self.fc(x), in Block
    assert summary(analysis.findings) == summary(analyze(edited, "doc.py").findings)


def test_forward_edited_in_a_base_changes_what_its_subclasses_do():
    """A subclass that inherits forward() returns what the base's returns, as edited."""
    text = (
        "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\n"
        "class Sub(Block):\n    pass\n\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.sub = Sub()\n\n"
        "    def forward(self, x):\n        self.sub(x)\n        return x\n"
    )
    analyzer = DocumentAnalyzer("doc.py")
    assert [(f.code, f.range.start.line) for f in analyzer.update(text).findings] == [("TW101", 22)]  # self.sub(x)
    edited = text.replace("        return self.fc(x)\n", "        self.fc(x)\n")
    analysis = analyzer.update(edited)
    assert [(f.code, f.range.start.line) for f in analysis.findings] == [("TW101", 9)]  # self.fc(x), in Block
    assert summary(analysis.findings) == summary(analyze(edited, "doc.py").findings)


def test_a_replaced_analyzer_is_freed_at_once():
    """The server replaces a document's analyzer when imports get resolved or settings change:
    disposing of the old one breaks its model's cycles, so that reference counting frees it
    then, not a full garbage collection later (11 MB a time for a 4,000-line file)."""
    import gc
    import weakref

    text = (Path(__file__).parent.parent / "examples" / "seed_2_chained.py").read_text(encoding="utf-8")
    collecting = gc.isenabled()
    gc.disable()
    try:
        kept, disposed = DocumentAnalyzer("kept.py"), DocumentAnalyzer("disposed.py")
        kept_model, disposed_model = weakref.ref(kept.update(text).file), weakref.ref(disposed.update(text).file)
        assert disposed_model().classes
        disposed.dispose()
        del kept, disposed
        assert disposed_model() is None
        assert kept_model() is not None  # without it, only a collection frees the model
    finally:
        if collecting:
            gc.enable()


def test_a_renewed_analyzer_analyses_the_last_parse_again_without_parsing(monkeypatch):
    """New settings or newly resolved imports: the server renews the document's analyzer, which
    analyses the trees it was given (their lines moved by earlier edits) as a fresh analysis of
    the same text would, with the new settings, and parses only once the text changes."""
    import torchwire.engine.incremental as incremental

    analyzer = DocumentAnalyzer("doc.py")
    analyzer.update(COMBINED)
    edited = COMBINED.replace("            layer(x)\n", "\n\n            layer(x)\n", 1)
    analyzer.update(edited)
    without_tw101 = Config(ignore=["TW101"])

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed again")

    with monkeypatch.context() as patched:
        patched.setattr(incremental, "parse_module", no_parse)
        renewed = analyzer.renewed(without_tw101)
        findings = renewed.update(edited).findings
    assert summary(findings) == summary(analyze(edited, "doc.py", without_tw101).findings)
    assert "TW101" in {f.code for f in analyzer.update(edited).findings} - {f.code for f in findings}
    fixed = edited.replace("layer(x)", "x = layer(x)", 1)
    assert summary(renewed.update(fixed).findings) == summary(analyze(fixed, "doc.py", without_tw101).findings)
    other = analyzer.renewed(without_tw101)  # a text that changed meanwhile is parsed
    assert summary(other.update(fixed).findings) == summary(analyze(fixed, "doc.py", without_tw101).findings)


def test_a_method_indented_apart_from_its_class_is_a_syntax_error():
    """Spaces typed before `def`: the method alone parses, the class no longer does."""
    text = (
        "import torch.nn as nn\n\n\nclass Head(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.norm = nn.LayerNorm(8)\n\n    def forward(self, h):\n        self.norm(h)\n        return h\n"
    )
    analyzer = DocumentAnalyzer("doc.py")
    assert [f.code for f in analyzer.update(text).findings] == ["TW101"]
    edited = text.replace("    def forward", "       def forward")
    assert [(f.code, f.range.start.line) for f in analyzer.update(edited).findings] == [("TW000", 8)]
    assert summary(analyzer.update(text).findings) == summary(analyze(text, "doc.py").findings)


def test_a_forward_edited_is_followed_again_by_the_blocks_that_read_it():
    """Net's flow follows Block.forward with the embedding's size: edited to return 4 features,
    the head that takes 16 no longer fits (TW301 in Net). Flows that never read Block are kept."""
    text = (
        "import torch.nn as nn\n\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.wide = nn.Linear(8, 16)\n        self.narrow = nn.Linear(8, 4)\n\n"
        "    def forward(self, x):\n        return self.wide(x)\n\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.embed = nn.Embedding(100, 8)\n"
        "        self.block = Block()\n        self.head = nn.Linear(16, 2)\n\n"
        "    def forward(self, tokens):\n        x = self.embed(tokens)\n        x = self.block(x)\n        return self.head(x)\n\n\n"
        "class Other(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(8, 8)\n\n"
        "    def forward(self, x):\n        return self.fc(x)\n"
    )
    analyzer = DocumentAnalyzer("doc.py")
    assert [(f.code, f.subject) for f in analyzer.update(text).findings] == [("TW302", "narrow")]
    file = analyzer.doc.file
    other_flows = file.flows[file.classes["Other"]]
    edited = text.replace("        return self.wide(x)\n", "        return self.narrow(x)\n")
    analysis = analyzer.update(edited)
    assert [(f.code, f.range.start.line) for f in analysis.findings] == [("TW302", 6), ("TW301", 23)]  # self.head(x)
    assert summary(analysis.findings) == summary(analyze(edited, "doc.py").findings)
    assert analysis.file is file and file.flows[file.classes["Other"]] is other_flows
