-- Neovim config for the documentation screenshot (make_screenshots.py): the agentls plugin from
-- a plain runtimepath entry, a statusline with the plugin's status, and nothing else.
vim.opt.runtimepath:prepend(assert(vim.env.AGENTLS_PLUGIN_DIR))
vim.cmd('runtime! plugin/agentls.lua')
vim.o.termguicolors = true
vim.o.background = 'dark'
vim.o.number = true
vim.o.laststatus = 2
vim.o.showmode = true
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'
vim.cmd('syntax on')
vim.cmd('filetype plugin indent on')
vim.o.statusline = ' %f %m%=%{v:lua.require("agentls").status()}   %l:%c '

require('agentls').setup({
  cmd = { assert(vim.env.AGENTLS_CMD) },
  init_options = { maxTurns = 8 },
  chat = { width = 72 },
})
