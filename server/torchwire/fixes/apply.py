"""Applying fixes to a whole file, as `torchwire check --fix` and `source.fixAll` do: every
selected fix whose edits do not overlap another's, then analyse again, until nothing changes."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..engine.analysis import Analysis, analyze
from ..engine.findings import Finding, TextEdit
from .edits import FixUnavailable, apply_edits

MAX_PASSES = 10


@dataclass
class FixResult:
    text: str
    applied: list[Finding]
    analysis: Analysis  # of the final text


def chosen_fixes(findings: list[Finding], unsafe: bool) -> list[tuple[Finding, list[TextEdit]]]:
    """The fixes to apply together: safe ones (and unsafe ones if asked), no two overlapping."""
    taken: list[tuple[Finding, list[TextEdit]]] = []
    claimed: list[TextEdit] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or (not fix.safe and not unsafe):
            continue
        try:
            edits = fix.edits()
        except FixUnavailable:
            continue
        # Two fixes adding the same import need it once.
        edits = [e for e in edits if not any(e == c and e.range.start == e.range.end for c in claimed)]
        if any(_overlaps(e, c) for e in edits for c in claimed):
            continue
        taken.append((finding, edits))
        claimed.extend(edits)
    return taken


def _overlaps(a: TextEdit, b: TextEdit) -> bool:
    if a.range.start == a.range.end == b.range.start == b.range.end:
        return True  # two insertions at one point: their order would be arbitrary
    return a.range.start < b.range.end and b.range.start < a.range.end


def fix_text(text: str, path: str, config: Config | None = None, unsafe: bool = False, resolver=None) -> FixResult:
    applied: list[Finding] = []
    analysis = analyze(text, path, config, resolver)
    newline = "\r\n" if "\r\n" in text else "\n"
    for _ in range(MAX_PASSES):
        fixes = chosen_fixes(analysis.findings, unsafe)
        if not fixes:
            break
        edits = [edit for _, edit_list in fixes for edit in edit_list]
        if newline != "\n":
            edits = [TextEdit(e.range, e.new_text.replace("\n", newline)) for e in edits]
        new_text = apply_edits(text, edits)
        if new_text == text:
            break
        text = new_text
        applied.extend(finding for finding, _ in fixes)
        analysis = analyze(text, path, config, resolver)
    return FixResult(text, applied, analysis)
