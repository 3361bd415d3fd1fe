"""Go interfaces: a call on a value of an interface type runs the methods of the types that implement
it, and Go never says which those are. `Load(s Store, ..)` calling `s.Get(key)` reaches `Mem.Get` and
`Disk.Get` (Disk's Put comes from the writer it embeds), not `Cache.Get` (Cache has no Put)."""

from __future__ import annotations

from pathlib import Path

from conftest import ranked

from rca_lsp.code.calls import analyze
from rca_lsp.code.graph import CallGraph
from rca_lsp.vcs.git import GitRepo

FIXTURES = Path(__file__).parent / "fixtures" / "go_store"
SOURCES = ("go.mod", "store.go", "mem.go", "disk.go", "cache.go", "store_test.go")

# The real output of `go test -count=1 ./...` (go1.19.8, 2026-12-05) on fixtures/go_store with the
# "Case-insensitive keys" change below applied to mem.go.
TRACE = """\
--- FAIL: TestLoad (0.00s)
    store_test.go:9: Load(Alpha) = "none"; want "1"
FAIL
FAIL\texample.com/store\t0.005s
FAIL
"""


def _files() -> dict[str, str]:
    return {name: (FIXTURES / name).read_text() for name in SOURCES}


def test_interface_methods_are_members_and_embedded_types_are_bases() -> None:
    store = analyze((FIXTURES / "store.go").read_bytes(), "go")
    assert [(s.qualname, s.kind) for s in store.symbols] == [
        ("Store", "class"), ("Store.Get", "method"), ("Store.Put", "method"), ("Load", "function")]
    disk = analyze((FIXTURES / "disk.go").read_bytes(), "go")
    assert disk.bases == {"Disk": ["writer"]}
    nested = analyze(b"package p\ntype S struct {\n\tf interface{ M() }\n}\n", "go")
    assert [s.qualname for s in nested.symbols] == ["S"]  # a field's interface type declares no S.M


def test_a_call_on_an_interface_reaches_the_types_that_implement_it() -> None:
    files = [(name, source.encode()) for name, source in _files().items() if name.endswith(".go")]
    graph = CallGraph.build(files)
    reached = graph.callees("store.go", "Load", hops=2)
    assert reached[("store.go", "Store.Get")] == 1.0
    assert reached[("mem.go", "Mem.Get")] == reached[("disk.go", "Disk.Get")] == 0.5
    assert ("cache.go", "Cache.Get") not in reached


def test_the_failing_test_reaches_the_implementation_that_broke(git_repo) -> None:
    files = _files()
    git_repo.commit("Add the store", files)
    mem = files["mem.go"]
    lowered = mem.replace("package store\n", 'package store\n\nimport "strings"\n', 1).replace(
        "m.values[key]\n", "m.values[strings.ToLower(key)]\n")
    assert lowered.count("strings.ToLower") == 1
    culprit = git_repo.commit("Case-insensitive keys", {"mem.go": lowered}, author="Bob")
    cached = files["cache.go"].replace("return c.last, c.last != \"\"", "return c.last, len(c.last) > 0")
    other = git_repo.commit("Cache: say what is empty", {"cache.go": cached}, author="Carol")
    git_repo.commit("Docs", {"README": "store\n"})
    result = ranked(GitRepo(git_repo.root), TRACE)
    assert result.features[culprit]["code"] > 0 and "code" not in result.features[other]
    suspect = next(s for s in result.suspects if s.commit.hash == culprit)
    assert any("changed Mem.Get" in e.text and "TestLoad" in e.text for e in suspect.evidence), \
        [e.text for e in suspect.evidence]


def test_upgrading_reads_the_changed_functions_of_go_commits_again(git_repo) -> None:
    """Indexes built before interface methods were symbols (schema 9) have no `Store.Get` among a
    commit's changed functions; migration m010 has every commit that touched a Go file read again at
    the next update, and only those, keeping what an earlier migration left to read."""
    from rca_lsp.index import Index, update
    from rca_lsp.index.schema import m010_code_go_interfaces

    go = git_repo.commit("Add the store", {"go.mod": _files()["go.mod"], "store.go": _files()["store.go"]})
    py = git_repo.commit("Add a script", {"tools/x.py": "def x():\n    return 1\n"})
    repo = GitRepo(git_repo.root)
    changed = "SELECT cs.qualname FROM changed_symbols cs JOIN commits c ON c.id = cs.commit_id WHERE c.hash = ?"
    with Index.open(repo.meta_dir) as index:
        update(repo, index)
        assert sorted(r[0] for r in index.conn.execute(changed, (go,))) == ["Load", "Store", "Store.Get", "Store.Put"]
        with index.write() as conn:  # what an index built by the code before has
            conn.execute("DELETE FROM changed_symbols WHERE qualname LIKE 'Store.%'")
            index.set_state(conn, "redo", "feedbeef")
        py_id = index.conn.execute("SELECT id FROM commits WHERE hash = ?", (py,)).fetchone()[0]
        m010_code_go_interfaces(index.db)
        assert index.get_state("redo") == f"feedbeef {go}"
        update(repo, index)
        assert sorted(r[0] for r in index.conn.execute(changed, (go,))) == ["Load", "Store", "Store.Get", "Store.Put"]
        assert index.conn.execute("SELECT id FROM commits WHERE hash = ?", (py,)).fetchone()[0] == py_id
        assert not index.get_state("redo")
