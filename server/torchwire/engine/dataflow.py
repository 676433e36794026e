"""Dataflow through the methods of a module class (`forward` first of all).

Each method is walked once, abstractly: names are bound to module references (`self.layers`,
an element of it, a loop variable over it) or to data carrying the set of module calls whose
output flowed into it. Every module call is recorded as a `CallSite`; the walk also records
which call outputs reach the return value or another escape (stored on `self`, handed to a
call whose result is used or which may have side effects, yielded, ...).

Unknown calls are opaque but sound: what goes into them is treated as used.

Values carry shapes where they can be followed (see shapes.py). A loop over a container whose
modules are known is walked once per module, in order, so that a chained loop passes each
output's shape to the next module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable

from ..catalogue import lookup
from . import shapes as SH
from .shapes import Mismatch, Shape
from . import symbolic as S
from .symbolic import is_size
from .values import ModuleVal, SeqVal

if TYPE_CHECKING:
    from .model import FileContext, ModuleClass

NON_CALLABLE_CONTAINERS = {"ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}
# Names whose call neither keeps nor publishes its arguments when the result is dropped.
PURE_PREFIXES = ("torch.", "math.", "numpy.", "einops.")
PURE_BUILTINS = {"len", "range", "int", "float", "bool", "str", "tuple", "list", "isinstance", "min", "max", "abs", "sum", "zip", "enumerate", "getattr", "hasattr", "type", "id", "sorted", "reversed", "dict", "set", "all", "any", "round"}
MAX_UNROLL = 64  # loops over longer containers are walked generically
# Functions and methods that return a tensor of their first argument's shape.
SAME_SHAPE = {
    "relu", "relu_", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout", "layer_norm", "elu",
    "leaky_relu", "mish", "softplus", "hardswish", "normalize", "contiguous", "clone", "detach", "float", "half",
    "double", "bfloat16", "to", "cuda", "cpu", "type_as", "abs", "exp", "neg", "sqrt", "rsqrt", "square", "clamp",
    "masked_fill", "pow", "sin", "cos",
}


@dataclass(frozen=True, eq=False)
class ModRef:
    """A reference to one module, or to any of a container's elements."""

    modules: tuple[ModuleVal, ...]
    text: str  # how the code names it: "self.layers", "layer", "self.layers[2]"
    # "attribute" | "element" | "loop" | "plain-element" | "unpacked" (`attn, ff = layer`)
    origin: str
    owner: ModuleVal | None = None  # the container or plain holder it comes from
    owner_text: str | None = None  # "self.layers"
    attribute: str | None = None  # the `self` attribute that holds it
    holder: SeqVal | None = None  # a plain list on self (not registered)
    current: ModuleVal | None = None  # in a loop walked module by module: this iteration's
    index: int | None = None  # ... and its position in the container
    selection: "Selection | None" = None  # a slice of the container: `self.layers[1:]`
    # The container as this iteration of an enclosing loop reaches it: `self.stages[1]` where the
    # code says `stage`.
    owner_path: str | None = None

    @property
    def single(self) -> ModuleVal | None:
        return self.modules[0] if len(self.modules) == 1 else None

    @property
    def module(self) -> ModuleVal | None:
        """The one module this call reaches now, if there is one."""
        return self.current if self.current is not None else self.single

    def output_matters(self) -> bool:
        """Whether calling what this names is pointless unless its output is used: it is not an
        in-place module, nor one whose forward returns nothing, nor a class defined elsewhere
        that may not even be a module. A loop over a container whose contents are not known
        counts: its modules are meant to transform the input."""
        if not self.modules:
            return self.origin == "loop" and self.owner is not None and self.owner.container in ("ModuleList", "Sequential")
        if self.origin == "attribute" and any(m.maybe for m in self.modules):
            return False
        # In a container, one module that computes a new tensor is enough (the others may be
        # in-place activations).
        return any(not m.inplace() and (m.cls is None or m.cls.forward_returns_value) for m in self.modules)

    @property
    def iteration_text(self) -> str | None:
        """`self.stages[1]`: the module this iteration of a loop over a container binds."""
        if self.origin == "loop" and self.index is not None and self.owner_text:
            return f"{self.owner_path or self.owner_text}[{self.index}]"
        return None

    @property
    def container(self) -> ModuleVal | None:
        """The whole container this names: `self.layers`, or `stage` in a loop over stages."""
        module = self.module
        return module if self.selection is None and module is not None and module.is_container else None


@dataclass(frozen=True)
class Selection:
    """The part of a container a slice or `reversed()` picks, in order, or one of the containers
    a condition chooses: how the code writes it (`self.layers[1:]`) and the positions, when known."""

    text: str
    positions: tuple[int, ...] | None


@dataclass(frozen=True)
class Data:
    """A non-module value: which module calls' outputs it carries, which forward() parameter it
    is (unchanged), its shape, the module that produced it, and its value when it is a size."""

    deps: frozenset[int] = frozenset()
    param: str | None = None
    shape: Shape | None = None
    producer: str | None = None  # the module its sizes come from: "`self.layers[2]` (nn.Linear(20, 30))"
    made_by: str | None = None  # the module whose output it is (an activation after that Linear)
    value: Any = None  # an int, a size, a range, or a Shape (`x.shape`)
    guessed: bool = False  # a size read from an assumed rank


EMPTY = Data()


@dataclass(eq=False)
class CallSite:
    id: int
    node: ast.Call
    ref: ModRef
    method: str
    bare: bool  # the call is a statement of its own: its result is dropped
    statement: ast.stmt
    loop: ast.For | None = None  # the loop over the container that bound the callee, if any
    args: tuple[Data, ...] = ()


@dataclass(eq=False)
class Construction:
    """A torch.nn layer (or module class of this file) constructed inside a method."""

    node: ast.Call
    module: ModuleVal
    method: str
    kept: bool  # stored on self, handed to a call or returned: not simply dropped


@dataclass
class MethodFlow:
    name: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    self_name: str = "self"
    calls: list[CallSite] = field(default_factory=list)
    constructions: list[Construction] = field(default_factory=list)
    escaped: set[int] = field(default_factory=set)  # call ids whose output reaches an escape
    returns: list[tuple[ast.Return, Data | ModRef | None]] = field(default_factory=list)
    container_calls: list[CallSite] = field(default_factory=list)  # ModuleList(...)(x)
    uses: dict[str, ast.AST] = field(default_factory=dict)  # self attributes named in the body
    refs: dict[int, "ModRef"] = field(default_factory=dict)  # id(Name or Subscript node) -> module it names
    names: dict[int, Data] = field(default_factory=dict)  # id(Name node) -> the value it holds there
    assigned: dict[int, Shape | None] = field(default_factory=dict)  # id(Assign) -> shape assigned (None: varies)
    mismatches: list["SizeMismatch"] = field(default_factory=list)
    chains: dict[int, list["Link"]] = field(default_factory=dict)  # id(container) -> its modules in a loop
    assumptions: dict[str, Shape] = field(default_factory=dict)  # parameter -> shape assumed from its first use
    # The classes (ids of their nodes) whose forward() the walk followed into, blocks of blocks
    # included: an edit there changes this flow (see FileContext.replace_method).
    follows: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Link:
    """One module of a container walked in a loop: what it received and gave."""

    index: int
    module: ModuleVal
    output: Shape | None
    chained: bool  # its input was the previous module's output


