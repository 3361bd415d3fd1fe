"""Go failing tests reach a function handed over as an argument: `lookup(raw, int32Conv)` runs
int32Conv (pflag's `f.getFlagType(name, "int32", int32Conv)`), though no call names it."""

from __future__ import annotations

from pathlib import Path

from conftest import ranked

from rca_lsp.code.calls import analyze
from rca_lsp.vcs.git import GitRepo

FIXTURES = Path(__file__).parent / "fixtures" / "go_flags"

# The real output of `go test ./...` (go1.19.8, 2026-12-05) on the tree of the "Hex" commit below
# (fixtures/go_flags with both later changes applied).
TRACE = """\
--- FAIL: TestGetInt32 (0.00s)
    flags_test.go:8: GetInt32("12") = 18, <nil>; want 12
FAIL
FAIL\texample.com/flags\t0.005s
FAIL
"""


def test_a_function_passed_as_an_argument_counts_as_called() -> None:
    calls = analyze((FIXTURES / "flags.go").read_bytes(), "go").calls
    assert ("GetInt32", "int32Conv") in {(c.caller, c.callee) for c in calls}
    assert ("GetInt32", "boolConv") not in {(c.caller, c.callee) for c in calls}


def test_the_walk_reaches_the_callback_the_test_runs(git_repo) -> None:
    source = (FIXTURES / "flags.go").read_text()
    files = {"go.mod": (FIXTURES / "go.mod").read_text(), "flags.go": source,
             "flags_test.go": (FIXTURES / "flags_test.go").read_text()}
    git_repo.commit("Add flags", files)
    lowered = source.replace("return strconv.ParseBool(raw)", "return strconv.ParseBool(strings.ToLower(raw))")
    lowered = lowered.replace('import "strconv"', 'import (\n\t"strconv"\n\t"strings"\n)')
    booleans = git_repo.commit("Bools in any case", {"flags.go": lowered}, author="Bob")
    hexed = git_repo.commit("Hex", {"flags.go": lowered.replace("strconv.ParseInt(raw, 0, 32)",
                                                                "strconv.ParseInt(raw, 16, 32)")}, author="Carol")
    git_repo.commit("Docs", {"README": "flags\n"})
    result = ranked(GitRepo(git_repo.root), TRACE)
    assert result.features[hexed]["code"] > 0 and "code" not in result.features[booleans]
    suspect = next(s for s in result.suspects if s.commit.hash == hexed)
    assert any("changed int32Conv" in e.text and "TestGetInt32" in e.text for e in suspect.evidence), \
        [e.text for e in suspect.evidence]
