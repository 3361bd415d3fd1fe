"""The one way in: what every front end (CLI, language server, hooks, `rca bisect`) asks of the core.

Front ends parse their own input and render their own output; everything between goes through
here, so one question has one answer everywhere:

- `index_state` / `ensure_index` / `update_index`: one freshness rule (the index's recorded HEAD
  and shallow boundaries against the repository's), progress passed in as `progress(done, total)`;
- `rank`: the pipeline "index up to date, retrieval (with this repository's tuned fusion, if any),
  the optional model stage, cut to top", or its two halves `retrieve` and `rerank` for a front end
  that shows retrieval's answer before the model's (the language server);
- `require_commits`: "no commits yet" (or an hg working directory at the null revision) is the same
  RepositoryError (exit 3) in every command;
- `read_coverage`: a coverage report as the CLI's `--coverage` and the editor's `coverage` setting read it;
- `record_label`: a failure and its confirmed culprit ranked again and kept as a label (or found
  kept already).

Cancellation is the caller's: the language server runs `update_index` in a child process it can
kill (`rca_lsp.lsp.indexer`), and checks its job between `retrieve` and `rerank`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rca_lsp.errors import ModelError, RepositoryError, install_hint
from rca_lsp.vcs.base import Backend

if TYPE_CHECKING:
    from rca_lsp.index.store import Index
    from rca_lsp.labels.store import Label
    from rca_lsp.traces.coverage import PerTest

Progress = Callable[[int, int], None]
IndexState = Literal["missing", "stale", "current"]


@dataclass(frozen=True)
class Query:
    """What to rank: a failure's text and how many suspects, from which stages."""

    text: str
    since: str | None = None
    top: int = 20  # suspects shown; 0: all
    ranker: str = "none"  # "none" or "llm"
    rerank_top: int = 20  # retrieval's suspects the model re-orders
    model_weight: float | None = None  # the fusion weight of the model's score; None: the manifest's
    device: str = "auto"  # where a model loaded for this query runs: auto, cpu or cuda
    explain: bool = False  # each suspect's feature values
    window: list[str] | None = None  # only these commits (a bisection's range)
    carried: tuple[str, ...] = ()  # a window's uncommitted work-tree files its runs had (a bisection's overlay)
    executed: dict[str, set[int]] | None = None  # lines the failing run executed (a traced run)
    per_test: PerTest | None = None  # a coverage report's tests per line: executed and suspicion from it
    tuned: bool = True  # this repository's tuned fusion (`rca model tune`) when it has one
    regression: bool = True  # the shipped fusion for regressions, where it applies (suspects.learned)
    folder: str = ""  # where rca runs, relative to the root: a relative path of the trace is read from there first

    @property
    def wanted(self) -> int:
        """Suspects retrieval must return: enough for the model stage to choose from."""
        if self.ranker == "none" or self.top <= 0:
            return self.top
        return max(self.top, self.rerank_top)


def read_coverage(repo: Backend, source: str) -> tuple[dict[str, set[int]] | None, PerTest | None, list[str]]:
    """A coverage report as a query reads it, and the warnings it gives: the failing test's run
    (`Query.executed`), or the whole suite's with a context per test (`Query.per_test`). A TraceError
    names the file and the problem (missing, not a report, coverage.py's data file ...)."""
    from rca_lsp.traces.coverage import read_coverage as read

    report = read(source, repo.tracked_files(), repo.root)
    per_test, files = report.per_test, report.executed()
    executed = (files or None) if per_test is None else None
    return executed, per_test, report.warnings(source) + _changed_since(repo, source, files)


def _changed_since(repo: Backend, source: str, files: dict[str, set[int]]) -> list[str]:
    """A warning when files the report covers were written after it (a pull, a checkout, an edit):
    its line numbers may no longer be theirs. The report is still read."""
    import os

    try:
        written = os.stat(source).st_mtime
    except OSError:
        return []
    later = []
    for path in sorted(files):
        try:
            if os.stat(os.path.join(repo.root, path)).st_mtime > written + 1.0:  # 1 s: coarse file-system clocks
                later.append(path)
        except OSError:
            continue
    if not later:
        return []
    shown = ", ".join(later[:3]) + (f" and {len(later) - 3} more" if len(later) > 3 else "")
    return [f"coverage report {source} is older than {len(later)} file(s) it covers ({shown}): they changed after "
            "the run, so its line numbers may not be theirs; run the failing test under coverage again"]


