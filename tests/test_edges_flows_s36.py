"""A new user's workflows end to end, fired by real git commands on a real remote: a `git pull` that
stops on a conflict (its merge is committed by hand, so git never runs post-merge), and what
`rca failures list` shows of a failure that is about whitespace."""

from __future__ import annotations

import subprocess
import sys

from rca_lsp.hook_install import shim_text
from tests.test_hook_edges import _armed, _push_culprit
from tests.test_hooks import git, rca, remote  # noqa: F401 - remote is a fixture

WHITESPACE_TRACE = """Traceback (most recent call last):
  File "tests/test_lists.py", line 3, in test_natural_list
    assert natural_list(["one", "two"]) == "one and two"
AssertionError: assert 'one  and  two' == 'one and two'
"""


def test_a_pull_stopped_by_a_conflict_is_checked_when_its_merge_is_committed(remote):
    """A pull that stopped on a conflict runs no post-merge: the commits it brought, the culprit of an
    open failure among them, were never checked (nor indexed) once the user committed the merge."""
    up, clone = remote
    _armed(clone)
    clone.commit("Local docs", {"README.md": "calc, local words\n"}, author="Dana")
    culprit = _push_culprit(up)  # its "Docs" commit changes README.md too: the pull stops on it
    pull = git("pull", "-q", cwd=clone.root, check=False)
    assert pull.returncode != 0 and "CONFLICT" in pull.stdout + pull.stderr
    (clone.root / "README.md").write_text("calc, a calculator\n")
    git("add", "README.md", cwd=clone.root)
    done = git("commit", "-q", "--no-edit", cwd=clone.root)
    assert "suspect(s) among the 3 commit(s) that just arrived" in done.stderr, done.stderr
    assert f"{culprit[:10]}  Carol" in done.stderr
    (clone.root / "notes.txt").write_text("a note\n")
    git("add", "notes.txt", cwd=clone.root)
    plain = git("commit", "-q", "-m", "A note", cwd=clone.root)  # one parent: nothing arrived, nothing said
    assert plain.stderr == "", plain.stderr
    assert "post-commit    installed" in rca("hooks", "status", cwd=clone.root).stdout


def test_the_post_commit_shim_of_a_plain_commit_runs_the_chained_hook_and_no_python(remote, tmp_path):
    """post-commit runs on every commit: with a failure open, only a merge's may start Python."""
    _, clone = remote
    hooks = clone.root / ".git" / "hooks"
    (hooks / "post-commit").write_text(f"#!/bin/sh\necho ran >> {tmp_path / 'user.txt'}\n")
    (hooks / "post-commit").chmod(0o755)
    _armed(clone)  # a failure open: the other hooks start Python in the foreground
    text = (hooks / "post-commit").read_text()
    python = text.split("INSTALL_PYTHON=", 1)[1].split("\n", 1)[0]
    assert text == shim_text("post-commit", python)
    spy = tmp_path / "python"
    spy.write_text(f"#!/bin/sh\necho \"$4\" >> {tmp_path / 'started.txt'}\n")
    spy.chmod(0o755)
    (hooks / "post-commit").write_text(text.replace(f"INSTALL_PYTHON={python}", f"INSTALL_PYTHON={spy}"))
    (clone.root / "a.txt").write_text("a\n")
    git("add", "a.txt", cwd=clone.root)
    git("commit", "-q", "-m", "A", cwd=clone.root)
    assert (tmp_path / "user.txt").read_text() == "ran\n" and not (tmp_path / "started.txt").exists()
    git("checkout", "-q", "-b", "side", "HEAD~1", cwd=clone.root)
    (clone.root / "b.txt").write_text("b\n")
    git("add", "b.txt", cwd=clone.root)
    git("commit", "-q", "-m", "B", cwd=clone.root)
    git("checkout", "-q", "main", cwd=clone.root)
    git("merge", "-q", "--no-commit", "side", cwd=clone.root)
    git("commit", "-q", "--no-edit", cwd=clone.root)  # a merge: handed to rca's Python
    assert (tmp_path / "started.txt").read_text() == "post-commit\n"
    out = rca("hooks", "uninstall", cwd=clone.root)
    assert "post-commit: removed; the original hook restored" in out.stdout
    assert (hooks / "post-commit").read_text().startswith("#!/bin/sh\necho ran")


