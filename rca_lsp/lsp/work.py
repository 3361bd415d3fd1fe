"""The slow, blocking work the server runs in worker threads: index, rank, show a commit.

Plain functions over the core; each checks its `Job` between steps so a cancel stops it at the
next safe point (ingest commits whole batches, so a cancelled index stays consistent).
"""

from __future__ import annotations

import contextlib
import dataclasses
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

from rca_lsp.errors import IndexError_, ModelError, RcaError, RepositoryError
from rca_lsp.lsp.jobs import Job
from rca_lsp.lsp.options import Options

if TYPE_CHECKING:
    from rca_lsp.ranker.session import LogProbModel

log = logging.getLogger(__name__)

Report = Callable[[str, "int | None"], None]
HASH = re.compile(r"^[0-9a-fA-F]{4,64}$")
MAX_SHOW_BYTES = 2 * 1024 * 1024


def index_state(repo) -> str:
    """missing (never completed), stale (behind HEAD) or current."""
    from rca_lsp.index import Index
    from rca_lsp.index.paths import index_exists

    if not index_exists(repo.meta_dir):
        return "missing"
    with Index.open(repo.meta_dir) as index:  # migrates an older index, as `rca suspects` does
        head = index.get_state("head")
    if head is None:
        return "missing"
    return "current" if head == (repo.head() or "") else "stale"


def run_index(repo, job: Job, report: Report) -> str:
    """Index in a child process (see `indexer`), relaying its progress; a cancel kills it."""
    job.check()
    report("reading history", None)
    proc = subprocess.Popen([sys.executable, "-m", "rca_lsp.lsp.indexer", repo.root], stdin=subprocess.DEVNULL,
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

    def rerank(self, result, text: str, repo, options: Options):
        from rca_lsp.ranker import Fusion, rerank

        fusion = Fusion() if options.model_weight is None else Fusion(weight=float(options.model_weight))
        with self._lock:
            if self._model is None or self._model.device != options.device:  # a changed setting reloads
                from rca_lsp.ranker.session import LogProbModel

                self._model = LogProbModel(device=options.device)
            return rerank(result, text, repo, k=options.rerank_top, model=self._model, fusion=fusion)

    @property
    def fallback(self) -> str | None:
        """Why the model runs elsewhere than the `device` setting asks, if it does."""
        return self._model.fallback if self._model is not None else None


def run_suspects(repo, text: str, options: Options, job: Job, report: Report, update_first: bool):
    from rca_lsp.index import Index
    from rca_lsp.suspects import find_suspects

    if repo.head() is None:
        raise RepositoryError("the repository has no commits yet: there is nothing to suspect")
    if update_first:
        report("bringing the index up to HEAD", None)
        run_index(repo, job, report)
    job.check()
    report("ranking commits", None)
    wanted = options.top if options.ranker == "none" or options.top <= 0 else max(options.top, options.rerank_top)
    from rca_lsp.labels.versions import current

    with Index.open(repo.meta_dir, readonly=True) as index:
        result = find_suspects(repo, index, text, since=options.since, top=wanted, fusion=current(repo.meta_dir))
    job.check()
    return result


def confirm_suspect(repo, text: str, commit: str) -> dict:
    """The editor's "this was it": the failure, its candidates and the culprit, stored as a label."""
    from rca_lsp.labels.capture import from_failure
    from rca_lsp.labels.store import record

    label = from_failure(repo, text, commit, "editor")
    return {"label": record(repo.meta_dir, label), "culprit": label.culprit, "rank": label.rank,
            "ranker": label.ranker, "candidates": label.total}


def rerank(ranker: Ranker, repo, text: str, result, options: Options, job: Job):
    """The model's ranking of retrieval's `result`, cut to `top`; ModelError when it cannot run."""
    job.check()
    try:
        ranked = ranker.rerank(result, text, repo, options)
    except ImportError as exc:
        raise ModelError(f"the ranker needs its extra ({exc})", hint="pip install 'rca-lsp[ranker]'") from exc
    job.check()
    return cut(ranked, options.top)


def cut(result, top: int):
    """`result` with its first `top` suspects (all when `top` is 0)."""
    if top <= 0 or len(result.suspects) <= top:
        return result
    return dataclasses.replace(result, suspects=result.suspects[:top])


def show_commit(repo, rev: str) -> str:
    """`git show --stat -p` of one commit named by its hash; nothing else is accepted."""
    if not isinstance(rev, str) or not HASH.match(rev):
        raise RepositoryError(f"not a commit hash: {str(rev)[:80]!r}", hint="pass the hex hash of a suspect")
    sha = repo.resolve(rev)
    text = repo.git_text("show", "--stat", "-p", "--no-color", "--format=fuller", "--end-of-options", sha)
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
