-- agentls for Neovim: a chat panel, permission prompts and progress for the agentls language
-- server. See :help agentls.
local M = {}

local did_setup = false

local function lazy(name)
  return setmetatable({}, {
    __index = function(_, key)
      return require(name)[key]
    end,
  })
end

local chat = lazy('agentls.chat')
local client = lazy('agentls.client')

-- require('agentls').setup(opts): options in :help agentls-options.
function M.setup(opts)
  local config = require('agentls.config')
  config.set(opts)
  did_setup = true
  require('agentls.status').watch_lsp_progress()
  require('agentls.commands').create()
  if config.options.autostart then
    require('agentls.client').autostart()
  end
  return M
end

-- Commands used before setup() run it with the defaults first.
function M.ensure_setup()
  if not did_setup then
    M.setup(vim.g.agentls_options or {})
  end
end

-- For a statusline: while the agent works e.g. "agentls: Edit app.py"; when it is idle the
-- current chat's context and cost, e.g. "agentls 42% ctx · $0.43"; "" before there is any.
function M.status()
  local ok, status = pcall(require, 'agentls.status')
  if not ok then
    return ''
  end
  return status.text()
end

-- For a statusline: the current chat's context fill and cost, e.g. "42% ctx · $0.43", at any time.
function M.context()
  local ok, status = pcall(require, 'agentls.status')
  if not ok then
    return ''
  end
  return status.current_context()
end

function M.chat(text)
  M.ensure_setup()
  chat.open(text)
end

function M.new_chat()
  M.ensure_setup()
  chat.open_new()
end

function M.send(text)
  M.ensure_setup()
  chat.send(nil, text)
end

function M.stop()
  M.ensure_setup()
  chat.stop()
end

function M.compact(instructions)
  M.ensure_setup()
  chat.compact(nil, instructions)
end

function M.ask(question, line1, line2, buf, with_range)
  M.ensure_setup()
  buf = buf or vim.api.nvim_get_current_buf()
  chat.ask(buf, line1 or 1, line2 or vim.api.nvim_buf_line_count(buf), question, with_range)
end

function M.sessions()
  M.ensure_setup()
  require('agentls.sessions').pick()
end

function M.findings(open)
  return require('agentls.findings').to_quickfix(open)
end

function M.review(uri)
  M.ensure_setup()
  require('agentls.findings').review(uri)
end

function M.rewind(n)
  M.ensure_setup()
  require('agentls.rewind').run(n)
end

function M.permission()
  require('agentls.permission').reopen()
end

-- The running agentls client of the current project, if any.
function M.client()
  return client.get(client.root_for())
end

return M
