"""Edges met by users of `rca model build|use` and of Mercurial: two builds of one model folder at
once, `rca model use` given a path, an hg working directory at the null revision, and the largefiles
extension's standins. Real builds (stopped once they hold the folder), the real CLI in a subprocess,
real Mercurial repositories, the tiny random Llama through the real export."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _hg import HgRepoBuilder, needs_hg
from conftest import ranked
from test_edges_model_s32 import needs_source

from rca_lsp.ranker.store import DEFAULT_MODEL, MANIFEST

TRACE = 'Traceback (most recent call last):\n  File "{path}", line {line}, in f\nValueError: bad\n'


def rca(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300):
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], env=full, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def _failed_cleanly(proc, code: int = 6) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    pytest.importorskip("torch")
    from rca_lsp.ranker.export import build_tiny

    root = tmp_path_factory.mktemp("models")
    build_tiny(root / DEFAULT_MODEL, variants=("fp32",))
    return root


# --- two builds of one model folder at once ----------------------------------------------------------


def _start_build(root: Path, log: Path, *args: str) -> subprocess.Popen:
    """A real `rca model build` in the background, its stderr in `log`."""
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", "rca_lsp", "model", "build", *args],
                                env={**os.environ, "RCA_MODEL_DIR": str(root)}, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)


def _wait_for(proc: subprocess.Popen, log: Path, text: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text(errors="replace"):
        assert proc.poll() is None, f"the build ended ({proc.returncode}) before {text!r}: {log.read_text()}"
        assert time.monotonic() < deadline, f"no {text!r} in {seconds} s: {log.read_text()}"
        time.sleep(0.1)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@needs_source
def test_a_second_build_while_one_runs_is_refused_naming_it_and_a_killed_build_blocks_nothing(tiny_root, tmp_path):
    """Two `rca model build` at once on one folder: the second took the first one's `.building`
    work folder for an interrupted build's and removed it (the first then died with an internal
    FileNotFoundError), or, with the model intact, said "up to date" over a build in progress. Now
    the second is refused at once, naming the first (its pid); the lock dies with a SIGKILLed build."""
    from rca_lsp.ranker.export import find_gguf
    from rca_lsp.ranker.store import sha256_file

    root = tmp_path / "models"
    shutil.copytree(tiny_root, root)
    path = root / DEFAULT_MODEL / MANIFEST
    doc = json.loads(path.read_text())
    doc["source"] = {**doc["source"], "sha256": sha256_file(find_gguf())}  # intact, of the installed source
    path.write_text(json.dumps(doc))
    env = {"RCA_MODEL_DIR": str(root)}
    first = _start_build(root, tmp_path / "first.log", "--force")
    try:
        _wait_for(first, tmp_path / "first.log", "loading")
        second = rca("model", "build", env=env)
        _failed_cleanly(second)
        assert f"another `rca model build` is building {root / DEFAULT_MODEL} (pid {first.pid}, started " \
               in second.stderr, second.stderr
        assert "building the base model with --force" in second.stderr and "up to date" not in second.stdout
        assert "removing" not in second.stderr and "loading" not in second.stderr
        assert first.poll() is None  # the first one carries on
    finally:
        _kill(first)
    third = rca("model", "build", env=env)  # the killed build's lock died with it
    assert third.returncode == 0 and "up to date" in third.stdout, third.stderr
    assert sorted(p.name for p in root.iterdir()) == [DEFAULT_MODEL]  # no lock file, no work folder left


@needs_source
def test_model_info_during_a_first_build_says_a_build_is_under_way(tmp_path):
    """`rca model info` while the first build runs said "no model ... run `rca model build`" (and,
    once the export began, that an interrupted build left its work folder)."""
    root = tmp_path / "models"
    first = _start_build(root, tmp_path / "first.log")
    try:
        _wait_for(first, tmp_path / "first.log", "loading")
        info = rca("model", "info", env={"RCA_MODEL_DIR": str(root)})
        _failed_cleanly(info)
        assert f"no model at {root / DEFAULT_MODEL} yet: `rca model build` is building it (pid {first.pid}," \
               in info.stderr, info.stderr
        assert "interrupted" not in info.stderr and "run `rca model build`" not in info.stderr
    finally:
        _kill(first)


# --- rca model use ------------------------------------------------------------------------------------


def _tuned_version(root: Path) -> str:
    """A tuned fusion version of the repository at `root`, saved as `rca model tune` saves one."""
    from rca_lsp.labels import versions
    from rca_lsp.suspects.learned import COLUMNS, LinearModel

    n = len(COLUMNS)
    model = LinearModel("tuned", COLUMNS, (0.0,) * n, (1.0,) * n, (1.0,) + (0.0,) * (n - 1))
    return versions.save(str(root / ".git"), model, {"created": 0, "labels": 20, "source": "local"})


def test_model_use_given_the_language_models_folder_says_what_use_picks_and_changes_nothing(git_repo, tiny_root):
    """`rca model use ~/.cache/rca-lsp/models/smollm2-135m-instruct` said only "no tuned fusion
    '<path>' (versions: ...)": nothing about `use` picking a tuned fusion version by name, nor that
    the language model is `rca model build`'s."""
    git_repo.commit("Add a", {"a.py": "def f():\n    return 1\n"})
    assert _tuned_version(git_repo.root) == "v1"
    assert rca("model", "use", "none", cwd=git_repo.root).returncode == 0
    for given in (str(tiny_root / DEFAULT_MODEL), str(tiny_root / DEFAULT_MODEL / "fp32" / "model.onnx")):
        proc = rca("model", "use", given, cwd=git_repo.root)
        _failed_cleanly(proc)
        assert f"`rca model use` takes the name of a tuned fusion version of this repository (from `rca model " \
               f"tune`; versions: v1) or `none`, not a path: {given}; nothing changed (current: none" in proc.stderr
        assert "language model of `--ranker llm`" in proc.stderr and "`rca model build` makes it" in proc.stderr
    assert not (git_repo.root / ".git" / "rca" / "models" / "current").exists()