@dataclass(eq=False)
class SizeMismatch:
    """A module called on an input whose size it cannot take (TW301)."""

    node: ast.Call
    ref: ModRef
    module: ModuleVal
    mismatch: Mismatch
    producer: str | None  # where the input's size comes from
    shape: Shape
    via: str | None = None  # the caller's block, when the layer that cannot take it is inside
    inside: str | None = None  # that layer, as the block's code names it (`self.fc1`)


MAX_NESTING = 3  # how deep forward() of a user block is followed from its caller's


class _Walker:
    def __init__(self, ctx: "FileContext", cls: "ModuleClass", flow: MethodFlow, root: ModuleVal | None = None, depth: int = 0):
        self.ctx = ctx
        self.cls = cls
        self.flow = flow
        self.root = root if root is not None else cls.root
        self.depth = depth
        self.nested: dict[tuple, tuple[Shape | None, list]] = {}  # (module uid, shape) -> what it gives
        self.loops: list[ast.For] = []
        self.sites: dict[int, CallSite] = {}  # by id(node): loops are walked more than once
        self.constructed: dict[int, _Built] = {}
        self.statement: ast.stmt | None = None
        self.env: dict[str, Any] = {}
        self._last_producer: dict[int, str | None] = {}  # id(container) -> what its last module gave
        self.views: dict[str, str] = {}  # `tile = out[..., i:j]`: writing into `tile` writes into `out`
        self.not_none: set[str] = set()  # `self.x` attributes a branch's test says are not None

    # ------------------------------------------------------------------ statements

    def body(self, stmts: list[ast.stmt], env: dict[str, Any]) -> None:
        for stmt in stmts:
            self.stmt(stmt, env)

    def stmt(self, stmt: ast.stmt, env: dict[str, Any]) -> None:
        self.statement = stmt
        self.env = env
        kind = type(stmt)
        if kind is ast.Expr:
            if isinstance(stmt.value, ast.Call):
                self.call(stmt.value, env, bare=True)
            else:
                self.expr(stmt.value, env)
        elif kind is ast.Assign:
            value = self.expr(stmt.value, env)
            for target in stmt.targets:
                self.bind(target, value, env)
                if isinstance(target, ast.Name):
                    self._note_view(target.id, stmt.value, env)
            self._note_assigned(stmt, value)
        elif kind is ast.AnnAssign:
            if stmt.value is not None:
                value = self.expr(stmt.value, env)
                self.bind(stmt.target, value, env)
                self._note_assigned(stmt, value)
        elif kind is ast.AugAssign:
            value = self.expr(stmt.value, env)
            current = self.expr(stmt.target, env)
            combined = self.binop(current, value)
            self.bind(stmt.target, combined, env)
            self._note_assigned(stmt, combined)
        elif kind is ast.Return:
            value = self.expr(stmt.value, env) if stmt.value is not None else None
            self.keep(value)
            self.escape(value)
            self.flow.returns.append((stmt, value))
        elif kind is ast.If:
            self.escape(self.expr(stmt.test, env))  # it decides what runs: it has an effect
            other = dict(env)
            outer = self.not_none
            try:
                self.not_none = outer | _present(stmt.test, self.flow.self_name, True)
                self.body(stmt.body, env)
                self.not_none = outer | _present(stmt.test, self.flow.self_name, False)
                self.body(stmt.orelse, other)
            finally:
                self.not_none = outer
            _merge_into(env, other)
        elif kind in (ast.For, ast.AsyncFor):
            self.loop(stmt, env)
        elif kind is ast.While:
            for _ in range(2):
                self.escape(self.expr(stmt.test, env))
                before = dict(env)
                self.body(stmt.body, env)
                _merge_into(env, before)
            self.body(stmt.orelse, env)
        elif kind in (ast.With, ast.AsyncWith):
            for item in stmt.items:
                value = self.expr(item.context_expr, env)
                self.escape(value)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, value, env)
            self.body(stmt.body, env)
        elif kind is ast.Try or kind.__name__ == "TryStar":
            self.body(stmt.body, env)
            for handler in stmt.handlers:
                branch = dict(env)
                self.body(handler.body, branch)
                _merge_into(env, branch)
            self.body(stmt.orelse, env)
            self.body(stmt.finalbody, env)
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            # A closure: what its body reaches is treated as escaping (it may be called anywhere).
            saved = self.flow.returns
            self.flow.returns = []
            self.body(stmt.body, dict(env))
            for _, value in self.flow.returns:
                self.escape(value)
            self.flow.returns = saved
            env[stmt.name] = EMPTY
        elif kind is ast.Assert:
            self.escape(self.expr(stmt.test, env))
        elif kind is ast.Raise:
            if stmt.exc is not None:
                self.escape(self.expr(stmt.exc, env))
        elif kind is ast.Delete:
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    env.pop(target.id, None)
        elif kind is ast.Match:
            self.escape(self.expr(stmt.subject, env))
            merged = dict(env)
            for case in stmt.cases:
                branch = dict(env)
                self.body(case.body, branch)
                _merge_into(merged, branch)
            env.clear()
            env.update(merged)

    def _note_view(self, name: str, value: ast.expr, env: dict[str, Any]) -> None:
        """Remember that `name` now shares memory with another local (a slice or a view of it)."""
        self.views.pop(name, None)
        source = value.value if isinstance(value, ast.Subscript) else None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in VIEW_METHODS:
            source = value.func.value
        if isinstance(source, ast.Name) and source.id in env and source.id != name and not _is_self(source, self.flow):
            self.views[name] = source.id

    def _written(self, name: str, deps: frozenset[int], env: dict[str, Any]) -> None:
        """`out` takes in what is written into `tile`, a view of it (`tile.copy_(y)`, `tile[...] = y`)."""
        seen = {name}
        while name in self.views and self.views[name] not in seen:
            name = self.views[name]
            seen.add(name)
            if name in env:
                current = _data_of(env[name])
                env[name] = replace(current, deps=current.deps | deps)

    def _note_assigned(self, stmt: ast.stmt, value: Any) -> None:
        """The shape a statement assigns (for inlay hints): None when it varies between visits."""
        shape = value.shape if isinstance(value, Data) else None
        key = id(stmt)
        if key in self.flow.assigned and self.flow.assigned[key] != shape:
            self.flow.assigned[key] = None
        else:
            self.flow.assigned[key] = shape

    def loop(self, stmt: ast.For | ast.AsyncFor, env: dict[str, Any]) -> None:
        iterable = self.expr(stmt.iter, env)
        items = self.unrolled(iterable)
        self.loops.append(stmt)
        try:
            if items is not None:  # module by module, in order: each output goes to the next
                for item in items:
                    self.bind(stmt.target, item, env)
                    self.body(stmt.body, env)
            else:
                element = self.iterate(iterable, stmt.iter)
                for _ in range(2):  # twice: values carried from one iteration into the next
                    before = dict(env)
                    self.bind(stmt.target, element, env)
                    self.body(stmt.body, env)
                    _merge_into(env, before)
        finally:
            self.loops.pop()
        self.body(stmt.orelse, env)

    def unrolled(self, iterable: Any) -> list[Any] | None:
        """The values successive iterations bind, when the loop can be walked module by module."""
        if isinstance(iterable, Data) and isinstance(iterable.value, range):
            return [Data(value=i) for i in iterable.value] if len(iterable.value) <= MAX_UNROLL else None
        if isinstance(iterable, ModRef) and (iterable.selection is not None or iterable.container is not None):
            if iterable.container is not None and iterable.container.container == "ModuleDict":
                return None
            return _elements(self.iterate(iterable, None))
        if isinstance(iterable, _Items):
            element = iterable.element
            if isinstance(element, ModRef):
                return _elements(element)
            if isinstance(element, tuple) and element:
                columns = [_elements(e) if isinstance(e, ModRef) else None for e in element]
                lengths = {len(c) for c in columns if c is not None}
                if len(lengths) != 1 or all(c is None for c in columns):
                    return None
                (n,) = lengths
                counter = iterable.counts  # enumerate: the index; .items(): the key
                # A column that is not a container (`zip(self.layers, features)`): each
                # iteration gets an element of it, which carries what the whole carries.
                def column(j: int, i: int) -> Any:
                    if columns[j] is not None:
                        return columns[j][i]
                    return Data(value=i) if counter and j == 0 else _data_of(element[j], keep_shape=False)

                return [tuple(column(j, i) for j in range(len(columns))) for i in range(n)]
        return None

    # ------------------------------------------------------------------ binding

    def bind(self, target: ast.expr, value: Any, env: dict[str, Any]) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, ModRef) and value.origin in ("loop", "plain-element") and not value.text:
                value = replace(value, text=target.id)  # the loop variable, named as in the code
            if isinstance(value, ModRef):
                self.flow.refs[id(target)] = value
            elif isinstance(value, Data):
                self.flow.names[id(target)] = value
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = value if isinstance(value, tuple) and len(value) == len(target.elts) else _unpacked(value, target.elts)
            for i, elt in enumerate(target.elts):
                part = parts[i] if parts is not None else _data_of(value, keep_shape=False)
                if isinstance(elt, ast.Starred):
                    self.bind(elt.value, _data_of(value, keep_shape=False), env)
                else:
                    self.bind(elt, part, env)
        elif isinstance(target, ast.Attribute):
            # Stored on an object: on self it outlives the call; elsewhere it may be read later.
            self.keep(value)
            owner = self.expr(target.value, env)
            if isinstance(target.value, ast.Name) and target.value.id in env and not _is_self(target.value, self.flow):
                env[target.value.id] = _join(owner, value)
            self.escape(value)
        elif isinstance(target, ast.Subscript):
            self.expr(target.slice, env)
            base = target.value
            if isinstance(base, ast.Name) and base.id in env and not _is_self(base, self.flow):
                current = _data_of(env[base.id])
                env[base.id] = replace(current, deps=current.deps | _data_of(value).deps)  # x[i] = y mutates x
                self._written(base.id, _data_of(value).deps, env)
            else:
                self.expr(base, env)
                self.keep(value)
                self.escape(value)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, value, env)

    # ------------------------------------------------------------------ expressions

    def expr(self, node: ast.expr | None, env: dict[str, Any]) -> Any:
        if node is None:
            return EMPTY
        kind = type(node)
        if kind is ast.Name:
            value = env.get(node.id, EMPTY)
            if isinstance(value, ModRef):
                self.flow.refs[id(node)] = value
            elif isinstance(value, Data) and value is not EMPTY:
                self.flow.names[id(node)] = value
            return value
        if kind is ast.Attribute:
            return self.attribute(node, env)
        if kind is ast.Call:
            return self.call(node, env, bare=False)
        if kind is ast.Subscript:
            return self.subscript(node, env)
        if kind is ast.Constant:
            return Data(value=node.value) if isinstance(node.value, int) and not isinstance(node.value, bool) else EMPTY
        if kind is ast.UnaryOp:
            operand = _data_of(self.expr(node.operand, env))
            if isinstance(node.op, ast.USub) and isinstance(operand.value, int):
                return Data(operand.deps, value=-operand.value)
            return replace(operand, param=None, value=None, producer=None)
        if kind is ast.BinOp:
            return self.binop(self.expr(node.left, env), self.expr(node.right, env), node.op)
        if kind in (ast.Tuple, ast.List, ast.Set):
            parts = tuple(self.expr(e.value if isinstance(e, ast.Starred) else e, env) for e in node.elts)
            return parts if kind is ast.Tuple else _join(*parts)
        if kind is ast.Dict:
            return _join(*(self.expr(v, env) for v in node.values), *(self.expr(k, env) for k in node.keys if k is not None))
        if kind in (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp):
            return self.comprehension(node, env)
        if kind is ast.NamedExpr:
            value = self.expr(node.value, env)
            self.bind(node.target, value, env)
            return value
        if kind in (ast.Yield, ast.YieldFrom):
            value = self.expr(node.value, env) if node.value is not None else EMPTY
            self.escape(value)
            return EMPTY
        if kind is ast.Lambda:
            self.escape(self.expr(node.body, dict(env)))
            return EMPTY
        if kind is ast.IfExp:
            self.escape(self.expr(node.test, env))
            return _join(self.expr(node.body, env), self.expr(node.orelse, env))
        if kind is ast.Starred:
            return self.expr(node.value, env)
        # Everything else (comparisons, f-strings, ...) combines what it reads.
        return _join(*(self.expr(child, env) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)))

    def binop(self, left: Any, right: Any, op: ast.operator | None = None) -> Data:
        a, b = _data_of(left), _data_of(right)
        deps = a.deps | b.deps
        value = None
        if is_size(a.value) and is_size(b.value) and type(op) in _SIZE_OPS:
            value = _SIZE_OPS[type(op)](a.value, b.value)
        if isinstance(op, ast.MatMult):
            return Data(deps, value=value)
        scalar_a, scalar_b = a.shape is None and a.value is not None, b.shape is None and b.value is not None
        shape = b.shape if scalar_a else a.shape if scalar_b else SH.broadcast(a.shape, b.shape)
        producer = b.producer if scalar_a else a.producer if scalar_b else (a.producer if a.producer == b.producer else None)
        return Data(deps, shape=shape, value=value, guessed=a.guessed or b.guessed, producer=producer if shape is not None else None)

    def attribute(self, node: ast.Attribute, env: dict[str, Any]) -> Any:
        if _is_self(node.value, self.flow):
            self.flow.uses.setdefault(node.attr, node)
            return self.self_member(node.attr, f"self.{node.attr}")
        base = self.expr(node.value, env)
        if isinstance(base, ModRef):
            if base.single is not None:
                child = self.member_of(base.single, node.attr, f"{base.text}.{node.attr}")
                if child is not None:
                    return child
            return EMPTY
        data = _data_of(base)
        if node.attr == "shape" and data.shape is not None:
            return Data(data.deps, value=data.shape)
        if node.attr in ("T", "mT") and data.shape is not None and data.shape.rank >= 2:
            return Data(data.deps, shape=SH.transpose(data.shape, -1, -2))
        return Data(data.deps)

    def self_member(self, attr: str, text: str) -> Any:
        members = self.root.members
        slot = members.children.get(attr)
        if slot is not None and isinstance(slot.value, ModuleVal):
            # Assigned under a condition the analysis cannot decide: any of the alternatives.
            values = [slot.value, *(a.value for a in slot.alternatives)]
            if attr in self.not_none:  # inside `if self.downsample is not None:`
                values = [v for v in values if v is not None]
            modules = tuple(m for m in values if isinstance(m, ModuleVal))
            if len(modules) < len(values):
                return EMPTY  # one alternative is not a module at all (None, a function)
            return ModRef(modules, text, "attribute", attribute=attr)
        slot = members.attributes.get(attr)
        if slot is not None and isinstance(slot.value, SeqVal) and slot.value.module_entries():
            return _Holder(slot.value, text, attr)
        if slot is not None and is_size(slot.value) and not slot.alternatives:
            return Data(value=slot.value)  # self.n_heads: a size the shapes can use
        return EMPTY

    def child_called(self, receiver: Any, name: str) -> ModRef | None:
        """What `receiver.name(...)` calls when `name` is a submodule of the one module the
        receiver names, not a method (a method of its class wins, as in Python)."""
        module = receiver.single if isinstance(receiver, ModRef) else None
        if module is None or (module.cls is not None and module.cls.find_method(name)[0] is not None):
            return None
        if module.spec is not None and not module.is_container:
            return None  # a torch layer's own attributes and methods (`self.lin.weight`)
        return self.member_of(module, name, f"{receiver.text}.{name}")

    def member_of(self, module: ModuleVal, attr: str, text: str) -> ModRef | None:
        if module.unknown:
            return None
        slot = module.members.children.get(attr)
        if slot is not None and isinstance(slot.value, ModuleVal):
            return ModRef((slot.value,), text, "attribute")
        if module.is_container:  # `self.transformer.h`: a ModuleDict (or keyed Sequential) entry
            picked = _pick(module.members.entries or [], attr)
            if picked is not None:
                return ModRef((picked,), text, "attribute")
        return None

    def subscript(self, node: ast.Subscript, env: dict[str, Any]) -> Any:
        value = self._subscript(node, env)
        if isinstance(value, ModRef):
            self.flow.refs[id(node)] = value
        return value

    def _subscript(self, node: ast.Subscript, env: dict[str, Any]) -> Any:
        base = self.expr(node.value, env)
        index = _data_of(self.expr(node.slice, env)) if not isinstance(node.slice, ast.Slice) else EMPTY
        key = node.slice.value if isinstance(node.slice, ast.Constant) else index.value
        text = f"{_text(base)}[{_literal_text(node.slice, index)}]"
        if isinstance(base, ModRef) and base.container is not None:
            container = base.container
            entries = container.members.entries or []
            if isinstance(node.slice, ast.Slice):
                countable = not container.unknown_contents and all(e.count == 1 for e in entries)
                positions = self.slice_positions(node.slice, len(entries), env) if countable else None
                modules = _modules_of([entries[i] for i in positions] if positions is not None else entries)
                if not modules:
                    return EMPTY  # an empty slice
                text = f"{_text(base)}[{ast.unparse(node.slice)}]"
                selection = Selection(text, positions)
                return ModRef(modules, text, "element", container, base.text, base.attribute, selection=selection)
            picked = _pick(entries, key)
            if picked is not None:
                position = next((i for i, e in enumerate(entries) if e.value is picked), None)
                return ModRef((picked,), text, "element", container, base.text, base.attribute, current=picked, index=position)
            modules = _modules_of(entries)
            return ModRef(modules, text, "element", container, base.text, base.attribute) if modules else EMPTY
        if isinstance(base, tuple) and isinstance(key, int) and not isinstance(key, bool) and -len(base) <= key < len(base):
            return base[key]  # `rnn(x)[0]`: the output of a module that returns two
        if isinstance(base, _Holder):
            picked = _pick(base.seq.entries, key)
            modules = (picked,) if picked is not None else _modules_of(base.seq.entries)
            return ModRef(modules, text, "plain-element", None, base.text, base.attribute, base.seq)
        data = _data_of(base)
        if isinstance(data.value, Shape) and isinstance(key, int) and not isinstance(key, bool):
            shape = data.value  # x.shape[i]
            size = shape.at(key)
            return Data(data.deps, value=size, guessed=shape.guessed or (shape.assumed and key >= 0))
        return Data(data.deps | index.deps)

    def slice_positions(self, part: ast.Slice, length: int, env: dict[str, Any]) -> tuple[int, ...] | None:
        """The positions `[lower:upper:step]` picks from `length` entries, when its bounds are
        known integers."""
        bounds = []
        for bound in (part.lower, part.upper, part.step):
            value = _data_of(self.expr(bound, env)).value if bound is not None else None
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                return None
            bounds.append(value)
        if bounds[2] == 0:
            return None
        return tuple(range(length)[slice(*bounds)])

    def comprehension(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp | ast.DictComp, env: dict[str, Any]) -> Any:
        inner = dict(env)
        for gen in node.generators:
            element = self.iterate(self.expr(gen.iter, inner), gen.iter)
            self.bind(gen.target, element, inner)
            for cond in gen.ifs:
                self.escape(self.expr(cond, inner))
        if isinstance(node, ast.DictComp):
            return _join(self.expr(node.key, inner), self.expr(node.value, inner))
        return _data_of(self.expr(node.elt, inner), keep_shape=False)

    def iterate(self, iterable: Any, node: ast.expr | None) -> Any:
        """The value one iteration binds."""
        if isinstance(iterable, ModRef) and iterable.container is not None:
            container = iterable.container
            modules = _modules_of(container.members.entries or [])
            if container.container in ("ModuleDict",):
                return EMPTY  # iterating a ModuleDict yields its keys
            return ModRef(modules, "", "loop", container, iterable.text, iterable.attribute, owner_path=iterable.iteration_text)
        if isinstance(iterable, ModRef) and iterable.origin == "attribute" and len(iterable.modules) > 1:
            # A container chosen by a condition (`nn.ModuleList([...]) if ... else nn.ModuleList()`)
            kinds = {m.container for m in iterable.modules}
            if len(kinds) == 1 and None not in kinds and "ModuleDict" not in kinds:
                modules = tuple(m for c in iterable.modules for m in _modules_of(c.members.entries or []))
                selection = Selection(iterable.text, None)  # which positions: not known
                return ModRef(modules, "", "loop", iterable.modules[0], iterable.text, iterable.attribute, selection=selection)
        if isinstance(iterable, ModRef) and iterable.origin == "element" and (len(iterable.modules) > 1 or iterable.selection is not None):
            return ModRef(iterable.modules, "", "loop", iterable.owner, iterable.owner_text, iterable.attribute, selection=iterable.selection)
        if isinstance(iterable, _Holder):
            return ModRef(_modules_of(iterable.seq.entries), "", "plain-element", None, iterable.text, iterable.attribute, iterable.seq)
        if isinstance(iterable, _Items):
            return iterable.element
        return _data_of(iterable, keep_shape=False)

    # ------------------------------------------------------------------ calls

    def call(self, node: ast.Call, env: dict[str, Any], bare: bool) -> Any:
        func = node.func
        built = self.construction(node)
        if built is not None:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self.keep(self.expr(arg, env))
            return built
        qualified = self.ctx.imports.qualify(func) if isinstance(func, ast.Attribute) and not _rooted_in_env(func, env) else None
        if qualified is None and isinstance(func, ast.Attribute) and not (_is_self(func.value, self.flow) and isinstance(self.attribute(func, env), ModRef)):
            return self.method_call(node, func, env, bare)
        if isinstance(func, ast.Name) and func.id in ("enumerate", "zip", "reversed", "list", "iter", "len", "range") and node.args:
            special = self.builtin_call(func.id, node, env)
            if special is not None:
                return special
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) == 2 and _is_self(node.args[0], self.flow):
            name = self.attribute_name(node.args[1], env)
            member = self.self_member(name, self.ctx.source.segment(node)) if name is not None else None
            if isinstance(member, ModRef):  # `getattr(self, f"layer{i}")`, i known in this iteration
                self.flow.uses.setdefault(name, node)
                return member
        callee = self.expr(func, env)
        if isinstance(callee, _Built):  # nn.Linear(4, 4)(x): used once, then dropped
            return _join(*(self.expr(a, env) for a in node.args), *(self.expr(k.value, env) for k in node.keywords))
        if isinstance(callee, ModRef):
            args = tuple(_data_of(self.expr(a, env)) for a in node.args)
            kwargs = [self.expr(k.value, env) for k in node.keywords]
            return self.module_call(callee, node, args, kwargs, bare)
        args = [self.expr(a, env) for a in node.args]
        kwargs = {k.arg: self.expr(k.value, env) for k in node.keywords}
        for arg in [*args, *kwargs.values()]:
            self.keep(arg)
        result = _join(_data_of(callee), *args, *kwargs.values())
        if bare and not self.is_pure(func):
            self.escape(result)
        qualified = qualified or self.ctx.imports.qualify(func)
        if qualified is not None and qualified.startswith("torch."):
            shape = self.torch_function_shape(qualified.rsplit(".", 1)[-1], node, args, kwargs)
            return Data(result.deps, shape=shape, producer=_data_of(args[0]).producer if args and shape is not None else None)
        return Data(result.deps)

    def attribute_name(self, node: ast.expr, env: dict[str, Any]) -> str | None:
        """The text of `"proj"` or `f"layer{i}"`, with what the names in it hold now."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if not isinstance(node, ast.JoinedStr):
            return None
        parts = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
                continue
            value = _data_of(self.expr(part.value, env)).value if isinstance(part, ast.FormattedValue) and part.format_spec is None and part.conversion == -1 else None
            if not isinstance(value, (int, str)) or isinstance(value, bool):
                return None
            parts.append(str(value))
        return "".join(parts)

    def builtin_call(self, name: str, node: ast.Call, env: dict[str, Any]) -> Any:
        parts = [self.expr(a, env) for a in node.args]
        if name == "len":
            (target,) = parts[:1]
            if isinstance(target, ModRef) and (target.selection is not None or target.container is not None):
                elements = _elements(self.iterate(target, None))
                return Data(value=len(elements)) if elements is not None else EMPTY
            return Data(_data_of(target).deps)
        if name == "range":
            bounds = [_data_of(p).value for p in parts]
            if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) and 1 <= len(bounds) <= 3:
                return Data(value=range(*bounds))
            return _join(*parts)
        if any(isinstance(p, (ModRef, _Holder, _Items)) for p in parts):
            elements = [self.iterate(p, a) for p, a in zip(parts, node.args)]
            if name == "enumerate":
                return _Items((EMPTY, elements[0]), counts=True)
            if name == "zip":
                return _Items(tuple(elements))
            if name == "reversed":
                return _reversed(parts[0])
            return parts[0]
        return None

    def method_call(self, node: ast.Call, func: ast.Attribute, env: dict[str, Any], bare: bool) -> Any:
        receiver = self.expr(func.value, env)
        method = func.attr
        if isinstance(receiver, _Built):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self.expr(arg, env)
            if method in RETURNS_SELF:
                return receiver  # nn.Linear(...).to(device) is that same layer
            self.keep(receiver)  # some other use of the new layer: not simply dropped
            return EMPTY
        # Methods on module containers and plain holders: .items(), .values()
        if isinstance(receiver, ModRef) and receiver.container is not None and method in ("values", "items"):
            container = receiver.container
            element = ModRef(_modules_of(container.members.entries or []), "", "loop", container, receiver.text, receiver.attribute)
            return _Items(element if method == "values" else (EMPTY, element))
        if isinstance(receiver, _Holder) and method in ("values", "items"):
            element = ModRef(_modules_of(receiver.seq.entries), "", "plain-element", None, receiver.text, receiver.attribute, receiver.seq)
            return _Items(element if method == "values" else (EMPTY, element))
        child = self.child_called(receiver, method)
        if child is not None:  # `self.attn.to_out(h)`: a submodule of a submodule, called
            args = tuple(_data_of(self.expr(a, env)) for a in node.args)
            return self.module_call(child, node, args, [self.expr(k.value, env) for k in node.keywords], bare)
        args = [self.expr(a, env) for a in node.args]
        kwargs = {k.arg: self.expr(k.value, env) for k in node.keywords}
        for arg in [*args, *kwargs.values()]:
            self.keep(arg)  # a module handed to a method (self.layers.append(m)) may be kept
        if isinstance(receiver, ModRef):
            return self.module_call_like(receiver, method, node, [*args, *kwargs.values()], bare)
        if _is_self(func.value, self.flow):
            # self.helper(x): analysed on its own; here its inputs are used.
            self.flow.uses.setdefault(method, func)
            result = _join(*args, *kwargs.values())
            self.escape(result)
            return result
        data = _data_of(receiver)
        combined = _join(data, *args, *kwargs.values())
        if method in TENSOR_METHODS:
            return self.tensor_method(data, method, node, args, kwargs, combined.deps)
        if isinstance(func.value, ast.Name) and func.value.id in env:
            env[func.value.id] = combined  # outs.append(y), x.add_(y): the receiver absorbs
            self._written(func.value.id, combined.deps, env)
        elif bare and not self.is_pure(func):
            self.escape(combined)
        return Data(combined.deps)

    def tensor_method(self, data: Data, method: str, node: ast.Call, args: list[Any], kwargs: dict[str, Any], deps: frozenset[int]) -> Data:
        result = self._tensor_method(data, method, args, kwargs, deps)
        if result.shape is not None and data.producer is not None:
            return replace(result, producer=data.producer)  # a reshape still carries that module's sizes
        return result

    def _tensor_method(self, data: Data, method: str, args: list[Any], kwargs: dict[str, Any], deps: frozenset[int]) -> Data:
        shape = data.shape
        values = [_data_of(a).value for a in args]
        guessed = any(_data_of(a).guessed for a in args)
        if method == "size":
            if shape is None:
                return Data(deps)
            if not args:
                return Data(deps, value=shape)
            index = values[0]
            if isinstance(index, int):
                return Data(deps, value=shape.at(index), guessed=shape.guessed or (shape.assumed and index >= 0))
            return Data(deps)
        if method in SAME_SHAPE:
            return Data(deps, shape=shape)
        if shape is None and method not in ("view", "reshape"):
            return Data(deps)
        if method in ("view", "reshape"):
            sizes = list(values[0].dims) if len(values) == 1 and isinstance(values[0], Shape) else values
            if len(args) == 1 and isinstance(args[0], tuple):
                parts = [_data_of(p) for p in args[0]]
                sizes, guessed = [p.value for p in parts], any(p.guessed for p in parts)
            return Data(deps, shape=SH.reshape(shape, sizes, guessed))
        if method == "flatten":
            return Data(deps, shape=SH.flatten(shape, _arg(values, kwargs, 0, "start_dim", 0), _arg(values, kwargs, 1, "end_dim", -1)))
        if method in ("transpose", "swapaxes"):
            return Data(deps, shape=SH.transpose(shape, _arg(values, kwargs, 0, "dim0", None), _arg(values, kwargs, 1, "dim1", None)))
        if method == "t":
            return Data(deps, shape=SH.transpose(shape, 0, 1) if shape.rank == 2 else None)
        if method == "permute":
            order = list(values[0]) if len(values) == 1 and isinstance(args[0], tuple) else values
            if len(args) == 1 and isinstance(args[0], tuple):
                order = [_data_of(p).value for p in args[0]]
            return Data(deps, shape=SH.permute(shape, order))
        if method == "unsqueeze":
            return Data(deps, shape=SH.unsqueeze(shape, _arg(values, kwargs, 0, "dim", None)))
        if method in ("mean", "sum", "amax", "amin", "max", "min", "argmax", "argmin", "std", "var", "norm", "prod", "logsumexp"):
            dim = _arg(values, kwargs, 0, "dim", None) if method != "norm" else _arg(values, kwargs, 1, "dim", None)
            keep = _data_of(kwargs.get("keepdim", EMPTY)).value is True
            if dim is None and not args and "dim" not in kwargs:
                return Data(deps, shape=Shape((), shape.assumed, shape.guessed))
            return Data(deps, shape=SH.reduce(shape, dim, keep) if method not in ("max", "min") or keep or "dim" in kwargs or args else None)
        return Data(deps)

    def torch_function_shape(self, name: str, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Shape | None:
        first = _data_of(args[0]) if args else EMPTY
        if name in SAME_SHAPE:
            return first.shape
        values = [_data_of(a).value for a in args]
        if name in ("cat", "concat", "concatenate", "stack"):
            items = node.args[0] if node.args else None
            if not isinstance(items, (ast.List, ast.Tuple)):
                return None
            parts = [_data_of(self.names_value(e)).shape for e in items.elts]
            dim = _arg(values, {k: v for k, v in kwargs.items()}, 1, "dim", 0)
            return SH.concatenate(parts, dim) if name != "stack" else SH.stack(parts, dim)
        if first.shape is None:
            return None
        if name == "flatten":
            return SH.flatten(first.shape, _arg(values, kwargs, 1, "start_dim", 0), _arg(values, kwargs, 2, "end_dim", -1))
        if name in ("transpose", "swapaxes"):
            return SH.transpose(first.shape, _arg(values, kwargs, 1, "dim0", None), _arg(values, kwargs, 2, "dim1", None))
        if name == "unsqueeze":
            return SH.unsqueeze(first.shape, _arg(values, kwargs, 1, "dim", None))
        if name in ("mean", "sum"):
            keep = _data_of(kwargs.get("keepdim", EMPTY)).value is True
            return SH.reduce(first.shape, _arg(values, kwargs, 1, "dim", None), keep)
        return None

    def names_value(self, node: ast.expr) -> Any:
        """The value of an expression already walked (the items of `torch.cat([a, b])`)."""
        if isinstance(node, ast.Name):
            return self.env.get(node.id, EMPTY)
        return self.flow.names.get(id(node), EMPTY)

    def module_call_like(self, receiver: ModRef, method: str, node: ast.Call, args: list[Any], bare: bool) -> Any:
        """`self.block.forward(x)` is a module call; other methods are opaque uses."""
        if method == "forward":
            return self.module_call(receiver, node, tuple(_data_of(a) for a in args), [], bare)
        result = _join(*args)
        if bare:
            self.escape(result)
        return Data(result.deps)

    def module_call(self, ref: ModRef, node: ast.Call, args: tuple[Data, ...], kwargs: list[Any], bare: bool) -> Any:
        site = self.sites.get(id(node))
        if site is None:
            site = CallSite(len(self.sites), node, ref, self.flow.name, bare, self.statement, self._loop_of(ref), args)
            self.sites[id(node)] = site
            single = ref.single
            if single is not None and single.container in NON_CALLABLE_CONTAINERS:
                self.flow.container_calls.append(site)
            else:
                self.flow.calls.append(site)
        else:
            site.args = tuple(_join(a, b) for a, b in zip(site.args, args)) if len(site.args) == len(args) else args
        deps = frozenset({site.id}).union(*(a.deps for a in args), *(_data_of(k).deps for k in kwargs))
        module = ref.module
        if module is None or module.container in NON_CALLABLE_CONTAINERS:
            return Data(deps)
        data = args[0] if args else EMPTY
        out = self.output_shape(ref, module, node, data)
        # An activation, dropout or norm passes on its input's size: keep naming where it came from.
        keeps_size = module.spec is not None and module.spec.name in SH.SIZE_KEEPING and data.producer is not None
        made_by = _describe(ref, module)
        result = Data(deps, shape=out, producer=data.producer if keeps_size else made_by, made_by=made_by)
        if ref.owner is not None and ref.origin == "loop":
            self._last_producer[id(ref.owner)] = result.producer
        if module.spec is not None and module.spec.name in SH.TWO_OUTPUTS:
            return (result, Data(deps))  # (output, attention weights or hidden state)
        return result

    def output_shape(self, ref: ModRef, module: ModuleVal, node: ast.Call, data: Data) -> Shape | None:
        shape = data.shape
        if shape is None and data.param is not None:
            shape = SH.assumed_input(module)  # what the first layer to read an input makes of it
            if shape is not None:
                self.flow.assumptions.setdefault(data.param, shape)
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Name) and isinstance(self.env.get(first.id), Data):
                    self.env[first.id] = replace(self.env[first.id], shape=shape)
        if shape is None:
            return None
        if module.cls is not None and module.spec is None:
            out, inner = self.block_output(module, shape, data.producer)
            for found in inner:  # the input we gave it does not fit one of its layers
                self.flow.mismatches.append(replace(
                    found, node=node, ref=ref, via=f"`{ref.text}` ({module.display})", inside=found.inside or found.ref.text))
            return out
        out, mismatch = SH.layer_output(module, shape)
        # Only between layers: the input's size must come from a module's output (an input's
        # own shape is an assumption).
        if mismatch is not None and not shape.guessed and data.producer is not None:
            self.flow.mismatches.append(SizeMismatch(node, ref, module, mismatch, data.producer, shape))
        if ref.current is not None and ref.owner is not None and ref.index is not None and ref.origin == "loop":
            chain = self.flow.chains.setdefault(id(ref.owner), [])
            if all(link.index != ref.index for link in chain):
                previous = chain[-1] if chain else None
                chained = previous is not None and data.producer is not None and data.producer == self._last_producer.get(id(ref.owner))
                chain.append(Link(ref.index, module, out, chained))
        return out

    def block_output(self, module: ModuleVal, shape: Shape, producer: str | None) -> tuple[Shape | None, list["SizeMismatch"]]:
        """Follow forward() of a block of the user's code with an input of `shape`: the shape it
        returns, and the mismatches inside it that this input causes."""
        cls = module.cls
        forward, owner = cls.find_method("forward")
        key = (module.uid, shape, producer)
        if key in self.nested:
            return self.nested[key]
        self.nested[key] = (None, [])  # guards recursion
        if forward is None or owner is None or self.depth >= MAX_NESTING or module.unknown or not forward.args.args:
            return None, []
        flow = MethodFlow("forward", forward, self_name=forward.args.args[0].arg)
        env: dict[str, Any] = {}
        params = forward.args.posonlyargs + forward.args.args[1:]
        for i, arg in enumerate(params + forward.args.kwonlyargs):
            env[arg.arg] = Data(param=arg.arg, shape=shape if i == 0 else None, producer=producer if i == 0 else None)
        for extra in (forward.args.vararg, forward.args.kwarg):
            if extra is not None:
                env[extra.arg] = EMPTY
        walker = _Walker(owner.ctx, cls, flow, root=module, depth=self.depth + 1)
        self.flow.follows.add(id(owner.node))
        try:
            walker.body(forward.body, env)
        except RecursionError:
            return None, []
        finally:
            self.flow.follows |= flow.follows
        shapes = {_data_of(v).shape for _, v in flow.returns} if flow.returns else {None}
        out = shapes.pop() if len(shapes) == 1 else None
        caused = [m for m in flow.mismatches if producer is not None and m.producer == producer]
        self.nested[key] = (out, caused)
        return out, caused

    def _loop_of(self, ref: ModRef) -> ast.For | None:
        if ref.origin not in ("loop", "plain-element") or not self.loops:
            return None
        return self.loops[-1]

    def construction(self, node: ast.Call) -> "_Built | None":
        """A torch.nn layer or module class of this file built here, as a value."""
        known = self.constructed.get(id(node))
        if known is not None:
            return known
        qualified = self.ctx.imports.qualify(node.func)
        if qualified is not None:
            spec = lookup(qualified)
            if spec is None or spec.container is not None:
                return None
        elif not (isinstance(node.func, ast.Name) and node.func.id in self.ctx.classes and self.ctx.classes[node.func.id].is_module):
            return None
        from .interpreter import Frame, Interpreter

        value = Interpreter(self.ctx, observe=False).eval(node, Frame({}))
        if not isinstance(value, ModuleVal):
            return None
        built = _Built(Construction(node, value, self.flow.name, kept=False))
        self.flow.constructions.append(built.construction)
        self.constructed[id(node)] = built
        return built

    def keep(self, value: Any) -> None:
        """The value is stored or handed on: a module built here is then not thrown away."""
        if isinstance(value, _Built):
            value.construction.kept = True
        elif isinstance(value, tuple):
            for part in value:
                self.keep(part)

    def is_pure(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name) and func.id in PURE_BUILTINS:
            return True
        qualified = self.ctx.imports.qualify(func)
        if qualified is None:
            return False
        if qualified.endswith("_") or ".init." in qualified:
            return False  # in-place: torch.nn.init.normal_, torch.add_, ...
        return qualified.startswith(PURE_PREFIXES)

    def escape(self, value: Any) -> None:
        if isinstance(value, tuple):
            for part in value:
                self.escape(part)
        elif isinstance(value, Data):
            self.flow.escaped.update(value.deps)


@dataclass(frozen=True, eq=False)
class _Built:
    """A module constructed in this method (TW205 asks whether it is kept anywhere)."""

    construction: Construction


@dataclass(frozen=True, eq=False)
class _Holder:
    """A plain Python list/tuple/dict of modules stored on self."""

    seq: SeqVal
    text: str
    attribute: str


@dataclass(frozen=True, eq=False)
class _Items:
    """`container.items()`, `enumerate(container)`, `zip(a, b)`: what one iteration binds."""

    element: Any
    counts: bool = False  # enumerate(): the first item is the index


TENSOR_METHODS = SAME_SHAPE | {
    "size", "view", "reshape", "flatten", "transpose", "swapaxes", "t", "permute", "unsqueeze", "mean", "sum",
    "amax", "amin", "max", "min", "argmax", "argmin", "std", "var", "norm", "prod", "logsumexp", "dim", "numel",
    "view_as", "reshape_as", "expand", "expand_as", "repeat", "chunk", "split", "unbind", "squeeze", "narrow",
    "softmax", "matmul", "bmm", "mm", "split_with_sizes", "float", "long", "int", "bool",
}
# Tensor methods whose result shares memory with the tensor.
VIEW_METHODS = {"view", "view_as", "narrow", "select", "transpose", "permute", "unsqueeze", "squeeze", "expand", "diagonal", "t", "unfold", "as_strided"}
# Module methods that return the module itself.
RETURNS_SELF = {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "requires_grad_", "apply", "type", "share_memory"}
_SIZE_OPS = {ast.Add: S.add, ast.Sub: S.sub, ast.Mult: S.mul, ast.FloorDiv: S.floordiv}


def _arg(values: list[Any], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if name in kwargs:
        return _data_of(kwargs[name]).value
    return values[index] if index < len(values) else default


def _present(test: ast.expr, self_name: str, holds: bool) -> set[str]:
    """The `self.x` attributes that cannot be None where `test` is `holds`: `self.x is not None`,
    `self.x`, joined with `and` (or, where the test fails, `self.x is None`, joined with `or`)."""
    def attribute(node: ast.expr) -> str | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == self_name:
            return node.attr
        return None

    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And if holds else ast.Or):
        return set().union(*(_present(v, self_name, holds) for v in test.values))
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _present(test.operand, self_name, not holds)
    if holds and attribute(test):
        return {attribute(test)}
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
        name = attribute(test.left)
        if name and isinstance(test.ops[0], ast.IsNot if holds else ast.Is):
            return {name}
    return set()


def _unpacked(value: Any, targets: list[ast.expr]) -> tuple[Any, ...] | None:
    """`attn, ff = layer` with `layer` an `nn.ModuleList([Attention(), FeedForward()])`: its
    modules, one per name."""
    container = value.container if isinstance(value, ModRef) else None
    if container is None or container.unknown_contents or container.container == "ModuleDict":
        return None
    entries = container.members.entries or []
    if len(entries) != len(targets) or any(e.count != 1 or not isinstance(e.value, ModuleVal) for e in entries):
        return None
    # The container as written, or this iteration of a loop over containers: `self.layers[*]`
    # when the loop is not walked one container at a time.
    where = value.iteration_text or value.text or (f"{value.owner_text}[*]" if value.owner_text else "?")
    return tuple(
        ModRef((e.value,), t.id if isinstance(t, ast.Name) else f"{where}[{i}]", "unpacked", container, where, value.attribute, index=i)
        for i, (e, t) in enumerate(zip(entries, targets))
    )


def _reversed(value: Any) -> Any:
    """`reversed(self.layers)`, `reversed(self.layers[1:])`: those modules, last first."""
    if isinstance(value, ModRef) and value.container is not None:
        container, owner_text = value.container, value.text
        positions = tuple(range(len(container.members.entries or [])))
    elif isinstance(value, ModRef) and value.origin == "element" and value.owner is not None and value.selection is not None:
        container, owner_text, positions = value.owner, value.owner_text, value.selection.positions
    else:
        return value
    entries = container.members.entries or []
    if container.unknown_contents or any(e.count != 1 for e in entries):
        positions = None
    text = f"reversed({value.text})"
    if positions is None:
        return ModRef(_modules_of(entries), text, "element", container, owner_text, value.attribute, selection=Selection(text, None))
    positions = positions[::-1]
    modules = _modules_of([entries[i] for i in positions])
    return ModRef(modules, text, "element", container, owner_text, value.attribute, selection=Selection(text, positions)) if modules else EMPTY


def _elements(ref: Any) -> list["ModRef"] | None:
    """One reference per module of the container a loop variable runs over, in order."""
    if not isinstance(ref, ModRef) or ref.owner is None or ref.origin != "loop":
        return None
    entries = ref.owner.members.entries or []
    if ref.owner.unknown_contents or not entries or len(entries) > MAX_UNROLL:
        return None
    if any(e.count != 1 or not isinstance(e.value, ModuleVal) for e in entries):
        return None
    positions = ref.selection.positions if ref.selection is not None else range(len(entries))
    if positions is None:
        return None
    return [replace(ref, current=entries[i].value, index=i) for i in positions]


def _describe(ref: "ModRef", module: ModuleVal) -> str:
    """`self.layers[2] (nn.Linear(20, 30))`: where an output comes from, for messages."""
    if ref.origin == "loop" and ref.index is not None and ref.owner_text:
        where = ref.iteration_text
    else:
        where = ref.text
    return f"`{where}` ({module.construction_text()})"


def _rooted_in_env(node: ast.expr, env: dict[str, Any]) -> bool:
    """`x.view` with `x` a local: a method call, not a module-level function like `torch.cat`."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in env


