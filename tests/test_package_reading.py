"""How much of the installed packages an analysis reads, and that what it remembers of them
stays true: a package's `__init__` that star-imports every submodule is read without them
(transformers' `from .. import __version__` once made the server parse two thousand files and
grow to 1.4 GB), and a helper's remembered result is never another call's."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchwire.engine.incremental import DocumentAnalyzer
from torchwire.project import Project


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def rows(project: Project, path: Path, cls: str) -> list[tuple[str, list | None]]:
    analyzer = DocumentAnalyzer(str(path), None, project.resolver(blocking=True))
    analysis = analyzer.update(path.read_text(encoding="utf-8"))
    return [(row.name, row.shape) for row in analysis.file.classes[cls].parameters()]


PACKAGE = {
    # The aggregator: a version, and every submodule star-imported.
    "pkg/__init__.py": '__version__ = "2.1"\nfrom .zoo_a import *\nfrom .zoo_b import *\n',
    "pkg/zoo_a.py": "import torch.nn as nn\n\nclass A(nn.Module):\n    pass\n",
    "pkg/zoo_b.py": "import torch.nn as nn\n\nclass B(nn.Module):\n    pass\n",
    "pkg/parts.py": "import torch.nn as nn\n\nclass Proj(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.lin = nn.Linear(8, 8)\n",
    "pkg/layers.py": """\
        import torch.nn as nn
        from . import __version__
        from .parts import *

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = Proj()
                if __version__ >= "2":
                    self.extra = nn.Linear(8, 2)
        """,
    "model.py": """\
        import torch.nn as nn
        from pkg.layers import Block

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.block = Block()
        """,
}


def test_a_name_of_a_package_init_is_read_without_its_star_imported_submodules(tmp_path):
    write(tmp_path, PACKAGE)
    project = Project(str(tmp_path))
    assert rows(project, tmp_path / "model.py", "Net") == [
        ("block.proj.lin.weight", [8, 8]), ("block.proj.lin.bias", [8]),  # Proj: a star import a name needed
        ("block.extra.weight", [2, 8]), ("block.extra.bias", [2]),  # __version__, from pkg/__init__.py
    ]
    read = {Path(p).name for p in project._files}
    assert {"__init__.py", "layers.py", "parts.py"} <= read
    assert not read & {"zoo_a.py", "zoo_b.py"}
    # Nothing that reaches zoo_a.py was read, so an edit of it makes nothing out of date.
    assert project.forget(str(tmp_path / "pkg" / "zoo_a.py")) == set()


def test_a_star_imported_name_is_still_found_when_asked_for(tmp_path):
    write(tmp_path, {**PACKAGE, "model.py": """\
        import torch.nn as nn
        import pkg

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = pkg.A()
                self.lin = nn.Linear(2, 3)
        """})
    project = Project(str(tmp_path))
    assert rows(project, tmp_path / "model.py", "Net") == [("lin.weight", [3, 2]), ("lin.bias", [3])]
    assert "zoo_a.py" in {Path(p).name for p in project._files}


def test_a_helper_remembered_for_one_argument_answers_only_that_argument(tmp_path):
    # f(True) and f(1) are equal as dictionary keys; as arguments they take different paths.
    write(tmp_path, {
        "helpers.py": """\
            def width(flag):
                if flag is True:
                    return 4
                return 6
            """,
        "model.py": """\
            import torch.nn as nn
            from helpers import width

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.a = nn.Linear(2, width(True))
                    self.b = nn.Linear(2, width(1))
                    self.c = nn.Linear(2, width(True))
            """,
    })
    project = Project(str(tmp_path))
    expected = [("a.weight", [4, 2]), ("a.bias", [4]), ("b.weight", [6, 2]), ("b.bias", [6]), ("c.weight", [4, 2]), ("c.bias", [4])]
    assert rows(project, tmp_path / "model.py", "Net") == expected
    helpers = next(ctx for path, (_, ctx) in project._files.items() if path.endswith("helpers.py"))
    assert len(helpers.helper_results) == 2  # width(True) and width(1), each run once
    assert rows(project, tmp_path / "model.py", "Net") == expected  # the second analysis reads them


def _function_dumps(tree) -> list[str]:
    """The file's classes, functions and assignments, whole (reading each dropped field parses it)."""
    import ast

    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Assign, ast.AnnAssign)
    return [ast.dump(n, include_attributes=True) for n in ast.walk(tree) if isinstance(n, kinds)]


