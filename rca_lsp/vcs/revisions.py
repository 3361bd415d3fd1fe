"""Validation of user-supplied revisions before any VCS process sees them.

A revision such as `--output=/tmp/x` or `-n1` would be read by git as an option; we refuse
anything that starts with a dash or holds characters no revision needs, before any call.
"""

from __future__ import annotations

import re

from rca_lsp.errors import UnsafeRevisionError

_SAFE = re.compile(r"^[A-Za-z0-9_./@{}^~:+\-]{1,256}$")


def check_revision(rev: str) -> str:
    if not rev or rev.startswith("-") or not _SAFE.match(rev) or ".." in rev and rev.startswith("."):
        raise UnsafeRevisionError(
            f"refusing revision {rev!r}: revisions may not start with '-' or contain spaces or shell characters",
            hint="name a commit, branch or tag, e.g. HEAD~50 or v1.2",
        )
    return rev
