"""`blamed`: the lines the failure's functions have at HEAD, blamed. `code` counts a change to a
function the failing test calls whether or not its lines are still there; `blamed` only those
that are (real git, the real index)."""

from __future__ import annotations

from conftest import ranked

from rca_lsp.vcs.git import GitRepo
from tests.test_python_targets import LIB, TESTS, TRACE


def test_a_change_rewritten_since_keeps_its_code_points_but_owns_no_line(git_repo) -> None:
    first = git_repo.commit("Add lib", {"lib.py": LIB, "tests/test_lib.py": TESTS})
    tuned = git_repo.commit("Tune whisper", {"lib.py": LIB.replace("text.lower()", "text.lower().strip()")})
    rewritten = git_repo.commit("Rewrite whisper", {"lib.py": LIB.replace("text.lower()", "str.lower(text)")})
    shout = git_repo.commit("Shout", {"lib.py": LIB.replace("text.lower()", "str.lower(text)")
                                      .replace("text.upper()", "str.upper(text)")})
    result = ranked(GitRepo(git_repo.root), TRACE)
    f = result.features
    assert f[tuned]["code"] > 0 and "blamed" not in f[tuned]  # its line was rewritten
    assert f[rewritten]["blamed"] == 1.0 and f[rewritten]["code"] > 0  # the body's line is its
    assert f[first]["blamed"] == 1.0  # and the `def` line is still the first commit's: one line each
    assert "blamed" not in f[shout] and "code" not in f[shout]  # a function the test does not reach
    suspect = next(s for s in result.suspects if s.commit.hash == rewritten)
    assert any(e.kind == "blamed-lines" and e.text == "1 line it last changed is still in whisper at HEAD, which the"
               " failing test WhisperTests.test_basic calls" and e.line == 11 for e in suspect.evidence), suspect.evidence
    tuned_suspect = next(s for s in result.suspects if s.commit.hash == tuned)
    assert not any(e.kind == "blamed-lines" for e in tuned_suspect.evidence)


def test_blamed_earns_no_points_in_the_weighted_sum(git_repo) -> None:
    git_repo.commit("Add lib", {"lib.py": LIB, "tests/test_lib.py": TESTS})
    git_repo.commit("Tune whisper", {"lib.py": LIB.replace("text.lower()", "text.lower().strip()")})
    git_repo.commit("Rewrite whisper", {"lib.py": LIB.replace("text.lower()", "str.lower(text)")})
    result = ranked(GitRepo(git_repo.root), TRACE)
    from rca_lsp.suspects.retrieve import Weights

    w = Weights()
    assert w.blamed == 0.0
    for s in result.suspects:
        row = result.features[s.commit.hash]
        expected = sum(getattr(w, k) * v for k, v in row.items() if hasattr(w, k))
        assert abs(s.score - expected) < 1e-4, (s.commit.hash, s.score, expected)


NESTED = '''\
def _low(text):
    return text.lower()


def whisper(text):
    return _low(text)
'''


def test_each_reached_functions_newest_owner_counts_most(git_repo) -> None:
    """blamed_newest: each reached function's owners at HEAD, newest first (whisper, which the test
    calls; _low, which whisper calls, 0.4 of it), each owner after the newest half the one before."""
    first = git_repo.commit("Add lib", {"lib.py": NESTED, "tests/test_lib.py": TESTS})
    near = git_repo.commit("Whisper through strip", {"lib.py": NESTED.replace("return _low(text)",
                                                                              "return _low(text.strip())")})
    far = git_repo.commit("Lower with casefold", {"lib.py": NESTED.replace("text.lower()", "text.casefold()")
                                                  .replace("return _low(text)", "return _low(text.strip())")})
    f = ranked(GitRepo(git_repo.root), TRACE).features
    # whisper's owners: near (1), then first (0.5, the `def` line); _low's: far (0.4), then first (0.2)
    assert f[near]["blamed_newest"] == 1.0 and f[far]["blamed_newest"] == 0.4 and f[first]["blamed_newest"] == 0.5
    assert f[near]["blamed"] > f[far]["blamed"]
