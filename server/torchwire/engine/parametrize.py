"""Weight reparametrizations, which rename what a module registers.

`torch.nn.utils.weight_norm(m)` replaces `m.weight` by `weight_g` and `weight_v`;
`torch.nn.utils.spectral_norm(m)` by `weight_orig` (and buffers `weight_u`, `weight_v`); their
`torch.nn.utils.parametrizations` versions move the original tensors under
`parametrizations.weight.original0/1` (or `.original`). Each is applied to the module value in
place, as PyTorch does, with the names and shapes PyTorch 2.13 gives them.
"""

from __future__ import annotations

from typing import Any

from .symbolic import Dim, floordiv, product
from .values import Members, ModuleVal, ParamVal, Slot

OLD_STYLE = {"torch.nn.utils.weight_norm": "weight_norm", "torch.nn.utils.spectral_norm": "spectral_norm"}
PARAMETRIZATIONS = {
    "torch.nn.utils.parametrizations.weight_norm": "weight_norm",
    "torch.nn.utils.parametrizations.spectral_norm": "spectral_norm",
}
FUNCTIONS = {**OLD_STYLE, **PARAMETRIZATIONS}


def reparametrize(qualified: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Apply the reparametrization `qualified` to the module in `args[0]`; return it."""
    module = args[0] if args else kwargs.get("module")
    if not isinstance(module, ModuleVal) or module.unknown:
        return module
    name = args[1] if len(args) > 1 else kwargs.get("name", "weight")
    kind = FUNCTIONS[qualified]
    default_dim = 0 if kind == "weight_norm" else None
    dim = args[2] if len(args) > 2 and kind == "weight_norm" else kwargs.get("dim", default_dim)
    members = module.members
    slot = members.params.get(name) if isinstance(name, str) else None
    if slot is None or not isinstance(slot.value, ParamVal):
        return module
    dims = slot.value.dims
    del members.params[name]
    if qualified in OLD_STYLE:
        if kind == "weight_norm":
            members.params[f"{name}_g"] = Slot(ParamVal(_norm_dims(dims, dim)), slot.condition)
            members.params[f"{name}_v"] = Slot(ParamVal(dims), slot.condition)
        else:
            members.params[f"{name}_orig"] = Slot(ParamVal(dims), slot.condition)
            rows, cols = _matrix_dims(dims, _spectral_dim(module, dim))
            members.buffers[f"{name}_u"] = Slot(ParamVal((rows,)), slot.condition)
            members.buffers[f"{name}_v"] = Slot(ParamVal((cols,)), slot.condition)
        return module
    # torch.nn.utils.parametrize.register_parametrization: a ModuleDict of ParametrizationLists.
    holder = members.children.get("parametrizations")
    if holder is None or not isinstance(holder.value, ModuleVal):
        holder = Slot(ModuleVal("ModuleDict", "torch.nn.ModuleDict", _members=Members()), slot.condition)
        members.children["parametrizations"] = holder
    chain = Members()
    step = Members()
    if kind == "weight_norm":
        chain.params["original0"] = Slot(ParamVal(_norm_dims(dims, dim)))
        chain.params["original1"] = Slot(ParamVal(dims))
    else:
        chain.params["original"] = Slot(ParamVal(dims))
        rows, cols = _matrix_dims(dims, _spectral_dim(module, dim))
        step.buffers["_u"] = Slot(ParamVal((rows,)))
        step.buffers["_v"] = Slot(ParamVal((cols,)))
    chain.children["0"] = Slot(ModuleVal(f"_{kind.title().replace('_', '')}", "", _members=step))
    holder.value.members.children[name] = Slot(ModuleVal("ParametrizationList", "", _members=chain), slot.condition)
    return module


def _norm_dims(dims: tuple[Dim, ...] | None, dim: Any) -> tuple[Dim, ...] | None:
    """The shape of weight_norm's magnitude: 1 on every axis but `dim` (a scalar when None)."""
    if dims is None:
        return None
    if dim is None:
        return ()
    if not isinstance(dim, int):
        return None
    axis = dim + len(dims) if dim < 0 else dim
    return tuple(d if i == axis else 1 for i, d in enumerate(dims))


def _spectral_dim(module: ModuleVal, dim: Any) -> Any:
    if dim is not None:
        return dim
    transposed = module.qualified in {f"torch.nn.ConvTranspose{n}d" for n in (1, 2, 3)}
    return 1 if transposed else 0


def _matrix_dims(dims: tuple[Dim, ...] | None, dim: Any) -> tuple[Dim, Dim]:
    """The weight as spectral_norm flattens it: `dim` first, everything else after."""
    if dims is None or not isinstance(dim, int) or not dims:
        return None, None
    axis = dim + len(dims) if dim < 0 else dim
    rows = dims[axis]
    total = product(dims)
    return rows, (floordiv(total, rows) if total is not None and rows is not None else None)