def require_commits(repo: Backend, what: str = "suspect") -> str:
    """HEAD's hash; a RepositoryError (exit 3) when there is none: no commits yet, or (hg, sl) a
    working directory at the null revision (`vcs.no_head` says which, and what to do)."""
    head = repo.head()
    if head is None:
        from rca_lsp.vcs import no_head

        state, hint = no_head(repo)
        raise RepositoryError(f"{state}: there is nothing to {what}", hint=hint)
    return head


def index_state(repo: Backend, head: str | None = None) -> IndexState:
    """missing (never completed), stale (behind HEAD, with commits a migration left to read
    again: state `redo`, or built for other shallow boundaries: a clone deepened or unshallowed
    keeps its HEAD but not its history, or with file versions its diffs lacked that may have
    arrived since: `index.arrivals`) or current. Migrates an older index. `head`: HEAD's hash
    when the caller has just read it (each read starts a VCS process)."""
    from rca_lsp.index import arrivals
    from rca_lsp.index.paths import index_exists

    if not index_exists(repo.checkout_dir):
        return "missing"
    with open_index(repo) as index:
        indexed, redo, shallow = index.get_state("head"), index.get_state("redo"), index.get_state("shallow")
        arrived = indexed is not None and arrivals.pending(repo, index)
    if indexed is None:
        return "missing"
    same_history = set((shallow or "").split()) == repo.shallow_boundary()
    fresh = indexed == (head or repo.head() or "") and not redo and same_history and not arrived
    return "current" if fresh else "stale"


def copies_index(repo: Backend) -> bool:
    """A checkout beside another with an index (a linked worktree beside the main checkout, or
    beside another worktree of a bare repository): its own index starts as a copy of that one
    (`open_index`), so its first update reads only the commits between the two HEADs, no first
    build to ask about."""
    from rca_lsp.index.paths import seed_dir

    return seed_dir(repo.meta_dir, repo.checkout_dir) is not None


def update_index(repo: Backend, progress: Progress | None = None, thorough: bool = True):
    """Bring the index up to HEAD (incremental; creates it) and return the update's report.
    `thorough` checks the database first (SQLite's quick_check); the background indexers of the
    hooks and the language server skip it."""
    from rca_lsp.index import update

    with open_index(repo, thorough=thorough) as index:
        return update(repo, index, progress=progress)


def folder_of(repo: Backend, path: str) -> str:
    """Where `path` (the folder rca was pointed at) is in the repository, relative to its root; ""
    at the root or outside it. pytest run in a subfolder prints paths from there."""
    root, here = Path(repo.root).resolve(), Path(path).resolve()
    folder = here.relative_to(root).as_posix() if here.is_relative_to(root) else ""
    return "" if folder == "." else folder


def open_index(repo: Backend, readonly: bool = False, thorough: bool = False) -> Index:
    """This checkout's index (`Index.open`): in the VCS folder, a linked git worktree's own, since
    its HEAD is its own; a new one of a worktree starts as a copy of the main checkout's."""
    from rca_lsp.index import Index

    return Index.open(repo.checkout_dir, readonly=readonly, thorough=thorough, seed=repo.meta_dir)


def migrate_index(repo: Backend) -> None:
    """Create or upgrade the index without reading history; an index folder this process cannot
    write (a shared, read-only index) is left as it is and read as it is."""
    from rca_lsp.errors import IndexError_

    try:
        with open_index(repo):
            pass
    except IndexError_:
        pass


def _require_built(repo: Backend) -> None:
    """An index never built ranks nothing: that is not "no suspects" (read-only, as it is)."""
    from rca_lsp.errors import IndexError_

    with open_index(repo, readonly=True) as index:
        built = index.get_state("head") is not None
    if not built:
        raise IndexError_("this repository has no index yet (--no-update ranks the index as it is)",
                          hint="run `rca index` first, or leave out --no-update")


def ensure_index(repo: Backend, progress: Progress | None = None, head: str | None = None):
    """`update_index` unless the index is current; None when nothing had to be done."""
    if index_state(repo, head) == "current":
        return None
    return update_index(repo, progress)


TUNED_NOTE = ("ranked by this repository's tuned fusion {name}, learned from its own confirmed culprits "
              "(`rca model tune`; off: --no-fusion, or `rca model use none`)")