def test_model_use_given_a_version_files_path_names_the_version_and_says_what_it_did(git_repo, tmp_path):
    git_repo.commit("Add a", {"a.py": "def f():\n    return 1\n"})
    assert _tuned_version(git_repo.root) == "v1"
    assert _tuned_version(git_repo.root) == "v2"  # current
    version_file = git_repo.root / ".git" / "rca" / "models" / "v1.json"
    proc = rca("model", "use", str(version_file), cwd=git_repo.root)
    _failed_cleanly(proc)
    assert "not a path" in proc.stderr and "nothing changed (current: v2)" in proc.stderr
    assert "(hint: name the version: `rca model use v1`)" in proc.stderr
    elsewhere = tmp_path / "shared-fusion.json"
    shutil.copy(version_file, elsewhere)
    proc = rca("model", "use", str(elsewhere), cwd=git_repo.root)
    _failed_cleanly(proc)
    assert f"copy it into {git_repo.root / '.git' / 'rca' / 'models'} as vN.json" in proc.stderr
    proc = rca("model", "use", "v7", cwd=git_repo.root)
    _failed_cleanly(proc)
    assert "no tuned fusion 'v7' (versions: v1, v2); nothing changed (current: v2)" in proc.stderr
    proc = rca("model", "use", "v1", cwd=git_repo.root)
    assert proc.returncode == 0 and proc.stdout == "current: v1 (tuned fusion: `rca suspects` and the editor " \
                                                   "rank with it)\n", proc.stderr


# --- Mercurial: the null revision ---------------------------------------------------------------------


