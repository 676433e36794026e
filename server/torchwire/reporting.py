"""`torchwire check` reports: findings (and the texts they were found in) to the output format
a person or a CI system reads. Pure: no file is read or written here.

Formats (a public contract, documented in docs/cli.md):
- `text` / `concise`: one line per finding, `path:line:col: CODE [*] message`, then a summary;
- `full`: the same, with the source line and a caret under the range;
- `json`: the list of findings (`Finding.to_json`);
- `github`: GitHub Actions workflow commands, one annotation per finding;
- `sarif`: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

Lines and columns are 1-based in every text format (columns count code points), 0-based in
`json` (as LSP counts lines).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from . import __version__
from .engine.findings import Finding, Severity
from .engine.source import Range, SourceText

FORMATS = ("text", "concise", "full", "json", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note", Severity.HINT: "note"}
GITHUB_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice", Severity.HINT: "notice"}
FINGERPRINT = "torchwire/v1"  # the key of SARIF's partialFingerprints; bumped if the recipe changes


def fixable_mark(finding: Finding) -> str:
    return " [*]" if finding.fix is not None and finding.fix.safe else ""


def one_line(finding: Finding) -> str:
    start = finding.range.start
    return f"{location(finding)}:{start.line + 1}:{start.character + 1}: {finding.code}{fixable_mark(finding)} {finding.message}"


def location(finding: Finding) -> str:
    """The file, and in a notebook the cell (counted from 1, as lines are): `nb.ipynb:cell 3`."""
    return finding.path if finding.cell is None else f"{finding.path}:cell {finding.cell + 1}"


def summary(findings: list[Finding], fixed: int, fixing: bool) -> list[str]:
    lines = []
    if fixed:
        lines.append(f"Fixed {fixed} finding{'s' if fixed != 1 else ''}.")
    if not findings:
        return [*lines, "All checks passed."]
    n = len(findings)
    safe = sum(1 for f in findings if f.fix is not None and f.fix.safe)
    unsafe = sum(1 for f in findings if f.fix is not None and not f.fix.safe)
    line = f"Found {n} finding{'s' if n != 1 else ''}."
    if safe and not fixing:
        line += f" {safe} fixable with --fix."
    if unsafe:
        line += f" {unsafe} more fixable with --unsafe-fixes (review them: they change what the model computes)."
    return [*lines, line]


def concise(findings: list[Finding]) -> list[str]:
    return [one_line(f) for f in findings]


def full(findings: list[Finding], sources: dict[tuple[str, int | None], str]) -> list[str]:
    """Each finding with its source line and a caret under the range (to the end of the line
    when the range goes on below), and the fix when there is one."""
    out: list[str] = []
    texts = _texts(sources)
    for finding in findings:
        out.append(one_line(finding))
        source = texts.get((finding.path, finding.cell))
        start, end = finding.range
        if source is not None and start.line < len(source.lines):
            line = source.line(start.line).rstrip("\r\n")
            last = end.character if end.line == start.line else len(line)
            number = str(start.line + 1)
            gutter = " " * len(number)
            carets = "^" * max(last - start.character, 1)
            more = f" (and {end.line - start.line} more line{'s' if end.line - start.line > 1 else ''})" if end.line > start.line else ""
            out += [f"{gutter} |", f"{number} | {_expand_tabs(line)}", f"{gutter} | {_expand_tabs(line[: start.character], blank=True)}{carets}{more}"]
            if finding.fix is not None:
                out.append(f"{gutter} = fix{'' if finding.fix.safe else ' (unsafe)'}: {finding.fix.title}")
        out.append("")
    return out


def _expand_tabs(text: str, blank: bool = False) -> str:
    """Tabs as four spaces, so that the caret line lines up; `blank`: every other character as
    a space too (the caret's indentation)."""
    text = text.replace("\t", "    ")
    return "".join(" " for _ in text) if blank else text


def github(findings: list[Finding], in_file: Callable[[Finding], Range] | None = None) -> list[str]:
    """`::warning file=...,line=...,col=...,endLine=...,endColumn=...,title=TW101::message` (columns
    1-based, the end one past the range, as in SARIF). GitHub takes `col` and `endColumn` only
    on a one-line range: a longer one gives its lines alone. `in_file(finding)`: its range in the
    file's own text, where that differs (a notebook cell's lines are lines of its JSON)."""
    out = []
    for f in findings:
        start, end = in_file(f) if in_file is not None else f.range
        props = [("file", f.path), ("line", start.line + 1)]
        if end.line == start.line:
            props += [("col", start.character + 1), ("endLine", end.line + 1), ("endColumn", end.character + 1)]
        else:
            props += [("endLine", end.line + 1)]
        props.append(("title", f.code if f.cell is None else f"{f.code} (cell {f.cell + 1})"))
        text = ",".join(f"{key}={_escape_property(str(value))}" for key, value in props)
        out.append(f"::{GITHUB_LEVELS[f.severity]} {text}::{_escape_data(f.message)}")
    return out


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def statistics(findings: list[Finding]) -> list[dict]:
    """Counts per rule, most frequent first (then by code)."""
    from .rules import RULES_BY_CODE

    counts = Counter(f.code for f in findings)
    fixable = Counter(f.code for f in findings if f.fix is not None and f.fix.safe)
    rows = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = RULES_BY_CODE.get(code)
        rows.append({"code": code, "name": rule.name if rule is not None else "syntax-error", "count": count, "fixable": fixable[code]})
    return rows


def statistics_lines(findings: list[Finding]) -> list[str]:
    rows = statistics(findings)
    width = max((len(str(r["count"])) for r in rows), default=1)
    lines = [f"{r['count']:>{width}}\t{r['code']}\t{'[*] ' if r['fixable'] == r['count'] else '[-] ' if r['fixable'] else ''}{r['name']}" for r in rows]
    return [*lines, f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''}."]


# ---------------------------------------------------------------------- SARIF


def sarif(findings: list[Finding], sources: dict[tuple[str, int | None], str], root: Path, cwd: Path, docs_url: str,
          edits_of: Callable | None = None, in_file: Callable[[Finding], Range] | None = None) -> dict:
    """A SARIF 2.1.0 log of one run. `root`: the project root that artifact URIs are relative to
    (`%SRCROOT%`); finding paths are relative to `cwd`. `edits_of(finding)`: the fix's edits, or
    None (fixes are computed only when asked for). `in_file`: as for `github`."""
    from .rules import ALL_RULES

    rules = [_sarif_rule(code, name, summary, doc, severity, docs_url) for code, name, summary, doc, severity in _rule_entries(ALL_RULES)]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    texts = _texts(sources)
    seen: Counter = Counter()
    results = []
    for f in findings:
        artifact = _artifact(cwd / f.path, root)
        source = texts.get((f.path, f.cell))
        location = {"physicalLocation": {"artifactLocation": artifact, "region": _region(f, source, in_file(f) if in_file is not None else f.range)}}
        if f.cell is not None:  # lines and columns are the cell's
            location["logicalLocations"] = [{"name": f"cell {f.cell + 1}", "kind": "module"}]
        fingerprint_basis = _fingerprint_basis(f, artifact["uri"] + ("" if f.cell is None else f"#cell{f.cell}"), source)
        seen[fingerprint_basis] += 1
        result = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": SARIF_LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT: _digest(f"{fingerprint_basis}\0{seen[fingerprint_basis]}")},
        }
        if f.cell is not None:
            result["properties"] = {"cell": f.cell}
        # A notebook's fixes edit its cells, not the lines of its JSON: `--fix` applies them.
        edits = edits_of(f) if edits_of is not None and f.fix is not None and f.cell is None else None
        if edits:
            replacements = [{"deletedRegion": _edit_region(e.range), "insertedContent": {"text": e.new_text}} for e in edits]
            description = f.fix.title if f.fix.safe else f"{f.fix.title} (unsafe: it changes what the model computes; review it)"
            result["fixes"] = [{"description": {"text": description},
                                "artifactChanges": [{"artifactLocation": artifact, "replacements": replacements}]}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "torchwire",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": docs_url.split("/blob/")[0] if "/blob/" in docs_url else docs_url,
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def _texts(sources: dict[tuple[str, int | None], str]) -> dict[tuple[str, int | None], SourceText]:
    """The texts findings were made in, by path and cell (None outside notebooks)."""
    return {(path, cell): SourceText(text, path) for (path, cell), text in sources.items()}


def _rule_entries(all_rules) -> list[tuple[str, str, str, str, Severity]]:
    entries = [("TW000", "syntax-error", "The file cannot be parsed or read.",
                "A file that cannot be parsed (a syntax error) or read (a missing file, an unknown encoding) "
                "is reported once, where the problem is; nothing else is checked in it.", Severity.ERROR)]
    return entries + [(r.code, r.name, r.summary, r.documentation(), r.severity) for r in all_rules]


def _sarif_rule(code: str, name: str, summary: str, doc: str, severity: Severity, docs_url: str) -> dict:
    url = docs_url.format(code=code)
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": _what_it_does(doc) or summary},
        "help": {"text": doc.replace("## ", ""), "markdown": doc},
        "helpUri": url,
        "defaultConfiguration": {"level": SARIF_LEVELS[severity]},
        "properties": {"tags": ["pytorch", "correctness"]},
    }


