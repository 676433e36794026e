"""Finding where imported names are defined by reading package layouts (torchwire/packages.py):
the conventions real packages use, the budget that turns a lookup too big into "unknown", and
the index kept on disk between runs."""

from __future__ import annotations

import ast
import json
import multiprocessing
import textwrap
import time
from pathlib import Path

import pytest

from torchwire import packages
from torchwire.packages import Budget, IndexStore, Layouts, LookupBudget, ModuleIndex, editable_roots


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def layouts(tmp_path, monkeypatch) -> Layouts:
    """Layouts of a fake environment whose only search-path folder is tmp_path/site."""
    monkeypatch.setattr(packages, "search_path", lambda python: [str(tmp_path / "site")])
    (tmp_path / "site").mkdir()
    (tmp_path / "project").mkdir()
    return Layouts(str(tmp_path / "project"), None, IndexStore(tmp_path / "index"))


def locate(layouts: Layouts, qualified: str, budget: Budget | None = None):
    importer = str(Path(layouts.root) / "model.py")
    found = layouts.locate(importer, qualified, budget)
    return None if found is None else (Path(found[0]).relative_to(Path(layouts.root).parent / "site").as_posix(), found[1], found[2])


def test_transformers_layout_lazy_module_type_checking_and_all(layouts, tmp_path):
    write(tmp_path / "site", {
        "hf/__init__.py": """
            from typing import TYPE_CHECKING
            _import_structure = {"configuration_utils": ["PreTrainedConfig"]}
            _import_structure["modeling_utils"] = ["PreTrainedModel"]
            if TYPE_CHECKING:
                from .models import *
            else:
                import sys
                sys.modules[__name__] = _LazyModule(__name__, globals()["__file__"], _import_structure)
        """,
        "hf/configuration_utils.py": "class PreTrainedConfig:\n    pass\n",
        "hf/modeling_utils.py": "import torch.nn as nn\n\nclass PreTrainedModel(nn.Module):\n    pass\n",
        "hf/models/__init__.py": "if TYPE_CHECKING:\n    from .bert import *\n    from .llama import *\n",
        "hf/models/bert/__init__.py": "if TYPE_CHECKING:\n    from .modeling_bert import *\n",
        "hf/models/bert/modeling_bert.py": "class BertModel:\n    pass\n\n__all__ = ['BertModel']\n",
        "hf/models/llama/__init__.py": "if TYPE_CHECKING:\n    from .configuration_llama import *\n    from .modeling_llama import *\n",
        "hf/models/llama/configuration_llama.py": "class LlamaConfig:\n    pass\n\n__all__ = ['LlamaConfig']\n",
        "hf/models/llama/modeling_llama.py": "\n\nclass LlamaModel:\n    pass\n\n__all__ = ['LlamaModel']\n",
    })
    assert locate(layouts, "hf.LlamaModel") == ("hf/models/llama/modeling_llama.py", "LlamaModel", 3)
    assert locate(layouts, "hf.LlamaConfig") == ("hf/models/llama/configuration_llama.py", "LlamaConfig", 1)
    assert locate(layouts, "hf.PreTrainedModel") == ("hf/modeling_utils.py", "PreTrainedModel", 3)
    assert locate(layouts, "hf.models.bert.BertModel") == ("hf/models/bert/modeling_bert.py", "BertModel", 1)
    assert locate(layouts, "hf.GPT2Model") is None


def test_reexports_aliases_and_functions(layouts, tmp_path):
    write(tmp_path / "site", {
        "blocks/__init__.py": "from .layers import Mlp as MLP, create_conv2d\nfrom blocks.norms import *\n",
        "blocks/layers.py": "class Mlp:\n    pass\n\ndef create_conv2d(c):\n    pass\n\nto_2tuple = _ntuple(2)\n",
        "blocks/norms.py": "__all__ = ['LayerNorm2d']\n\nclass LayerNorm2d:\n    pass\n\nclass _Hidden:\n    pass\n",
    })
    assert locate(layouts, "blocks.MLP") == ("blocks/layers.py", "Mlp", 1)
    assert locate(layouts, "blocks.create_conv2d") == ("blocks/layers.py", "create_conv2d", 4)
    assert locate(layouts, "blocks.layers.to_2tuple") == ("blocks/layers.py", "to_2tuple", 7)
    assert locate(layouts, "blocks.LayerNorm2d") == ("blocks/norms.py", "LayerNorm2d", 3)
    assert locate(layouts, "blocks._Hidden") is None  # not in the star-imported module's __all__


