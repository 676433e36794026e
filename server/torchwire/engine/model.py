"""The module model of one file: which classes are `nn.Module`s, what each registers, and the
observations the interpreter made on the way."""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..catalogue import lookup
from ..catalogue.spec import LayerSpec
from .cached import cached_property
from .imports import ImportMap
from .interpreter import BUILTINS, Budget, Interpreter, Observation, QualName
from .params import ParamRow, named_tensors
from .reuse import clone_members, construction_key
from .source import SourceText
from .values import UNKNOWN, ClassRef, FunctionRef, Members, ModuleVal, SeqVal, may_hold_modules

# Base classes from well-known libraries that are nn.Module subclasses.
KNOWN_MODULE_BASES = {
    "torch.nn.Module",
    "pytorch_lightning.LightningModule",
    "lightning.LightningModule",
    "lightning.pytorch.LightningModule",
    "transformers.PreTrainedModel",
    "transformers.modeling_utils.PreTrainedModel",
}

# Registering a forward hook (`m.register_forward_hook(...)`), or building a helper that does
# (timm's `FeatureHooks(...)`). Not accelerate's `_hf_hook` attributes.
# Hooks set up by hand, or declared: transformers' `_can_record_outputs` names the modules whose
# outputs its hooks record.
HOOK_SETUP = re.compile(r"register_\w*hook\w*\s*\(|Hooks?\s*\(|\b_can_record_outputs\b")
# Code that reaches a module's members by name or all at once (`getattr(self, name)`,
# `self.named_modules()`): any of them may be used there, in the class or in one it inherits from.
REACHES_MEMBERS_BY_NAME = re.compile(
    r"getattr\(\s*self|self\.(modules|children|named_modules|named_children|_modules|__dict__|parameters|named_parameters)\b"
    r"|vars\(\s*self|in\s+self\s*:|\bself\[",
)


