"""Edges of `rca suspects`, `rca failures` and `rca labels` a new user hit, on real repositories
through the real CLI: empty names said as such, a labels file that is not UTF-8, an output whose
encoding lacks a commit message's characters, a closed standard output, and a reader that left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.test_cli import CALC, CALC_BROKEN, TRACE, rca


def _run(*args: str, cwd, env: dict | None = None, **kw) -> subprocess.CompletedProcess[str]:
    kw.setdefault("capture_output", "stdout" not in kw)
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], cwd=cwd,
                          timeout=120, env={**os.environ, **(env or {})}, **kw)


def _unicode_history(git_repo) -> str:
    """A culprit whose author and summary hold what latin-1 has (é) and what it lacks (✓, an emoji)."""
    git_repo.commit("Add Calc", {"src/main/java/org/example/Calc.java": CALC})
    culprit = git_repo.commit("Simplify parse ✓ café 🚀", {"src/main/java/org/example/Calc.java": CALC_BROKEN},
                              author="Zoë")
    git_repo.write("crash.txt", TRACE.replace('" 2"', '" 2" (Zoë)'))
    return culprit


def test_empty_names_are_usage_errors_that_say_so(git_repo):
    _unicode_history(git_repo)
    root = git_repo.root
    for args in (("suspects", "--trace", ""), ("failures", "add", "--trace", " ")):
        proc = rca(*args, cwd=root)
        assert proc.returncode == 2 and proc.stdout == "", proc
        assert "an empty file name: name the trace file, or - for stdin" in proc.stderr, proc.stderr
        assert "directory" not in proc.stderr
    assert rca("failures", "add", "--trace", "crash.txt", cwd=root).returncode == 0
    proc = rca("failures", "resolve", "1", "--culprit", "", cwd=root)
    assert proc.returncode == 2 and "'--culprit': an empty revision" in proc.stderr, proc.stderr
    assert "refusing" not in proc.stderr
    assert "open" in rca("failures", "list", cwd=root).stdout  # still open: nothing was resolved
    proc = rca("labels", "export", "-o", "", cwd=root)
    assert proc.returncode == 2 and "an empty file name: name a file, or - for stdout" in proc.stderr, proc.stderr
    proc = rca("labels", "import", "", cwd=root)
    assert proc.returncode == 2 and "an empty file name" in proc.stderr and "directory" not in proc.stderr


def test_a_labels_file_that_is_not_utf8_is_refused_not_an_internal_error(git_repo, tmp_path):
    _unicode_history(git_repo)
    bad = tmp_path / "labels.jsonl"
    bad.write_bytes(b'\xff\xfe{"id": 1}\n')
    proc = rca("labels", "import", str(bad), cwd=git_repo.root)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"rca: error: cannot read labels from {bad}: not UTF-8 text (byte 0) "
                                "(hint: import a file that `rca labels export` wrote: UTF-8 JSONL)"), proc.stderr
    assert "internal error" not in proc.stderr


def test_an_output_encoding_without_the_characters_loses_nothing(git_repo, tmp_path):
    culprit = _unicode_history(git_repo)
    root = git_repo.root
    latin = {"PYTHONIOENCODING": "latin-1"}
    proc = _run("suspects", "--trace", "crash.txt", cwd=root, env=latin)
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.decode("latin-1").splitlines() if culprit[:10] in line)
    assert "Zoë" in line and "Simplify parse \\u2713 café \\U0001f680" in line, line
    proc = _run("suspects", "--trace", "crash.txt", "--format", "json", cwd=root, env=latin)
    assert proc.returncode == 0, proc.stderr
    suspect = next(s for s in json.loads(proc.stdout.decode("latin-1"))["suspects"] if s["commit"] == culprit)
    assert suspect["summary"] == "Simplify parse ✓ café 🚀" and suspect["author"] == "Zoë"
    # labels exported on such an output are the UTF-8 JSONL that import reads, every character intact
    assert rca("failures", "add", "--trace", "crash.txt", cwd=root).returncode == 0
    assert rca("failures", "resolve", "1", "--culprit", culprit, cwd=root).returncode == 0
    proc = _run("labels", "export", cwd=root, env=latin)
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout.decode("utf-8"))
    assert line["culprit"] == culprit
    (tmp_path / "export.jsonl").write_bytes(proc.stdout)
    proc = rca("labels", "import", str(tmp_path / "export.jsonl"), cwd=root)
    assert proc.returncode == 0 and proc.stdout == "imported 0 label(s), skipped 1 already present\n", proc


def test_a_closed_standard_output_is_an_error_not_exit_0(git_repo):
    _unicode_history(git_repo)
    proc = _run("suspects", "--trace", "crash.txt", cwd=git_repo.root, text=True,
                preexec_fn=lambda: os.close(1))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.endswith("rca: error: standard output is closed: nothing could be written "
                                "(hint: give the command an output, e.g. > out.txt)\n"), proc.stderr


def test_a_reader_that_left_early_is_not_a_failure(git_repo):
    """`rca suspects ... | head -1`: click answered the broken pipe with exit 1 and no word, so the
    exit status depended on whether head left before or after rca wrote."""
    _unicode_history(git_repo)
    proc = subprocess.Popen([sys.executable, "-m", "rca_lsp", "suspects", "--trace", "crash.txt"],
                            cwd=git_repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the only reader, gone before rca writes a line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "error" not in err, err


def test_a_full_disk_is_said_as_such_not_an_internal_error(git_repo):
    """`rca suspects ... > /dev/full` was "internal error: OSError: [Errno 28]": the exit status was
    right, the word "internal" was not (a full disk is the machine's state, not a bug of rca)."""
    _unicode_history(git_repo)
    with open("/dev/full", "w") as full:
        proc = _run("suspects", "--trace", "crash.txt", cwd=git_repo.root, text=True, stdout=full,
                    stderr=subprocess.PIPE)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("rca: error: cannot write: No space left on device "
                                        "(free some space, or write elsewhere)"), proc.stderr
    assert "internal" not in proc.stderr


def test_since_a_range_says_it_takes_one_revision(git_repo):
    """`--since v1..HEAD` said "unknown revision 'v1..HEAD'" and suggested a hash, branch or tag."""
    _unicode_history(git_repo)
    proc = rca("suspects", "--trace", "crash.txt", "--since", "HEAD~1..HEAD", cwd=git_repo.root)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "'HEAD~1..HEAD' is a range; name one revision, the last good one" in proc.stderr, proc.stderr


def test_labels_import_reads_stdin_and_names_what_a_line_lacks(git_repo, tmp_path):
    """`rca labels export | rca labels import -` said "No such file or directory"; a line without a
    field said "not a label: KeyError: 'candidates'"."""
    _unicode_history(git_repo)
    root = git_repo.root
    assert rca("failures", "add", "--trace", "crash.txt", cwd=root).returncode == 0
    culprit = git_repo.git("rev-parse", "HEAD").strip()
    assert rca("failures", "resolve", "1", "--culprit", culprit, cwd=root).returncode == 0
    export = rca("labels", "export", cwd=root)
    assert export.returncode == 0 and export.stdout.count("\n") == 1, export.stderr
    assert rca("labels", "remove", "1", cwd=root).returncode == 0
    again = subprocess.run([sys.executable, "-m", "rca_lsp", "labels", "import", "-"], cwd=root, input=export.stdout,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout == "imported 1 label(s)\n", again.stderr
    doc = json.loads(export.stdout)
    del doc["candidates"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(doc) + "\n[1, 2]\n")
    proc = rca("labels", "import", str(bad), cwd=root)
    assert proc.returncode != 0 and "KeyError" not in proc.stderr
    assert f"{bad}:1: not a label: no 'candidates' (an `rca labels export` line has failure" in proc.stderr, proc.stderr
    bad.write_text("[1, 2]\n")
    proc = rca("labels", "import", str(bad), cwd=root)
    assert f"{bad}:1: not a label: an array, where an `rca labels export` line is an object" in proc.stderr, \
        proc.stderr
