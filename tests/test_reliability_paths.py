"""Revisions that look like options never reach git; paths named by a trace outside the repository
are never opened.

Checked two ways: under `strace -f` on the real command (when strace is installed), which sees
every execve and openat of rca and of the processes it starts; and in-process, with every
Python-level way of opening a file (open, io.open, os.open, Path.open/read_*) and every
subprocess recorded around `rca_lsp.cli.run`.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
from _reliability import load

rc = load("reliability_common")

CALC = "def parse(s):\n    return int(s) + 1\n\n\ndef twice(s):\n    return parse(s) * 2\n"


def _repo(git_repo, tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("def secret():\n    return 'do not read'\n")
    git_repo.commit("Add calc", {"pkg/calc.py": CALC})
    os.symlink(str(secret), git_repo.root / "pkg" / "test_link.py")
    os.symlink("/etc/passwd", git_repo.root / "pkg" / "passwd.py")
    git_repo.commit("Links", {"tests/test_calc.py": "from pkg.calc import twice\n\n\ndef test_twice():\n"
                                                    "    assert twice(' 2') == 4\n"})
    git_repo.commit("Edit calc", {"pkg/calc.py": CALC.replace("+ 1", "+ 2")})
    rel = os.path.relpath(secret, git_repo.root)
    trace = (
        "FAILED pkg/test_link.py::test_secret - ValueError: x\n"
        f"FAILED {rel}::test_secret - ValueError: x\n"
        "FAILED ../../etc/passwd::test_x - ValueError: y\n"
        "Traceback (most recent call last):\n"
        f'  File "{secret}", line 2, in secret\n'
        f'  File "{rel}", line 1, in secret\n'
        '  File "../../etc/passwd", line 1, in root\n'
        '  File "/etc/shadow", line 1, in root\n'
        '  File "/srv/app/pkg/passwd.py", line 1, in x\n'
        '  File "pkg/test_link.py", line 1, in test_secret\n'
        '  File "/srv/app/pkg/calc.py", line 2, in parse\n'
        "ValueError: invalid literal for int() with base 10: ' 2'\n"
    )
    (git_repo.root / "crash.txt").write_text(trace)
    assert rc.rca("index", "-q", cwd=git_repo.root).returncode == 0
    return secret


GIT_OWN = {"--", "-", "-p", "--end-of-options"}  # arguments rca itself passes to git: not evidence
FORBIDDEN = ["/etc/passwd", "/etc/shadow", "secret.py", "test_link.py", "pkg/passwd.py"]
UNSAFE = ["--output={out}", "-n1", "--exec=touch {out}", "-cuser.name=x", "--all", "-p", "HEAD --output={out}",
          "$(touch {out})", ";touch {out}", "`touch {out}`", "HEAD\n--output={out}", "..", "--",
          "-", "--end-of-options", "@{{-1}}|touch {out}"]


def _strace(args, cwd, log):
    return subprocess.run(["strace", "-f", "-qq", "-s", "300", "-e", "trace=execve,openat,open", "-o", str(log),
                           *rc.RCA, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _python_opens(log: pathlib.Path) -> list[str]:
    """openat paths of processes that are not git (git reads its own config, maybe /etc/passwd)."""
    git_pids = set()
    opened = []
    lines = log.read_text(errors="replace").splitlines()
    for line in lines:
        m = re.match(r"(\d+)\s+execve\(\"([^\"]+)\"", line)
        if m and os.path.basename(m.group(2)) == "git":
            git_pids.add(m.group(1))
    for line in lines:
        m = re.match(r"(\d+)\s+open(?:at)?\((?:AT_FDCWD, )?\"([^\"]+)\"", line)
        if m and m.group(1) not in git_pids:
            opened.append(m.group(2))
    return opened


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_under_strace_no_forbidden_open_and_no_unsafe_revision_reaches_git(git_repo, tmp_path):
    _repo(git_repo, tmp_path)
    log = tmp_path / "strace.log"
    proc = _strace(["suspects", "--trace", "crash.txt", "--format", "json", "--top", "0"], git_repo.root, log)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["suspects"]
    opened = _python_opens(log)
    assert any(p.endswith("crash.txt") for p in opened)  # the trace itself, as asked
    bad = [p for p in opened if any(f in p for f in FORBIDDEN)]
    assert bad == []
    for pattern in UNSAFE[:6]:
        out = tmp_path / "out"
        rev = pattern.format(out=out)
        proc = _strace(["suspects", "--trace", "crash.txt", "--since", rev], git_repo.root, log)
        assert proc.returncode in (2, 3), (rev, proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr
        execs = [ln for ln in log.read_text(errors="replace").splitlines() if "execve(" in ln and "git" in ln]
        assert not [ln for ln in execs if f'"{rev}"' in ln or f"={rev}" in ln], rev
        assert not out.exists()


class _Recorder:
    """Every path Python code opens and every subprocess argv, for the duration of a with-block."""

    def __init__(self, monkeypatch):
        self.paths: list[str] = []
        self.argvs: list[list[str]] = []
        real_open, real_os_open, real_popen_init = builtins.open, os.open, subprocess.Popen.__init__
        rec = self

        def spy_open(file, *a, **k):
            rec.paths.append(os.fsdecode(file) if not isinstance(file, int) else f"fd:{file}")
            return real_open(file, *a, **k)

        def spy_os_open(path, *a, **k):
            rec.paths.append(os.fsdecode(path))
            return real_os_open(path, *a, **k)

        def spy_popen(self_, args, *a, **k):
            rec.argvs.append([os.fsdecode(x) for x in args] if not isinstance(args, (str, bytes)) else [args])
            return real_popen_init(self_, args, *a, **k)

        monkeypatch.setattr(builtins, "open", spy_open)
        monkeypatch.setattr(io, "open", spy_open)
        monkeypatch.setattr(os, "open", spy_os_open)
        monkeypatch.setattr(subprocess.Popen, "__init__", spy_popen)
        for name in ("read_bytes", "read_text", "open"):
            real = getattr(pathlib.Path, name)

            def spy(self_, *a, __real=real, **k):
                rec.paths.append(str(self_))
                return __real(self_, *a, **k)

            monkeypatch.setattr(pathlib.Path, name, spy)


def _run_cli(argv, cwd, monkeypatch):
    from rca_lsp.cli import run

    monkeypatch.chdir(cwd)
    return run(argv)


def test_in_process_no_forbidden_open(git_repo, tmp_path, monkeypatch, capsys):
    secret = _repo(git_repo, tmp_path)
    rec = _Recorder(monkeypatch)
    code = _run_cli(["suspects", "--trace", "crash.txt", "--format", "json", "--top", "0"], git_repo.root,
                    monkeypatch)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["suspects"]
    bad = [p for p in rec.paths if any(f in p for f in FORBIDDEN) or str(secret) in p]
    assert bad == []
    assert any(p.endswith("crash.txt") for p in rec.paths)


@pytest.mark.parametrize("pattern", UNSAFE)
def test_in_process_unsafe_revisions_never_reach_git(git_repo, tmp_path, monkeypatch, capsys, pattern):
    git_repo.commit("One", {"pkg/calc.py": CALC})
    git_repo.commit("Two", {"pkg/calc.py": CALC.replace("+ 1", "+ 2")})
    (git_repo.root / "crash.txt").write_text('Traceback (most recent call last):\n  File "pkg/calc.py", line 2,'
                                             ' in parse\nValueError: x\n')
    out = tmp_path / "out"
    rev = pattern.format(out=out)
    rec = _Recorder(monkeypatch)
    code = _run_cli(["suspects", "--trace", "crash.txt", "--since", rev], git_repo.root, monkeypatch)
    err = capsys.readouterr().err
    assert code in (2, 3), (rev, code, err)
    assert err.startswith("rca: error: refusing revision") or code == 2, err
    if rev not in GIT_OWN:
        assert not [a for a in rec.argvs if rev in a or any(rev in x for x in a)]
    assert not out.exists() and not (git_repo.root / "x").exists()


def test_safe_revision_still_works(git_repo):
    first = git_repo.commit("One", {"pkg/calc.py": CALC})
    git_repo.commit("Two", {"pkg/calc.py": CALC.replace("+ 1", "+ 2")})
    (git_repo.root / "crash.txt").write_text('Traceback (most recent call last):\n  File "pkg/calc.py", line 2,'
                                             ' in parse\nValueError: x\n')
    for rev in (first, first[:8], "HEAD~1", "main~1", "HEAD^", "HEAD@{0}~1"):
        proc = rc.rca("suspects", "--trace", "crash.txt", "--since", rev, "--format", "json", cwd=git_repo.root)
        assert proc.returncode == 0, (rev, proc.stderr)
        assert json.loads(proc.stdout)["candidates"] == 1, rev
