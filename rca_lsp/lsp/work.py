"""The slow, blocking work the server runs in worker threads: index, rank, show a commit.

Plain functions over the core; each checks its `Job` between steps so a cancel stops it at the
next safe point (ingest commits whole batches, so a cancelled index stays consistent).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rca_lsp import DROP_WORKING_DIRECTORY
from rca_lsp.errors import IndexError_, ModelError, RcaError, RepositoryError, TraceError, install_hint
from rca_lsp.lsp import convert
from rca_lsp.lsp.jobs import Job
from rca_lsp.lsp.options import Options
from rca_lsp.vcs.base import Backend

if TYPE_CHECKING:
    from rca_lsp.ranker.session import LogProbModel

log = logging.getLogger(__name__)

Report = Callable[[str, "int | None"], None]
HASH = re.compile(r"^[0-9a-fA-F]{4,64}$")
MAX_SHOW_BYTES = 2 * 1024 * 1024


# The indexer's Python, started in the server's working directory (editors start the server in the
# workspace folder): `-c` with that directory off sys.path first, as the hooks do (hooks.HOOK_CODE),
# so that a repository's own six.py or click/ never stands in for rca's.
INDEXER_CODE = DROP_WORKING_DIRECTORY + "from rca_lsp.lsp.indexer import main; sys.exit(main(sys.argv[1:]))"


def run_index(repo: Backend, job: Job, report: Report) -> str:
    """Index in a child process (see `indexer`), relaying its progress; a cancel kills it."""
    job.check()
    report("reading history", None)
    proc = subprocess.Popen([sys.executable, "-c", INDEXER_CODE, repo.root], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    lines: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
    reader.start()
    last: dict = {}
    try:
        while True:
            if job.cancelled:
                _kill(proc)
                job.check()
            try:
                line = lines.get(timeout=0.05)
            except queue.Empty:
                if proc.poll() is not None and not reader.is_alive() and lines.empty():
                    break
                continue
            try:
                last = json.loads(line)
            except ValueError:
                continue
            if "done" in last:
                report(f"{last['done']}/{last['total']} commits", int(100 * last["done"] / max(last["total"], 1)))
    finally:
        if proc.poll() is None:
            _kill(proc)
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        proc.wait()
    if "error" in last:
        raise IndexError_(last["error"])
    if "message" not in last:
        log.warning("indexer failed: %s", stderr[-2000:])
        raise IndexError_(f"indexing failed (exit {proc.returncode}): {stderr.strip().splitlines()[-1:] or ''}",
                          hint="run `rca index -v` in a terminal for details")
    return last["message"]


def _pump(stream: IO[bytes] | None, lines: queue.Queue[bytes]) -> None:
    """The child's output, line by line, into `lines` (read in a thread: the wait must stay cancellable)."""
    for line in stream or ():
        lines.put(line)


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


class Ranker:
    """The optional language-model re-ranker, loaded once and kept (`ranker: "llm"`).

    One scoring at a time: a dropped model stage may still be finishing in its thread, and two
    runs of the model would only share the same cores."""

    def __init__(self) -> None:
        self._model: LogProbModel | None = None
        self._lock = threading.Lock()

    def rerank(self, repo: Backend, result, query):
        from rca_lsp import service

        with self._lock:
            if self._model is None or self._model.device != query.device:  # a changed setting reloads
                try:
                    from rca_lsp.ranker.session import LogProbModel
                except ImportError as exc:
                    raise ModelError(f"the ranker needs its extra ({exc})", hint=install_hint("ranker")) from exc
                self._model = LogProbModel(device=query.device)
            return service.rerank(repo, result, query, model=self._model)

    @property
    def fallback(self) -> str | None:
        """Why the model runs elsewhere than the `device` setting asks, if it does."""
        return self._model.fallback if self._model is not None else None


def query(text: str, options: Options, executed=None, per_test=None, folder: str = ""):
    """The service's query for the editor's settings (and a coverage report's lines, if read);
    `folder`: the workspace folder's place in the repository (`service.Query.folder`)."""
    from rca_lsp import service

    return service.Query(text, since=options.since, top=options.top, ranker=options.ranker,
                         rerank_top=options.rerank_top, model_weight=options.model_weight, device=options.device,
                         tuned=options.fusion, regression=options.fusion, executed=executed, per_test=per_test,
                         folder=folder)


