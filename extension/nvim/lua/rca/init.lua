--- rca for Neovim: `:Rca suspects` fills the quickfix list with suspect commits; the frame lines
--- of the trace get a code lens and a diagnostic; `:Rca show` opens a commit in a scratch buffer;
--- `:Rca open` (and `gf` in trace buffers) follows the frame link under the cursor.
local M = {}

local SUBCOMMANDS = { 'suspects', 'index', 'show', 'open', 'confirm' }
local QF_TITLE = 'rca suspects'
local TRACE_SUFFIXES = { trace = true, log = true, txt = true, out = true, err = true }
local TRACE_FILETYPES = { [''] = true, text = true, log = true }
M.last = nil -- the latest suspects shown: the `rca.suspects` answer, or the `rca/suspects` stage replacing it
M.qf = nil -- { id, seq }: the quickfix list holding them

local function notify(msg, level)
  vim.notify('rca: ' .. msg, level or vim.log.levels.INFO)
end

local READY_MS = 30000 -- how long a command waits for a starting server to be initialized

--- `fn(client)` once `client` is initialized: a command issued right after opening a file (a
--- keymap, an autocommand, `nvim +'Rca suspects' crash.log`) finds the client just started.
local function when_ready(client, fn, waited)
  waited = waited or 0
  if client.initialized then
    return fn(client)
  end
  if client:is_stopped() or waited >= READY_MS then
    notify('the rca language server did not start (see :checkhealth vim.lsp)', vim.log.levels.ERROR)
    return
  end
  vim.defer_fn(function()
    when_ready(client, fn, waited + 50)
  end, 50)
end

--- The root `vim.lsp.enable` gives the buffer: the config's `root_dir` (a path, or a function
--- answering through a callback), else the nearest of its `root_markers`.
local function resolve_root(config, bufnr, on_root)
  if type(config.root_dir) == 'function' then
    config.root_dir(bufnr, function(dir)
      vim.schedule(function()
        on_root(dir)
      end)
    end)
  elseif config.root_dir then
    on_root(config.root_dir)
  else
    on_root(config.root_markers and vim.fs.root(bufnr, config.root_markers) or nil)
  end
end

local function any_client()
  return vim.lsp.get_clients({ name = 'rca', _uninitialized = true })[1]
end

--- `fn(client)` with the rca client of a buffer: the one attached (initialized or not), else the
--- one `vim.lsp.start` reuses or starts for the root `vim.lsp.enable` would use. Both then agree
--- on one server per root whichever starts first (two servers split the suspects from the
--- buffers, and the lenses go missing). Buffers that are not files (quickfix, a commit) and files
--- outside any repository use a running server without attaching.
local function with_client(bufnr, fn)
  local attached = vim.lsp.get_clients({ name = 'rca', bufnr = bufnr, _uninitialized = true })[1]
  local file = vim.bo[bufnr].buftype == ''
  if attached or (not file and any_client()) then
    return when_ready(attached or any_client(), fn)
  end
  local config = vim.lsp.config.rca
  if not config then
    notify("no 'rca' language server configured: add vim.lsp.enable('rca')", vim.log.levels.ERROR)
    return
  end
  config = vim.deepcopy(config)
  resolve_root(config, bufnr, function(root)
    if not root and any_client() then
      return when_ready(any_client(), fn)
    end
    config.root_dir = root
    local id = vim.lsp.start(config, { bufnr = bufnr, reuse_client = config.reuse_client, attach = file })
    local client = id and vim.lsp.get_client_by_id(id)
    if client then
      when_ready(client, fn)
    end
  end)
end

local function execute(bufnr, command, arguments, on_result)
  with_client(bufnr, function(client)
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
  end)
end

--- Which code-lens API to drive: 'enable' (Neovim 0.12: `vim.lsp.codelens.enable`, kept fresh by
--- Neovim itself and by the server's workspace/codeLens/refresh) or 'refresh' (0.11: requested by
--- us on attach, BufEnter, InsertLeave, when the buffer's diagnostics change (the server republishes
--- them when HEAD moves or lines move) and after each answer). `vim.g.rca_codelens_api` forces one.
function M.codelens_api()
  local forced = vim.g.rca_codelens_api
  if forced == 'refresh' and vim.lsp.codelens.refresh then
    return 'refresh'
  end
  if vim.lsp.codelens.enable and (forced == nil or forced == 'enable') then
    return 'enable'
  end
  return 'refresh'
