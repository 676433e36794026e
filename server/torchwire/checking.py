"""`torchwire check` over many files: on every core, and from a cache of earlier results.

Each file is analysed on its own (its imports resolved through a project of its worker
process), so the results are the same whatever the number of jobs and come back in the order
of the files. A result is cached under a key of its text, torchwire's version, its settings
and the interpreter imports resolve in, with the files it read (imported classes, their bases)
and their contents: editing an imported block invalidates the results of its users.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .config import Config
from .engine.analysis import analyze
from .engine.findings import Finding, Fix, Severity, TextEdit
from .engine.source import Position, Range
from .packages import file_stamp, text_digest

CACHE_DIR_NAME = ".torchwire_cache"
CACHE_FORMAT = 2  # bumped when an entry's shape changes
MIN_PARALLEL = 4  # fewer files than this are analysed in this process: workers cost more than they save


@dataclass
class Task:
    """One file to analyse: `shown` is the path findings carry (relative to the working
    directory), `text` its decoded text."""

    path: str
    shown: str
    text: str
    config: Config
    with_edits: bool  # compute fix edits now (SARIF reports them)


@dataclass
class Result:
    findings: list[Finding]
    depends: dict[str, list]  # file read -> [mtime_ns, size, digest]


class _Edits:
    """A fix's edits, computed already (picklable, unlike the closure that computes them)."""

    def __init__(self, edits: list[TextEdit] | None) -> None:
        self.edits = edits

    def __call__(self) -> list[TextEdit]:
        if self.edits is None:
            raise RuntimeError("the edits of this fix were not computed")
        return list(self.edits)


def check_text(task: Task, project) -> Result:
    """Analyse one file (never imported or run) and detach its findings from the analysis:
    fixes keep their title and safety, and their edits when asked for."""
    analysis = analyze(task.text, task.shown, task.config, project.resolver(blocking=True))
    findings = [_detached(f, task.with_edits) for f in analysis.findings]
    return Result(findings, _depends(project, task.shown))


def _detached(finding: Finding, with_edits: bool) -> Finding:
    if finding.fix is None:
        return finding
    edits = fix_edits(finding) if with_edits else None
    finding.fix = Fix(finding.fix.title, finding.fix.safe, _Edits(edits), edits)
    return finding


def fix_edits(finding: Finding) -> list[TextEdit] | None:
    """A finding's fix edits; None for a fix that fails to compute (left out of a report)."""
    try:
        return finding.fix.edits()
    except Exception:  # noqa: BLE001 - a fix is a bonus in a report
        return None


def _depends(project, shown: str) -> dict[str, list]:
    """The files a result read, directly or through others, with their contents' stamps."""
    seen: set[str] = set()
    frontier = set(project.uses.get(shown, ()))
    while frontier:
        path = frontier.pop()
        if path in seen:
            continue
        seen.add(path)
        frontier |= project.uses.get(path, set()) - seen
    return {path: _stamp(path) for path in sorted(seen)}


_DIGESTS: dict[str, tuple[list[int] | None, str | None]] = {}


def _stamp(path: str) -> list:
    stamp = file_stamp(path)
    known = _DIGESTS.get(path)
    if known is not None and known[0] == stamp:
        return [*(stamp or [0, 0]), known[1]]
    try:
        digest = text_digest(Path(path).read_text(encoding="utf-8", errors="surrogateescape"))
    except OSError:
        digest = None
    _DIGESTS[path] = (stamp, digest)
    return [*(stamp or [0, 0]), digest]


# ---------------------------------------------------------------------- running


_worker_project = None


def _start_worker(root: str | None, python: str | None) -> None:
    global _worker_project
    from multiprocessing.util import Finalize

    from .project import Project

    _worker_project = Project(root, python)
    # What the worker learnt of installed packages, kept for the next run when it exits.
    Finalize(None, _worker_project.save, exitpriority=10)


def _run_in_worker(task: Task) -> Result:
    return check_text(task, _worker_project)


def run_tasks(tasks: list[Task], jobs: int, project, root: str | None, python: str | None) -> list[Result]:
    """The results of `tasks`, in their order: in this process when one job is asked for (or
    one task is left), else in `jobs` worker processes."""
    if jobs <= 1 or len(tasks) < MIN_PARALLEL:
        return [check_text(task, project) for task in tasks]
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=_context(),
                                 initializer=_start_worker, initargs=(root, python)) as pool:
            return list(pool.map(_run_in_worker, tasks, chunksize=1))
    except (OSError, BrokenProcessPool) as error:  # no semaphores in a container, a worker killed
        print(f"warning: cannot run {jobs} jobs ({error or type(error).__name__}); analysing on one core", file=sys.stderr)
        return [check_text(task, project) for task in tasks]


