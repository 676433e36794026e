"""How much of the installed packages an analysis reads, and that what it remembers of them
stays true: a package's `__init__` that star-imports every submodule is read without them
(transformers' `from .. import __version__` once made the server parse two thousand files and
grow to 1.4 GB), and a helper's remembered result is never another call's."""

from __future__ import annotations

import textwrap
from pathlib import Path

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
    import ast

    return [ast.dump(n, include_attributes=True) for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_bodies_parsed_again_when_read_are_the_files_own(monkeypatch):
    """A package file's function bodies are dropped once its model is made and parsed again
    when read: the same statements at the same lines and columns as in the whole file, for the
    packages users have (decorators, async, nested functions, non-ASCII, CRLF line ends)."""
    import ast
    import sysconfig

    from torchwire.engine.analysis import parse_module
    from torchwire.engine.lazy_bodies import drop_bodies
    from torchwire.engine.source import SourceText

    packages = Path(sysconfig.get_paths()["purelib"])  # found, never imported
    files = [packages / name for name in ("transformers/modeling_utils.py", "diffusers/models/attention_processor.py", "timm/models/vision_transformer.py")]
    texts = [p.read_text(encoding="utf-8") for p in files]
    texts.append('import torch\n\n\nclass M:\n    @property\n    def é(self):\n        """ü"""\n        x = "😀"\n        return x\n\n    async def run(self):\n        async with a:\n            await b\n        return 1\n\ndef f(a,\n      b):\n    def g():\n        return a\n    return g\n'.replace("\n", "\r\n"))
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
        assert all(type(n) in (ast.FunctionDef, ast.AsyncFunctionDef) for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
