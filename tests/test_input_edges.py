"""Inputs at the edges of what the CLI accepts, on real repositories: an export aimed at a folder,
a label confirmed twice, a timeout no clock can hold, a trace that is a pipe, a benchmark folder
that is not there. Each is refused in one line with its exit code, or read as the user meant."""

from __future__ import annotations

import json
import os
import sqlite3
import threading

from rca_lsp.errors import TraceError
from rca_lsp.traces.read import MAX_TRACE_BYTES, read_trace_file
from tests.test_cli import TRACE, _history, rca

LABEL = {"failure": "boom", "culprit": "c" * 40, "created": 1_700_000_000,
         "candidates": [["c" * 40, {"position": 0, "code": 1}], ["d" * 40, {"position": 0.5, "code": 0.25}]]}


def _one_commit(git_repo) -> str:
    git_repo.commit("Add app", {"app.py": "print(1)\n"})
    return str(git_repo.root)


def _tree(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.parts}


def _labels(root) -> list[dict]:
    proc = rca("labels", "list", "--repo", str(root), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# 1 -------------------------------------------------------------------------------------------------

def test_export_to_a_folder_or_into_a_missing_one_is_refused_and_leaves_no_temporary(git_repo, tmp_path):
    root = _one_commit(git_repo)
    (tmp_path / "one.jsonl").write_text(json.dumps(LABEL) + "\n")
    assert rca("labels", "import", str(tmp_path / "one.jsonl"), "--repo", root).returncode == 0
    (git_repo.root / "pkg").mkdir()
    (git_repo.root / "pkg" / "keep.txt").write_text("x\n")
    before = _tree(git_repo.root)
    missing = tmp_path / "nowhere" / "x.jsonl"
    for output, why in (("pkg", "it is a directory (hint: name a file, e.g. labels.jsonl)"),
                        (".", "it is a directory (hint: name a file, e.g. labels.jsonl)"),
                        ("new/", "it names a directory (hint: name a file, e.g. labels.jsonl)"),
                        (str(missing), f"the folder {missing.parent} does not exist")):
        proc = rca("labels", "export", "-o", output, cwd=root)
        assert proc.returncode == 2, (output, proc.stderr)
        assert proc.stderr == f"rca: error: cannot write labels to {output}: {why}\n"
        assert _tree(git_repo.root) == before, output  # no pkg.tmp, no ..tmp
    assert not missing.parent.exists()
    (git_repo.root / "labels.jsonl").write_text("old\n")
    proc = rca("labels", "export", "-o", "labels.jsonl", cwd=root)
    assert proc.returncode == 0 and proc.stderr == "exported 1 label(s)\n", proc.stderr
    [line] = (git_repo.root / "labels.jsonl").read_text().splitlines()  # replaced whole
    assert json.loads(line)["culprit"] == LABEL["culprit"]
    assert _tree(git_repo.root) == before | {"labels.jsonl"}


# 2 -------------------------------------------------------------------------------------------------

def test_a_failure_resolved_twice_with_the_same_culprit_is_one_label(git_repo):
    shas = _history(git_repo)
    root = str(git_repo.root)
    assert rca("failures", "add", "--repo", root, "--trace", "crash.txt", cwd=root).returncode == 0
    proc = rca("failures", "resolve", "1", "--repo", root, "--culprit", shas["culprit"], cwd=root)
    assert proc.returncode == 0 and proc.stdout.startswith("label #1: culprit "), proc.stderr
    proc = rca("failures", "resolve", "1", "--repo", root, "--culprit", shas["culprit"], cwd=root)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.startswith(f"label #1 already recorded: culprit {shas['culprit'][:10]} (not added again)\n")
    [label] = _labels(root)
    assert label["culprit"] == shas["culprit"] and label["source"] == "failure"
    # an export imported back adds nothing and says so
    export = git_repo.root / "l.jsonl"
    assert rca("labels", "export", "--repo", root, "-o", str(export)).returncode == 0
    proc = rca("labels", "import", str(export), "--repo", root)
    assert proc.returncode == 0 and proc.stdout == "imported 0 label(s), skipped 1 already present\n", proc.stderr
    assert [lb["id"] for lb in _labels(root)] == [1]


def test_import_skips_labels_already_present_and_repeated_in_the_file(git_repo, tmp_path):
    root = _one_commit(git_repo)
    other = {**LABEL, "culprit": "d" * 40}
    moved = {**LABEL, "candidates": [LABEL["candidates"][0], ["d" * 40, {"position": 0.5, "code": 0.5}]]}
    path = tmp_path / "pooled.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in (LABEL, other, LABEL, moved)))
    proc = rca("labels", "import", str(path), "--repo", root)
    assert proc.returncode == 0 and proc.stdout == "imported 3 label(s), skipped 1 already present\n"
    proc = rca("labels", "import", str(path), "--repo", root)
    assert proc.returncode == 0 and proc.stdout == "imported 0 label(s), skipped 4 already present\n"
    assert [(lb["id"], lb["culprit"][0]) for lb in _labels(root)] == [(1, "c"), (2, "d"), (3, "c")]


def test_a_labels_file_with_duplicates_from_before_is_migrated_keeping_the_first_of_each(git_repo, tmp_path):
    root = _one_commit(git_repo)
    db = git_repo.root / ".git" / "rca" / "labels.db"
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute("""CREATE TABLE labels (id INTEGER PRIMARY KEY, created INTEGER NOT NULL, source TEXT NOT NULL,
        failure TEXT NOT NULL, culprit TEXT NOT NULL, head TEXT, ranker TEXT NOT NULL, rank INTEGER,
        retrieval_rank INTEGER, total INTEGER NOT NULL, candidates TEXT NOT NULL, runs TEXT NOT NULL DEFAULT '[]')""")
    rows = [(LABEL["created"] + i, src, LABEL["failure"], culprit, "retrieval", 2, json.dumps(LABEL["candidates"]))
            for i, (src, culprit) in enumerate([("failure", "c" * 40), ("import", "c" * 40), ("failure", "d" * 40),
                                                 ("bisect", "c" * 40)])]
    conn.executemany("INSERT INTO labels(created, source, failure, culprit, ranker, total, candidates)"
                     " VALUES (?,?,?,?,?,?,?)", rows)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    assert [(lb["id"], lb["source"]) for lb in _labels(root)] == [(1, "failure"), (3, "failure")]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    finally:
        conn.close()
    path = tmp_path / "again.jsonl"
    path.write_text(json.dumps(LABEL) + "\n")
    proc = rca("labels", "import", str(path), "--repo", root)
    assert proc.stdout == "imported 0 label(s), skipped 1 already present\n", proc.stderr


# 3 -------------------------------------------------------------------------------------------------

def test_a_timeout_that_is_not_finite_or_past_a_week_is_a_usage_error(git_repo):
    root = _one_commit(git_repo)
    for value in ("inf", "nan", "1e12", "-inf", "604801"):
        proc = rca("bisect", "--test", "exit 1", "--timeout", value, cwd=root)
        assert proc.returncode == 2 and "Invalid value for '--timeout'" in proc.stderr, (value, proc.stderr)
        assert "internal error" not in proc.stderr
    assert "is not in the range 0<x<=604800" in rca("bisect", "--test", "true", "--timeout", "inf", cwd=root).stderr
    proc = rca("bisect", "--test", "exit 0", "--timeout", "604800", cwd=root)  # a week is accepted: it runs
    assert proc.returncode == 7 and "the test passes at BAD" in proc.stderr, proc.stderr


# 4 -------------------------------------------------------------------------------------------------

def _suspects(root, trace: str, input: str | None = None) -> list[str]:
    proc = rca("suspects", "--trace", trace, "--format", "json", cwd=root, input=input)
    assert proc.returncode == 0, proc.stderr
    return [s["commit"] for s in json.loads(proc.stdout)["suspects"]]


def test_a_trace_given_as_a_pipe_or_dev_stdin_is_read_like_a_file(git_repo, tmp_path):
    shas = _history(git_repo)
    root = str(git_repo.root)
    expected = _suspects(root, "crash.txt")
    assert shas["culprit"] in expected[:2]
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(TRACE,), daemon=True)
    writer.start()
    proc = rca("suspects", "--trace", str(fifo), "--format", "json", cwd=root)
    if writer.is_alive():  # rca never opened it: open it here so that the writer finishes
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        writer.join()
        os.close(fd)
    assert proc.returncode == 0, proc.stderr
    assert [s["commit"] for s in json.loads(proc.stdout)["suspects"]] == expected
    assert _suspects(root, "/dev/stdin", input=TRACE) == expected
    proc = rca("suspects", "--trace", "/dev/stdin", cwd=root, input="x" * (MAX_TRACE_BYTES + 1))
    assert proc.returncode == 5 and "trace input is over 64 MB" in proc.stderr  # the cap of files and of -
    assert rca("suspects", "--trace", "src", cwd=root).stderr == "rca: error: trace file src is a directory\n"
    assert rca("suspects", "--trace", "nope.txt", cwd=root).stderr == "rca: error: trace file nope.txt does not exist\n"


def test_the_server_reads_regular_trace_files_only_and_never_waits_on_a_fifo(tmp_path):
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    try:
        read_trace_file(fifo)  # a FIFO nobody writes: opening it would block
    except TraceError as exc:
        assert str(exc) == f"trace file {fifo} is not a regular file"
    else:
        raise AssertionError("a FIFO was read")


# 5 -------------------------------------------------------------------------------------------------

def test_eval_checks_its_benchmark_folder_before_printing_anything(git_repo, tmp_path):
    root = _one_commit(git_repo)
    proc = rca("model", "eval", "--repo", root, "--bench", str(tmp_path / "nonexistent"))
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert proc.stderr == f"rca: error: no benchmark case files (*.json.gz) in {tmp_path / 'nonexistent'}\n"
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "case-0.json.gz").write_text("not gzip")
    proc = rca("model", "eval", "--repo", root, "--bench", str(tmp_path / "bench"))
    assert proc.returncode == 2 and proc.stdout == "" and "case-0.json.gz: not a benchmark case file" in proc.stderr
