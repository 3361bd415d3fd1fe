"""The failing test's strings as evidence: a test whose subject is data (HTML, a date pattern) names
the code that handles it in its strings, and a commit that changed that code is told so."""

from __future__ import annotations

from conftest import ranked

from rca_lsp.kinds import EvidenceKind
from rca_lsp.suspects.test_data import data_words, string_literals
from rca_lsp.vcs.git import GitRepo

FIXER = """package org.example;

public class HtmlFixer {
    public static String fix(String html) {
        return fixList(fixTable(html));
    }

    static String fixTable(String html) {
        return html.endsWith("<td>x") ? html + "</td>" : html;
    }

    static String fixList(String html) {
        return html.endsWith("<li>x") ? html + "</li>" : html;
    }
}
"""
FIXER_TEST = """package org.example;

import junit.framework.TestCase;

public class HtmlFixerTest extends TestCase {
    public void testOther() {
        assertEquals("<ul><li>x</li></ul>", HtmlFixer.fix("<ul><li>x"));
    }

    public void testNested() {
        assertEquals("<table><td>x</td></table>", HtmlFixer.fix("<table><td>x"));
    }
}
"""
FIXER_TRACE = """--- org.example.HtmlFixerTest::testNested
junit.framework.ComparisonFailure: expected:<...x[</td></]...> but was:<...x[]...>
	at junit.framework.Assert.assertEquals(Assert.java:100)
	at org.example.HtmlFixerTest.testNested(HtmlFixerTest.java:11)
"""


def _evidence(result, sha: str, kind: EvidenceKind) -> list[str]:
    suspect = next(s for s in result.suspects if s.commit.hash == sha)
    return [e.text for e in suspect.evidence if e.kind == kind]


def test_a_commit_changing_code_named_in_the_failing_tests_strings_gets_the_evidence(git_repo) -> None:
    git_repo.commit("Add the fixer", {"src/main/java/org/example/HtmlFixer.java": FIXER})
    cells = FIXER.replace('html + "</td>"', 'html + "</td></table>"')
    table = git_repo.commit("Close cells", {"src/main/java/org/example/HtmlFixer.java": cells}, author="Bob")
    lists = git_repo.commit("Close items", {"src/main/java/org/example/HtmlFixer.java": cells.replace(
        'html + "</li>"', 'html + "</li></ul>"')}, author="Carol")
    git_repo.commit("Docs", {"README": "fixer\n"})
    git_repo.write("src/test/java/org/example/HtmlFixerTest.java", FIXER_TEST)  # the new, uncommitted test
    result = ranked(GitRepo(git_repo.root), FIXER_TRACE)
    # testNested's strings name table and td (td is also in the failure's message: the words feature
    # has it); testOther's `ul` and `li` are another method's: the list commit shares none of them.
    assert result.features[table]["data"] == 1.0 and "data" not in result.features[lists]
    texts = _evidence(result, table, EvidenceKind.TEST_DATA)
    assert texts == ["its changed names or diff share words of the failing test's strings"
                     " ('<table><td>x</td></table>'): table"], texts
    assert _evidence(result, lists, EvidenceKind.TEST_DATA) == []
    # the failing method's own code travels on the result (what the tuned scorer reads), not its
    # neighbour's, read from the work tree where the test is not committed yet
    assert result.test_code == ("""    public void testNested() {
        assertEquals("<table><td>x</td></table>", HtmlFixer.fix("<table><td>x"));
    }""",)