def test_bodies_parsed_again_when_read_are_the_files_own(monkeypatch):
    """A package file's class and function bodies and big top-level values are dropped once its
    model is made and parsed again when read (a class's methods with their bodies dropped): the same nodes at the same lines and columns as in the
    whole file, for the packages users have (decorators, async, nested functions, tables of
    names, values in an `if`, non-ASCII, CRLF line ends)."""
    import ast
    import sysconfig

    from torchwire.engine.analysis import parse_module
    from torchwire.engine.lazy_bodies import drop_bodies
    from torchwire.engine.source import SourceText

    packages = Path(sysconfig.get_paths()["purelib"])  # found, never imported
    files = [packages / name for name in ("transformers/modeling_utils.py", "transformers/models/auto/modeling_auto.py", "diffusers/models/attention_processor.py", "timm/models/vision_transformer.py")]
    texts = [p.read_text(encoding="utf-8") for p in files]
    texts.append('TABLE = dict(\n    [\n        ("é", "😀"),  # ü\n        ("b", 2),\n    ]\n)\nif x:\n    OTHER: dict = {\n        1: 2,\n        3: 4,\n        5: 6,\n    }\n'.replace("\n", "\r\n"))
    texts.append('import torch\n\n\nclass M:\n    @property\n    def é(self):\n        """ü"""\n        x = "😀"\n        return x\n\n    async def run(self):\n        async with a:\n            await b\n        return 1\n\ndef f(a,\n      b):\n    def g():\n        return a\n    return g\n'.replace("\n", "\r\n"))
    texts.append(TRICKY)  # classes in an `if`, a class's docstring and strings that read as code
    from torchwire.engine import lazy_bodies

    parsed = []
    find = lazy_bodies._find
    monkeypatch.setattr(lazy_bodies, "_find", lambda text, node: parsed.append(len(text)) or find(text, node))
    for text in texts:
        parsed.clear()
        expected = _function_dumps(parse_module(text, "f.py"))
        tree = parse_module(text, "f.py")
        assert drop_bodies(tree, SourceText(text, "f.py")) > 0
        assert _function_dumps(tree) == expected  # reading every body parses it again
        assert parsed and len(text) not in parsed  # each from its own lines, never the whole file
        kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Assign, ast.AnnAssign)
        assert all(type(n) in kinds for n in ast.walk(tree) if isinstance(n, kinds))
        # The tree kept while its file is read again: what was parsed again stays.
        parsed.clear()
        assert drop_bodies(tree, SourceText(text, "f.py")) == 0
        assert _function_dumps(tree) == expected and not parsed


TRICKY = '''\
"""A module docstring
def not_a_function():
class NotAClass:
"""
import torch.nn as nn

if TYPE_CHECKING:
    def typed(x): ...
    class Hidden:
        pass
try:
    def maybe():
        pass
except ImportError:
    pass
if maybe:
    TABLE = {
"at the margin": 1,
    }
else:
    TABLE = {}
FLAG = (True
and False)


@register(
    name="x",
    kind=[1, 2],
)
def registered():
    return 1


class Wide(nn.Module):
    """Its docstring
    def inside_the_docstring(self):
    """

    x = 1
    @property
    def é(self):  # non-ASCII
        return "😀"

    def forward(self, x,
                y=None):
        def helper():
            return x
        return helper()
    \'\'\'a string
    def in_a_string(self):\'\'\'
    async def run(self):
        async with a:
            await b
y = 2


class Narrow:
  def two_spaces(self):
    def nested(self):
        pass
    return 1
  def again(self):
    pass

\x0c
def after_a_form_feed():
    return [
def_name
    ]
'''


