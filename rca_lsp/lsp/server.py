"""The rca language server (pygls 2): thin handlers over the core, conversions in `convert`.

Commands (workspace/executeCommand), each answering a JSON object, `{"error": ...}` on failure:

    rca.suspects  {"text": "..."} | {"uri": "file:///...", "range": {...}}  -> suspects payload
    rca.index     {"uri": ...}?                                             -> {"message": ...}
    rca.showCommit "<hex hash>"                                             -> {"commit", "text"}
    rca.rankAgain {"root": "..."}?  the last failure of that repository again -> as rca.suspects

The latest suspects of each repository drive code lenses, diagnostics and hovers on the frame
lines of the source files, and document links on the frames of trace documents. When HEAD moves
(a branch switch, commit, pull, rebase, reset), they say they were ranked before (`heads`).

Two stages, as in the core. `rca.suspects` answers with retrieval's suspects at once. With the
ranker `llm`, the model then re-ranks them in the background (its own cancellable progress); when it
finishes, its ranking replaces retrieval's: diagnostics republished, code lenses refreshed, and

    rca/suspects  (notification)  the payload of `rca.suspects`, plus
        "seq": n          the request it answers (a larger seq is a newer request)
        "stage": "retrieval" | "model"
        "final": bool     false while the model stage is still to come
        "skipped": "..."  why the model stage did not replace retrieval's answer (final, stage retrieval)

is sent for each stage (the command's answer carries the same keys for retrieval). A newer
`rca.suspects` drops a model stage still running (nothing more is sent for it); cancelling its
progress keeps retrieval's answer (a final "retrieval" notification with `skipped`); a model that
cannot run (not built, extra missing) is reported once and retrieval's answer is kept the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from rca_lsp import __version__, service
from rca_lsp.errors import RcaError, TraceError
from rca_lsp.lsp import convert, edits, folders, heads, work
from rca_lsp.lsp.findings import Findings, locate_frames, lsp_lines
from rca_lsp.lsp.jobs import Cancelled, Job, Jobs, Progress
from rca_lsp.lsp.options import Options, parse_options
from rca_lsp.lsp.protocol import RcaProtocol
from rca_lsp.lsp.roots import client_root, fs_path

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)

INDEX_NOW = "Index now"
LOG_SUFFIXES = {".trace", ".log", ".txt", ".out", ".err"}
LOG_LANGUAGES = {"plaintext", "text", "log", "", None}
MAX_LINK_BYTES = 4 * 1024 * 1024
SHUTDOWN_GRACE_S = 1.0  # how long `shutdown` waits for cancelled commands to answer (VS Code waits 2 s)
SUSPECTS_NOTIFICATION = "rca/suspects"


class RcaServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("rca", __version__, protocol_cls=RcaProtocol,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.options = Options()
        self.jobs = Jobs()
        self.ranker = work.Ranker()
        self.findings: dict[str, Findings] = {}  # repository root -> latest suspects
        self.published: dict[str, set[str]] = {}  # repository root -> URIs with our diagnostics
        self.repositories = folders.Repositories()
        self.watch = heads.Watch()  # HEAD of the repositories with suspects shown
        self._shown: set[str] = set()
        self._offered: set[str] = set()
        self._asking: dict[str, asyncio.Task[bool]] = {}  # repository root -> the "Index it now?" still open
        self.commands: set[asyncio.Task] = set()  # the executeCommand requests not answered yet
        self._pending: list[str] = []  # problems in initializationOptions, shown once initialized
        self._seq = 0  # the latest rca.suspects request
        self._model_job: Job | None = None  # the model stage running, if any
        self.stopping = False  # after `shutdown`: nothing more is published

    # -- messages and settings --------------------------------------------------------------
    def show(self, message: str, kind: lsp.MessageType = lsp.MessageType.Info, once: bool = False) -> None:
        if once:
            if message in self._shown:
                return
            self._shown.add(message)
        (log.warning if kind <= lsp.MessageType.Warning else log.info)("%s", message)
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=message))

    def apply_settings(self, raw: Any) -> None:
        self.options, problems = parse_options(raw, self.options)
        for problem in problems:
            self.show(problem, lsp.MessageType.Warning, once=True)

    # -- where things are (rca_lsp.lsp.folders) ---------------------------------------------
    def roots(self) -> list[str]:
        return folders.workspace_roots(self.workspace)

    def repo_for(self, uri: str | None = None):
        """The repository of a document, else of the first workspace folder that is one."""
        return self.repositories.find(uri, self.roots())

    def folder_for(self, uri: str | None, repo) -> str:
        return folders.trace_folder(uri, repo.root, self.roots())

    async def stop(self) -> None:
        """Cancel the work, and let the commands it cancels answer before pygls's own shutdown
        cancels what is still pending: cancelling a command there answers it, which removes it from
        the table pygls is walking (`dictionary changed size during iteration`)."""
        self.stopping = True
        self.jobs.cancel_all()
        if self.commands:
            _, late = await asyncio.wait(set(self.commands), timeout=SHUTDOWN_GRACE_S)
            for task in late:  # in a step that does not check its job: answered, its thread left to end
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=SHUTDOWN_GRACE_S)
        await asyncio.sleep(0)  # pygls sends a finished command's answer from a callback: let it run

    # -- results ------------------------------------------------------------------------------
    def publish(self, findings: Findings) -> None:
        now = time.time()
        uris: dict[str, list[lsp.Diagnostic]] = {}
        if self.options.diagnostics:
            for path in findings.markers:
                diagnostics = [d for m in findings.markers_in(path)
                               if (d := convert.lsp_diagnostic(m, now, convert.moved_note(findings)))]
                uris[convert.path_uri(findings.client_root, path)] = diagnostics
        for uri in self.published.get(findings.root, set()) - set(uris):
            uris[uri] = []
        for uri, diagnostics in uris.items():
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
        self.published[findings.root] = {u for u, d in uris.items() if d}
        workspace = self.client_capabilities.workspace
        if workspace and workspace.code_lens and workspace.code_lens.refresh_support:
            self.workspace_code_lens_refresh(None)

    async def offer_index(self, repo: Backend) -> bool:
        """Asks whether to index `repo`; a request that comes while the question is open waits for
        its answer instead of asking again."""
        asking = self._asking.get(repo.root)
        if asking is None:
            asking = self._asking[repo.root] = asyncio.ensure_future(self._ask_to_index(repo))
            asking.add_done_callback(lambda _: self._asking.pop(repo.root, None))
        return await asyncio.shield(asking)

    async def _ask_to_index(self, repo: Backend) -> bool:
        if await asyncio.to_thread(service.copies_index, repo):
            return True  # a linked worktree: its index starts as a copy of the main checkout's
        try:
            choice = await self.window_show_message_request_async(lsp.ShowMessageRequestParams(
                type=lsp.MessageType.Info, actions=[lsp.MessageActionItem(INDEX_NOW), lsp.MessageActionItem("Not now")],
                message=f"rca has no index of {repo.root} yet. Index it now? (once; later runs only add new commits)"))
        except Exception as exc:  # a client without showMessageRequest: treat as "not now"
            log.info("showMessageRequest failed: %s", exc)
            return False
        return choice is not None and choice.title == INDEX_NOW

    async def run_index(self, repo: Backend) -> dict:
        job = self.jobs.start(self.protocol.msg_id, "indexing")
        try:
            async with Progress(self, job, f"rca: indexing {Path(repo.root).name}") as progress:
                message = await asyncio.to_thread(work.run_index, repo, job, progress.report)
            self.show(f"rca: {message}")
            return {"message": message, "root": repo.root}
        finally:
            self.jobs.finish(job)

    async def find(self, request: dict) -> dict:
        if self._model_job is not None:  # a newer request drops the model stage of the last one
            self._model_job.cancel()
        self._seq += 1
        seq = self._seq
        job = self.jobs.start(self.protocol.msg_id, "finding suspects")
        try:
            uri = request.get("uri")
            repo = self.repo_for(uri)
            text, offset = await asyncio.to_thread(self.request_text, request)
            state = await asyncio.to_thread(service.index_state, repo)
            if state == "missing" and not await _until_done_or_cancelled(self.offer_index(repo), job):
                raise RcaError(f"no index of {repo.root} yet", hint="run “RCA: Index repository” (or `rca index`)")
            update_first = state == "missing" or (state == "stale" and self.options.update_index)
            options = self.options
            folder = service.folder_of(repo, self.folder_for(uri, repo))
            head = await asyncio.to_thread(heads.ranked_at, repo)
            async with Progress(self, job, "rca: finding suspects") as progress:
                result, edited = await asyncio.to_thread(work.run_suspects, repo, text, options, job,
                                                         progress.report, update_first, folder)
            findings = Findings(repo.root, service.cut(result, options.top), text, uri, offset,
                                client_root=client_root(repo.root, uri, self.roots()), edited=edited, head=head)
            model_next = options.ranker == "llm" and len(result.suspects) >= 2 and seq == self._seq
            payload = self.settle(findings, seq, "retrieval", final=not model_next)
            self.watch.watch(repo.root, repo)
            self.watch.start(self)
            if model_next:
                self._model_job = self.jobs.start(None, "re-ranking with the model")
                asyncio.get_running_loop().create_task(
                    self.model_stage(self._model_job, repo, result, findings, seq, options))
            return payload
        finally:
            self.jobs.finish(job)

    def settle(self, findings: Findings, seq: int, stage: str, final: bool, skipped: str | None = None,
               shown: Findings | None = None) -> dict:
        """Make `findings` the answer shown everywhere (its warnings not already `shown`), and tell
        the client which stage it is."""
        self.findings[findings.root] = findings
        self.publish(findings)
        for warning in findings.result.warnings:
            if warning == self.ranker.fallback:
                continue  # said once a session, by model_stage
            if shown is None or warning not in shown.result.warnings:
                self.show(f"rca: {warning}", lsp.MessageType.Warning)
        for hint in findings.result.hints:  # advice, not a problem: once a session
            self.show(f"rca: {hint}", lsp.MessageType.Info, once=True)
        payload = convert.stage_payload(findings, seq, stage, final, skipped)
        self.protocol.notify(SUSPECTS_NOTIFICATION, payload)
        return payload

    async def model_stage(self, job: Job, repo: Backend, result, retrieval: Findings, seq: int, options: Options) -> None:
        """Re-rank in a worker thread; a cancel answers at once (the thread's result is dropped)."""
        skipped = None
        try:
            async with Progress(self, job, "rca: re-ranking with the model") as progress:
                progress.report(f"scoring the top {min(options.rerank_top, len(result.suspects))} with the model")
                ranked = await _until_done_or_cancelled(
                    asyncio.to_thread(work.rerank, self.ranker, repo, retrieval.text, result, options, job), job)
        except Cancelled:
            ranked, skipped = None, "the model stage was cancelled"
        except RcaError as exc:
            ranked, skipped = None, f"ranker 'llm' unavailable: {exc}"
            self.show(f"rca: {skipped}; keeping retrieval's order", lsp.MessageType.Warning, once=True)
        except Exception as exc:  # the server stays up, and retrieval's answer stays
            log.exception("model stage failed")
            ranked, skipped = None, f"internal error in the model stage: {type(exc).__name__}: {exc}"
            self.show(f"rca: {skipped}; keeping retrieval's order", lsp.MessageType.Error)
        finally:
            self.jobs.finish(job)
            if self._model_job is job:
                self._model_job = None
        if self.stopping or seq != self._seq or self.findings.get(retrieval.root) is not retrieval:
            return  # shutting down, or a newer request has the screen
        if self.ranker.fallback:
            self.show(f"rca: {self.ranker.fallback}", lsp.MessageType.Warning, once=True)
        if ranked is None:
            self.settle(retrieval, seq, "retrieval", final=True, skipped=skipped, shown=retrieval)
        else:
            self.settle(dataclasses.replace(retrieval, result=ranked, markers={}), seq, "model", final=True,
                        shown=retrieval)

    def request_text(self, request: dict) -> tuple[str, int]:
        """The trace text of a request, and the document line it starts at."""
        if isinstance(request.get("text"), str):
            return request["text"], 0
        uri = request.get("uri")
        if not isinstance(uri, str):
            raise TraceError("pass the trace as text, or the uri (and range) of a document holding it")
        doc = self.workspace.text_documents.get(uri)
        path = fs_path(uri) if uri.startswith("file:") else None
        if doc is not None:
            text = doc.source
        elif path:
            text = work.read_trace_file(path, self.roots() or [self.repo_for(uri).root])
        else:
            raise TraceError(f"{uri} is not open in the editor and is not a file",
                             hint="open the document, or pass its text")
        span = request.get("range")
        if not isinstance(span, dict):
            return text, 0
        first, last = convert.range_lines(span)
        return "".join(lsp_lines(text, keepends=True)[first:last + 1]), first

    def trace_links(self, uri: str) -> list[lsp.DocumentLink]:
        from rca_lsp.suspects.submodules import resolved
        from rca_lsp.traces import parse

        doc = self.workspace.text_documents.get(uri)
        ours = any(f.trace_uri == uri for f in self.findings.values())
        if doc is None or len(doc.source) > MAX_LINK_BYTES:
            return []
        if not ours and doc.language_id not in LOG_LANGUAGES and Path(doc.path).suffix not in LOG_SUFFIXES:
            return []
        try:
            repo = self.repo_for(uri)
            # a frame in a submodule links nowhere, not to a file of the same tail here (as ranking does)
            traces, _ = resolved(repo, parse(doc.source), repo.tracked_files(), repo.untracked_files())
        except RcaError:
            return []
        frames = [f for t in traces for f in t.all_frames() if f.path and not f.external]
        located = locate_frames(doc.source, frames, measure=self.workspace.position_codec.client_num_units)
        shown = client_root(repo.root, uri, self.roots())
        return [convert.lsp_document_link(shown, where) for where in located]


async def _until_done_or_cancelled(work_coro, job: Job, poll: float = 0.05):
    """The result of `work_coro`, or Cancelled as soon as `job` is cancelled (the work is left to end)."""
    task = asyncio.ensure_future(work_coro)
    while not task.done():
        if job.cancelled:
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieve, never log
            raise Cancelled(f"{job.title} cancelled")
        await asyncio.wait({task}, timeout=poll)
    job.check()  # a cancel that came while the last poll waited
    return task.result()


server = RcaServer()


def _request(args: tuple) -> dict:
    if len(args) == 1 and isinstance(args[0], str):
        return {"text": args[0]}
    if len(args) >= 1 and isinstance(args[0], dict):
        return args[0]
    return {}


async def _answer(ls: RcaServer, title: str, work_coro) -> dict:
    """Runs a command; failures and cancels become one clear message and an `error` answer."""
    if ls.stopping:
        work_coro.close()
        return {"error": "the server is shutting down", "cancelled": True}
    task = cast("asyncio.Task", asyncio.current_task())  # pygls runs each command as a task
    ls.commands.add(task)
    try:
        return await work_coro
    except (Cancelled, asyncio.CancelledError):  # CancelledError: a step `shutdown` could not wait for
        ls.show(f"rca: {title} cancelled")
        return {"error": f"{title} cancelled", "cancelled": True}
    except RcaError as exc:
        ls.show(f"rca: {exc}", lsp.MessageType.Error)
        return {"error": str(exc)}
    except Exception as exc:  # the server stays up whatever the core does
        log.exception("%s failed", title)
        ls.show(f"rca: internal error while {title}: {type(exc).__name__}: {exc}", lsp.MessageType.Error)
        return {"error": f"internal error: {exc}"}
    finally:
        ls.commands.discard(task)


@server.feature(lsp.INITIALIZE)
def initialize(ls: RcaServer, params: lsp.InitializeParams) -> None:
    ls.options, ls._pending = parse_options(params.initialization_options)


@server.feature(lsp.INITIALIZED)
async def initialized(ls: RcaServer, params: lsp.InitializedParams) -> None:
    for problem in ls._pending:
        ls.show(problem, lsp.MessageType.Warning, once=True)
    workspace = ls.client_capabilities.workspace
    if workspace and workspace.configuration:
        try:
            config = await ls.workspace_configuration_async(
                lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="rca")]))
            if config and isinstance(config[0], dict) and config[0]:
                ls.apply_settings(config[0])
        except Exception as exc:
            log.info("workspace/configuration failed: %s", exc)
    await _offer_missing_indexes(ls)


