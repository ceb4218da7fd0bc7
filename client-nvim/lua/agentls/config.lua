-- Options of require('agentls').setup(opts); see :help agentls-options.
local M = {}

M.defaults = {
  -- The language server command (absolute path recommended).
  cmd = { 'agentls' },
  -- Extra environment for the server (ANTHROPIC_API_KEY is read from Neovim's environment).
  cmd_env = nil,
  -- Filetypes to attach to; nil attaches to every buffer that is a real file.
  filetypes = nil,
  root_markers = { '.git', 'pyproject.toml', 'package.json' },
  -- Sent as initializationOptions: model, fallbackModel, permissionMode, maxTurns, thinking, ...
  init_options = {},
  -- Start the server and attach it to file buffers automatically. When false, the server starts
  -- on the first :Agentls* command.
  autostart = true,
  -- Permission prompts: 'select' (vim.ui.select), 'float' (a floating window with keys
  -- a/A/r/R), or nil: 'select' on 0.9+ when a UI plugin provides vim.ui.select, else 'float'.
  permission_ui = nil,
  chat = {
    -- How the chat window opens: 'vsplit', 'split', 'tab' or 'current'.
    open = 'vsplit',
    width = 80,
    height = 20,
    -- Buffer-local normal-mode keys of the chat buffer (false disables one).
    keymaps = { send = '<CR>', stop = '<C-c>' },
  },
}

M.options = vim.deepcopy(M.defaults)

function M.set(opts)
  opts = opts or {}
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  -- Lists replace the defaults rather than merging index by index.
  for _, key in ipairs({ 'cmd', 'filetypes', 'root_markers' }) do
    if opts[key] ~= nil then
      M.options[key] = opts[key]
    end
  end
  if type(M.options.cmd) == 'string' then
    M.options.cmd = { M.options.cmd }
  end
  return M.options
end

-- True when vim.ui.select is still Neovim's own, which is the blocking inputlist().
function M.builtin_select()
  local ok, info = pcall(debug.getinfo, vim.ui.select, 'S')
  local source = ok and info and info.source or ''
  return source:find('vim/ui.lua', 1, true) ~= nil
end

function M.permission_ui()
  local ui = M.options.permission_ui
  if ui == 'select' or ui == 'float' then
    return ui
  end
  -- Automatic: vim.ui.select on 0.9+ (where the prompt runs in a coroutine) when a UI plugin
  -- provides it; the float otherwise, since the built-in select blocks the editor.
  if vim.fn.has('nvim-0.9') == 1 and not M.builtin_select() then
    return 'select'
  end
  return 'float'
end

return M
