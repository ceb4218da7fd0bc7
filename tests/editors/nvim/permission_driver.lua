-- Answers the permission prompts of tests/editors/nvim/permission_server.py through the plugin's
-- float, as a user would: "a" (allow once) on the first, "r" (reject) on the second. The server
-- records what the client sent back. Results go to $AGENTLS_TEST_OUT as JSON.
local env = vim.env
local answers_path = assert(env.AGENTLS_TEST_ANSWERS)
local keys = { 'a', 'r' }

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
local h = dofile(here .. '/harness.lua').new({ steps = {}, prompts = {} }, { poll_ms = 20 })
local result, finish, wait_for = h.result, h.finish, h.wait_for

local function answers()
  if vim.fn.filereadable(answers_path) == 0 then
    return {}
  end
  return vim.fn.json_decode(table.concat(vim.fn.readfile(answers_path), '\n'))
end

h.load_plugin()
require('agentls').setup({ cmd = vim.fn.json_decode(env.AGENTLS_TEST_CMD), permission_ui = 'float' })
result.permission_ui = require('agentls.config').permission_ui()
vim.cmd('edit ' .. vim.fn.fnameescape(env.AGENTLS_TEST_FILE))

local function answer(n)
  if n > #keys then
    result.answers = answers()
    return finish(true, nil)
  end
  local answered
  wait_for('prompt ' .. n, function()
    local buf = vim.api.nvim_get_current_buf()
    return vim.bo[buf].filetype == 'agentls-permission' and buf
  end, function(buf)
    table.insert(result.prompts, vim.api.nvim_buf_get_lines(buf, 0, -1, false))
    vim.api.nvim_input(keys[n])
    wait_for('answer ' .. n .. ' received', function()
      answered = answers()
      return #answered >= n
    end, function()
      answer(n + 1)
    end)
  end)
end

answer(1)
