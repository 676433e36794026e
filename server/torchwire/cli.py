"""The command line: `torchwire check`, `torchwire params`, `torchwire rule`, `torchwire serve`.

Exit codes: 0 nothing found, 1 findings, 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from . import __version__
from .config import Config, ConfigError, find_pyproject, load_pyproject
from .engine.findings import Finding, Severity
from .engine.source import Position, Range
from .files import UsageError, discover, modular_template, read_notebook, read_source
from .notebook import NotebookFile, NotebookModule
from .reporting import FORMATS

if TYPE_CHECKING:
    from .checking import Task

# The analysis is imported by the commands that analyse: `serve` answers `initialize` first.

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


# ---------------------------------------------------------------------- files


@lru_cache(maxsize=None)
def _project_config(folder: Path) -> Config:
    pyproject = find_pyproject(folder)
    return load_pyproject(pyproject) if pyproject is not None else Config()


def config_for(path: Path, overrides: Config) -> Config:
    if modular_template(path):
        return Config(select=[])  # its modeling file is what runs, and what is checked
    return _project_config(path.resolve().parent).merged(overrides)


def _codes(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [code.strip().upper() for code in text.split(",") if code.strip()]


# ---------------------------------------------------------------------- check


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _io_error(path: str, error: Exception) -> Finding:
    message = f"Cannot read this file: {error}"
    return Finding("TW000", message, Range(Position(0, 0), Position(0, 0)), Severity.ERROR, path=path)


def _project(args: argparse.Namespace):
    """Where imported classes are looked for: the project of the first path, and the
    installed packages of `--python` (default: torchwire's own environment)."""
    from .project import Project, project_root

    first = Path(args.paths[0]) if args.paths else Path.cwd()
    project = Project(str(project_root(first)), args.python)
    _opened_projects.append(project)
    return project


_opened_projects: list = []  # saved when the command ends: what was read of installed packages


def _discover(paths: list[str]):
    """The files to read; a warning on stderr when there are none (a folder that is hidden or
    that a .gitignore lists is skipped, and an empty result must not pass silently)."""
    found = False
    for path in discover(paths):
        found = True
        yield path
    if not found:
        print(
            "warning: no Python files found under the given paths (hidden folders and what .gitignore lists "
            "are skipped; name a file to check it anyway)",
            file=sys.stderr,
        )


@dataclass
class _Input:
    """A file to check: its text as analysed, and for a notebook its cells and their module."""

    text: str
    notebook: NotebookFile | None = None
    module: NotebookModule | None = None

    @classmethod
    def read(cls, path: Path, shown: str) -> "_Input":
        return cls.of_notebook(read_notebook(path), shown) if path.suffix == ".ipynb" else cls(read_source(path))

    @classmethod
    def of_notebook(cls, notebook: NotebookFile, shown: str) -> "_Input":
        module = notebook.module(shown)
        return cls(module.text, notebook, module)

    def sources(self, shown: str) -> dict[tuple[str, int | None], str]:
        """The texts its findings are in: the file's, or each cell's."""
        if self.notebook is None:
            return {(shown, None): self.text}
        return {(shown, cell.index): cell.source for cell in self.notebook.cells}

    def place(self, shown: str, line: int) -> tuple[str, int | None, int]:
        """(path, cell, line in it) of a 0-based line of the analysed text."""
        located = self.module.to_cell(Position(line, 0)) if self.module is not None else None
        return (shown, None, line) if located is None else (shown, located[0].cell.index, located[1].line)

    def in_cells(self, findings: list[Finding]) -> list[Finding]:
        return self.module.findings_in_cells(findings) if self.module is not None else findings


READ_ERRORS = (OSError, ValueError, SyntaxError, LookupError)  # ValueError: undecodable, or not a notebook


def cmd_check(args: argparse.Namespace) -> int:
    from .checking import Task
    from .engine.analysis import analyze

    overrides = Config(select=_codes(args.select), ignore=_codes(args.ignore) or [])
    project = _project(args)
    resolver = project.resolver(blocking=True)
    fixing = args.fix or args.unsafe_fixes or args.diff
    sources: dict[tuple[str, int | None], str] = {}  # (shown path, cell) -> the text the findings were made in
    per_file: list[list[Finding] | tuple[Task, _Input]] = []  # in the order of the files: findings, or a task to run
    tasks: list[Task] = []
    documents: dict[str, _Input] = {}  # shown path -> as read (or fixed)
    fixed_count = 0
    changed_files = 0
    for path in _discover(args.paths):
        shown = _display(path)
        try:
            document = _Input.read(path, shown)
        except READ_ERRORS as error:
            per_file.append([_io_error(shown, error)])
            continue
        text = document.text
        config = config_for(path, overrides)
        project.note_reads(shown, text)
        sources.update(document.sources(shown))
        documents[shown] = document
        if not fixing:
            tasks.append(Task(str(path), shown, text, config, with_edits=args.format == "sarif" and not args.statistics))
            per_file.append((tasks[-1], document))
            continue
        from .fixes.apply import fix_text

        result = fix_text(text, shown, config, unsafe=args.unsafe_fixes, resolver=resolver)
        fixed = _fixed_document(path, shown, document, result.text, args.diff)
        if fixed is not None and fixed.text != text:
            changed_files += 1
            fixed_count += len(result.applied)
            same = fixed.text == result.text  # the text the last analysis was of
            findings = (result.analysis if same else analyze(fixed.text, shown, config, resolver)).findings
            if not args.diff:
                sources.update(fixed.sources(shown))
                documents[shown] = fixed
                per_file.append(fixed.in_cells(findings))
                continue
        per_file.append(document.in_cells(analyze(text, shown, config, resolver).findings))
    done = _run_checks(args, project, tasks)
    all_findings = [f for entry in per_file for f in (entry[1].in_cells(done[id(entry[0])]) if isinstance(entry, tuple) else entry)]
    if any(f.code == "TW302" for f in all_findings):
        # What the project's other files read counts, checked or not: a file checked alone (as
        # pre-commit does) gets what it gets with the whole repository.
        if not project.scan_project_reads({str(Path(shown).resolve()) for shown in documents}):
            all_findings = [f for f in all_findings if f.code != "TW302"]  # too big to read in time: unknown
    all_findings = project.without_used_elsewhere(all_findings)
    if args.diff:
        return EXIT_FINDINGS if changed_files else EXIT_CLEAN
    notebooks = {shown: document.notebook for shown, document in documents.items() if document.notebook is not None}
    report = _report(args, all_findings, sources, fixed_count, fixing, notebooks)
    if args.output_file:
        try:
            Path(args.output_file).write_text(report, encoding="utf-8")
        except OSError as error:
            print(f"error: cannot write {args.output_file}: {error}", file=sys.stderr)
            return EXIT_ERROR
    else:
        sys.stdout.write(report)
    return EXIT_FINDINGS if all_findings and not args.exit_zero else EXIT_CLEAN


def _fixed_document(path: Path, shown: str, document: _Input, new_text: str, diff: bool) -> _Input | None:
    """Write (or with `diff`, show) the fixed text; the file as it is now, or None when the
    fixes could not be applied (in a notebook: they reach across cells or into IPython lines)."""
    if new_text == document.text:
        return None
    if document.notebook is None:
        if diff:
            sys.stdout.writelines(difflib.unified_diff(document.text.splitlines(True), new_text.splitlines(True), f"a/{shown}", f"b/{shown}"))
        else:
            _write_preserving_encoding(path, new_text)
        return _Input(new_text)
    cells = document.module.split(new_text)
    if not cells:
        print(f"warning: {shown}: the fixes reach across cells or into IPython lines; none applied", file=sys.stderr)
        return None
    if diff:
        for index, cell_text in sorted(cells.items()):
            old = document.notebook.cells[index].source
            name = f"{shown}:cell {index + 1}"
            sys.stdout.writelines(difflib.unified_diff(_terminated_lines(old), _terminated_lines(cell_text), f"a/{name}", f"b/{name}"))
    raw = document.notebook.with_sources(cells)
    if not diff:
        path.write_bytes(raw.encode("utf-8"))
    return _Input.of_notebook(NotebookFile(raw), shown)


def _terminated_lines(text: str) -> list[str]:
    """Lines for a diff, the last one ended (a cell's last line has no line end)."""
    lines = text.splitlines(True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    return lines


def _run_checks(args: argparse.Namespace, project, tasks: list[Task]) -> dict[int, list[Finding]]:
    """id(task) -> its findings: from the cache where it has them, else analysed on
    `--jobs` cores (all by default), then cached."""
    from .checking import ResultCache, cache_directory, default_jobs, run_tasks

    cache = None if args.no_cache else ResultCache(cache_directory(args.cache_dir, Path(project.root or Path.cwd())))
    done: dict[int, list[Finding]] = {}
    missing: list[tuple[Task, str | None]] = []
    for task in tasks:
        key = cache.key(task, args.python) if cache is not None else None
        hit = cache.get(key) if key is not None else None
        if hit is not None:
            done[id(task)] = hit.findings
        else:
            missing.append((task, key))
    jobs = args.jobs if args.jobs is not None else default_jobs()
    results = run_tasks([task for task, _ in missing], jobs, project, project.root, args.python)
    for (task, key), result in zip(missing, results):
        done[id(task)] = result.findings
        if cache is not None and key is not None:
            cache.put(key, result)
    return done


def _report(args: argparse.Namespace, findings: list[Finding], sources: dict, fixed: int, fixing: bool,
            notebooks: dict[str, NotebookFile]) -> str:
    """The output of `check` in the chosen format (see reporting.py), ending with a newline.
    GitHub annotations and SARIF place a notebook's findings on the lines of its JSON."""
    from . import reporting

    def in_file(finding: Finding) -> Range:
        notebook = notebooks.get(finding.path) if finding.cell is not None else None
        placed = notebook.file_range(finding.cell, finding.range) if notebook is not None else None
        return placed or finding.range

    if args.statistics:
        if args.format == "json":
            return json.dumps(reporting.statistics(findings), indent=2) + "\n"
        return "\n".join(reporting.statistics_lines(findings)) + "\n"
    if args.format == "json":
        return json.dumps([f.to_json() for f in findings], indent=2, ensure_ascii=False) + "\n"
    if args.format == "sarif":
        from .lsp.settings import DOCS_URL
        from .project import project_root

        first = Path(args.paths[0]) if args.paths else Path.cwd()
        from .checking import fix_edits

        log = reporting.sarif(findings, sources, project_root(first), Path.cwd(), DOCS_URL, fix_edits, in_file)
        return reporting.sarif_text(log) + "\n"
    if args.format == "github":
        lines = reporting.github(findings, in_file)
        return "".join(line + "\n" for line in lines)
    lines = reporting.full(findings, sources) if args.format == "full" else reporting.concise(findings)
    return "".join(line + "\n" for line in [*lines, *reporting.summary(findings, fixed, fixing)])


def _write_preserving_encoding(path: Path, text: str) -> None:
    data = path.read_bytes()
    encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
    path.write_bytes(text.encode(encoding))


# ---------------------------------------------------------------------- params


def cmd_params(args: argparse.Namespace) -> int:
    from .engine.analysis import analyze
    from .engine.params import totals
    from .tables import text_table, total_text

    reports = []
    found_class = False
    project = _project(args)
    resolver = project.resolver(blocking=True)
    for path in _discover(args.paths):
        shown = _display(path)
        try:
            document = _Input.read(path, shown)
        except READ_ERRORS as error:
            print(f"{shown}: cannot read: {error}", file=sys.stderr)
            return EXIT_ERROR
        analysis = analyze(document.text, shown, Config(select=[]), resolver)
        for cls in analysis.module_classes:
            if args.class_name and cls.name != args.class_name:
                continue
            found_class = True
            rows = cls.parameters()
            t = totals(rows)
            reports.append((document.place(shown, cls.node.lineno - 1), cls, rows, t))
    if project.environment_error:
        print(f"torchwire: {project.environment_error}", file=sys.stderr)
        return EXIT_ERROR
    if args.class_name and not found_class:
        print(f"No nn.Module class named {args.class_name!r} in {', '.join(args.paths)}", file=sys.stderr)
        return EXIT_ERROR
    if args.format == "json":
        out = []
        for (shown, cell, line), cls, rows, t in reports:
            out.append({
                "path": shown,
                **({} if cell is None else {"cell": cell}),
                "class": cls.name,
                "line": line,
                "parameters": [
                    {"name": r.name, "shape": r.shape, "expr": r.expr, "numel": r.numel if isinstance(r.numel, int) else None,
                     "condition": r.condition, "unknown": r.unknown}
                    for r in rows
                ],
                "total": t.count if isinstance(t.count, int) and t.exact else None,
                "assumed": cls.assumed_configs,
            })
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_CLEAN
    for i, ((shown, cell, line), cls, rows, t) in enumerate(reports):
        if i:
            print()
        print(f"{shown}:{'' if cell is None else f'cell {cell + 1}:'}{line + 1}: {cls.name}")
        if rows:
            print(text_table(rows))
        assumed = cls.assumptions()
        print(f"Total: {total_text(t)}" + (f", {assumed.replace('`', '')}" if assumed else ""))
    return EXIT_CLEAN


# ---------------------------------------------------------------------- hover


def cmd_hover(args: argparse.Namespace) -> int:
    """What the editor's hover shows at PATH:LINE:COL (1-based)."""
    from .engine.analysis import analyze
    from .engine.source import Position
    from .explain import explain_at

    raw, _, col = args.location.rpartition(":")
    path_text, _, line = raw.rpartition(":")
    cell = None
    if path_text.rpartition(":")[2].startswith("cell "):  # nb.ipynb:cell 3:4:9, as `check` prints
        path_text, _, cell_text = path_text.rpartition(":")
        cell = int(cell_text[5:]) - 1 if cell_text[5:].strip().isdigit() and int(cell_text[5:]) > 0 else -1
    if not path_text or not line.isdigit() or not col.isdigit() or cell == -1:
        raise UsageError(f"{args.location}: expected PATH:LINE:COL, or NOTEBOOK:cell N:LINE:COL (1-based)")
    path = Path(path_text)
    try:
        document = _Input.read(path, _display(path))
    except READ_ERRORS as error:
        raise UsageError(f"{path_text}: cannot read: {error}") from None
    position = Position(int(line) - 1, int(col) - 1)
    if document.module is not None:
        if cell is None:
            raise UsageError(f"{args.location}: a notebook needs the cell: {path_text}:cell N:{line}:{col}")
        position = document.module.to_module(cell, position)
        if position is None:
            raise UsageError(f"{args.location}: cell {cell + 1} is not a Python code cell")
    args.paths = [path_text]
    analysis = analyze(document.text, _display(path), Config(select=[]), _project(args).resolver(blocking=True))
    explanation = explain_at(analysis, position)
    if explanation is None:
        print("Nothing to explain here.", file=sys.stderr)
        return EXIT_FINDINGS
    print(explanation.markdown)
    return EXIT_CLEAN


# ---------------------------------------------------------------------- graph


def cmd_graph(args: argparse.Namespace) -> int:
    """The dataflow of forward(), of one class (FILE:CLASS) or of each class of FILE."""
    from .engine.analysis import analyze
    from .graph import dataflow_graphs, dot, mermaid, to_json

    target, class_name = args.target, None
    head, _, tail = target.rpartition(":")
    if head and tail.isidentifier() and not Path(target).exists():
        target, class_name = head, tail
    path = Path(target)
    try:
        document = _Input.read(path, _display(path))
    except READ_ERRORS as error:
        raise UsageError(f"{target}: cannot read: {error}") from None
    args.paths = [target]
    analysis = analyze(document.text, _display(path), Config(select=[]), _project(args).resolver(blocking=True))
    graphs = dataflow_graphs(analysis, class_name)
    if not graphs:
        what = f"no nn.Module class named {class_name!r} with a forward()" if class_name else "no nn.Module class with a forward()"
        print(f"torchwire: {target}: {what}", file=sys.stderr)
        return EXIT_ERROR
    if args.format == "json":
        print(json.dumps([to_json(g) for g in graphs] if class_name is None else to_json(graphs[0]), indent=2, ensure_ascii=False))
    else:
        render = mermaid if args.format == "mermaid" else dot
        print("\n\n".join(render(g) for g in graphs))
    return EXIT_CLEAN


# ---------------------------------------------------------------------- rule


def cmd_rule(args: argparse.Namespace) -> int:
    from .rules import ALL_RULES, RULES_BY_CODE

    if not args.code:
        for rule in ALL_RULES:
            fix = {"safe": "fix", "unsafe": "unsafe fix", "none": ""}[rule.fix_safety]
            print(f"{rule.code}  {rule.name:<28} {rule.severity.value:<8} {fix:<11} {rule.summary}")
        return EXIT_CLEAN
    rule = RULES_BY_CODE.get(args.code.upper())
    if rule is None:
        print(f"Unknown rule {args.code!r}. `torchwire rule` lists them.", file=sys.stderr)
        return EXIT_ERROR
    print(rule_markdown(rule))
    return EXIT_CLEAN


def rules_index() -> str:
    """docs/rules/README.md: every rule, with its severity and fix."""
    from .rules import ALL_RULES

    lines = ["# Rules", "", "| code | name | severity | fix | summary |", "|------|------|----------|-----|---------|"]
    for rule in ALL_RULES:
        lines.append(f"| [{rule.code}]({rule.code}.md) | {rule.name} | {rule.severity.value} | {rule.fix_safety} | {rule.summary} |")
    lines += ["", "`TW000` reports a file that cannot be parsed or read. Codes are stable: a rule keeps its code."]
    return "\n".join(lines)


def rule_markdown(rule) -> str:
    """A rule's page: its description, then its examples (the same ones the tests run)."""
    parts = [f"# {rule.code}: {rule.name}", "", f"Severity: {rule.severity.value}. Fix: {rule.fix_safety}.", "", rule.documentation()]
    parts += ["", "## Examples that are flagged"]
    for example in rule.INVALID:
        parts += ["", "```python", example.code.strip("\n"), "```"]
        if example.fixed is not None:
            parts += ["After the fix:", "", "```python", example.fixed.strip("\n"), "```"]
    parts += ["", "## Examples that are fine"]
    for example in rule.VALID:
        parts += ["", "```python", example.strip("\n"), "```"]
    return "\n".join(parts)


# ---------------------------------------------------------------------- main


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="torchwire", description="Finds PyTorch module wiring bugs statically.")
    parser.add_argument("--version", action="version", version=f"torchwire {__version__}")
    sub = parser.add_subparsers(dest="command")

    check = sub.add_parser("check", help="report findings in files and folders")
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    check.add_argument("--format", choices=FORMATS, default="text",
                       help="text/concise: one line per finding; full: with the source line; json; github: GitHub Actions "
                       "annotations; sarif: SARIF 2.1.0 (GitHub code scanning)")
    check.add_argument("--output-file", "-o", metavar="PATH", help="write the report to this file instead of standard output")
    check.add_argument("--exit-zero", action="store_true", help="exit with 0 even when there are findings")
    check.add_argument("--statistics", action="store_true", help="show how many findings each rule made, not the findings")
    check.add_argument("--jobs", "-j", type=_positive, metavar="N", help="analyse on N cores (default: all)")
    check.add_argument("--no-cache", action="store_true", help="analyse every file, and keep no results")
    check.add_argument("--cache-dir", metavar="PATH",
                       help="where results are kept (default: $TORCHWIRE_CACHE_DIR, else .torchwire_cache/ at the project root)")
    check.add_argument("--select", help="comma-separated rule codes or prefixes to report (default: all)")
    check.add_argument("--ignore", help="comma-separated rule codes or prefixes to leave out")
    check.add_argument("--fix", action="store_true", help="apply safe fixes to the files")
    check.add_argument("--unsafe-fixes", action="store_true", help="apply unsafe fixes too (implies --fix)")
    check.add_argument("--diff", action="store_true", help="show the fixes as a diff instead of writing them")
    check.add_argument("--python", metavar="PATH", help="the interpreter whose installed packages imports resolve to")
    check.set_defaults(run=cmd_check)

    params = sub.add_parser("params", help="print the parameters each nn.Module class registers")
    params.add_argument("paths", nargs="+", metavar="PATH")
    params.add_argument("--class", dest="class_name", metavar="NAME", help="only this class")
    params.add_argument("--format", choices=("text", "json"), default="text")
    params.add_argument("--python", metavar="PATH", help="the interpreter whose installed packages imports resolve to")
    params.set_defaults(run=cmd_params)

    hover = sub.add_parser("hover", help="what the editor's hover shows at PATH:LINE:COL (1-based; in a notebook PATH:cell N:LINE:COL)")
    hover.add_argument("location", metavar="PATH:LINE:COL")
    hover.add_argument("--python", metavar="PATH", help="the interpreter whose installed packages imports resolve to")
    hover.set_defaults(run=cmd_hover)

    graph = sub.add_parser("graph", help="the dataflow of forward() as a graph: mermaid, dot or json")
    graph.add_argument("target", metavar="FILE[:CLASS]")
    graph.add_argument("--format", choices=("mermaid", "dot", "json"), default="mermaid")
    graph.add_argument("--python", metavar="PATH", help="the interpreter whose installed packages imports resolve to")
    graph.set_defaults(run=cmd_graph)

    rule = sub.add_parser("rule", help="explain a rule (or list them all)")
    rule.add_argument("code", nargs="?")
    rule.set_defaults(run=cmd_rule)

    serve = sub.add_parser("serve", help="run the language server over stdio")
    serve.add_argument("--stdio", action="store_true", help="accepted for editor clients; stdio is the only transport")
    serve.set_defaults(run=lambda a: _serve())
    return parser


def _serve() -> int:
    from .lsp import serve

    serve()
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None, default_command: str | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if default_command and (not argv or argv == ["--stdio"]):
        argv = [default_command, *argv]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        return EXIT_CLEAN if exit.code == 0 else EXIT_ERROR
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        return args.run(args)
    except UsageError as error:
        print(f"torchwire: {error}", file=sys.stderr)
        return EXIT_ERROR
    except ConfigError as error:
        print(f"torchwire: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_CLEAN
    finally:
        while _opened_projects:
            _opened_projects.pop().save()


if __name__ == "__main__":
    sys.exit(main())