def retrieve(repo: Backend, query: Query, head: str | None = None):
    """Retrieval's ranking over the index as it is (see `ensure_index`), cut to `query.wanted`.
    `head`: HEAD's hash, when the caller has checked that there is one."""
    from rca_lsp.labels.versions import current
    from rca_lsp.suspects import find_suspects
    from rca_lsp.suspects.learned import load_regression_fusion
    from rca_lsp.vcs import unfollowed_replacements

    if head is None:
        require_commits(repo)
    fusion = current(repo.meta_dir) if query.tuned else None
    regression = load_regression_fusion() if query.regression else None
    with open_index(repo, readonly=True) as index:
        result = find_suspects(repo, index, query.text, since=query.since, top=query.wanted, window=query.window,
                               executed=query.executed, explain=query.explain, fusion=fusion,
                               per_test=query.per_test, regression=regression, carried=query.carried,
                               folder=query.folder)
        result.notes += _lacking_note(repo, index, query, result.candidates)
    if fusion is not None and not query.executed:  # a traced run ranks by the weighted sum (find_suspects)
        result.notes.append(TUNED_NOTE.format(name=fusion.version or "tuned"))
    replaced = unfollowed_replacements(repo)
    if replaced:
        result.warnings.append(replaced)
    return result


def _lacking_note(repo: Backend, index, query: Query, candidates: int) -> list[str]:
    """A note on the candidates indexed without some hunks (a partial clone lacked versions of their
    files), and how to fill them in; none where every candidate is whole."""
    from rca_lsp.index import arrivals

    if not arrivals.lacks_versions(index):
        return []
    window = query.window if query.window is not None else (repo.reachable(query.since) if query.since else None)
    count = arrivals.lacking(index, None if window is None else set(window))
    return [arrivals.note(count, candidates)] if count else []


def rerank(repo: Backend, result, query: Query, model=None):
    """The model stage over retrieval's `result`, cut to `query.top`. `model` is a loaded
    `LogProbModel` to reuse (the server keeps one); None loads the built one."""
    try:
        from rca_lsp.ranker import Fusion
        from rca_lsp.ranker import rerank as model_rerank
    except ImportError as exc:
        raise ModelError(f"the ranker needs its extra ({exc})", hint=install_hint("ranker")) from exc
    fusion = Fusion() if query.model_weight is None else Fusion(weight=float(query.model_weight))
    ranked = model_rerank(result, query.text, repo, k=query.rerank_top, model=model, fusion=fusion,
                          device=query.device)
    return cut(ranked, query.top)


def rank(repo: Backend, query: Query, update: bool = True, model=None):
    """The whole pipeline: the index brought up to date (unless `update` is False), retrieval,
    the model stage when `query.ranker` is "llm", the first `query.top` suspects."""
    head = require_commits(repo)
    if update:
        ensure_index(repo, head=head)
    else:
        migrate_index(repo)
        _require_built(repo)
    result = retrieve(repo, query, head)
    if query.ranker == "llm":
        return rerank(repo, result, query, model)
    return cut(result, query.top)


def cut(result, top: int):
    """`result` with its first `top` suspects (all when `top` is 0)."""
    if top <= 0 or len(result.suspects) <= top:
        return result
    return dataclasses.replace(result, suspects=result.suspects[:top])


def record_label(repo: Backend, failure: str, culprit_rev: str, source: str) -> RecordedLabel:
    """The failure ranked again over HEAD's history with the ranker in use (the index brought up to
    date first), kept with its confirmed culprit as a label; the same label stored before is kept
    as it was (`added` says which)."""
    from rca_lsp.labels.store import record_all

    label = _ranked_label(repo, failure, culprit_rev, source)
    [(label_id, added)] = record_all(repo.meta_dir, [label])
    return RecordedLabel(label, label_id, added)


@dataclass(frozen=True)
class RecordedLabel:
    label: Label
    id: int
    added: bool  # False: the same label (failure, culprit, candidates) was stored before, left as it was


def _ranked_label(repo: Backend, failure: str, culprit_rev: str, source: str) -> Label:
    from rca_lsp.labels.capture import make
    from rca_lsp.labels.versions import current_name

    culprit = repo.resolve(culprit_rev)
    ensure_index(repo)
    result = retrieve(repo, Query(failure, top=0, explain=True))
    shown = [s.commit.hash for s in result.suspects]
    ranker = current_name(repo.meta_dir) or _fusion_name(result) or "retrieval"
    return make(result.features, culprit, failure, source, shown, ranker, repo.head())


def _fusion_name(result) -> str | None:
    """The shipped fusion's version when it ranked `result` (its note says so), else None."""
    from rca_lsp.suspects.learned import load_regression_fusion
    from rca_lsp.suspects.retrieve import REGRESSION_NOTE

    if REGRESSION_NOTE not in result.notes:
        return None
    return load_regression_fusion().plain.version  # a label's ranking runs without coverage


def check_failures(repo: Backend, commits: set[str], top: int):
    """The open failures (`rca failures`) for which one of `commits` ranks in the top `top`, with
    the evidence that points at it: what the pull and push hooks report."""
    from rca_lsp import failures

    with open_index(repo, readonly=True) as index:
        return failures.check(repo, index, commits, top=top)
