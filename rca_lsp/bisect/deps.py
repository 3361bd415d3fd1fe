"""The installed dependencies a checkout lacks: the work tree's `node_modules`, linked in.

A checkout holds tracked files only. A JavaScript project's dependencies live in `node_modules`
folders that git ignores, so in the checkout `npm test` finds no mocha (exit 127, a skip) and
`npx mocha` stops with `npx canceled due to missing packages` (exit 1, bad): every revision failed
alike and the commit just after `--good` was "confirmed" (found with jshttp/mime-types). So each
`node_modules` folder of the work tree that sits beside a tracked `package.json` and holds no
tracked file is made again in the checkout as a folder of links to its entries: the dependencies
are the work tree's, as with `git bisect run` in place, and the repository's own code is the
checkout's. An entry that leads back into the work tree outside any `node_modules` (a workspace
package of npm, yarn or pnpm; a `file:` dependency on a folder of the repository) is linked to the
same path in the checkout instead, or every revision would run HEAD's copy of that package. Dot
entries (`.cache`, `.vite`: caches the tools write; npm's and pnpm's own records) are left out,
except `.bin`, made the same way; so a run writes its caches into the checkout, never into the
work tree.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MODULES = "node_modules"


@dataclass(frozen=True)
class Dependencies:
    """The work tree's `node_modules` folders to link into each checkout, root-relative."""

    worktree: Path
    folders: tuple[str, ...] = ()  # "node_modules", "packages/a/node_modules", ...

    def lay(self, checkout: Path) -> list[str]:
        """Link each folder into `checkout` where the revision has its package.json and no such folder;
        the folders laid."""
        laid = []
        for folder in self.folders:
            target = checkout / folder
            if os.path.lexists(target) or not (target.parent / "package.json").is_file():
                continue
            _link_folder(self.worktree / folder, target, self.worktree, checkout)
            laid.append(folder)
        return laid


def find(worktree: Path, tracked: list[str]) -> Dependencies:
    """The `node_modules` folders beside the tracked package.json files (not themselves in one)
    that exist in the work tree and hold no tracked file."""
    root = Path(os.path.realpath(worktree))
    inside = {p.split(f"{MODULES}/", 1)[0] for p in tracked if f"{MODULES}/" in p}
    folders = []
    for path in tracked:
        if not (path == "package.json" or path.endswith("/package.json")) or MODULES in path.split("/"):
            continue
        folder = f"{path[:-len('package.json')]}{MODULES}"
        if folder[:-len(MODULES)] in inside or not (root / folder).is_dir():
            continue
        folders.append(folder)
    return Dependencies(root, tuple(sorted(folders)))


def _link_folder(source: Path, target: Path, worktree: Path, checkout: Path, scoped: bool = False) -> None:
    """`target` as a real folder of links to `source`'s entries; `@scope` folders (and `.bin`) one level down."""
    target.mkdir()
    try:
        entries = sorted(os.scandir(source), key=lambda e: e.name)
    except OSError as exc:
        log.warning("cannot read %s: %s", source, exc)
        return
    for entry in entries:
        if entry.name.startswith(".") and (scoped or entry.name != ".bin"):
            continue
        if not scoped and (entry.name == ".bin" or entry.name.startswith("@")) and entry.is_dir(follow_symlinks=False):
            _link_folder(Path(entry.path), target / entry.name, worktree, checkout, scoped=True)
            continue
        os.symlink(_link_target(Path(entry.path), worktree, checkout), target / entry.name)


def _link_target(entry: Path, worktree: Path, checkout: Path) -> str:
    """The work tree's entry, or the checkout's copy of the repository folder it leads to."""
    real = Path(os.path.realpath(entry))
    if real.is_relative_to(worktree) and MODULES not in real.relative_to(worktree).parts:
        return str(checkout / real.relative_to(worktree))
    return str(entry)
