"""The language server's latency and idle memory on the indexed dev-split cases.

    python scripts/bench_lsp.py [--cases 10] [--cache ~/.cache/rca-bench]

For each case, starts the real `rca serve` over stdio (pygls's client), opens the case's trace
as a document, and times `rca.suspects` from the request to the answer (the first suspects
shown). Before any request, it reads the server's resident memory (VmRSS): the idle server,
no model loaded. Prints one line per case and the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_client() -> LanguageClient:
    client = LanguageClient("rca-bench", "1")

    @client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_request(params):
        return None  # never index from the bench: the cases are indexed already

    @client.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def on_create(params):
        return None

    @client.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
    def on_refresh(params):
        return None

    @client.feature(lsp.WORKSPACE_CONFIGURATION)
    def on_configuration(params):
        return [None for _ in params.items]

    for method in (lsp.PROGRESS, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, lsp.WINDOW_SHOW_MESSAGE, lsp.WINDOW_LOG_MESSAGE,
                   "rca/suspects"):
        client.feature(method)(lambda params: None)
    return client


async def one_case(repo: Path, trace: Path) -> dict:
    client = make_client()
    await client.start_io(sys.executable, "-m", "rca_lsp", "serve", "--log-level", "warning")
    capabilities = lsp.ClientCapabilities(
        window=lsp.WindowClientCapabilities(work_done_progress=True),
        workspace=lsp.WorkspaceClientCapabilities(configuration=True,
                                                  code_lens=lsp.CodeLensWorkspaceClientCapabilities(refresh_support=True)))
    await client.initialize_async(lsp.InitializeParams(
        capabilities=capabilities, process_id=None, root_uri=repo.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(repo.as_uri(), repo.name)]))
    client.initialized(lsp.InitializedParams())
    await asyncio.sleep(1.0)  # settled and idle
    pid = client._server.pid
    idle = rss_mb(pid)
    uri = trace.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(
        uri=uri, language_id="plaintext", version=1, text=trace.read_text(errors="replace"))))
    started = time.perf_counter()
    answer = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="rca.suspects", arguments=[{"uri": uri}]))
    seconds = time.perf_counter() - started
    after = rss_mb(pid)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"seconds": seconds, "idle_mb": idle, "after_mb": after, "suspects": len(answer.get("suspects", [])),
            "error": answer.get("error")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "rca-bench")
    args = parser.parse_args()
    cases = [c for c in json.loads((args.cache / "cases.json").read_text())["cases"] if c.get("built")]
    step = max(1, len(cases) // args.cases)
    chosen = cases[::step][:args.cases]
    rows = []
    for case in chosen:
        row = asyncio.run(one_case(Path(case["repo"]), Path(case["trace"])))
        rows.append(row)
        print(f"{case['case_id']:<10} {row['seconds']:.3f} s  idle {row['idle_mb']:.0f} MB  "
              f"after {row['after_mb']:.0f} MB  {row['suspects']} suspects{'  ' + row['error'] if row['error'] else ''}",
              flush=True)
    print(f"median command -> first suspects: {statistics.median(r['seconds'] for r in rows):.3f} s "
          f"over {len(rows)} cases; idle RSS median {statistics.median(r['idle_mb'] for r in rows):.0f} MB "
          f"(max {max(r['idle_mb'] for r in rows):.0f} MB); after one request median "
          f"{statistics.median(r['after_mb'] for r in rows):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
