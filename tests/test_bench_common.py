"""The benchmark scripts' pure helpers: trace frames, path mapping, BIC rank (no git, no network)."""

from __future__ import annotations

from _reliability import load

bc = load("bench_common")
br = load("bench_run")

TRACE = """--- org.apache.commons.lang3.StringUtilsTest::testFoo
junit.framework.ComparisonFailure: expected:<a> but was:<b>
\tat junit.framework.Assert.assertEquals(Assert.java:100)
\tat org.apache.commons.lang3.StringUtils$Inner.foo(StringUtils.java:42)
\tat org.apache.commons.lang3.StringUtilsTest.testFoo(StringUtilsTest.java:7)
\tat sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
\tTwo lines of a message
\t... 35 more
--- org.apache.commons.lang3.OtherTest::testBar
java.lang.NullPointerException
\tat java.base/java.lang.String.length(String.java:1)
"""


def test_parse_frames_reads_blocks_files_and_lines() -> None:
    frames = bc.parse_frames(TRACE)
    assert [f.qualname for f in frames] == [
        "junit.framework.Assert.assertEquals",
        "org.apache.commons.lang3.StringUtils$Inner.foo",
        "org.apache.commons.lang3.StringUtilsTest.testFoo",
        "sun.reflect.NativeMethodAccessorImpl.invoke0",
        "java.lang.String.length",
    ]
    inner = frames[1]
    assert (inner.block, inner.test, inner.file, inner.line) == (
        0, "org.apache.commons.lang3.StringUtilsTest::testFoo", "StringUtils.java", 42)
    assert inner.package == "org.apache.commons.lang3"
    assert inner.method == "foo"
    assert inner.path_suffix() == "org/apache/commons/lang3/StringUtils.java"
    assert frames[3].file == "" and frames[3].line is None
    assert frames[4].block == 1


def test_path_index_maps_frames_to_repo_paths() -> None:
    idx = bc.PathIndex([
        "src/main/java/org/apache/commons/lang3/StringUtils.java",
        "src/test/java/org/apache/commons/lang3/StringUtilsTest.java",
        "src/main/java/org/other/StringUtils.java",
    ])
    resolved = bc.in_repo_frames(bc.parse_frames(TRACE), idx)
    assert [r.paths for r in resolved] == [
        ("src/main/java/org/apache/commons/lang3/StringUtils.java",),
        ("src/test/java/org/apache/commons/lang3/StringUtilsTest.java",),
    ]
    assert [r.is_test for r in resolved] == [False, True]
    assert idx.resolve("") == []


def test_is_test_path() -> None:
    assert bc.is_test_path("src/test/org/apache/commons/lang/FooTest.java")
    assert bc.is_test_path("src/main/java/x/FooTest.java")
    assert not bc.is_test_path("src/main/java/org/jsoup/nodes/Entities.java")
    assert bc.is_test_path("src/test/org/apache/commons/lang/TestUtils.java")
    assert not bc.is_test_path("src/java/org/apache/commons/lang/Testing.java")


def test_rank_of_is_one_based_and_accepts_abbreviations() -> None:
    bic = "8d12cf6b9cc902806bb10d1a1c2e1200851a0648"
    assert br.rank_of(bic, ["a" * 40, bic]) == 2
    assert br.rank_of(bic, ["8d12cf6"]) == 1
    assert br.rank_of(bic, ["8d12"]) is None
    assert br.rank_of(bic, []) is None


def test_newest_first_breaks_ties_by_discovery_order() -> None:
    assert br.newest_first({"a": 1, "b": 3, "c": 3, "d": 2}) == ["b", "c", "d", "a"]


def test_gst_sanitize_drops_tab_lines_that_are_not_frames() -> None:
    text, dropped = br.gst_sanitize(TRACE)
    assert dropped == 2
    assert "... 35 more" not in text and "Two lines" not in text
    assert "\tat sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)" in text


bj = load("bench_jacoco")


def test_jacoco_runs_read_the_failing_tests_and_their_exceptions_from_the_trace() -> None:
    assert bj.failing_tests(TRACE + TRACE) == [("org.apache.commons.lang3.StringUtilsTest", "testFoo"),
                                               ("org.apache.commons.lang3.OtherTest", "testBar")]
    assert bj.exceptions(TRACE) == ["ComparisonFailure", "NullPointerException"]


def test_jacoco_runs_find_every_source_root_by_package(tmp_path) -> None:
    files = {"src/java/org/a/Main.java": "package org.a;\nclass Main {}",
             "src/java/org/a/b/Two.java": "/* header */\npackage org.a.b;\nclass Two {}",
             "src/test/org/a/MainTest.java": "package org.a;\nclass MainTest {}",
             "examples/Loose.java": "class Loose {}",  # the default package: its own folder roots it
             "src/odd/Misplaced.java": "package org.elsewhere;\nclass Misplaced {}"}  # folder and package disagree
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    roots = bj.source_roots(tmp_path)
    assert roots[0] == tmp_path / "src/java"  # most files first
    assert set(roots) == {tmp_path / "src/java", tmp_path / "src/test", tmp_path / "examples", tmp_path / "src/odd"}


def test_jacoco_runs_leave_out_a_library_jar_the_sources_define(tmp_path) -> None:
    import zipfile

    lib = tmp_path / "lang.jar"
    with zipfile.ZipFile(lib, "w") as z:
        z.writestr("org/apache/commons/lang/StringUtils.class", b"")
    other = tmp_path / "junit.jar"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("org/junit/Test.class", b"")
    src = tmp_path / "src"
    (src / "org/apache/commons/lang").mkdir(parents=True)
    assert bj.not_shadowing([str(lib), str(other)], [src]) == [str(lib), str(other)]  # an empty folder defines nothing
    (src / "org/apache/commons/lang/StringUtils.java").write_text("package org.apache.commons.lang;")
    assert bj.not_shadowing([str(lib), str(other)], [src]) == [str(other)]


def test_js_coverage_runs_grep_exactly_the_failing_titles_as_mocha_reads_the_pattern() -> None:
    """Mocha builds its --grep with `new RegExp(pattern)` and matches each test's full title."""
    import json
    import shutil
    import subprocess

    js = load("bench_jscov")
    failing = ["loader should parse 1.5 (float) [x]", "picomatch * matches a/b?c", "plain"]
    others = ["loader should parse 1x5 (float) [x]", "plain and more", "picomatch * matches a/b?c too"]
    pattern = js.title_pattern(failing)
    node = shutil.which("node")
    assert node is not None, "Node is on every machine this project runs on"
    script = "const re = new RegExp(process.argv[1]); console.log(JSON.stringify(JSON.parse(process.argv[2]).map(t => re.test(t))))"
    got = subprocess.run([node, "-e", script, pattern, json.dumps(failing + others)], capture_output=True, text=True,
                         check=True)
    assert json.loads(got.stdout) == [True] * len(failing) + [False] * len(others)
