"""Retrieval: every candidate commit scored from the failure, with the evidence for each point.

Features (each scaled to 0..1 across candidates, then weighted; frame, code and the blamed pair
are read from the code the trace points at, in `codefacts`):
- frame: the commit last changed a line at or near an in-repository, non-test frame line
  (blame at HEAD through the index; nearer lines and inner frames count more);
- code: the commit changed a function the failure points at (a frame's function, or what the
  failing test calls, a few hops), weighted by log(1 + lines it changed there);
- blamed: the same functions' lines at HEAD, blamed: the commit last changed lines that are still
  there, weighted by log(1 + such lines) (code counts a change later rewritten as much as one that
  stands). Weight 0 in the sum; the fusion for regressions reads it (see `learned`);
- blamed_newest: of the commits owning lines of such a function at HEAD, the newest counts the
  function's weight, the next half of it, ...; the commit's largest such value (weight 0 in the
  sum; the fusion for regressions reads it);
- words: the failure's words match the commit's message, changed symbol names and diff (BM25);
- recency: a small tie-breaker for newer commits;
- coupling: the commit changed a file that history changes together with the failing test's file
  (see `coupling`): what a test is about when the call graph cannot follow it;
- executed: lines the commit last changed ran in the failing test (only when the run was traced,
  as `rca bisect` does at BAD: see `rca_lsp.bisect.coverage`);
- owner: the commit's author owns failing code by CODEOWNERS or OWNERS files (see `owners`);
- authorship: the commit's author wrote much of the failing code's history (the same, from history);
- data: the words of the failing test's string literals match the commit's changed names and diff
  (see `test_data`): what a test whose subject is data (HTML, a command line, a pattern) is about.
  Weight 0 (evidence only): it lowered the leave-one-project-out figures (BENCHMARKS.md).
- since_test: the commit is no older than the newest change to a committed failing test, which
  most likely passed when it was changed (see `test_change`); 0 for every candidate where no such
  change is known. A prior like recency, not evidence: the result says where the line was drawn (`notes`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rca_lsp.errors import RepositoryError
from rca_lsp.index.store import Index
from rca_lsp.kinds import FEATURE_OF, OWNERSHIP, EvidenceKind, Feature
from rca_lsp.suspects.code_view import CodeView
from rca_lsp.suspects.codefacts import Board, blamed_features, code_features, frame_features
from rca_lsp.suspects.context import context_features
from rca_lsp.suspects.coupling import coupled_files, coupling_points, failing_test_files
from rca_lsp.suspects.executed import executed_points, spectrum
from rca_lsp.suspects.history import History
from rca_lsp.suspects.learned import (REGRESSION_NOTE, Model, RegressionFusion, learned_score, regression_model,
                                      regression_score)
from rca_lsp.suspects.moves import followed
from rca_lsp.suspects.owners import Owners, failing_files, owner_points
from rca_lsp.suspects.reach import frame_targets, pointed_frames, test_targets
from rca_lsp.suspects.submodules import Submodules, resolved
from rca_lsp.suspects.targets import Target
from rca_lsp.suspects.test_change import last_test_change
from rca_lsp.suspects.test_data import FailingTestData, data_evidence, data_matches, failing_test_data
from rca_lsp.suspects.uncommitted import changed_code_paths, uncommitted_warning
from rca_lsp.suspects.words import failure_words, match, matched_terms
from rca_lsp.testpaths import is_test_path
from rca_lsp.traces.collection import NO_RUN, collection_warnings
from rca_lsp.types import Evidence, Suspect, Trace

if TYPE_CHECKING:
    from rca_lsp.traces.coverage import PerTest
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """Fitted on the Defects4J dev split by scripts/bench_tune.py (leave-one-project-out figures in
    BENCHMARKS.md); the hand-set start was frame 1, code 1, words 0.5, recency 0.05."""

    frame: float = 1.5
    code: float = 1.0
    words: float = 1.0
    recency: float = 0.4
    coupling: float = 1.0  # 1.0 in every fold of both benchmarks (BENCHMARKS.md)
    executed: float = 1.0  # only where the failing run was traced (rca bisect); fitted on the Python track
    blamed: float = 0.0  # read by the fusion for regressions only (BENCHMARKS.md)
    blamed_newest: float = 0.0  # as blamed
    file: float = 0.0  # computed and fitted, but it did not help on the dev split: shown as evidence only
    # Declared owners (CODEOWNERS/OWNERS): no dev case has owner files, so this is set, not fitted: a
    # quarter of a feature, enough to order otherwise equal candidates, never to outvote a frame.
    owner: float = 0.25
    authorship: float = 0.0  # fitted: folds chose 0 to 0.25, all 92 cases 0 (BENCHMARKS.md); evidence only
    # The failing test's strings: folds chose 0.25 to 0.5 and the held-out projects lost (LOPO top-1
    # 42.4% -> 40.2%, BENCHMARKS.md); computed and shown as evidence only.
    data: float = 0.0
    # Not fitted on the dev split, where no failing test is committed and changed before HEAD: set from
    # the Python training data (models/DATA.md), leave-one-repository-out (BENCHMARKS.md).
    since_test: float = 1.5

    def of(self, feature: Feature) -> float:
        """The weight of a scored feature (rca_lsp.kinds.SCORED: one field each)."""
        return getattr(self, feature.value)


FRAME_CAP = 1.5


@dataclass
class Result:
    suspects: list[Suspect]
    candidates: int
    traces: list[Trace]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    features: dict[str, dict[str, float]] = field(default_factory=dict)  # hash -> feature -> 0..1
    test_code: tuple[str, ...] = ()  # the failing test methods' code (what the tuned scorer reads)
    notes: list[str] = field(default_factory=list)  # how the ranking was made, where the user should know
    hints: list[str] = field(default_factory=list)  # what the user could add that would tell more


def ignore_revs(repo: Backend) -> set[str]:
    configured = repo.config("blame.ignoreRevsFile") if hasattr(repo, "config") else None
    candidates = [configured] if configured else [".git-blame-ignore-revs"]
    out: set[str] = set()
    for name in candidates:
        path = (Path(repo.root) / name).resolve()
        if not path.is_relative_to(Path(repo.root).resolve()) or not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            if len(line) >= 7:
                out.add(line)
    return out


def _word_features(board: Board, history: History, traces: list[Trace]) -> list[str]:
    terms = failure_words(traces)
    for commit_id, score in match(history.index, terms).items():
        if commit_id in history.position:
            board.add(Feature.WORDS, commit_id, score, None)
    return terms


def _data_features(board: Board, history: History, repo: Backend, view: CodeView, traces: list[Trace],
                   terms: list[str]) -> FailingTestData:
    """The failing test's strings, less the failure's own words (the words feature has those)."""
    data = failing_test_data(view, traces, lambda blob: dict(repo.read_blobs([blob])).get(blob), set(terms))
    for commit_id, score in data_matches(history.index, data.terms).items():
        if commit_id in history.position:
            board.add(Feature.DATA, commit_id, score, None)
    return data


def _word_evidence(index: Index, commit_id: int, value: float, terms: list[str]) -> Evidence | None:
    found = matched_terms(index, commit_id, terms)
    if not found:
        return None
    return Evidence(EvidenceKind.WORDS, value, "its message, changed names or diff share the failure's words: "
                    + ", ".join(found[:8]))


def _normalise(table: dict[int, float], cap: float | None = None) -> dict[int, float]:
    if not table:
        return {}
    if cap is not None:
        return {k: min(v, cap) for k, v in table.items()}
    top = max(table.values()) or 1.0
    return {k: v / top for k, v in table.items()}


def features(board: Board, history: History) -> dict[int, dict[Feature, float]]:
    """Each candidate's features scaled to 0..1 (recency for every candidate, others when present)."""
    points = board.points
    scaled = {Feature.FRAME: _normalise(points.get(Feature.FRAME, {}), cap=FRAME_CAP),
              Feature.FILE: _normalise(points.get(Feature.FILE, {}), cap=1.0),
              Feature.CODE: _normalise(points.get(Feature.CODE, {})),
              Feature.BLAMED: _normalise(points.get(Feature.BLAMED, {})),
              Feature.BLAMED_NEWEST: _normalise(points.get(Feature.BLAMED_NEWEST, {})),
              Feature.WORDS: _normalise(points.get(Feature.WORDS, {})),
              Feature.DATA: _normalise(points.get(Feature.DATA, {})),
              Feature.OWNER: _normalise(points.get(Feature.OWNER, {}), cap=1.0),
              Feature.AUTHORSHIP: _normalise(points.get(Feature.AUTHORSHIP, {}), cap=1.0),
              Feature.COUPLING: _normalise(points.get(Feature.COUPLING, {}), cap=1.0),
              Feature.EXECUTED: _normalise(points.get(Feature.EXECUTED, {}), cap=1.0),
              Feature.SINCE_TEST: points.get(Feature.SINCE_TEST, {})}
    total = max(history.candidates, 1)
    out: dict[int, dict[Feature, float]] = {}
    for commit_id, pos in history.position.items():
        row = {Feature.RECENCY: 1.0 - pos / total}
        for name, table in scaled.items():
            if commit_id in table:
                row[name] = table[commit_id]
        out[commit_id] = row
    return out


