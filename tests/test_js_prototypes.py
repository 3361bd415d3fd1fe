"""JavaScript written before classes: a constructor function and the methods put on its prototype
(`ItemSet.prototype.add = function (item) {..}`, ramda's `_Set`). `new ItemSet()` runs the
constructor, and `seen.add(x)` on `var seen = new ItemSet()` runs `ItemSet.add`, which calls the
`hasOrAdd` a regression broke. The failure is a fast-check property inside a Mocha test, whose
message names no error (`Property failed after 2 tests`): the test's title must still be read."""

from __future__ import annotations

from pathlib import Path

from conftest import ranked

from rca_lsp.code.calls import analyze
from rca_lsp.code.graph import CallGraph
from rca_lsp.traces import parse
from rca_lsp.vcs.git import GitRepo

FIXTURES = Path(__file__).parent / "fixtures" / "js_itemset"
SOURCES = ("lib/set.js", "lib/difference.js", "test/difference.js")
# The real output of `mocha --reporter spec test/difference.js` (Mocha 10.2.0, fast-check 3.18.0,
# Node 20.20.2, 2026-12-05) on these files with the "Faster lookups" change below applied.
TRACE = (FIXTURES / "mocha-fast-check.txt").read_text()


def _files() -> dict[str, str]:
    return {name: (FIXTURES / name).read_text() for name in SOURCES}


def test_a_failure_whose_message_names_no_error_keeps_its_test_title() -> None:
    first = parse(TRACE)[0]
    assert (first.test.container, first.test.name) == ("difference", "keeps no item of the second list")
    assert (first.exception, first.message.splitlines()[0]) == ("Error", "Property failed after 2 tests")
    assert first.frames[0].line == 10


def test_prototype_methods_are_the_constructors_members() -> None:
    facts = analyze((FIXTURES / "lib/set.js").read_bytes(), "javascript")
    assert [(s.qualname, s.kind) for s in facts.symbols] == [
        ("hasOrAdd", "function"), ("ItemSet", "function"), ("ItemSet.add", "method"), ("ItemSet.has", "method")]
    graph = CallGraph.build([(name, source.encode()) for name, source in _files().items()])
    reached = graph.callees("lib/difference.js", "difference", hops=2)
    assert reached[("lib/set.js", "ItemSet")] == 1.0  # new ItemSet(): the constructor function
    assert reached[("lib/set.js", "ItemSet.add")] == 1.0  # seen.add(..) on a new ItemSet
    assert reached[("lib/set.js", "hasOrAdd")] == 0.4
    assert ("lib/set.js", "ItemSet.has") not in reached


def test_the_failing_property_reaches_the_function_that_broke(git_repo) -> None:
    files = _files()
    git_repo.commit("Add difference", files)
    broken = files["lib/set.js"].replace("indexOf(item) >= 0", "indexOf(item) > 0")
    assert broken != files["lib/set.js"]
    culprit = git_repo.commit("Faster lookups", {"lib/set.js": broken}, author="Bob")
    docs = git_repo.commit("Document difference", {"README.md": "# difference\n"}, author="Carol")
    result = ranked(GitRepo(git_repo.root), TRACE)
    assert result.features[culprit]["code"] > 0 and "code" not in result.features[docs]
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any("changed hasOrAdd" in e.text and "keeps no item of the second list" in e.text
               for e in suspect.evidence), [e.text for e in suspect.evidence]
