-- rca language server: suspect commits for a stack trace (`pip install -e .` in rca-lsp's checkout).
-- Used by `vim.lsp.enable('rca')` (Neovim 0.11+); override with `vim.lsp.config('rca', {...})`.
---@type vim.lsp.Config
return {
  cmd = { 'rca', 'serve' },
  root_markers = { '.git' },
  -- the buffer's repository; for a log saved outside any (pytest's output in /tmp, say), the one
  -- Neovim's working directory is in: else the server starts without a folder and finds no repository
  root_dir = function(bufnr, on_dir)
    on_dir(vim.fs.root(bufnr, { '.git' }) or vim.fs.root(vim.fn.getcwd(), { '.git' }))
  end,
  -- no `filetypes`: traces live in plain text, logs and test output as much as in source files
  settings = {
    rca = {
      top = 20, -- how many suspects
      ranker = 'none', -- 'none' (retrieval) or 'llm' (retrieval at once, then the model's ranking; `rca model build` first)
      device = 'auto', -- 'auto', 'cpu' or 'cuda': where the ranker's model runs
      -- coverage = 'coverage.json', -- the failing test's coverage report (relative to the repository's top)
    },
  },
  handlers = {
    -- a later stage of the suspects (the model's ranking) replaces the quickfix list
    ['rca/suspects'] = function(err, result, ctx)
      require('rca').on_suspects(err, result, ctx)
    end,
  },
  on_attach = function(client, bufnr)
    require('rca').on_attach(client, bufnr)
  end,
}
