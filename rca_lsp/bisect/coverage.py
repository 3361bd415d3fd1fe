"""Which lines of the repository the failing run executed, for Python test commands.

`rca bisect` runs the test at BAD anyway, to get the failure; run under a line tracer, the same run
also says which code the failure went through. A commit whose surviving lines never ran in the
failing test can hardly have caused it, and one whose lines ran is a suspect even when the
traceback shows only the test's own assertion: the call graph cannot follow a pipeline chosen at
run time, the tracer does. The tracer is a `sitecustomize` module put first on PYTHONPATH, so every
Python process the command starts (pytest, a venv's python, subprocesses) records the lines it runs
inside the checkout and writes them at exit. A command that is not Python records nothing and
loses nothing; a project with its own `sitecustomize` keeps it (ours runs it after itself). The same
module lists, at exit, what a process loaded from the user's work tree (`rca_lsp.bisect.imports`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

MAX_LINES = 500_000  # what one run may report; more is a runaway, and is cut

SITECUSTOMIZE = r'''
import atexit, os, sys, threading

def _rca_install():
    root, out = os.environ.get("RCA_COVERAGE_ROOT"), os.environ.get("RCA_COVERAGE_OUT")
    if not root or not out:
        return
    root = os.path.realpath(root) + os.sep
    seen, inside = set(), {}

    def local(frame, event, arg):
        if event == "line":
            seen.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def call(frame, event, arg):
        name = frame.f_code.co_filename
        ok = inside.get(name)
        if ok is None:
            ok = inside[name] = os.path.realpath(name).startswith(root) if os.path.isabs(name) or os.path.exists(name) else False
        if ok:
            seen.add((name, frame.f_lineno))
            return local
        return None

    def dump():
        sys.settrace(None)
        try:
            with open(os.path.join(out, "%d.lines" % os.getpid()), "w", encoding="utf-8") as fh:
                for name, line in seen:
                    fh.write("%s\t%d\n" % (os.path.realpath(name), line))
        except OSError:
            pass

    atexit.register(dump)
    threading.settrace(call)
    sys.settrace(call)

_rca_install()
del _rca_install
def _rca_modules():  # which modules the process loaded from the user's work tree (rca_lsp.bisect.imports)
    worktree, checkout, out = (os.environ.get(k) for k in ("RCA_WORKTREE_ROOT", "RCA_CHECKOUT_ROOT", "RCA_MODULES_OUT"))
    if not worktree or not out:
        return
    worktree = os.path.realpath(worktree) + os.sep
    checkout = os.path.realpath(checkout) + os.sep if checkout else None

    def dump():
        names = set()
        for module in list(sys.modules.values()):
            name = getattr(module, "__file__", None)
            if isinstance(name, str):
                name = os.path.realpath(name)
                if name.startswith(worktree) and not (checkout and name.startswith(checkout)):
                    names.add(name)
        if names:
            try:
                with open(os.path.join(out, "%d.modules" % os.getpid()), "w", encoding="utf-8") as fh:
                    fh.write("".join(n + "\n" for n in sorted(names)))
            except OSError:
                pass

    atexit.register(dump)

_rca_modules()
del _rca_modules
def _rca_chain():
    import importlib.machinery, importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:  # the project's own: run it as well
        spec.loader.exec_module(importlib.util.module_from_spec(spec))

_rca_chain()
del _rca_chain
'''


class LineRecorder:
    """A temporary tracer for one run: `env()` for the command, `lines()` after it."""

    def __init__(self, root: str | None = None) -> None:
        self.root = os.path.realpath(root) if root else ""
        self.folder = Path(tempfile.mkdtemp(prefix="rca-coverage-"))
        (self.folder / "site").mkdir()
        (self.folder / "out").mkdir()
        (self.folder / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")

    def env(self, base: dict[str, str], root: str | None = None) -> dict[str, str]:
        """`base` with the tracer on, recording lines under `root` (the run's checkout), when given."""
        if root:
            self.root = os.path.realpath(root)
        tracer = {"RCA_COVERAGE_ROOT": self.root, "RCA_COVERAGE_OUT": str(self.folder / "out")}
        if base.get("RCA_SITE"):  # the same sitecustomize is first on the path already (imports.ImportWatch)
            return {**base, **tracer}
        path = base.get("PYTHONPATH")
        site = str(self.folder / "site")
        return {**base, "PYTHONPATH": site + (os.pathsep + path if path else ""), **tracer}

    def lines(self) -> dict[str, set[int]]:
        """Repository-relative path -> line numbers executed, over every process of the run."""
        found: dict[str, set[int]] = {}
        count = 0
        prefix = self.root + os.sep
        for report in sorted((self.folder / "out").glob("*.lines")):
            for row in report.read_text(encoding="utf-8", errors="replace").splitlines():
                name, _, line = row.rpartition("\t")
                if not name.startswith(prefix) or not line.isdigit() or line == "0":
                    continue
                found.setdefault(name[len(prefix):].replace(os.sep, "/"), set()).add(int(line))
                count += 1
                if count >= MAX_LINES:
                    log.warning("line tracer: more than %d lines reported; the rest is ignored", MAX_LINES)
                    return found
        return found

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LineRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
