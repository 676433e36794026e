"""Parameter tables as text (CLI) and Markdown (hover), from the engine's `ParamRow`s."""

from __future__ import annotations

from .engine.params import ParamRow, Totals, totals
from .engine.symbolic import Sym


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def count_cell(row: ParamRow) -> str:
    n = row.numel
    if n is None:
        return "?"
    return f"{n:,}" if isinstance(n, int) else str(n)


def total_text(t: Totals) -> str:
    """`430 parameters (1.7 KB as float32)`; symbolic or partly unknown totals say so."""
    if t.count is None:
        return "an unknown number of parameters"
    if isinstance(t.count, Sym):
        return f"{t.count} parameters"
    prefix = "" if t.exact else "up to " if t.count else ""
    size = f" ({human_bytes(4 * t.count)} as float32)" if t.count else ""
    return f"{prefix}{t.count:,} parameters{size}"


def name_cell(row: ParamRow) -> str:
    note = []
    if row.condition:
        note.append(f"if {row.condition}")
    if row.unknown:
        note.append(row.unknown)
    return row.name + (f" ({'; '.join(note)})" if note else "")


def text_table(rows: list[ParamRow]) -> str:
    """An aligned table, like torchinfo's."""
    header = ("name", "shape", "count")
    body = [(name_cell(r), r.shape_text(), count_cell(r)) for r in rows]
    widths = [max(len(x) for x in column) for column in zip(header, *body)]
    lines = []
    for i, (name, shape, count) in enumerate([header, *body]):
        lines.append(f"{name:<{widths[0]}}  {shape:<{widths[1]}}  {count:>{widths[2]}}")
        if i == 0:
            lines.append("-" * (sum(widths) + 4))
    return "\n".join(lines)


def markdown_table(rows: list[ParamRow], limit: int = 24) -> str:
    """A Markdown table, cut after `limit` rows with what was left out."""
    shown = rows if len(rows) <= limit else rows[: limit - 1]
    lines = ["| name | shape | count |", "|:-----|:------|------:|"]
    for r in shown:
        lines.append(f"| `{name_cell(r)}` | `{r.shape_text()}` | {count_cell(r)} |")
    if len(shown) < len(rows):
        rest = rows[len(shown) :]
        lines.append(f"| … {len(rest):,} more | | {_sum_cell(rest)} |")
    return "\n".join(lines)


def _sum_cell(rows: list[ParamRow]) -> str:
    t = totals(rows)
    if t.count is None:
        return "?"
    return f"{t.count:,}" if isinstance(t.count, int) else str(t.count)