def _is_self(node: ast.expr, flow: MethodFlow) -> bool:
    return isinstance(node, ast.Name) and node.id == flow.self_name


def _data_of(value: Any, keep_shape: bool = True) -> Data:
    if isinstance(value, Data):
        return value if keep_shape or value.shape is None else Data(value.deps)
    if isinstance(value, tuple):
        return _join(*value)
    return EMPTY


def _join(*values: Any) -> Data:
    """What a combination of values carries: their dependencies (shapes are computed by the
    operations that know them)."""
    deps: frozenset[int] = frozenset()
    for v in values:
        d = _data_of(v)
        if d.deps:
            deps = deps | d.deps
    return Data(deps) if deps else EMPTY


def _merge_into(env: dict[str, Any], other: dict[str, Any]) -> None:
    for name, value in other.items():
        current = env.get(name)
        if current is None:
            env[name] = value
        elif current is not value and current != value:
            if isinstance(current, (ModRef, _Holder, _Items)) or isinstance(value, (ModRef, _Holder, _Items)):
                if not (isinstance(current, ModRef) and isinstance(value, ModRef) and current.modules == value.modules):
                    env[name] = _join(current, value)
            else:
                a, b = _data_of(current), _data_of(value)
                same = isinstance(current, Data) and isinstance(value, Data)
                env[name] = Data(
                    a.deps | b.deps,
                    a.param if same and a.param == b.param else None,
                    a.shape if same and a.shape == b.shape else None,
                    a.producer if same and a.producer == b.producer else None,
                )