def score(table: dict[int, dict[Feature, float]], position: Mapping[int, int],
          weights: Weights) -> list[tuple[float, int]]:
    """Retrieval's weighted sum, best first, ties to the newer commit (`position`: 0 is HEAD); the
    one definition, which `labels.evaluate` scores stored features with too."""
    ranked = []
    for commit_id, row in table.items():
        value = sum(weights.of(name) * v for name, v in row.items())
        ranked.append((value, commit_id))
    ranked.sort(key=lambda item: (-item[0], position[item[1]]))
    return ranked


def _candidates(repo: Backend, since: str | None) -> list[str]:
    """The commits to rank; an empty `--since` range is the caller's mistake, not "no suspects"."""
    commits = repo.reachable(since)
    if since is not None and not commits:
        raise RepositoryError(f"the range {since}..HEAD is empty: no commit to rank",
                              hint="give --since an ancestor of HEAD: the commits after it are ranked")
    return commits


FROM_ELSEWHERE = ("no frame of the trace is in this repository (is it from another project?); "
                  "ranked on words and recency only")


COVERAGE_HINT = ("the trace points at no code of this repository outside its tests: the failing test's coverage "
                 "(`rca suspects --coverage REPORT`, or the editors' coverage setting) tells which code it ran")


def _from_elsewhere(traces: list[Trace], targets: list[Target]) -> bool:
    """Nothing of the failure is found here: no frame, no failing test (by path or by name). A
    failure named by its test alone always names one, so the test counts only when it is found."""
    if any(f.path and not f.external for t in traces for f in t.all_frames()):
        return False
    return not targets and not any(t.test and t.test.path for t in traces)