def test_a_failure_about_spaces_keeps_them_in_its_title(remote):
    """Titles squeezed every run of spaces: `assert 'one  and  two' == 'one and two'` was listed as
    `assert 'one and two' == 'one and two'`, a failure that reads as two equal strings."""
    _, clone = remote
    added = rca("failures", "add", cwd=clone.root, input=WHITESPACE_TRACE)
    assert added.returncode == 0, added.stderr
    assert "'one  and  two' == 'one and two'" in added.stdout
    listed = rca("failures", "list", cwd=clone.root).stdout
    assert "AssertionError: assert 'one  and  two' == 'one and two'" in listed
    assert listed.count("\n") == 1


def _small_model(root):
    """A model folder whose manifest lists small files of the right hashes: what loading verifies."""
    import os

    from rca_lsp.ranker.store import DEFAULT_MODEL, MANIFEST, Manifest, describe_files

    folder = root / DEFAULT_MODEL
    (folder / "int8").mkdir(parents=True)
    for rel, data in (("tokenizer.json", b"{}"), ("embed.npy", b"embed"), ("int8/model.onnx", b"onnx")):
        (folder / rel).write_bytes(data)
        os.utime(folder / rel, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))  # stamps are kept for old files
    rels = ["embed.npy", "int8/model.onnx", "tokenizer.json"]
    manifest = Manifest(DEFAULT_MODEL, {"kind": "test"}, {}, {"num_kv_heads": 1, "head_dim": 2},
                        {"int8": ["int8/model.onnx", "embed.npy"]}, describe_files(folder, rels))
    (folder / MANIFEST).write_text(manifest.to_json())
    return folder


def test_a_read_only_model_folder_is_verified_not_an_internal_error(remote, tmp_path):
    """Verifying a model on a read-only mount (a shared or image-baked model) failed with `rca:
    internal error: OSError: Read-only file system` (exit 1): the hash stamps it could not write were
    to be skipped, but removing their temporary file raised again. Wrong files are still refused."""
    import os

    import pytest

    from tests.test_edges_hooks_s33 import _mount_read_only

    _, clone = remote
    root = tmp_path / "models"
    folder = _small_model(root)
    env = {**os.environ, "RCA_MODEL_DIR": str(root)}

    def info():
        return subprocess.run([sys.executable, "-m", "rca_lsp", "model", "info", "--verify"], cwd=clone.root,
                              env=env, capture_output=True, text=True, timeout=120)

    if not _mount_read_only(root):
        pytest.skip("a read-only folder for root needs a bind mount (mount allowed)")
    try:
        sound = info()
        assert sound.returncode == 0 and "internal error" not in sound.stderr, sound.stderr
        assert not (folder / ".verified.json").exists()
    finally:
        subprocess.run(["umount", str(root)], capture_output=True)
    (folder / "embed.npy").write_bytes(b"EMBED")  # same size, another content: refused, read-only or not
    assert _mount_read_only(root)
    try:
        wrong = info()
    finally:
        subprocess.run(["umount", str(root)], capture_output=True)
    assert wrong.returncode == 6 and "embed.npy does not match its sha256" in wrong.stderr, wrong.stderr


def test_a_cut_summary_is_marked_so_it_names_no_other_pull_request():
    """The since_test note cut `... boundaries (#329)` to `... (#3`: another PR's number."""
    from rca_lsp.records import clip

    summary = "Fix `naturalsize()` rounding rollover at unit boundaries (#329)"
    assert clip(summary, 60) == summary[:59] + "…" and "(#3)" not in clip(summary, 60)
    assert clip("short", 60) == "short"
