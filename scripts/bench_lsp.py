"""The language server's latency and idle memory on the indexed dev-split cases.

    python scripts/bench_lsp.py [--cases 10] [--cache ~/.cache/rca-bench]
    python scripts/bench_lsp.py --ranker llm     # and the model stage (needs `rca model build`)

For each case, starts the real `rca serve` over stdio (pygls's client), opens the case's trace
as a document, and times `rca.suspects` from the request to the answer (the first suspects
shown). Before any request, it reads the server's resident memory (VmRSS): the idle server,
no model loaded. Prints one line per case and the medians.

With `--ranker llm` the server is configured as an editor user would (`"ranker": "llm"`), and the
two stages are timed from the command: retrieval's answer, then the `rca/suspects` notification of
the model stage that replaces it. The first request of a fresh server loads the model (cold); a
second request for the same trace in the same server is timed too (warm). The culprit's rank in
each stage is printed beside, so the timing is read with what the stage did to the order.
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


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/PID/status in MB: VmRSS (resident now) or VmHWM (its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_client(stages: list | None = None) -> LanguageClient:
    """A client that answers the server's requests as an idle editor would; with `stages`, every
    `rca/suspects` notification is appended to it as (arrival time, params)."""
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

    @client.feature("rca/suspects")
    def on_suspects(params):
        if stages is not None:
            stages.append((time.perf_counter(), params))

    for method in (lsp.PROGRESS, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, lsp.WINDOW_SHOW_MESSAGE, lsp.WINDOW_LOG_MESSAGE):
        client.feature(method)(lambda params: None)
    return client


def _rank(suspects, culprit: str) -> int | None:
    """1-based rank of the culprit among the suspects (dicts or pygls's named tuples)."""
    for i, s in enumerate(suspects, 1):
        sha = s["commit"] if isinstance(s, dict) else s.commit
        if sha == culprit:
            return i
    return None


async def _timed_request(client: LanguageClient, stages: list, uri: str, culprit: str) -> dict:
    """One `rca.suspects`: seconds to retrieval's answer and to the final stage, ranks in each."""
    stages.clear()
    started = time.perf_counter()
    answer = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="rca.suspects", arguments=[{"uri": uri}]))
    first = time.perf_counter() - started
    seq = answer.get("seq")
    deadline = started + 600
    while not any(p.final and p.seq == seq for _, p in stages) and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    final = next(((t, p) for t, p in stages if p.final and p.seq == seq), None)
    row = {"retrieval_s": first, "retrieval_rank": _rank(answer.get("suspects", []), culprit),
           "model_s": None, "model_rank": None, "skipped": answer.get("error")}
    if final is not None:
        t, p = final
        if p.stage == "model":
            row.update(model_s=t - started, model_rank=_rank(p.suspects, culprit))
        else:
            row["skipped"] = getattr(p, "skipped", None) or "no model stage"
    return row


async def model_case(repo: Path, trace: Path, culprit: str, rerank_top: int) -> dict:
    """Cold then warm: the two stages of `rca.suspects` with `"ranker": "llm"`."""
    stages: list = []
    client = make_client(stages)
    await client.start_io(sys.executable, "-m", "rca_lsp", "serve", "--log-level", "warning")
    await client.initialize_async(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(window=lsp.WindowClientCapabilities(work_done_progress=True)),
        process_id=None, root_uri=repo.as_uri(), workspace_folders=[lsp.WorkspaceFolder(repo.as_uri(), repo.name)],
        initialization_options={"ranker": "llm", "rerankTop": rerank_top}))
    client.initialized(lsp.InitializedParams())
    await asyncio.sleep(1.0)
    uri = trace.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(
        uri=uri, language_id="plaintext", version=1, text=trace.read_text(errors="replace"))))
    cold = await _timed_request(client, stages, uri, culprit)
    warm = await _timed_request(client, stages, uri, culprit)
    peak = rss_mb(client._server.pid, "VmHWM")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"cold": cold, "warm": warm, "peak_mb": peak}


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
    parser.add_argument("--ranker", choices=["none", "llm"], default="none",
                        help="llm: time the model stage too (the built model of `rca model build`)")
    parser.add_argument("--rerank-top", type=int, default=20, help="candidates the model scores (the editor's rerankTop)")
    args = parser.parse_args()
    cases = [c for c in json.loads((args.cache / "cases.json").read_text())["cases"] if c.get("built")]
    step = max(1, len(cases) // args.cases)
    chosen = cases[::step][:args.cases]
    if args.ranker == "llm":
        return model_stages(chosen, args.rerank_top)
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


def _fmt(row: dict) -> str:
    model = (f"model {row['model_s']:6.2f} s (#{row['model_rank']})" if row["model_s"] is not None
             else f"model -: {row['skipped']}")
    return f"retrieval {row['retrieval_s']:.3f} s (#{row['retrieval_rank']})  {model}"


def model_stages(chosen: list[dict], rerank_top: int) -> int:
    rows = []
    for case in chosen:
        row = asyncio.run(model_case(Path(case["repo"]), Path(case["trace"]), case["bic"], rerank_top))
        rows.append(row)
        print(f"{case['case_id']:<10} cold: {_fmt(row['cold'])}   warm: {_fmt(row['warm'])}   "
              f"peak {row['peak_mb']:.0f} MB", flush=True)
    for kind in ("cold", "warm"):
        timed = [r[kind] for r in rows if r[kind]["model_s"] is not None]
        if not timed:
            print(f"{kind}: no model stage ran")
            continue
        print(f"{kind}: median command -> retrieval {statistics.median(r['retrieval_s'] for r in timed):.3f} s, "
              f"-> model's order {statistics.median(r['model_s'] for r in timed):.2f} s "
              f"(max {max(r['model_s'] for r in timed):.2f} s) over {len(timed)} cases, rerankTop {rerank_top}; "
              f"culprit #1: retrieval {sum(r['retrieval_rank'] == 1 for r in timed)}, "
              f"model {sum(r['model_rank'] == 1 for r in timed)}")
    print(f"server peak RSS median {statistics.median(r['peak_mb'] for r in rows):.0f} MB "
          f"(max {max(r['peak_mb'] for r in rows):.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
