"""What the editor end-to-end scripts share: the demo repository with its failing test's trace, and
the system Chromium. Imported by scripts/e2e_vscode.py and scripts/e2e_nvim.py."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("e2e")
ROOT = Path(__file__).resolve().parent.parent
TRACE = "failure.txt"


class E2EError(Exception):
    """A step that cannot run here; the message names it and what to do."""


@dataclass(frozen=True)
class Demo:
    """The demo repository, indexed, with the trace of its new failing test saved as `failure.txt`."""

    repo: Path
    culprit: str
    summary: str
    source: str  # the file of the trace's first frame (where the culprit changed a line)
    line: int  # that frame's line, 1-based
    seconds: float  # to build, index and run the test


def rca_env() -> dict[str, str]:
    """The environment that runs this tree's `rca_lsp` (also for the editors' servers)."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    log.debug("$ %s", " ".join(map(str, cmd)))
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def build_demo(target: Path) -> Demo:
    """scripts/demo.sh's first steps: the repository, `rca index`, the failing test into failure.txt."""
    started = time.monotonic()
    env = rca_env()
    proc = run([sys.executable, str(ROOT / "scripts" / "demo_repo.py"), "--print-culprit", str(target)], env=env)
    if proc.returncode != 0:
        raise E2EError(f"demo_repo.py failed: {proc.stderr.strip()[-500:]}")
    info = json.loads(proc.stdout)
    repo = Path(info["repo"])
    proc = run([sys.executable, "-m", "rca_lsp", "index", "-q"], cwd=repo, env=env)
    if proc.returncode != 0:
        raise E2EError(f"rca index failed: {proc.stderr.strip()[-500:]}")
    test = run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", info["test"]], cwd=repo, env=env)
    (repo / TRACE).write_text(test.stdout)
    found = re.search(rf"^{re.escape(info['path'])}:(\d+): ", test.stdout, re.MULTILINE)
    if test.returncode == 0 or not found:
        raise E2EError(f"the demo's new test did not fail in {info['path']} as expected:\n{test.stdout[-800:]}")
    return Demo(repo=repo, culprit=info["culprit"], summary=info["summary"], source=info["path"],
                line=int(found[1]), seconds=time.monotonic() - started)


def chromium() -> str:
    """The system Chromium's binary (not Debian's shell wrapper), or $CHROMIUM."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/lib/chromium/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise E2EError("no Chromium found: apt-get install chromium (or set CHROMIUM to its binary)")


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", stream=sys.stderr)
