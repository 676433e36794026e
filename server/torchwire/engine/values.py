"""The values the static interpreter computes with.

Plain Python constants (int, float, bool, str, None) stand for themselves; `Sym` (see
symbolic.py) for sizes known only as expressions, and also for opaque named objects such as a
`config` parameter, whose attributes become atoms like `config.hidden_size`. Everything the
interpreter cannot follow is `UNKNOWN`; what a call it did not follow returned is an `Opaque`
unknown, which says why: it may be a module, so a table that registers one is partial.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Union

from .cached import cached_property
from .symbolic import Dim, Sym, is_size

if TYPE_CHECKING:
    from ..catalogue.spec import LayerSpec
    from .modules import ModuleClass


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; use truth()")


UNKNOWN: Any = _Unknown()


class Opaque(_Unknown):
    """The result of a call the interpreter did not follow (an unresolved helper, a class
    passed in as an argument, a budget cut): unknown, and maybe a module."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Opaque({self.reason!r})"


@dataclass(eq=False)
class Partial:
    """`functools.partial(nn.LayerNorm, eps=1e-6)`: a callable with arguments bound."""

    func: Any
    args: tuple
    kwargs: dict[str, Any]


@dataclass(eq=False)
class Choice:
    """One of several values, by conditions the analysis could not decide
    (`nn.LayerNorm(d) if affine else nn.Identity()`): each option with its condition."""

    options: tuple
    conditions: tuple[str, ...]


def is_unknown(value: Any) -> bool:
    return isinstance(value, _Unknown)


class _UidCounter:
    """Module identities, in creation order (a comprehension tells modules it built from
    modules that existed before it by comparing with `peek()`)."""

    def __init__(self) -> None:
        self._next = 1

    def __call__(self) -> int:
        n = self._next
        self._next += 1
        return n

    def peek(self) -> int:
        return self._next


new_uid = _UidCounter()


@dataclass(eq=False, slots=True)
class Entry:
    """One element of a sequence or container: a value, repeated `count` times.

    `count` is 1 for ordinary elements. A comprehension over `range(n)` with a symbolic `n`
    makes one entry with `count=n`; `fresh` says whether each repetition builds a new object
    (`[Block() for _ in range(n)]`) or repeats the same one (`[block] * n`).
    """

    value: Any
    count: Dim = 1
    fresh: bool = True
    key: str | None = None  # ModuleDict / OrderedDict / dict keys
    condition: str | None = None


@dataclass(eq=False, slots=True)
class SeqVal:
    """A Python list, tuple or dict literal (or comprehension) as built in the code."""

    kind: str  # "list" | "tuple" | "dict"
    entries: list[Entry]
    node: ast.AST | None = None
    ordered: bool = False  # an OrderedDict: containers keep its order even where they sort a dict

    def module_entries(self) -> list[Entry]:
        return [e for e in self.entries if isinstance(e.value, ModuleVal)]

    def length(self) -> Dim:
        total: Dim = 0
        for e in self.entries:
            if e.count is None or total is None:
                return None
            from .symbolic import add

            total = add(total, e.count)
        return total


@dataclass(eq=False)
class ClassRef:
    """A class used as a value: `nn.Linear`, a class whose code the analysis reads (of this
    file, or of another resolved through the imports), or an unresolved import."""

    qualified: str
    display: str
    spec: "LayerSpec | None" = None
    definition: "ModuleClass | None" = None

    @property
    def is_module(self) -> bool:
        if self.spec is not None:
            return True
        return self.definition is not None and self.definition.is_module


@dataclass(eq=False)
class ObjectVal:
    """An instance of a plain class, such as a config: its attributes as far as known. An
    attribute it lacks reads as a symbol named after what holds it (`config.n_embd`)."""

    cls_name: str
    fields: dict[str, Any]
    label: str | None = None
    cls: "ModuleClass | None" = None  # its class, for its methods