def _modules_of(entries: Iterable[Any]) -> tuple[ModuleVal, ...]:
    return tuple(e.value for e in entries if isinstance(e.value, ModuleVal))


def _pick(entries: list[Any], key: Any) -> ModuleVal | None:
    if isinstance(key, str):
        for e in entries:
            if e.key == key and isinstance(e.value, ModuleVal):
                return e.value
        return None
    if isinstance(key, int) and not isinstance(key, bool) and all(e.count == 1 for e in entries):
        if -len(entries) <= key < len(entries) and isinstance(entries[key].value, ModuleVal):
            return entries[key].value
    return None


def _text(value: Any) -> str:
    return value.text if isinstance(value, (ModRef, _Holder)) else "?"


def _literal_text(node: ast.expr, value: Data | None = None) -> str:
    if isinstance(node, ast.Constant):
        return repr(node.value)
    if isinstance(node, ast.Name):
        return node.id
    return "..."


def analyze_methods(ctx: "FileContext", cls: "ModuleClass") -> dict[str, MethodFlow]:
    """The dataflow of every method of a module class except __init__."""
    flows: dict[str, MethodFlow] = {}
    if cls.root.unknown:
        return flows
    for name, fn in cls.methods.items():
        if name == "__init__" or not fn.args.args:
            continue
        if any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in fn.decorator_list):
            continue
        flow = MethodFlow(name, fn, self_name=fn.args.args[0].arg)
        env = _parameters(ctx, fn, skip=1)
        walker = _Walker(ctx, cls, flow)
        walker.body(fn.body, env)
        flows[name] = flow
    return flows