def _context():
    import multiprocessing

    # Not fork: the caller may have threads (a test runner, an editor's plugin host), and a
    # forked copy of a lock one of them held would never be released. A fork server imports
    # torchwire once and forks the workers from there.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["torchwire.checking", "torchwire.project"])
        return context
    return multiprocessing.get_context("spawn")


def default_jobs() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------- cache


@functools.lru_cache(maxsize=None)
def engine_stamp() -> str:
    """torchwire's own files as installed (sizes and times): a checkout updated in place, or an
    editable install being worked on, gets new results without a new version number."""
    package = Path(__file__).resolve().parent
    stamps = sorted((str(p.relative_to(package)), p.stat().st_size, p.stat().st_mtime_ns) for p in package.rglob("*.py"))
    return hashlib.blake2b(repr(stamps).encode(), digest_size=12).hexdigest()


class ResultCache:
    """One JSON file per result, under `<dir>/<version>/`, written to a temporary file and
    renamed into place: two runs sharing the folder never read a torn entry."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.folder = directory / f"v{__version__}-{CACHE_FORMAT}"
        self.hits = 0
        self.misses = 0

    def key(self, task: Task, python: str | None) -> str:
        settings = json.dumps({"select": task.config.select, "ignore": task.config.ignore,
                               "severity": {k: v.value for k, v in sorted(task.config.severity.items())}}, sort_keys=True)
        basis = "\0".join([__version__, str(CACHE_FORMAT), engine_stamp(), task.shown, text_digest(task.text), settings,
                           python or sys.executable, "edits" if task.with_edits else ""])
        return hashlib.blake2b(basis.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()

    def get(self, key: str) -> Result | None:
        try:
            entry = json.loads(self._file(key).read_text(encoding="utf-8"))
            findings = [_finding_from(data) for data in entry["findings"]]
            depends = entry["depends"]
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        for path, (mtime, size, digest) in depends.items():
            stamp = file_stamp(path)
            if stamp == [mtime, size]:
                continue
            if stamp is None or _stamp(path)[2] != digest:  # touched, or changed
                self.misses += 1
                return None
        self.hits += 1
        return Result(findings, depends)

    def put(self, key: str, result: Result) -> None:
        entry = {"findings": [_finding_to(f) for f in result.findings], "depends": result.depends}
        file = self._file(key)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            self._mark(self.directory)
            fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, file)
        except OSError:  # a read-only checkout: no cache, the same results
            pass

    def _file(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    @staticmethod
    def _mark(directory: Path) -> None:
        """A cache folder tells git and backup tools what it is, as ruff's does."""
        ignore = directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Made by torchwire: a cache, safe to delete.\n*\n", encoding="utf-8")
            (directory / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by torchwire.\n",
                encoding="utf-8")


def cache_directory(explicit: str | None, root: Path) -> Path:
    """`--cache-dir`, else TORCHWIRE_CACHE_DIR, else `.torchwire_cache/` at the project root."""
    chosen = explicit or os.environ.get("TORCHWIRE_CACHE_DIR")
    return Path(chosen) if chosen else root / CACHE_DIR_NAME


def _finding_to(f: Finding) -> dict:
    data = {"code": f.code, "message": f.message, "range": [list(f.range.start), list(f.range.end)],
            "severity": f.severity.value, "unnecessary": f.unnecessary, "path": f.path, "subject": f.subject, "owner": f.owner, "fix": None}
    if f.fix is not None:
        edits = f.fix._edits
        data["fix"] = {"title": f.fix.title, "safe": f.fix.safe,
                       "edits": None if edits is None else [[list(e.range.start), list(e.range.end), e.new_text] for e in edits]}
    return data


def _finding_from(data: dict) -> Finding:
    (sl, sc), (el, ec) = data["range"]
    fix = None
    if data["fix"] is not None:
        raw = data["fix"]["edits"]
        edits = None if raw is None else [TextEdit(Range(Position(*a), Position(*b)), text) for a, b, text in raw]
        fix = Fix(data["fix"]["title"], data["fix"]["safe"], _Edits(edits), edits)
    return Finding(data["code"], data["message"], Range(Position(sl, sc), Position(el, ec)), Severity(data["severity"]),
                   fix, data["unnecessary"], data["path"], data["subject"], data["owner"])