def _what_it_does(doc: str) -> str:
    """The first section of a rule's page, as one paragraph."""
    first = doc.split("\n\n")[0]
    lines = [line for line in first.splitlines() if not line.startswith("#")]
    return " ".join(lines).strip()


def _region(f: Finding, source: SourceText | None, place: Range) -> dict:
    """`place` in the file's lines; the snippet is the flagged code (a notebook cell's text)."""
    region = _edit_region(place)
    if source is not None and f.range.start.line < len(source.lines):
        region["snippet"] = {"text": _text_of(source, f.range)}
    return region


def _edit_region(rng) -> dict:
    """1-based lines and columns; the end column is the one after the range (SARIF's rule)."""
    start, end = rng
    return {"startLine": start.line + 1, "startColumn": start.character + 1, "endLine": end.line + 1, "endColumn": end.character + 1}


def _text_of(source: SourceText, rng) -> str:
    start, end = rng
    if start.line == end.line:
        return source.line(start.line)[start.character : end.character]
    lines = [source.line(start.line)[start.character :], *(source.line(i) for i in range(start.line + 1, end.line)), source.line(end.line)[: end.character]]
    return "\n".join(line.rstrip("\r\n") for line in lines)


def _fingerprint_basis(f: Finding, uri: str, source: SourceText | None) -> str:
    """What identifies a finding across edits elsewhere in its file: its rule, the text of its
    line and of its range (whitespace aside), never a line number. Findings with the same basis
    are told apart by their order."""
    line = " ".join(source.line(f.range.start.line).split()) if source is not None else ""
    flagged = " ".join(_text_of(source, f.range).split()) if source is not None else ""
    return f"{uri}\0{f.code}\0{line}\0{flagged}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _artifact(path: Path, root: Path) -> dict:
    """Relative to the project root (`%SRCROOT%`); a file outside it by its absolute URI."""
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return {"uri": path.resolve().as_uri()}
    return {"uri": quote(relative), "uriBaseId": "%SRCROOT%"}


def sarif_text(log: dict) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False)
