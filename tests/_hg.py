"""Real Mercurial repositories built in temporary folders, with fixed identities and dates."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import write_file

needs_hg = pytest.mark.skipif(shutil.which("hg") is None, reason="needs Mercurial (pip install mercurial)")


def hg_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HG")}
    env.update({"HGRCPATH": "", "HGUSER": "Alice <alice@example.com>", "HGENCODING": "utf-8", **(extra or {})})
    return env


class HgRepoBuilder:
    def __init__(self, root: Path, init: bool = True) -> None:
        self.root = root
        self.clock = 1_600_000_000
        if init:
            root.mkdir(parents=True, exist_ok=True)
            self.hg("init")

    def hg(self, *args: str, input: bytes | None = None, env: dict | None = None, check: bool = True,
           cwd: Path | None = None) -> str:
        out = subprocess.run(["hg", *args], cwd=cwd or self.root, input=input, env=hg_env(env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if check and out.returncode != 0:
            raise AssertionError(f"hg {args}: {out.stderr.decode(errors='replace')}")
        return out.stdout.decode("utf-8", "replace") + (out.stderr.decode("utf-8", "replace") if not check else "")

    def write(self, path: str, content: str | bytes) -> None:
        write_file(self.root, path, content)

    def commit(self, message: str | bytes, files: dict[str, str | bytes] | None = None,
               author: str | None = None, remove: list[str] | None = None, env: dict | None = None) -> str:
        for path, content in (files or {}).items():
            self.write(path, content)
        for path in remove or []:
            self.hg("rm", "-q", path)
        self.hg("addremove", "-q")
        self.clock += 3600
        user = f"{author} <{author.lower()}@example.com>" if author else "Alice <alice@example.com>"
        msg = message if isinstance(message, bytes) else message.encode()
        msgfile = self.root.parent / f".msg-{self.root.name}"
        msgfile.write_bytes(msg)
        self.hg("commit", "-q", "-l", str(msgfile), "-u", user, "-d", f"{self.clock} 0", env=env)
        return self.hg("log", "-r", ".", "-T", "{node}").strip()
