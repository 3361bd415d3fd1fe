"""rca-lsp: which change broke this? Root-cause suspects for failures, from your VCS history."""

__version__ = "0.1.0"

# What `python -c` code that rca starts in a repository's root (hooks, the server's indexer) runs
# before importing anything: the working directory off sys.path (see drop_working_directory; `-c`
# puts it there as '').
DROP_WORKING_DIRECTORY = "import sys; sys.path[:1] = [p for p in sys.path[:1] if p]; "


def drop_working_directory() -> None:
    """Take the working directory off the front of sys.path, where `python -m` and `python -c` put it.

    rca runs in a repository's root (hooks, benchmarks): there, a top-level module named like one of
    rca's dependencies (`six.py`, `click/`) or like a standard module would be imported in its place,
    and the repository's code run by rca. Called first thing by the entry points (rca_lsp itself is
    imported by then, from where it is installed); never on import, which must leave sys.path alone.
    """
    import os
    import sys

    if sys.path and os.path.realpath(sys.path[0] or os.curdir) == os.path.realpath(os.curdir):
        del sys.path[0]
