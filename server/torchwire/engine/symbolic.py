"""Symbolic sizes: `4*d_model`, `config.hidden_size`, `n_embd // n_head`.

A size is an `int` when it is known, a `Sym` when it is an expression in names the analysis
cannot pin down (parameters without defaults, config attributes), and `None` when nothing is
known. A `Sym` is a polynomial with integer coefficients over opaque atoms, kept in a normal
form, so that `d_model * 4` and `4*d_model` compare equal and print the same way.
"""

from __future__ import annotations

from typing import Union

Monomial = tuple[str, ...]  # sorted atom names, repeated for powers


class Sym:
    __slots__ = ("terms", "_hash")

    def __init__(self, terms: dict[Monomial, int]):
        self.terms: tuple[tuple[Monomial, int], ...] = tuple(
            sorted(((m, c) for m, c in terms.items() if c), key=_term_order)
        )
        self._hash = hash(self.terms)

    @staticmethod
    def atom(name: str) -> "Sym":
        return Sym({(name,): 1})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sym) and self.terms == other.terms

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Sym({self})"

    def __str__(self) -> str:
        if not self.terms:
            return "0"
        out = ""
        for i, (mono, coeff) in enumerate(self.terms):
            text = _format_term(mono, abs(coeff))
            if i == 0:
                out = ("-" if coeff < 0 else "") + text
            else:
                out += (" - " if coeff < 0 else " + ") + text
        return out

    @property
    def atoms(self) -> set[str]:
        return {a for mono, _ in self.terms for a in mono}


Dim = Union[int, Sym, None]
"""A size: known, symbolic, or unknown (None)."""


def _term_order(term: tuple[Monomial, int]) -> tuple:
    mono, _ = term
    return (-len(mono), mono)


def _format_atom(name: str, in_product: bool) -> str:
    if in_product and any(ch in name for ch in " +-/%"):
        return f"({name})"
    return name


def _format_term(mono: Monomial, coeff: int) -> str:
    if not mono:
        return str(coeff)
    factors = []
    i = 0
    in_product = len(mono) > 1 or coeff != 1
    while i < len(mono):
        j = i
        while j < len(mono) and mono[j] == mono[i]:
            j += 1
        power = j - i
        atom = _format_atom(mono[i], in_product or power > 1)
        factors.append(atom if power == 1 else f"{atom}**{power}")
        i = j
    body = "*".join(factors)
    return body if coeff == 1 else f"{coeff}*{body}"


def _terms(value: int | Sym) -> dict[Monomial, int]:
    if isinstance(value, Sym):
        return dict(value.terms)
    return {(): value} if value else {}


def _normal(terms: dict[Monomial, int]) -> int | Sym:
    terms = {m: c for m, c in terms.items() if c}
    if not terms:
        return 0
    if list(terms) == [()]:
        return terms[()]
    return Sym(terms)


def is_size(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, Sym)


def add(a: int | Sym, b: int | Sym) -> int | Sym:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    terms = _terms(a)
    for mono, coeff in _terms(b).items():
        terms[mono] = terms.get(mono, 0) + coeff
    return _normal(terms)


def neg(a: int | Sym) -> int | Sym:
    return mul(a, -1)


def sub(a: int | Sym, b: int | Sym) -> int | Sym:
    return add(a, neg(b))


def mul(a: int | Sym, b: int | Sym) -> int | Sym:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    terms: dict[Monomial, int] = {}
    for ma, ca in _terms(a).items():
        for mb, cb in _terms(b).items():
            mono = tuple(sorted(ma + mb))
            terms[mono] = terms.get(mono, 0) + ca * cb
    return _normal(terms)


def floordiv(a: int | Sym, b: int | Sym) -> int | Sym | None:
    if isinstance(a, int) and isinstance(b, int):
        return a // b if b else None
    if isinstance(b, int):
        if b == 0:
            return None
        terms = _terms(a)
        if all(c % b == 0 for c in terms.values()):
            return _normal({m: c // b for m, c in terms.items()})
    return Sym.atom(f"{a} // {_format_atom(str(b), True)}")


def product(dims: list[Dim] | tuple[Dim, ...]) -> Dim:
    total: int | Sym = 1
    for d in dims:
        if d is None:
            return None
        total = mul(total, d)
    return total


def dim_text(d: Dim) -> str:
    return "?" if d is None else str(d)