def test_a_big_file_parsed_in_pieces_is_the_tree_of_the_whole(monkeypatch):
    """The background parses a big file a few lines at a time (a whole parse holds the GIL
    from the keystroke's analysis): the tree is the same, node for node, with every position,
    for the packages users have and for text that a cut would break (docstrings naming
    functions, a decorator's lines, blocks other than a class, `else:` and brackets at the
    margin, bodies indented by two spaces, a form feed, CRLF); with a cut allowed before every
    candidate line, too."""
    import ast
    import sysconfig

    from torchwire.engine import pieces
    from torchwire.engine.analysis import parse_module
    from torchwire.engine.pieces import parse_in_pieces

    packages = Path(sysconfig.get_paths()["purelib"])  # found, never imported
    files = [packages / name for name in ("transformers/modeling_utils.py", "transformers/models/auto/modeling_auto.py", "diffusers/models/attention_processor.py", "timm/models/vision_transformer.py")]
    texts = [p.read_text(encoding="utf-8") for p in files]
    pauses: list[int] = []
    for text in texts:
        pauses.clear()
        tree = parse_in_pieces(text, "f.py", lambda: pauses.append(1))
        assert ast.dump(tree, include_attributes=True) == ast.dump(parse_module(text, "f.py"), include_attributes=True)
        assert len(pauses) >= text.count("\n") // 100  # in pieces, not at once
    # transformers' tables of names (modeling_auto.py) are cut between their statements.
    parsed: list[str] = []
    monkeypatch.setattr(pieces, "parse_module", lambda text, path: parsed.append(text) or parse_module(text, path))
    parse_in_pieces(texts[1], "f.py", lambda: None)
    long_pieces = [ast.parse(text).body for text in parsed if text.strip("\n").count("\n") > 2 * pieces.PIECE_LINES]
    # ... a long piece is its last statement, after less than PIECE_LINES of others
    assert long_pieces and all(body[-1].lineno - body[0].lineno < pieces.PIECE_LINES for body in long_pieces)
    monkeypatch.setattr(pieces, "PIECE_LINES", 1)
    for text in [TRICKY, TRICKY.replace("\n", "\r\n"), *texts]:
        pauses.clear()
        tree = parse_in_pieces(text, "f.py", lambda: pauses.append(1))
        assert ast.dump(tree, include_attributes=True) == ast.dump(parse_module(text, "f.py"), include_attributes=True)
        assert pauses
    # A body indented by a tab and spaces, then a method by four spaces: an error either way.
    mixed = TRICKY.replace("class Narrow:", "class Mixed:\n\t   x = 1\n    def four_spaces(self):\n        pass\n\n\nclass Narrow:")
    for broken in [mixed, TRICKY.replace("def again(self):", "def again(self)")]:
        with pytest.raises(SyntaxError) as raised:
            parse_in_pieces(broken, "f.py", lambda: None)
        with pytest.raises(SyntaxError) as expected:
            parse_module(broken, "f.py")
        assert (raised.value.msg, raised.value.lineno) == (expected.value.msg, expected.value.lineno)


def test_the_background_waits_where_the_server_lets_the_editor_go_first(tmp_path):
    """Resolving in the background calls the project's pause between files, pieces of a big
    file and steps of a construction; lookups the editor makes itself never do."""
    lines = "\n".join(f"    def m{i}(self):\n        return {i}\n" for i in range(300))
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/big.py": f"import torch.nn as nn\n\nclass Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                      f"        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(64)])\n\n{lines}",
        "model.py": "import torch.nn as nn\nfrom pkg.big import Big\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.big = Big()\n",
    })
    pauses: list[int] = []
    project = Project(str(tmp_path), background_pause=lambda: pauses.append(1), blocking_default=False)
    analyzer = DocumentAnalyzer(str(tmp_path / "model.py"), None, project.resolver(blocking=False))
    text = (tmp_path / "model.py").read_text(encoding="utf-8")
    analyzer.update(text)
    assert not pauses  # the editor's own analysis
    assert project.resolve_pending()
    assert len(pauses) >= 3  # before the file, between its pieces, during Big's construction
    again = DocumentAnalyzer(str(tmp_path / "model.py"), None, project.resolver(blocking=False))
    rows = [(row.name, row.shape) for row in again.update(text).file.classes["M"].parameters()]
    assert rows[:2] == [("big.layers.0.weight", [4, 4]), ("big.layers.0.bias", [4])] and len(rows) == 128


def test_trees_parsed_only_for_the_index_are_not_kept_after_the_background(tmp_path):
    """A lookup parses the files it passes through for their index, and keeps the trees a
    little while for the analysis that usually follows; those no analysis took (whole files,
    bodies included) are let go once the background's pass is over."""
    write(tmp_path, {
        "pkg/__init__.py": "from .block_utils import *\nfrom .zoo import *\n",
        "pkg/block_utils.py": "import torch.nn as nn\n\nclass Unused(nn.Module):\n    def forward(self, x):\n        return x\n",
        "pkg/zoo.py": "import torch.nn as nn\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.lin = nn.Linear(2, 2)\n",
        "model.py": "import torch.nn as nn\nfrom pkg import Block\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.block = Block()\n",
    })
    project = Project(str(tmp_path), blocking_default=False)
    analyzer = DocumentAnalyzer(str(tmp_path / "model.py"), None, project.resolver(blocking=False))
    analyzer.update((tmp_path / "model.py").read_text(encoding="utf-8"))
    kept = []
    keep = project.layouts.store.keep_tree
    project.layouts.store.keep_tree = lambda path, parsed: kept.append((path, parsed[0])) or keep(path, parsed)
    assert project.resolve_pending()
    assert any(path.endswith("block_utils.py") for path, _ in kept)  # parsed for the lookup of Block
    assert all(project.layouts.store.take_tree(path, digest) is None for path, digest in kept)
    assert rows(project, tmp_path / "model.py", "M") == [("block.lin.weight", [2, 2]), ("block.lin.bias", [2])]


