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
