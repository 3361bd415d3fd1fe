"""The two stages of `rca.suspects` over stdio: retrieval's answer at once, then, with the ranker
`llm`, the REAL ONNX ranker's (the tiny random-weight Llama of test_ranker) replacing it."""

from __future__ import annotations

import asyncio

import pytest
from lsp_helpers import command, open_doc, session, until
from lsprotocol import types as lsp
from test_cli import TRACE
from test_lsp_server import CALC, calc_repo  # noqa: F401 (fixture)
from test_ranker import needs_export, tiny_root  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio(loop_scope="function")

TOP, RERANK, WEIGHT = 3, 4, 5.0


def _plain(value):
    """pygls hands a custom notification's params over as named tuples: back to JSON values."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _record(client) -> list[dict]:
    """Every `rca/suspects` notification, as plain dicts, in arrival order."""
    seen: list[dict] = []

    @client.feature("rca/suspects")
    def on_suspects(params) -> None:
        seen.append(_plain(params))
    return seen


def _gate_progress(client, nth: int, action):
    """Answer the `nth` window/workDoneProgress/create (1-based) only after `await action(token)`."""
    creates: list[str] = []
    client.protocol.fm.features.pop(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)  # pytest-lsp's own, replaced

    @client.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)
    async def on_create(params: lsp.WorkDoneProgressCreateParams) -> None:
        creates.append(params.token)
        client.progress_reports.setdefault(params.token, [])
        if len(creates) == nth:
            await action(params.token)
    return creates


def _model_ranking(root, tiny_root):  # noqa: F811
    """What the model path gives in this process: retrieval, then `rerank` with the same model files."""
    from rca_lsp.index import Index
    from rca_lsp.ranker import Fusion, rerank
    from rca_lsp.ranker.session import LogProbModel
    from rca_lsp.ranker.store import DEFAULT_MODEL
    from rca_lsp.suspects import find_suspects
    from rca_lsp.vcs import open_repo

    repo = open_repo(str(root))
    with Index.open(repo.meta_dir, readonly=True) as index:
        retrieval = find_suspects(repo, index, TRACE, top=max(TOP, RERANK))
    model = LogProbModel(tiny_root / DEFAULT_MODEL)
    ranked = rerank(retrieval, TRACE, repo, k=RERANK, model=model, fusion=Fusion(weight=WEIGHT))
    return retrieval.suspects[:TOP], ranked.suspects[:TOP]


@needs_export
async def test_retrieval_at_once_then_the_models_ranking_replaces_it(calc_repo, tiny_root):  # noqa: F811
    repo, _ = calc_repo
    options = {"ranker": "llm", "top": TOP, "rerankTop": RERANK, "modelWeight": WEIGHT}
    async with session([repo.root], options=options, env={"RCA_MODEL_DIR": str(tiny_root)}) as (client, _):
        seen = _record(client)
        calc_uri = open_doc(client, repo.root / CALC, "java")
        answer = await command(client, "rca.suspects", {"text": TRACE})
        assert (answer["stage"], answer["final"]) == ("retrieval", False), answer
        await until(lambda: any(n["stage"] == "model" for n in seen), timeout=60)

        assert [(n["stage"], n["final"], n["seq"]) for n in seen] == [
            ("retrieval", False, answer["seq"]), ("model", True, answer["seq"])]
        assert [s["commit"] for s in seen[0]["suspects"]] == [s["commit"] for s in answer["suspects"]]
        final = seen[1]
        expected_retrieval, expected_model = _model_ranking(repo.root, tiny_root)
        assert [s["commit"] for s in answer["suspects"]] == [s.commit.hash for s in expected_retrieval]
        assert [s["commit"] for s in final["suspects"]] == [s.commit.hash for s in expected_model]
        assert [s["score"] for s in final["suspects"]] == pytest.approx([s.score for s in expected_model], abs=1e-5)
        assert [s["commit"] for s in final["suspects"]] != [s["commit"] for s in answer["suspects"]]
        assert all(any(e["kind"] == "model" for e in s["evidence"]) for s in final["suspects"])
        assert "rerank" in final["timings"] and "rerank" not in answer["timings"]

        # the lenses and diagnostics on Calc.java line 5 now name the model's rank of their commit
        lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(calc_uri)))
        lens = next(lens for lens in lenses if lens.range.start.line == 4)
        titles = {s["commit"]: s["title"] for s in final["suspects"]}
        assert lens.command.title == titles[lens.command.arguments[0]]
        await until(lambda: any(d.message.startswith(titles[d.data["commit"]]) for d in client.diagnostics[calc_uri]
                                if d.range.start.line == 4))
        reports = [r for rs in client.progress_reports.values() for r in rs]
        assert any(isinstance(r, lsp.WorkDoneProgressBegin) and r.title == "rca: re-ranking with the model"
                   for r in reports)


@needs_export
async def test_the_device_setting_reaches_the_model_and_a_missing_gpu_is_said_once(calc_repo, tiny_root):  # noqa: F811
    """`device: "cuda"` where onnxruntime has no CUDA provider: the model still re-ranks, on the CPU, and
    the editor is told why once; `device: "cpu"` re-ranks without a word."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: the fallback cannot be seen here")
    repo, _ = calc_repo
    options = {"ranker": "llm", "top": TOP, "rerankTop": RERANK, "device": "cuda"}
    async with session([repo.root], options=options, env={"RCA_MODEL_DIR": str(tiny_root)}) as (client, _):
        seen = _record(client)
        for asked in (1, 2):
            await command(client, "rca.suspects", {"text": TRACE})
            await until(lambda: sum(n["stage"] == "model" for n in seen) == asked, timeout=60)
        said = [m.message for m in client.messages if "no CUDA provider" in m.message]
        assert len(said) == 1 and "rca-lsp[gpu]" in said[0], said
        client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings={"rca": {"device": "cpu"}}))
        await command(client, "rca.suspects", {"text": TRACE})
        await until(lambda: sum(n["stage"] == "model" for n in seen) == 3, timeout=60)
        assert len([m for m in client.messages if "no CUDA provider" in m.message]) == 1


