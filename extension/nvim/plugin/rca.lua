-- :Rca suspects [@{reg}] | :[range]Rca suspects | :Rca index | :Rca show [{hash}] | :Rca open | :Rca confirm [{hash}]
if vim.g.loaded_rca then
  return
end
vim.g.loaded_rca = true

vim.api.nvim_create_user_command('Rca', function(opts)
  require('rca').command(opts)
end, {
  nargs = '+',
  range = true,
  desc = 'rca: suspect commits for a stack trace',
  complete = function(arglead, cmdline)
    return require('rca').complete(arglead, cmdline)
  end,
})
