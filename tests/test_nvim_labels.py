"""`:Rca confirm` in a real headless Neovim: the confirmed suspect becomes a label."""

from __future__ import annotations

import json
import subprocess
import sys

from test_lsp_nvim import PRELUDE, _indexed, _run, needs_nvim

SCRIPT = PRELUDE + r"""
vim.lsp.enable('rca')
vim.cmd.edit(vim.env.RCA_TEST_REPO .. '/crash.txt')
wait('attach', 20000, function() return #vim.lsp.get_clients({ name = 'rca', bufnr = 0 }) > 0 end)
vim.cmd('Rca suspects')
wait('quickfix', 30000, function() return #vim.fn.getqflist() > 0 end)
vim.cmd('Rca confirm ' .. vim.env.RCA_TEST_CULPRIT)
wait('confirm', 30000, function() return require('rca').last_confirmed ~= nil end)
out.confirmed = require('rca').last_confirmed
vim.fn.writefile({ vim.json.encode(out) }, vim.env.RCA_TEST_OUT)
vim.cmd('qa!')
"""


@needs_nvim
def test_neovim_confirm_records_the_culprit(git_repo, tmp_path):
    shas = _indexed(git_repo)
    result = _run(SCRIPT, tmp_path, git_repo.root, env={"RCA_TEST_CULPRIT": shas["culprit"]})
    assert result["confirmed"]["label"] == 1 and result["confirmed"]["culprit"] == shas["culprit"]
    exported = subprocess.run([sys.executable, "-m", "rca_lsp", "labels", "export", "--repo", str(git_repo.root)],
                              capture_output=True, text=True, timeout=60)
    [label] = [json.loads(line) for line in exported.stdout.splitlines()]
    assert label["source"] == "editor" and label["culprit"] == shas["culprit"]
    assert "NumberFormatException" in label["failure"]