def test_a_file_read_again_for_what_it_lacked_is_read_in_the_background(tmp_path):
    """The editor builds Block(kind="special"), which reaches a name the background's build at
    the defaults did not: zoo.py is known incompletely, forgotten by the next pass, and read
    again there (from the tree kept), not parsed by the editor's next analysis."""
    shutil.copytree(Path(__file__).parent / "projects" / "branching", tmp_path, dirs_exist_ok=True)
    project = Project(str(tmp_path), blocking_default=False)
    parsed: list[str] = []
    parse = project._parse
    project._parse = project.layouts.store.parse = lambda text, path: parsed.append(Path(path).name) or parse(text, path)
    text = (tmp_path / "model.py").read_text(encoding="utf-8")
    in_editor = []
    for _ in range(4):
        parsed.clear()
        analysis = DocumentAnalyzer(str(tmp_path / "model.py"), None, project.resolver(blocking=False)).update(text)
        names = [row.name for row in analysis.file.classes["M"].parameters()]  # as a hover asks
        in_editor += parsed
        if not project.pending:
            break
        project.resolve_pending()
    assert in_editor == []
    assert names == ["block.lin.proj.weight", "block.lin.proj.bias"]


def test_an_import_nothing_on_the_search_path_holds_is_not_asked_of_jedi(tmp_path):
    """transformers imports optional packages that may not be installed (`import kernels`):
    no folder holds them, so jedi could not find them either, and is not even imported (15 MB).
    A namespace folder of that name is still asked about."""
    import subprocess
    import sys

    write(tmp_path, {
        "model.py": "import torch.nn as nn\nfrom not_installed_anywhere import Thing\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.thing = Thing()\n",
        "spaced/__placeholder__.txt": "",
    })
    script = (
        "import sys\nfrom torchwire.project import Project\nfrom torchwire.engine.incremental import DocumentAnalyzer\n"
        f"project = Project({str(tmp_path)!r}, blocking_default=False)\n"
        f"DocumentAnalyzer({str(tmp_path / 'model.py')!r}, None, project.resolver(blocking=False)).update(open({str(tmp_path / 'model.py')!r}).read())\n"
        "while project.pending:\n    project.resolve_pending()\n"
        "print('jedi' in sys.modules, project.layouts.has_folder(" f"{str(tmp_path / 'model.py')!r}" ", 'spaced'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


_TEXTS = st.lists(st.sampled_from(["a", "é", "😀", " ", "\n", "\r", "\r\n", "\x0c", "\u2028", "x = 1\n", "(\n"]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, data=st.data())
def test_a_package_file_kept_compactly_reads_as_its_text(text, data):
    """Another package's file is kept in UTF-8 (CompactSourceText): every line, column,
    offset and slice reads as from the text itself, whatever its characters and line ends."""
    from torchwire.engine.source import CompactSourceText, Position, Range, SourceText

    plain, compact = SourceText(text, "f.py"), CompactSourceText(text, "f.py")
    assert compact.text == text
    assert compact.lines == plain.lines
    assert [compact.line(i) for i in range(-1, len(plain.lines) + 1)] == [plain.line(i) for i in range(-1, len(plain.lines) + 1)]
    assert compact.end_position() == plain.end_position()
    for _ in range(5):
        line = data.draw(st.integers(0, len(plain.lines) + 1))
        width = len(plain.line(line).encode("utf-8"))
        byte_col = data.draw(st.integers(0, width + 2))
        assert compact.column(line + 1, byte_col) == plain.column(line + 1, byte_col)
        start = Position(line, data.draw(st.integers(0, len(plain.line(line)) + 2)))
        end = Position(data.draw(st.integers(line, len(plain.lines) + 1)), data.draw(st.integers(0, 8)))
        assert compact.offset(start) == plain.offset(start)
        assert compact.text_in(Range(start, end)) == plain.text_in(Range(start, end))
    words = set(re.findall(r"\w+", text))
    for word in ("a", "x", "aa", "é", "aé", "x1", "1"):
        assert plain.has_word(word) == (word in words)
        # the same, or a superset where an ASCII word touches a letter outside ASCII
        assert compact.has_word(word) == (word in words) or (compact.has_word(word) and not text.isascii())
