"""Code whose base classes torchwire cannot read (a model file opened outside its package, an
editor pointed at an interpreter without the package): the rules work from what the file
shows, and stay silent where what they would need lives in code they cannot see."""

from __future__ import annotations

import textwrap
from pathlib import Path

from torchwire.config import Config
from torchwire.engine.analysis import analyze
from torchwire.project import Project

OUTSIDE_ITS_PACKAGE = textwrap.dedent("""\
    import torch.nn as nn

    from ...modeling_layers import GradientCheckpointingLayer
    from ...modeling_utils import PreTrainedModel


    class TinyLayer(GradientCheckpointingLayer):
        def __init__(self, config):
            super().__init__()
            self.attention = TinyAttention(config)

        def forward(self, hidden_states):
            return self.attention(hidden_states)


    class TinyAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.proj = nn.Linear(config.hidden_size, config.hidden_size)

        def forward(self, hidden_states):
            return self.proj(hidden_states)


    class TinyPreTrainedModel(PreTrainedModel):
        base_model_prefix = "tiny"


    class TinyModel(TinyPreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            self.layers = nn.ModuleList([TinyLayer(config) for _ in range(config.num_hidden_layers)])
            self.norm = nn.LayerNorm(config.hidden_size)

        def forward(self, hidden_states):
            for layer in self.layers:
                layer(hidden_states)
            return self.norm(hidden_states)
""")


def codes(text: str, path: str) -> list[tuple[str, int]]:
    return [(f.code, f.range.start.line) for f in analyze(text, path, Config()).findings]


def test_a_model_file_outside_its_package_still_gets_the_classic_bug(tmp_path):
    # TinyModel derives from PreTrainedModel through a class of its own file, and its layers
    # from a base that is not there: both are modules by what they build and their forward.
    path = tmp_path / "modeling_tiny.py"
    path.write_text(OUTSIDE_ITS_PACKAGE)
    resolver = Project(str(tmp_path)).resolver(blocking=True)
    findings = analyze(OUTSIDE_ITS_PACKAGE, str(path), Config(), resolver).findings
    assert [(f.code, f.range.start.line, f.range.start.character) for f in findings if f.code == "TW101"] == [("TW101", 36, 12)]  # layer(hidden_states)


def test_plain_classes_with_lists_are_not_modules():
    text = textwrap.dedent("""\
        import torch.nn as nn
        from keras import layers


        class Stack(layers.Layer):
            def __init__(self):
                super().__init__()
                self.blocks = [layers.Dense(4) for _ in range(3)]

            def call(self, x):
                for block in self.blocks:
                    block(x)
                return x


        class Registry(SomethingUnknown):
            def __init__(self):
                self.items = [object() for _ in range(3)]

            def forward(self, x):
                for item in self.items:
                    item(x)
                return x
    """)
    assert codes(text, "keras_model.py") == []


def test_unused_is_not_said_when_forward_comes_from_another_file(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "base.py").write_text(textwrap.dedent("""\
        import torch.nn as nn


        class BaseMLP(nn.Module):
            def __init__(self):
                super().__init__()

            def forward(self, x):
                return self.fc2(self.fc1(x))
    """))
    user = textwrap.dedent("""\
        import torch.nn as nn
        from .base import BaseMLP


        class WideMLP(BaseMLP):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(8, 32)
                self.fc2 = nn.Linear(32, 8)
                self.spare = nn.Linear(8, 8)
    """)
    path = tmp_path / "pkg" / "wide.py"
    path.write_text(user)
    findings = analyze(user, str(path), Config(), Project(str(tmp_path)).resolver(blocking=True)).findings
    # fc1 and fc2 are read by the inherited forward; `spare` by nothing.
    assert [(f.code, f.subject) for f in findings] == [("TW302", "spare")]


def test_unused_is_not_said_when_forward_may_be_in_an_unreadable_base(tmp_path):
    user = textwrap.dedent("""\
        import torch.nn as nn
        from somewhere_not_installed import Base


        class Head(Base, nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = nn.Linear(8, 8)
    """)
    path = Path(tmp_path) / "head.py"
    path.write_text(user)
    assert [f.code for f in analyze(user, str(path), Config(), Project(str(tmp_path)).resolver(blocking=True)).findings] == []


def test_a_name_re_exported_from_the_standard_library_is_not_read_there(tmp_path):
    """`Unpack` re-exported by a package's utils leads into typing.py: never a model's code,
    and Python's own big files are not read (typing.py alone took 400 ms to parse)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "utils.py").write_text("from typing import Unpack, NamedTuple\n")
    user = "import torch.nn as nn\nfrom pkg.utils import NamedTuple\n\n\nclass M(NamedTuple, nn.Module):\n    pass\n"
    path = tmp_path / "pkg" / "model.py"
    path.write_text(user)
    project = Project(str(tmp_path))
    analyze(user, str(path), Config(), project.resolver(blocking=True))
    read = [Path(p).name for p in project._files]
    assert "typing.py" not in read


def test_an_inherited_registration_is_not_reported_in_the_derived_class_file(tmp_path):
    """The base's unused `spare` is the base file's finding (at its own line there), not the
    derived class's at a line of another file."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "base.py").write_text(textwrap.dedent("""\
        import torch.nn as nn


        class Base(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(8, 8)
                self.spare = nn.Linear(8, 8)

            def forward(self, x):
                return self.body(x)
    """))
    user = textwrap.dedent("""\
        import torch.nn as nn
        from .base import Base


        class Derived(Base):
            def __init__(self):
                super().__init__()
                self.extra = nn.Linear(8, 8)
                self.more = nn.Linear(8, 8)

            def forward(self, x):
                return self.extra(self.body(x))
    """)
    path = tmp_path / "pkg" / "derived.py"
    path.write_text(user)
    findings = analyze(user, str(path), Config(), Project(str(tmp_path)).resolver(blocking=True)).findings
    assert [(f.code, f.subject, f.owner, f.range.start.line) for f in findings] == [("TW302", "more", "Derived", 8)]
