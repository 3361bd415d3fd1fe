"""Ctrl-C, SIGTERM and SIGHUP as KeyboardInterrupt, held back while a test process starts.

A bisection must remove its checkout and stop the test it started whatever interrupts it. Python
raises KeyboardInterrupt between any two bytecodes, so a signal that lands after the test process
is created but before the runner holds it would leave that process running with no one to stop it.
`held()` closes that gap: a signal inside it is remembered and raised when the block ends, where
the runner already knows the process.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_held = 0
_pending: int | None = None


def _interrupt(signum: int, frame) -> None:
    global _pending
    if _held:
        _pending = signum
        return
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def as_interrupt() -> Iterator[None]:
    """Inside, the three signals raise KeyboardInterrupt (outside `held`), so `finally` blocks run."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread (the LSP's workers, tests)
        return
    saved = {sig: signal.signal(sig, _interrupt) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextmanager
def held() -> Iterator[None]:
    """A signal arriving inside is raised as KeyboardInterrupt when the block ends."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending is not None:
            signum, _pending = _pending, None
            raise KeyboardInterrupt(f"signal {signum}")
