"""Hunks that only change layout (a brace moved, spaces dropped, blank lines) change no function and
own no line: `diffparse.layout_only`, the index's `layout` flag, changed functions and blame
(real git, real Mercurial, the real index)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import ranked

from rca_lsp.index import Index, update
from rca_lsp.suspects.history import History
from rca_lsp.vcs import open_repo
from rca_lsp.vcs import diffparse
from rca_lsp.vcs.diffparse import HUNK_READ, layout_only
from rca_lsp.vcs.git import GitRepo
from tests._hg import HgRepoBuilder, needs_hg
from tests.test_python_targets import LIB, TESTS, TRACE

JAVA_BEFORE = """\
    public boolean hasOption(String opt) {
        return options.containsKey( opt );
"""
JAVA_AFTER = """\
    public boolean hasOption(String opt)
    {
        return options.containsKey(opt);
"""


@pytest.mark.parametrize("removed, added, path, expected", [
    (JAVA_BEFORE, JAVA_AFTER, "src/CommandLine.java", True),  # the brace on its own line, spaces gone
    (JAVA_BEFORE, JAVA_AFTER.replace("containsKey", "get"), "src/CommandLine.java", False),
    ('    log("a  b");\n', '    log("a b");\n', "A.java", False),  # whitespace inside a string is data
    ("    log('it''s  ok');\n", "    log('it''s ok');\n", "A.java", False),
    ('    s = "say \\"a  b\\"";\n', '    s = "say \\"a b\\"";\n', "A.java", False),  # escaped quotes stay inside
    ("  x = 1;\n", "\tx = 1;   \n", "a.c", True),
    ("        total += x\n", "    total += x\n", "lib.py", False),  # Python: indentation is syntax
    ("    return f( a, b )\n", "    return f(a, b)\n", "lib.py", True),
    ("    return f(a,\n             b)\n", "    return f(a, b)\n", "lib.py", False),  # Python lines must break alike
    ("    return f(a,\n             b)\n", "    return f(a, b)\n", "lib.js", True),
    ("", "\n\n", "lib.py", True),  # blank lines added
    ("", "    x = 1\n", "lib.py", False),
    ("    x = 1\n", "", "lib.py", False),
    ("", "", "lib.py", False),
    ("    msg := \"don't  do it\"\n", "    msg := \"don't do it\"\n", "a.go", False),
    ("    c = 'a' + \"it's  so\n", "    c = 'a' + \"it's so\n", "a.c", False),  # an open quote keeps the rest of its line
    ("    int x = 1; // one\n", "    int x = 1; // the first\n", "A.java", True),  # comments are not code
    ("     * @param a the a\n", "     * @param a an a\n", "A.java", False),  # a block comment opened above
    ("    /** Runs.\n     * @param a the a\n", "    /** Runs.\n     * @param a an a\n", "A.java", True),
    ("        * rate;\n", "        * rate * 2;\n", "A.java", False),
    ("    /* old */ x = 1;\n", "    x = 1;\n", "A.java", True),
    ("    // a note\n    run();\n", "    run();\n", "main.go", True),
    ('    url = "http://a  b";\n', '    url = "http://a b";\n', "A.java", False),  # `//` in a string
    ("    x = 1  # one\n", "    x = 1\n", "lib.py", True),
    ('    x = "#a"\n', '    x = "#b"\n', "lib.py", False),
    ("    x = 1 // one\n", "    x = 1 // two\n", "notes.txt", False),  # a language whose comments rca does not know
    ("  s.replace(/^\\.\\//, '').trim();\n", "  s.replace(/^\\.\\//, '').trimEnd();\n", "a.js", False),  # a regex, no comment
    ("  opts = {\n    f: s => s.replace(/^\\.\\//, ''),\n  };\n", "  opts = { f: s => s.replace(/^\\.\\//, '') };\n",
     "a.js", False),  # `,` dropped: code
    ("  opts = {\n    f: s => s.replace(/^\\.\\//, '')\n  };\n", "  opts = { f: s => s.replace(/^\\.\\//, '') };\n",
     "a.js", True),
    ("echo \\# a\n", "echo \\# b\n", "run.sh", False),
    # Java words no running program observes (INERT_WORDS): `final` and `@Override` added or dropped
    ("    public void f(String s, int n) {\n", "    public void f(final String s, final int n) {\n", "A.java", True),
    ("    public void f() {\n", "    @Override\n    public void f() {\n", "A.java", True),
    ("    private int size;\n", "    private final int size;\n", "A.java", True),
    ("    private final int size;\n", "    private final long size;\n", "A.java", False),
    ('    String s = "final";\n', '    String s = "";\n', "A.java", False),  # a word inside a string is data
    ("    } finally {\n", "    } {\n", "A.java", False),  # `finally` is another word
    ("    int x = finalSize;\n", "    int x = Size;\n", "A.java", False),
    ("    f(s);\n", "    f(final s);\n", "a.js", False),  # only Java's words
    # javac drops `@SuppressWarnings` (source retention): with its argument, in any of its forms
    ("    public void f() {\n", '    @SuppressWarnings("unchecked")\n    public void f() {\n', "A.java", True),
    ("    List l;\n", '    @SuppressWarnings({"rawtypes", "unchecked"}) List l;\n', "A.java", True),
    ('    @SuppressWarnings( value = "a" )\n    List l;\n', "    List l;\n", "A.java", True),
    ("    public static void f() {\n", '    public @java.lang.SuppressWarnings({\n        "x",\n    }) static void f() {\n',
     "A.java", True),
    ('  @SuppressWarnings("a") void f();\n', '  @SuppressWarnings("b") void f();\n', "A.java", True),
    ('  @SuppressWarnings("a") void f();\n', '  @SuppressWarnings("a") void g();\n', "A.java", False),
    ('    String s = "";\n', '    String s = "@SuppressWarnings";\n', "A.java", False),  # data, not an annotation
    ('    String s = "";\n', '    String s = "@SuppressWarnings(\\"x\\")";\n', "A.java", False),
    ("    f();\n", "    @SuppressWarningsX f();\n", "A.java", False),  # another annotation
    ("    f();\n", "    @SuppressWarnings f();\n", "a.js", False),
])
def test_layout_only(removed, added, path, expected) -> None:
    assert layout_only(removed, added, path) is expected


def test_a_side_read_in_part_is_never_layout() -> None:
    long = "x = 1;\n" * (HUNK_READ // 7 + 1)
    assert len(long) >= HUNK_READ
    assert not layout_only(long, long.replace("x = 1;", "x=1;"), "A.java")
    assert layout_only(long[:700], long[:700].replace("x = 1;", "x=1;"), "A.java")


REFORMATTED = LIB.replace("return text.lower()", "return  text.lower( )").replace(
    "\n\ndef whisper", "\n\n\n\ndef whisper")


def test_a_reformat_changes_no_function_and_owns_no_line(git_repo) -> None:
    """The reformat is the newest commit to touch whisper's lines, yet the tuning before it keeps them
    (blame looks through the layout-only hunk) and the reformat earns nothing from whisper."""
    git_repo.commit("Add lib", {"lib.py": LIB, "tests/test_lib.py": TESTS})
    tuned = git_repo.commit("Tune whisper", {"lib.py": LIB.replace("text.lower()", "text.lower().strip()")})
    reformat = git_repo.commit("Reformat", {"lib.py": REFORMATTED.replace("text.lower( )", "text.lower( ).strip()")})
    repo = GitRepo(git_repo.root)
    result = ranked(repo, TRACE)
    f = result.features
    assert f[tuned]["blamed"] == 1.0 and f[tuned]["code"] > 0
    assert "code" not in f.get(reformat, {}) and "blamed" not in f.get(reformat, {})
    order = [s.commit.hash for s in result.suspects]
    assert reformat not in order or order.index(tuned) < order.index(reformat)
    with Index.open(repo.meta_dir) as index:
        rows = index.conn.execute(
            "SELECT h.layout FROM hunks h JOIN commits c ON c.id = h.commit_id WHERE c.hash = ?", (reformat,)).fetchall()
        changed = index.conn.execute(
            "SELECT cs.qualname FROM changed_symbols cs JOIN commits c ON c.id = cs.commit_id WHERE c.hash = ?",
            (reformat,)).fetchall()
    assert rows and all(r[0] == 1 for r in rows), rows
    assert changed == []


def test_a_python_dedent_is_a_change(git_repo) -> None:
    git_repo.commit("Add lib", {"lib.py": LIB, "tests/test_lib.py": TESTS})
    body = LIB.replace("def whisper(text):\n    return text.lower()\n",
                       "def whisper(text):\n    for c in text:\n        text = text.lower()\n    return text\n")
    git_repo.commit("Loop", {"lib.py": body})
    dedent = git_repo.commit("Lower once", {"lib.py": body.replace("        text = text.lower()", "    text = text.lower()")})
    f = ranked(GitRepo(git_repo.root), TRACE).features
    assert f[dedent]["code"] > 0 and f[dedent]["blamed"] > 0


@needs_hg
def test_mercurial_marks_the_same_hunks(tmp_path) -> None:
    pytest.importorskip("hglib")
    hg = HgRepoBuilder(tmp_path / "hg")
    hg.commit("Add lib", {"lib.py": LIB, "tests/test_lib.py": TESTS})
    hg.commit("Tune whisper", {"lib.py": LIB.replace("text.lower()", "text.lower().strip()")})
    hg.commit("Reformat", {"lib.py": REFORMATTED.replace("text.lower( )", "text.lower( ).strip()")})
    repo = open_repo(hg.root)
    logged = list(repo.log(list(reversed(repo.reachable()))))
    flags = [[h.layout for change in lc.changes for h in change.hunks] for lc in logged]
    assert flags == [[False, False], [False], [True, True]], flags


def test_an_index_built_before_the_flag_reads_every_commit_again(git_repo) -> None:
    """Migration m011 adds the column and has every commit with hunks read again, so an upgraded
    index equals a fresh build: the reformat loses the function it did not change."""
    from rca_lsp.index.schema import m011_layout_hunks

    git_repo.commit("Add lib", {"lib.py": LIB, "tests/test_lib.py": TESTS})
    reformat = git_repo.commit("Reformat", {"lib.py": REFORMATTED})
    repo = GitRepo(git_repo.root)
    changed = "SELECT cs.qualname FROM changed_symbols cs JOIN commits c ON c.id = cs.commit_id WHERE c.hash = ?"
    with Index.open(repo.meta_dir) as index:
        update(repo, index)
        assert index.conn.execute(changed, (reformat,)).fetchall() == []
        with index.write() as conn:  # what an index built by the code before has
            conn.execute("ALTER TABLE hunks DROP COLUMN layout")
            conn.execute("INSERT INTO changed_symbols(commit_id, file_id, name, qualname, kind, lines)"
                         " SELECT c.id, f.id, 'whisper', 'whisper', 'function', 1 FROM commits c"
                         " JOIN files f ON f.commit_id = c.id WHERE c.hash = ?", (reformat,))
        m011_layout_hunks(index.db)
        assert set(index.get_state("redo").split()) == set(repo.reachable())
        update(repo, index)
        assert index.conn.execute(changed, (reformat,)).fetchall() == []
        assert not index.get_state("redo")
        assert index.conn.execute("SELECT count(*) FROM hunks WHERE layout = 1").fetchone()[0] == 2


JAVA_PARSER = """\
package org.ex;

class Parser {
    String parse(String arg, int flags) {
        String out = arg.trim();
        return out;
    }
}
"""


def _changed(index: Index, commit: str) -> list[tuple[str]]:
    return index.conn.execute(
        "SELECT cs.qualname FROM changed_symbols cs JOIN commits c ON c.id = cs.commit_id WHERE c.hash = ?",
        (commit,)).fetchall()


def _use_final(source: str) -> str:
    return source.replace("(String arg, int flags)", "(final String arg, final int flags)").replace(
        "        String out", "        final String out").replace("    String parse", "    @Override\n    String parse")


def _suppress(source: str) -> str:
    return source.replace("    String parse", '    @SuppressWarnings({"unchecked", "rawtypes"})\n    String parse')


@pytest.mark.parametrize("message, edit, migration", [
    ("Use final.", _use_final, "m012_inert_java_words"),
    ("Add @SuppressWarnings", _suppress, "m013_inert_java_annotations"),
])
def test_a_java_commit_that_only_adds_inert_words_changes_no_function(git_repo, message, edit, migration) -> None:
    """"Use final." (parameters and a local made final, an @Override added) and "Add @SuppressWarnings"
    are layout: no function changed, their hunks flagged; the commit before keeps its lines. The
    migration reads every commit that touched Java again, so an index built before the words were
    inert comes out the same."""
    from rca_lsp.index import schema

    git_repo.commit("Parser", {"src/org/ex/Parser.java": JAVA_PARSER})
    tuned = git_repo.commit("Strip", {"src/org/ex/Parser.java": JAVA_PARSER.replace("arg.trim()", "arg.strip()")})
    final = git_repo.commit(message, {"src/org/ex/Parser.java": edit(JAVA_PARSER.replace("arg.trim()", "arg.strip()"))})
    repo = GitRepo(git_repo.root)
    with Index.open(repo.meta_dir) as index:
        update(repo, index)
        assert _changed(index, tuned) == [("Parser.parse",)]
        assert _changed(index, final) == []
        layout = "SELECT h.layout FROM hunks h JOIN commits c ON c.id = h.commit_id WHERE c.hash = ?"
        assert [r[0] for r in index.conn.execute(layout, (final,))] == [1]
        history = History(index, repo.reachable())
        owners = {line: history.commit(hit.commit_id).hash
                  for line, hit in history.blame_lines("src/org/ex/Parser.java", set(range(1, 11))).items()}
        # a line only added (the annotation's) is its commit's: there is no line before to look through to
        assert [n for n, owner in owners.items() if owner == final] == ([] if edit is _use_final else [4]), owners
        assert owners[6] == tuned, owners  # `final String out = arg.strip();`
        with index.write() as conn:  # what an index built by the code before has
            conn.execute("UPDATE hunks SET layout = 0")
            conn.execute("INSERT INTO changed_symbols(commit_id, file_id, name, qualname, kind, lines)"
                         " SELECT c.id, f.id, 'parse', 'Parser.parse', 'function', 3 FROM commits c"
                         " JOIN files f ON f.commit_id = c.id WHERE c.hash = ?", (final,))
        getattr(schema, migration)(index.db)
        assert set(index.get_state("redo").split()) == set(repo.reachable())
        update(repo, index)
        assert _changed(index, final) == [] and _changed(index, tuned) == [("Parser.parse",)]
        assert [r[0] for r in index.conn.execute(layout, (final,))] == [1]


# The token-by-token reading `_code` replaced (measured in the twenty-eighth sitting), kept as the
# reference the faster reading must equal: every token a string, a comment, whitespace or other code.
_REF_TOKENS = {
    "slash": re.compile(diffparse._STRING + r"|(?P<c>(?<!\\)(?://[^\n]*|/\*[\s\S]*?(?:\*/|\Z)))|(?P<w>\s+)|[^\s\"'/]+|/"),
    "hash": re.compile(diffparse._STRING + r"|(?P<c>(?<!\\)#[^\n]*)|(?P<w>\s+)|[^\s\"'#]+|#"),
    "none": re.compile(diffparse._STRING + r"|(?P<c>(?!))|(?P<w>\s+)|[^\s\"']+"),
}


def _reference_code(text: str, path: str) -> str:
    lower = path.lower()
    text = re.sub(r"[ \t\r\f\v]+$", "", text, flags=re.M)
    tokens = _REF_TOKENS["slash" if lower.endswith(diffparse.SLASH_COMMENTS) else
                         "hash" if lower.endswith(diffparse.HASH_COMMENTS) else "none"]
    inert = diffparse._inert(lower)

    def kept(line: str) -> str:
        code = "".join(m.group() if inert is None or m.group()[0] in "\"'" else inert.sub(m.group())
                       for m in tokens.finditer(line) if m.lastgroup is None)
        return diffparse._ARGUMENT.sub("", code)

    if not lower.endswith(diffparse.INDENTED):
        return kept(text)
    return "\n".join(line[:len(line) - len(line.lstrip())] + kept(line) for line in text.splitlines() if kept(line))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(['"', "'", "/", "*", "#", "\\", "\n", " ", "\t", "\r", "a", "b1", "final", "@Override",
                                 "(", ")", ";", "finally", "$", "@SuppressWarnings", "{", "}", ",",
                                 "value="]), max_size=40),
       st.sampled_from(["A.java", "a.js", "lib.py", "run.sh", "notes.txt", "a.go"]))
def test_the_fast_reading_equals_the_token_by_token_one(parts, path) -> None:
    text = "".join(parts)
    assert diffparse._code(text, path) == _reference_code(text, path)
