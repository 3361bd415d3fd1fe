-- rca language server: suspect commits for a stack trace (`pip install rca-lsp`).
-- Used by `vim.lsp.enable('rca')` (Neovim 0.11+); override with `vim.lsp.config('rca', {...})`.
---@type vim.lsp.Config
return {
  cmd = { 'rca', 'serve' },
  root_markers = { '.git' },
  -- no `filetypes`: traces live in plain text, logs and test output as much as in source files
  settings = {
    rca = {
      top = 20, -- how many suspects
      ranker = 'none', -- 'none' (retrieval) or 'llm' (re-rank with the model; `rca model build` first)
      device = 'cpu', -- 'cpu' or 'cuda', passed through to the ranker
    },
  },
  on_attach = function(client, bufnr)
    require('rca').on_attach(client, bufnr)
  end,
}
