-- An MCP server's tool in a real Neovim (0.7 or later): the user's settings name the tests' echo
-- server; a prompt whose model calls its tool shows the call in the chat like any tool call, and
-- `/mcp` typed in the chat lists the server, connected, with its tools.
-- Results go to $AGENTLS_TEST_OUT as JSON.
local env = vim.env
local out_path = assert(env.AGENTLS_TEST_OUT)
local prompt = assert(env.AGENTLS_TEST_PROMPT)
local timeout_ms = tonumber(env.AGENTLS_TEST_TIMEOUT_MS or '180000')

local result = { steps = {}, errors = {} }
local finished = false
local step_name = 'start'

local function finish(ok, why)
  if finished then
    return
  end
  finished = true
  result.ok, result.why = ok, why
  result.failed_step = not ok and step_name or nil
  local f = assert(io.open(out_path, 'w'))
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd('qall!')
end

vim.defer_fn(function()
  finish(false, 'timed out after ' .. timeout_ms .. ' ms in step ' .. step_name)
end, timeout_ms)

local function wait_for(name, cond, next_step)
  step_name = name
  local function poll()
    if finished then
      return
    end
    local ok, value = pcall(cond)
    if not ok then
      table.insert(result.errors, tostring(value))
      return finish(false, 'error while waiting for ' .. name .. ': ' .. tostring(value))
    end
    if value then
      table.insert(result.steps, name)
      local ran, err = pcall(next_step, value)
      if not ran then
        table.insert(result.errors, tostring(err))
        finish(false, 'error after ' .. name .. ': ' .. tostring(err))
      end
      return
    end
    vim.defer_fn(poll, 50)
  end
  vim.defer_fn(poll, 0)
end

vim.opt.runtimepath:prepend(env.AGENTLS_PLUGIN_DIR)
vim.cmd('runtime! plugin/agentls.lua')
pcall((vim.lsp.log and vim.lsp.log.set_level) or vim.lsp.set_log_level, 'debug')
require('agentls').setup({ cmd = { env.AGENTLS_CMD } })
local chat_mod = require('agentls.chat')

local function chat_text(chat)
  return table.concat(vim.api.nvim_buf_get_lines(chat.buf, 0, -1, false), '\n')
end

vim.cmd('edit ' .. vim.fn.fnameescape(env.AGENTLS_TEST_FILE))
vim.cmd('AgentlsChat')
wait_for('chat', function()
  return vim.b[vim.api.nvim_get_current_buf()].agentls_session and chat_mod.find()
end, function(chat)
  chat_mod.send(chat, prompt)
  wait_for('MCP call answered', function()
    return not chat.busy and chat_text(chat):find('MCP-DONE', 1, true)
  end, function()
    chat_mod.send(chat, '/mcp')
    wait_for('/mcp shown', function()
      return not chat.busy and chat_text(chat):find('/mcp:', 1, true)
    end, function()
      result.chat = vim.api.nvim_buf_get_lines(chat.buf, 0, -1, false)
      finish(true, nil)
    end)
  end)
end)
