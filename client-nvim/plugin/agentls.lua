-- agentls.nvim: defines the :Agentls* commands only. Nothing starts until
-- require('agentls').setup(opts) runs or one of the commands is used. See :help agentls.
if vim.g.loaded_agentls then
  return
end
vim.g.loaded_agentls = 1

if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_echo({ { 'agentls.nvim needs Neovim 0.7 or later', 'WarningMsg' } }, true, {})
  return
end

require('agentls.commands').create()