def names_read_in(nodes) -> set[str]:
    """The names and attributes these nodes read, and the dotted parts of their strings."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 200:
            names.update(node.value.split("."))
    return names


class _WordsOf:
    """`word in words`, for the words of a text, each looked for once."""

    def __init__(self, source: SourceText) -> None:
        self.source = source
        self.known: dict[str, bool] = {}

    def __contains__(self, word: str) -> bool:
        found = self.known.get(word)
        if found is None:
            found = self.known[word] = self.source.has_word(word)
        return found


NOT_MODULES = {"torch.nn.Parameter", "torch.nn.Buffer", "collections.OrderedDict", "typing.OrderedDict"}


@dataclass(eq=False)
class ModuleClass:
    """A class of the analysed file, with what its `__init__` registers."""

    name: str
    node: ast.ClassDef
    ctx: "FileContext"
    top: ast.stmt  # the file's top-level statement holding it (itself, or a function)
    _bases: list["ModuleClass"] = field(default_factory=list)
    spec_base: LayerSpec | None = None  # subclass of a torch.nn layer or container
    evidence: str | None = None  # why it is a module: "nn.Module", "Block", "heuristic", ...
    constructions: dict = field(default_factory=dict, repr=False)  # see reuse.py
    defaults_built: dict = field(default_factory=dict, repr=False)  # label -> this config built at its defaults
    assumed_configs: dict = field(default_factory=dict, repr=False)  # parameter -> config read at its defaults
    answers: dict = field(default_factory=dict, repr=False)  # questions asked about it (hover texts), memoized

    @property
    def local_bases(self) -> list["ModuleClass"]:
        """Its base classes whose code torchwire has (of this file or another)."""
        self.ctx.prepare(self)
        return self._bases

    @property
    def is_module(self) -> bool:
        self.ctx.prepare(self)
        return self.evidence is not None

    @cached_property
    def methods(self) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
        return {
            stmt.name: stmt
            for stmt in self.node.body
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
        }

    def find_method(self, name: str, _depth: int = 0) -> tuple[ast.FunctionDef | None, "ModuleClass | None"]:
        """The method as Python's MRO finds it among this file's classes."""
        if name in self.methods:
            return self.methods[name], self  # type: ignore[return-value]
        if _depth > 20:
            return None, None
        for base in self.local_bases:
            found, owner = base.find_method(name, _depth + 1)
            if found is not None:
                return found, owner
        return None, None

    @cached_property
    def is_dataclass(self) -> bool:
        for decorator in self.node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = self.ctx.imports.qualify(target) or (target.id if isinstance(target, ast.Name) else "")
            if name in ("dataclasses.dataclass", "dataclass", "pydantic.dataclasses.dataclass"):
                return True
        return False

    def dataclass_fields(self) -> list[str]:
        return self._dataclass_fields

    @cached_property
    def _dataclass_fields(self) -> list[str]:
        return [
            stmt.target.id
            for stmt in self.node.body
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and "ClassVar" not in ast.unparse(stmt.annotation)
        ]

    def has_defaults_for_all(self) -> bool:
        """Whether the class can be built with no arguments (a config with a default for
        every field)."""
        from .configs import hierarchy, is_dataclass_like

        classes = hierarchy(self)
        if is_dataclass_like(classes):
            defaults = {name for c in classes for name in c.class_attributes()}
            return all(name in defaults for c in classes for name in c.dataclass_fields())
        init, _ = self.find_method("__init__")
        if init is None:
            return bool(self.class_attributes())
        a = init.args
        return len(a.defaults) == len(a.posonlyargs) + len(a.args) - 1 and all(d is not None for d in a.kw_defaults)

    def class_attributes(self) -> dict[str, ast.expr]:
        """Names its body assigns (read, never changed, by the callers: computed once; a
        config class of a package, such as PreTrainedConfig, is read thousands of times)."""
        return self._class_attributes

    @cached_property
    def accessors(self) -> dict[tuple[str, str], ast.FunctionDef]:
        """(name, "getter" or "setter") -> the method: `@property def num_labels`,
        `@num_labels.setter`; the first of each."""
        found: dict[tuple[str, str], ast.FunctionDef] = {}
        for stmt in self.node.body:
            if not isinstance(stmt, ast.FunctionDef):
                continue
            for d in stmt.decorator_list:
                if isinstance(d, ast.Name) and d.id in ("property", "cached_property"):
                    found.setdefault((stmt.name, "getter"), stmt)
                if isinstance(d, ast.Attribute) and d.attr == "setter":
                    found.setdefault((stmt.name, "setter"), stmt)
        return found

    @cached_property
    def _class_attributes(self) -> dict[str, ast.expr]:
        out: dict[str, ast.expr] = {}
        for stmt in self.node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                out[stmt.targets[0].id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
                out[stmt.target.id] = stmt.value
        return out

    @cached_property
    def root(self) -> ModuleVal:
        """An instance built with `__init__`'s defaults (symbols where there are none).

        Interpreting it is what records this class's observations."""
        module, interp = self._built(observe=True)
        self._note_plain_holders(module, interp)
        self.assumed_configs = dict(interp.assumed)
        return module

    def built_again(self) -> ModuleVal:
        """Another instance like `root`, recording nothing: for work that reads all of what it
        holds and then lets it go (the hovers computed ahead: every layer's parameters, 18 MB
        for a 10,000-line file), so that `root` stays as small as the analysis needs it."""
        return self._built(observe=False)[0]

    def _built(self, observe: bool) -> tuple[ModuleVal, Interpreter]:
        module = ModuleVal(display=self.name, qualified=self.name, node=self.node, cls=self)
        module._members = Members()
        interp = Interpreter(self.ctx, observe=observe, within=statement_lines(self.node))
        try:
            interp.run_init(self, module, [], {})
        except Budget as reason:
            module.unknown = str(reason)
        except RecursionError:
            module.unknown = "the construction is too deeply nested to follow"
        return module, interp

    def assumptions(self) -> str | None:
        """`at the defaults of LlamaConfig (config)`: what its table assumes, if anything."""
        self.root
        if not self.assumed_configs:
            return None
        return "at the defaults of " + ", ".join(f"`{cls}` (`{param}`)" for param, cls in self.assumed_configs.items())

    def _note_plain_holders(self, module: ModuleVal, interp: Interpreter) -> None:
        """Lists, tuples and dicts of modules kept on self, which PyTorch does not register."""
        members = module.members
        registered = {m.uid for m in _registered_modules(module)}
        for name, slot in members.attributes.items():
            seq = slot.value
            if not isinstance(seq, SeqVal) or slot.node is None:
                continue
            held = _held_modules(seq)
            if not held or all(m.uid in registered for m in held):
                continue
            # Written in __init__, or in a function of this file that builds the model for it
            # (`def build(model, n): model.blocks = [...]`): reported where it is written.
            outside = interp.within is not None and not interp.within[0] <= slot.node.lineno <= interp.within[1]
            if outside and not self._in_own_function(slot.node):
                continue
            nested = any(isinstance(e.value, SeqVal) for e in seq.entries)
            interp.note("plain-holder", slot.node, anywhere=outside, attribute=name, seq=seq, modules=held, nested=nested, target=slot.target)

    def _in_own_function(self, node: ast.AST) -> bool:
        """Whether `node` is in a top-level function of this class's file (not of another file,
        whose lines would mean nothing here)."""
        for fn in self.ctx.functions.values():
            if fn.lineno <= node.lineno <= (fn.end_lineno or fn.lineno) and any(n is node for n in ast.walk(fn)):
                return True
        return False

    @cached_property
    def works_with_hooks(self) -> bool:
        """Whether the class uses forward hooks (timm's feature extraction does): then a module
        may be called only for what its hooks record, and its output dropped on purpose."""
        classes = [self, *self.local_bases]
        return any(HOOK_SETUP.search(self.ctx.source.segment(c.node)) for c in classes)

    @cached_property
    def forward_returns_value(self) -> bool:
        """False when forward() returns nothing (a module called for its side effects)."""
        forward, _ = self.find_method("forward")
        if forward is None:
            return True
        for node in _walk_function(forward):
            if isinstance(node, ast.Return) and node.value is not None:
                return True
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                return True
        return False

    def parameters(self) -> list[ParamRow]:
        return named_tensors(self.root, "params")

    def buffers(self) -> list[ParamRow]:
        return named_tensors(self.root, "buffers")


