"""The editor's "this was it" (`rca.confirmSuspect`) over stdio: the suspect becomes a label."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from lsp_helpers import command, open_doc, session
from test_cli import _history

pytestmark = pytest.mark.asyncio(loop_scope="function")


def _rca(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rca_lsp", *args], capture_output=True, text=True, timeout=120)


async def test_confirm_suspect_records_a_label(git_repo):
    shas = _history(git_repo)
    assert _rca("index", "--repo", str(git_repo.root), "-q").returncode == 0
    async with session([git_repo.root]) as (client, offers):
        uri = open_doc(client, git_repo.root / "crash.txt")
        found = await command(client, "rca.suspects", {"uri": uri})
        rank = next(s["rank"] for s in found["suspects"] if s["commit"] == shas["culprit"])
        answer = await command(client, "rca.confirmSuspect", {"uri": uri, "commit": shas["culprit"]})
        assert "error" not in answer, answer
        assert answer["label"] == 1 and answer["culprit"] == shas["culprit"] and answer["rank"] == rank
        assert answer["added"] is True
        again = await command(client, "rca.confirmSuspect", {"uri": uri, "commit": shas["culprit"]})
        assert again["label"] == 1 and again["added"] is False  # the same label: said, not stored twice
        shown = [m.message for m in client.messages]
        assert f"rca: recorded {shas['culprit'][:10]} as the culprit (label #1)" in shown
        assert f"rca: {shas['culprit'][:10]} is already recorded as the culprit (label #1; not added again)" in shown
        refused = await command(client, "rca.confirmSuspect", {"uri": uri})
        assert "culprit" in refused["error"]
        unknown = await command(client, "rca.confirmSuspect", {"uri": uri, "commit": "0" * 40})
        assert "error" in unknown
    exported = _rca("labels", "export", "--repo", str(git_repo.root))
    [label] = [json.loads(line) for line in exported.stdout.splitlines()]
    assert label["source"] == "editor" and label["culprit"] == shas["culprit"] and label["rank"] == rank
