--- rca for Neovim: `:Rca suspects` fills the quickfix list with suspect commits; the frame lines
--- of the trace get a code lens and a diagnostic; `:Rca show` opens a commit in a scratch buffer.
local M = {}

local SUBCOMMANDS = { 'suspects', 'index', 'show' }
M.last = nil -- the latest `rca.suspects` answer

local function notify(msg, level)
  vim.notify('rca: ' .. msg, level or vim.log.levels.INFO)
end

--- The rca client for a buffer, started on it when `vim.lsp.enable('rca')` did not attach one
--- (a trace in a file with no filetype).
local function client_for(bufnr)
  local clients = vim.lsp.get_clients({ name = 'rca', bufnr = bufnr })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = 'rca' })
  end
  if #clients > 0 then
    return clients[1]
  end
  local config = vim.lsp.config.rca
  if not config then
    notify("no 'rca' language server configured: add vim.lsp.enable('rca')", vim.log.levels.ERROR)
    return nil
  end
  local id = vim.lsp.start(config, { bufnr = bufnr })
  return id and vim.lsp.get_client_by_id(id) or nil
end

local function execute(bufnr, command, arguments, on_result)
  local client = client_for(bufnr)
  if not client then
    return
  end
  client:request('workspace/executeCommand', { command = command, arguments = arguments }, function(err, result)
    if err then
      notify(command .. ' failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif type(result) == 'table' and result.error then
      -- the server has already shown the message; nothing more to do
      return
    elseif on_result then
      on_result(result, client)
    end
  end, bufnr)
end

--- Code lenses: Neovim 0.12 keeps them fresh itself once enabled; 0.11 needs refresh calls.
function M.refresh_lenses(bufnr)
  local codelens = vim.lsp.codelens
  if codelens.enable then
    codelens.enable(true, { bufnr = bufnr })
  elseif bufnr then
    codelens.refresh({ bufnr = bufnr })
  else
    for _, client in ipairs(vim.lsp.get_clients({ name = 'rca' })) do
      for buf in pairs(client.attached_buffers) do
        if vim.api.nvim_buf_is_loaded(buf) then
          codelens.refresh({ bufnr = buf })
        end
      end
    end
  end
end

function M.on_attach(_, bufnr)
  M.refresh_lenses(bufnr)
  if not vim.lsp.codelens.enable then
    vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave' }, {
      buffer = bufnr,
      group = vim.api.nvim_create_augroup('rca_codelens_' .. bufnr, { clear = true }),
      callback = function()
        M.refresh_lenses(bufnr)
      end,
    })
  end
end

local function to_quickfix(result)
  local items = {}
  for _, s in ipairs(result.suspects or {}) do
    local loc = s.location
    table.insert(items, {
      filename = loc and (result.root .. '/' .. loc.path) or nil,
      lnum = loc and loc.line or 0,
      text = s.title,
      type = 'I',
      user_data = { commit = s.commit },
    })
  end
  vim.fn.setqflist({}, ' ', { title = 'rca suspects', items = items })
end

function M.suspects(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local arg = opts.fargs[2]
  local request
  if arg and arg:sub(1, 1) == '@' then
    request = { text = vim.fn.getreg(arg:sub(2, 2) ~= '' and arg:sub(2, 2) or '"') }
  else
    request = { uri = vim.uri_from_bufnr(bufnr) }
    if opts.range > 0 then
      request.range = { start = { line = opts.line1 - 1, character = 0 }, ['end'] = { line = opts.line2, character = 0 } }
    else
      -- the buffer as it is now, saved or not
      request.text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
    end
  end
  execute(bufnr, 'rca.suspects', { request }, function(result)
    M.last = result
    to_quickfix(result)
    M.refresh_lenses()
    local n = #(result.suspects or {})
    notify(('%d suspect(s) of %d commits'):format(n, result.candidates or 0))
    if n > 0 and vim.g.rca_open_quickfix ~= false then
      vim.cmd('botright copen')
      vim.cmd('wincmd p')
    end
  end)
end

function M.index()
  execute(vim.api.nvim_get_current_buf(), 'rca.index', {}, function(result)
    notify(result.message or 'indexed')
  end)
end

--- The commit to show: an argument, the quickfix entry or the rca diagnostic under the cursor,
--- else the best suspect.
local function commit_here(arg)
  if arg and arg ~= '' then
    return arg
  end
  if vim.bo.buftype == 'quickfix' then
    local entry = vim.fn.getqflist()[vim.fn.line('.')]
    if entry and entry.user_data and entry.user_data.commit then
      return entry.user_data.commit
    end
  end
  local lnum = vim.api.nvim_win_get_cursor(0)[1] - 1
  for _, d in ipairs(vim.diagnostic.get(0, { lnum = lnum })) do
    if d.source == 'rca' and d.user_data and d.user_data.lsp and d.user_data.lsp.data then
      return d.user_data.lsp.data.commit
    end
  end
  if M.last and M.last.suspects and M.last.suspects[1] then
    return M.last.suspects[1].commit
  end
end

function M.show(hash)
  hash = commit_here(hash)
  if not hash then
    notify('no suspect here: run :Rca suspects first, or pass a hash', vim.log.levels.WARN)
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  execute(bufnr, 'rca.showCommit', { hash, vim.uri_from_bufnr(bufnr) }, function(result)
    local name = 'rca://commit/' .. result.commit
    local existing = vim.fn.bufnr(name)
    vim.cmd(existing > 0 and ('sbuffer ' .. existing) or 'new')
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'wipe'
    vim.bo[buf].swapfile = false
    vim.bo[buf].modifiable = true
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(result.text, '\n', { plain = true }))
    vim.bo[buf].modifiable = false
    vim.bo[buf].filetype = 'git'
    pcall(vim.api.nvim_buf_set_name, buf, name)
  end)
end

-- A code lens runs `rca.showCommit` on the client side: show it, do not just fetch it.
vim.lsp.commands['rca.showCommit'] = function(command)
  M.show(command.arguments and command.arguments[1])
end

function M.command(opts)
  local sub = opts.fargs[1]
  if sub == 'suspects' then
    M.suspects(opts)
  elseif sub == 'index' then
    M.index()
  elseif sub == 'show' then
    M.show(opts.fargs[2])
  else
    notify(('unknown subcommand %q; use one of: %s'):format(sub, table.concat(SUBCOMMANDS, ', ')), vim.log.levels.ERROR)
  end
end

function M.complete(arglead, cmdline)
  local words = vim.split(vim.trim(cmdline), '%s+')
  local n = #words + (cmdline:match('%s$') and 1 or 0)
  if n <= 2 then
    return vim.tbl_filter(function(s)
      return vim.startswith(s, arglead)
    end, SUBCOMMANDS)
  end
  if words[2] == 'suspects' then
    return vim.tbl_filter(function(s)
      return vim.startswith(s, arglead)
    end, { '@+', '@*', '@"', '@0' })
  end
  return {}
end

return M
