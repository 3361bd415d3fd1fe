"""Real git repositories built in temporary folders, with fixed identities and dates."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest


def write_file(root: Path, path: str, content: str | bytes) -> None:
    """Write `content` at `path` under `root`, making its folders (text or bytes as given)."""
    full = root / path
    full.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        full.write_text(content)
    else:
        full.write_bytes(content)


class GitRepoBuilder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = 1_600_000_000
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Alice")
        self.git("config", "user.email", "alice@example.com")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, input: bytes | None = None, env: dict | None = None) -> str:
        full_env = {**os.environ, "GIT_AUTHOR_DATE": f"{self.clock} +0000",
                    "GIT_COMMITTER_DATE": f"{self.clock} +0000", **(env or {})}
        for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            full_env.pop(k, None)
        out = subprocess.run(["git", *args], cwd=self.root, input=input, env=full_env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
        return out.stdout.decode("utf-8", "replace")

    def write(self, path: str, content: str | bytes) -> None:
        write_file(self.root, path, content)

    def commit(self, message: str | bytes, files: dict[str, str | bytes] | None = None,
               author: str | None = None, remove: list[str] | None = None) -> str:
        for path, content in (files or {}).items():
            self.write(path, content)
        for path in remove or []:
            self.git("rm", "-q", path)
        self.git("add", "-A")
        self.clock += 3600
        env = {}
        if author:
            env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author.lower()}@example.com"}
        msg = message if isinstance(message, bytes) else message.encode()
        self.git("commit", "-q", "--allow-empty", "-F", "-", input=msg, env=env)
        return self.git("rev-parse", "HEAD").strip()

    def fast_commits(self, commits: Iterable[tuple[str, dict[str, str]]], who: str = "Dana") -> None:
        """Commits after HEAD on main, each (message, {path: content}) by `who`, an hour apart, in one
        `git fast-import`: hundreds of commits in the time `commit` takes for a few."""
        head = self.git("rev-parse", "HEAD").strip()
        stream = []
        for i, (message, files) in enumerate(commits):
            self.clock += 3600
            text = message.encode()
            stream += [f"commit refs/heads/main\ncommitter {who} <{who.lower()}@example.com> {self.clock} +0000\n"
                       f"data {len(text)}\n".encode(), text, b"\n", f"from {head}\n".encode() if i == 0 else b""]
            for path, content in files.items():
                data = content.encode()
                stream += [f"M 644 inline {path}\ndata {len(data)}\n".encode(), data, b"\n"]
        self.git("fast-import", "--quiet", input=b"".join(stream))
        self.git("reset", "-q", "--hard", "main")


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepoBuilder:
    return GitRepoBuilder(tmp_path / "repo")


@pytest.fixture
def make_git_repo(tmp_path: Path):
    def make(name: str = "repo") -> GitRepoBuilder:
        return GitRepoBuilder(tmp_path / name)
    return make


def ranked(repo, text: str, **options):
    """Index `repo` (a backend) in its own folder and rank the commits for `text`, with explain."""
    from rca_lsp.index.ingest import update
    from rca_lsp.index.store import Index
    from rca_lsp.suspects import find_suspects

    with Index.open(repo.meta_dir) as index:
        update(repo, index)
        return find_suspects(repo, index, text, top=0, explain=True, **options)