async def _offer_missing_indexes(ls: RcaServer) -> None:
    for root in ls.roots():
        try:
            repo = ls.repo_for(Path(root).as_uri())
            if repo.root in ls._offered or await asyncio.to_thread(service.index_state, repo) != "missing":
                continue
        except RcaError:
            continue
        ls._offered.add(repo.root)
        if repo.head() is not None and await ls.offer_index(repo):
            await _answer(ls, "indexing", ls.run_index(repo))


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: RcaServer, params: lsp.DidChangeConfigurationParams) -> None:
    if isinstance(params.settings, dict) and params.settings:
        ls.apply_settings(params.settings)


@server.feature(lsp.SHUTDOWN)
async def shutdown(ls: RcaServer, *args) -> None:
    await ls.stop()


@server.feature(lsp.EXIT)
def exit_(ls: RcaServer, *args) -> None:
    """`exit`, with or without `shutdown` before it: the work stops now (an indexing left running
    would hold the process until it ends, its progress written to a closed stdout), and nothing
    more is sent."""
    ls.stopping = True
    ls.jobs.cancel_all()
    cast(RcaProtocol, ls.protocol).exited = True


@server.command("rca.suspects")
async def suspects_command(ls: RcaServer, *args) -> dict:
    return await _answer(ls, "finding suspects", ls.find(_request(args)))


