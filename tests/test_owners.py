"""Code owners: CODEOWNERS and OWNERS files read as text, then real git and hg repositories where
an owner's commit is raised, with evidence, and broken owner files cost only their own lines."""

from __future__ import annotations

import logging

import pytest
from conftest import ranked

from rca_lsp.index import Index, update
from rca_lsp.suspects import Weights
from rca_lsp.suspects.history import History
from rca_lsp.suspects.owner_files import (
    codeowners_match,
    compile_pattern,
    parse_codeowners,
    parse_owners,
)
from rca_lsp.suspects.owners import Owners, is_author
from rca_lsp.vcs.git import GitRepo
from tests._hg import HgRepoBuilder, needs_hg

CALC = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
TRACE = """Traceback (most recent call last):
  File "tests/test_calc.py", line 4, in test_sub
    assert sub(3, 1) == 2
  File "src/calc.py", line 6, in sub
    return a + b
AssertionError: wrong result
"""


def _matches(pattern: str, path: str) -> bool:
    compiled = compile_pattern(pattern)
    assert compiled is not None, pattern
    return compiled.match(path) is not None


@pytest.mark.parametrize("pattern, yes, no", [
    ("*.js", ["a.js", "web/x/a.js"], ["a.jsx", "a.js.map"]),
    ("/build/logs/", ["build/logs/a.txt", "build/logs/deep/b.txt"], ["x/build/logs/a.txt", "build/logs"]),
    ("docs/*", ["docs/getting-started.md"], ["docs/build-app/troubleshooting.md", "x/docs/a.md"]),
    ("apps/", ["apps/a.py", "src/apps/b/c.py"], ["apps", "myapps/a.py"]),
    ("/docs/", ["docs/a.md", "docs/x/y.md"], ["src/docs/a.md"]),
    ("**/logs", ["logs/a", "deep/er/logs/b"], ["logsx/a"]),
    ("src/**/test_*.py", ["src/test_a.py", "src/x/y/test_b.py"], ["src/x/a.py"]),
    ("Makefile", ["Makefile", "sub/Makefile"], ["Makefile.in"]),
    ("*", ["anything", "deep/file.txt"], []),
    ("[Dd]ocs/", ["Docs/a", "docs/a"], ["xdocs/a"]),
])
def test_codeowners_patterns_follow_githubs_documented_examples(pattern, yes, no):
    assert all(_matches(pattern, p) for p in yes)
    assert not any(_matches(pattern, p) for p in no)


def test_last_matching_line_wins_sections_are_read_past_and_bad_lines_are_skipped(caplog):
    text = """# owners
* @global
[Backend] @backend-default
/src/ @alice bob@example.com @org/team
/src/vendor/
^[Optional][2]
path\\ with\\ space/ @carol
\\#notes.md @dave
[unclosed @erin
/docs/ not-an-owner @frank
"""
    with caplog.at_level(logging.WARNING):
        rules = parse_codeowners(text, ".github/CODEOWNERS")
    assert codeowners_match(rules, "src/calc.py").owners == ("@alice", "bob@example.com", "@org/team")
    assert codeowners_match(rules, "src/vendor/lib.py").owners == ()  # no owners: unowned
    assert codeowners_match(rules, "README").owners == ("@global",)
    assert codeowners_match(rules, "path with space/x").owners == ("@carol",)
    assert codeowners_match(rules, "#notes.md").owners == ("@dave",)
    assert codeowners_match(rules, "docs/a.md").owners == ("@frank",)
    assert codeowners_match(rules, "src/calc.py").line == 4
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "line 9" in warned and "'[unclosed'" in warned and "'not-an-owner'" in warned


def test_chromium_and_kubernetes_owners_files(caplog):
    chromium = parse_owners("""# The owners
set noparent
alice@example.com
bob@example.com  # reviews everything
per-file *.gn=carol@example.com, dave@example.com
per-file =nobody@example.com
file://build/OWNERS
*
two words here
""", "src/OWNERS")
    assert chromium.owners == ("alice@example.com", "bob@example.com") and chromium.noparent
    assert chromium.per_file == (("*.gn", ("carol@example.com", "dave@example.com")),)
    kubernetes = parse_owners("""# See the OWNERS docs
approvers:
  - alice
  - bob # lead
reviewers:
- carol
- "not valid!"
labels:
  - sig/node
options:
  no_parent_owners: true
emeritus_approvers: [zed]
""", "pkg/OWNERS")
    assert kubernetes.owners == ("alice", "bob", "carol") and kubernetes.noparent
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "line 6" in warned and "line 9" in warned and "not valid!" in warned


def test_owners_meet_authors_by_email_handle_or_name_never_by_team():
    assert is_author("bob@example.com", "Robert", "Bob@Example.com")
    assert not is_author("bob@example.com", "Bob", "bob@other.org")
    assert is_author("@jdoe", "Jane Doe", "jdoe+ci@corp.com")
    assert is_author("@jane-doe", "Jane Doe", "jane@corp.com")
    assert is_author("@octocat", "The Octocat", "583231+octocat@users.noreply.github.com")
    assert is_author("alice", "Alice", "alice@example.com")  # Kubernetes: bare GitHub user names
    assert not is_author("@org/team", "Org", "org@example.com")
    assert not is_author("@@maintainer", "Maintainer", "maintainer@example.com")
    assert not is_author("@alice", "Bob", "bob@example.com")