async def test_no_model_keeps_retrievals_answer_and_says_so_once(calc_repo, tmp_path):  # noqa: F811
    repo, shas = calc_repo
    env = {"RCA_MODEL_DIR": str(tmp_path / "no-models")}
    async with session([repo.root], options={"ranker": "llm", "rerankTop": 4}, env=env) as (client, _):
        seen = _record(client)
        for _ in range(2):
            answer = await command(client, "rca.suspects", {"text": TRACE})
            assert not answer["final"] and shas["culprit"] in {s["commit"] for s in answer["suspects"][:2]}
            seq = answer["seq"]
            await until(lambda seq=seq: sum(n["final"] for n in seen) == seq)
            last = seen[-1]
            assert (last["stage"], last["seq"]) == ("retrieval", answer["seq"])
            assert "rca model build" in last["skipped"]
            assert [s["commit"] for s in last["suspects"]] == [s["commit"] for s in answer["suspects"]]
        said = [m.message for m in client.messages if "ranker 'llm' unavailable" in m.message]
        assert len(said) == 1 and "keeping retrieval's order" in said[0]


@needs_export
async def test_a_newer_request_drops_the_model_stage(calc_repo, tiny_root):  # noqa: F811
    """The model stage of the first request is held at its progress creation while a second request
    is answered: nothing of the first request's model stage is ever shown."""
    repo, _ = calc_repo
    held, release = asyncio.Event(), asyncio.Event()

    async def hold(token):
        held.set()
        await release.wait()

    async with session([repo.root], options={"ranker": "llm", "rerankTop": 4},
                       env={"RCA_MODEL_DIR": str(tiny_root)}) as (client, _):
        seen = _record(client)
        _gate_progress(client, 2, hold)  # 1: first retrieval, 2: its model stage
        first = await command(client, "rca.suspects", {"text": TRACE})
        await asyncio.wait_for(held.wait(), 20)
        second = await command(client, "rca.suspects", {"text": TRACE})
        release.set()
        await until(lambda: any(n["stage"] == "model" for n in seen), timeout=60)
        await asyncio.sleep(0.5)  # time for anything of the first model stage to arrive
        assert [(n["seq"], n["stage"]) for n in seen] == [
            (first["seq"], "retrieval"), (second["seq"], "retrieval"), (second["seq"], "model")]


@needs_export
async def test_cancelling_the_model_progress_keeps_retrieval(calc_repo, tiny_root):  # noqa: F811
    repo, _ = calc_repo

    async def cancel(token):
        client.protocol.notify(lsp.WINDOW_WORK_DONE_PROGRESS_CANCEL, lsp.WorkDoneProgressCancelParams(token=token))

    async with session([repo.root], options={"ranker": "llm", "rerankTop": 4},
                       env={"RCA_MODEL_DIR": str(tiny_root)}) as (client, _):
        seen = _record(client)
        creates = _gate_progress(client, 2, cancel)
        answer = await command(client, "rca.suspects", {"text": TRACE})
        await until(lambda: any(n["final"] for n in seen))
        assert [(n["stage"], n["final"]) for n in seen] == [("retrieval", False), ("retrieval", True)]
        assert seen[1]["skipped"] == "the model stage was cancelled"
        assert [s["commit"] for s in seen[1]["suspects"]] == [s["commit"] for s in answer["suspects"]]
        model_progress = client.progress_reports[creates[1]]
        assert isinstance(model_progress[-1], lsp.WorkDoneProgressEnd) and model_progress[-1].message == "cancelled"
        again = await command(client, "rca.suspects", {"text": TRACE})  # the server is fine
        await until(lambda: any(n["stage"] == "model" and n["seq"] == again["seq"] for n in seen), timeout=60)
