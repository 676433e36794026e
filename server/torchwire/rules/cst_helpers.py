"""Small libcst helpers shared by fixes (libcst is imported when a fix is computed)."""

from __future__ import annotations


def elements_as_args(elements):
    """The elements of a list literal as call arguments: `[a, b]` -> `(a, b)`."""
    import libcst as cst

    args = [cst.Arg(e.value, comma=e.comma) for e in elements]
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args
