"""`python -m rca_lsp.lsp.indexer ROOT` (the server runs `work.INDEXER_CODE`): the server's indexing, in a process of its own.

Ingest forks a pool of parser workers, which a threaded server must not do, and an index run
holds memory the idle server should not keep. Here it runs single-threaded, reporting one JSON
line per batch on stdout (`{"done": n, "total": m}`) and a last `{"message": ...}` or
`{"error": ...}`. The server cancels it by killing its process group: ingest commits whole
batches, so the index stays consistent and the next run carries on.
"""

from __future__ import annotations

import json
import sys

from rca_lsp.errors import RcaError


def _emit(**fields) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    from rca_lsp import service
    from rca_lsp.vcs import open_repo

    try:
        repo = open_repo(argv[0])
        report = service.update_index(repo, progress=lambda done, total: _emit(done=done, total=total),
                                      thorough=False)
    except RcaError as exc:
        _emit(error=str(exc))
        return exc.exit_code
    if report.head is None:  # no commits yet, or (hg) a working directory at the null revision
        from rca_lsp.vcs import no_head

        state, hint = no_head(repo)
        _emit(message=f"{state}; nothing to index" + (f" (hint: {hint})" if hint else ""))
    else:
        _emit(message=f"indexed {report.added} new commit(s), removed {report.removed}; "
                      f"{report.reachable} reachable from HEAD in {report.seconds:.2f} s")
    return 0


if __name__ == "__main__":
    import rca_lsp

    rca_lsp.drop_working_directory()  # `python -m` put it first: the modules main imports are rca's
    sys.exit(main(sys.argv[1:]))
