"""Hooks in real setups, fired by real git commands: user hooks kept from before `rca hooks install`
that git runs one way and Python another (no `#!` line, a `#!` to a missing interpreter)."""

from __future__ import annotations

import os

from tests.test_hook_edges import _armed, _open_failure
from tests.test_hooks import git, rca, remote  # noqa: F401 - remote is a fixture


def _hook(hooks, name: str, text: str) -> None:
    (hooks / name).write_text(text)
    os.chmod(hooks / name, 0o755)


def test_a_chained_hook_with_no_shebang_runs_and_one_that_cannot_start_is_one_line(remote, tmp_path):
    """git runs a hook with no `#!` line as a shell script, and so does the shim's fast path; the
    Python path raised `Exec format error` there, and FileNotFoundError for a `#!` to a missing
    interpreter: a traceback in the pull, and a push refused with one."""
    up, clone = remote
    hooks = clone.root / ".git" / "hooks"
    _hook(hooks, "post-merge", f"echo \"plain $1\" > {tmp_path}/merged\n")  # no #!: git runs it with sh
    _hook(hooks, "pre-push", "#!/nowhere/python3\nprint('never')\n")
    _armed(clone)
    up.commit("More", {"x.txt": "x\n"})
    up.git("push", "-q", "origin", "main")
    pull = git("pull", "-q", cwd=clone.root, check=False)
    assert pull.returncode == 0 and "Traceback" not in pull.stderr and "Errno" not in pull.stderr, pull.stderr
    assert (tmp_path / "merged").read_text() == "plain 0\n"

    clone.commit("Mine", {"y.txt": "y\n"})
    push = git("push", "-q", "origin", "main", cwd=clone.root, check=False)
    assert "Traceback" not in push.stderr, push.stderr
    said = [line for line in push.stderr.splitlines() if line.startswith("rca: ")]
    assert said == [f"rca: cannot run {os.path.join('.git', 'hooks', 'pre-push.rca-chained')} (the pre-push hook "
                    "kept from before `rca hooks install`): No such file or directory; check its #! line names an "
                    "interpreter that is installed, with no CR (Windows) line ending"], push.stderr
    assert push.returncode != 0  # as git refuses a push whose pre-push hook cannot run, rca or not
    (hooks / "pre-push.rca-chained").write_text("#!/bin/sh\nexit 0\n")  # mended: the push goes
    assert git("push", "-q", "origin", "main", cwd=clone.root).returncode == 0


def _mount_read_only(folder) -> bool:
    """`folder` made read-only in place by a bind mount (root, with mount allowed); False where it cannot be."""
    import subprocess

    if os.geteuid() != 0:
        return False
    if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode != 0:
        return False
    if subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", str(folder)], capture_output=True)
        return False
    return True


def test_a_read_only_rca_folder_is_said_at_once_not_waited_for_as_a_first_index(remote):
    """With .git/rca read-only the index cannot be read either (SQLite's WAL writes beside it): the
    pull waited out rca.hookTimeout, then said the index was "being built for the first time"."""
    import subprocess
    import time

    import pytest

    up, clone = remote
    meta = clone.root / ".git"
    _armed(clone)
    clone.git("config", "rca.hookTimeout", "30")
    up.commit("More", {"x.txt": "x\n"})
    up.git("push", "-q", "origin", "main")
    if not _mount_read_only(meta / "rca"):
        pytest.skip("a read-only bind mount needs root and mount")
    try:
        started = time.perf_counter()
        pull = git("pull", "-q", cwd=clone.root, check=False)
        took = time.perf_counter() - started
    finally:
        subprocess.run(["umount", str(meta / "rca")], capture_output=True)
    assert pull.returncode == 0 and pull.stderr.count("\n") == 1, pull.stderr
    assert pull.stderr.startswith("rca: the 1 commit(s) since failure #1 was recorded not checked against open "
                                  f"failures: {meta / 'rca'} cannot be written (a read-only file system"), pull.stderr
    assert "first time" not in pull.stderr and took < 15, (took, pull.stderr)


