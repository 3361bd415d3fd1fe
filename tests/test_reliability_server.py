"""One language server answering 100 `rca.suspects` queries in a row: its memory must not grow
beyond 10% after warm-up, and every answer must be the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_helpers import command, open_doc, session
from test_lsp_server import _index
from test_cli import _history

pytestmark = pytest.mark.asyncio(loop_scope="function")

WARMUP, QUERIES = 10, 100


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _server_pid(client) -> int:
    server = getattr(client, "_server", None)
    pid = getattr(server, "pid", None)
    if pid is None:
        pytest.skip("this pytest-lsp does not expose the server process")
    return pid


async def test_hundred_queries_keep_memory_flat(git_repo):
    shas = _history(git_repo)
    _index(git_repo.root)
    async with session([git_repo.root]) as (client, _):
        uri = open_doc(client, git_repo.root / "crash.txt")
        pid = _server_pid(client)
        first = None
        for _ in range(WARMUP):
            found = await command(client, "rca.suspects", {"uri": uri})
            first = first or [s["commit"] for s in found["suspects"]]
        before = _rss_kib(pid)
        for _ in range(QUERIES):
            found = await command(client, "rca.suspects", {"uri": uri})
            assert "error" not in found and [s["commit"] for s in found["suspects"]] == first
        after = _rss_kib(pid)
        assert shas["culprit"] in first[:2]
        assert after <= before * 1.10, f"server RSS grew from {before} KiB to {after} KiB over {QUERIES} queries"
        print(f"server RSS after {WARMUP} warm-up queries {before} KiB, after {QUERIES} more {after} KiB")