def test_a_submodule_imported_from_its_package_is_not_looked_for_in_its_star_imports(layouts, tmp_path):
    """`from ... import initialization as init` in transformers 5 names a module: the lookup
    reads the package's __init__ and stops there, instead of walking the indexes of every
    module its star imports reach (two thousand, for transformers)."""
    files = {"hf/__init__.py": "".join(f"from .m{i} import *\n" for i in range(50)), "hf/initialization.py": "def normal_(t):\n    pass\n"}
    files.update({f"hf/m{i}.py": f"class C{i}:\n    pass\n" for i in range(50)})
    write(tmp_path / "site", files)
    asked = []
    original = IndexStore.get
    IndexStore.get = lambda self, path, budget: asked.append(Path(path).name) or original(self, path, budget)
    try:
        assert locate(layouts, "hf.initialization") is None
        assert asked == ["__init__.py"]
        assert locate(layouts, "hf.C49") == ("hf/m49.py", "C49", 1)  # the star imports still answer names
    finally:
        IndexStore.get = original


def test_a_lookup_past_its_budget_is_unknown_not_a_wait(layouts, tmp_path):
    # A package whose __init__ star-imports 600 modules, the name in the last: the lookup stops
    # after its budget of files (the caller counts that as "unknown" for now).
    files = {"huge/__init__.py": "".join(f"from .m{i} import *\n" for i in range(600))}
    files.update({f"huge/m{i}.py": f"class C{i}:\n    pass\n" for i in range(600)})
    files["huge/m599.py"] = "class Wanted:\n    pass\n"
    write(tmp_path / "site", files)
    read = []
    original = IndexStore._read
    IndexStore._read = lambda self, path: read.append(path) or original(self, path)
    try:
        with pytest.raises(LookupBudget):
            locate(layouts, "huge.Wanted", Budget(files=100))
    finally:
        IndexStore._read = original
    assert len(read) == 100  # the __init__ and 99 modules: its budget of 100 files, then it gave up
    with pytest.raises(LookupBudget):
        locate(layouts, "huge.Wanted", Budget(files=100, deadline=time.monotonic() - 1))
    assert locate(layouts, "huge.Wanted", Budget(files=1000)) == ("huge/m599.py", "Wanted", 1)
    # What was read is known from then on: the same lookup costs no file.
    assert locate(layouts, "huge.Wanted", Budget(files=0)) == ("huge/m599.py", "Wanted", 1)


def test_star_import_cycles_end(layouts, tmp_path):
    write(tmp_path / "site", {
        "loop/__init__.py": "from .a import *\n",
        "loop/a.py": "from .b import *\n",
        "loop/b.py": "from .a import *\nfrom loop import *\n",
    })
    assert locate(layouts, "loop.Missing") is None


def test_the_index_is_kept_on_disk_and_follows_edits(layouts, tmp_path):
    write(tmp_path / "site", {"pkg/__init__.py": "from .core import Block\n", "pkg/core.py": "class Block:\n    pass\n"})
    assert locate(layouts, "pkg.Block") == ("pkg/core.py", "Block", 1)
    layouts.store.save()
    [stored] = (tmp_path / "index").glob("pkg-*.json")
    data = json.loads(stored.read_text())
    assert sorted(Path(p).name for p in data["files"]) == ["__init__.py", "core.py"]
    again = Layouts(layouts.root, None, IndexStore(tmp_path / "index"))
    assert again.store.get(str(tmp_path / "site" / "pkg" / "core.py"), Budget(files=0)).classes == {"Block": 1}
    # The file changes (size and time): its entry no longer counts.
    (tmp_path / "site" / "pkg" / "core.py").write_text("\n\nclass Block(object):\n    pass\n")
    assert locate(again, "pkg.Block") == ("pkg/core.py", "Block", 3)


def _save_entries(directory: str, site: str, names: list[str]) -> None:
    store = IndexStore(Path(directory))
    for name in names:
        store.get(str(Path(site) / "shared" / f"{name}.py"), None)
    store.save()