def _calc_repo(builder) -> dict[str, str]:
    """Carol writes calc.py; Alice (its code owner) then Bob change an unrelated file, Bob last."""
    shas = {"base": builder.commit("Start the library", {"src/calc.py": CALC, "notes.txt": "notes\n"}, author="Carol")}
    shas["alice"] = builder.commit("Reword the notes", {"notes.txt": "notes, reworded\n"}, author="Alice")
    shas["bob"] = builder.commit("Reword the notes again", {"notes.txt": "notes, again\n"}, author="Bob")
    return shas


def _run(repo, weights: Weights):
    return ranked(repo, TRACE, weights=weights)


def test_an_owner_of_the_frames_file_is_raised_with_evidence(git_repo):
    git_repo.commit("Owners", {".github/CODEOWNERS": "* @nobody\n/src/ @alice\n"}, author="Dana")
    shas = _calc_repo(git_repo)
    git_repo.write(".github/CODEOWNERS", "/src/ @bob\n")  # uncommitted: not ownership yet
    repo = GitRepo(git_repo.root)
    plain = [s.commit.hash for s in _run(repo, Weights(owner=0.0)).suspects]
    assert plain.index(shas["bob"]) < plain.index(shas["alice"])  # recency alone: Bob first
    result = _run(repo, Weights())  # the shipped weights raise a declared owner
    ranked = [s.commit.hash for s in result.suspects]
    assert ranked.index(shas["alice"]) < ranked.index(shas["bob"])
    assert result.features[shas["alice"]]["owner"] == 1.0 and "owner" not in result.features[shas["bob"]]
    alice = next(s for s in result.suspects if s.commit.hash == shas["alice"])
    owner = [e for e in alice.evidence if e.kind == "owner"]
    assert owner and owner[0].path == "src/calc.py"
    assert owner[0].text == "its author Alice owns src/calc.py (.github/CODEOWNERS line 2: /src/ @alice)"
    carol = next(s for s in result.suspects if s.commit.hash == shas["base"])  # the history owner
    assert any(e.kind == "authorship" and "history: 100%" in e.text for e in carol.evidence)
    assert "owner" not in result.features[shas["base"]] and result.features[shas["base"]]["authorship"] > 0


def test_owners_files_nearest_first_inherited_unless_noparent_and_history(git_repo):
    git_repo.commit("Owners", {"OWNERS": "root@example.com\n", "lib/OWNERS": "bob@example.com\nper-file *.gn=gina@example.com\n",
                               "lib/sub/OWNERS": "set noparent\ndave@example.com\n",
                               "pkg/OWNERS": "approvers:\n  - alice\noptions:\n  no_parent_owners: true\n"}, author="Dana")
    git_repo.commit("Code", {"lib/a.py": "x = 1\n", "lib/b.gn": "y\n", "lib/sub/c.py": "z = 1\n", "pkg/d.py": "w = 1\n"},
                    author="Erin")
    git_repo.commit("More code", {"lib/a.py": "x = 2\ny = 3\n"}, author="Fay")
    repo = GitRepo(git_repo.root)
    index = Index.open(repo.meta_dir)
    try:
        update(repo, index)
        owners = Owners(repo, History(index, repo.reachable()), repo.tracked_files())
        found = {p: [(o.owner, round(o.share, 3), o.source) for o in owners.of(p)]
                 for p in ("lib/a.py", "lib/b.gn", "lib/sub/c.py", "pkg/d.py")}
    finally:
        index.close()
    assert found["lib/a.py"][:2] == [("bob@example.com", 1.0, "OWNERS file lib/OWNERS"),
                                     ("root@example.com", 0.5, "OWNERS file OWNERS")]
    history = {o: s for o, s, src in found["lib/a.py"] if src.startswith("history")}
    assert set(history) == {"erin@example.com", "fay@example.com"} and history["fay@example.com"] > 0.5
    assert [o for o, _, _ in found["lib/b.gn"]][:2] == ["gina@example.com", "bob@example.com"]
    assert [o for o, _, src in found["lib/sub/c.py"] if src.startswith("OWNERS")] == ["dave@example.com"]
    assert [o for o, _, src in found["pkg/d.py"] if src.startswith("OWNERS")] == ["alice"]


def test_broken_owner_files_cost_only_their_lines(git_repo, caplog):
    git_repo.commit("Owners", {"CODEOWNERS": b"\xff\xfe[[[ @x\n/src/ \xff @alice\n\x00\x00\n!neg @bob\n",
                               "src/OWNERS": "per-file\n= \nnot an owner line\n"}, author="Dana")
    shas = _calc_repo(git_repo)
    with caplog.at_level(logging.WARNING):
        result = _run(GitRepo(git_repo.root), Weights(owner=1.0))
    assert result.suspects and result.features[shas["alice"]]["owner"] == 1.0
    assert any("CODEOWNERS line 1" in r.getMessage() for r in caplog.records)
    assert any("src/OWNERS line 3" in r.getMessage() for r in caplog.records)


@needs_hg
def test_owners_are_read_through_the_mercurial_backend(tmp_path):
    pytest.importorskip("hglib")
    from rca_lsp.vcs.hg import HgRepo

    builder = HgRepoBuilder(tmp_path / "hg")
    builder.commit("Owners", {"CODEOWNERS": "/src/ @alice\n"}, author="Dana")
    shas = _calc_repo(builder)
    repo = HgRepo(builder.root)
    try:
        result = _run(repo, Weights(owner=1.0))
    finally:
        repo.close()
    ranked = [s.commit.hash for s in result.suspects]
    assert ranked.index(shas["alice"]) < ranked.index(shas["bob"])
    alice = next(s for s in result.suspects if s.commit.hash == shas["alice"])
    assert any(e.kind == "owner" and "CODEOWNERS line 1: /src/ @alice" in e.text for e in alice.evidence)
