-- The plugin's other commands in a real Neovim (0.7 or later), each step polled from a timer:
--   1. :2,3AgentlsAsk {question}  -> a new chat whose prompt carries the selected lines
--   2. in the step-1 chat: <C-x><C-o> (the omnifunc) on `/co` and on `/f` completes the server's
--      commands, the project's custom /fix-issue among them; `/cost` and `/context` prompts show
--      the commands' reports in the chat (no model request)
--   3. :AgentlsChat! + :AgentlsSend, then :AgentlsStop while the model is still answering
--   4. :AgentlsSessions -> resume the step-1 session (agentls/loadSession replays it)
--   5. in the resumed chat: `/fix-issue 123` (the custom command's prompt goes to the model, the
--      reply shows), then `/compact` (the model writes a summary; the chat shows the compaction)
--   6. :AgentlsChat! and a prompt whose model starts a subagent (the Agent tool); the subagent's
--      Bash call asks permission: the plugin's prompt (the float on 0.7, vim.ui.select where this
--      driver's stand-in replaces it) is answered "allow once", the subagent's call runs, shown
--      nested under the Agent call, and the parent's turn ends with its reply
--   7. :AgentlsReview %  -> the findings arrive as diagnostics; :AgentlsFindings -> quickfix
-- Results go to $AGENTLS_TEST_OUT as JSON.
local env = vim.env
local file = assert(env.AGENTLS_TEST_FILE)

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
local h = dofile(here .. '/harness.lua').new({ steps = {}, errors = {} })
local result, finish, wait_for, lines_of = h.result, h.finish, h.wait_for, h.lines_of

h.load_plugin()

-- Stands in for a vim.ui.select UI: answers a permission prompt "allow once" (recording what it
-- showed), and picks the session the test asks for from :AgentlsSessions.
local want_session
result.permission = {}
vim.ui.select = function(items, opts, on_choice)
  if opts.kind == 'agentls_permission' then
    local labels = {}
    for _, item in ipairs(items) do
      table.insert(labels, opts.format_item(item))
    end
    -- The statusline as the prompt is shown (the plugin counts it as waiting before showing it).
    local shown_status = require('agentls').status()
    table.insert(result.permission, {
      ui = 'select',
      prompt = opts.prompt,
      items = items,
      labels = labels,
      status = shown_status,
    })
    vim.defer_fn(function()
      on_choice('allow_once', 1)
    end, 100)
    return
  end
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

local function chat_text(chat)
  return table.concat(lines_of(chat.buf), '\n')
end

-- Type `text` into the chat's prompt area and send it, as <CR> there does.
local function send_typed(chat, text)
  chat_mod.show(chat)
  vim.api.nvim_buf_set_lines(chat.buf, chat_mod.prompt_row(chat), -1, false, { text })
  chat_mod.send(chat)
end

-- 6. A subagent's Bash call asks permission in this editor; the answer reaches the subagent.
local function step_subagent()
  vim.cmd('AgentlsChat!')
  local known = {}
  for id in pairs(chat_mod.chats) do
    known[id] = true
  end
  result.permission_ui = require('agentls.config').permission_ui()
  wait_for('subagent chat', function()
    local chat = current_chat()
    return chat and not known[chat.session_id] and chat
  end, function(chat)
    result.subagent_session = chat.session_id
    send_typed(chat, 'Have a helper write the marker file')
    wait_for('subagent permission prompt', function()
      if #result.permission > 0 then
        return 'select' -- The vim.ui.select stand-in got it and answers by itself.
      end
      local win = vim.api.nvim_get_current_win()
      local buf = vim.api.nvim_win_get_buf(win)
      if vim.bo[buf].filetype == 'agentls-permission' then
        return { buf = buf, win = win }
      end
    end, function(prompt)
      result.chat_while_asking = lines_of(chat.buf)
      if prompt == 'select' then
        result.status_while_asking = result.permission[1].status
      else
        -- The float stays open until its key is pressed.
        result.status_while_asking = agentls.status()
        local cfg = vim.api.nvim_win_get_config(prompt.win)
        table.insert(result.permission, { ui = 'float', lines = lines_of(prompt.buf), floating = cfg.relative ~= '' })
        vim.api.nvim_input('a')
      end
      wait_for('subagent turn ended', function()
        return not chat.busy and chat_text(chat):find('PARENT-DONE', 1, true)
      end, function()
        result.subagent_chat = lines_of(chat.buf)
        result.pending_permissions = #require('agentls.permission').pending
        step_findings()
      end)
    end)
  end)
end

-- 5b. `/compact` in the resumed chat: a summary request, and the compaction shown in the chat.
local function step_compact(chat)
  send_typed(chat, '/compact')
  wait_for('compact shown', function()
    return not chat.busy and chat_text(chat):find('/compact:', 1, true)
  end, function()
    result.compact_chat = lines_of(chat.buf)
    step_subagent()
  end)
end

-- 5a. The project's custom command in the resumed chat.
local function step_custom(chat)
  send_typed(chat, '/fix-issue 123')
  wait_for('custom command answered', function()
    return not chat.busy and chat_text(chat):find('FIX-DONE', 1, true)
  end, function()
    result.custom_chat = lines_of(chat.buf)
    step_compact(chat)
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
    step_custom(chat)
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
    -- The prompt area's first line holds `/co` (then `/f`), the cursor after it: what omnifunc sees.
    chat_mod.show(chat)
    local row = chat_mod.prompt_row(chat)
    vim.api.nvim_buf_set_lines(chat.buf, row, -1, false, { '/co' })
    vim.api.nvim_win_set_cursor(0, { row + 1, 3 })
    result.omni_start = slash.omnifunc(1, '')
    result.omni_words = {}
    for _, item in ipairs(slash.omnifunc(0, '/co')) do
      table.insert(result.omni_words, item.word)
    end
    vim.api.nvim_buf_set_lines(chat.buf, row, -1, false, { '/f' })
    vim.api.nvim_win_set_cursor(0, { row + 1, 2 })
    result.omni_f_start = slash.omnifunc(1, '')
    result.omni_f = {}
    for _, item in ipairs(slash.omnifunc(0, '/f')) do
      table.insert(result.omni_f, { word = item.word, abbr = item.abbr, menu = item.menu, info = item.info })
    end
    vim.api.nvim_buf_set_lines(chat.buf, row, -1, false, { '' })
    chat_mod.send(chat, '/cost')
    wait_for('cost shown', function()
      return not chat.busy and chat_text(chat):find('/cost:', 1, true)
    end, function()
      result.cost_chat = lines_of(chat.buf)
      send_typed(chat, '/context')
      wait_for('context shown', function()
        return not chat.busy and chat_text(chat):find('/context:', 1, true)
      end, function()
        result.context_chat = lines_of(chat.buf)
        step_stop(chat.session_id)
      end)
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
