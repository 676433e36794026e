"""A static interpreter for the code that builds modules: `__init__`, the helpers it calls, and
module-level code. It never runs the analysed code; it evaluates its syntax over the abstract
values of values.py and records what PyTorch would register (`Members`), plus observations
that the rules turn into findings (a list of modules on `self`, one instance repeated, a
container built wrongly, ...).

Unknown conditions are followed on both branches (what is registered there carries the
condition); loops of known length are unrolled, loops of symbolic length run once and what they
add carries the count.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..catalogue import lookup
from ..catalogue.containers import make_container
from ..catalogue.spec import Args, NotStatic
from . import symbolic as S
from .configs import build_object, hierarchy, mapped_attribute
from . import tying
from .imports import ImportMap
from .parametrize import FUNCTIONS as REPARAMETRIZATIONS, reparametrize
from .reuse import clone_value
from .symbolic import Dim, Sym, is_size, product
from .values import (
    UNKNOWN,
    BufferVal,
    ClassRef,
    Entry,
    FunctionRef,
    Members,
    ModuleVal,
    ParamVal,
    SeqVal,
    Slot,
    ObjectVal,
    Choice,
    Opaque,
    Partial,
    mark_reached,
    _Unknown,
    is_unknown,
    new_uid,
    truth,
)

if TYPE_CHECKING:
    from .model import FileContext, ModuleClass

_UNKNOWN_KWARGS = "**"  # a key no keyword argument can have: `f(**unknown)` was called
MAX_UNROLL = 256  # loops longer than this run once, with a count
MAX_STEPS = 20_000  # statements and calls per root evaluation
MAX_DEPTH = 12  # nested helper calls and class instantiations
PAUSE_EVERY = 256  # steps between two chances for the server's background to wait (see Project.pause)
HELPER_STEPS = 600  # statements a helper function of another file may take

TENSOR_FACTORIES = {
    "torch.zeros", "torch.ones", "torch.randn", "torch.rand", "torch.empty", "torch.full", "torch.eye",
    "torch.randint", "torch.Tensor", "torch.FloatTensor", "torch.tensor", "torch.arange", "torch.linspace",
    "torch.zeros_like", "torch.ones_like", "torch.randn_like", "torch.rand_like", "torch.empty_like",
}
PARAMETER = {"torch.nn.Parameter", "torch.nn.parameter.Parameter"}
BUFFER = {"torch.nn.Buffer", "torch.nn.parameter.Buffer"}


class Budget(Exception):
    """The code is too large (or loops too much) to follow statically."""


class _Return(Exception):
    def __init__(self, value: Any):
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclass(eq=False)
class TensorVal:
    """A plain tensor (not a Parameter)."""

    dims: tuple[Dim, ...] | None
    requires_grad: bool | None = False
    node: ast.AST | None = None


@dataclass(eq=False)
class RangeVal:
    start: Dim
    stop: Dim
    step: int = 1

    def length(self) -> Dim:
        if self.start is None or self.stop is None:
            return None
        if isinstance(self.start, int) and isinstance(self.stop, int):
            return max(0, -(-(self.stop - self.start) // self.step))
        if self.step == 1:
            return S.sub(self.stop, self.start)
        return None


@dataclass(eq=False)
class BoundMethod:
    receiver: Any
    name: str


@dataclass(eq=False)
class QualName:
    """A function or object reached through an import: `torch.zeros`, `copy.deepcopy`."""

    name: str


@dataclass
class Observation:
    kind: str
    node: ast.AST
    data: dict = field(default_factory=dict)


@dataclass
class Frame:
    env: dict[str, Any]
    self_module: ModuleVal | None = None
    cls: "ModuleClass | None" = None  # the class whose method runs, for super()
    multiplier: Dim = 1
    conditions: tuple[str, ...] = ()
    depth: int = 0
    # Values returned under a condition the analysis could not decide, with that condition:
    # the function's result is one of them or what it returns at its end.
    pending: list[tuple[Any, str]] = field(default_factory=list)

    @property
    def condition(self) -> str | None:
        return " and ".join(self.conditions) if self.conditions else None


BUILTIN_NAMES = {
    "range", "len", "int", "float", "bool", "str", "max", "min", "sum", "abs", "round", "list", "tuple", "dict",
    "zip", "enumerate", "reversed", "sorted", "isinstance", "getattr", "hasattr", "setattr", "super", "print",
    "divmod", "pow", "map", "filter", "set", "any", "all", "type", "callable", "iter", "next",
}


class Interpreter:
    def __init__(self, ctx: "FileContext", observe: bool, within: tuple[int, int] | None = None):
        self.ctx = ctx
        self.observe = observe
        # Observations are recorded only on the code being analysed (these 1-based lines), not
        # on helpers it reaches elsewhere in the file: those are analysed on their own.
        self.within = within
        self.steps = 0
        self.step_limit = MAX_STEPS
        self.source = ctx.source
        self.assumed: dict[str, str] = {}  # parameter -> the config class read at its defaults
        self._last_owner: tuple[ast.AST | None, Any] = (None, None)  # the receiver of the last attribute read
        self._pause = getattr(ctx.resolver, "pause", None)  # where the server's background waits for the editor

    # ------------------------------------------------------------------ observations

    def note(self, kind: str, node: ast.AST, anywhere: bool = False, **data: Any) -> None:
        """Record what the rules read. Only within the lines being analysed, unless `anywhere`
        (the caller knows the node is of this file)."""
        if not self.observe:
            return
        if not anywhere and self.within is not None and not (self.within[0] <= node.lineno <= self.within[1]):
            return
        self.ctx.observations.setdefault((kind, id(node)), Observation(kind, node, data))

    def note_shared(self, node: ast.AST, module: ModuleVal, **data: Any) -> None:
        """One module instance repeated (reported once, where the repetition is written)."""
        self.ctx.shared_reported.add(module.uid)
        self.note("repeated-instance", node, module=module, **data)

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.step_limit:
            raise Budget("the code is too large to follow statically")
        if not self.steps % PAUSE_EVERY and self._pause is not None:
            self._pause()

    # ------------------------------------------------------------------ entry points

    def run_init(self, cls: "ModuleClass", module: ModuleVal, args: list[Any], kwargs: dict[str, Any], depth: int = 0) -> None:
        """Interpret `cls.__init__` (or the inherited one) building `module`."""
        init, owner = cls.find_method("__init__")
        if owner is not None and owner.ctx is not self.ctx:  # inherited from a class of another file
            self.for_file(owner.ctx).run_init(cls, module, args, kwargs, depth)
            return
        if init is None:
            self._init_base(cls, module, args, kwargs, depth)
            return
        frame = Frame({}, self_module=module, cls=owner, depth=depth)
        self._bind(init, frame, [module, *args], kwargs, method=True)
        self._apply_class_attributes(cls, module)
        if any(_decorator_name(d).endswith("register_to_config") for d in init.decorator_list):
            # diffusers: the decorator records every argument of __init__ as `self.config.<name>`
            bound = {name: frame.env[name] for name in _fields_of(init) if name in frame.env}
            module.members.attributes["config"] = Slot(ObjectVal("FrozenDict", bound))
        try:
            self.exec_body(init.body, frame)
        except _Return:
            pass

    def run_module_level(self, body: list[ast.stmt]) -> dict[str, Any]:
        frame = Frame({})
        try:
            self.exec_body(body, frame)
        except (_Return, _Break, _Continue):
            pass
        return frame.env

    def run_function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, symbolic: bool = True) -> None:
        """Interpret a free function on its own (for observations), arguments symbolic."""
        frame = Frame({})
        self._bind(fn, frame, [], {}, method=False)
        try:
            self.exec_body(fn.body, frame)
        except (_Return, _Break, _Continue):
            pass

    def for_file(self, ctx: "FileContext") -> "Interpreter":
        """An interpreter for code of another file (its own imports and names), sharing the
        step budget."""
        if ctx is self.ctx:
            return self
        other = Interpreter(ctx, observe=False)
        other.steps, other.step_limit = self.steps, self.step_limit
        return other

    def make_object(self, definition: "ModuleClass", args: list[Any], kwargs: dict[str, Any], depth: int, label: str | None = None) -> Any:
        """An instance of a plain class (a config): see configs.py."""
        if depth > MAX_DEPTH or _STARRED in args:
            return UNKNOWN
        return build_object(self, definition, args, kwargs, depth, label)

    def default_instance(self, annotation: ast.expr | None, label: str, depth: int) -> Any:
        """A parameter without a default, annotated with a config class whose attributes all
        have defaults (`config: GPTConfig`): that config, at its defaults."""
        if annotation is None:
            return None
        cls = self.eval(annotation, Frame({}, depth=depth))
        definition = cls.definition if isinstance(cls, ClassRef) else None
        if definition is None or definition.is_module or not definition.has_defaults_for_all():
            return None
        if depth == 0:  # the class itself is read without a call site: say what it assumed
            self.assumed.setdefault(label, definition.name)
        # Built once per config class and label (LlamaConfig's __post_init__ is thousands of
        # steps), then copied: the code may change the fields of its copy.
        built = definition.defaults_built.get(label)
        if built is None:
            built = definition.defaults_built[label] = self.make_object(definition, [], {}, depth + 1, label)
        return _deep_copy(built)

    # ------------------------------------------------------------------ binding

    def _bind(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, frame: Frame, args: list[Any], kwargs: dict[str, Any], method: bool) -> None:
        mark_reached(fn)
        a = fn.args
        positional = a.posonlyargs + a.args
        defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
        env = frame.env
        rest = list(args)
        unknown_rest = any(x is _STARRED for x in rest)
        kwargs = dict(kwargs)
        # `f(**options)` with options unknown: any parameter not given otherwise may be in it.
        unknown_kw = kwargs.pop(_UNKNOWN_KWARGS, None) is not None
        for param, default in zip(positional, defaults):
            name = param.arg
            if rest and rest[0] is not _STARRED:
                env[name] = rest.pop(0)
            elif name in kwargs:
                env[name] = kwargs.pop(name)
            elif unknown_rest or unknown_kw:
                env[name] = UNKNOWN
            elif default is not None:
                env[name] = self.eval(default, Frame({}, depth=frame.depth))
            else:
                config = self.default_instance(param.annotation, name, frame.depth) if not method or param is not positional[0] else None
                env[name] = config if config is not None else Sym.atom(name)
        for param, default in zip(a.kwonlyargs, a.kw_defaults):
            name = param.arg
            if name in kwargs:
                env[name] = kwargs.pop(name)
            elif unknown_kw:
                env[name] = UNKNOWN
            elif default is not None:
                env[name] = self.eval(default, Frame({}, depth=frame.depth))
            else:
                env[name] = Sym.atom(name)
        if a.vararg:
            env[a.vararg.arg] = UNKNOWN if unknown_rest else SeqVal("tuple", [Entry(x) for x in rest])
        if a.kwarg:  # what no parameter took
            env[a.kwarg.arg] = UNKNOWN if unknown_kw else SeqVal("dict", [Entry(v, key=k) for k, v in kwargs.items()])

    def _apply_class_attributes(self, cls: "ModuleClass", module: ModuleVal) -> None:
        for name, node in cls.class_attributes().items():
            if name not in module.members.attributes:
                module.members.attributes[name] = Slot(self.eval(node, Frame({})))

    # ------------------------------------------------------------------ statements

    def exec_body(self, body: list[ast.stmt], frame: Frame) -> None:
        for stmt in body:
            self.exec(stmt, frame)

    def exec(self, stmt: ast.stmt, frame: Frame) -> None:
        self.tick()
        handler = _STATEMENTS.get(type(stmt))
        if handler is not None:
            handler(self, stmt, frame)

    def _exec_assign(self, stmt: ast.Assign, frame: Frame) -> None:
        value = self.eval(stmt.value, frame)
        for target in stmt.targets:
            self.assign(target, value, frame, stmt.value)

    def _exec_ann_assign(self, stmt: ast.AnnAssign, frame: Frame) -> None:
        if stmt.value is not None:
            self.assign(stmt.target, self.eval(stmt.value, frame), frame, stmt.value)

    def _exec_aug_assign(self, stmt: ast.AugAssign, frame: Frame) -> None:
        current = self.eval(stmt.target, frame)
        value = self.eval(stmt.value, frame)
        if isinstance(current, ModuleVal) and current.is_container and isinstance(stmt.op, ast.Add):
            self._extend(current, value, frame, stmt)  # ModuleList += [...]
            return
        if isinstance(current, SeqVal) and isinstance(stmt.op, ast.Add):
            self._extend(current, value, frame, stmt)  # list += [...] mutates in place
            return
        self.assign(stmt.target, self.binop(stmt.op, current, value, stmt), frame, stmt.value)

    def _exec_expr(self, stmt: ast.Expr, frame: Frame) -> None:
        self.eval(stmt.value, frame)

    def _exec_if(self, stmt: ast.If, frame: Frame) -> None:
        test = truth(self.eval(stmt.test, frame))
        if test is True:
            self.exec_body(stmt.body, frame)
        elif test is False:
            self.exec_body(stmt.orelse, frame)
        else:
            self._undecided(stmt, frame)

    def _undecided(self, stmt: ast.If, frame: Frame) -> None:
        """Both branches of an `if` the analysis cannot decide. Members they register carry
        the condition; a local name they set differently is one of two values afterwards
        (unknown, and maybe a module); a branch that returns leaves the other as the path on."""
        text = self.source.segment(stmt.test)
        env = frame.env
        before = dict(env)
        returned_body = self._branch(stmt.body, frame, text)
        after_body = dict(env)
        env.clear()
        env.update(before)
        returned_else = self._branch(stmt.orelse, frame, f"not ({text})") if stmt.orelse else False
        after_else = dict(env)
        if returned_body and returned_else:
            raise _Return(self.merge(frame.pending.pop()[0], frame.pending.pop()[0], text))
        if returned_body or returned_else:
            return  # env holds the path that goes on
        env.clear()
        for name in after_body.keys() | after_else.keys():
            if name in after_body and name in after_else:
                env[name] = self.merge(after_body[name], after_else[name], text)
            else:
                env[name] = after_body.get(name, after_else.get(name))

    def _branch(self, body: list[ast.stmt], frame: Frame, condition: str) -> bool:
        """Run one branch under `condition`; True if it returned (its value is pending)."""
        outer = frame.conditions
        frame.conditions = outer + (condition,)
        try:
            self.exec_body(body, frame)
        except _Return as r:
            frame.pending.append((r.value, condition))
            return True
        finally:
            frame.conditions = outer
        return False

    def merge(self, a: Any, b: Any, condition: str) -> Any:
        """One value for "a or b, by a condition that cannot be decided"."""
        if a is b or _same_constant(a, b):
            return a
        pairs = []
        for value, cond in ((a, condition), (b, f"not ({condition})")):
            if isinstance(value, Choice) and _choosable(a) and _choosable(b):
                pairs.extend((o, f"{cond} and {c}") for o, c in zip(value.options, value.conditions))
            else:
                pairs.append((value, cond))
        return _one_of(pairs)

    def _exec_for(self, stmt: ast.For | ast.AsyncFor, frame: Frame) -> None:
        iterable = self.eval(stmt.iter, frame)
        items, count, sample = self.iterate(iterable)
        if items is not None:
            for item in items:
                self.assign(stmt.target, item, frame, None)
                try:
                    self.exec_body(stmt.body, frame)
                except _Break:
                    return
                except _Continue:
                    continue
            self.exec_body(stmt.orelse, frame)
            return
        # Unknown or symbolic length: run the body once; what it adds repeats `count` times.
        self.assign(stmt.target, sample, frame, None)
        self._run_repeated(stmt.body, frame, count)

    def _exec_while(self, stmt: ast.While, frame: Frame) -> None:
        self._run_repeated(stmt.body, frame, None)

    def _run_repeated(self, body: list[ast.stmt], frame: Frame, count: Dim) -> None:
        """Run a loop body once, as one pass of `count` (None: unknown) passes."""
        outer = frame.multiplier
        frame.multiplier = None if outer is None or count is None else S.mul(outer, count)
        try:
            self.exec_body(body, frame)
        except (_Break, _Continue):
            pass
        finally:
            frame.multiplier = outer

    def _exec_with(self, stmt: ast.With | ast.AsyncWith, frame: Frame) -> None:
        for item in stmt.items:
            value = self.eval(item.context_expr, frame)
            if item.optional_vars is not None:
                self.assign(item.optional_vars, UNKNOWN if value is not None else None, frame, None)
        self.exec_body(stmt.body, frame)

    def _exec_try(self, stmt: ast.Try, frame: Frame) -> None:
        self.exec_body(stmt.body, frame)
        self.exec_body(stmt.orelse, frame)
        self.exec_body(stmt.finalbody, frame)

    def _exec_return(self, stmt: ast.Return, frame: Frame) -> None:
        raise _Return(self.eval(stmt.value, frame) if stmt.value is not None else None)

    def _exec_break(self, stmt: ast.Break, frame: Frame) -> None:
        raise _Break()

    def _exec_continue(self, stmt: ast.Continue, frame: Frame) -> None:
        raise _Continue()

    def _exec_def(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef, frame: Frame) -> None:
        # A closure (`def parse(x): ... repeat(x, n)` inside `_ntuple(n)`) sees its maker's names.
        frame.env[stmt.name] = FunctionRef(stmt, ctx=self.ctx, closure=frame.env)

    def _exec_import(self, stmt: ast.Import | ast.ImportFrom, frame: Frame) -> None:
        # An import inside a function (`from .normalization import RMSNorm` in __init__) binds
        # a local name, qualified as the file's top-level imports are.
        local_map = ImportMap(ast.Module(body=[stmt], type_ignores=[]))
        for local, qualified in local_map.names.items():
            frame.env[local] = self.ctx.resolve_qualified(qualified)

    def _exec_delete(self, stmt: ast.Delete, frame: Frame) -> None:
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                frame.env.pop(target.id, None)

    # ------------------------------------------------------------------ assignment

    def assign(self, target: ast.expr, value: Any, frame: Frame, value_node: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            frame.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = self._unpack(value, len(target.elts))
            for elt, part in zip(target.elts, parts):
                if isinstance(elt, ast.Starred):
                    self.assign(elt.value, UNKNOWN, frame, None)
                else:
                    self.assign(elt, part, frame, None)
        elif isinstance(target, ast.Attribute):
            owner = self.eval(target.value, frame)
            if isinstance(owner, ModuleVal):
                self.set_member(owner, target.attr, value, frame, value_node, target)
            elif isinstance(owner, ObjectVal):
                setter = _property(owner, target.attr, "setter")
                if setter is not None:  # `self.num_labels = 2` runs the config's property setter
                    self.call_function(FunctionRef(setter[0], bound_self=owner, ctx=setter[1].ctx, owner=setter[1]), [value], {}, frame)
                else:
                    owner.fields[mapped_attribute(owner, target.attr)] = value
        elif isinstance(target, ast.Subscript):
            owner = self.eval(target.value, frame)
            key = self.eval(target.slice, frame)
            self._set_item(owner, key, value, frame)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, UNKNOWN, frame, None)

    def _unpack(self, value: Any, n: int) -> list[Any]:
        if isinstance(value, SeqVal) and len(value.entries) == n and all(e.count == 1 for e in value.entries):
            if value.kind == "dict":
                return [e.key for e in value.entries]
            return [e.value for e in value.entries]
        return [UNKNOWN] * n

    def set_member(self, module: ModuleVal, name: str, value: Any, frame: Frame, value_node: ast.AST | None, target: ast.AST | None = None) -> None:
        """`module.name = value`, with nn.Module.__setattr__'s registration rules."""
        if isinstance(value, Choice):  # `self.norm = A() if c else B()`: each under its condition
            outer = frame.conditions
            try:
                for option, condition in zip(value.options, value.conditions):
                    frame.conditions = outer + (condition,)
                    self.set_member(module, name, option, frame, value_node, target)
            finally:
                frame.conditions = outer
            return
        members = module.members
        slot = Slot(value, frame.condition, target=target)
        if isinstance(value, Opaque):  # maybe a module: the table cannot be complete
            members.gaps[name] = value.reason
            for table in (members.children, members.params, members.buffers):
                table.pop(name, None)
        else:
            members.gaps.pop(name, None)
        if isinstance(value, BufferVal):
            self._put(members.buffers, name, slot, frame, drop=(members.children, members.attributes, members.params))
        elif isinstance(value, ParamVal):
            self._put(members.params, name, slot, frame, drop=(members.children, members.attributes, members.buffers))
        elif isinstance(value, ModuleVal):
            self._put(members.children, name, slot, frame, drop=(members.params, members.attributes, members.buffers))
        elif name in members.params and value is None:
            members.params.pop(name)
        elif value is None and name in members.children and frame.condition:
            # `self.down = None` in one branch of a condition the analysis cannot decide: the
            # module may still be registered.
            members.children[name].alternatives.append(Slot(None, frame.condition))
        elif name in members.buffers and (isinstance(value, TensorVal) or value is None):
            self._put(members.buffers, name, Slot(_as_param(value), frame.condition), frame, drop=())
        else:
            if isinstance(value, TensorVal) and value.requires_grad and module is frame.self_module and value_node is not None:
                self.note("grad-tensor-attribute", value_node, attribute=name, module=module)
            if isinstance(value, SeqVal) and value.node is None and value_node is not None:
                value.node = value_node
            slot.node = value_node
            self._put(members.attributes, name, slot, frame, drop=(members.children,))

    def _put(self, table: dict[str, Slot], name: str, slot: Slot, frame: Frame, drop: tuple) -> None:
        for other in drop:
            other.pop(name, None)
        previous = table.get(name)
        if previous is not None and slot.condition and previous.value is not slot.value:
            # Either may be registered at run time: keep both.
            slot.alternatives = [Slot(previous.value, previous.condition or "otherwise", previous.repeat), *previous.alternatives]
        table[name] = slot

    def _set_item(self, owner: Any, key: Any, value: Any, frame: Frame) -> None:
        if isinstance(owner, ModuleVal) and owner.is_container:
            entries = owner.members.entries
            if entries is None:
                return
            if isinstance(key, str):
                for e in entries:
                    if e.key == key:
                        e.value = value
                        return
                entries.append(Entry(value, count=1, key=key, condition=frame.condition))
            elif isinstance(key, int) and 0 <= key < len(entries):
                entries[key].value = value
        elif isinstance(owner, SeqVal):
            if owner.kind == "dict":
                k = key if isinstance(key, str) else None
                for e in owner.entries:
                    if k is not None and e.key == k:
                        e.value = value
                        return
                owner.entries.append(Entry(value, count=frame.multiplier, key=k, condition=frame.condition))
            elif isinstance(key, int) and -len(owner.entries) <= key < len(owner.entries):
                owner.entries[key].value = value

    # ------------------------------------------------------------------ expressions

    def eval(self, node: ast.expr | None, frame: Frame) -> Any:
        if node is None:
            return None
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:
            return UNKNOWN
        return handler(self, node, frame)

    def _eval_constant(self, node: ast.Constant, frame: Frame) -> Any:
        return node.value

    def _eval_name(self, node: ast.Name, frame: Frame) -> Any:
        name = node.id
        env = frame.env
        if name in env:
            return env[name]
        return self.ctx.global_value(name, self)

    def _eval_attribute(self, node: ast.Attribute, frame: Frame) -> Any:
        base = node.value
        if isinstance(base, ast.Name) and base.id not in frame.env and self.ctx.is_imported(base.id):
            if self.ctx.imports.names.get(base.id, "").rsplit(".", 1)[-1][:1].isupper():
                owner = self.eval(base, frame)  # an imported class: `Block.create`, read in its code
                if isinstance(owner, ClassRef) and owner.definition is not None:
                    return self.get_attribute(owner, node.attr)
            qualified = self.ctx.imports.qualify(node)
            if qualified is not None:
                return self.ctx.resolve_qualified(qualified)
        if isinstance(base, ast.Attribute) and not _rooted_in(base, frame.env) :
            qualified = self.ctx.imports.qualify(node)
            if qualified is not None:
                return self.ctx.resolve_qualified(qualified)
        owner = self.eval(base, frame)
        self._last_owner = (node, owner)
        return self.get_attribute(owner, node.attr)

    def get_attribute(self, owner: Any, attr: str) -> Any:
        if isinstance(owner, _Super):
            return BoundMethod(owner, attr)
        if isinstance(owner, ClassRef) and attr in ("__name__", "__qualname__"):
            return owner.qualified.rsplit(".", 1)[-1]

        if isinstance(owner, ClassRef) and attr == "__init__" and (owner.spec is not None or owner.qualified == "torch.nn.Module"):
            return UNKNOWN  # `nn.Module.__init__(self)`: nothing to register
        if isinstance(owner, ModuleVal):
            members = owner.members
            for table in (members.children, members.params, members.buffers, members.attributes):
                slot = table.get(attr)
                if slot is not None:
                    return slot.value
            for entry in members.entries or []:  # ModuleDict (and keyed Sequential) members
                if entry.key == attr:
                    return entry.value
            if owner.spec is not None and attr in owner.args:
                return owner.args[attr]  # nn.Linear(...).in_features
            if owner.cls is not None:
                method, defined_in = owner.cls.find_method(attr)
                if method is not None:
                    kind = _method_kind(method)
                    if kind == "staticmethod":
                        return FunctionRef(method, ctx=defined_in.ctx)
                    if kind == "classmethod":
                        return Partial(FunctionRef(method, ctx=defined_in.ctx), (ClassRef(owner.cls.name, owner.cls.name, definition=owner.cls),), {})
                    return FunctionRef(method, bound_self=owner, ctx=defined_in.ctx)
                for c in hierarchy(owner.cls)[1:]:  # a class attribute of a base (the own are set)
                    node = c.class_attributes().get(attr)
                    if node is not None:
                        return self.for_file(c.ctx).eval(node, Frame({}))
            return BoundMethod(owner, attr)
        if isinstance(owner, Sym) and len(owner.terms) == 1 and owner.terms[0][1] == 1 and len(owner.terms[0][0]) == 1:
            return Sym.atom(f"{owner.terms[0][0][0]}.{attr}")  # config.hidden_size
        if isinstance(owner, (SeqVal, TensorVal, ParamVal, RangeVal)) or (isinstance(owner, str) and attr in STR_METHODS):
            return BoundMethod(owner, attr)
        if isinstance(owner, QualName):
            return self.ctx.resolve_qualified(f"{owner.name}.{attr}")
        if isinstance(owner, ClassRef) and owner.definition is not None:
            definition = owner.definition
            node = definition.class_attributes().get(attr)
            if node is not None:
                return self.for_file(definition.ctx).eval(node, Frame({}))
            return self._class_method(owner, attr)
        if isinstance(owner, ObjectVal):
            getter = _property(owner, attr, "getter")
            if getter is not None:  # a property wins over the instance's fields, as in Python
                # (get_attribute has no frame: the getter gets a few levels of nesting of its own)
                return self.call_function(FunctionRef(getter[0], bound_self=owner, ctx=getter[1].ctx, owner=getter[1]), [], {}, Frame({}, depth=MAX_DEPTH - 4))
            attr = mapped_attribute(owner, attr)
            if attr in owner.fields:
                return owner.fields[attr]
            if owner.cls is not None:
                method, defined_in = owner.cls.find_method(attr)
                if method is not None:
                    return FunctionRef(method, bound_self=owner, ctx=defined_in.ctx, owner=defined_in)
            return Sym.atom(f"{owner.label}.{attr}") if owner.label else UNKNOWN
        if isinstance(owner, ClassRef) and owner.spec is not None and attr == "from_pretrained":
            return BoundMethod(owner, attr)
        if isinstance(owner, Partial) and attr in ("func", "args", "keywords"):
            if attr == "func":
                return owner.func
            if attr == "args":
                return SeqVal("tuple", [Entry(a) for a in owner.args])
            return SeqVal("dict", [Entry(v, key=k) for k, v in owner.kwargs.items()])
        return UNKNOWN

    def _class_method(self, owner: ClassRef, attr: str) -> Any:
        """`Block.create(...)` or `GenerationConfig.from_model_config(config)`: a method read
        on a class. A module class's class and static methods are followed (they may build
        it); those of a plain class (a config) compute data."""
        definition = owner.definition
        method, defined_in = definition.find_method(attr)
        if method is None:
            return UNKNOWN
        if not definition.is_module:
            return DATA_FUNCTION  # not followed: it computes data, never a module
        fn = FunctionRef(method, ctx=defined_in.ctx)
        return Partial(fn, (owner,), {}) if _method_kind(method) == "classmethod" else fn

    def _eval_subscript(self, node: ast.Subscript, frame: Frame) -> Any:
        owner = self.eval(node.value, frame)
        if isinstance(node.slice, ast.Slice):
            return self._slice(owner, node.slice, frame)
        key = self.eval(node.slice, frame)
        return self.get_item(owner, key)

    def get_item(self, owner: Any, key: Any) -> Any:
        if isinstance(owner, str) and isinstance(key, int) and not isinstance(key, bool):
            return owner[key] if -len(owner) <= key < len(owner) else UNKNOWN
        entries = None
        if isinstance(owner, SeqVal):
            entries = owner.entries
        elif isinstance(owner, ModuleVal) and owner.is_container:
            entries = owner.members.entries
        if entries is None:
            return UNKNOWN
        if isinstance(key, str):
            for e in entries:
                if e.key == key:
                    return e.value
            return UNKNOWN
        if isinstance(key, int) and not isinstance(key, bool) and all(e.count == 1 for e in entries):
            if -len(entries) <= key < len(entries):
                return entries[key].value
        return UNKNOWN

    def _slice(self, owner: Any, sl: ast.Slice, frame: Frame) -> Any:
        if isinstance(owner, str):  # `block_type[7:]`
            bounds = [self.eval(x, frame) if x is not None else None for x in (sl.lower, sl.upper, sl.step)]
            if all(b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds) and bounds[2] != 0:
                return owner[slice(*bounds)]
            return UNKNOWN
        if not isinstance(owner, SeqVal) or not all(e.count == 1 for e in owner.entries):
            return UNKNOWN
        bounds = [self.eval(x, frame) if x is not None else None for x in (sl.lower, sl.upper, sl.step)]
        if not all(b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds):
            return UNKNOWN
        picked = owner.entries[slice(*bounds)]
        return SeqVal(owner.kind, [Entry(e.value, key=e.key, condition=e.condition) for e in picked])

    def _eval_binop(self, node: ast.BinOp, frame: Frame) -> Any:
        return self.binop(node.op, self.eval(node.left, frame), self.eval(node.right, frame), node)

    def binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        if isinstance(left, (TensorVal, ParamVal)) or isinstance(right, (TensorVal, ParamVal)):
            return _tensor_binop(left, right, node)
        if isinstance(left, str) and isinstance(op, ast.Mod):  # 'denselayer%d' % (i + 1)
            values = [e.value for e in right.entries] if isinstance(right, SeqVal) and right.kind == "tuple" else [right]
            if all(isinstance(v, (int, float, str)) for v in values):
                try:
                    return left % tuple(values)
                except (TypeError, ValueError):
                    return UNKNOWN
            return UNKNOWN
        if isinstance(left, SeqVal) or isinstance(right, SeqVal):
            return self._seq_binop(op, left, right, node)
        if isinstance(left, bool) or isinstance(right, bool):
            left, right = _unbool(left), _unbool(right)
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            try:
                return _PY_OPS[type(op)](left, right)
            except Exception:
                return UNKNOWN
        if is_size(left) and is_size(right):
            if isinstance(op, ast.Add):
                return S.add(left, right)
            if isinstance(op, ast.Sub):
                return S.sub(left, right)
            if isinstance(op, ast.Mult):
                return S.mul(left, right)
            if isinstance(op, (ast.FloorDiv, ast.Div)):
                return S.floordiv(left, right)
            if isinstance(op, ast.Pow) and isinstance(right, int) and 0 <= right <= 4:
                result: Any = 1
                for _ in range(right):
                    result = S.mul(result, left)
                return result
            return Sym.atom(self.source.segment(node))
        if isinstance(left, Sym) or isinstance(right, Sym):
            return Sym.atom(self.source.segment(node))
        return UNKNOWN

    def _seq_binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        if isinstance(op, ast.Add) and isinstance(left, SeqVal) and isinstance(right, SeqVal):
            return SeqVal(left.kind, [*_copy_entries(left), *_copy_entries(right)])
        if isinstance(op, ast.Mult):
            seq, count = (left, right) if isinstance(left, SeqVal) else (right, left)
            if not isinstance(seq, SeqVal) or not (is_size(count) or is_unknown(count)):
                return UNKNOWN
            modules = [e.value for e in seq.entries if isinstance(e.value, ModuleVal)]
            if modules and count != 1 and count != 0:
                self.note_shared(node, modules[0], how="multiply", count=count)
            if isinstance(count, int) and not isinstance(count, bool) and count * len(seq.entries) <= 100_000:
                out = SeqVal(seq.kind, [Entry(e.value, e.count, e.fresh, e.key, e.condition) for _ in range(max(count, 0)) for e in seq.entries], node)
            else:
                out = SeqVal(seq.kind, [Entry(e.value, S.mul(e.count, count) if is_size(count) and is_size(e.count) else None, False, e.key, e.condition) for e in seq.entries], node)
            return out
        return UNKNOWN

    def _eval_unaryop(self, node: ast.UnaryOp, frame: Frame) -> Any:
        value = self.eval(node.operand, frame)
        if isinstance(node.op, ast.Not):
            t = truth(value)
            return UNKNOWN if t is None else not t
        if isinstance(node.op, ast.USub):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value
            if isinstance(value, Sym):
                return S.neg(value)
        if isinstance(node.op, ast.UAdd):
            return value
        return UNKNOWN

    def _eval_boolop(self, node: ast.BoolOp, frame: Frame) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = UNKNOWN
        for operand in node.values:
            value = self.eval(operand, frame)
            t = truth(value)
            if t is None:
                for rest in node.values[node.values.index(operand) + 1 :]:
                    self.eval(rest, frame)
                return UNKNOWN
            if t is not is_and:
                return value
        return value

    def _eval_compare(self, node: ast.Compare, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        result: Any = True
        for op, comparator in zip(node.ops, node.comparators):
            right = self.eval(comparator, frame)
            outcome = _compare(op, left, right)
            if outcome is None:
                result = UNKNOWN
            elif outcome is False and not is_unknown(result):
                result = False
            left = right
        return result

    def _eval_ifexp(self, node: ast.IfExp, frame: Frame) -> Any:
        t = truth(self.eval(node.test, frame))
        if t is True:
            return self.eval(node.body, frame)
        if t is False:
            return self.eval(node.orelse, frame)
        a = self.eval(node.body, frame)
        b = self.eval(node.orelse, frame)
        return self.merge(a, b, self.source.segment(node.test))

    def _eval_sequence(self, node: ast.List | ast.Tuple | ast.Set, frame: Frame) -> Any:
        entries: list[Entry] = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                value = self.eval(elt.value, frame)
                spread = self._spread(value)
                if spread is None:
                    return SeqVal("tuple" if isinstance(node, ast.Tuple) else "list", entries + [Entry(UNKNOWN, None)], node)
                entries.extend(spread)
            else:
                entries.append(Entry(self.eval(elt, frame)))
        return SeqVal("tuple" if isinstance(node, ast.Tuple) else "list", entries, node)

    def _eval_dict(self, node: ast.Dict, frame: Frame) -> Any:
        entries: list[Entry] = []
        for key, value in zip(node.keys, node.values):
            if key is None:  # {**other}
                other = self.eval(value, frame)
                if isinstance(other, SeqVal) and other.kind == "dict":
                    entries.extend(_copy_entries(other))
                else:
                    entries.append(Entry(UNKNOWN, None))
                continue
            k = self.eval(key, frame)
            entries.append(Entry(self.eval(value, frame), key=k if isinstance(k, str) else None))
        return SeqVal("dict", entries, node)

    def _eval_comprehension(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp | ast.DictComp, frame: Frame) -> Any:
        kind = "dict" if isinstance(node, ast.DictComp) else "list"
        before = new_uid.peek()
        entries: list[Entry] = []
        local = Frame(dict(frame.env), frame.self_module, frame.cls, 1, frame.conditions, frame.depth)
        produced_ids: list[int] = []
        shared_once = False

        def element() -> Entry:
            if isinstance(node, ast.DictComp):
                k = self.eval(node.key, local)
                return Entry(self.eval(node.value, local), key=k if isinstance(k, str) else None)
            return Entry(self.eval(node.elt, local))

        def generate(gens: list[ast.comprehension], count: Dim) -> None:
            nonlocal shared_once
            if not gens:
                entry = element()
                entry.condition = local.condition if local.conditions != frame.conditions else None
                if count == 1:
                    entries.append(entry)
                    if isinstance(entry.value, ModuleVal):
                        produced_ids.append(entry.value.uid)
                else:
                    entry.count = count
                    if isinstance(entry.value, ModuleVal) and entry.value.uid < before:
                        entry.fresh = False  # the same pre-built module each time
                        shared_once = True
                    entries.append(entry)
                return
            gen, rest = gens[0], gens[1:]
            items, n, sample = self.iterate(self.eval(gen.iter, local))
            if items is None:
                self.assign(gen.target, sample, local, None)
                if self._filters(gen, local) is not False:
                    generate(rest, None if count is None or n is None else S.mul(count, n))
                return
            for item in items:
                self.assign(gen.target, item, local, None)
                if self._filters(gen, local) is not False:
                    generate(rest, count)

        saved = local.conditions
        generate(list(node.generators), 1)
        local.conditions = saved
        out = SeqVal(kind, entries, node)
        repeated = [uid for uid in produced_ids if uid < before]
        if shared_once or (len(repeated) > 1 and len(set(repeated)) < len(repeated)):
            module = next(e.value for e in entries if isinstance(e.value, ModuleVal))
            self.note_shared(node, module, how="comprehension")
        return out

    def _filters(self, gen: ast.comprehension, frame: Frame) -> bool | None:
        for cond in gen.ifs:
            t = truth(self.eval(cond, frame))
            if t is False:
                return False
            if t is None:
                frame.conditions = frame.conditions + (self.source.segment(cond),)
        return True

    def _eval_joined_str(self, node: ast.JoinedStr, frame: Frame) -> Any:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                v = self.eval(value.value, frame)
                if isinstance(v, (int, str, float)) and value.format_spec is None and value.conversion == -1:
                    parts.append(str(v))
                elif isinstance(v, Sym):
                    parts.append("*")
                else:
                    return UNKNOWN
        return "".join(parts)

    def _eval_named_expr(self, node: ast.NamedExpr, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame, node.value)
        return value

    def _eval_starred(self, node: ast.Starred, frame: Frame) -> Any:
        return self.eval(node.value, frame)

    def _eval_lambda(self, node: ast.Lambda, frame: Frame) -> Any:
        return UNKNOWN

    # ------------------------------------------------------------------ iteration

    def _spread(self, value: Any) -> list[Entry] | None:
        if isinstance(value, SeqVal):
            return _copy_entries(value) if value.kind != "dict" else [Entry(e.key) for e in value.entries]
        if isinstance(value, ModuleVal) and value.is_container and value.members.entries is not None:
            return _copy_entries_list(value.members.entries)
        if isinstance(value, RangeVal):
            items, count, sample = self.iterate(value)
            if items is not None:
                return [Entry(i) for i in items]
            return [Entry(sample, count)]
        return None

    def iterate(self, value: Any) -> tuple[list[Any] | None, Dim, Any]:
        """(items, count, sample): items when the iteration can be unrolled; otherwise how many
        times the body runs (None: unknown) and a value standing for one item."""
        if isinstance(value, RangeVal):
            n = value.length()
            if isinstance(n, int) and n <= MAX_UNROLL and isinstance(value.start, int):
                return list(range(value.start, value.start + n * value.step, value.step)), n, UNKNOWN
            return None, n, Sym.atom("i")
        entries = None
        if isinstance(value, SeqVal):
            entries = value.entries
            if value.kind == "dict":
                entries = [Entry(e.key, e.count, e.fresh) for e in entries]
        elif isinstance(value, ModuleVal) and value.is_container:
            entries = value.members.entries
        elif isinstance(value, BoundMethod) and value.name.startswith("__iter_"):
            entries = value.receiver
        if entries is None:
            return None, None, UNKNOWN
        if all(e.count == 1 for e in entries) and len(entries) <= MAX_UNROLL * 4:
            return [e.value for e in entries], len(entries), UNKNOWN
        total = SeqVal("list", entries).length()
        sample = entries[0].value if len({id(e.value) for e in entries}) == 1 else UNKNOWN
        return None, total, sample

    # ------------------------------------------------------------------ calls

    def _eval_call(self, node: ast.Call, frame: Frame) -> Any:
        self.tick()
        func = self.eval(node.func, frame)
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                spread = self._spread(self.eval(arg.value, frame))
                if spread is None or any(e.count != 1 for e in spread):
                    args.append(_STARRED)
                    if spread is not None:
                        args.extend(_STARRED_ENTRIES(spread))
                else:
                    args.extend(e.value for e in spread)
            else:
                args.append(self.eval(arg, frame))
        kwargs: dict[str, Any] = {}
        double_star = False
        for kw in node.keywords:
            value = self.eval(kw.value, frame)
            if kw.arg is None:
                if isinstance(value, SeqVal) and value.kind == "dict" and all(e.key for e in value.entries):
                    kwargs.update({e.key: e.value for e in value.entries})
                else:
                    double_star = True
            else:
                kwargs[kw.arg] = value
        if type(func) is _Unknown and isinstance(node.func, ast.Attribute) and self._last_owner[0] is node.func:
            if type(self._last_owner[1]) is _Unknown:
                return UNKNOWN  # `kwargs.pop(...)`: a method of data torchwire does not know
        return self.call(func, args, kwargs, node, frame, double_star)

    def call(self, func: Any, args: list[Any], kwargs: dict[str, Any], node: ast.Call, frame: Frame, double_star: bool = False) -> Any:
        if isinstance(func, ClassRef):
            return self.construct(func, args, kwargs, node, frame, double_star)
        if isinstance(func, FunctionRef):
            return self.call_function(func, args, {**kwargs, _UNKNOWN_KWARGS: True} if double_star else kwargs, frame, node)
        if isinstance(func, BoundMethod):
            return self.call_method(func, args, kwargs, node, frame)
        if isinstance(func, QualName):
            return self.call_qualified(func.name, args, kwargs, node, frame)
        if isinstance(func, _Builtin):
            return func.fn(self, args, kwargs, node, frame)
        if isinstance(func, Partial):
            return self.call(func.func, [*func.args, *args], {**func.kwargs, **kwargs}, node, frame, double_star)
        if isinstance(func, Choice):  # each option called; the results are one of them
            return _one_of([(self.call(f, list(args), dict(kwargs), node, frame, double_star), c) for f, c in zip(func.options, func.conditions) if f is not None])
        return self.opaque(node, "calls something torchwire cannot see")

    def opaque(self, node: ast.AST, why: str) -> Opaque:
        """What a call returns when it is not followed: unknown, and maybe a module."""
        text = self.source.segment(node) if node is not None else ""
        text = " ".join(text.split())
        if len(text) > 48:
            text = text[:45] + "..."
        return Opaque(f"`{text}` {why}" if text else why)

    def _over_helper_budget(self, node: ast.AST | None) -> Opaque:
        return self.opaque(node, f"does more than torchwire follows in a helper ({HELPER_STEPS} steps)")

    def call_function(self, func: FunctionRef, args: list[Any], kwargs: dict[str, Any], frame: Frame, node: ast.AST | None = None) -> Any:
        if frame.depth >= MAX_DEPTH:
            return self.opaque(node, "is nested too deeply to follow")
        if isinstance(func.bound_self, ModuleVal) and tying.is_post_init(func):
            tying.post_init(func.bound_self)  # transformers' weight tying, nothing else registers
            return None
        if func.ctx is not None and func.ctx is not self.ctx:
            helper = func.bound_self is None and func.owner is None
            memo_key = _helper_memo_key(func, args, kwargs, frame.depth) if helper else None
            if memo_key is not None and self.steps + HELPER_STEPS < self.step_limit:
                known = func.ctx.helper_results.get(memo_key)
                if known is not None:  # the same run again: its result, at its cost in steps
                    result, used = known
                    self.steps += used
                    return self._over_helper_budget(node) if result is _OVER_BUDGET else result
            other = self.for_file(func.ctx)
            if helper:
                # A helper of another file (get_down_block, to_2tuple) gets a few statements of its
                # own: one that does more (a package's utilities) is not what builds layers.
                other.step_limit = min(self.step_limit, self.steps + HELPER_STEPS)
            own_budget = other.step_limit != self.step_limit
            started = self.steps
            try:
                result = other.call_function(dataclasses.replace(func, ctx=None), args, kwargs, frame, node)
            except Budget:
                if not own_budget:
                    raise
                result = _OVER_BUDGET
            finally:
                self.steps = other.steps
            if memo_key is not None and own_budget and (result is _OVER_BUDGET or _immutable(result)):
                func.ctx.helper_results[memo_key] = (result, self.steps - started)
            return self._over_helper_budget(node) if result is _OVER_BUDGET else result
        inner = Frame(dict(func.closure or {}), frame.self_module if func.bound_self is None else func.bound_self, frame.cls, frame.multiplier, frame.conditions, frame.depth + 1)
        if func.bound_self is not None:
            args = [func.bound_self, *args]
            if func.owner is not None:
                inner.cls = func.owner  # super() in it starts after the class that defines it
            elif func.bound_self is frame.self_module and frame.cls is not None:
                _, owner = frame.cls.find_method(func.node.name)
                inner.cls = owner or frame.cls
        self._bind(func.node, inner, args, dict(kwargs), method=func.bound_self is not None)
        result = None
        try:
            self.exec_body(func.node.body, inner)
        except _Return as r:
            result = r.value
        except (_Break, _Continue):
            pass
        for value, condition in inner.pending:  # returned early under an undecided condition
            result = self.merge(value, result, condition)
        return result

    def construct(self, cls: ClassRef, args: list[Any], kwargs: dict[str, Any], node: ast.Call, frame: Frame, double_star: bool) -> Any:
        value = self._construct(cls, args, kwargs, node, frame, double_star)
        if self.observe and isinstance(value, ModuleVal) and (self.within is None or self.within[0] <= node.lineno <= self.within[1]):
            self.ctx.instances.setdefault(id(node), value)  # what hover shows for this call
        return value

    def _construct(self, cls: ClassRef, args: list[Any], kwargs: dict[str, Any], node: ast.Call, frame: Frame, double_star: bool) -> Any:
        spec = cls.spec
        if spec is not None:
            if spec.container is not None:
                return self.build_container(spec.container, args, kwargs, node, frame)
            if _STARRED in args or double_star:
                module = spec.instantiate({}, node)
                module.unknown = "the arguments are unpacked from values the analysis cannot see"
                return module
            bound, error = spec.signature.bind(args, kwargs)
            if error is not None:
                self.note("bad-constructor-call", node, cls=cls.display, error=error)
                module = spec.instantiate(bound, node)
                module.unknown = f"{cls.display}() {error}"
                return module
            return spec.instantiate(bound, node)
        if cls.definition is not None:
            definition = cls.definition
            if not definition.is_module:
                return self.make_object(definition, args, kwargs, frame.depth + 1)
            if double_star:
                kwargs = {**kwargs, _UNKNOWN_KWARGS: True}
            return definition.ctx.instantiate(definition, args, kwargs, node, frame.depth + 1, unknown_args=_STARRED in args or double_star)
        if cls.qualified == "torch.nn.Module" and not args and not kwargs:
            return ModuleVal(display="nn.Module", qualified=cls.qualified, node=node, _members=Members())  # a namespace: `down = nn.Module()`
        if cls.qualified.startswith("torch.nn.") and cls.qualified.rsplit(".", 1)[-1][:1].isupper():
            return ModuleVal(display=cls.display, qualified=cls.qualified, node=node,
                             unknown=f"{cls.display} is not in torchwire's layer catalogue")
        if _looks_like_class(cls.qualified):
            return ModuleVal(display=cls.display, qualified=cls.qualified, node=node, maybe=True,
                             unknown=f"{cls.display} is defined outside this file")
        return self.opaque(node, "is not found")

    def build_container(self, kind: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call, frame: Frame) -> ModuleVal:
        entries: list[Entry] = []
        unknown = _STARRED in args
        args = [a for a in args if a is not _STARRED]
        if kind == "Sequential":
            if len(args) == 1 and isinstance(args[0], SeqVal) and args[0].kind == "dict":
                entries = _copy_entries(args[0])  # Sequential(OrderedDict(...))
            else:
                for arg in args:
                    if isinstance(arg, SeqVal) and arg.kind in ("list", "tuple"):
                        self.note("container-misuse", node, container=kind, problem="list", arg=arg)
                        entries.extend(_copy_entries(arg))
                    elif isinstance(arg, _StarredEntries):
                        entries.extend(arg.entries)
                    else:
                        entries.append(Entry(arg))
        else:
            positional = [a for a in args if not isinstance(a, _StarredEntries)]
            if len(positional) > 1:
                self.note("container-misuse", node, container=kind, problem="many", count=len(positional))
            source = positional[0] if positional else kwargs.get(_CONTAINER_ARG[kind])
            if source is None:
                pass
            elif isinstance(source, SeqVal):
                if kind in ("ModuleDict", "ParameterDict"):
                    if source.kind == "dict":
                        entries = _copy_entries(source)
                        if kind == "ParameterDict" and not source.ordered and all(isinstance(e.key, str) for e in entries):
                            entries.sort(key=lambda e: e.key)  # ParameterDict.update sorts a plain dict
                    else:
                        entries = self._pairs(source)
                        if entries is None:
                            self.note("container-misuse", node, container=kind, problem="not-mapping", arg=source)
                            entries, unknown = [], True
                else:
                    entries = _copy_entries(source) if source.kind != "dict" else [Entry(e.key) for e in source.entries]
            elif isinstance(source, ModuleVal):
                if source.is_container and kind in ("ModuleList",) and source.container in ("Sequential", "ModuleList"):
                    entries = _copy_entries_list(source.members.entries or [])
                elif kind in ("ModuleList", "ModuleDict"):
                    self.note("container-misuse", node, container=kind, problem="module", arg=source)
                    entries = [Entry(source)]
                else:
                    unknown = True
            else:
                unknown = True
        container = make_container(kind, entries, node)
        if unknown:
            container.unknown_contents = True
        self._check_shared(container, node)
        return container

    def _pairs(self, seq: SeqVal) -> list[Entry] | None:
        out = []
        for e in seq.entries:
            pair = e.value
            if isinstance(pair, SeqVal) and len(pair.entries) == 2 and isinstance(pair.entries[0].value, str):
                out.append(Entry(pair.entries[1].value, key=pair.entries[0].value))
            else:
                return None
        return out

    def _check_shared(self, container: ModuleVal, node: ast.AST) -> None:
        entries = container.members.entries or []
        seen: dict[int, int] = {}
        for e in entries:
            if isinstance(e.value, ModuleVal):
                copies = e.count if isinstance(e.count, int) else (1 if e.fresh else 2)
                seen[e.value.uid] = seen.get(e.value.uid, 0) + (1 if e.fresh and copies > 1 else copies)
        repeated = [e.value for e in entries if isinstance(e.value, ModuleVal) and seen[e.value.uid] > 1]
        if repeated and not any(m.uid in self.ctx.shared_reported for m in repeated):
            self.note_shared(node, repeated[0], how="container")

    def _extend(self, target: Any, value: Any, frame: Frame, node: ast.AST) -> None:
        spread = self._spread(value)
        entries = _target_entries(target)
        if entries is None:
            return
        if spread is None:
            entries.append(Entry(UNKNOWN, None))
            return
        for e in spread:
            entries.append(Entry(e.value, _times(e.count, frame.multiplier), e.fresh, e.key, frame.condition))

    def call_method(self, method: BoundMethod, args: list[Any], kwargs: dict[str, Any], node: ast.Call, frame: Frame) -> Any:
        receiver, name = method.receiver, method.name
        if isinstance(receiver, _Super):
            return self._call_super(receiver, name, args, kwargs, frame)
        if isinstance(receiver, str):
            return _str_method(receiver, name, args, kwargs)
        entries = _target_entries(receiver)
        if entries is not None and name in ("append", "add"):
            if args:
                entries.append(Entry(args[0], frame.multiplier, True, None, frame.condition))
            return None
        if entries is not None and name == "extend":
            if args:
                self._extend(receiver, args[0], frame, node)
            return None
        if entries is not None and name == "insert" and len(args) == 2:
            index = args[0]
            entry = Entry(args[1], frame.multiplier, True, None, frame.condition)
            if isinstance(index, int) and not isinstance(index, bool):
                entries.insert(index, entry)
            else:
                entries.append(entry)
            return None
        if entries is not None and name == "update" and args:
            if isinstance(args[0], SeqVal):
                entries.extend(_copy_entries(args[0]) if args[0].kind == "dict" else (self._pairs(args[0]) or []))
            return None
        if isinstance(receiver, SeqVal) and receiver.kind == "dict" and name in ("get", "pop", "setdefault", "copy"):
            return _dict_method(receiver, name, args)
        if isinstance(receiver, SeqVal) and receiver.kind == "dict" and name in ("items", "keys", "values"):
            if name == "values":
                return SeqVal("list", [Entry(e.value, e.count, e.fresh) for e in receiver.entries])
            if name == "keys":
                return SeqVal("list", [Entry(e.key, e.count) for e in receiver.entries])
            return SeqVal("list", [Entry(SeqVal("tuple", [Entry(e.key), Entry(e.value)]), e.count, e.fresh) for e in receiver.entries])
        if isinstance(receiver, ModuleVal):
            return self._module_method(receiver, name, args, kwargs, node, frame)
        if isinstance(receiver, ClassRef) and receiver.spec is not None and name == "from_pretrained":
            return _from_pretrained(receiver.spec, args, kwargs, node)
        if type(receiver) is ParamVal and name in ("float", "cpu", "requires_grad_", "cuda", "double", "half", "bfloat16", "to"):
            # A new parameter is float32 on the CPU: these leave it as it is, the others return
            # a copy, a plain tensor that registers nothing (TW207).
            keeps = name in ("float", "cpu", "requires_grad_") or (name == "to" and all(
                a in ("cpu", None) or (isinstance(a, QualName) and a.name in ("torch.float32", "torch.float")) for a in [*args, *kwargs.values()]))
            return receiver if keeps else TensorVal(receiver.dims, False, node)
        if isinstance(receiver, TensorVal):
            if name == "requires_grad_":
                flag = args[0] if args else kwargs.get("requires_grad", True)
                return TensorVal(receiver.dims, truth(flag) is not False, node)
            if name in ("to", "float", "double", "half", "bfloat16", "cuda", "cpu", "clone", "detach", "contiguous", "normal_", "uniform_", "zero_", "fill_"):
                return TensorVal(receiver.dims, receiver.requires_grad if name != "detach" else False, receiver.node)
            return TensorVal(None, receiver.requires_grad, node)
        return UNKNOWN

    def _call_super(self, sup: "_Super", name: str, args: list[Any], kwargs: dict[str, Any], frame: Frame) -> Any:
        if sup.module is None or sup.cls is None:
            return UNKNOWN
        if isinstance(sup.module, ObjectVal):  # a config's super().__post_init__(...) or __init__
            for base in sup.cls.local_bases:
                fn, defined_in = base.find_method(name)
                if fn is not None:
                    return self.call_function(FunctionRef(fn, bound_self=sup.module, ctx=defined_in.ctx, owner=defined_in), args, kwargs, frame)
            return None if name == "__init__" else UNKNOWN
        if name == "__init__":
            self._init_base(sup.cls, sup.module, args, kwargs, frame.depth + 1)
            return None
        for base in sup.cls.local_bases:
            fn, defined_in = base.find_method(name)
            if fn is not None:
                return self.call_function(FunctionRef(fn, bound_self=sup.module, ctx=defined_in.ctx, owner=defined_in), args, kwargs, frame)
        return UNKNOWN

    def _init_base(self, cls: "ModuleClass", module: ModuleVal, args: list[Any], kwargs: dict[str, Any], depth: int) -> None:
        """What `super().__init__(...)` in `cls` reaches: the next base's __init__ (of this file
        or another), or a torch.nn base (nn.Sequential, nn.Linear, ...) registering its own
        members."""
        if depth > MAX_DEPTH:
            return
        if _UNKNOWN_KWARGS in kwargs:
            kwargs = {k: v for k, v in kwargs.items() if k != _UNKNOWN_KWARGS}
            if not any(base.is_module for base in cls.local_bases) and cls.spec_base is not None:
                module.unknown = "the arguments are unpacked from values the analysis cannot see"
                return
        for base in cls.local_bases:
            if base.is_module:
                self.for_file(base.ctx).run_init(base, module, args, kwargs, depth + 1)
                return
        spec = cls.spec_base
        if spec is None:
            return
        if spec.container is not None:
            built = self.build_container(spec.container, args, kwargs, cls.node, Frame({}, depth=depth))
            module.members.entries = built.members.entries
            return
        bound, error = spec.signature.bind([a for a in args if a is not _STARRED], kwargs)
        if error is None and spec.build is not None:
            try:
                built = spec.build(Args(bound)).members()
            except NotStatic as reason:
                module.unknown = str(reason)
                return
            module.members.params.update(built.params)
            module.members.buffers.update(built.buffers)
            module.members.children.update(built.children)

    def _module_method(self, module: ModuleVal, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call, frame: Frame) -> Any:
        if name in ("add_module", "register_module", "register_parameter", "register_buffer", "__setattr__") and args and not isinstance(args[0], str):
            module.members.gaps["?"] = f"`{self.source.segment(node)[:60]}` registers under a name torchwire cannot compute"
            if name in ("add_module", "register_module") and len(args) >= 2 and isinstance(args[1], ModuleVal):
                module.members.unnamed_children.append(args[1])
            return None
        if name in ("add_module", "register_module") and len(args) >= 2:
            self._register_child(module, args[0], args[1], frame)
            return None
        if name == "register_parameter" and len(args) >= 2:
            if isinstance(args[0], str):
                value = args[1]
                if value is None:
                    module.members.params.pop(args[0], None)
                else:
                    param = value if isinstance(value, ParamVal) else ParamVal(_dims_of(value), node)
                    self._put(module.members.params, args[0], Slot(param, frame.condition, frame.multiplier), frame, ())
            return None
        if name == "register_buffer" and args:
            value = args[1] if len(args) > 1 else kwargs.get("tensor")
            if isinstance(args[0], str) and value is not None:
                self._put(module.members.buffers, args[0], Slot(ParamVal(_dims_of(value), node), frame.condition, frame.multiplier), frame, ())
            return None
        if name in ("to", "cuda", "cpu", "float", "double", "half", "train", "eval", "requires_grad_", "apply", "type", "bfloat16"):
            return module
        if name in ("parameters", "named_parameters", "modules", "children", "named_modules", "named_children", "state_dict", "buffers"):
            return UNKNOWN
        return UNKNOWN

    def _register_child(self, module: ModuleVal, key: str, value: Any, frame: Frame) -> None:
        if module.is_container and module.members.entries is not None:
            # add_module names the entry, even in a Sequential or ModuleList (`path.add_module("conv", ...)`)
            module.members.entries.append(Entry(value, frame.multiplier, True, key, frame.condition))
            return
        if isinstance(value, Opaque):
            module.members.gaps[key] = value.reason
        elif isinstance(value, ModuleVal) or value is None:
            self._put(module.members.children, key, Slot(value, frame.condition), frame, ())

    def call_qualified(self, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call, frame: Frame) -> Any:
        if name in TENSOR_FACTORIES:
            return TensorVal(_factory_dims(name, args), truth(kwargs.get("requires_grad", False)), node)
        if name in PARAMETER:
            data = args[0] if args else kwargs.get("data")
            return ParamVal(_dims_of(data) if data is not None else (), node)
        if name in BUFFER:
            data = args[0] if args else kwargs.get("data")
            return BufferVal(_dims_of(data) if data is not None else (), node)
        if name == "copy.deepcopy" and args:
            return _deep_copy(args[0])
        if name == "copy.copy" and args and isinstance(args[0], ObjectVal):
            return dataclasses.replace(args[0], fields=dict(args[0].fields))
        if name == "itertools.repeat" and len(args) == 2 and isinstance(args[1], int) and 0 <= args[1] <= MAX_UNROLL:
            return SeqVal("list", [Entry(args[0]) for _ in range(args[1])], node)
        if name in ("collections.OrderedDict", "typing.OrderedDict"):
            if not args:
                return SeqVal("dict", [], node, ordered=True)
            if isinstance(args[0], SeqVal):
                return SeqVal("dict", _copy_entries(args[0]) if args[0].kind == "dict" else (self._pairs(args[0]) or []), node, ordered=True)
            return UNKNOWN
        if name.endswith(".from_pretrained") and lookup(name.rsplit(".", 1)[0]) is not None:
            return _from_pretrained(lookup(name.rsplit(".", 1)[0]), args, kwargs, node)
        if name == "torch.Size" and len(args) == 1 and isinstance(args[0], SeqVal):
            return SeqVal("tuple", _copy_entries(args[0]), node)
        if name in REPARAMETRIZATIONS:
            return reparametrize(name, args, kwargs)
        if name.startswith("torch.nn.init."):
            return args[0] if args else UNKNOWN
        if name.startswith("math."):
            return _math(name[5:], args)
        if name == "functools.partial" and args:
            return Partial(args[0], tuple(args[1:]), dict(kwargs))
        if name == "functools.reduce" and len(args) in (2, 3) and isinstance(args[0], QualName) and args[0].name in _OPERATORS:
            items, _, _ = self.iterate(args[1])  # timm's `prod = reduce(operator.mul, iterable, 1)`
            if items is None:
                return UNKNOWN
            op = _OPERATORS[args[0].name]
            result = args[2] if len(args) == 3 else (items.pop(0) if items else UNKNOWN)
            for item in items:
                result = self.binop(op, result, item, node)
            return result
        last = name.rsplit(".", 1)[-1]
        if last[:1].isupper() and not name.startswith("torch."):  # `MLP(d)`: called, so a class
            return self.construct(ClassRef(name, last), args, kwargs, node, frame, False)
        if _returns_data(name):
            return UNKNOWN
        return self.opaque(node, f"calls `{name}`, which torchwire cannot read")


def _from_pretrained(spec, args: list[Any], kwargs: dict[str, Any], node: ast.AST) -> ModuleVal:
    """`nn.Embedding.from_pretrained(weights)`: the sizes come from the tensor."""
    weights = args[0] if args else kwargs.get("embeddings")
    dims = _dims_of(weights) if weights is not None else None
    rows, cols = dims if dims is not None and len(dims) == 2 else (None, None)
    bound, _ = spec.signature.bind([rows, cols], {})
    return spec.instantiate(bound, node)


def _times(a: Dim, b: Dim) -> Dim:
    if a is None or b is None:
        return None
    return S.mul(a, b)


_OPERATORS = {"operator.mul": ast.Mult(), "operator.add": ast.Add(), "operator.floordiv": ast.FloorDiv(), "operator.sub": ast.Sub()}


def _same_constant(a: Any, b: Any) -> bool:
    if isinstance(a, Sym) and isinstance(b, Sym):
        return a == b
    plain = (type(None), bool, int, float, str)
    return isinstance(a, plain) and type(a) is type(b) and a == b


def _choosable(value: Any) -> bool:
    return value is None or isinstance(value, (ModuleVal, ClassRef, Partial, FunctionRef, QualName, Choice))


def _one_of(pairs: list[tuple[Any, str]]) -> Any:
    """One value for "one of these, each by its condition": the value itself when they agree,
    a Choice of modules or classes, else an unknown (an Opaque one when any may be a module)."""
    values = [v for v, _ in pairs]
    if all(v is values[0] or _same_constant(v, values[0]) for v in values):
        return values[0]
    if all(_choosable(v) for v in values):
        return Choice(tuple(values), tuple(c for _, c in pairs))
    if any(_may_build(v) for v in values):
        return Opaque(f"depends on `{pairs[0][1][:60]}`, which torchwire cannot decide")
    return UNKNOWN


def _may_build(value: Any) -> bool:
    """Whether a value may be, make or hold a module (what a table must not drop silently)."""
    if isinstance(value, (ModuleVal, ClassRef, FunctionRef, Partial, Opaque, BoundMethod, QualName)):
        return True
    if isinstance(value, Choice):
        return any(_may_build(v) for v in value.options)
    if isinstance(value, SeqVal):
        return any(_may_build(e.value) for e in value.entries)
    return False


def _method_kind(method: ast.FunctionDef) -> str | None:
    """"staticmethod" or "classmethod" when so decorated (how the method binds)."""
    for d in method.decorator_list:
        if isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod"):
            return d.id
    return None


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _fields_of(fn: ast.FunctionDef) -> set[str]:
    a = fn.args
    return {p.arg for p in a.posonlyargs + a.args[1:] + a.kwonlyargs}


def _property(owner: "ObjectVal", attr: str, part: str) -> tuple[ast.FunctionDef, "ModuleClass"] | None:
    """The getter (`@property def num_labels`) or setter (`@num_labels.setter`) of an
    attribute of a plain object's class, the first along its bases."""
    if owner.cls is None:
        return None
    for c in hierarchy(owner.cls):
        found = c.accessors.get((attr, part))
        if found is not None:
            return found, c
    return None


def _dict_method(d: SeqVal, name: str, args: list[Any]) -> Any:
    """`kwargs.pop("depthwise", False)`, `kwargs.setdefault("bias", False)`, `.get`, `.copy`:
    decided when every key of the dict is known."""
    if name == "copy":
        return SeqVal("dict", _copy_entries(d), d.node, ordered=d.ordered)
    if not args or len(args) > 2:
        return UNKNOWN
    key, default = args[0], args[1] if len(args) == 2 else None
    if not isinstance(key, (str, int)) or not all(isinstance(e.key, (str, int)) and e.count == 1 for e in d.entries):
        return UNKNOWN
    for i, e in enumerate(d.entries):
        if e.key == key:
            if name == "pop":
                del d.entries[i]
            return e.value
    if name == "setdefault":
        d.entries.append(Entry(default, key=key))
    if name == "pop" and len(args) == 1:
        return UNKNOWN  # a KeyError at run time
    return default


def _target_entries(target: Any) -> list[Entry] | None:
    if isinstance(target, SeqVal) and target.kind in ("list", "dict"):
        return target.entries
    if isinstance(target, ModuleVal) and target.is_container:
        return target.members.entries
    return None


def _copy_entries(seq: SeqVal) -> list[Entry]:
    return _copy_entries_list(seq.entries)


def _copy_entries_list(entries: list[Entry]) -> list[Entry]:
    return [Entry(e.value, e.count, e.fresh, e.key, e.condition) for e in entries]


def _deep_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """`copy.deepcopy`: modules with fresh members (their parameters are new tensors), configs
    with their own fields (`encoder_config.is_decoder = False` must not reach the decoder's)."""
    memo = {} if memo is None else memo
    if isinstance(value, ObjectVal):
        if id(value) not in memo:
            memo[id(value)] = copy = dataclasses.replace(value, fields={})
            copy.fields.update({k: _deep_copy(v, memo) for k, v in value.fields.items()})
        return memo[id(value)]
    return clone_value(value, memo)


class _StarredEntries:
    def __init__(self, entries: list[Entry]):
        self.entries = entries


def _STARRED_ENTRIES(entries: list[Entry]) -> list[Any]:
    return [_StarredEntries(entries)]


_STARRED: Any = object()  # a `*args` argument whose items are not known one by one
_CONTAINER_ARG = {"ModuleList": "modules", "ModuleDict": "modules", "ParameterList": "values", "ParameterDict": "parameters"}

_PY_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b if abs(b) < 64 else UNKNOWN,
    ast.LShift: lambda a, b: a << b if b < 64 else UNKNOWN,
    ast.RShift: lambda a, b: a >> b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b,
}


