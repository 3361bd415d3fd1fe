"""scripts/dataset_build.py as a whole and its folder: old culprits carried through merges,
coverage-guided candidates, merging folders, metadata, dropped cases, missing objects, the data
card (scripts/dataset_card.py), the lock, and no leakage into the held-out sets; on real git and
real pytest."""

from __future__ import annotations

import json
import contextlib
import io
import math
import subprocess
import sys
from pathlib import Path

import pytest

from _reliability import load

mu = load("pytrack_mutations")
gi = load("pytrack_git")
py = load("pytrack_pytest")
pc = load("pytrack_cases")
df = load("dataset_features")
dd = load("dataset_deep")
db = load("dataset_build")
dc = load("dataset_card")


def test_uncommitted_test_files_are_counted(git_repo):
    git_repo.commit("code", {"src/m.py": "x = 1\n", "tests/test_m.py": "def test(): pass\n"})
    assert df.dirty_tests(str(git_repo.root)) == 0
    git_repo.write("tests/test_m.py", "def test(): assert False\n")
    git_repo.write("tests/test_new.py", "def test(): pass\n")
    git_repo.write("src/m.py", "x = 2\n")
    assert df.dirty_tests(str(git_repo.root)) == 2
    assert math.isclose(math.log1p(df.dirty_tests(str(git_repo.root))), math.log1p(2))


