-- An MCP server's tool in a real Neovim (0.7 or later): the user's settings name the tests' echo
-- server; a prompt whose model calls its tool shows the call in the chat like any tool call, and
-- `/mcp` typed in the chat lists the server, connected, with its tools.
-- Results go to $AGENTLS_TEST_OUT as JSON.
local env = vim.env
local prompt = assert(env.AGENTLS_TEST_PROMPT)

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
local h = dofile(here .. '/harness.lua').new({ steps = {}, errors = {} })
local result, finish, wait_for = h.result, h.finish, h.wait_for

h.load_plugin()
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
