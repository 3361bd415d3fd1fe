"""The `rca` command end to end on real repositories: contract, evidence, errors, options."""

from __future__ import annotations

import json
import subprocess
import sys

CALC = """package org.example;

public class Calc {
    public static int parse(String s) {
        return Integer.parseInt(s.trim());
    }

    public static int twice(String s) {
        return parse(s) * 2;
    }
}
"""
CALC_BROKEN = CALC.replace("return Integer.parseInt(s.trim());", "return Integer.parseInt(s);")
TEST = """package org.example;

import junit.framework.TestCase;

public class CalcTest extends TestCase {
    public void testTwice() {
        assertEquals(4, Calc.twice(" 2"));
    }
}
"""
TRACE = """--- org.example.CalcTest::testTwice
java.lang.NumberFormatException: For input string: " 2"
	at java.lang.NumberFormatException.forInputString(NumberFormatException.java:65)
	at java.lang.Integer.parseInt(Integer.java:580)
	at org.example.Calc.parse(Calc.java:5)
	at org.example.Calc.twice(Calc.java:9)
	at org.example.CalcTest.testTwice(CalcTest.java:7)
"""


def rca(*args: str, cwd=None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=120)


def _history(git_repo) -> dict[str, str]:
    shas = {"calc": git_repo.commit("Add Calc", {"src/main/java/org/example/Calc.java": CALC}, author="Alice")}
    shas["readme"] = git_repo.commit("Add README", {"README.md": "calc\n"}, author="Bob")
    shas["culprit"] = git_repo.commit("Simplify parse", {"src/main/java/org/example/Calc.java": CALC_BROKEN},
                                      author="Carol")
    shas["docs"] = git_repo.commit("Docs", {"README.md": "calc, a calculator\n"}, author="Bob")
    git_repo.write("src/test/java/org/example/CalcTest.java", TEST)
    git_repo.write("crash.txt", TRACE)
    return shas


def test_suspects_json_contract_and_evidence(git_repo):
    shas = _history(git_repo)
    assert rca("index", "--repo", str(git_repo.root)).returncode == 0
    proc = rca("suspects", "--repo", str(git_repo.root), "--trace", "crash.txt", "--format", "json",
               cwd=git_repo.root)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) >= {"suspects", "candidates", "timings"} and doc["candidates"] == 4
    # Two plausible suspects: the commit that last changed the failing line, and the one that
    # wrote both methods on the failing path. Both must lead, each with its own evidence.
    top = {s["commit"]: s for s in doc["suspects"][:2]}
    assert set(top) == {shas["culprit"], shas["calc"]}
    culprit = top[shas["culprit"]]
    assert culprit["author"] == "Carol" and culprit["summary"] == "Simplify parse"
    assert culprit["date"].endswith("Z") and len(culprit["commit"]) == 40
    assert "changed Calc.parse, frame 3 of the trace, at line 5" in [e["text"] for e in culprit["evidence"]]
    creator = [e["text"] for e in top[shas["calc"]]["evidence"]]
    assert "changed Calc.twice (3 lines), which the failing test CalcTest.testTwice calls" in creator
    scores = [s["score"] for s in doc["suspects"]]
    assert scores == sorted(scores, reverse=True)


def test_stdin_text_output_and_since(git_repo):
    shas = _history(git_repo)
    proc = rca("suspects", "--trace", "-", cwd=git_repo.root, input=TRACE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("#1   ") and shas["culprit"][:10] in proc.stdout.split("#3")[0]
    narrowed = rca("suspects", "--trace", "-", "--since", shas["culprit"], "--format", "json",
                   cwd=git_repo.root, input=TRACE)
    doc = json.loads(narrowed.stdout)
    assert doc["candidates"] == 1 and doc["suspects"][0]["commit"] == shas["docs"]


def test_ignore_revs_and_mailmap_are_honoured(git_repo):
    shas = _history(git_repo)
    reformatted = CALC_BROKEN.replace("    return Integer.parseInt(s);", "    return  Integer.parseInt(s);")
    style = git_repo.commit("Reformat", {"src/main/java/org/example/Calc.java": reformatted}, author="Dave")
    git_repo.commit("Ignore the reformat", {".git-blame-ignore-revs": style + "\n",
                                            ".mailmap": "Carol Jones <carol@example.com> Carol <carol@example.com>\n"})
    doc = json.loads(rca("suspects", "--trace", "crash.txt", "--format", "json", cwd=git_repo.root).stdout)
    culprit, = [s for s in doc["suspects"] if s["commit"] == shas["culprit"]]
    assert culprit["author"] == "Carol Jones"
    frame_hits = [s["commit"] for s in doc["suspects"]
                  if any(e["kind"] == "frame-line" and e.get("line") == 5 and "at line" in e["text"]
                         for e in s["evidence"])]
    assert style not in frame_hits


def test_errors_are_one_clear_line_with_exit_codes(git_repo, tmp_path):
    _history(git_repo)
    bad = rca("suspects", "--trace", "-", cwd=git_repo.root, input="hello\nworld\n")
    assert bad.returncode == 5 and "no stack trace found" in bad.stderr and "Traceback" not in bad.stderr
    missing = rca("suspects", "--trace", "nope.txt", cwd=git_repo.root)
    assert missing.returncode == 5 and "nope.txt" in missing.stderr
    outside = rca("index", "--repo", str(tmp_path))
    assert outside.returncode == 3 and f"not a git or Mercurial repository (or Sapling): {tmp_path}" in outside.stderr
    unsafe = rca("suspects", "--trace", "crash.txt", "--since", "--output=/tmp/x", cwd=git_repo.root)
    assert unsafe.returncode == 3 and "refusing revision" in unsafe.stderr
    assert not (tmp_path / "x").exists()


def test_empty_repository(git_repo):
    index = rca("index", cwd=git_repo.root)
    assert index.returncode == 0 and "no commits yet" in index.stderr
    # one error, one exit code (3, a repository problem) and one line in every command that ranks
    for args in (["suspects", "--trace", "-"], ["bisect", "--trace", "-", "--test", "true"]):
        proc = rca(*args, cwd=git_repo.root, input=TRACE)
        assert (proc.returncode, proc.stderr.count("\n")) == (3, 1), (args, proc.stderr)
        assert "no commits yet" in proc.stderr and "Usage" not in proc.stderr


def test_python_module_and_console_script_agree(git_repo):
    _history(git_repo)
    out = subprocess.run(["rca", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("rca, version ")
    assert rca("--version").stdout == out.stdout