end

function M.refresh_lenses(bufnr)
  local codelens = vim.lsp.codelens
  if M.codelens_api() == 'enable' then
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

--- The code lenses shown in a buffer (lsp.CodeLens tables), whichever API keeps them.
function M.lenses(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if M.codelens_api() == 'enable' then
    local ok, got = pcall(vim.lsp.codelens.get, { bufnr = bufnr })
    if ok then
      return vim.tbl_map(function(item)
        return item.lens or item
      end, got)
    end
  end
  return vim.lsp.codelens.get(bufnr)
end

local function is_trace_buffer(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local suffix = name:match('%.([%w]+)$')
  return (suffix and TRACE_SUFFIXES[suffix:lower()]) or TRACE_FILETYPES[vim.bo[bufnr].filetype] or false
end

--- `gf` in a trace buffer: the frame link under the cursor, else Neovim's own `gf`.
local function map_gf(bufnr)
  if vim.g.rca_trace_gf == false or vim.b[bufnr].rca_gf then
    return
  end
  vim.b[bufnr].rca_gf = true
  vim.keymap.set('n', 'gf', function()
    M.open_link({ fallback = true })
  end, { buffer = bufnr, desc = 'rca: follow the trace frame under the cursor' })
end

function M.on_attach(_, bufnr)
  M.refresh_lenses(bufnr)
  if M.codelens_api() == 'refresh' then
    vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'DiagnosticChanged' }, {
      buffer = bufnr,
      group = vim.api.nvim_create_augroup('rca_codelens_' .. bufnr, { clear = true }),
      callback = function()
        M.refresh_lenses(bufnr)
      end,
    })
  end
  if is_trace_buffer(bufnr) then
    map_gf(bufnr)
  end
end

--- The suspects into the quickfix list: a new list for a new request, the same list (same title)
--- replaced when the model's ranking of that request arrives.
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
  local what = { title = QF_TITLE, items = items }
  local same = M.qf and M.qf.seq == result.seq and vim.fn.getqflist({ id = M.qf.id }).id ~= 0
  if same then
    what.id = M.qf.id
    vim.fn.setqflist({}, 'r', what)
  else
    vim.fn.setqflist({}, ' ', what)
    M.qf = { id = vim.fn.getqflist({ id = 0 }).id, seq = result.seq }
  end
end

--- Whether `result` is older than what is shown (a later stage, or a newer request, came first).
local function stale(result)
  if not (M.last and M.last.seq and result.seq) then
    return false
  end
  return result.seq < M.last.seq or (result.seq == M.last.seq and M.last.final and not result.final)
end

