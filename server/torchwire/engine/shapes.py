"""Tensor shapes through forward(): what each layer of the catalogue expects and returns, and
the common tensor operations.

A shape is a tuple of sizes (int, symbolic, or None when unknown). An input's shape is assumed
from the first layer that reads it (`[B, 10]` before an `nn.Linear(10, 20)`, `[B, 3, H, W]`
before an `nn.Conv2d(3, ...)`): B, H, W stand for sizes nobody wrote down, and the shape is
`assumed`. Its rank is a guess: what follows from the rank (a positive dimension index, a
reshape) is `guessed`, shown, and never used to report a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import symbolic as S
from .symbolic import Dim, Sym, dim_text, is_size
from .values import ModuleVal

BATCH = Sym.atom("B")
SPATIAL = {1: (Sym.atom("L"),), 2: (Sym.atom("H"), Sym.atom("W")), 3: (Sym.atom("D"), Sym.atom("H"), Sym.atom("W"))}
PRESERVING = {
    "Identity", "ReLU", "ReLU6", "LeakyReLU", "ELU", "CELU", "SELU", "SiLU", "Mish", "GELU", "Sigmoid", "Tanh",
    "Hardswish", "Hardsigmoid", "Hardtanh", "RReLU", "Threshold", "LogSigmoid", "Softsign", "Tanhshrink",
    "Softplus", "Softshrink", "Hardshrink", "Softmax", "Softmin", "LogSoftmax", "Softmax2d", "PReLU",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
}


# Modules whose output has the size of their input: a mismatch after them is the fault of the
# module before them.
SIZE_KEEPING = PRESERVING | {
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "GroupNorm",
    "LayerNorm", "RMSNorm", "SyncBatchNorm", "LocalResponseNorm",
}


@dataclass(frozen=True)
class Shape:
    dims: tuple[Dim, ...]
    assumed: bool = False  # the rank was assumed from the layer that first read the input
    guessed: bool = False  # sizes derived from that assumed rank: not to be reported on

    def derived(self, dims: tuple[Dim, ...], rank_sensitive: bool = False) -> "Shape":
        """A shape computed from this one; `rank_sensitive` when the computation depends on
        the rank (a positive dimension index, a reshape)."""
        return Shape(dims, self.assumed, self.guessed or (rank_sensitive and self.assumed))

    def __str__(self) -> str:
        return "[" + ", ".join(dim_text(d) for d in self.dims) + "]"

    @property
    def rank(self) -> int:
        return len(self.dims)

    def at(self, index: int) -> Dim:
        """A size by index; positive indices of a guessed rank are not to be trusted."""
        if -self.rank <= index < self.rank:
            return self.dims[index]
        return None


@dataclass(frozen=True)
class Mismatch:
    expected: str  # "30 input features"
    got: str  # "20"
    error: str  # PyTorch's run-time error, as it would read
    exception: str = "RuntimeError"


def known_different(a: Dim, b: Dim) -> bool:
    """Sizes that cannot be equal: two different ints, or expressions that differ by a
    constant, or by the factor of the same term (`4*d_model` against `d_model`)."""
    if a is None or b is None:
        return False
    if isinstance(a, int) and isinstance(b, int):
        return a != b
    diff = S.sub(a, b)
    if isinstance(diff, int):
        return diff != 0
    if isinstance(a, Sym) and isinstance(b, Sym) and len(a.terms) == 1 and len(b.terms) == 1:
        (ma, ca), (mb, cb) = a.terms[0], b.terms[0]
        return ma == mb and ca != cb and ca > 0 and cb > 0
    return False


def _text(shape: Shape) -> str:
    return "[" + ", ".join(dim_text(d) for d in shape.dims) + "]"


def _rows(shape: Shape) -> str:
    """`mat1`'s rows in PyTorch's message: every dimension but the last, multiplied."""
    lead = shape.dims[:-1]
    if not lead:
        return "1"
    total = S.product(lead)
    return "x".join(dim_text(d) for d in lead) if total is None else dim_text(total)


# ---------------------------------------------------------------------- assumed inputs


def assumed_input(module: ModuleVal) -> Shape | None:
    """What an input of unknown shape must look like for `module` to accept it."""
    name = module.spec.name if module.spec is not None else None
    args = module.args
    if name is None:
        if module.container == "Sequential":
            first = next((e.value for e in module.members.entries or [] if isinstance(e.value, ModuleVal)), None)
            return assumed_input(first) if first is not None else None
        return None
    if name == "Linear":
        return _assumed((BATCH, _size(args, "in_features")))
    for n in (1, 2, 3):
        if name in (f"Conv{n}d", f"ConvTranspose{n}d"):
            return _assumed((BATCH, _size(args, "in_channels"), *SPATIAL[n]))
        if name in (f"BatchNorm{n}d", f"InstanceNorm{n}d"):
            return _assumed((BATCH, _size(args, "num_features"), *SPATIAL[n]))
    if name in ("LayerNorm", "RMSNorm"):
        normalized = _normalized(args)
        return _assumed((BATCH, *normalized)) if normalized else None
    if name in ("Embedding", "EmbeddingBag"):
        return _assumed((BATCH, Sym.atom("T")))
    if name in ("RNN", "LSTM", "GRU"):
        features = _size(args, "input_size")
        if features is None:
            return None
        steps = Sym.atom("T")
        return Shape((BATCH, steps, features) if args.get("batch_first") is True else (steps, BATCH, features), assumed=True)
    return None


def _assumed(dims: tuple[Dim, ...]) -> Shape | None:
    return Shape(dims, assumed=True) if all(d is not None for d in dims[1:2]) else None


def _size(args: dict, name: str) -> Dim:
    value = args.get(name)
    return value if is_size(value) else None


def _normalized(args: dict) -> tuple[Dim, ...] | None:
    from ..catalogue.spec import Args

    return Args(args).shape("normalized_shape")


# ---------------------------------------------------------------------- layers


def sequence_output(modules: list[ModuleVal], shape: Shape | None) -> tuple[Shape | None, Mismatch | None, int]:
    """Through modules in order: the output shape, or the first mismatch and its index."""
    for index, module in enumerate(modules):
        shape, mismatch = layer_output(module, shape)
        if mismatch is not None:
            return None, mismatch, index
    return shape, None, -1


def sequential_modules(module: ModuleVal) -> list[ModuleVal] | None:
    entries = module.members.entries or []
    if module.unknown_contents or any(e.count != 1 or not isinstance(e.value, ModuleVal) for e in entries):
        return None
    return [e.value for e in entries]


def layer_output(module: ModuleVal, shape: Shape | None) -> tuple[Shape | None, Mismatch | None]:
    """The output shape of calling `module` on an input of `shape`, and whether PyTorch would
    reject that input."""
    if module.container == "Sequential":
        modules = sequential_modules(module)
        if modules is None:
            return None, None
        out, mismatch, index = sequence_output(modules, shape)
        return (out, mismatch) if index <= 0 else (None, None)  # inner mismatches are the Sequential's own
    if module.spec is None or module.unknown or shape is None:
        return None, None
    name, args = module.spec.name, module.args
    if name in PRESERVING:
        return shape, None
    if name == "Linear":
        return _linear(shape, _size(args, "in_features"), _size(args, "out_features"))
    for n in (1, 2, 3):
        if name == f"Conv{n}d":
            return _conv(shape, n, args, transposed=False)
        if name == f"ConvTranspose{n}d":
            return _conv(shape, n, args, transposed=True)
        if name in (f"BatchNorm{n}d", f"InstanceNorm{n}d"):
            return _channels_norm(shape, name, _size(args, "num_features"))
    if name == "GroupNorm":
        return _group_norm(shape, _size(args, "num_channels"))
    if name in ("LayerNorm", "RMSNorm"):
        return _layer_norm(shape, _normalized(args), name)
    if name == "Embedding":
        return shape.derived((*shape.dims, _size(args, "embedding_dim"))), None
    if name == "Flatten":
        return flatten(shape, args.get("start_dim", 1), args.get("end_dim", -1)), None
    if name in ("MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer"):
        embed = _size(args, "embed_dim" if name == "MultiheadAttention" else "d_model")
        if shape.rank and known_different(shape.dims[-1], embed):
            error = f"was expecting embedding dimension of {dim_text(embed)}, but got {dim_text(shape.dims[-1])}"
            return None, Mismatch(f"an embedding dimension of {dim_text(embed)}", dim_text(shape.dims[-1]), error, "AssertionError")
        return shape, None
    if name in ("RNN", "LSTM", "GRU"):
        return _recurrent(shape, args)
    return None, None


TWO_OUTPUTS = {"MultiheadAttention", "RNN", "LSTM", "GRU"}  # (output, weights or hidden state)


def _recurrent(shape: Shape, args: dict) -> tuple[Shape | None, Mismatch | None]:
    expected = _size(args, "input_size")
    if not shape.rank:
        return None, None
    got = shape.dims[-1]
    if known_different(got, expected):
        error = f"input.size(-1) must be equal to input_size. Expected {dim_text(expected)}, got {dim_text(got)}"
        return None, Mismatch(f"{dim_text(expected)} input features", dim_text(got), error)
    proj, hidden = args.get("proj_size", 0), _size(args, "hidden_size")
    directions = 2 if args.get("bidirectional") is True else 1 if args.get("bidirectional") is False else None
    size = proj if isinstance(proj, int) and proj > 0 else hidden
    out = None if size is None or directions is None else S.mul(size, directions)
    return shape.derived((*shape.dims[:-1], out)), None


def _linear(shape: Shape, fan_in: Dim, fan_out: Dim) -> tuple[Shape | None, Mismatch | None]:
    if shape.rank == 0:
        return None, None
    got = shape.dims[-1]
    if known_different(got, fan_in):
        error = f"mat1 and mat2 shapes cannot be multiplied ({_rows(shape)}x{dim_text(got)} and {dim_text(fan_in)}x{dim_text(fan_out)})"
        return None, Mismatch(f"{dim_text(fan_in)} input features", dim_text(got), error)
    return shape.derived((*shape.dims[:-1], fan_out)), None


def _channel_axis(shape: Shape, n: int) -> int | None:
    if shape.rank == n + 2:
        return 1
    if shape.rank == n + 1:
        return 0  # unbatched input
    return None


def _conv(shape: Shape, n: int, args: dict, transposed: bool) -> tuple[Shape | None, Mismatch | None]:
    axis = _channel_axis(shape, n)
    if axis is None:
        return None, None
    cin, cout, groups = _size(args, "in_channels"), _size(args, "out_channels"), _size(args, "groups")
    got = shape.dims[axis]
    if known_different(got, cin):
        from ..catalogue.spec import Args

        kernel = Args(args).sizes("kernel_size", n)
        per_group = S.floordiv(cin, groups) if cin is not None and groups is not None else None
        weight = [cout, per_group, *kernel] if not transposed else [cin, S.floordiv(cout, groups) if cout is not None and groups else None, *kernel]
        error = (
            f"Given groups={dim_text(groups)}, weight of size [{', '.join(dim_text(d) for d in weight)}], "
            f"expected input{_text(shape)} to have {dim_text(cin)} channels, but got {dim_text(got)} channels instead"
        )
        return None, Mismatch(f"{dim_text(cin)} input channels", dim_text(got), error)
    spatial = tuple(_conv_size(args, i, n, size, transposed) for i, size in enumerate(shape.dims[axis + 1 :]))
    return shape.derived((*shape.dims[:axis], cout, *spatial)), None


def _conv_size(args: dict, i: int, n: int, size: Dim, transposed: bool) -> Dim:
    from ..catalogue.spec import Args

    a = Args(args)
    if size is None:
        return None
    kernel, stride, dilation = a.sizes("kernel_size", n)[i], a.sizes("stride", n)[i], a.sizes("dilation", n)[i]
    padding = args.get("padding", 0)
    if padding == "same" and not transposed:
        return size
    pad = 0 if padding == "valid" else a.sizes("padding", n)[i]
    if None in (kernel, stride, dilation, pad) or not all(isinstance(x, int) for x in (kernel, stride, dilation, pad)):
        return None
    if transposed:
        out_pad = a.sizes("output_padding", n)[i]
        if not isinstance(out_pad, int):
            return None
        return S.add(S.mul(S.sub(size, 1), stride), dilation * (kernel - 1) + out_pad + 1 - 2 * pad)
    span = S.add(size, 2 * pad - dilation * (kernel - 1) - 1)
    return S.add(S.floordiv(span, stride), 1) if stride != 1 else S.add(span, 1)


def _channels_norm(shape: Shape, name: str, features: Dim) -> tuple[Shape | None, Mismatch | None]:
    if name == "BatchNorm1d":
        axis = 1 if shape.rank in (2, 3) else None  # (N, C) or (N, C, L)
    else:
        axis = _channel_axis(shape, int(name[-2]))
    if axis is None:
        return shape, None
    got = shape.dims[axis]
    if known_different(got, features):
        error = f"running_mean should contain {dim_text(got)} elements not {dim_text(features)}"
        return None, Mismatch(f"{dim_text(features)} channels", dim_text(got), error)
    return shape, None


def _group_norm(shape: Shape, channels: Dim) -> tuple[Shape | None, Mismatch | None]:
    if shape.rank < 2:
        return shape, None
    got = shape.dims[1]
    if known_different(got, channels):
        error = (
            "Expected weight to be a vector of size equal to the number of channels in input, but got weight of "
            f"shape [{dim_text(channels)}] and input of shape {_text(shape)}"
        )
        return None, Mismatch(f"{dim_text(channels)} channels", dim_text(got), error)
    return shape, None


def _layer_norm(shape: Shape, normalized: tuple[Dim, ...] | None, name: str) -> tuple[Shape | None, Mismatch | None]:
    if not normalized or shape.rank < len(normalized):
        return shape, None
    tail = shape.dims[-len(normalized) :]
    if any(known_different(g, e) for g, e in zip(tail, normalized)):
        wanted = ", ".join(dim_text(d) for d in normalized)
        error = f"Given normalized_shape=[{wanted}], expected input with shape [*, {wanted}], but got input of size{_text(shape)}"
        return None, Mismatch(f"a last dimension of {wanted}", ", ".join(dim_text(d) for d in tail), error)
    return shape, None


# ---------------------------------------------------------------------- tensor operations


def flatten(shape: Shape, start: object, end: object) -> Shape | None:
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    rank = shape.rank
    s, e = start % rank if rank else 0, end % rank if rank else 0
    if rank == 0 or s > e:
        return None
    merged = S.product(shape.dims[s : e + 1])
    return shape.derived((*shape.dims[:s], merged, *shape.dims[e + 1 :]), start >= 0 or end >= 0)


def concatenate(shapes: list[Shape | None], dim: object) -> Shape | None:
    if not shapes or any(s is None for s in shapes) or not isinstance(dim, int):
        return None
    rank = shapes[0].rank
    if any(s.rank != rank for s in shapes) or not -rank <= dim < rank:
        return None
    axis = dim % rank
    total: Dim = 0
    for s in shapes:
        total = None if total is None or s.dims[axis] is None else S.add(total, s.dims[axis])
    dims = tuple(total if i == axis else _same([s.dims[i] for s in shapes]) for i in range(rank))
    return _combined(shapes, dims, dim >= 0)


def stack(shapes: list[Shape | None], dim: object) -> Shape | None:
    if not shapes or any(s is None for s in shapes) or not isinstance(dim, int):
        return None
    rank = shapes[0].rank
    if any(s.rank != rank for s in shapes) or not -(rank + 1) <= dim <= rank:
        return None
    axis = dim % (rank + 1)
    dims = [_same([s.dims[i] for s in shapes]) for i in range(rank)]
    dims.insert(axis, len(shapes))
    return _combined(shapes, tuple(dims), dim >= 0)


def _combined(shapes: list[Shape], dims: tuple[Dim, ...], rank_sensitive: bool) -> Shape:
    assumed = any(s.assumed for s in shapes)
    return Shape(dims, assumed, any(s.guessed for s in shapes) or (rank_sensitive and assumed))


def _same(dims: list[Dim]) -> Dim:
    first = dims[0]
    return first if all(d == first for d in dims) else None


def broadcast(a: Shape | None, b: Shape | None) -> Shape | None:
    if a is None or b is None:
        return None
    if a.rank != b.rank:
        longer, shorter = (a, b) if a.rank > b.rank else (b, a)
        if all(s == 1 or s == l for s, l in zip(reversed(shorter.dims), reversed(longer.dims))):
            return longer
        return None
    dims = []
    for x, y in zip(a.dims, b.dims):
        if x == y or y == 1:
            dims.append(x)
        elif x == 1:
            dims.append(y)
        else:
            return None
    return _combined([a, b], tuple(dims), False)


def transpose(shape: Shape, a: object, b: object) -> Shape | None:
    if not isinstance(a, int) or not isinstance(b, int) or not (-shape.rank <= a < shape.rank and -shape.rank <= b < shape.rank):
        return None
    dims = list(shape.dims)
    dims[a], dims[b] = dims[b], dims[a]
    return shape.derived(tuple(dims), a >= 0 or b >= 0)


def permute(shape: Shape, order: list[object]) -> Shape | None:
    if len(order) != shape.rank or not all(isinstance(i, int) for i in order):
        return None
    try:
        return shape.derived(tuple(shape.dims[i] for i in order), True)
    except IndexError:
        return None


def unsqueeze(shape: Shape, dim: object) -> Shape | None:
    if not isinstance(dim, int) or not -(shape.rank + 1) <= dim <= shape.rank:
        return None
    dims = list(shape.dims)
    dims.insert(dim % (shape.rank + 1), 1)
    return shape.derived(tuple(dims), dim >= 0)


def reduce(shape: Shape, dim: object, keepdim: bool) -> Shape | None:
    if not isinstance(dim, int) or not -shape.rank <= dim < shape.rank:
        return None
    axis = dim % shape.rank
    dims = list(shape.dims)
    if keepdim:
        dims[axis] = 1
    else:
        del dims[axis]
    return shape.derived(tuple(dims), dim >= 0)


def reshape(shape: Shape | None, sizes: list[Dim], sizes_guessed: bool) -> Shape | None:
    """`view` / `reshape`: the sizes given, with one -1 inferred where the total is known."""
    if not sizes or not all(is_size(s) for s in sizes):
        return None
    assumed = shape is not None and shape.assumed
    if sizes.count(-1) == 1:
        if shape is None:
            return None
        total = S.product(shape.dims)
        rest = S.product([s for s in sizes if s != -1])
        if total is None or rest is None or rest == 0:
            return None
        inferred = S.floordiv(total, rest)
        sizes = [inferred if s == -1 else s for s in sizes]
        return Shape(tuple(sizes), assumed, sizes_guessed or assumed or shape.guessed)
    if -1 in sizes:
        return None
    return Shape(tuple(sizes), assumed, sizes_guessed or (shape is not None and shape.guessed))