def analyze_with_modules(ctx: "FileContext", fn: ast.FunctionDef | ast.AsyncFunctionDef) -> MethodFlow | None:
    """The dataflow of a function or method outside a module class whose parameters are
    annotated with a module class: diffusers' attention processors,
    `__call__(self, attn: Attention, hidden_states)`, each such parameter an instance of its
    class at its defaults (None: no parameter is)."""
    env = _parameters(ctx, fn, skip=0)
    first = next((v.single for v in env.values() if isinstance(v, ModRef)), None)
    if first is None:
        return None
    flow = MethodFlow(fn.name, fn, self_name="")  # no `self` of a module here
    try:
        _Walker(ctx, first.cls, flow, root=first).body(fn.body, env)
    except RecursionError:
        return None
    return flow


def _parameters(ctx: "FileContext", fn: ast.FunctionDef | ast.AsyncFunctionDef, skip: int) -> dict[str, Any]:
    """What a function's parameters hold as its body starts (after the first `skip`, a
    method's self): a module where the annotation names a module class, else a fresh input."""
    a = fn.args
    env: dict[str, Any] = {}
    for p in a.posonlyargs + a.args[skip:] + a.kwonlyargs:
        module = _annotated_module(ctx, p.annotation) if p.annotation is not None else None
        env[p.arg] = ModRef((module,), p.arg, "attribute") if module is not None else Data(frozenset(), p.arg)
    for extra in (a.vararg, a.kwarg):
        if extra is not None:
            env[extra.arg] = EMPTY
    return env


def _annotated_module(ctx: "FileContext", annotation: ast.expr | None) -> ModuleVal | None:
    """The module an annotation names: a module class of the user's code (its instance at the
    defaults), or a torch container that cannot be called (`layers: nn.ModuleList`)."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):  # "Attention"
        annotation = ast.Name(annotation.value) if annotation.value.isidentifier() else None
    if not isinstance(annotation, (ast.Name, ast.Attribute)):
        return None
    qualified = ctx.imports.qualify(annotation)
    if qualified is not None:
        spec = lookup(qualified)
        if spec is not None:
            if spec.container not in NON_CALLABLE_CONTAINERS:
                return None
            return ModuleVal(f"nn.{spec.name}", qualified, spec=spec, unknown_contents=True)
    definition = ctx.classes.get(annotation.id) if isinstance(annotation, ast.Name) else None
    if definition is None and qualified is not None:
        definition = ctx.find_class(qualified)
    if definition is None or not definition.is_module or definition.root.unknown:
        return None
    return definition.root
