"""A new user's editor flow on a small python-humanize-like project, in a real headless Neovim with
only the plugin on the runtimepath, driving the real `rca serve`: pytest's real output opened as a
buffer, `:Rca suspects`, then the quickfix list, the source file's lens, diagnostic and hover, and
edits made in the buffer afterwards (found on python-humanize itself).

- a suspect whose evidence names the line it changed is listed at that line, not at line 1;
- a frame line that the work tree's uncommitted change touches says so on the line (lens,
  diagnostic, hover), not only in a message that scrolls away, while the lens names a commit;
- lines typed above a frame line take its lens and diagnostic with them;
- pytest's output saved outside the repository (`> /tmp/out.txt`) is ranked in the repository
  Neovim's working directory is in, not refused for want of one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepoBuilder
from test_lsp_nvim import PRELUDE, _run, needs_nvim

NUMBER = '''"""Numbers in words."""


def intword(value):
    """1200 -> '1.2 thousand'."""
    if value < 1000:
        return str(value)
    chopped = value / 1000
    return f"{chopped:.1f} thousand"


def ordinal(value):
    """1 -> '1st'."""
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"
'''
TESTS = '''from humble.number import intword, ordinal


def test_intword():
    assert intword(1200) == "1.2 thousand"


def test_ordinal():
    assert ordinal(2) == "2nd"
'''
NUMBER_PY = "src/humble/number.py"
CULPRIT_LINE = 8  # `chopped = value // 1000`
ORDINAL_RETURN = 15  # `return f"{value}{suffix}"`

pytestmark = needs_nvim


@pytest.fixture
def humble(tmp_path) -> tuple[GitRepoBuilder, str]:
    """The project, indexed, with its last code commit breaking intword; (repo, culprit)."""
    repo = GitRepoBuilder(tmp_path / "humble")
    repo.commit("Add intword and ordinal", {"src/humble/__init__.py": "", NUMBER_PY: NUMBER,
                                            "tests/test_number.py": TESTS})
    repo.commit("Add README", {"README.md": "humble\n"})
    culprit = repo.commit("Speed up intword with integer division",
                          {NUMBER_PY: NUMBER.replace("value / 1000", "value // 1000")})
    repo.commit("Docs: usage", {"README.md": "humble\n\nusage\n"})
    subprocess.run([sys.executable, "-m", "rca_lsp", "index", "--repo", str(repo.root), "-q"], check=True)
    return repo, culprit


def pytest_output(repo: GitRepoBuilder, saved: Path) -> Path:
    """The project's tests run by pytest (short tracebacks, as CI prints them), saved at `saved`."""
    env = {**os.environ, "PYTHONPATH": str(repo.root / "src"), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short", "tests"],
                          cwd=repo.root, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "FAILED tests/test_number.py::" in proc.stdout, proc.stdout[-2000:]
    saved.write_text(proc.stdout)
    return saved


# Neovim started in the repository (as a user's shell would leave it), the trace opened, ranked.
SUSPECTS = PRELUDE + r"""
vim.cmd.cd(vim.env.RCA_TEST_REPO)
vim.lsp.enable('rca')
vim.cmd.edit(vim.env.RCA_TEST_TRACE)
wait('attach', 20000, function() return #vim.lsp.get_clients({ name = 'rca', bufnr = 0 }) > 0 end)
vim.cmd('Rca suspects')
wait('quickfix', 60000, function() return #vim.fn.getqflist() > 0 end)
out.quickfix = {}
for _, item in ipairs(vim.fn.getqflist()) do
  table.insert(out.quickfix, { file = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum, text = item.text })
end
out.roots = vim.tbl_map(function(c) return c.root_dir or vim.NIL end, vim.lsp.get_clients({ name = 'rca' }))
"""

# Then the source file: its lens, diagnostics and hover on the frame line of ordinal.
SOURCE = r"""
vim.cmd('wincmd t')
vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/src/humble/number.py')
local buf = vim.api.nvim_get_current_buf()
local function state()
  local s = { lenses = {}, diagnostics = {} }
  for _, lens in ipairs(require('rca').lenses(buf)) do
    table.insert(s.lenses, { line = lens.range.start.line + 1, title = lens.command and lens.command.title })
  end
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(s.diagnostics, { line = d.lnum + 1, message = d.message, severity = d.severity })
  end
  return s
end
local function lens_at(line)
  return function()
    local s = state()
    return #s.lenses > 0 and s.lenses[1].line == line and #s.diagnostics > 0 and s.diagnostics[1].line == line
  end
end
"""


def test_a_suspect_is_listed_at_the_line_its_evidence_names(humble, tmp_path):
    """The culprit's evidence: it changed intword (no line), and line 8 of it is still its own.
    Its quickfix entry went to line 1 of number.py (the first evidence with a path had no line)."""
    repo, culprit = humble
    trace = pytest_output(repo, repo.root / "pytest-out.txt")
    result = _run(SUSPECTS + "vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)\nvim.cmd('qa!')\n",
                  tmp_path, repo.root, env={"RCA_TEST_TRACE": str(trace)})
    entry = next(q for q in result["quickfix"] if f" {culprit[:7]} " in q["text"])
    assert entry["file"].endswith(NUMBER_PY), entry
    assert entry["lnum"] == CULPRIT_LINE, result["quickfix"]


def test_an_uncommitted_change_on_a_frame_line_is_said_on_that_line(humble, tmp_path):
    """An uncommitted edit breaks ordinal; the lens and diagnostic on its frame line named a commit
    (`suspect #1 ... — no evidence on this line`) and nothing of the edit, which `rca suspects`
    warns of first: the warning was a message among others, gone from the screen."""
    repo, _ = humble
    repo.write(NUMBER_PY, NUMBER.replace('value / 1000', 'value // 1000').replace(
        'return f"{value}{suffix}"', 'return f"{value}{suffix}" + 1'))
    trace = pytest_output(repo, tmp_path / "pytest-out.txt")
    assert f"{NUMBER_PY}:{ORDINAL_RETURN}: in ordinal" in trace.read_text()
    script = SUSPECTS + SOURCE + f"wait('lens', 20000, lens_at({ORDINAL_RETURN}))" + r"""
out.source = state()
vim.api.nvim_win_set_cursor(0, { %d, 0 })
local client = vim.lsp.get_clients({ name = 'rca' })[1]
local hover = client:request_sync('textDocument/hover', vim.lsp.util.make_position_params(0, 'utf-16'), 10000, buf)
out.hover = hover and hover.result and hover.result.contents.value
vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
vim.cmd('qa!')
""" % ORDINAL_RETURN
    result = _run(script, tmp_path, repo.root, env={"RCA_TEST_TRACE": str(trace)})
    lens, diagnostic = result["source"]["lenses"][0], result["source"]["diagnostics"][0]
    assert lens["title"].startswith("uncommitted change on this line: the failure may come from it"), lens
    assert "best commit: suspect #" in lens["title"], lens
    assert diagnostic["message"].startswith("uncommitted change on this line"), diagnostic
    assert "stash it and run the test again" in diagnostic["message"], diagnostic
    assert diagnostic["severity"] == 2, diagnostic  # vim.diagnostic.severity.WARN
    assert "Uncommitted change on this line" in result["hover"], result["hover"]


def test_lines_typed_above_a_frame_line_take_its_lens_along(humble, tmp_path):
    """Two lines typed at the top of number.py: the lens and the diagnostic stayed on line 15,
    beside other code (the server answered the next code-lens request from the trace's line)."""
    repo, _ = humble
    repo.write(NUMBER_PY, NUMBER.replace('return f"{value}{suffix}"', 'return f"{value}{suffix}" + 1'))
    trace = pytest_output(repo, tmp_path / "pytest-out.txt")
    moved = ORDINAL_RETURN + 2
    script = SUSPECTS + SOURCE + f"wait('lens', 20000, lens_at({ORDINAL_RETURN}))" + r"""
vim.api.nvim_buf_set_lines(buf, 1, 1, false, { '# typed', '# here' })
vim.cmd('doautocmd InsertLeave')
wait('moved', 20000, lens_at(%d))
out.source = state()
out.line_text = vim.api.nvim_buf_get_lines(buf, %d - 1, %d, false)[1]
vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
vim.cmd('qa!')
""" % (moved, moved, moved)
    result = _run(script, tmp_path, repo.root, env={"RCA_TEST_TRACE": str(trace)})
    assert result["line_text"].strip().startswith("return f\"{value}{suffix}\""), result["line_text"]
    assert [d["line"] for d in result["source"]["diagnostics"]] == [moved], result["source"]


def test_pytest_output_saved_outside_the_repository(humble, tmp_path):
    """`pytest > /tmp/out.txt`, then `nvim /tmp/out.txt` from the repository: the client started
    without a folder, and `:Rca suspects` answered `no git or Mercurial repository found`."""
    repo, culprit = humble
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    trace = pytest_output(repo, outside / "out.txt")
    result = _run(SUSPECTS + "vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)\nvim.cmd('qa!')\n",
                  tmp_path, repo.root, env={"RCA_TEST_TRACE": str(trace)})
    assert result["roots"] == [str(repo.root)], result["roots"]
    assert any(f" {culprit[:7]} " in q["text"] for q in result["quickfix"][:3]), result["quickfix"]
