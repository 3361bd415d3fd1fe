"""The failing test's last change bounds the culprit: the test passed when it was changed, so the
commits before that change are ranked below those after it (rca_lsp.suspects.test_change). Real git,
real pytest output (the test runs pytest on the repository it builds)."""

from __future__ import annotations

import json
import subprocess
import sys

from _hg import HgRepoBuilder, needs_hg
from conftest import ranked
from test_lsp_nvim import PRELUDE, _run, needs_nvim

from rca_lsp.render import to_json, to_text
from rca_lsp.suspects import Weights
from rca_lsp.vcs import open_repo
from rca_lsp.vcs.git import GitRepo

CALENDAR = '''\
def days(month):
    if month == 2:
        return 28
    return 30
'''

# an older, larger rewrite of the same function: more changed lines than the culprit's one
REWRITTEN = '''\
LONG = {1, 3, 5, 7, 8, 10, 12}


def days(month):
    """Days in a month of a common year."""
    if month == 2:
        return 28
    if month in LONG:
        return 31
    return 30
'''

BROKEN = REWRITTEN.replace("if month == 2:", "if month == 3:")

TEST = '''\
from calendar_ import days


def test_days():
    assert days(1) == 31
'''

TEST_FEBRUARY = TEST + "    assert days(2) == 28\n"


def _pytest_output(root) -> str:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the test fails for real
    assert "FAILED tests/test_calendar.py::test_days" in proc.stdout, proc.stdout
    return proc.stdout


def _history(git_repo) -> tuple[str, str, str]:
    first = git_repo.commit("Add the calendar: days of a month", {"calendar_.py": CALENDAR, "tests/test_calendar.py": TEST})
    git_repo.commit("Rewrite days with a table of long months", {"calendar_.py": REWRITTEN}, author="Alice")
    test_change = git_repo.commit("Test February", {"tests/test_calendar.py": TEST_FEBRUARY}, author="Carol")
    culprit = git_repo.commit("Tidy up", {"calendar_.py": BROKEN}, author="Bob")
    git_repo.commit("Readme", {"README.md": "calendar\n"})
    return first, test_change, culprit


def test_commits_older_than_the_failing_tests_last_change_rank_lower(git_repo) -> None:
    first, test_change, culprit = _history(git_repo)
    trace = _pytest_output(git_repo.root)
    repo = GitRepo(git_repo.root)
    without = ranked(repo, trace, weights=Weights(since_test=0.0))
    order = [s.commit.hash for s in without.suspects]
    assert order[0] == first  # what the rule is for: the commit that wrote the function wins on code and words
    assert without.notes == []

    result = ranked(repo, trace)
    order = [s.commit.hash for s in result.suspects]
    assert order[0] == culprit, order
    assert result.features[culprit]["since_test"] == 1.0 and result.features[test_change]["since_test"] == 1.0
    assert "since_test" not in result.features[first]
    assert result.features[first]["code"] > result.features[culprit]["code"]  # its other points are kept
    assert len(result.notes) == 1 and test_change[:10] in result.notes[0]
    assert "test_days" in result.notes[0] and "the 2 commits older than" in result.notes[0], result.notes
    assert result.notes[0].endswith("(tests/test_calendar.py): a test usually passes when it is committed, so "
                                    "what broke it most likely came later; if it failed from the start, rank with "
                                    "--since") and "\n" not in result.notes[0], result.notes  # an assumption, said so
    assert f"note: {result.notes[0]}" in to_text(result).splitlines()
    assert json.loads(to_json(result))["notes"] == result.notes


def test_no_line_is_drawn_for_a_test_the_work_tree_changes(git_repo) -> None:
    _history(git_repo)
    git_repo.write("tests/test_calendar.py", TEST_FEBRUARY + "    assert days(4) == 30\n")  # a test being written
    result = ranked(GitRepo(git_repo.root), _pytest_output(git_repo.root))
    assert result.notes == [] and not any("since_test" in row for row in result.features.values())


def test_no_line_is_drawn_for_a_test_last_changed_at_head(git_repo) -> None:
    _history(git_repo)
    head = git_repo.commit("Test April too", {"tests/test_calendar.py": TEST_FEBRUARY + "    assert days(4) == 30\n"})
    result = ranked(GitRepo(git_repo.root), _pytest_output(git_repo.root))
    assert result.notes == [] and not any("since_test" in row for row in result.features.values())
    assert head in result.features


def test_no_line_is_drawn_inside_a_range_the_user_bounded(git_repo) -> None:
    first, _, culprit = _history(git_repo)
    result = ranked(GitRepo(git_repo.root), _pytest_output(git_repo.root), since=first)
    assert result.notes == [] and not any("since_test" in row for row in result.features.values())
    assert culprit in result.features and first not in result.features


NVIM_SCRIPT = r"""
vim.notify = function(msg) table.insert(out.messages, msg) end
vim.lsp.enable('rca')
vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/failure.txt')
wait('attach', 20000, function() return #vim.lsp.get_clients({ name = 'rca', bufnr = 0 }) > 0 end)
vim.cmd('Rca suspects')
wait('quickfix', 30000, function() return #vim.fn.getqflist() > 0 end)
-- the summary (other messages, such as the server's coverage hint, may come first)
wait('message', 10000, function()
  for _, m in ipairs(out.messages) do
    if m:find('suspect(s) of', 1, true) then return true end
  end
  return false
end)
vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
vim.cmd('qa!')
"""


@needs_nvim
def test_neovim_says_where_the_line_was_drawn(git_repo, tmp_path) -> None:
    _, test_change, _ = _history(git_repo)
    (git_repo.root / "failure.txt").write_text(_pytest_output(git_repo.root))  # untracked: the test file is not
    subprocess.run([sys.executable, "-m", "rca_lsp", "index", "--repo", str(git_repo.root), "-q"], check=True)
    out = _run(PRELUDE + "out.messages = {}\n" + NVIM_SCRIPT, tmp_path, git_repo.root)
    summary = next(m for m in out["messages"] if "suspect(s) of" in m)
    assert f"ranked lower: the 2 commits older than {test_change[:10]}" in summary, out["messages"]


@needs_hg
def test_mercurial_draws_the_same_line(tmp_path) -> None:
    hg = HgRepoBuilder(tmp_path / "hgrepo")
    first, test_change, culprit = _history(hg)
    result = ranked(open_repo(str(hg.root)), _pytest_output(hg.root))
    assert [s.commit.hash for s in result.suspects][0] == culprit
    assert "since_test" not in result.features[first] and result.features[test_change]["since_test"] == 1.0
    assert len(result.notes) == 1 and test_change[:10] in result.notes[0]