HUSKY_H = """#!/usr/bin/env sh
[ "$HUSKY" = "2" ] && set -x
n=$(basename "$0")
s=$(dirname "$(dirname "$0")")/$n

[ ! -f "$s" ] && exit 0

[ "${HUSKY-}" = "0" ] && exit 0

export PATH="node_modules/.bin:$PATH"
sh -e "$s" "$@"
c=$?

[ $c != 0 ] && echo "husky - $n script failed (code $c)"
[ $c = 127 ] && echo "husky - command not found in PATH=$PATH"
exit $c
"""


def test_a_husky_hooks_folder_is_refused_since_its_renamed_stubs_would_run_nothing(remote, tmp_path):
    """husky 9 (`core.hooksPath=.husky/_`, as `husky` writes it): each stub runs `.husky/$(basename $0)`.
    Kept as pre-push.rca-chained it ran `.husky/pre-push.rca-chained`, which is not there: the user's
    pre-push script stopped running, silently, even with --force."""
    _, clone = remote
    husky = clone.root / ".husky"
    (husky / "_").mkdir(parents=True)
    (husky / "_" / ".gitignore").write_text("*\n")
    _hook(husky / "_", "h", HUSKY_H)
    for name in ("pre-push", "post-merge", "post-checkout"):
        _hook(husky / "_", name, '#!/usr/bin/env sh\n. "${0%/*}/h"\n')
    (husky / "pre-push").write_text(f"echo \"husky pre-push $1\" > {tmp_path}/pushed\n")
    clone.git("config", "core.hooksPath", ".husky/_")
    before = {p.name: p.read_bytes() for p in (husky / "_").iterdir()}

    out = rca("hooks", "install", "--force", cwd=clone.root)
    assert out.returncode == 2, out.stdout
    assert f"the hooks folder {husky / '_'} is husky's: its hooks run .husky/<hook> by their own file name" \
        in out.stderr and "`rca index -q` in .husky/post-merge" in out.stderr, out.stderr
    assert {p.name: p.read_bytes() for p in (husky / "_").iterdir()} == before  # nothing touched
    clone.commit("Mine", {"y.txt": "y\n"})
    git("push", "-q", "origin", "main", cwd=clone.root)
    assert (tmp_path / "pushed").read_text() == "husky pre-push origin\n"  # husky's hook still runs


def test_installing_into_a_global_hooks_path_says_every_repository_gets_the_hooks(remote, tmp_path, monkeypatch):
    """`core.hooksPath` set in ~/.gitconfig: the shims land in a folder every repository runs its
    hooks from, and install said only "post-merge: installed", as for this repository alone."""
    _, clone = remote
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    shared = tmp_path / "shared-hooks"
    git("config", "--global", "core.hooksPath", str(shared), cwd=clone.root)
    out = rca("hooks", "install", cwd=clone.root)
    assert out.returncode == 0 and "pre-push: installed\n" in out.stdout, out.stderr
    assert out.stdout.endswith(f"note: {shared} is core.hooksPath in your global git config: every repository that "
                               "uses it runs these hooks now, and `rca hooks uninstall` in any of them removes them "
                               "for all\n"), out.stdout
    assert (shared / "post-merge").exists()
    assert "rca-lsp hook shim" in (shared / "post-checkout").read_text()
    git("config", "--global", "--unset", "core.hooksPath", cwd=clone.root)
    local = rca("hooks", "install", cwd=clone.root)  # this repository's own folder: no note
    assert local.returncode == 0 and "note:" not in local.stdout, local.stdout


# What `pre-commit install` writes (its hook-tmpl, less the Python part): it runs the hook it found
# there, moved to `<hook>.legacy` ("migration mode"), with the same arguments and input.
PRE_COMMIT = """#!/usr/bin/env bash
# File generated by pre-commit: https://pre-commit.com
HERE="$(cd "$(dirname "$0")" && pwd)"
echo "pre-commit $*" >> {out}
if [ -x "$HERE/post-checkout.legacy" ]; then "$HERE/post-checkout.legacy" "$@" || exit $?; fi
"""