@server.command("rca.rankAgain")
async def rank_again_command(ls: RcaServer, *args) -> dict:
    """The lens of suspects ranked before HEAD moved: the same failure, ranked on the history now."""
    root = _request(args).get("root")
    found = ls.findings.get(root) if isinstance(root, str) else next(reversed(ls.findings.values()), None)
    if found is None:
        ls.show("rca: no failure to rank again: find suspects first", lsp.MessageType.Warning)
        return {"error": "no failure to rank again"}
    request = {"text": found.text} | ({"uri": found.trace_uri} if found.trace_uri else {})
    return await _answer(ls, "finding suspects", ls.find(request))


@server.command("rca.index")
async def index_command(ls: RcaServer, *args) -> dict:
    async def run() -> dict:
        return await ls.run_index(ls.repo_for(_request(args).get("uri")))
    return await _answer(ls, "indexing", run())


@server.command("rca.showCommit")
async def show_commit_command(ls: RcaServer, *args) -> dict:
    async def run() -> dict:
        rev = _request(args).get("commit") if args and isinstance(args[0], dict) else (args[0] if args else None)
        uri = args[1] if len(args) > 1 and isinstance(args[1], str) else _request(args).get("uri")
        repo = ls.repo_for(uri)
        text = await asyncio.to_thread(work.show_commit, repo, rev)
        return {"commit": text.split("\n", 1)[0].removeprefix("commit ").strip(), "text": text}
    return await _answer(ls, "showing the commit", run())