@pytest.fixture
def hg_repo(tmp_path, monkeypatch) -> HgRepoBuilder:
    pytest.importorskip("hglib")
    for name in ("HGPLAIN", "HGPLAINEXCEPT", "HGRCPATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HGRCPATH", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # largefiles' user cache: this test's own
    return HgRepoBuilder(tmp_path / "repo")


@needs_hg
def test_hg_at_the_null_revision_says_so_and_how_to_update_not_no_commits_yet(hg_repo, tmp_path):
    """After `hg update null` (history there, nothing checked out) rca said "the repository has no
    commits yet", as git says of an empty repository."""
    hg_repo.commit("Add f", {"m.py": "def f():\n    return 1\n"})
    hg_repo.hg("update", "-q", "null")
    trace = tmp_path / "trace.txt"
    trace.write_text(TRACE.format(path="m.py", line=2))
    proc = rca("suspects", "--trace", str(trace), cwd=hg_repo.root)
    _failed_cleanly(proc, 3)
    assert "the working directory is at the null revision (no revision checked out): there is nothing to " \
           "suspect (hint: update to a revision first: `hg update`" in proc.stderr, proc.stderr
    assert "no commits yet" not in proc.stderr
    index = rca("index", cwd=hg_repo.root)
    assert index.returncode == 0 and "at the null revision" in index.stderr and "no commits yet" not in index.stderr
    editor = subprocess.run([sys.executable, "-m", "rca_lsp.lsp.indexer", str(hg_repo.root)], capture_output=True,
                            text=True, timeout=120)  # the editor's background indexer says the same
    assert editor.returncode == 0 and "at the null revision" in editor.stdout, editor.stdout + editor.stderr
    assert "no commits yet" not in editor.stdout
    empty = HgRepoBuilder(tmp_path / "empty")  # an empty repository says what it said
    proc = rca("suspects", "--trace", str(trace), cwd=empty.root)
    _failed_cleanly(proc, 3)
    assert "the repository has no commits yet: there is nothing to suspect" in proc.stderr


# --- Mercurial: largefiles ----------------------------------------------------------------------------

LF = ("--config", "extensions.largefiles=")


def _largefile_history(hg_repo: HgRepoBuilder) -> list[str]:
    """big.py a largefile, small.py not: add both, change big.py's line 2, change small.py."""
    hg_repo.write("big.py", "def f():\n    return 1\n\n\ndef g():\n    return 0\n")
    hg_repo.write("small.py", "def h():\n    return 1\n")
    hg_repo.hg(*LF, "add", "-q", "--large", "big.py")
    hg_repo.hg(*LF, "add", "-q", "small.py")
    shas = []
    for message, path, text in (("Add big and small", None, None),
                                ("Return 2 from f", "big.py", "def f():\n    return 2\n\n\ndef g():\n    return 0\n"),
                                ("Return 3 from h", "small.py", "def h():\n    return 3\n")):
        if path:
            hg_repo.write(path, text)
        hg_repo.clock += 3600
        hg_repo.hg(*LF, "commit", "-q", "-m", message, "-d", f"{hg_repo.clock} 0")
        shas.append(hg_repo.hg("log", "-r", ".", "-T", "{node}").strip())
    return shas


def _largefiles_seen_by_their_paths(hg_repo: HgRepoBuilder, shas: list[str]) -> None:
    from rca_lsp.vcs.hg import HgRepo

    repo = HgRepo(hg_repo.root)
    try:
        logged = {item.commit.hash: item for item in repo.log(repo.reachable())}
        added, changed = logged[shas[0]].changes, logged[shas[1]].changes
        assert sorted(c.path for c in added) == ["big.py", "small.py"]
        assert [(c.status, c.old_path, c.new_path) for c in changed] == [("M", "big.py", "big.py")]
        assert [(h.old_start, h.old_len, h.new_start, h.new_len) for h in changed[0].hunks] == [(2, 1, 2, 1)]
        assert "return 2" in changed[0].hunks[0].added and not logged[shas[1]].missing
        assert sorted(repo.tracked_files()) == ["big.py", "small.py"] and repo.untracked_files() == []
        head = repo.head_blobs()
        assert sorted(head) == ["big.py", "small.py"]
        reader = repo.blob_reader()
        assert reader.get(head["big.py"]) == (hg_repo.root / "big.py").read_bytes()
        assert reader.get(changed[0].new_blob) == (hg_repo.root / "big.py").read_bytes()
        assert repo.cat(shas[2], ["small.py"]) == {"small.py": b"def h():\n    return 3\n"}
    finally:
        repo.close()
    suspects = ranked(HgRepo(hg_repo.root), TRACE.format(path="big.py", line=2)).suspects
    assert suspects and suspects[0].commit.hash == shas[1], [(s.commit.summary, s.evidence) for s in suspects]


@needs_hg
def test_a_largefiles_changes_are_credited_to_its_path_not_its_standin(hg_repo):
    """A largefile's history is its standin's, `.hglf/big.py` (one line: the file's sha1): rca
    indexed `.hglf/big.py`, with the sha1 lines as its hunks, so a trace naming big.py reached none
    of the commits that changed it. The extension on for the commands only (`hg --config
    extensions.largefiles=`), as the repository's requirement leaves it for rca's command server."""
    shas = _largefile_history(hg_repo)
    _largefiles_seen_by_their_paths(hg_repo, shas)


@needs_hg
def test_with_largefiles_on_in_the_hgrc_files_are_read_and_changes_credited_alike(hg_repo):
    """With `[extensions] largefiles=` in an hgrc (how its users run it) rca's command server has it
    too: its `hg cat` ignores `-T`, so every `cat` read nothing."""
    (hg_repo.root / ".hg" / "hgrc").write_text("[extensions]\nlargefiles=\n")
    shas = _largefile_history(hg_repo)
    _largefiles_seen_by_their_paths(hg_repo, shas)


@needs_hg
def test_a_largefile_version_not_here_is_a_missing_object_until_it_arrives(hg_repo, tmp_path):
    """A clone holds only the largefiles it needed (`hg lfpull` fetches others): such a version is
    indexed without hunks and said missing, and the commit is indexed again once it is here."""
    from rca_lsp.vcs.hg import HgRepo

    shas = _largefile_history(hg_repo)
    kept = tmp_path / "kept"
    kept.mkdir()
    for store in (hg_repo.root / ".hg" / "largefiles", tmp_path / "cache" / "largefiles"):
        for blob in store.iterdir():
            if len(blob.name) == 40:  # the store and the cache hold hard links of one file
                shutil.copy(blob, kept / blob.name)
                blob.unlink()
    repo = HgRepo(hg_repo.root)
    try:
        item = {i.commit.hash: i for i in repo.log([shas[1]])}[shas[1]]
        [change] = item.changes
        assert change.path == "big.py" and change.hunks == ()
        assert [path for path, _ in item.missing] == ["big.py", "big.py"]
        blobs = {blob for _, blob in item.missing}
        assert repo.present_blobs(blobs) == set()
        for blob in kept.iterdir():
            shutil.move(str(blob), hg_repo.root / ".hg" / "largefiles" / blob.name)
        assert repo.present_blobs(blobs) == blobs
    finally:
        repo.close()