def test_uninstall_after_pre_commit_moved_the_shim_to_legacy_takes_it_away(remote, tmp_path):
    """`pre-commit install` after `rca hooks install` moves rca's shim to post-checkout.legacy and runs
    it from there: `rca hooks uninstall` said nothing of it and left it, and rca ran on every checkout."""
    _, clone = remote
    hooks = clone.root / ".git" / "hooks"
    user = f"#!/bin/sh\necho \"user $3\" >> {tmp_path}/user\n"
    _hook(hooks, "post-checkout", user)
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    os.replace(hooks / "post-checkout", hooks / "post-checkout.legacy")  # what `pre-commit install` does
    _hook(hooks, "post-checkout", PRE_COMMIT.format(out=tmp_path / "pre-commit"))
    status = rca("hooks", "status", cwd=clone.root).stdout
    assert "post-checkout  installed, chains to post-checkout.rca-chained (as post-checkout.legacy, which " \
           "pre-commit's post-checkout runs)" in status, status

    out = rca("hooks", "uninstall", cwd=clone.root)
    assert out.returncode == 0 and "post-checkout: removed from post-checkout.legacy (pre-commit's); the original " \
                                   "hook restored as post-checkout.legacy" in out.stdout, out.stdout
    assert (hooks / "post-checkout.legacy").read_text() == user  # pre-commit runs the user's hook, as before rca
    assert "rca-lsp" not in "".join(p.read_text() for p in hooks.iterdir() if not p.name.endswith(".sample"))
    clone.git("checkout", "-q", "-b", "topic")
    clone.git("checkout", "-q", "HEAD~1")
    assert (tmp_path / "user").read_text().splitlines() == ["user 1", "user 1"]
    assert not (clone.root / ".git" / "rca").exists()  # rca ran no more


def test_a_python_that_lost_rca_still_runs_the_kept_hook_and_never_fails_the_push(remote, tmp_path):
    """rca-lsp uninstalled from the Python the shims name (the Python itself still there): every
    foreground hook printed a ModuleNotFoundError traceback and `git push` failed. Now: one line,
    the user's kept hook runs with its input, and the pull and the push go on."""
    import subprocess
    import sys

    up, clone = remote
    hooks = clone.root / ".git" / "hooks"
    _hook(hooks, "pre-push", f"#!/bin/sh\ncat > {tmp_path}/pushed\n")  # kept: reads git's refs on stdin
    assert rca("hooks", "install", cwd=clone.root).returncode == 0
    _open_failure(clone)  # the shims then hand off to Python, which cannot import rca_lsp
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    for name in ("pre-push", "post-merge"):
        shim = hooks / name
        text = shim.read_text()
        start = text.index("INSTALL_PYTHON=")
        shim.write_text(text[:start] + f"INSTALL_PYTHON={bare / 'bin' / 'python'}" + text[text.index("\n", start):])
    up.commit("More", {"x.txt": "x\n"})
    up.git("push", "-q", "origin", "main")
    pull = git("pull", "-q", cwd=clone.root, check=False)
    assert pull.returncode == 0 and "Traceback" not in pull.stderr, pull.stderr
    assert [line for line in pull.stderr.splitlines() if line.startswith("rca: ")] == [
        f"rca: hooks skipped: {bare / 'bin' / 'python'} cannot import rca_lsp (No module named 'rca_lsp'); "
        "reinstall rca-lsp for it, or remove the hooks (rca hooks uninstall)"], pull.stderr
    clone.commit("Mine", {"y.txt": "y\n"})
    push = git("push", "-q", "origin", "main", cwd=clone.root, check=False)
    assert push.returncode == 0 and "Traceback" not in push.stderr, push.stderr
    assert "refs/heads/main" in (tmp_path / "pushed").read_text()  # the kept hook ran, with its input