@dataclass(eq=False)
class FunctionRef:
    """A function (or a method of `self`), interpreted when called in __init__; `ctx` is the
    file it is written in, whose names its body uses (None: the file being interpreted)."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    bound_self: Any = None
    ctx: Any = None
    owner: Any = None  # the class that defines it (a method), for super() inside it
    closure: dict[str, Any] | None = None  # a nested function: the names of the function it was defined in

    def __post_init__(self) -> None:
        mark_reached(self.node)


def mark_reached(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    """Marks a function the interpreter ran or held: what it built may depend on the function's
    body. An edit inside a method never reached keeps what was built (see incremental.py)."""
    fn.torchwire_reached = True


def was_reached(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return getattr(fn, "torchwire_reached", False)


@dataclass(eq=False, slots=True)
class ParamVal:
    """An `nn.Parameter` (or a tensor) with a shape, as far as known."""

    dims: tuple[Dim, ...] | None
    node: ast.AST | None = None
    requires_grad: bool | None = None



@dataclass(eq=False, slots=True)
class BufferVal(ParamVal):
    """`nn.Buffer(t)`: a tensor that becomes a buffer when stored on a module."""

@dataclass(slots=True)
class Slot:
    """A named member of a module (parameter, buffer or child), maybe under a condition.

    When the code assigns a name under a condition the analysis cannot decide, the value it
    replaced is kept in `alternatives`: either may be the one registered at run time.
    """

    value: Any
    condition: str | None = None
    repeat: Dim = 1  # `add_module(f"layer{i}", ...)` in a loop of unknown length
    node: ast.AST | None = None  # the value expression of the assignment, for plain attributes
    target: ast.AST | None = None  # where it was assigned: `self.proj` in `self.proj = nn.Linear(...)`
    alternatives: list["Slot"] = field(default_factory=list)


@dataclass(eq=False)
class ModuleVal:
    """One module instance. Identity matters: the same instance registered twice is one."""

    display: str  # "nn.Linear", "Block"
    qualified: str
    node: ast.AST | None = None
    spec: "LayerSpec | None" = None
    cls: "ModuleClass | None" = None
    args: dict[str, Any] = field(default_factory=dict)
    unknown: str | None = None  # why the contents are not known
    uid: int = field(default_factory=new_uid)
    maybe: bool = False  # built from a class defined elsewhere: maybe not a module at all
    unknown_contents: bool = False  # a container filled from values the analysis cannot see
    # Contents, filled by the catalogue or by interpreting a class's __init__; the latter lazily.
    _members: "Members | None" = None
    _expand: "Callable[[ModuleVal], Members] | None" = None
    # Its arguments may hold modules built elsewhere, which it may then hold (False: whatever
    # it holds is built when it is, see may_hold_modules).
    fed_modules: bool = True

    @property
    def members(self) -> "Members":
        if self._members is None:
            self._members = self._expand(self) if self._expand else Members()
        return self._members

    @property
    def is_container(self) -> bool:
        return self.spec is not None and self.spec.container is not None

    @property
    def container(self) -> str | None:
        return self.spec.container if self.spec is not None else None

    def inplace(self) -> bool:
        return self.spec is not None and self.spec.acts_in_place(self.args)

    def construction_text(self, limit: int = 60) -> str:
        """`nn.Linear(20, 30)`: how the code built it, if short; else its class."""
        if isinstance(self.node, ast.Call) and self.cls is None:
            text = self._call_text
            if len(text) <= limit:
                return text
        return self.display

    @cached_property
    def _call_text(self) -> str:  # read at each call of the module in forward(), to name its output
        return ast.unparse(self.node)

    def has_parameters(self) -> bool | None:
        """Whether the module registers parameters (None: cannot tell)."""
        return self._holds("params")

    def has_buffers(self) -> bool | None:
        """Whether the module registers buffers (a loss's `weight=`, running statistics)."""
        return self._holds("buffers")

    def _holds(self, table: str) -> bool | None:
        if self.unknown:
            return None
        members = self.members
        if getattr(members, table):
            return True
        result: bool | None = False
        for child in members.child_modules():
            sub = child._holds(table)
            if sub:
                return True
            if sub is None:
                result = None
        return result


def may_hold_modules(value: Any, depth: int = 0) -> bool:
    """Whether a value passed to a constructor may hold a module instance (a block built once
    and passed to two owners shares its weights): sizes, flags, configs and classes do not."""
    if value is None or isinstance(value, (bool, int, float, str, Sym, ClassRef, ParamVal)):
        return False
    if depth > 4:
        return True
    if isinstance(value, ObjectVal):  # a config: an attribute it could not compute is no module
        return any(not is_unknown(v) and may_hold_modules(v, depth + 1) for v in value.fields.values())
    if isinstance(value, SeqVal):
        return any(may_hold_modules(e.value, depth + 1) for e in value.entries)
    if isinstance(value, Choice):
        return any(may_hold_modules(v, depth + 1) for v in value.options)
    return True  # a module, a function that may return one, or a value unknown


@dataclass(slots=True)
class Members:
    """What a module registers: parameters, buffers and child modules, in order."""

    params: dict[str, Slot] = field(default_factory=dict)
    buffers: dict[str, Slot] = field(default_factory=dict)
    children: dict[str, Slot] = field(default_factory=dict)
    # Container contents with symbolic repetition (ModuleList of `n` blocks).
    entries: list[Entry] | None = None
    # Plain Python attributes on self (sizes, flags, lists): not registered, but the dataflow
    # of forward() reads them.
    attributes: dict[str, Slot] = field(default_factory=dict)
    # Members the interpreter could not follow (`self.norm = norm_layer(dim)` with an unknown
    # `norm_layer`): name -> why. Each makes the table partial.
    gaps: dict[str, str] = field(default_factory=dict)
    # Modules registered under a name it could not compute (`add_module(str(i), block)`):
    # registered all the same, so a plain list that also holds them loses nothing (TW201).
    unnamed_children: list["ModuleVal"] = field(default_factory=list)
    ties_pending: bool = False  # transformers' post_init() ran: weights to tie when the table is read (tying.py)

    def child_modules(self) -> Iterator[ModuleVal]:
        if self.entries is not None:
            for e in self.entries:
                if isinstance(e.value, ModuleVal):
                    yield e.value
        for slot in self.children.values():
            if isinstance(slot.value, ModuleVal):
                yield slot.value


Value = Union[int, float, bool, str, None, Sym, SeqVal, ClassRef, ModuleVal, ParamVal, Any]


def truth(value: Any) -> bool | None:
    """Python truthiness where known."""
    if isinstance(value, (_Unknown, Sym, Choice)):
        return None
    if isinstance(value, (ModuleVal, ClassRef, FunctionRef, ObjectVal, Partial)):
        return True
    if isinstance(value, SeqVal):
        n = value.length()
        return None if n is None or isinstance(n, Sym) else n > 0
    if isinstance(value, ParamVal):
        return None
    try:
        return bool(value)
    except Exception:
        return None


def as_size(value: Any) -> Dim:
    return value if is_size(value) else None