def test_runs_writing_the_same_index_at_once_leave_a_whole_file(tmp_path):
    site = tmp_path / "site"
    write(site, {"shared/__init__.py": "", **{f"shared/m{i}.py": f"class C{i}:\n    pass\n" for i in range(40)}})
    halves = [[f"m{i}" for i in range(0, 40, 2)], [f"m{i}" for i in range(1, 40, 2)]]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_save_entries, args=(str(tmp_path / "index"), str(site), names)) for names in halves * 3]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    [stored] = (tmp_path / "index").glob("shared-*.json")
    data = json.loads(stored.read_text())  # never torn
    assert data["version"] == packages.INDEX_VERSION
    assert {Path(p).name for p in data["files"]} <= {f"m{i}.py" for i in range(40)}
    assert len(list((tmp_path / "index").glob(".tmp-*"))) == 0


def test_module_index_reads_what_a_module_binds():
    tree = ast.parse(textwrap.dedent("""
        import torch.nn as nn
        from .blocks import Block, helper as make
        try:
            from .fast import FastAttention
        except ImportError:
            FastAttention = None
        __all__ = ["Model"]
        __all__ += ["Block"]
        _import_structure = {"a": ["A"]}
        _import_structure["b"].extend(["B1", "B2"])

        class Model(nn.Module):
            pass

        def build():
            pass
    """))
    index = ModuleIndex.of(tree)
    assert index.classes == {"Model": 13}
    assert index.functions == {"build": 16}
    assert index.imports["Block"] == ".blocks.Block" and index.imports["make"] == ".blocks.helper"
    assert index.imports["FastAttention"] == ".fast.FastAttention"
    assert index.exported == ["Model", "Block"]
    assert index.lazy == {"a": ["A"], "b": ["B1", "B2"]}


def test_editable_installs_are_found_through_their_finder(tmp_path):
    (tmp_path / "__editable___mylib_0_1_finder.py").write_text(
        f"MAPPING: dict[str, str] = {{'mylib': {str(tmp_path / 'src' / 'mylib')!r}}}\n")
    assert editable_roots([str(tmp_path)]) == {"mylib": str(tmp_path / "src" / "mylib")}


# ---------------------------------------------------------------------- in the language server


def test_edits_are_answered_while_a_slow_lookup_runs(tmp_path):
    """An installed package whose layout takes a while to read (300 star-imported modules, the
    class in the last, more than one lookup's budget of time on a slow machine): the server
    publishes the diagnostics of every edit from what it knows while the lookup runs in the
    background (again where the budget cut it short), and publishes again once it has found
    the class."""
    import subprocess
    import sys

    from rpc import RawServer

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n" for i in range(150))
    files = {"slowpkg/__init__.py": "".join(f"from .part{i:03d} import *\n" for i in range(300))}
    files.update({f"slowpkg/part{i:03d}.py": filler for i in range(299)})
    files["slowpkg/part299.py"] = filler + "import torch.nn as nn\n\nclass Wanted(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 4)\n"
    write(purelib, files)
    model = tmp_path / "project" / "model.py"
    model.parent.mkdir()
    text = textwrap.dedent("""\
        import torch.nn as nn
        from slowpkg import Wanted


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = [Wanted() for _ in range(2)]

            def forward(self, x):
                for block in self.blocks:
                    x = block(x)
                return x
    """)
    model.write_text(text)
    uri = model.as_uri()
    server = RawServer(cwd=str(model.parent))
    try:
        server.initialize(options={"debounce": 0, "python": str(python)})
        server.send(server.notification("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}))
        published = []

        def next_diagnostics() -> dict:
            while True:
                message = server.read(60)
                if message.get("method") == "textDocument/publishDiagnostics":
                    published.append((message["params"]["version"], sorted(d["code"] for d in message["params"]["diagnostics"])))
                    return message["params"]

        assert next_diagnostics()["version"] == 1
        for version in range(2, 7):  # a blank line typed at the end and taken back, five times
            change = {"range": {"start": {"line": 13, "character": 0}, "end": {"line": 13, "character": 0}}, "text": "\n"} if version % 2 == 0 else \
                {"range": {"start": {"line": 13, "character": 0}, "end": {"line": 14, "character": 0}}, "text": ""}
            server.send(server.notification("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}))
            while next_diagnostics()["version"] != version:
                pass
        while not any("TW201" in codes for _, codes in published):
            next_diagnostics()
    finally:
        server.close()
    # Every edit was answered before the lookup found Wanted (TW201: its instances sit in a plain list).
    first_found = next(i for i, (_, codes) in enumerate(published) if "TW201" in codes)
    answered = [version for version, _ in published[:first_found]]
    assert set(range(1, 7)) <= set(answered)
    assert published[first_found:] and all("TW201" in codes for _, codes in published[first_found:])
