"""Notebooks: IPython syntax masked in place, the code cells analysed as one program, findings
in their cells, and `.ipynb` files fixed byte for byte unchanged elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from torchwire.cli import main
from torchwire.engine.analysis import analyze
from torchwire.engine.source import Position, Range
from torchwire.notebook import Cell, NotebookFile, NotebookModule, mask_ipython

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "notebook_model.ipynb"

IMPORTS = "import torch\nfrom torch import nn\n"
MODEL = """class Stack(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(d, d) for _ in range(3)])

    def forward(self, x):
        for block in self.blocks:
            block(x)
        return x
"""
USE = "model = Stack()\nmodel.blocks\n"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def notebook_json(*sources: str, kinds: list[str] | None = None, indent: int | None = 1, as_string: bool = False,
                  ascii_only: bool = False, language: str = "python") -> str:
    """A notebook as Jupyter writes it (indent 1, sorted keys), or in another layout."""
    cells = []
    for i, source in enumerate(sources):
        kind = kinds[i] if kinds else "code"
        cell = {"cell_type": kind, "metadata": {}, "source": source if as_string else source.splitlines(True)}
        if kind == "code":
            cell |= {"execution_count": i + 1, "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"out {i}\n"]}]}
        cells.append(cell)
    data = {"cells": cells, "metadata": {"kernelspec": {"language": language, "name": "python3", "display_name": "Python 3"}},
            "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=ascii_only) + "\n"


# ---------------------------------------------------------------------- IPython syntax


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("%matplotlib inline\n", "0                 \n"),
        ("!pip install torch\n", "0                 \n"),
        ("model?\n", "0     \n"),
        ("model.blocks??\n", "0             \n"),
        ("?model\n", "0     \n"),
        ("files = !ls -la\n", "files = 0      \n"),
        ("t = %timeit -o f()\n", "t = 0             \n"),
        ("    %time net(x)\n", "    0           \n"),
    ],
)
def test_ipython_lines_are_masked_in_place(line, masked):
    assert mask_ipython(line) == masked
    assert len(mask_ipython(line)) == len(line)


@pytest.mark.parametrize(
    "text",
    [
        "x = a % b\n",
        "if a != b:\n    pass\n",
        "s = '''\n%not a magic\n!nor this\n'''\n",
        "call(a,\n     b)  # what?\n",
        "f(a,\n  !b)\n",
        "x = {'a': 1}  # really?\n",
        "# %matplotlib inline\n",
    ],
)
def test_python_is_left_alone(text):
    assert mask_ipython(text) == text


def test_a_magic_continued_with_backslash_is_masked_to_its_end():
    assert mask_ipython("!pip install a \\\n    b\nx = 1\n") == "0" + " " * 15 + "\n     \nx = 1\n"


def test_cell_magics_with_python_bodies_are_analysed_and_others_skipped():
    assert mask_ipython("%%time\nx = 1\n") == "0     \nx = 1\n"
    assert mask_ipython("%%bash\necho hi\n") is None
    assert mask_ipython("%%writefile model.py\nimport torch\n") is None


# ---------------------------------------------------------------------- cells as one module


def module(*sources: str, code: list[bool] | None = None) -> NotebookModule:
    return NotebookModule([Cell(i, s, code[i] if code else True) for i, s in enumerate(sources)], "nb.ipynb")


def test_a_class_in_one_cell_is_known_in_a_later_one():
    nb = module(IMPORTS, "# notes", MODEL, USE, code=[True, False, True, True])
    findings = nb.findings_in_cells(analyze(nb.text, "nb.ipynb").findings)
    assert [(f.cell, f.range.start, f.code) for f in findings] == [(2, Position(7, 12), "TW101")]
    assert nb.to_module(3, Position(1, 6)) == Position(len(IMPORTS.splitlines()) + len(MODEL.splitlines()) + 1, 6)


def test_a_cell_that_does_not_parse_is_reported_there_and_the_others_still_analysed():
    nb = module(IMPORTS, "def half(:\n", MODEL)
    findings = nb.findings_in_cells(analyze(nb.text, "nb.ipynb").findings)
    assert [(f.cell, f.range.start, f.code) for f in findings] == [(1, Position(0, 9), "TW000"), (2, Position(7, 12), "TW101")]


def test_positions_map_both_ways_with_non_ascii_text():
    cell = "# é 😀\n" + MODEL
    nb = module(IMPORTS, cell)
    findings = nb.findings_in_cells(analyze(nb.text, "nb.ipynb").findings)
    assert [(f.cell, f.range) for f in findings][0][1].start == Position(8, 12)
    span, at = nb.to_cell(nb.to_module(1, Position(8, 12)))
    assert (span.cell.index, at) == (1, Position(8, 12))


def test_an_edit_splits_back_into_the_cell_it_changed():
    nb = module(IMPORTS, "%matplotlib inline\n" + MODEL, USE)
    new = nb.text.replace("            block(x)", "            x = block(x)")
    assert nb.split(new) == {1: "%matplotlib inline\n" + MODEL.replace("            block(x)", "            x = block(x)")}


def test_an_edit_into_a_masked_line_or_across_cells_is_refused():
    nb = module(IMPORTS, "%matplotlib inline\n" + MODEL)
    assert nb.split(nb.text.replace("0                 ", "x = 1")) is None
    across = module(IMPORTS, MODEL)
    assert across.split(across.text.replace("from torch import nn\nclass Stack", "from torch import nn as nn\nclass Stack2")) is None


def test_a_cell_without_a_final_line_end_keeps_it_that_way():
    nb = module(IMPORTS, MODEL.rstrip("\n"))
    new = nb.text.replace("            block(x)", "            x = block(x)")
    assert nb.split(new) == {1: MODEL.rstrip("\n").replace("            block(x)", "            x = block(x)")}


# ---------------------------------------------------------------------- .ipynb files


@pytest.mark.parametrize(
    "layout",
    [
        {"indent": 1},  # Jupyter
        {"indent": 2},  # Colab
        {"indent": None},  # one line
        {"indent": 1, "as_string": True},  # sources as one string
        {"indent": 1, "ascii_only": True},  # \u escapes
    ],
)
def test_sources_are_replaced_and_every_other_byte_kept(layout):
    raw = notebook_json(IMPORTS, "# é\n" + MODEL, USE, **layout)
    notebook = NotebookFile(raw)
    assert [c.source for c in notebook.cells] == [IMPORTS, "# é\n" + MODEL, USE]
    fixed_cell = "# é\n" + MODEL.replace("            block(x)", "            x = block(x)")
    written = notebook.with_sources({1: fixed_cell})
    assert written == notebook_json(IMPORTS, fixed_cell, USE, **layout)


def test_a_cell_that_was_empty_gets_the_notebooks_indentation():
    raw = notebook_json(IMPORTS, "")
    written = NotebookFile(raw).with_sources({1: "x = 1\ny = 2"})
    assert written == notebook_json(IMPORTS, "x = 1\ny = 2")


def test_markdown_cells_and_other_kernels_are_not_analysed():
    notebook = NotebookFile(notebook_json("# Title with Linear(3, 4)", IMPORTS, kinds=["markdown", "code"]))
    assert [c.code for c in notebook.cells] == [False, True]
    assert not any(c.code for c in NotebookFile(notebook_json(IMPORTS, language="R")).cells)


# ---------------------------------------------------------------------- the command line


def test_check_reports_findings_in_cells(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("nb.ipynb").write_text(notebook_json(IMPORTS, "%matplotlib inline\n" + MODEL, USE), encoding="utf-8")
    code, out, _ = run(capsys, "check", "nb.ipynb")
    assert code == 1
    assert out.splitlines()[0].startswith("nb.ipynb:cell 2:9:13: TW101 The output of `block(x)` is thrown away")
    _, out, _ = run(capsys, "check", "--format", "json", ".")  # found in folders too
    (finding,) = json.loads(out)
    assert (finding["path"], finding["cell"], finding["range"]["start"]) == ("nb.ipynb", 1, {"line": 8, "character": 12})


def test_fix_rewrites_the_cell_and_nothing_else(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = EXAMPLE.read_text(encoding="utf-8")
    Path("nb.ipynb").write_text(raw, encoding="utf-8")
    code, out, _ = run(capsys, "check", "--diff", "--unsafe-fixes", "nb.ipynb")
    assert code == 1
    assert out.splitlines()[:2] == ["--- a/nb.ipynb:cell 3", "+++ b/nb.ipynb:cell 3"]
    assert Path("nb.ipynb").read_text(encoding="utf-8") == raw  # --diff writes nothing
    code, out, _ = run(capsys, "check", "--unsafe-fixes", "nb.ipynb")
    assert (code, out) == (0, "Fixed 1 finding.\nAll checks passed.\n")
    before, after = raw.splitlines(True), Path("nb.ipynb").read_text(encoding="utf-8").splitlines(True)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after)
    assert changed == [(
        '    "            block(x)  # the output is thrown away: x reaches the result unchanged\\n",\n',
        '    "            x = block(x)  # the output is thrown away: x reaches the result unchanged\\n",\n',
    )]


def test_params_and_hover_read_notebooks(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "params", "examples/notebook_model.ipynb")
    assert code == 0
    assert out.splitlines()[0] == "examples/notebook_model.ipynb:cell 3:1: Stack"
    assert out.splitlines()[-1] == "Total: 816 parameters (3.3 KB as float32)"
    _, out, _ = run(capsys, "params", "--format", "json", "examples/notebook_model.ipynb")
    (table,) = json.loads(out)
    assert (table["cell"], table["line"], table["total"]) == (2, 0, 816)
    code, out, _ = run(capsys, "hover", "examples/notebook_model.ipynb:cell 3:9:27")
    assert code == 0
    assert out.splitlines()[0] == "**`self.blocks`**: `nn.ModuleList`, 3 modules, 816 parameters (3.3 KB as float32)"
    code, _, err = run(capsys, "hover", "examples/notebook_model.ipynb:9:27")
    assert code == 2 and "a notebook needs the cell" in err


def test_a_file_that_is_not_a_notebook_is_reported_not_crashed_on(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    code, out, _ = run(capsys, "check", "broken.ipynb")
    assert code == 1
    assert out.startswith("broken.ipynb:1:1: TW000 Cannot read this file: not a notebook: invalid JSON")


# ---------------------------------------------------------------------- the same as a .py file


def as_cells(text: str) -> list[str]:
    """A Python file cut into code cells, one per top-level statement (its comments with it):
    joined with line ends, they are the file again."""
    import ast

    lines = text.split("\n")
    firsts = [min([s.lineno, *(d.lineno for d in getattr(s, "decorator_list", []))]) - 1 for s in ast.parse(text).body]
    starts = sorted({0, *firsts})
    return ["\n".join(lines[a:b]) for a, b in zip(starts, [*starts[1:], len(lines) - 1])]


EXAMPLE_FILES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_a_notebook_of_the_same_code_gets_the_same_findings_and_hovers(path):
    from torchwire.explain import explain_at

    text = path.read_text(encoding="utf-8")
    code_cells = as_cells(text)
    assert "\n".join(code_cells) + "\n" == text
    cells, index = [], 0
    for source in code_cells:  # a markdown cell before each code cell
        cells += [Cell(index, "Some notes.", code=False), Cell(index + 1, source)]
        index += 2
    nb = NotebookModule(cells, "nb.ipynb")
    in_file = analyze(text, "nb.ipynb")
    in_notebook = analyze(nb.text, "nb.ipynb")
    starts = {}
    line = 0
    for cell in cells:
        if cell.code:
            starts[cell.index] = line
            line += cell.source.count("\n") + 1

    def in_file_terms(finding):
        begin = starts[finding.cell]
        start, end = finding.range
        return (finding.code, finding.message, (start.line + begin, start.character), (end.line + begin, end.character))

    expected = [(f.code, f.message, tuple(f.range.start), tuple(f.range.end)) for f in in_file.findings]
    assert [in_file_terms(f) for f in nb.findings_in_cells(in_notebook.findings)] == expected
    assert expected or path.name in ("seed_2_chained.py", "seed_3_branches.py")  # the correct ones
    # The hover on every `self.<name>` and every class name says the same in the notebook.
    import re

    for number, line_text in enumerate(text.split("\n")):
        for match in re.finditer(r"self\.\w+|(?<=class )\w+", line_text):
            at = Position(number, match.start() + 1)
            cell = max(i for i, begin in starts.items() if begin <= number)
            mapped = nb.to_module(cell, Position(number - starts[cell], at.character))
            want, got = explain_at(in_file, at), explain_at(in_notebook, mapped)
            assert (got.markdown if got else None) == (want.markdown if want else None), (number, match.group())


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_fixing_a_notebook_gives_the_fixed_file(capsys, tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    text = path.read_text(encoding="utf-8")
    Path("model.py").write_text(text, encoding="utf-8")
    Path("model.ipynb").write_text(notebook_json(*as_cells(text)), encoding="utf-8")
    run(capsys, "check", "--unsafe-fixes", "--no-cache", "model.py")
    code, out, err = run(capsys, "check", "--unsafe-fixes", "--no-cache", "model.ipynb")
    assert "warning" not in err
    fixed = [cell.source for cell in NotebookFile(Path("model.ipynb").read_text(encoding="utf-8")).cells]
    assert "\n".join(fixed) + "\n" == Path("model.py").read_text(encoding="utf-8")
    without_fix = ("seed_2", "seed_3", "tw103", "tw205", "tw301", "tw302")  # rules with no fix, and correct code
    assert (Path("model.py").read_text(encoding="utf-8") != text) == (not path.name.startswith(without_fix))


@pytest.mark.parametrize("layout", [{"indent": 1}, {"indent": 1, "as_string": True}, {"indent": None, "ascii_only": True}])
def test_a_cell_range_is_placed_on_the_lines_of_the_json(layout):
    raw = notebook_json(IMPORTS, '# "é"\n' + MODEL, **layout)
    placed = NotebookFile(raw).file_range(1, Range(Position(8, 12), Position(8, 20)))  # `block(x)`
    line = raw.split("\n")[placed.start.line]
    assert placed.start.line == placed.end.line
    assert line[placed.start.character : placed.end.character] == "block(x)"


def test_github_annotations_and_sarif_point_into_the_notebook_file(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    raw_line = EXAMPLE.read_text(encoding="utf-8").split("\n").index(
        '    "            block(x)  # the output is thrown away: x reaches the result unchanged\\n",')
    _, out, _ = run(capsys, "check", "--format", "github", "examples/notebook_model.ipynb")
    assert out.startswith(f"::warning file=examples/notebook_model.ipynb,line={raw_line + 1},col=18,endLine={raw_line + 1},"
                          "endColumn=26,title=TW101 (cell 3)::The output of `block(x)` is thrown away")
    _, out, _ = run(capsys, "check", "--format", "sarif", "examples/notebook_model.ipynb")
    import jsonschema

    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(json.loads(out))
    (result,) = json.loads(out)["runs"][0]["results"]
    (location,) = result["locations"]
    assert location["physicalLocation"]["region"] == {
        "startLine": raw_line + 1, "startColumn": 18, "endLine": raw_line + 1, "endColumn": 26, "snippet": {"text": "block(x)"}}
    assert location["logicalLocations"] == [{"name": "cell 3", "kind": "module"}]
    assert result["properties"] == {"cell": 2}
