-- Answers the permission prompts of tests/editors/nvim/permission_server.py through the plugin's
-- float, as a user would: "a" (allow once) on the first, "r" (reject) on the second. The server
-- records what the client sent back. Results go to $AGENTLS_TEST_OUT as JSON.
local env = vim.env
local out_path = assert(env.AGENTLS_TEST_OUT)
local answers_path = assert(env.AGENTLS_TEST_ANSWERS)
local timeout_ms = tonumber(env.AGENTLS_TEST_TIMEOUT_MS or '180000')
local keys = { 'a', 'r' }

local result = { steps = {}, prompts = {} }
local finished = false
local step_name = 'start'

local function finish(ok, why)
  if finished then
    return
  end
  finished = true
  result.ok = ok
  result.why = why
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
      return finish(false, 'error while waiting for ' .. name .. ': ' .. tostring(value))
    end
    if value then
      table.insert(result.steps, name)
      local ran, err = pcall(next_step, value)
      if not ran then
        finish(false, 'error after ' .. name .. ': ' .. tostring(err))
      end
      return
    end
    vim.defer_fn(poll, 20)
  end
  vim.defer_fn(poll, 0)
end

local function answers()
  if vim.fn.filereadable(answers_path) == 0 then
    return {}
  end
  return vim.fn.json_decode(table.concat(vim.fn.readfile(answers_path), '\n'))
end

vim.opt.runtimepath:prepend(env.AGENTLS_PLUGIN_DIR)
vim.cmd('runtime! plugin/agentls.lua')
pcall((vim.lsp.log and vim.lsp.log.set_level) or vim.lsp.set_log_level, 'debug')
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