DATES = '''\
def parse(pattern, text):
    if pattern.startswith("weekday"):
        return parse_weekday(text)
    return parse_month(text)


def parse_weekday(text):
    return ["Mon", "Tue"].index(text[:3])


def parse_month(text):
    return ["Jan", "Feb"].index(text[:3])
'''
DATES_TEST = '''\
import dates


def test_short_names():
    """Short names in a pattern."""
    assert dates.parse(f"weekday {'abbreviated'}", "Mon") == 0
'''
DATES_TRACE = '''\
=================================== FAILURES ===================================
_______________________________ test_short_names _______________________________
tests/test_dates.py:6: in test_short_names
    assert dates.parse(f"weekday {'abbreviated'}", "Mon") == 0
E   AssertionError: assert 1 == 0
=========================== short test summary info ============================
FAILED tests/test_dates.py::test_short_names - AssertionError: assert 1 == 0
'''


def test_a_committed_python_tests_strings_point_at_the_function_they_name(git_repo) -> None:
    git_repo.commit("Add dates", {"dates.py": DATES, "tests/test_dates.py": DATES_TEST})  # read from HEAD
    days = DATES.replace('["Mon", "Tue"]', '["Sun", "Mon", "Tue"]')
    weekday = git_repo.commit("Weeks start on Sunday", {"dates.py": days}, author="Bob")
    month = git_repo.commit("Months from December", {"dates.py": days.replace('["Jan", "Feb"]', '["Dec", "Jan", "Feb"]')},
                            author="Carol")
    for n in range(4):  # a word in most commits weighs nothing (BM25): a history like a real one's
        git_repo.commit(f"Docs {n}", {"README": f"dates, take {n}\n"})
    result = ranked(GitRepo(git_repo.root), DATES_TRACE)
    # Both commits changed code the test calls; the test's pattern names parse_weekday, and its input
    # is in the list that the weekday commit changed.
    assert result.features[weekday]["data"] > 0.3 and "data" not in result.features[month]
    assert _evidence(result, weekday, EvidenceKind.TEST_DATA) == [
        "its changed names or diff share words of the failing test's strings ('weekday', 'Mon'): weekday, mon"]
    assert _evidence(result, month, EvidenceKind.TEST_DATA) == []
    assert result.test_code == (DATES_TEST[DATES_TEST.index("def test_short"):].rstrip("\n"),)  # from HEAD


def test_string_literals_of_a_method_read_by_tree_sitter() -> None:
    java = FIXER_TEST.replace('HtmlFixer.fix("<table><td>x")', 'HtmlFixer.fix("""\n    <table>\n    """ + \'c\')')
    assert string_literals(java.encode(), "java", 10, 12) == ["<table><td>x</td></table>", "\n    <table>\n    "]
    python = DATES_TEST.encode()
    assert string_literals(python, "python", 4, 6) == ["Short names in a pattern.", "weekday ", "abbreviated", "Mon"]
    assert data_words(["Short names in a pattern.", "weekday 2024-01-31 %a", "Mon"], {"mon"}) == [
        "short", "names", "pattern", "weekday"]


def test_a_commit_the_failing_tests_strings_alone_point_at_is_not_reported_by_the_hooks(git_repo) -> None:
    """Test-data evidence earns no points (weight 0): a pulled commit whose only link to an open
    failure is a word of the test's strings must not make the post-pull hook report it."""
    from rca_lsp import failures
    from rca_lsp.index.ingest import update
    from rca_lsp.index.store import Index

    git_repo.commit("Add the fixer", {"src/main/java/org/example/HtmlFixer.java": FIXER})
    unrelated = git_repo.commit("Notes on tables", {"docs/notes.py": "def table_notes():\n    return 'table'\n"},
                                author="Carol")
    git_repo.write("src/test/java/org/example/HtmlFixerTest.java", FIXER_TEST)  # the new, uncommitted test
    repo = GitRepo(git_repo.root)
    failures.add(repo.meta_dir, FIXER_TRACE)
    with Index.open(repo.meta_dir) as index:
        update(repo, index)
        result = ranked(repo, FIXER_TRACE)
        assert _evidence(result, unrelated, EvidenceKind.TEST_DATA)  # the strings do point at it...
        assert failures.check(repo, index, [unrelated], top=10) == []  # ...but that alone is no report