def _plain_value(value: Any) -> bool:
    """A number, a string, or a tuple of them (as the interpreter holds it)."""
    if isinstance(value, SeqVal):
        return value.kind == "tuple" and all(e.count == 1 and _plain_value(e.value) for e in value.entries)
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def statement_lines(stmt: ast.stmt) -> tuple[int, int]:
    """The 1-based lines a statement spans, its decorators included."""
    first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
    return first, stmt.end_lineno or stmt.lineno


def _registered_modules(module: ModuleVal) -> list[ModuleVal]:
    out: list[ModuleVal] = list(module.members.unnamed_children)
    for child in module.members.child_modules():
        out.append(child)
        if child.is_container and child.members.entries is not None:
            out.extend(e.value for e in child.members.entries if isinstance(e.value, ModuleVal))
    return out


def _held_modules(seq: SeqVal, depth: int = 0) -> list[ModuleVal]:
    """The modules a plain list, tuple or dict holds, in nested ones too (`[[lin, act], ...]`)."""
    held: list[ModuleVal] = []
    for e in seq.entries:
        if isinstance(e.value, ModuleVal) and not e.value.maybe:
            held.append(e.value)
        elif isinstance(e.value, SeqVal) and depth < 3:
            held.extend(_held_modules(e.value, depth + 1))
    return held