def _unbool(v: Any) -> Any:
    return int(v) if isinstance(v, bool) else v


def same_class(a: ClassRef, b: ClassRef) -> bool | None:
    """Whether two class values are one class (`norm_layer is nn.BatchNorm2d`), where known."""
    if a.qualified == b.qualified:
        return True
    if a.definition is not None and b.definition is not None:
        return a.definition is b.definition
    if a.spec is not None and b.spec is not None:
        return a.spec is b.spec
    if a.qualified.rsplit(".", 1)[-1] != b.qualified.rsplit(".", 1)[-1]:
        return False
    return None


def _compare(op: ast.cmpop, a: Any, b: Any) -> bool | None:
    if isinstance(a, ClassRef) and isinstance(b, ClassRef) and isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)):
        same = same_class(a, b)
        return None if same is None else same == isinstance(op, (ast.Is, ast.Eq))
    if isinstance(op, (ast.In, ast.NotIn)) and isinstance(a, ClassRef) and isinstance(b, SeqVal) and b.kind != "dict":
        if all(e.count == 1 for e in b.entries):  # `norm_layer in _NORM_ACT_TYPES`
            found = [same_class(a, e.value) if isinstance(e.value, ClassRef) else False for e in b.entries]
            if True in found:
                return isinstance(op, ast.In)
            if None not in found:
                return isinstance(op, ast.NotIn)
        return None
    if isinstance(op, (ast.Is, ast.IsNot)):
        if is_unknown(a) or is_unknown(b) or isinstance(a, Sym) or isinstance(b, Sym):
            return None
        if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
            same = a is b  # `1 is True` is False
        else:
            same = a == b if isinstance(a, (int, str)) else a is b
        return same if isinstance(op, ast.Is) else not same
    if isinstance(op, (ast.In, ast.NotIn)):
        if isinstance(b, SeqVal) and all(e.count == 1 for e in b.entries) and (a is None or isinstance(a, (int, float, str))):
            keys = [e.key if b.kind == "dict" else e.value for e in b.entries]
            if all(k is None or isinstance(k, (int, float, str)) for k in keys):
                return (a in keys) if isinstance(op, ast.In) else (a not in keys)
        if isinstance(b, str) and isinstance(a, str):
            return (a in b) if isinstance(op, ast.In) else (a not in b)
        if isinstance(b, SeqVal) and b.kind == "dict" and isinstance(a, (ClassRef, FunctionRef, Partial, ModuleVal)):
            if all(isinstance(e.key, (int, str)) for e in b.entries):  # a class is never a name
                return isinstance(op, ast.NotIn)
        return None
    if isinstance(a, Sym) or isinstance(b, Sym):
        if isinstance(op, (ast.Eq, ast.NotEq)) and a == b:
            return isinstance(op, ast.Eq)
        return None
    if not isinstance(a, (int, float, str, type(None))) or not isinstance(b, (int, float, str, type(None))):
        return None
    try:
        return {
            ast.Eq: lambda: a == b, ast.NotEq: lambda: a != b, ast.Lt: lambda: a < b,
            ast.LtE: lambda: a <= b, ast.Gt: lambda: a > b, ast.GtE: lambda: a >= b,
        }[type(op)]()
    except Exception:
        return None