def test_an_old_culprits_mutation_is_carried_through_merges_to_the_end(make_git_repo):
    """dataset_deep.carry_mutation: the culprit and every commit descending from it get the mutated
    line, a branch that does not descend from it keeps its trees, and nothing else changes."""
    repo = make_git_repo("deep")
    root = repo.root
    repo.commit("base", {"lib.py": "def f(x):\n    return x + 1\n"})
    culprit = repo.commit("add g", {"lib.py": "def f(x):\n    return x + 1\n\n\ndef g(x):\n    return x > 0\n"})
    repo.git("checkout", "-q", "-b", "side", culprit + "^")  # a branch from before the culprit
    side = repo.commit("side", {"other.py": "y = 2\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("later", {"lib.py": "import os\n\n\ndef f(x):\n    return x + 1\n\n\ndef g(x):\n    return x > 0\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "merge side", "side")
    end = repo.commit("last", {"README": "r\n"})
    bad, bic = dd.carry_mutation(root, culprit, end, "    return x > 0", "    return x >= 0")
    assert repo.git("show", f"{bic}:lib.py").endswith("def g(x):\n    return x >= 0\n")
    assert repo.git("log", "-1", "--format=%s%n%an%n%at", bic) == repo.git("log", "-1", "--format=%s%n%an%n%at", culprit)
    assert repo.git("rev-parse", f"{bic}^") == repo.git("rev-parse", f"{culprit}^")  # the parent is the same commit
    assert repo.git("diff", "--numstat", end, bad) == "1\t1\tlib.py\n"
    assert repo.git("show", f"{bad}:lib.py").startswith("import os\n")
    assert repo.git("rev-list", "--count", bad) == repo.git("rev-list", "--count", end)
    merged = repo.git("rev-parse", f"{bad}^^2").strip()
    assert merged == side  # the merged branch does not descend from the culprit: the very same commit
    # a line that a later version holds twice cannot be carried unambiguously
    twice = repo.commit("twice", {"lib.py": "def g(x):\n    return x > 0\n\n\ndef h(x):\n    return x > 0\n"})
    try:
        dd.carry_mutation(root, culprit, twice, "    return x > 0", "    return x >= 0")
    except dd.NotCarried as why:
        assert "twice" in str(why)
    else:
        raise AssertionError("carried a line that occurs twice")


def test_deep_candidates_are_older_than_the_window_and_stand_at_its_end(make_git_repo):
    """Culprits drawn before the window, each a line it added that stands unchanged at the end, in
    a function its good revision already had; a line the end holds twice is never offered."""
    import random

    repo = make_git_repo("deepc")
    repo.commit("f", {"pkg/m.py": "def f(x):\n    return x\n"})
    old = repo.commit("f grows", {"pkg/m.py": "def f(x):\n    y = x + 1\n    return y\n"})
    repo.commit("g", {"pkg/m.py": "def f(x):\n    y = x + 1\n    return y\n\n\ndef g(x):\n    return x\n"})
    base = repo.commit("docs", {"README": "r\n"})
    end = repo.commit("window", {"pkg/m.py": "def f(x):\n    y = x + 1\n    return y\n\n\ndef g(x):\n    return x * 2\n"})
    spec = pc.RepoSpec("m", "x/m", end, ("pkg",), "2000-01-01")
    rng = random.Random(1)
    found = list(dd.deep_candidates(repo.root, spec, end, [base, end], rng, mu.ALL_OPERATORS))
    assert found and {c.commit for c in found} == {old}  # commit g's `def g` is in no function its good revision had
    for c in found:
        assert c.end_path == "pkg/m.py" and c.end_line in (2, 3)
        assert repo.git("merge-base", "--is-ancestor", c.good, old) == ""
        assert c.mutation.before in ("    y = x + 1", "    return y")


def test_coverage_guides_training_candidates_to_lines_that_old_passing_tests_run(git_repo):
    """COVERAGE_GUIDED (the training-data builder's): one run under real coverage.py (pytest-cov)
    says which tests run each line; a line no test runs, and a line only a test added after the
    window's base runs, are not tried; a covered line is tried on its covering tests alone."""
    lib = ("def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    return min(x, hi)\n\n\n"
           "def name():\n    return 'lib'\n\n\ndef unused():\n    return 1\n")
    base = git_repo.commit("base", {
        "lib.py": lib,
        "tests/test_bounds.py": "from lib import clamp\n\n\ndef test_low():\n    assert clamp(-5, 0, 9) == 0\n"})
    end = git_repo.commit("a test of name", {
        "tests/test_names.py": "from lib import name\n\n\ndef test_name():\n    assert name() == 'lib'\n"})
    spec = pc.RepoSpec("toy", "toy/toy", end, ("lib.py",), "2000-01-01", pytest_args=("-o", "pythonpath=."))
    python = Path(sys.executable)
    passed, _ = py.passing_tests(python, git_repo.root, spec)
    assert passed == {"tests/test_bounds.py::test_low", "tests/test_names.py::test_name"}
    covered = py.covering_tests(python, git_repo.root, spec)
    assert covered[("lib.py", 2)] == {"tests/test_bounds.py::test_low"}
    assert covered[("lib.py", 8)] == {"tests/test_names.py::test_name"}
    assert ("lib.py", 12) not in covered  # `unused` runs in no test
    targets = pc.guided_targets(spec, git_repo.root, end, base, passed, python)
    assert targets == {(f, n): ["tests/test_bounds.py::test_low"] for f, n in (("lib.py", 2), ("lib.py", 3))}
    cmp = next(m for m in mu.mutations_of_line(lib, 2, mu.ALL_OPERATORS) if m.operator == "cmp_flip")
    cand = pc.Candidate(1, "lib.py", 2, "lib.py", 2, cmp)
    assert pc._failing_at_end(spec, git_repo.root, end, passed, cand, python, targets[("lib.py", 2)]) == [
        "tests/test_bounds.py::test_low"]


def _built(root: Path, repo: str, case_id: str) -> dict:
    """A build folder as dataset_build leaves it, with one window of one case for `repo`."""
    (root / "cases" / case_id).mkdir(parents=True)
    (root / "cases" / f"{case_id}.trace").write_text("E   assert 1 == 2\n")
    (root / "features").mkdir(exist_ok=True)
    (root / "features" / f"{case_id}.json.gz").write_bytes(b"x")
    (root / "venvs" / repo / "bin").mkdir(parents=True)
    case = {"case_id": case_id, "project": repo, "repo": str(root / "cases" / case_id),
            "trace": str(root / "cases" / f"{case_id}.trace"), "bic_distance": 3,
            "test_command": f"{root}/venvs/{repo}/bin/python -m pytest -x -q tests/test_a.py::test_a"}
    state = {"seed": 1, "repos": {repo: {"windows": {"1": {"base": "a" * 40, "end": "b" * 40, "size": 60,
                                                          "cases": [case], "seconds": 1.0, "rejected": {}}}}}}
    (root / "state.json").write_text(json.dumps(state))
    return case


def test_merge_takes_in_another_folders_repositories_and_refuses_a_clash(tmp_path: Path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _built(ours, "tinydb", "tinydb-w1-01")
    _built(theirs, "loguru", "loguru-w1-01")
    specs = [pc.RepoSpec("tinydb", "m/tinydb", "0" * 40, ("tinydb",), "2018-01-01"),
             pc.RepoSpec("loguru", "D/loguru", "0" * 40, ("loguru",), "2022-01-01")]
    assert db.merge(ours, theirs, specs) == 0
    index = {c["case_id"]: c for c in json.loads((ours / "cases.json").read_text())["cases"]}
    moved = index["loguru-w1-01"]
    assert moved["repo"] == str(ours / "cases" / "loguru-w1-01") and Path(moved["repo"]).is_dir()
    assert Path(moved["trace"]).read_text() == "E   assert 1 == 2\n"
    assert moved["test_command"].startswith(f"{ours}/venvs/loguru/bin/python ")
    assert (ours / "features" / "loguru-w1-01.json.gz").exists() and (ours / "venvs" / "loguru").is_dir()
    assert not (theirs / "cases" / "loguru-w1-01").exists()
    assert set(index) == {"tinydb-w1-01", "loguru-w1-01"}
    # a repository both folders built: nothing is moved
    again = tmp_path / "again"
    _built(again, "tinydb", "tinydb-w1-02")  # its own build of window 1, not a copy of this state
    with pytest.raises(SystemExit, match="tinydb"):
        db.merge(ours, again, specs)
    assert (again / "cases" / "tinydb-w1-02").is_dir()
    # a repository whose windows here gave no case (an older builder's): the other folder's replace them
    state = json.loads((ours / "state.json").read_text())
    state["repos"]["marshmallow"] = {"windows": {"1": {"base": "c" * 40, "end": "d" * 40, "size": 70, "cases": [],
                                                       "seconds": 9.0, "rejected": {"ground truth fails at base": 26}}}}
    (ours / "state.json").write_text(json.dumps(state))
    newer = tmp_path / "newer"
    _built(newer, "marshmallow", "marshmallow-w1-01")
    assert db.merge(ours, newer, [*specs, pc.RepoSpec("marshmallow", "m/m", "0" * 40, ("src/marshmallow",), "2020-06-01")]) == 0
    merged = json.loads((ours / "state.json").read_text())["repos"]["marshmallow"]["windows"]
    assert [c["case_id"] for c in merged["1"]["cases"]] == ["marshmallow-w1-01"]
    assert "marshmallow-w1-01" in {c["case_id"] for c in json.loads((ours / "cases.json").read_text())["cases"]}


def test_merge_takes_in_the_new_windows_of_a_folder_that_carried_on_from_this_state(tmp_path: Path):
    """Two builders share one folder's repositories: the second starts from a copy of state.json in
    its own --dir. Its new windows (and their cases) come in; the windows both have stay as they
    are; a folder that rebuilt a window differently is refused, and nothing moves."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _built(ours, "tinydb", "tinydb-w1-01")
    theirs.mkdir()
    (theirs / "state.json").write_text((ours / "state.json").read_text())  # the second builder's start
    state = json.loads((theirs / "state.json").read_text())
    (theirs / "cases" / "tinydb-w2-01").mkdir(parents=True)
    (theirs / "cases" / "tinydb-w2-01.trace").write_text("E   assert 3 == 4\n")
    case = {"case_id": "tinydb-w2-01", "project": "tinydb", "repo": str(theirs / "cases" / "tinydb-w2-01"),
            "trace": str(theirs / "cases" / "tinydb-w2-01.trace"), "bic_distance": 5,
            "test_command": f"{theirs}/venvs/tinydb/bin/python -m pytest -x -q tests/test_b.py::test_b"}
    state["repos"]["tinydb"]["windows"]["2"] = {"base": "e" * 40, "end": "f" * 40, "size": 60, "cases": [case],
                                                "seconds": 2.0, "rejected": {}}
    (theirs / "state.json").write_text(json.dumps(state))
    specs = [pc.RepoSpec("tinydb", "m/tinydb", "0" * 40, ("tinydb",), "2018-01-01")]
    # meanwhile this folder went on too: its window 3, which the other folder's copy never saw, stays
    mine = json.loads((ours / "state.json").read_text())
    mine["repos"]["tinydb"]["windows"]["3"] = {"base": "9" * 40, "end": "8" * 40, "size": 50, "cases": [],
                                               "seconds": 1.0, "rejected": {"no test fails": 3}}
    (ours / "state.json").write_text(json.dumps(mine))
    assert db.merge(ours, theirs, specs) == 0
    windows = json.loads((ours / "state.json").read_text())["repos"]["tinydb"]["windows"]
    assert {k: [c["case_id"] for c in w["cases"]] for k, w in windows.items()} == {
        "1": ["tinydb-w1-01"], "2": ["tinydb-w2-01"], "3": []}
    moved = windows["2"]["cases"][0]
    assert moved["repo"] == str(ours / "cases" / "tinydb-w2-01") and Path(moved["repo"]).is_dir()
    assert Path(moved["trace"]).read_text() == "E   assert 3 == 4\n"
    assert moved["test_command"].startswith(f"{ours}/venvs/tinydb/bin/python ")
    assert (ours / "cases" / "tinydb-w1-01").is_dir()  # the window both had was left alone
    index = {c["case_id"] for c in json.loads((ours / "cases.json").read_text())["cases"]}
    assert index == {"tinydb-w1-01", "tinydb-w2-01"}
    # a folder whose window 1 holds other cases did not carry on from this state: refused
    other = tmp_path / "other"
    _built(other, "tinydb", "tinydb-w1-07")
    with pytest.raises(SystemExit, match="tinydb"):
        db.merge(ours, other, specs)
    assert (other / "cases" / "tinydb-w1-07").is_dir()


def test_a_library_gets_its_metadata_but_not_its_code(tmp_path: Path):
    """dataset_build.add_metadata: a library that reads its version from its installed metadata at
    import (prettytable) finds a distribution in the test venv, while nothing of its code is there."""
    import subprocess
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    db.add_metadata(python, "toy-lib")
    probe = ("import importlib.metadata as m, importlib.util as u; "
             "print(m.version('toy-lib'), m.version('toy_lib'), u.find_spec('toy_lib'))")
    got = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert got.stdout.split() == ["0.0.0", "0.0.0", "None"]
    spec = db.load_specs()
    assert {s.name: s.dist for s in spec}["prettytable"] == "prettytable"


def test_a_case_whose_features_cannot_be_extracted_is_dropped_and_counted(git_repo, tmp_path: Path):
    """dataset_build.with_features: where the real `rca suspects` fails on a case (here its trace
    file is gone), the case is dropped and the reason counted, and the build goes on."""
    git_repo.commit("lib", {"lib.py": "def f():\n    return 1\n"})
    trace = tmp_path / "kept.trace"
    trace.write_text("Traceback (most recent call last):\n  File \"lib.py\", line 2, in f\nValueError: x\n")
    good = {"case_id": "toy-w1-01", "project": "toy", "bic": "", "repo": str(git_repo.root), "trace": str(trace)}
    lost = dict(good, case_id="toy-w1-02", trace=str(tmp_path / "gone.trace"))
    before = dict(pc.REJECTED)
    kept = db.with_features([good, lost], tmp_path / "features")
    assert [c["case_id"] for c in kept] == ["toy-w1-01"]
    assert (tmp_path / "features" / "toy-w1-01.json.gz").is_file()
    why = "features: rca suspects failed or timed out"
    assert pc.REJECTED.get(why, 0) == before.get(why, 0) + 1


def _mirrored(make_git_repo, mirrors: Path, name: str) -> tuple[str, str]:
    """A real repository of 112 commits (a package and its one test) and a bare mirror of it at
    `<mirrors>/toy+<name>/repo`, the layout fetch gives. Returns (head, the blob of toy/lib.py
    written by commit 30: every later tree holds it, so a window's replay needs it)."""
    repo = make_git_repo(name)
    repo.commit("tests", {"tests/test_lib.py": "from toy.lib import value\n\n\ndef test_value():\n    assert value() > 0\n"})
    blob = ""
    for i in range(110):
        repo.commit(f"c{i}", {"toy/__init__.py": "", "toy/lib.py": f"def value():\n    return {i + 1}\n",
                              "notes.txt": f"{i}\n"})
        if i == 30:
            blob = repo.git("rev-parse", "HEAD:toy/lib.py").strip()
    # every later commit rewrites lib.py: restore commit 30's text at the end so the head holds it
    repo.commit("again", {"toy/lib.py": "def value():\n    return 31\n"})
    head = repo.git("rev-parse", "HEAD").strip()
    bare = mirrors / f"toy+{name}" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", "--no-local", str(repo.root), str(bare)], check=True)
    return head, blob


def test_a_repository_whose_mirror_lacks_an_object_is_skipped_and_the_build_goes_on(make_git_repo, tmp_path: Path):
    """dataset_build.main over two real repositories: the first mirror lost a blob (deleted from
    its objects, as rich's fetched history lacked one), so git fails while its window is built.
    The build names the repository and git's error, records nothing for it (a later run tries it
    again), goes on to the second repository, and exits 1."""
    mirrors = tmp_path / "mirrors"
    bad_head, blob = _mirrored(make_git_repo, mirrors, "broken")
    good_head, _ = _mirrored(make_git_repo, mirrors, "sound")
    bare = mirrors / "toy+broken" / "repo"
    packs = list((bare / "objects" / "pack").glob("*.pack"))
    for pack in packs:  # loose objects only, so one can be deleted (git unpacks what it lacks)
        moved = pack.rename(tmp_path / pack.name)
        pack.with_suffix(".idx").unlink()
        with moved.open("rb") as f:
            subprocess.run(["git", "-C", str(bare), "unpack-objects", "-q"], stdin=f, check=True)
    loose = bare / "objects" / blob[:2] / blob[2:]
    assert loose.is_file()
    loose.unlink()
    repos = tmp_path / "repos.json"
    entry = {"packages": ["toy"], "since": "2000-01-01", "windows": 1}
    repos.write_text(json.dumps({"repos": [
        dict(entry, name="broken", upstream="toy/broken", head=bad_head),
        dict(entry, name="sound", upstream="toy/sound", head=good_head)]}))
    out = tmp_path / "data"
    for name in ("broken", "sound"):  # this interpreter (pytest, pytest-cov) stands for each venv
        venv = out / "venvs" / name
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "python").symlink_to(sys.executable)
        (venv / "rca-requirements.txt").write_text("\n".join([db.PYTEST_REQ, db.COVERAGE_REQ]) + "\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = db.main(["--dir", str(out), "--mirrors", str(mirrors), "--repos", str(repos)])
    log = err.getvalue()
    assert rc == 1
    state = json.loads((out / "state.json").read_text())["repos"]
    assert state.get("broken", {"windows": {}})["windows"] == {}
    sound = state["sound"]["windows"]["1"]
    assert sound["cases"] == [] and sound["rejected"] == {"window: under 20 tests pass at its end": 1}
    assert "[broken] stopped: git " in log and blob[:7] in log
    assert "not built (run again once mended): broken: git " in log


def test_a_pick_the_work_tree_refuses_drops_the_window_as_a_conflict_does(git_repo):
    """pytrack_git.replay: a pick that fails without a conflict and without a missing object (here
    an untracked file where the commit adds one; a dateutil window's work tree refused a pick the
    same way) restores the state and returns None, so the window is recorded as dropped and not
    tried again; only a missing object raises GitFailed (the test above)."""
    base = git_repo.commit("base", {"lib.py": "x = 1\n"})
    added = git_repo.commit("adds notes", {"notes.txt": "kept\n"})
    git_repo.git("checkout", "-q", "--detach", base)
    (git_repo.root / "notes.txt").write_text("in the way\n")
    assert gi.replay(git_repo.root, [added]) is None
    assert git_repo.git("rev-parse", "HEAD").strip() == base


def test_a_conflict_whose_commit_subject_says_corrupt_drops_the_window(git_repo):
    """pytrack_git.replay: git quotes the picked commit's subject in `error: could not apply ...`;
    a real conflict in a commit titled "Possible corrupt build" (python-slugify has one) is a
    conflict, not a missing object: None and the state restored, no GitFailed."""
    base = git_repo.commit("base", {"lib.py": "x = 1\n"})
    picked = git_repo.commit("Rebuild - Possible corrupt 1.2.2 build", {"lib.py": "x = 2\n"})
    git_repo.git("checkout", "-q", "--detach", base)
    (git_repo.root / "lib.py").write_text("x = 3\n")
    git_repo.git("commit", "-qam", "diverges")
    here = git_repo.git("rev-parse", "HEAD").strip()
    assert gi.replay(git_repo.root, [picked]) is None
    assert git_repo.git("rev-parse", "HEAD").strip() == here
    assert git_repo.git("status", "--porcelain").strip() == ""
    assert gi.missing_object("error: could not apply 1234abc... Possible corrupt build\nhint: x") is False
    assert gi.missing_object("fatal: unable to read 6d7b0228aa") is True


def test_beyond_a_card_only_windows_that_share_no_commit_with_its_windows(make_git_repo, monkeypatch, tmp_path: Path):
    """`--beyond CARD`: a fresh machine adds windows the card lacks, never near copies of its
    windows; the card's table is read back, its window labels included."""
    monkeypatch.setattr(pc, "WINDOW_MIN", 3)
    monkeypatch.setattr(pc, "WINDOW_MAX", 5)
    up = make_git_repo("upstream")
    for i in range(40):
        head = up.commit(f"c{i}", {"lib/m.py": f"x = {i}\n"})
    spec = pc.RepoSpec("toy", "toy/toy", head, ("lib",), "2000-01-01")
    git_dir = up.root / ".git"
    wins = pc.choose_windows(spec, git_dir, __import__("random").Random("1:toy"), 8)
    assert len(wins) >= 4
    listed = ", ".join(f"w{w.index} {w.base[:8]}..{w.end[:8]} (5: 3)" for w in wins[:2])
    card = tmp_path / "DATA.md"
    card.write_text("| repository | upstream @ pinned head | since | test deps | windows | cases |\n|---|---|---|---|---|---|\n"
                    f"| toy | toy/toy @ {head[:12]} | 2000-01-01 | - | {listed}, older culprits at {wins[0].end[:8]}: 2 | 8 |\n")
    ranges = dc.card_windows(card)["toy"]
    assert ranges == {(w.base[:8], w.end[:8]) for w in wins[:2]}
    # a window drawn at another hour: it overlaps the card's first window by one commit
    shifted = pc.Window("toy", 9, "x", "y", [wins[0].commits[-1], "f" * 40])
    kept = dc.beyond_card([*wins, shifted], git_dir, ranges)
    assert [w.index for w in kept] == [w.index for w in wins[2:]]
    with pytest.raises(SystemExit, match="no table"):
        dc.card_windows(tmp_path / "upstream" / "lib" / "m.py")


def test_the_card_a_build_writes_reads_back_as_the_windows_it_built(tmp_path: Path):
    """`--card` writes the tables from state.json and `--check-card`/`--beyond` read the windows
    back from them: the two directions agree, window for window, and deep cases (kept under
    "<index>d") are counted but are no window of their own."""
    def case(op: str, distance: int) -> dict:
        return {"mutation": {"operator": op}, "bic_distance": distance}
    a, b, c = ("a" * 40, "b" * 40), ("c" * 40, "d" * 40), ("e" * 40, "f" * 40)
    doc = {"seed": 1, "repos": {
        "toy": {"windows": {
            "1": {"base": a[0], "end": a[1], "size": 80, "cases": [case("flip_compare", 3), case("drop_stmt", 9)],
                  "rejected": {"passes at culprit": 4}},
            "1d": {"base": a[0], "end": a[1], "size": 80, "cases": [case("off_by_one", 140)], "rejected": {}},
            "2": {"base": b[0], "end": b[1], "size": 60, "cases": [], "rejected": {"conflict": 1}}}},
        "other": {"windows": {"4": {"base": c[0], "end": c[1], "size": 90, "cases": [case("wrong_var", 5)],
                                    "rejected": {"passes at culprit": 2}}}}}}
    specs = [pc.RepoSpec("toy", "toy/toy", "1" * 40, ("toy",), "2020-01-01", deps=("attrs",)),
             pc.RepoSpec("other", "o/other", "2" * 40, ("other",), "2021-01-01"),
             pc.RepoSpec("untried", "u/untried", "3" * 40, ("u",), "2022-01-01")]
    out = tmp_path / "card.md"
    assert dc.write_card(doc, specs, out) == 0
    text = out.read_text()
    assert text.startswith("Seed 1; 4 cases from 2 repositories (2 of 3 tried so far). 1 of them have an older "
                           "culprit (commits from the culprit to the end: median 140, 140 to 140; the window "
                           "cases' median 5, 3 to 9).")
    assert ("| toy | toy/toy @ 111111111111 | 2020-01-01 | attrs | w1 aaaaaaaa..bbbbbbbb (80: 2), older culprits "
            "at bbbbbbbb: 1, w2 cccccccc..dddddddd (60: 0) | 3 |") in text
    assert "| untried | u/untried @ 333333333333 | 2022-01-01 | - | not built yet | 0 |" in text
    assert "Candidates rejected, and why: passes at culprit: 6; conflict: 1." in text
    assert dc.card_windows(out) == {"toy": {(a[0][:8], a[1][:8]), (b[0][:8], b[1][:8])},
                                    "other": {(c[0][:8], c[1][:8])}, "untried": set()}


def test_a_folder_being_built_refuses_a_second_writer(tmp_path: Path):
    """A merge into (or out of) a folder whose builder still runs would rewrite state.json from a
    stale copy: the folder's lock refuses it, naming the holder, and frees it when released."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _built(ours, "tinydb", "tinydb-w1-01")
    _built(theirs, "loguru", "loguru-w1-01")
    repos = tmp_path / "repos.json"
    repos.write_text(json.dumps({"repos": [
        {"name": "tinydb", "upstream": "m/tinydb", "head": "0" * 40, "packages": ["tinydb"], "since": "2018-01-01"},
        {"name": "loguru", "upstream": "D/loguru", "head": "0" * 40, "packages": ["loguru"], "since": "2022-01-01"}]}))
    before = (ours / "state.json").read_text()
    for held in (ours, theirs):
        builder = db.hold(held)  # a builder at work there
        with pytest.raises(SystemExit, match=f"being written by another process \\(pid {__import__('os').getpid()}\\)"):
            db.main(["--dir", str(ours), "--repos", str(repos), "--merge", str(theirs)])
        assert (ours / "state.json").read_text() == before and (theirs / "cases" / "loguru-w1-01").is_dir()
        builder.close()
    assert db.main(["--dir", str(ours), "--repos", str(repos), "--merge", str(theirs)]) == 0
    assert "loguru" in json.loads((ours / "state.json").read_text())["repos"]
    with pytest.raises(SystemExit, match="no state.json there: not a build folder"):  # a mistyped folder
        db.main(["--dir", str(ours), "--repos", str(repos), "--merge", str(tmp_path / "thiers")])
    assert not (tmp_path / "thiers").exists()


def test_no_training_repository_is_one_the_held_out_sets_measure():
    """models/DATA.md's no-leakage rule, on the files themselves: the training repositories share
    no upstream, and no name, with the Python track's libraries or the fresh held-out sets'."""
    train = db.load_specs()
    here = Path(db.__file__).parent
    held = [s for name in ("pyheld_repos.json", "pyheld6_repos.json", "pyheld7_repos.json", "pyheld8_repos.json")
            for s in db.load_specs(here / name)] + list(pc.REPOS)
    assert len(train) >= 60 and len(held) >= 34
    key = lambda s: (s.upstream.lower(), s.name.lower())  # noqa: E731
    assert not {k for s in train for k in key(s)} & {k for s in held for k in key(s)}
    assert len({s.name for s in train}) == len(train) and len({s.upstream for s in train}) == len(train)