def read_coverage(repo: Backend, setting: str | None):
    """The `coverage` setting's report as the query reads it (executed, per_test) and its notes. A
    report that is missing or no report is a note, and the ranking runs without coverage: the setting
    may name a file the next test run writes."""
    from rca_lsp import service

    if not setting:
        return None, None, []
    path = Path(setting).expanduser()
    path = path if path.is_absolute() else Path(repo.root) / path
    try:
        return service.read_coverage(repo, str(path))
    except TraceError as exc:
        return None, None, [f"{exc}; ranked without coverage"]


def run_suspects(repo: Backend, text: str, options: Options, job: Job, report: Report, update_first: bool,
                 folder: str = ""):
    """Retrieval's answer (the first stage), after bringing the index up to HEAD when asked, and
    the frame lines uncommitted changes touch (`edited_lines`)."""
    from rca_lsp import service

    service.require_commits(repo)
    if update_first:
        report("bringing the index up to HEAD", None)
        run_index(repo, job, report)
    job.check()
    report("ranking commits", None)
    executed, per_test, notes = read_coverage(repo, options.coverage)
    result = service.retrieve(repo, query(text, options, executed, per_test, folder))
    result.warnings[:0] = notes
    job.check()
    return result, edited_lines(repo, result)


def edited_lines(repo: Backend, result) -> frozenset[tuple[str, int]]:
    """The frame lines (path, line) that the work tree's uncommitted changes touch, where the first
    warning says they touch a frame's line (`uncommitted.touched_frames`): the editor marks those
    lines, where a code lens would otherwise name a commit alone."""
    from rca_lsp.suspects.uncommitted import WARNING_START, changed_code_paths, touched_frames

    if not any(w.startswith(WARNING_START) for w in result.warnings):
        return frozenset()
    untracked = set(repo.untracked_files())
    live = set(repo.modified_files()) | untracked
    paths = changed_code_paths(result.traces, [], live - untracked)
    changes = repo.worktree_changes(paths) if paths else {}
    return frozenset((f.path, f.line) for f in touched_frames(result.traces, live, untracked, changes)
                     if f.path and f.line)


def confirm_suspect(repo: Backend, text: str, commit: str) -> dict:
    """The editor's "this was it": the failure, its candidates and the culprit, stored as a label."""
    from rca_lsp import service

    recorded = service.record_label(repo, text, commit, "editor")
    label = recorded.label
    return {"label": recorded.id, "added": recorded.added, "culprit": label.culprit, "rank": label.rank,
            "ranker": label.ranker, "candidates": label.total}


def rerank(ranker: Ranker, repo: Backend, text: str, result, options: Options, job: Job):
    """The model's ranking of retrieval's `result`, cut to `top`; ModelError when it cannot run."""
    job.check()
    ranked = ranker.rerank(repo, result, query(text, options))
    job.check()
    return ranked


def show_commit(repo: Backend, rev: object) -> str:
    """The commit named by its hash as people read it (header, message, stat, patch), from git,
    hg or sl alike; nothing but a hash is accepted (`rev` is the client's JSON value, named as given)."""
    if not isinstance(rev, str) or not HASH.match(rev):
        given = "none given" if rev is None else convert.json_text(rev, 80)
        raise RepositoryError(f"not a commit hash: {given}", hint="pass the hex hash of a suspect")
    text = repo.show_commit(repo.resolve(rev))
    if len(text) > MAX_SHOW_BYTES:
        text = text[:MAX_SHOW_BYTES] + "\n… (diff truncated)\n"
    return text


def read_trace_file(path: str, roots: list[str]) -> str:
    """A trace document the client has not opened, read only when it lies inside a workspace root."""
    full = Path(path).resolve()
    if not any(full.is_relative_to(Path(r).resolve()) for r in roots):
        raise RcaError(f"{path} is outside the workspace; open it in the editor or pass its text")
    from rca_lsp.traces import read

    return read.read_trace_file(full, path)
