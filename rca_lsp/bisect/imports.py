"""Whether the test ran the checkout's code or the user's work tree's, and how to make it the checkout's.

A bisection tests each revision in a temporary checkout; a Python test can still import the
repository's package from the user's work tree. An editable install (`pip install -e .`) puts the
work tree's source folder on `sys.path` (a `.pth` entry) or behind a meta-path finder; in a `src/`
layout, or where the command is `pytest` rather than `python -m pytest`, nothing puts the checkout's
folder before it. Then every revision runs HEAD's code, fails alike, and the search "confirms" an
innocent commit (found with python-humanize and hatchling's editable install: the commit just after
`--good` was confirmed as the culprit).

So each run carries a `sitecustomize` (the line tracer's, `rca_lsp.bisect.coverage`) that, at exit,
lists the modules the process loaded from the work tree. A run that loaded the repository's own
tracked files from there is run again at the same revision with the checkout's folders that hold
those modules' packages first on PYTHONPATH (which comes before `.pth` entries and before the
finders an editable install appends), and with the work tree's untracked files of those packages
that the run imported (a version module a build backend generates, `_version.py`) laid into the
checkout where the revision lacks them. If it still loads the work tree's code, the bisection stops,
saying so: its verdicts would be about HEAD's code.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rca_lsp.bisect.coverage import SITECUSTOMIZE

log = logging.getLogger(__name__)


class ImportWatch:
    """The site folder every run gets first on PYTHONPATH, and what each run loaded from the work tree."""

    def __init__(self, worktree: str) -> None:
        self.worktree = os.path.realpath(worktree)
        self.folder = Path(tempfile.mkdtemp(prefix="rca-imports-"))
        (self.folder / "site").mkdir()
        (self.folder / "out").mkdir()
        (self.folder / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")

    def env(self, base: dict[str, str], checkout: str, roots: tuple[str, ...] = ()) -> dict[str, str]:
        """`base` with the site folder first on PYTHONPATH, then `roots` (checkout folders)."""
        site = str(self.folder / "site")
        parts = [site, *roots] + ([base["PYTHONPATH"]] if base.get("PYTHONPATH") else [])
        return {**base, "PYTHONPATH": os.pathsep.join(parts), "RCA_SITE": site,
                "RCA_WORKTREE_ROOT": self.worktree, "RCA_CHECKOUT_ROOT": os.path.realpath(checkout),
                "RCA_MODULES_OUT": str(self.folder / "out")}

    def take(self) -> list[str]:
        """The work tree's files (relative, with /) the last run's processes loaded; cleared for the next."""
        found: set[str] = set()
        prefix = self.worktree + os.sep
        for report in sorted((self.folder / "out").glob("*.modules")):
            for name in report.read_text(encoding="utf-8", errors="replace").splitlines():
                if name.startswith(prefix):
                    found.add(name[len(prefix):].replace(os.sep, "/"))
            report.unlink()
        return sorted(found)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def import_roots(worktree: str, files: list[str]) -> tuple[str, ...]:
    """The folders (relative) that put each file's top-level package on sys.path: a module's folder,
    climbed while it holds an `__init__.py` (`src/pkg/sub/x.py` -> `src`)."""
    roots: dict[str, None] = {}
    for path in files:
        folder = os.path.dirname(path)
        while folder and os.path.isfile(os.path.join(worktree, folder, "__init__.py")):
            folder = os.path.dirname(folder)
        roots[folder or "."] = None
    return tuple(roots)


@dataclass
class Generated:
    """The work tree's untracked files a run imported from inside the packages it loaded from there,
    laid into the checkout at each revision that lacks them, and removed again before the next switch."""

    files: dict[str, bytes] = field(default_factory=dict)
    laid: list[Path] = field(default_factory=list)

    def lay(self, checkout: Path) -> None:
        for path, data in self.files.items():
            target = checkout / path
            if os.path.lexists(target) or not target.parent.is_dir() or target.parent.is_symlink():
                continue  # the revision has its own, or not the package: nothing to complete
            if not Path(os.path.realpath(target.parent)).is_relative_to(os.path.realpath(checkout)):
                continue
            target.write_bytes(data)
            self.laid.append(target)

    def lift(self) -> None:
        for target in self.laid:
            try:
                if stat.S_ISREG(os.lstat(target).st_mode):
                    target.unlink()
            except OSError:
                pass
        self.laid.clear()


def generated_files(worktree: str, untracked: list[str], tracked: list[str]) -> dict[str, bytes]:
    """Of `untracked` (loaded from the work tree), the Python sources in a package folder that a
    `tracked` file loaded from there shares (`src/pkg/_version.py` beside `src/pkg/__init__.py`). Not
    an extension module built in place (`_speedups.cpython-311-x86_64-linux-gnu.so`): HEAD's binary in
    every revision would hide a culprit in its C code; a revision without it says it cannot import it."""
    folders = {os.path.dirname(p) for p in tracked}
    out: dict[str, bytes] = {}
    for path in untracked:
        full = os.path.join(worktree, path)
        if not path.endswith(".py") or os.path.dirname(path) not in folders \
                or not os.path.isfile(os.path.join(os.path.dirname(full), "__init__.py")):
            continue
        try:
            out[path] = Path(full).read_bytes()
        except OSError as exc:
            log.info("cannot read %s from the work tree: %s", path, exc)
    return out
