"""`rca serve` opened at one service's folder of a monorepo: the trace pytest printed there names
`app/main.py`, which every service has; the editor reads it from its workspace folder, as `rca
suspects` run in that folder does (tests/test_edges_paths_s35.py)."""

from __future__ import annotations

import pytest
from lsp_helpers import command, open_doc, session
from test_edges_paths_s35 import clone, monorepo, run_python  # noqa: F401 - monorepo is a fixture
from test_lsp_server import _index

asyncio_test = pytest.mark.asyncio(loop_scope="function")


@asyncio_test
async def test_an_editor_opened_at_a_service_folder_reads_the_trace_from_there(monorepo, tmp_path):  # noqa: F811
    repo, culprit = monorepo
    api = repo.root / "services" / "api"
    trace = run_python(api, "-m", "pytest", "-p", "no:cacheprovider", "--tb=short", path=api)
    assert "app/main.py:2: in handle" in trace
    there = clone(repo, tmp_path / "elsewhere" / "mono")
    _index(there)
    folder = there / "services" / "api"
    saved = tmp_path / "crash.txt"  # outside the repository: not a change of the work tree
    saved.write_text(trace)
    async with session([folder]) as (client, _):
        found = await command(client, "rca.suspects", {"uri": open_doc(client, saved)})
    assert "error" not in found, found
    assert found["suspects"][0]["commit"] == culprit, found["suspects"][:2]
    frames = {(e["path"], e.get("line")) for s in found["suspects"][:1] for e in s["evidence"] if e["kind"] == "frame-line"}
    assert frames == {("services/api/app/main.py", 2)}, found["suspects"][0]["evidence"]
    assert not [w for w in found.get("warnings", []) if "frame" in w], found["warnings"]
