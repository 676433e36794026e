"""Dataflow through the methods of a module class (`forward` first of all).

Each method is walked once, abstractly: names are bound to module references (`self.layers`,
an element of it, a loop variable over it) or to data carrying the set of module calls whose
output flowed into it. Every module call is recorded as a `CallSite`; the walk also records
which call outputs reach the return value or another escape (stored on `self`, handed to a
call whose result is used or which may have side effects, yielded, ...).

Unknown calls are opaque but sound: what goes into them is treated as used.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable

from ..catalogue import lookup
from .values import ModuleVal, ParamVal, SeqVal

if TYPE_CHECKING:
    from .model import FileContext, ModuleClass

NON_CALLABLE_CONTAINERS = {"ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}
# Names whose call neither keeps nor publishes its arguments when the result is dropped.
PURE_PREFIXES = ("torch.", "math.", "numpy.", "einops.")
PURE_BUILTINS = {"len", "range", "int", "float", "bool", "str", "tuple", "list", "isinstance", "min", "max", "abs", "sum", "zip", "enumerate", "getattr", "hasattr", "type", "id", "sorted", "reversed", "dict", "set", "all", "any", "round"}


@dataclass(frozen=True, eq=False)
class ModRef:
    """A reference to one module, or to any of a container's elements."""

    modules: tuple[ModuleVal, ...]
    text: str  # how the code names it: "self.layers", "layer", "self.layers[2]"
    origin: str  # "attribute" | "element" | "loop" | "plain-element" | "alias"
    owner: ModuleVal | None = None  # the container or plain holder it comes from
    owner_text: str | None = None  # "self.layers"
    attribute: str | None = None  # the `self` attribute that holds it
    holder: SeqVal | None = None  # a plain list on self (not registered)

    @property
    def single(self) -> ModuleVal | None:
        return self.modules[0] if len(self.modules) == 1 else None


@dataclass(frozen=True)
class Data:
    """A non-module value: which module calls' outputs it carries, and which forward()
    parameter it is, unchanged, if any."""

    deps: frozenset[int] = frozenset()
    param: str | None = None


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


