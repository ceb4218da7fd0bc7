-- The plugin's other commands in a real Neovim (0.7 or later), each step polled from a timer:
--   1. :2,3AgentlsAsk {question}  -> a new chat whose prompt carries the selected lines
--   2. :AgentlsChat! + :AgentlsSend, then :AgentlsStop while the model is still answering
--   3. :AgentlsSessions -> resume the step-1 session (agentls/loadSession replays it)
--   4. :AgentlsReview %  -> the findings arrive as diagnostics; :AgentlsFindings -> quickfix
--   (after 1) in the step-1 chat, <C-x><C-o> on `/co` completes the server's commands, and a
--   `/cost` prompt shows the command's report in the chat (no model request)
-- Results go to $AGENTLS_TEST_OUT as JSON.
local env = vim.env
local out_path = assert(env.AGENTLS_TEST_OUT)
local timeout_ms = tonumber(env.AGENTLS_TEST_TIMEOUT_MS or '180000')
local file = assert(env.AGENTLS_TEST_FILE)

local result = { steps = {}, errors = {} }
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
      table.insert(result.errors, tostring(value))
      return finish(false, 'error while waiting for ' .. name .. ': ' .. tostring(value))
    end
    if value then
      table.insert(result.steps, name)
      local ran, err = pcall(next_step, value)
      if not ran then
        table.insert(result.errors, tostring(err))
        return finish(false, 'error after ' .. name .. ': ' .. tostring(err))
      end
      return
    end
    vim.defer_fn(poll, 50)
  end
  vim.defer_fn(poll, 0)
end

local function lines_of(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

vim.opt.runtimepath:prepend(env.AGENTLS_PLUGIN_DIR)
vim.cmd('runtime! plugin/agentls.lua')
pcall((vim.lsp.log and vim.lsp.log.set_level) or vim.lsp.set_log_level, 'debug')

-- Stands in for a vim.ui.select UI: picks the session the test asks for.
local want_session
vim.ui.select = function(items, opts, on_choice)
  result.select_kind = opts.kind
  result.select_labels = {}
  for _, item in ipairs(items) do
    table.insert(result.select_labels, opts.format_item(item))
  end
  vim.defer_fn(function()
    for _, item in ipairs(items) do
      if item.sessionId == want_session then
        return on_choice(item)
      end
    end
    on_choice(nil)
  end, 50)
end

local agentls = require('agentls')
agentls.setup({ cmd = { env.AGENTLS_CMD }, init_options = { maxTurns = 8 } })
local chat_mod = require('agentls.chat')

vim.cmd('edit ' .. vim.fn.fnameescape(file))
local file_buf = vim.api.nvim_get_current_buf()
local file_win = vim.api.nvim_get_current_win()

local function current_chat()
  return chat_mod.chats[vim.b[vim.api.nvim_get_current_buf()].agentls_session or '']
end

local function step_findings()
  vim.api.nvim_set_current_win(file_win)
  vim.cmd('AgentlsReview %')
  wait_for('findings published', function()
    for _, d in ipairs(vim.diagnostic.get(file_buf)) do
      if d.source == 'agentls' then
        return true
      end
    end
  end, function()
    result.diagnostics = {}
    for _, d in ipairs(vim.diagnostic.get(file_buf)) do
      table.insert(result.diagnostics, { lnum = d.lnum, source = d.source, message = d.message, code = d.code })
    end
    vim.cmd('AgentlsFindings')
    local qf = vim.fn.getqflist()
    result.quickfix = {}
    for _, item in ipairs(qf) do
      table.insert(result.quickfix, { lnum = item.lnum, text = item.text, bufnr = item.bufnr == file_buf })
    end
    result.quickfix_title = vim.fn.getqflist({ title = 1 }).title
    finish(true, nil)
  end)
end

local step_resume
local step_slash

local function step_sessions(ask_session)
  -- Forget the step-1 chat (wiping it closes the session in the server), then resume that
  -- session from the list.
  local old = chat_mod.chats[ask_session]
  local client = vim.lsp.get_client_by_id(old.client_id)
  vim.cmd('bwipeout! ' .. old.buf)
  local listed = nil
  local asked = false
  wait_for('session closed on wipe', function()
    if not asked then
      asked = true
      require('agentls.compat').request(client, 'agentls/listSessions', {}, function(_, answer)
        listed = answer
      end)
    end
    return listed
  end, function(answer)
    for _, s in ipairs(answer.sessions) do
      if s.sessionId == ask_session then
        result.loaded_after_wipe = s.loaded
      end
    end
    step_resume(ask_session)
  end)
end

step_resume = function(ask_session)
  want_session = ask_session
  vim.cmd('AgentlsSessions')
  wait_for('session replayed', function()
    local chat = chat_mod.chats[ask_session]
    if chat and vim.api.nvim_buf_is_valid(chat.buf) then
      local text = table.concat(lines_of(chat.buf), '\n')
      if text:find('session loaded', 1, true) then
        return chat
      end
    end
  end, function(chat)
    result.loaded_chat = lines_of(chat.buf)
    step_findings()
  end)
end

local function step_stop(ask_session)
  vim.cmd('AgentlsChat!')
  wait_for('new chat', function()
    local chat = current_chat()
    return chat and chat.session_id ~= ask_session and chat
  end, function(chat)
    vim.cmd('AgentlsSend Take your time')
    -- Stop once the server reports the turn is asking the model (agentls/cancel is a no-op for
    -- a session whose turn has not started yet).
    wait_for('turn running', function()
      return chat.busy and agentls.status() == 'agentls: thinking'
    end, function()
      vim.cmd('AgentlsStop')
      wait_for('turn stopped', function()
        return not chat.busy
      end, function()
        result.stop_chat = lines_of(chat.buf)
        step_sessions(ask_session)
      end)
    end)
  end)
end

step_slash = function(chat)
  local slash = require('agentls.slash')
  wait_for('commands listed', function()
    return slash.cache[chat.session_id] ~= nil
  end, function()
    -- The prompt area's first line holds `/co`, the cursor after it: what omnifunc sees.
    chat_mod.show(chat)
    local row = chat_mod.prompt_row(chat)
    vim.api.nvim_buf_set_lines(chat.buf, row, -1, false, { '/co' })
    vim.api.nvim_win_set_cursor(0, { row + 1, 3 })
    result.omni_start = slash.omnifunc(1, '')
    result.omni_words = {}
    for _, item in ipairs(slash.omnifunc(0, '/co')) do
      table.insert(result.omni_words, item.word)
    end
    vim.api.nvim_buf_set_lines(chat.buf, row, -1, false, { '' })
    chat_mod.send(chat, '/cost')
    wait_for('cost shown', function()
      return not chat.busy and table.concat(lines_of(chat.buf), '\n'):find('/cost:', 1, true)
    end, function()
      result.cost_chat = lines_of(chat.buf)
      step_stop(chat.session_id)
    end)
  end)
end

local function step_ask(client)
  result.initialized = client.initialized
  vim.cmd('2,3AgentlsAsk What does this do?')
  wait_for('ask answered', function()
    local chat = current_chat()
    if chat and not chat.busy and chat.role == nil and table.concat(lines_of(chat.buf), '\n'):find('ASK-DONE', 1, true) then
      return chat
    end
  end, function(chat)
    result.ask_chat = lines_of(chat.buf)
    result.ask_session = chat.session_id
    step_slash(chat)
  end)
end

wait_for('client ready', function()
  local client = require('agentls.compat').get_clients({ name = 'agentls', bufnr = file_buf })[1]
  return client and client.initialized and client
end, step_ask)
