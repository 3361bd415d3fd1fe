"""Slow work off the event loop: cancellation flags and LSP work-done progress.

A `Job` is the flag a worker thread checks between steps (`job.check()` raises `Cancelled`).
It is set by `$/cancelRequest` for the request that started it (see `RcaProtocol`), by the
user cancelling the progress notification, or by shutdown. `Progress` reports from any thread:
every message goes through the event loop, which owns the transport.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from concurrent.futures import Future
from typing import Any

from lsprotocol import types as lsp

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The client cancelled the request or its progress."""


class Job:
    def __init__(self, title: str) -> None:
        self.title = title
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled(f"{self.title} cancelled")


class Jobs:
    """The running jobs, by the id of the request that started them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Any, Job] = {}

    def start(self, request_id: Any, title: str) -> Job:
        job = Job(title)
        with self._lock:
            self._jobs[request_id if request_id is not None else uuid.uuid4().hex] = job
        return job

    def finish(self, job: Job) -> None:
        with self._lock:
            for key in [k for k, v in self._jobs.items() if v is job]:
                del self._jobs[key]

    def cancel_request(self, request_id: Any) -> None:
        with self._lock:
            job = self._jobs.get(request_id)
        if job is not None:
            log.info("request %s cancelled by the client", request_id)
            job.cancel()

    def cancel_all(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()


class Progress:
    """Server-initiated work-done progress, cancellable from the client; silent where unsupported."""

    def __init__(self, server, job: Job, title: str) -> None:
        self.server = server
        self.job = job
        self.title = title
        self.token: str | None = None
        self.loop = asyncio.get_running_loop()

    def _supported(self) -> bool:
        window = self.server.client_capabilities.window
        return bool(window and window.work_done_progress)

    async def __aenter__(self) -> Progress:
        if not self._supported():
            return self
        token = f"rca-{uuid.uuid4().hex[:12]}"
        progress = self.server.work_done_progress
        cancel: Future[Any] = Future()
        progress.tokens[token] = cancel  # before the create: a cancel may follow it at once
        cancel.add_done_callback(lambda f: self.job.cancel() if f.cancelled() else None)
        try:
            await self.server.protocol.send_request_async(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE,
                                                          lsp.WorkDoneProgressCreateParams(token=token))
        except Exception as exc:  # a client that refuses progress still gets the answer
            log.info("client refused work-done progress: %s", exc)
            progress.tokens.pop(token, None)
            return self
        self.token = token
        progress.begin(token, lsp.WorkDoneProgressBegin(title=self.title, cancellable=True, percentage=0))
        return self

    def report(self, message: str, percentage: int | None = None) -> None:
        """Callable from worker threads; a report that reaches the loop after the end is dropped."""
        token = self.token
        if token is None:
            return
        value = lsp.WorkDoneProgressReport(message=message, percentage=percentage, cancellable=True)
        self.loop.call_soon_threadsafe(self._send, token, value)

    def _send(self, token: str, value: lsp.WorkDoneProgressReport) -> None:
        if self.token == token:
            self.server.work_done_progress.report(token, value)

    async def __aexit__(self, kind, exc, tb) -> None:
        token, self.token = self.token, None
        if token is None:
            return
        message = "cancelled" if isinstance(exc, Cancelled) else ("failed" if exc else "done")
        self.server.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message=message))
        self.server.work_done_progress.tokens.pop(token, None)
