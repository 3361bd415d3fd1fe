"""One way into history: no module outside `rca_lsp.vcs` starts git, hg or sl, or reaches past the
`Backend` protocol into a backend's helpers; and both backends implement the whole protocol.

The source is read with `ast`, so the check needs no repository and names the file and line.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from rca_lsp.vcs.base import Backend, BlobReader, Worktree

PACKAGE = Path(__file__).resolve().parent.parent / "rca_lsp"
VCS_PROGRAMS = {"git", "hg", "sl"}
# Calls that start a process: the first argument (or `args=`) is the command line.
SPAWNERS = {"run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput",
            "system", "popen", "create_subprocess_exec", "create_subprocess_shell", "spawnlp", "spawnvp",
            "execlp", "execvp", "execvpe"}
PRIVATE_HELPERS = {"git_text", "log_stream", "filenode_data", "cat", "present", "_take"}  # on a backend
BACKEND_NAMES = {"repo", "backend", "_repo"}


def _name(node: ast.AST) -> str:
    """The last name of `x`, `a.b.x` or `x(...)`; "" for anything else."""
    if isinstance(node, ast.Call):
        return _name(node.func)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _names_vcs(node: ast.AST) -> bool:
    """A program name that is git, hg or sl: a literal, or a variable or call named for one
    (`self._hg_binary`, `binary(kind)`, `HG`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        words = node.value.split()
        return bool(words) and Path(words[0]).name in VCS_PROGRAMS
    name = _name(node).lower().strip("_")
    return name == "binary" or any(p in name.replace("_", " ").split() for p in ("git", "hg", "sl", "sapling"))


def _starts_vcs(call: ast.Call) -> bool:
    if _name(call.func) not in SPAWNERS:
        return False
    args = list(call.args[:1]) + [k.value for k in call.keywords if k.arg == "args"]
    for arg in args:
        first = arg.elts[0] if isinstance(arg, (ast.List, ast.Tuple)) and arg.elts else arg
        if isinstance(first, ast.Starred):
            first = first.value
        if _names_vcs(first):
            return True
    return False


def _receiver(node: ast.Attribute) -> str:
    value = node.value
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self":
        return value.attr
    return value.id if isinstance(value, ast.Name) else ""


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Every place in `source` that goes around the backend: a git/hg/sl process, a backend's
    private helper (`._run` of another object, `.git_text`, ...), a raw `repo.run(...)`, or an
    import of a backend module's process helpers."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call) and _starts_vcs(node):
            found.append(f"{where}: starts a VCS process")
        elif isinstance(node, ast.Attribute):
            receiver = _receiver(node)
            if node.attr in ("git_text", "_run") and receiver != "self" or \
                    node.attr in PRIVATE_HELPERS and receiver in BACKEND_NAMES:
                found.append(f"{where}: uses the backend helper .{node.attr}")
            elif node.attr == "run" and receiver in BACKEND_NAMES:
                found.append(f"{where}: runs a command on the backend ({receiver}.run)")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rca_lsp.vcs."):
            helpers = [a.name for a in node.names if a.name in ("binary", "clean_env", "_clean_env", "log_command", "_decode")]
            if helpers:
                found.append(f"{where}: imports {', '.join(helpers)} from {node.module}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(m.split(".")[0] == "hglib" for m in modules):
                found.append(f"{where}: imports hglib")
    return found


def test_no_module_outside_vcs_starts_git_hg_or_sl_or_goes_around_the_backend():
    outside = [p for p in sorted(PACKAGE.rglob("*.py")) if (PACKAGE / "vcs") not in p.parents]
    assert len(outside) > 50  # the whole package was read, not an empty folder
    found = [v for p in outside for v in violations(p.read_text(encoding="utf-8"), str(p.relative_to(PACKAGE.parent)))]
    assert found == []


@pytest.mark.parametrize("snippet", [
    # the spots this check was written for, as they were before the backend had their methods
    'subprocess.run(["git", "-C", root, "show", "--no-color", commit], stdout=subprocess.PIPE)',
    'proc = subprocess.run(["git", *self._NO_HOOKS, *args], cwd=cwd)',
    'proc = subprocess.run([self._hg_binary, *self._no_hooks, *args], cwd=cwd)',
    'text = repo.git_text("show", "--stat", "-p", sha)',
    'ok = repo._run(["merge-base", "--is-ancestor", a, b], check=False).returncode == 0',
    'drafts = repo.run("log", "-r", "draft() and ::.", "-T", "{node}\\n")',
    'from rca_lsp.vcs.hg import binary',
    'os.system("hg update -C tip")',
    'subprocess.Popen(args=[binary(kind), "serve"])',
    'import hglib',
])
def test_the_check_finds_each_way_around_the_backend(snippet):
    assert len(violations(snippet)) == 1


@pytest.mark.parametrize("snippet", [
    'subprocess.Popen([sys.executable, "-m", "rca_lsp.hooks", "index", root, hook])',  # rca itself
    'subprocess.Popen(command, shell=True, cwd=cwd)',  # the user's test command in bisect
    'logits, present = self._run(arr, mask)',  # an object's own helper
    'subprocess.run([str(chained), *args], input=stdin)',  # the user's chained hook
    'text = repo.show_commit(repo.resolve(rev))',
])
def test_the_check_leaves_other_processes_and_the_protocol_alone(snippet):
    assert violations(snippet) == []


def _members(protocol: type) -> set[str]:
    names = {n for n, v in vars(protocol).items() if not n.startswith("_") and callable(v)}
    return names | set(getattr(protocol, "__annotations__", {}))


@pytest.mark.parametrize("protocol", [Backend, BlobReader, Worktree])
def test_every_protocol_member_is_typed(protocol):
    for name, value in vars(protocol).items():
        if not name.startswith("_") and callable(value):
            hints = inspect.get_annotations(value)
            assert "return" in hints, f"{protocol.__name__}.{name} has no return type"
            params = [p for p in inspect.signature(value).parameters if p != "self"]
            assert all(p in hints for p in params), f"{protocol.__name__}.{name} has untyped parameters"


def test_git_and_hg_backends_implement_the_whole_protocol():
    from rca_lsp.vcs.checkout import GitWorktree, HgShare
    from rca_lsp.vcs.git import GitRepo, _BlobReader
    from rca_lsp.vcs.hg import HgRepo, _HgBlobReader

    for protocol, classes in ((Backend, (GitRepo, HgRepo)), (BlobReader, (_BlobReader, _HgBlobReader)),
                              (Worktree, (GitWorktree, HgShare))):
        methods = {n for n in _members(protocol) if callable(getattr(protocol, n, None))}
        assert methods
        for cls in classes:
            missing = sorted(n for n in methods if not callable(getattr(cls, n, None)))
            assert missing == [], f"{cls.__name__} lacks {missing}"
            for name in methods:  # the same parameters, so a caller written for one fits the other
                want = list(inspect.signature(getattr(protocol, name)).parameters)
                got = list(inspect.signature(getattr(cls, name)).parameters)
                assert got[:len(want)] == want, f"{cls.__name__}.{name}{got} is not {want}"
