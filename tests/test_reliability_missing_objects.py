"""An object store that lacks blobs: one deleted object, and a `--filter=blob:none` partial clone.

Issue #12, item 3. On a real repository missing one large test resource, `rca index` stopped with
exit 3 `git log failed: fatal: unable to read <sha>` and indexed nothing; in a partial clone
`git log -p` fetched every blob of history from the promisor remote, one round trip each. Now a
missing object costs that file's diff (named in a warning), and a partial clone is indexed
without fetching anything: every commit and the files it touched, hunks where both versions are
present. Real repositories in temporary folders, real `git clone --filter`, real `rca index`.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from _reliability import load

RCA = [sys.executable, "-m", "rca_lsp"]
_HUNKS = ("SELECT c.hash, f.path, f.old_blob, f.new_blob, h.old_start, h.old_len, h.new_start, h.new_len"
          " FROM hunks h JOIN files f ON f.id = h.file_id JOIN commits c ON c.id = h.commit_id")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD").strip()


def _index(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RCA, "index", "--repo", str(repo)], capture_output=True, text=True, timeout=600)


def _rows(db: Path, sql: str) -> Counter:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return Counter(conn.execute(sql).fetchall())
    finally:
        conn.close()


def _blobs_present(repo: Path) -> set[str]:
    out = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects",
                          "--batch-check=%(objecttype) %(objectname)"], check=True, capture_output=True, text=True)
    return {line.split()[1] for line in out.stdout.splitlines() if line.startswith("blob ")}


def test_a_missing_blob_costs_only_its_files_diff(tmp_path):
    common = load("reliability_common")
    repo = load("make_synthetic_repo").make(60, tmp_path / "repo", seed=21)
    resource = repo / "src" / "test" / "resources" / "big.txt"
    resource.parent.mkdir(parents=True)
    resource.write_text("".join(f"row {i}\n" for i in range(3000)))
    _commit(repo, "add a large test resource")
    resource.write_text(resource.read_text() + "row 3000\n")
    code = next(p for p in sorted(repo.rglob("*.py")) if ".git" not in p.parts)
    code.write_text(code.read_text() + "\n\ndef added_with_the_resource():\n    return 1\n")
    changed = _commit(repo, "update the resource and some code")
    resource.write_text(resource.read_text() + "row 3001\n")
    after = _commit(repo, "update the resource again")
    db = repo / ".git" / "rca" / "index.db"
    assert _index(repo).returncode == 0
    reference = common.snapshot(db)
    ref_hunks = _rows(db, _HUNKS)
    (repo / ".git" / "rca" / "index.db").unlink()
    blob = _git(repo, "rev-parse", f"{changed}:src/test/resources/big.txt").strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    kept = loose.read_bytes()
    loose.unlink()  # as a damaged store or a lost object

    run = _index(repo)

    assert run.returncode == 0, run.stderr
    said = [line for line in run.stderr.splitlines() if "missing" in line]
    assert len(said) == 2 and all(f"src/test/resources/big.txt indexed without its diff: object {blob} is missing"
                                  in line for line in said), run.stderr
    assert {line.split(":")[1].strip() for line in said} == {changed[:12], after[:12]}
    lost = Counter({row: n for row, n in ref_hunks.items() if blob in row[2:4]})
    assert sum(lost.values()) == 2  # the two diffs that need that version, and nothing else
    assert _rows(db, _HUNKS) == ref_hunks - lost
    now = common.snapshot(db)
    for table in ("changed_symbols", "head_files", "code_symbols"):
        assert now[table] == reference[table], table  # the code changed beside it still counts
    files = {row[:5] for row in now["files"]}
    assert files == {row[:5] for row in reference["files"]}  # every file of every commit listed

    loose.write_bytes(kept)  # the object is back: those two commits are indexed again
    again = _index(repo)
    assert again.returncode == 0 and "missing" not in again.stderr, again.stderr
    assert common.diff_snapshots(common.snapshot(db), reference) == []


def test_a_partial_clone_is_indexed_without_fetching_a_blob(tmp_path):
    source = load("make_synthetic_repo").make(150, tmp_path / "source", seed=22)
    _git(source, "config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-local", "--filter=blob:none", f"file://{source}", str(clone)],
                   check=True, capture_output=True)
    assert _index(source).returncode == 0
    ref_hunks = _rows(source / ".git" / "rca" / "index.db", _HUNKS)
    present = _blobs_present(clone)
    assert len(present) < len(_blobs_present(source))  # really a partial clone

    run = _index(clone)

    assert run.returncode == 0, run.stderr
    assert _blobs_present(clone) == present  # nothing fetched
    assert "indexed 150 new commit(s)" in run.stderr
    assert "their objects are not in this clone (no blob was fetched)" in run.stderr
    db = clone / ".git" / "rca" / "index.db"
    ref_files = _rows(source / ".git" / "rca" / "index.db",
                      "SELECT c.hash, f.old_path, f.new_path FROM files f JOIN commits c ON c.id = f.commit_id")
    touched = _rows(db, "SELECT c.hash, f.old_path, f.new_path FROM files f JOIN commits c ON c.id = f.commit_id")
    assert _paths(touched) == _paths(ref_files)  # each commit lists the files it touched
    whole = Counter({row: n for row, n in ref_hunks.items() if {b for b in row[2:4] if b} <= present})
    assert whole and _rows(db, _HUNKS) == whole  # the diffs it could read, exactly

    # the blobs are fetched (in one batch, as `git backfill` would): the index converges
    missing = subprocess.run(["git", "-C", str(clone), "rev-list", "--objects", "--missing=print", "HEAD"],
                             check=True, capture_output=True, text=True).stdout
    wanted = "".join(line[1:] + "\n" for line in missing.splitlines() if line.startswith("?"))
    subprocess.run(["git", "-C", str(clone), "-c", "fetch.negotiationAlgorithm=noop", "fetch", "-q", "origin",
                    "--no-tags", "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none",
                    "--stdin"], input=wanted, check=True, capture_output=True, text=True)
    again = _index(clone)
    assert again.returncode == 0 and "without" not in again.stderr, again.stderr
    common = load("reliability_common")
    assert common.diff_snapshots(common.snapshot(db), common.snapshot(source / ".git" / "rca" / "index.db")) == []


def _paths(rows: Counter) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for commit, old, new in rows:
        out.setdefault(commit, set()).update(p for p in (old, new) if p)
    return out


def test_a_treeless_clone_fetches_its_trees_but_no_blob(tmp_path):
    source = load("make_synthetic_repo").make(40, tmp_path / "source", seed=23)
    _git(source, "config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-local", "--filter=tree:0", f"file://{source}", str(clone)],
                   check=True, capture_output=True)
    present = _blobs_present(clone)

    run = _index(clone)

    assert run.returncode == 0, run.stderr
    assert "this partial clone lacks trees" in run.stderr and "indexed 40 new commit(s)" in run.stderr
    assert _blobs_present(clone) == present