def _gather(board: Board, repo: Backend, history: History, view: CodeView, traces: list[Trace],
            worktree: dict, tracked: list[str], live: set[str], run: tuple) -> tuple[list, list[Target]]:
    """The evidence of frames, the code the failure reaches, its blame and owners, the lines the
    failing run executed and the files changed with the failing test, on `board`; (the frames that
    point into the repository, the targets). `run`: (executed lines or None, their suspiciousness,
    whether the failure ran in the work tree)."""
    executed, suspicion, in_worktree = run
    pointed = pointed_frames(view, traces, worktree)
    frame_features(board, history, pointed)
    targets = frame_targets(pointed) + test_targets(view, traces)
    code_features(board, history, view, targets)
    blamed_features(board, history, targets)
    for feature, commit_id, value, evidence in owner_points(Owners(repo, history, tracked), history,
                                                            failing_files(traces, targets)):
        board.add(feature, commit_id, value, evidence, mode="max")
    if executed:
        # A coverage report (`--coverage`) keeps what the test itself ran; `rca bisect`'s traced
        # window keeps every line (import-time lines not measured there, BENCHMARKS.md).
        edited = sorted(set(executed) & live)  # the run saw these files' uncommitted lines
        for commit_id, value, evidence in executed_points(history, executed, view if in_worktree else None,
                                                          suspicion, repo.worktree_changes(edited) if edited else None):
            board.add(Feature.EXECUTED, commit_id, value, evidence)
    coupled = coupled_files(history, failing_test_files(traces, set(tracked) | live))
    for commit_id, value, evidence in coupling_points(history, coupled):
        board.add(Feature.COUPLING, commit_id, value, evidence, mode="max")
    return pointed, targets


