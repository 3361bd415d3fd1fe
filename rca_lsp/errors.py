"""One exception hierarchy for the whole core.

    RcaError                      anything rca reports to a user; carries an optional hint
    ├── RepositoryError           not a repository, empty, shallow edge, bad revision
    │   └── UnsafeRevisionError   a revision that looks like an option (-n1, --output=...)
    ├── IndexError_               the index is missing, locked, corrupt or not writable
    │   └── IndexingStopped       a parser worker or VCS process died, or its stream was cut
    │                             short; whole commits stay indexed and the next run carries on
    ├── TraceError                the text holds no trace in any known format
    ├── ModelError                model files missing or failing verification
    └── BisectError               a bisection cannot go on: the test passes at BAD, no good
                                  revision, an abort code (128 and up) or a timeout of the test

Front ends map these: the CLI to exit codes and one line on stderr, the language server to
a message, hooks to a warning that never fails the VCS operation.
"""

from __future__ import annotations


def install_hint(extras: str) -> str:
    """How to add an extra (`ranker`, `export,train`, `hg`): rca-lsp is installed from its checkout
    (README: `pip install -e .`), not from PyPI; one line, as every hint."""
    return f"pip install -e '.[{extras}]' in rca-lsp's checkout (or 'rca-lsp[{extras}]')"


class RcaError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (hint: {self.hint})" if self.hint else base


class RepositoryError(RcaError):
    exit_code = 3


class UnsafeRevisionError(RepositoryError):
    pass


class IndexError_(RcaError):
    exit_code = 4


class IndexingStopped(IndexError_):
    pass


class TraceError(RcaError):
    exit_code = 5


class ModelError(RcaError):
    exit_code = 6


class BisectError(RcaError):
    exit_code = 7