@server.command("rca.confirmSuspect")
async def confirm_suspect_command(ls: RcaServer, *args) -> dict:
    """{"commit", and the failure as for rca.suspects ("uri", "range" or "text")}: recorded as a label
    (`added` false where the same label was recorded before)."""
    async def run() -> dict:
        request = _request(args)
        commit = request.get("commit")
        if not isinstance(commit, str) or not commit:
            raise TraceError("pass the confirmed culprit as \"commit\" beside the failure")
        repo = ls.repo_for(request.get("uri"))
        text, _ = await asyncio.to_thread(ls.request_text, request)
        answer = await asyncio.to_thread(work.confirm_suspect, repo, text, commit)
        ls.show(f"rca: recorded {commit[:10]} as the culprit (label #{answer['label']})" if answer["added"] else
                f"rca: {commit[:10]} is already recorded as the culprit (label #{answer['label']}; not added again)")
        return answer
    return await _answer(ls, "recording the culprit", run())


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: RcaServer, params: lsp.DidChangeTextDocumentParams) -> None:
    """Lines typed or deleted above a frame line move its lens, diagnostic and hover with it."""
    moved = edits.follow_document(ls.findings, params.text_document.uri, params.content_changes)
    if moved is not None and not ls.stopping:
        ls.publish(moved)


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
def code_lens(ls: RcaServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    if not ls.options.code_lens:
        return []
    at = folders.findings_at(ls.findings, params.text_document.uri)
    return convert.lsp_code_lenses(at[0].markers_in(at[1]), at[0], time.time()) if at else []


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: RcaServer, params: lsp.HoverParams) -> lsp.Hover | None:
    at = folders.findings_at(ls.findings, params.text_document.uri)
    markers = [m for m in at[0].markers_in(at[1]) if m.line == params.position.line + 1] if at else []
    return convert.lsp_hover(markers[0], moved=convert.moved_note(at[0] if at else None)) if markers else None


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_LINK, lsp.DocumentLinkOptions(resolve_provider=False))
async def document_link(ls: RcaServer, params: lsp.DocumentLinkParams) -> list[lsp.DocumentLink]:
    return await asyncio.to_thread(ls.trace_links, params.text_document.uri)