--- `rca/suspects` from the server: a later stage of a request replaces its list (same title).
--- The first stage is shown by the command's own answer.
function M.on_suspects(err, result)
  if err or type(result) ~= 'table' or not result.final or stale(result) then
    return
  end
  M.last = result
  to_quickfix(result)
  M.refresh_lenses()
  if result.stage == 'model' then
    notify(('%d suspect(s) re-ranked by the model'):format(#(result.suspects or {})))
  end
end

function M.suspects(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local arg = opts.fargs[2]
  local request
  if arg and arg:sub(1, 1) == '@' then
    request = { text = vim.fn.getreg(arg:sub(2, 2) ~= '' and arg:sub(2, 2) or '"') }
  else
    request = { uri = vim.uri_from_bufnr(bufnr) }
    map_gf(bufnr)
    if opts.range > 0 then
      request.range = { start = { line = opts.line1 - 1, character = 0 }, ['end'] = { line = opts.line2, character = 0 } }
    else
      -- the buffer as it is now, saved or not
      request.text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
    end
  end
  M.last_request = request
  execute(bufnr, 'rca.suspects', { request }, M.shown)
end

--- The answer of `rca.suspects` (or `rca.rankAgain`): the quickfix list, lenses and a summary.
function M.shown(result)
  local n = #(result.suspects or {})
  if stale(result) then
    return -- the model's ranking of this request is already shown
  end
  M.last = result
  to_quickfix(result)
  M.refresh_lenses()
  local more = result.final == false and '; re-ranking with the model' or ''
  -- how the ranking was drawn (the failing test's last change): never silent
  local notes = (result.notes and #result.notes > 0) and ('\n' .. table.concat(result.notes, '\n')) or ''
  notify(('%d suspect(s) of %d commits%s'):format(n, result.candidates or 0, more) .. notes)
  if n > 0 and vim.g.rca_open_quickfix ~= false then
    vim.cmd('botright copen')
    vim.cmd('wincmd p')
  end
end

function M.index()
  execute(vim.api.nvim_get_current_buf(), 'rca.index', {}, function(_)
    -- the server says how it went (window/showMessage): not said twice
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

--- "This was it": the commit (as for :Rca show) recorded as the culprit of the last :Rca suspects
--- failure, a label the ranker can learn from (`rca labels`, `rca model tune`).
function M.confirm(hash)
  hash = commit_here(hash)
  if not hash or not M.last_request then
    notify('nothing to confirm: run :Rca suspects first', vim.log.levels.WARN)
    return
  end
  local request = vim.tbl_extend('force', M.last_request, { commit = hash })
  execute(vim.api.nvim_get_current_buf(), 'rca.confirmSuspect', { request }, function(result)
    M.last_confirmed = result  -- the server says it was recorded (or already was): not said twice
  end)
end

-- The lens of suspects ranked before HEAD moved: the same failure ranked again, shown as :Rca suspects shows it.
vim.lsp.commands['rca.rankAgain'] = function(command, ctx)
  execute(ctx.bufnr, 'rca.rankAgain', command.arguments or {}, M.shown)
end

-- A code lens runs `rca.showCommit` on the client side: show it, do not just fetch it.
vim.lsp.commands['rca.showCommit'] = function(command)
  M.show(command.arguments and command.arguments[1])
end

--- A document link's target: `file:///path#L5` -> path, 5.
local function link_target(target)
  local line = tonumber(target:match('#L(%d+)$') or '')
  local uri = target:gsub('#.*$', '')
  local ok, path = pcall(vim.uri_to_fname, uri)
  return ok and path or nil, line
end

--- The link under the cursor, else the first one on its line.
local function link_here(links, bufnr, client)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local text = vim.api.nvim_buf_get_lines(bufnr, row - 1, row, false)[1] or ''
  local on_line
  for _, link in ipairs(links or {}) do
    local range = link.range
    if range.start.line == row - 1 then
      local first = vim.str_byteindex(text, client.offset_encoding or 'utf-16', range.start.character, false)
      local last = vim.str_byteindex(text, client.offset_encoding or 'utf-16', range['end'].character, false)
      if col >= first and col < last then
        return link
      end
      on_line = on_line or link
    end
  end
  return on_line
end

--- Asks `client` for the links of `bufnr` and jumps to the one under the cursor.
local function follow_link(client, bufnr, opts)
  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr) }
  client:request('textDocument/documentLink', params, function(err, links)
    if err then
      notify('document links failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local link = vim.api.nvim_buf_is_valid(bufnr) and link_here(links, bufnr, client) or nil
    local path, line = nil, nil
    if link and link.target then
      path, line = link_target(link.target)
    end
    if not path then
      if opts.fallback then
        local ok, msg = pcall(vim.cmd, 'normal! gf')
        if not ok then
          notify((tostring(msg):gsub('^.-:E', 'E')), vim.log.levels.ERROR)
        end
      else
        notify('no trace frame of this repository under the cursor', vim.log.levels.WARN)
      end
      return
    end
    vim.cmd.edit(vim.fn.fnameescape(path))
    if line then
      local last = vim.api.nvim_buf_line_count(0)
      vim.api.nvim_win_set_cursor(0, { math.min(line, last), 0 })
      vim.cmd('normal! ^')
    end
  end, bufnr)
end

--- Follow the trace frame under the cursor (textDocument/documentLink) to its file and line.
function M.open_link(opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  with_client(bufnr, function(client)
    follow_link(client, bufnr, opts)
  end)
end

function M.command(opts)
  local sub = opts.fargs[1]
  if sub == 'suspects' then
    M.suspects(opts)
  elseif sub == 'index' then
    M.index()
  elseif sub == 'show' then
    M.show(opts.fargs[2])
  elseif sub == 'open' then
    M.open_link()
  elseif sub == 'confirm' then
    M.confirm(opts.fargs[2])
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
