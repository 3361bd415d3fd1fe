"""The failing test's last change: a test usually passed then, so the commits before it are unlikely culprits.

A regression is a test that passed and now fails. Whoever last changed a committed test usually ran
it and saw it pass (that is what changing a test is for), so the change that broke it most likely
came at that commit or after it: an assumption, not a fact, and the note says so (a test committed
failing, or edited while it failed, breaks it: `--since` ranks without the line). Retrieval's *since_test* feature marks the candidates from the newest commit that
changed any line of a failing test's function onwards; older commits keep their points but lose the
feature's weight, which outweighs recency but not a frame line or a changed callee
(BENCHMARKS.md, "The failing test's last change").

No boundary is drawn where the premise cannot hold: a test that the work tree adds or changes (a new
test that finds an old bug, the usual Defects4J case), a test whose last change is HEAD itself (it
failed there), or a test whose lines were not changed within the candidates (`--since` after it).
With several failing tests, each of them passed at its own last change, so the newest one bounds.
Nor is it drawn inside a range the user bounded (`--since GOOD`, `rca bisect`'s window): there every
candidate is recent, and on the training repositories the rule lost more cases than it won.
"""

from __future__ import annotations

from dataclasses import dataclass

from rca_lsp.records import clip
from rca_lsp.suspects.code_view import CodeView
from rca_lsp.suspects.history import History
from rca_lsp.suspects.targets import TargetFinder
from rca_lsp.types import Trace


@dataclass(frozen=True)
class LastTestChange:
    """The newest commit that changed a failing test's function, with that test."""

    commit_id: int
    position: int  # in the candidate window (0 = HEAD)
    path: str
    test: str  # the test function's qualified name

    def older(self, history: History) -> int:
        """The candidates the line ranks lower: none where the test was last changed in the oldest
        (the root commit, a shallow clone's edge), and then there is nothing to note."""
        return history.candidates - self.position - 1

    def note(self, history: History) -> str:
        commit = history.commit(self.commit_id)
        older = self.older(history)
        return (f"ranked lower: the {older} commit{'s' if older != 1 else ''} older than "
                f"{commit.hash[:10]} ({clip(commit.summary, 60)}), which last changed the failing test "
                f"{self.test} ({self.path}): a test usually passes when it is committed, so what broke it "
                "most likely came later; if it failed from the start, rank with --since")


def last_test_change(view: CodeView, history: History, traces: list[Trace], live: set[str]) -> LastTestChange | None:
    """The newest last change among the failing tests that were committed and changed before HEAD."""
    finder = TargetFinder(view)
    best: LastTestChange | None = None
    for trace in traces:
        found = finder.locate(trace)
        if found is None or found.path in live:
            continue
        lines = set(range(found.symbol.start_line, found.symbol.end_line + 1))
        hits = history.blame_lines(found.path, lines)
        changes = [(history.position[h.commit_id], h.commit_id) for h in hits.values() if h.commit_id in history.position]
        if not changes:
            continue
        position, commit_id = min(changes)
        if position == 0:  # changed at HEAD, where it fails: it may never have passed
            continue
        if best is None or position < best.position:
            best = LastTestChange(commit_id, position, found.path, found.symbol.qualname)
    return best