def _rooted_in(node: ast.expr, env: dict[str, Any]) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in env


def _looks_like_class(qualified: str) -> bool:
    return qualified.rsplit(".", 1)[-1][:1].isupper()


_DATA_ROOTS = frozenset(getattr(sys, "stdlib_module_names", ())) | {"numpy", "einops", "torch"}


def _returns_data(qualified: str) -> bool:
    """A function of the standard library, numpy or torch (but not torch.nn.utils, whose
    weight_norm returns the module it rewrites): it returns data, never a new module."""
    return qualified.split(".", 1)[0] in _DATA_ROOTS and not qualified.startswith("torch.nn.utils.")


def _dims_of(value: Any) -> tuple[Dim, ...] | None:
    if isinstance(value, (TensorVal, ParamVal)):
        return value.dims
    return None


def _as_param(value: Any) -> ParamVal:
    return ParamVal(_dims_of(value))


def _tensor_binop(left: Any, right: Any, node: ast.AST) -> Any:
    """`ls_init_value * torch.ones(dim)`: a tensor with a scalar keeps its shape; two tensors
    of one shape (or one a scalar tensor) keep it too."""
    shapes = [_dims_of(v) if isinstance(v, (TensorVal, ParamVal)) else () if is_size(v) or isinstance(v, float) else None for v in (left, right)]
    grad = any(isinstance(v, TensorVal) and v.requires_grad for v in (left, right))
    if any(s is None for s in shapes):
        return TensorVal(None, grad, node)
    a, b = shapes
    dims = a if a == b or not b else b if not a else None
    return TensorVal(dims, grad, node)