class _Walker:
    def __init__(self, ctx: "FileContext", cls: "ModuleClass", flow: MethodFlow):
        self.ctx = ctx
        self.cls = cls
        self.flow = flow
        self.root = cls.root
        self.loops: list[tuple[ast.For, frozenset[int]]] = []
        self.sites: dict[int, CallSite] = {}  # by id(node): loops are walked twice
        self.constructed: dict[int, _Built] = {}
        self.statement: ast.stmt | None = None

    # ------------------------------------------------------------------ statements

    def body(self, stmts: list[ast.stmt], env: dict[str, Any]) -> None:
        for stmt in stmts:
            self.stmt(stmt, env)

    def stmt(self, stmt: ast.stmt, env: dict[str, Any]) -> None:
        self.statement = stmt
        kind = type(stmt)
        if kind is ast.Expr:
            value = stmt.value
            if isinstance(value, ast.Call):
                result = self.call(value, env, bare=True)
            elif isinstance(value, (ast.Yield, ast.YieldFrom, ast.Await)):
                result = self.expr(value, env)
            else:
                result = self.expr(value, env)
                return
            del result
        elif kind is ast.Assign:
            value = self.expr(stmt.value, env)
            for target in stmt.targets:
                self.bind(target, value, env)
        elif kind is ast.AnnAssign:
            if stmt.value is not None:
                self.bind(stmt.target, self.expr(stmt.value, env), env)
        elif kind is ast.AugAssign:
            value = self.expr(stmt.value, env)
            current = self.expr(stmt.target, env)
            self.bind(stmt.target, _join(current, value), env, augmented=True)
        elif kind is ast.Return:
            value = self.expr(stmt.value, env) if stmt.value is not None else None
            self.keep(value)
            self.escape(value)
            self.flow.returns.append((stmt, value))
        elif kind is ast.If:
            self.expr(stmt.test, env)
            other = dict(env)
            self.body(stmt.body, env)
            self.body(stmt.orelse, other)
            _merge_into(env, other)
        elif kind in (ast.For, ast.AsyncFor):
            self.loop(stmt, env)
        elif kind is ast.While:
            self.expr(stmt.test, env)
            for _ in range(2):
                before = dict(env)
                self.body(stmt.body, env)
                _merge_into(env, before)
            self.body(stmt.orelse, env)
        elif kind in (ast.With, ast.AsyncWith):
            for item in stmt.items:
                value = self.expr(item.context_expr, env)
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
            inner = dict(env)
            saved = self.flow.returns
            self.flow.returns = []
            self.body(stmt.body, inner)
            for _, value in self.flow.returns:
                self.escape(value)
            self.flow.returns = saved
            env[stmt.name] = EMPTY
        elif kind is ast.Assert:
            self.expr(stmt.test, env)
        elif kind is ast.Raise:
            if stmt.exc is not None:
                self.escape(self.expr(stmt.exc, env))
        elif kind is ast.Delete:
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    env.pop(target.id, None)
        elif kind is ast.Match:
            self.expr(stmt.subject, env)
            merged = dict(env)
            for case in stmt.cases:
                branch = dict(env)
                self.body(case.body, branch)
                _merge_into(merged, branch)
            env.clear()
            env.update(merged)

    def loop(self, stmt: ast.For | ast.AsyncFor, env: dict[str, Any]) -> None:
        iterable = self.expr(stmt.iter, env)
        element = self.iterate(iterable, stmt.iter)
        self.loops.append((stmt, frozenset()))
        try:
            for _ in range(2):  # twice: values carried from one iteration into the next
                before = dict(env)
                self.bind(stmt.target, element, env)
                self.body(stmt.body, env)
                _merge_into(env, before)
        finally:
            self.loops.pop()
        self.body(stmt.orelse, env)

    # ------------------------------------------------------------------ binding

    def bind(self, target: ast.expr, value: Any, env: dict[str, Any], augmented: bool = False) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, ModRef) and value.origin in ("loop", "plain-element") and not value.text:
                value = replace(value, text=target.id)  # the loop variable, named as in the code
            if isinstance(value, ModRef):
                self.flow.refs[id(target)] = value
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = value if isinstance(value, tuple) and len(value) == len(target.elts) else None
            for i, elt in enumerate(target.elts):
                part = parts[i] if parts is not None else _data_of(value)
                if isinstance(elt, ast.Starred):
                    self.bind(elt.value, _data_of(value), env)
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
                env[base.id] = _join(env[base.id], value)  # x[i] = y mutates x
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
            return value
        if kind is ast.Attribute:
            return self.attribute(node, env)
        if kind is ast.Call:
            return self.call(node, env, bare=False)
        if kind is ast.Subscript:
            return self.subscript(node, env)
        if kind is ast.Constant:
            return EMPTY
        if kind is ast.BinOp:
            return _join(self.expr(node.left, env), self.expr(node.right, env))
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
        if kind is ast.Starred:
            return self.expr(node.value, env)
        # Everything else combines what it reads.
        return _join(*(self.expr(child, env) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)))

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
        return _data_of(base)

    def self_member(self, attr: str, text: str) -> Any:
        members = self.root.members
        slot = members.children.get(attr)
        if slot is not None and isinstance(slot.value, ModuleVal):
            # Assigned under a condition the analysis cannot decide: any of the alternatives.
            modules = tuple(m for m in (slot.value, *(a.value for a in slot.alternatives)) if isinstance(m, ModuleVal))
            if len(modules) < 1 + len(slot.alternatives):
                return EMPTY  # one alternative is not a module at all (None, a function)
            return ModRef(modules, text, "attribute", attribute=attr)
        slot = members.attributes.get(attr)
        if slot is not None and isinstance(slot.value, SeqVal) and slot.value.module_entries():
            return _Holder(slot.value, text, attr)
        return EMPTY

    def member_of(self, module: ModuleVal, attr: str, text: str) -> ModRef | None:
        if module.unknown:
            return None
        slot = module.members.children.get(attr)
        if slot is not None and isinstance(slot.value, ModuleVal):
            return ModRef((slot.value,), text, "attribute")
        return None

    def subscript(self, node: ast.Subscript, env: dict[str, Any]) -> Any:
        value = self._subscript(node, env)
        if isinstance(value, ModRef):
            self.flow.refs[id(node)] = value
        return value

    def _subscript(self, node: ast.Subscript, env: dict[str, Any]) -> Any:
        base = self.expr(node.value, env)
        index = self.expr(node.slice, env) if not isinstance(node.slice, ast.Constant) else None
        text = f"{_text(base)}[{_literal_text(node.slice)}]"
        key = node.slice.value if isinstance(node.slice, ast.Constant) else None
        if isinstance(base, ModRef) and base.single is not None and base.single.is_container:
            container = base.single
            entries = container.members.entries or []
            if isinstance(node.slice, ast.Slice):
                return ModRef(_modules_of(entries), text, "element", container, base.text, base.attribute)
            picked = _pick(entries, key)
            modules = (picked,) if picked is not None else _modules_of(entries)
            if modules:
                return ModRef(modules, text, "element", container, base.text, base.attribute)
            return EMPTY
        if isinstance(base, _Holder):
            picked = _pick(base.seq.entries, key)
            modules = (picked,) if picked is not None else _modules_of(base.seq.entries)
            return ModRef(modules, text, "plain-element", None, base.text, base.attribute, base.seq)
        return _join(_data_of(base), index if index is not None else EMPTY)

    def comprehension(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp | ast.DictComp, env: dict[str, Any]) -> Any:
        inner = dict(env)
        for gen in node.generators:
            element = self.iterate(self.expr(gen.iter, inner), gen.iter)
            self.bind(gen.target, element, inner)
            for cond in gen.ifs:
                self.expr(cond, inner)
        if isinstance(node, ast.DictComp):
            return _join(self.expr(node.key, inner), self.expr(node.value, inner))
        return _data_of(self.expr(node.elt, inner))

    def iterate(self, iterable: Any, node: ast.expr) -> Any:
        """The value one iteration binds."""
        if isinstance(iterable, ModRef) and iterable.single is not None and iterable.single.is_container:
            container = iterable.single
            modules = _modules_of(container.members.entries or [])
            if container.container in ("ModuleDict",):
                return EMPTY  # iterating a ModuleDict yields its keys
            return ModRef(modules, "", "loop", container, iterable.text, iterable.attribute)
        if isinstance(iterable, ModRef) and iterable.origin == "element" and len(iterable.modules) > 1:
            return ModRef(iterable.modules, "", "loop", iterable.owner, iterable.owner_text, iterable.attribute)
        if isinstance(iterable, _Holder):
            return ModRef(_modules_of(iterable.seq.entries), "", "plain-element", None, iterable.text, iterable.attribute, iterable.seq)
        if isinstance(iterable, _Items):
            return iterable.element
        return _data_of(iterable)

    # ------------------------------------------------------------------ calls

    def call(self, node: ast.Call, env: dict[str, Any], bare: bool) -> Any:
        func = node.func
        built = self.construction(node)
        if built is not None:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self.keep(self.expr(arg, env))
            return built
        # Methods on module containers and plain holders: .items(), .values(), enumerate(...)
        if isinstance(func, ast.Attribute) and not (_is_self(func.value, self.flow) and isinstance(self.attribute(func, env), ModRef)):
            receiver = self.expr(func.value, env)
            if isinstance(receiver, ModRef) and receiver.single is not None and receiver.single.is_container:
                container = receiver.single
                modules = _modules_of(container.members.entries or [])
                if func.attr == "values":
                    return _Items(ModRef(modules, "", "loop", container, receiver.text, receiver.attribute))
                if func.attr == "items":
                    return _Items((EMPTY, ModRef(modules, "", "loop", container, receiver.text, receiver.attribute)))
            if isinstance(receiver, _Holder) and func.attr in ("values", "items"):
                element = ModRef(_modules_of(receiver.seq.entries), "", "plain-element", None, receiver.text, receiver.attribute, receiver.seq)
                return _Items(element if func.attr == "values" else (EMPTY, element))
            args = [self.expr(a, env) for a in node.args] + [self.expr(k.value, env) for k in node.keywords]
            for arg in args:
                self.keep(arg)  # a module handed to a method (self.layers.append(m)) may be kept
            if isinstance(receiver, ModRef):
                return self.module_call_like(receiver, func.attr, node, args, bare)
            if _is_self(func.value, self.flow):
                # self.helper(x): analysed on its own; here its inputs are used.
                self.flow.uses.setdefault(func.attr, func)
                result = _join(*args)
                self.escape(result)
                return result
            combined = _join(receiver, *args)
            if isinstance(func.value, ast.Name) and func.value.id in env:
                env[func.value.id] = combined  # outs.append(y), x.add_(y): the receiver absorbs
            elif bare and not self.is_pure(func):
                self.escape(combined)
            return Data(combined.deps)
        if isinstance(func, ast.Name) and func.id in ("enumerate", "zip", "reversed", "list", "iter") and node.args:
            parts = [self.expr(a, env) for a in node.args]
            if any(isinstance(p, (ModRef, _Holder, _Items)) for p in parts):
                elements = [self.iterate(p, a) for p, a in zip(parts, node.args)]
                if func.id == "enumerate":
                    return _Items((EMPTY, elements[0]))
                if func.id == "zip":
                    return _Items(tuple(elements))
                return parts[0]
        callee = self.expr(func, env)
        if isinstance(callee, _Built):  # nn.Linear(4, 4)(x): used once, then dropped
            return _join(*(self.expr(a, env) for a in node.args), *(self.expr(k.value, env) for k in node.keywords))
        if isinstance(callee, ModRef):
            args = tuple(_data_of(self.expr(a, env)) for a in node.args)
            kwargs = [self.expr(k.value, env) for k in node.keywords]
            return self.module_call(callee, node, args, kwargs, bare)
        args = [self.expr(a, env) for a in node.args] + [self.expr(k.value, env) for k in node.keywords]
        for arg in args:
            self.keep(arg)
        result = _join(_data_of(callee), *args)
        if bare and not self.is_pure(func):
            self.escape(result)
        return Data(result.deps)

    def module_call_like(self, receiver: ModRef, method: str, node: ast.Call, args: list[Any], bare: bool) -> Any:
        """`self.block.forward(x)` is a module call; other methods are opaque uses."""
        if method == "forward":
            return self.module_call(receiver, node, tuple(_data_of(a) for a in args), [], bare)
        result = _join(*args)
        if bare:
            self.escape(result)
        return Data(result.deps)

    def module_call(self, ref: ModRef, node: ast.Call, args: tuple[Data, ...], kwargs: list[Any], bare: bool) -> Data:
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
        return Data(deps)

    def _loop_of(self, ref: ModRef) -> ast.For | None:
        if ref.origin not in ("loop", "plain-element"):
            return None
        for loop, _ in reversed(self.loops):
            return loop
        return None

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


def _is_self(node: ast.expr, flow: MethodFlow) -> bool:
    return isinstance(node, ast.Name) and node.id == flow.self_name


def _data_of(value: Any) -> Data:
    if isinstance(value, Data):
        return value
    if isinstance(value, tuple):
        return _join(*value)
    return EMPTY


def _join(*values: Any) -> Data:
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
                merged = _join(current, value)
                param = current.param if isinstance(current, Data) and isinstance(value, Data) and current.param == value.param else None
                env[name] = Data(merged.deps, param)


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


def _literal_text(node: ast.expr) -> str:
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
        env: dict[str, Any] = {}
        for arg in fn.args.posonlyargs + fn.args.args[1:] + fn.args.kwonlyargs:
            env[arg.arg] = Data(frozenset(), arg.arg)
        for extra in (fn.args.vararg, fn.args.kwarg):
            if extra is not None:
                env[extra.arg] = EMPTY
        walker = _Walker(ctx, cls, flow)
        walker.body(fn.body, env)
        flows[name] = flow
    return flows