def _ranked(table, context, history: History, weights: Weights, fusion: Model | None,
            model, notes: list[str]) -> list:
    """The candidates in order: by a learned `fusion` when given, else by the weighted sum, which
    the fusion for regressions (`model`) re-ranks where it applies (and says so in `notes`)."""
    if fusion is not None:
        return learned_score(fusion, table, context, history.position, weights)
    ranked = score(table, history.position, weights)
    if model is not None:
        ranked = regression_score(model, table, context, ranked, history.position)
        notes.append(REGRESSION_NOTE)
    return ranked


def find_suspects(repo: Backend, index: Index, text: str, since: str | None = None, top: int = 20,
                  weights: Weights = Weights(), explain: bool = False, window: list[str] | None = None,
                  executed: dict[str, set[int]] | None = None, fusion: Model | None = None,
                  per_test: PerTest | None = None, regression: RegressionFusion | None = None,
                  carried: Collection[str] = (), folder: str = "") -> Result:
    """Rank the commits reachable from HEAD (after `since`), or those of `window` (newest first, every
    commit before its parents) when given. A failure ranked over a window happened at the window's
    newest commit, not in the work tree (`rca bisect` ran it in a checkout of that commit), so the
    work tree's uncommitted changes and files are then left out, but for `carried`: the uncommitted
    files laid into each checkout (a test being written), as the work tree holds them. `executed`
    (path -> lines) is what the failing run executed, when it was run under the line tracer (`rca
    bisect`). `fusion`, a learned model (rca_lsp.suspects.learned), replaces the weighted sum,
    except where lines were traced (it never saw the executed feature). `per_test` (a coverage report with a context per
    test) gives `executed` from the contexts that name the trace's failing tests, each line weighted
    by its suspiciousness against the passing tests' runs. `regression`, the fusion for regressions
    (`learned.load_regression_fusion`), replaces the weighted sum where the failing test is committed
    and passed at its last change (since_test drew its line), unless `fusion` is given or the
    history is shorter than any its model was trained on; with a coverage report, its model that
    reads the executed feature. `folder`: where rca runs, relative to the root, whence a relative
    path of the trace is read first."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    traces, live, tracked, inside = _read_trace(repo, text, set(carried) if window is not None else None, folder)
    timings["parse"] = time.perf_counter() - started
    warnings = collection_warnings(text)  # a pytest collection error, a unittest import error: no test ran
    suspicion = None
    if per_test is not None:
        executed, suspicion = spectrum(per_test, traces, warnings) or (executed, None)
    history = History(index, window if window is not None else _candidates(repo, since), ignore_revs(repo))
    traces = followed(traces, history, set(tracked) | live)
    view = CodeView(index, repo.root, live)
    frame_paths = sorted({f.path for t in traces for f in t.all_frames() if f.path and not f.external})
    worktree = repo.worktree_changes(frame_paths) if frame_paths and window is None else {}
    timings["setup"] = time.perf_counter() - started - timings["parse"]
    board = Board()
    pointed, targets = _gather(board, repo, history, view, traces, worktree, tracked, live,
                               (executed, suspicion, window is None))
    # Not inside a range the user bounded (`--since`, a bisect window): there, on the training
    # repositories, the tests edited while they failed cost more than the bound gave (BENCHMARKS.md).
    drawn, notes = (_since_test_features(board, history, view, traces, live, weights)
                    if since is None and window is None else (False, []))
    model = regression_model(regression, drawn and fusion is None and weights.since_test > 0,
                             bool(executed), history.candidates)
    terms = _word_features(board, history, traces)
    mark = time.perf_counter()
    data = _data_features(board, history, repo, view, traces, terms)
    timings["data"] = time.perf_counter() - mark
    table = features(board, history)
    context = context_features(history, live) if explain or fusion is not None or model is not None else {}
    ranked = _ranked(table, context, history, weights, fusion if not executed else None, model, notes)
    suspects, explained = _suspects(ranked[:len(ranked) if top <= 0 else top], board, history, index, terms,
                                    data, weights, table, context if explain else None)
    timings["total"] = time.perf_counter() - started
    if window is None:  # a bisect window's failure ran in a checkout, without the work tree's edits
        warnings[:0] = _uncommitted(repo, traces, targets, live, tracked, (set(frame_paths), worktree))
    hints = _warn_and_hint(warnings, history, traces, targets, bool(pointed) or _in_code(traces), bool(executed) or per_test is not None
                           or window is not None or any(w.startswith(NO_RUN) for w in warnings), inside)
    return Result(suspects, history.candidates, traces, timings, warnings, explained, data.code, notes, hints)


def _in_code(traces: list[Trace]) -> bool:
    """A frame in the repository's code outside its tests (its line may be uncommitted: no commit to
    point at, but the trace does point at code, so coverage would add nothing it lacks)."""
    return any(f.path and not f.external and not is_test_path(f.path) for t in traces for f in t.all_frames())


def _uncommitted(repo: Backend, traces: list[Trace], targets: list[Target], live: set[str],
                 tracked: list[str], read: tuple[set[str], dict]) -> list[str]:
    """The warning that uncommitted code changes touch what the failure points at (`uncommitted`).
    `read`: the paths whose uncommitted hunks were read already (the frames'), and those hunks."""
    if not live:
        return []
    untracked = live - set(tracked)
    asked, changes = read
    rest = [p for p in changed_code_paths(traces, targets, live - untracked) if p not in asked]
    changes = {**changes, **repo.worktree_changes(rest)} if rest else changes
    warning = uncommitted_warning(traces, targets, live, untracked, changes)
    return [warning] if warning else []


def _read_trace(repo: Backend, text: str, carried: set[str] | None, folder: str):
    """The traces resolved to the repository's files, the files live in the work tree (`carried`
    alone where given: a bisect window's), the tracked files, and the submodules frames are in."""
    from rca_lsp.traces import parse

    live = carried if carried is not None else set(repo.modified_files()) | set(repo.untracked_files())
    tracked = repo.tracked_files()
    traces, inside = resolved(repo, parse(text), tracked, live, folder)
    return traces, live, tracked, inside


def _warn_and_hint(warnings: list[str], history: History, traces: list[Trace], targets: list[Target],
                   pointed: bool, covered: bool, inside: Submodules) -> list[str]:
    """Add what the user should know to `warnings`; the hints: the git submodules frames are in (`inside`)
    and, where the trace points at no code outside the tests (an assertion in the test) and no run
    was read (`covered`: a report, bisect's window; or none ran), that what it ran is what a coverage report
    adds (BENCHMARKS.md, the dev split with coverage)."""
    if history.missing:
        warnings.append(f"{history.missing} commit(s) reachable from HEAD are not indexed yet; run `rca index`")
    elsewhere = _from_elsewhere(traces, targets)
    if elsewhere:
        warnings.append(FROM_ELSEWHERE)
    return inside.hints(history) + ([COVERAGE_HINT] if traces and not (pointed or covered or elsewhere) else [])


def _since_test_features(board: Board, history: History, view: CodeView, traces: list[Trace], live: set[str],
                         weights: Weights) -> tuple[bool, list[str]]:
    """since_test for the commits from the failing tests' last change on (`test_change`): whether
    the line was drawn, and the note that says where, when the feature counts."""
    boundary = last_test_change(view, history, traces, live)
    if boundary is None:
        return False, []
    for commit_id, position in history.position.items():
        if position <= boundary.position:
            board.add(Feature.SINCE_TEST, commit_id, 1.0, None, mode="max")
    return True, [boundary.note(history)] if weights.since_test > 0 and boundary.older(history) else []


def _suspects(ranked: list[tuple[float, int]], board: Board, history: History, index: Index, terms: list[str],
              data: FailingTestData, weights: Weights, table: dict[int, dict[Feature, float]],
              context: dict[int, dict[Feature, float]] | None) -> tuple[list[Suspect], dict[str, dict[str, float]]]:
    """The ranked commits with their evidence, and (when `context` is given: --explain) each one's
    feature values."""
    suspects: list[Suspect] = []
    explained: dict[str, dict[str, float]] = {}
    for rank, (value, commit_id) in enumerate(ranked, start=1):
        items = list(board.evidence.get(commit_id, []))
        words_value = table[commit_id].get(Feature.WORDS, 0.0)
        if words_value >= 0.3:
            found = _word_evidence(index, commit_id, words_value, terms)
            items += [found] if found else []
        data_value = table[commit_id].get(Feature.DATA, 0.0)
        if data_value >= 0.3:
            found = data_evidence(index, commit_id, data_value, data)
            items += [found] if found else []
        evidence = _evidence(items, shown_kinds(weights), unscored(weights))
        commit = history.commit(commit_id)
        suspects.append(Suspect(commit, round(value, 6), rank, evidence))
        if context is not None:
            explained[commit.hash] = {k: round(v, 6) for k, v in {**table[commit_id], **context[commit_id]}.items()}
    return suspects, explained


ALWAYS_SHOWN = {EvidenceKind.FRAME_FILE, EvidenceKind.TEST_DATA, EvidenceKind.BLAMED_LINES} | OWNERSHIP  # worth reading even where their features earn no points


def shown_kinds(weights: Weights) -> set[EvidenceKind]:
    """Evidence kinds worth showing: those of features that count, frame files and owners always."""
    return {kind for kind, feature in FEATURE_OF.items() if weights.of(feature) > 0 or kind in ALWAYS_SHOWN}


def unscored(weights: Weights) -> set[EvidenceKind]:
    return {kind for kind, feature in FEATURE_OF.items() if weights.of(feature) <= 0}


def _evidence(items: list[Evidence], kinds: set[EvidenceKind],
              last: set[EvidenceKind] | frozenset[EvidenceKind] = frozenset({EvidenceKind.FRAME_FILE}),
              limit: int = 6) -> tuple[Evidence, ...]:
    """The strongest evidence first, one line per (kind, text): neighbours of a frame line collapse.
    Evidence of features that earn no points (`last`) comes after all evidence that does."""
    seen: dict[tuple[str, str, str | None], Evidence] = {}
    for e in sorted(items, key=lambda e: (e.kind in last, -e.weight)):
        if e.kind not in kinds:
            continue
        key = (e.kind, e.symbol or e.text, str(e.frame))
        if key not in seen:
            seen[key] = e
    return tuple(list(seen.values())[:limit])