def _literal_dims(value: Any) -> tuple[Dim, ...] | None:
    """`torch.tensor(3.0)` is a scalar, `torch.tensor([1.0, 2.0])` has shape [2]."""
    if isinstance(value, (bool, int, float)):
        return ()
    if isinstance(value, SeqVal) and value.kind in ("list", "tuple") and all(e.count == 1 for e in value.entries):
        inner = {_literal_dims(e.value) for e in value.entries}
        if len(inner) > 1 or None in inner:
            return None
        return (len(value.entries), *(inner.pop() if inner else ()))
    return None


def _factory_dims(name: str, args: list[Any]) -> tuple[Dim, ...] | None:
    if name.endswith("_like"):
        return _dims_of(args[0]) if args else None
    if name == "torch.tensor" or (name in ("torch.Tensor", "torch.FloatTensor") and len(args) == 1 and isinstance(args[0], SeqVal)):
        return _literal_dims(args[0]) if args else None  # data, not sizes: torch.Tensor([alpha]) has one element
    if name in ("torch.arange", "torch.linspace", "torch.randint"):
        return None
    if name == "torch.full":
        args = args[:1]
    if len(args) == 1 and isinstance(args[0], SeqVal):
        args = [e.value for e in args[0].entries] if all(e.count == 1 for e in args[0].entries) else [None]
    if name == "torch.eye" and args:
        args = [args[0], args[1] if len(args) > 1 else args[0]]
    if any(a is _STARRED for a in args):
        return None
    return tuple(a if is_size(a) else None for a in args)