def _walk_function(fn: ast.AST):
    """The nodes of a function body, not descending into nested functions and classes."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


class Resolver(Protocol):
    """Finds the class an imported name stands for, in the code of another file (see
    torchwire/project.py). The engine only asks; it never imports anything."""

    def find_class(self, importer: "FileContext", qualified: str) -> "ModuleClass | None": ...

    def star_names(self, importer: "FileContext", module: str) -> dict[str, str]:
        """The names `from <module> import *` binds, with what they stand for."""
        ...

    # Optional: `find_value(importer, qualified) -> Any`, a helper function or constant of
    # another file (None when unknown), and `find_constant(importer, qualified) -> Any`, an
    # upper-case name of another file that is a plain constant (WIDTH = 64).


class FileContext:
    """Everything known about one file: its text, tree, imports, classes and observations."""

    def __init__(self, source: SourceText, tree: ast.Module, resolver: Resolver | None = None, lazy: bool = False):
        """`lazy`: decide which classes are modules only when asked (a file read for one of its
        classes, such as a big modeling file of an installed package)."""
        self.source = source
        self.tree = tree
        self.resolver = resolver
        self.lazy = lazy
        self.imports = ImportMap(tree)
        if resolver is not None and self.imports.star_modules:
            if lazy:  # another package's file: its star imports are read if a name needs them
                self.imports.read_stars_when_needed(self._read_star_imports, self._binds)
            else:
                self._read_star_imports()
        self.observations: dict[tuple[str, int], Observation] = {}
        self.shared_reported: set[int] = set()  # module uids already reported as repeated
        self.instances: dict[int, ModuleVal] = {}  # id(constructor call) -> the module it built
        self.classes: dict[str, ModuleClass] = {}
        self.all_classes: list[ModuleClass] = []
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        # name -> its assignment (its value read when needed: see lazy_bodies)
        self._constants: dict[str, ast.Assign | ast.AnnAssign] = {}
        self._globals_cache: dict[str, Any] = {}
        # What helper functions of this file returned for constant arguments (see
        # Interpreter.call_function): environment probes such as `is_flash_attn_available()`
        # are read by every model class of a package, on every keystroke.
        self.helper_results: dict[tuple, tuple[Any, int]] = {}
        # Each class's method flows (see RuleContext.flows), with the classes they read.
        self.flows: dict[ModuleClass, tuple[dict, frozenset[int]]] = {}
        self._prepared: set[int] = set()
        self._collect(tree.body, at_top_level=True)
        if not lazy:
            for cls in self.all_classes:
                self.prepare(cls)

    def _read_star_imports(self) -> None:
        for module in self.imports.star_modules:
            self.imports.add_star_names(self.resolver.star_names(self, module))

    def _binds(self, name: str) -> bool:
        """Whether the file's own top level defines `name` (a class, function or constant)."""
        return name in self.classes or name in self.functions or name in self._constants

    def dispose(self) -> None:
        """Break the cycles of an analysis no longer needed (its classes and this context, their
        cached models and constructions), so that reference counting frees it at once, not a
        full garbage collection later: a keystroke in a big file leaves megabytes behind."""
        fields = {f.name for f in dataclasses.fields(ModuleClass)}
        for cls in self.all_classes:
            for key in [k for k in vars(cls) if k not in fields]:
                del vars(cls)[key]  # cached models (`root`, ...)
            cls._bases = []
            cls.constructions.clear()
            cls.defaults_built.clear()
            cls.answers.clear()
        for table in (self.classes, self.instances, self.observations, self._globals_cache, self.helper_results, self.flows):
            table.clear()
        self.all_classes = []

    def adopt_answers(self, last: FileContext, unchanged: set[int]) -> None:
        """The questions answered about the classes of `last`, the file's model before an edit
        (hover texts), for the classes in top-level statements no edit reached (`unchanged`:
        their ids, the nodes kept from the last version): asked again, they would be answered
        the same, and the hovers computed ahead need not compute them again."""
        known = {id(cls.node): cls.answers for cls in last.all_classes if cls.answers and id(cls.top) in unchanged}
        for cls in self.all_classes:
            cls.answers.update(known.get(id(cls.node), ()))

    def replace_method(self, class_node: ast.ClassDef, index: int, new: ast.FunctionDef | ast.AsyncFunctionDef, stale: set[int]) -> None:
        """An edit inside a method that no construction ran (see incremental.py): the class's
        tree takes the new method in place, and only what was read off the method's body (the
        ids of its nodes: `stale`, and the flows that read the class) is forgotten;
        constructions, bases and class attributes stay as they were."""
        class_node.body[index] = new
        self.observations = {key: o for key, o in self.observations.items() if key[1] not in stale}
        self.instances = {key: m for key, m in self.instances.items() if key not in stale}
        self.__dict__.pop("names_read", None)
        self.flows = {cls: kept for cls, kept in self.flows.items() if id(class_node) not in kept[1]}
        for cls in self.all_classes:
            if cls.node is class_node:
                for cached in ("methods", "accessors"):
                    cls.__dict__.pop(cached, None)

    def forget_what_methods_say(self, classes: list[ModuleClass], edited: ast.ClassDef) -> None:
        """What was read off the methods of these classes, after a method of class `edited`
        changed: what their own methods and their bases' say (a subclass's inherited forward()
        returns what the base's does) if `edited` is among them. Their hover texts stay: they
        tell what the constructions built, which such an edit leaves as it was (recomputing
        them made the first hovers after a keystroke in LlamaAttention take 15-30 ms)."""
        from .configs import hierarchy

        for cls in classes:
            if any(c.node is edited for c in hierarchy(cls)):
                for cached in ("forward_returns_value", "works_with_hooks"):
                    cls.__dict__.pop(cached, None)

    def holds(self, node: ast.AST) -> bool:
        """Whether `node` is of this file's tree (what a class of another file built was written
        there, and is fixed there)."""
        line = getattr(node, "lineno", None)
        for top in self.tree.body if line is not None else []:
            first, last = statement_lines(top)
            if first <= line <= last:
                return any(n is node for n in ast.walk(top))
        return False

    def prepare(self, cls: ModuleClass) -> None:
        """Resolve a class's bases and decide whether it is a module (once)."""
        if id(cls) in self._prepared:
            return
        self._prepared.add(id(cls))
        self._resolve_bases(cls)
        for base in cls._bases:
            base.ctx.prepare(base)
        self._decide_module(cls, set())

    @property
    def constant_names(self) -> list[str]:
        """Names the file assigns at its top level."""
        return list(self._constants)

    # ------------------------------------------------------------------ discovery

    def _collect(self, body: list[ast.stmt], at_top_level: bool, holder: ast.stmt | None = None) -> None:
        """Classes (also those defined inside functions), functions and constants. `holder` is
        the file's top-level statement being walked (None while walking the top level)."""
        for stmt in body:
            top = holder or stmt
            if isinstance(stmt, ast.ClassDef):
                cls = ModuleClass(stmt.name, stmt, self, top)
                self.classes[stmt.name] = cls
                self.all_classes.append(cls)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if at_top_level:
                    self.functions[stmt.name] = stmt
                self._collect(stmt.body, False, top)  # classes defined inside functions
            elif at_top_level and isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if len(targets) == 1 and isinstance(targets[0], ast.Name) and stmt.value is not None:
                    self._constants[targets[0].id] = stmt
            elif isinstance(stmt, (ast.If, ast.Try, ast.With)):
                # Still the top level for names: `if TYPE_CHECKING:`, optional imports.
                for block in (stmt.body, getattr(stmt, "orelse", []), *[h.body for h in getattr(stmt, "handlers", [])]):
                    self._collect(block, at_top_level, top)

    def _resolve_bases(self, cls: ModuleClass) -> None:
        for base in cls.node.bases:
            if isinstance(base, ast.Name) and base.id in self.classes and self.classes[base.id] is not cls:
                cls._bases.append(self.classes[base.id])
                continue
            qualified = self.imports.qualify(base)
            if qualified is None:
                continue
            spec = lookup(qualified)
            if spec is not None and cls.spec_base is None:
                cls.spec_base = spec
            elif spec is None and not qualified.startswith("torch."):
                found = self.find_class(qualified)  # a base class of another file
                if found is not None:
                    cls._bases.append(found)

    def find_class(self, qualified: str) -> "ModuleClass | None":
        """The class an imported name stands for, when a resolver can find its code."""
        if self.resolver is None:
            return None
        try:
            return self.resolver.find_class(self, qualified)
        except Exception:  # resolution is a bonus: never let it break the analysis
            return None

    def find_value(self, qualified: str) -> Any:
        """What an imported function or constant stands for, when a resolver can find its code
        (None: unknown)."""
        return self._ask_resolver("find_value", qualified)

    def find_constant(self, qualified: str) -> Any:
        """What an imported upper-case name stands for when it is a plain constant (a number,
        a string, a tuple of them), when a resolver can find its code (None: unknown)."""
        return self._ask_resolver("find_constant", qualified)

    def _ask_resolver(self, question: str, qualified: str) -> Any:
        finder = getattr(self.resolver, question, None)  # optional in a resolver
        if finder is None:
            return None
        try:
            return finder(self, qualified)
        except Exception:  # resolution is a bonus: never let it break the analysis
            return None

    def _decide_module(self, cls: ModuleClass, visiting: set[int]) -> bool:
        if cls.evidence is not None:
            return True
        if id(cls) in visiting:
            return False
        visiting.add(id(cls))
        for base in cls._bases:
            decided = base.is_module if base.ctx is not self else self._decide_module(base, visiting)
            if decided:
                cls.evidence = base.name
                return True
        if cls.spec_base is not None:
            cls.evidence = f"nn.{cls.spec_base.name}"
            return True
        for base in cls.node.bases:
            qualified = self.imports.qualify(base)
            if qualified in KNOWN_MODULE_BASES:
                cls.evidence = qualified
                return True
        # A base defined elsewhere (PreTrainedModel, a timm block, ...), here or further up
        # through this file's own classes (`IJepaModel(IJepaPreTrainedModel(PreTrainedModel))`
        # in a file read outside its package): the class is a module if it has a forward() and
        # registers layers in __init__.
        if self._unknown_ancestry(cls, 0) and "forward" in cls.methods and self._registers_layers(cls, visiting):
            cls.evidence = "heuristic"
            return True
        return False

    def _unknown_ancestry(self, cls: ModuleClass, depth: int) -> bool:
        """Whether a base of the class, or of one of this file's classes it derives from, is
        a class torchwire cannot read."""
        if depth > 10:
            return False
        for base in cls.node.bases:
            qualified = self.imports.qualify(base)
            if qualified is not None and not qualified.startswith(("torch.", "typing.", "abc.", "enum.")):
                return True
            if isinstance(base, ast.Name) and base.id in self.classes:
                local = self.classes[base.id]
                if local is not cls and not local.evidence and self._unknown_ancestry(local, depth + 1):
                    return True
            elif qualified is None and isinstance(base, (ast.Name, ast.Attribute)) and not (
                isinstance(base, ast.Name) and base.id in ("object", "Exception", "dict", "list", "tuple")
            ):
                return True
        return False

    def _registers_layers(self, cls: ModuleClass, visiting: set[int]) -> bool:
        """Whether `__init__` builds torch.nn layers, or modules of this file's own classes."""
        init = cls.methods.get("__init__")
        if init is None:
            return False
        for node in ast.walk(init):
            if isinstance(node, ast.Call):
                q = self.imports.qualify(node.func)
                if q is not None and q.startswith("torch.nn.") and lookup(q) is not None:
                    return True
                local = self.classes.get(node.func.id) if isinstance(node.func, ast.Name) else None
                if local is not None and local is not cls and self._decide_module(local, visiting):
                    return True
        return False

    @cached_property
    def names_read(self) -> "set[str] | _WordsOf":
        """Every name and attribute the code reads, and the dotted parts of its strings
        (`"lm_head.weight"`): what "is it used anywhere?" questions are answered with."""
        if self.lazy:
            # Another file (a base class's): the words of its text, each looked for when asked
            # (walking modeling_utils.py's tree took 100 ms; the set of all its words, 13 ms
            # holding the GIL and 1 MB). A superset: it can keep TW302 quiet about an attribute
            # that file only assigns, never make it report one.
            return _WordsOf(self.source)
        return names_read_in(ast.walk(self.tree))

    @property
    def module_classes(self) -> list[ModuleClass]:
        return [c for c in self.all_classes if c.is_module]

    # ------------------------------------------------------------------ name resolution

    def is_imported(self, name: str) -> bool:
        return name in self.imports.names and name not in self.classes and name not in self._constants

    def resolve_qualified(self, qualified: str) -> Any:
        spec = lookup(qualified)
        if spec is not None:
            return ClassRef(qualified, f"nn.{spec.name}", spec=spec)
        last = qualified.rsplit(".", 1)[-1]
        # torch.Size, torch.Tensor, torch.Generator...: PyTorch classes outside torch.nn are no modules.
        torch_non_module = qualified.startswith("torch.") and not qualified.startswith("torch.nn.")
        # `LOSS_MAPPING`, `ALL_ATTENTION_FUNCTIONS`: upper case with underscores names a constant
        # (a class may be `MLP`); finding out would read the file and everything it names.
        constant = last.isupper() and "_" in last.strip("_")
        if last[:1].isupper() and not torch_non_module and qualified not in NOT_MODULES and not constant:
            definition = self.find_class(qualified) if not qualified.startswith("torch.") else None
            if definition is not None or not last.isupper():  # `MLP` may be a class, `HIDDEN` a constant
                return ClassRef(qualified, last, definition=definition)
        # A helper of another file (get_down_block), or a value made by one (to_2tuple). Not the
        # upper-case tables (LOSS_MAPPING, ACT2CLS): computing them would read every file they
        # name; but plain constants (WIDTH = 64) are sizes.
        if not qualified.startswith("torch.") and (last[:1].islower() or last[:1] == "_"):
            value = self.find_value(qualified)
            if value is not None:
                return value
        elif not qualified.startswith("torch.") and last.isupper():
            value = self.find_constant(qualified)
            if value is not None:
                return value
        return QualName(qualified)

    def plain_constant(self, name: str) -> Any:
        """The value of a top-level upper-case constant of this file that is a number, a string
        or a tuple of them, computed from literals and other such constants; None otherwise."""
        assignment = self._constants.get(name)
        if assignment is None or not self._plain(assignment.value, 0):
            return None
        value = self.global_value(name, Interpreter(self, observe=False))
        return value if _plain_value(value) else None

    def _plain(self, node: ast.expr, depth: int) -> bool:
        if depth > 8:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (int, float, str)) and not isinstance(node.value, bool)
        if isinstance(node, ast.Tuple):
            return all(self._plain(e, depth + 1) for e in node.elts)
        if isinstance(node, ast.UnaryOp):
            return self._plain(node.operand, depth + 1)
        if isinstance(node, ast.BinOp):
            return self._plain(node.left, depth + 1) and self._plain(node.right, depth + 1)
        if isinstance(node, ast.Name):  # another constant, of this file or imported
            if node.id in self._constants:
                return node.id.isupper() and self._plain(self._constants[node.id].value, depth + 1)
            return node.id.isupper() and node.id in self.imports.names
        return False

    def global_value(self, name: str, interp: Interpreter) -> Any:
        if name in self.classes:
            cls = self.classes[name]
            return ClassRef(name, name, definition=cls)
        if name in self.functions:
            return FunctionRef(self.functions[name])
        if name in self._constants:
            if name not in self._globals_cache:
                self._globals_cache[name] = UNKNOWN  # guards self-reference
                from .interpreter import Frame

                self._globals_cache[name] = interp.eval(self._constants[name].value, Frame({}))
            return self._globals_cache[name]
        qualified = self.imports.names.get(name)
        if qualified is not None:
            return self.resolve_qualified(qualified)
        builtin = BUILTINS.get(name)
        if builtin is not None:
            return builtin
        if name in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[name]
        return UNKNOWN

    # ------------------------------------------------------------------ instances

    def instantiate(self, cls: ModuleClass, args: list[Any], kwargs: dict[str, Any], node: ast.AST, depth: int, unknown_args: bool = False) -> ModuleVal:
        """An instance of a class of this file; its `__init__` is interpreted when first needed."""
        module = ModuleVal(display=cls.name, qualified=cls.name, node=node, cls=cls)
        module.fed_modules = unknown_args or any(may_hold_modules(v) for v in (*args, *kwargs.values()))

        key_of_args: list = []  # computed once: copies of this module share this closure

        def expand(m: ModuleVal) -> Members:
            m._members = Members()
            if depth > 12:
                m.unknown = "nested too deeply to follow"
                return m._members
            # A class of another file (an installed package) is built once per distinct arguments.
            if not key_of_args:
                key_of_args.append(construction_key(args, kwargs, depth) if self.lazy and not unknown_args else None)
            key = key_of_args[0]
            reused = cls.constructions.get(key) if key is not None else None
            if reused is not None:
                m._members, m.unknown = clone_members(reused[0]), reused[1]
                return m._members
            interp = Interpreter(self, observe=False)
            try:
                interp.run_init(cls, m, list(args), dict(kwargs), depth)
            except Budget as reason:
                m.unknown = str(reason)
            except RecursionError:
                m.unknown = "the construction is too deeply nested to follow"
            if key is not None:
                cls.constructions[key] = (clone_members(m._members), m.unknown)
            return m._members

        module._expand = expand
        if unknown_args:
            module.args = {"*": UNKNOWN}
        return module
