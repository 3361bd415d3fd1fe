"""The language server's indexer process (`rca_lsp.lsp.work.run_index`) on a real git repository."""

from __future__ import annotations

from test_cli import _history
from test_hooks_shim import SHADOWS

from rca_lsp.lsp import work
from rca_lsp.lsp.jobs import Job
from rca_lsp.vcs import open_repo


def test_the_servers_indexer_never_imports_the_repositorys_own_modules(git_repo, monkeypatch):
    """Editors start the server in the workspace folder, and the indexer process inherits it: a
    repository whose root holds modules named like rca's dependencies (and a standard module) is
    indexed with rca's own, its progress reported."""
    _history(git_repo)
    for name in SHADOWS:
        (git_repo.root / f"{name}.py").write_text(f'raise ImportError("the repository\'s {name}")\n')
    monkeypatch.chdir(git_repo.root)
    progress: list[str] = []
    message = work.run_index(open_repo(str(git_repo.root)), Job("index"), lambda text, _: progress.append(text))
    assert "indexed 4 new commit(s)" in message
    assert progress[0] == "reading history"