def _math(fn: str, args: list[Any]) -> Any:
    import math

    if fn == "prod" and len(args) == 1 and isinstance(args[0], SeqVal) and all(e.count == 1 for e in args[0].entries):
        factors = [e.value for e in args[0].entries]
        return product(factors) if all(is_size(f) for f in factors) else UNKNOWN

    if not args or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        return UNKNOWN
    try:
        if fn in ("sqrt", "ceil", "floor", "log", "log2", "exp", "prod", "gcd", "isqrt"):
            return getattr(math, fn)(*args)
    except Exception:
        return UNKNOWN
    return UNKNOWN


class _Builtin:
    def __init__(self, fn: Callable[..., Any], python_type: type | None = None):
        self.fn = fn
        self.python_type = python_type  # `str`, `int`, ...: what isinstance() compares with


def _builtin_range(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if not args or len(args) > 3:
        return UNKNOWN
    bounds = [a if is_size(a) else None for a in args]
    if len(bounds) == 1:
        return RangeVal(0, bounds[0])
    step = bounds[2] if len(bounds) == 3 else 1
    if not isinstance(step, int) or step == 0:
        return RangeVal(None, None)
    return RangeVal(bounds[0], bounds[1], step)


def _builtin_len(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if len(args) != 1:
        return UNKNOWN
    value = args[0]
    if isinstance(value, SeqVal):
        n = value.length()
        return UNKNOWN if n is None else n
    if isinstance(value, ModuleVal) and value.is_container and value.members.entries is not None:
        n = SeqVal("list", value.members.entries).length()
        return UNKNOWN if n is None else n
    if isinstance(value, RangeVal):
        n = value.length()
        return UNKNOWN if n is None else n
    if isinstance(value, str):
        return len(value)
    return UNKNOWN


def _builtin_int(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if len(args) != 1:
        return UNKNOWN
    v = args[0]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, bool):
        return int(v)
    return v if isinstance(v, Sym) else UNKNOWN


def _builtin_str(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if len(args) == 1 and isinstance(args[0], (int, str, float)) and not isinstance(args[0], bool):
        return str(args[0])
    return UNKNOWN


def _builtin_float(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if len(args) == 1 and isinstance(args[0], (int, float)):
        return float(args[0])
    return UNKNOWN


_OVER_BUDGET = object()  # a helper call that ran out of its own steps (the caller says where)
_CONSTANTS = (bool, int, float, str, type(None))


def _helper_memo_key(func: FunctionRef, args: list[Any], kwargs: dict[str, Any], depth: int) -> tuple | None:
    """The key under which a call of a helper of another file can be remembered: a function
    without a closure, given only constants (or nothing). Its run then depends on nothing
    else: the interpreter keeps no module state that a call could change."""
    if func.closure or not all(_is_constant(a) for a in args) or not all(_is_constant(v) for v in kwargs.values()):
        return None
    typed = tuple((type(a), a) for a in args)  # f(1) and f(True) are different calls
    return (id(func.node), depth, typed, tuple(sorted((k, type(v), v) for k, v in kwargs.items())))


def _is_constant(value: Any) -> bool:
    return value is UNKNOWN or type(value) in _CONSTANTS


def _immutable(value: Any) -> bool:
    return _is_constant(value) or type(value) is Opaque


def _builtin_minmax(pick: Callable[..., Any]):
    def fn(interp: Interpreter, args, kwargs, node, frame) -> Any:
        values = args
        if len(args) == 1 and isinstance(args[0], SeqVal):
            values = [e.value for e in args[0].entries]
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return pick(values)
        if len(values) > 1 and all(v == values[0] for v in values) and isinstance(values[0], Sym):
            return values[0]
        return UNKNOWN

    return fn


def _builtin_sequence(kind: str):
    def fn(interp: Interpreter, args, kwargs, node, frame) -> Any:
        if kind == "dict" and kwargs and not args:  # dict(wte=..., wpe=...)
            return SeqVal("dict", [Entry(value, key=key) for key, value in kwargs.items()], node)
        if not args:
            return SeqVal(kind, [], node)
        spread = interp._spread(args[0])
        if kind == "dict":
            if isinstance(args[0], SeqVal):
                pairs = _copy_entries(args[0]) if args[0].kind == "dict" else interp._pairs(args[0])
                return SeqVal("dict", pairs, node) if pairs is not None else UNKNOWN
            return UNKNOWN
        return SeqVal(kind, spread if spread is not None else [Entry(UNKNOWN, None)], node)

    return fn


def _builtin_zip(interp: Interpreter, args, kwargs, node, frame) -> Any:
    columns = []
    for a in args:
        items, count, sample = interp.iterate(a)
        if items is None:
            return UNKNOWN
        columns.append(items)
    return SeqVal("list", [Entry(SeqVal("tuple", [Entry(v) for v in row])) for row in zip(*columns)])


def _builtin_enumerate(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if not args:
        return UNKNOWN
    start = args[1] if len(args) > 1 and isinstance(args[1], int) else 0
    items, count, sample = interp.iterate(args[0])
    if items is None:
        return SeqVal("list", [Entry(SeqVal("tuple", [Entry(Sym.atom("i")), Entry(sample)]), count, False)])
    return SeqVal("list", [Entry(SeqVal("tuple", [Entry(start + i), Entry(v)])) for i, v in enumerate(items)])


def _builtin_reversed(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if args and isinstance(args[0], (SeqVal,)):
        return SeqVal("list", list(reversed(_copy_entries(args[0]))))
    if args and isinstance(args[0], RangeVal):
        items, _, _ = interp.iterate(args[0])
        if items is not None:
            return SeqVal("list", [Entry(i) for i in reversed(items)])
    return UNKNOWN


# Methods of str that are pure functions of constants (block names chosen by string: diffusers'
# `get_down_block("CrossAttnDownBlock2D")`, `block_type[7:] if block_type.startswith("UNetRes")`).
STR_METHODS = {
    "startswith", "endswith", "lower", "upper", "strip", "lstrip", "rstrip", "replace", "split", "rsplit",
    "removeprefix", "removesuffix", "format", "join", "count", "find", "isdigit", "title", "casefold",
}


def _str_method(receiver: str, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    def constant(x: Any) -> bool:
        return isinstance(x, (str, int, float, bool)) or (isinstance(x, SeqVal) and all(isinstance(e.value, str) and e.count == 1 for e in x.entries))

    if name not in STR_METHODS or not all(constant(a) for a in [*args, *kwargs.values()]):
        return UNKNOWN
    plain = [tuple(e.value for e in a.entries) if isinstance(a, SeqVal) else a for a in args]
    try:
        result = getattr(receiver, name)(*plain, **kwargs)
    except (TypeError, ValueError, IndexError, KeyError):
        return UNKNOWN
    if isinstance(result, list):
        return SeqVal("list", [Entry(part) for part in result])
    return result


ITERABLE_ABCS = {f"{m}.{n}" for m in ("collections.abc", "typing") for n in ("Iterable", "Sequence", "Collection")}
FUNCTION_TYPES = {"types.FunctionType", "types.LambdaType", "types.MethodType"}
NUMBER_ABCS = {"numbers.Integral": (bool, int), "numbers.Real": (bool, int, float), "numbers.Number": (bool, int, float)}
_KNOWN_KINDS = (ClassRef, FunctionRef, Partial, ModuleVal, ObjectVal, ParamVal, TensorVal, SeqVal, bool, int, float, str)


def _is_instance(value: Any, spec: Any) -> bool | None:
    """isinstance(value, spec) for one class `spec`, when the value's kind is known."""
    if not (value is None or isinstance(value, _KNOWN_KINDS)):
        return None
    name = spec.name if isinstance(spec, QualName) else spec.qualified if isinstance(spec, ClassRef) else None
    if name in ITERABLE_ABCS:  # torch's and timm's _ntuple
        return isinstance(value, (str, SeqVal)) or (False if value is None or isinstance(value, (bool, int, float)) else None)
    if name == "functools.partial":  # timm's get_norm_layer unbinds a partial
        return isinstance(value, Partial)
    if name in FUNCTION_TYPES:
        return isinstance(value, FunctionRef)
    if name in NUMBER_ABCS:  # diffusers' RMSNorm: `isinstance(dim, numbers.Integral)`
        return isinstance(value, NUMBER_ABCS[name]) and not isinstance(value, SeqVal)
    python_type = spec.python_type if isinstance(spec, _Builtin) else None
    if python_type is None:
        return None
    if python_type is type:
        return isinstance(value, ClassRef)
    if isinstance(value, SeqVal):
        return {"list": list, "tuple": tuple, "dict": dict}[value.kind] is python_type
    if value is None or isinstance(value, (bool, int, float, str)):
        return isinstance(value, python_type)
    return False


def _builtin_isinstance(interp: Interpreter, args, kwargs, node, frame) -> Any:
    """Decided when the types are builtins (or functools.partial, a function type, an iterable
    ABC) and the value's kind is known: a layer class passed where a name could be
    (`isinstance(attn_layer, str)` with `attn_layer=Attention`) is no str."""
    if len(args) != 2:
        return UNKNOWN
    specs = [e.value for e in args[1].entries] if isinstance(args[1], SeqVal) and args[1].kind == "tuple" else [args[1]]
    outcomes = [_is_instance(args[0], spec) for spec in specs]
    if any(o is True for o in outcomes):
        return True
    return False if all(o is False for o in outcomes) else UNKNOWN


def _builtin_any_all(wanted: bool):
    def fn(interp: Interpreter, args, kwargs, node, frame) -> Any:
        items, _, _ = interp.iterate(args[0]) if len(args) == 1 else (None, None, None)
        if items is None:
            return UNKNOWN
        truths = [truth(item) for item in items]
        if wanted in truths:  # any: one true; all: one false
            return wanted
        return (not wanted) if None not in truths else UNKNOWN

    return fn


def _builtin_hasattr(interp: Interpreter, args, kwargs, node, frame) -> Any:
    """Decided for a config (its fields, properties and methods, when all its bases were read)
    and for torch names torchwire knows (`hasattr(nn.utils.parametrizations, "weight_norm")`)."""
    if len(args) != 2 or not isinstance(args[1], str):
        return UNKNOWN
    owner, attr = args
    if isinstance(owner, ObjectVal):
        if mapped_attribute(owner, attr) in owner.fields or _property(owner, attr, "getter") is not None:
            return True
        if owner.cls is None:
            return UNKNOWN
        if owner.cls.find_method(attr)[0] is not None:
            return True
        return False if _all_bases_read(hierarchy(owner.cls)) else UNKNOWN
    if isinstance(owner, QualName) and owner.name.startswith("torch."):
        name = f"{owner.name}.{attr}"
        return True if name in REPARAMETRIZATIONS or lookup(name) is not None or name in TENSOR_FACTORIES else UNKNOWN
    if isinstance(owner, ModuleVal) and not owner.unknown:
        members = owner.members
        if any(attr in table for table in (members.children, members.params, members.buffers, members.attributes)):
            return True
    return UNKNOWN


def _builtin_bool(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if not args:
        return False
    known = truth(args[0]) if len(args) == 1 else None
    return UNKNOWN if known is None else known


def _builtin_callable(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if len(args) != 1:
        return UNKNOWN
    value = args[0]
    if isinstance(value, (ClassRef, FunctionRef, Partial, ModuleVal, _Builtin)):
        return True
    return False if value is None or isinstance(value, (bool, int, float, str, SeqVal)) else UNKNOWN


def _builtin_issubclass(interp: Interpreter, args, kwargs, node, frame) -> Any:
    """`issubclass(attn_layer, DiffAttention)`, when both classes' code is known."""
    from .configs import hierarchy

    if len(args) != 2 or not all(isinstance(a, ClassRef) for a in args):
        return UNKNOWN
    cls, base = args
    if cls.qualified == base.qualified or (cls.definition is not None and cls.definition is base.definition):
        return True
    if cls.definition is None or base.definition is None:
        return UNKNOWN
    classes = hierarchy(cls.definition)
    if any(c is base.definition for c in classes):
        return True
    return False if _all_bases_read(classes) else UNKNOWN


def _all_bases_read(classes: list) -> bool:
    """Whether every base of every class along the way was read (what makes a "no" certain)."""
    return all(len(c.local_bases) + (c.spec_base is not None) >= len(c.node.bases) for c in classes)


def _builtin_getattr(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if len(args) == 3 and isinstance(args[0], ObjectVal) and isinstance(args[1], str):
        if mapped_attribute(args[0], args[1]) not in args[0].fields:
            return args[2]  # `getattr(config, "head_dim", d // h)` on a config without it
    if len(args) >= 2 and isinstance(args[1], str):
        value = interp.get_attribute(args[0], args[1])
        if is_unknown(value) and len(args) == 3:
            return args[2] if not isinstance(args[0], Sym) else UNKNOWN
        return value
    return UNKNOWN


def _builtin_setattr(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if len(args) == 3 and isinstance(args[0], ModuleVal):
        if isinstance(args[1], str):
            interp.set_member(args[0], args[1], args[2], frame, None)
        elif isinstance(args[2], (ModuleVal, ParamVal)) or is_unknown(args[2]):
            args[0].members.gaps["?"] = f"`{interp.source.segment(node)[:60]}` sets a name torchwire cannot compute"
    return None


def _builtin_super(interp: Interpreter, args, kwargs, node, frame) -> Any:
    return _Super(frame.self_module, frame.cls)


@dataclass(eq=False)
class _Super:
    module: ModuleVal | None
    cls: "ModuleClass | None"


def _builtin_unknown(interp: Interpreter, args, kwargs, node, frame) -> Any:
    return UNKNOWN


def _builtin_sum(interp: Interpreter, args, kwargs, node, frame) -> Any:
    if args and isinstance(args[0], SeqVal) and all(e.count == 1 for e in args[0].entries):
        total: Any = 0
        for e in args[0].entries:
            if not is_size(e.value):
                return UNKNOWN
            total = S.add(total, e.value)
        return total
    return UNKNOWN


BUILTINS: dict[str, _Builtin] = {
    "range": _Builtin(_builtin_range),
    "len": _Builtin(_builtin_len),
    "int": _Builtin(_builtin_int),
    "float": _Builtin(_builtin_float),
    "str": _Builtin(_builtin_str),
    "max": _Builtin(_builtin_minmax(max)),
    "min": _Builtin(_builtin_minmax(min)),
    "list": _Builtin(_builtin_sequence("list")),
    "tuple": _Builtin(_builtin_sequence("tuple")),
    "dict": _Builtin(_builtin_sequence("dict")),
    "zip": _Builtin(_builtin_zip),
    "enumerate": _Builtin(_builtin_enumerate),
    "reversed": _Builtin(_builtin_reversed),
    "getattr": _Builtin(_builtin_getattr),
    "setattr": _Builtin(_builtin_setattr),
    "super": _Builtin(_builtin_super),
    "sum": _Builtin(_builtin_sum),
    "isinstance": _Builtin(_builtin_isinstance),
    "issubclass": _Builtin(_builtin_issubclass),
    "bool": _Builtin(_builtin_bool, bool),
    "set": _Builtin(_builtin_unknown, set),
    "type": _Builtin(_builtin_unknown, type),
    "callable": _Builtin(_builtin_callable),
    "hasattr": _Builtin(_builtin_hasattr),
    "any": _Builtin(_builtin_any_all(True)),
    "all": _Builtin(_builtin_any_all(False)),
}
# The other builtins (abs, round, print, ...) compute data: never a module.
DATA_FUNCTION = _Builtin(_builtin_unknown)
for _name in dir(builtins):
    if not _name.startswith("_") and _name[:1].islower() and _name not in BUILTINS:
        BUILTINS[_name] = DATA_FUNCTION
for _name, _type in (("int", int), ("float", float), ("str", str), ("list", list), ("tuple", tuple), ("dict", dict)):
    BUILTINS[_name].python_type = _type


_STATEMENTS: dict[type, Callable[[Interpreter, Any, Frame], None]] = {
    ast.Assign: Interpreter._exec_assign,
    ast.AnnAssign: Interpreter._exec_ann_assign,
    ast.AugAssign: Interpreter._exec_aug_assign,
    ast.Expr: Interpreter._exec_expr,
    ast.If: Interpreter._exec_if,
    ast.For: Interpreter._exec_for,
    ast.AsyncFor: Interpreter._exec_for,
    ast.While: Interpreter._exec_while,
    ast.With: Interpreter._exec_with,
    ast.AsyncWith: Interpreter._exec_with,
    ast.Try: Interpreter._exec_try,
    ast.Return: Interpreter._exec_return,
    ast.Break: Interpreter._exec_break,
    ast.Continue: Interpreter._exec_continue,
    ast.FunctionDef: Interpreter._exec_def,
    ast.AsyncFunctionDef: Interpreter._exec_def,
    ast.Import: Interpreter._exec_import,
    ast.ImportFrom: Interpreter._exec_import,
    ast.Delete: Interpreter._exec_delete,
}
if hasattr(ast, "TryStar"):
    _STATEMENTS[ast.TryStar] = Interpreter._exec_try  # type: ignore[attr-defined]

_EXPRESSIONS: dict[type, Callable[[Interpreter, Any, Frame], Any]] = {
    ast.Constant: Interpreter._eval_constant,
    ast.Name: Interpreter._eval_name,
    ast.Attribute: Interpreter._eval_attribute,
    ast.Subscript: Interpreter._eval_subscript,
    ast.BinOp: Interpreter._eval_binop,
    ast.UnaryOp: Interpreter._eval_unaryop,
    ast.BoolOp: Interpreter._eval_boolop,
    ast.Compare: Interpreter._eval_compare,
    ast.IfExp: Interpreter._eval_ifexp,
    ast.List: Interpreter._eval_sequence,
    ast.Tuple: Interpreter._eval_sequence,
    ast.Set: Interpreter._eval_sequence,
    ast.Dict: Interpreter._eval_dict,
    ast.ListComp: Interpreter._eval_comprehension,
    ast.GeneratorExp: Interpreter._eval_comprehension,
    ast.SetComp: Interpreter._eval_comprehension,
    ast.DictComp: Interpreter._eval_comprehension,
    ast.JoinedStr: Interpreter._eval_joined_str,
    ast.NamedExpr: Interpreter._eval_named_expr,
    ast.Starred: Interpreter._eval_starred,
    ast.Lambda: Interpreter._eval_lambda,
    ast.Call: Interpreter._eval_call,
}
