-- The chat buffer: one per agent session.
--
-- Layout: the transcript ("## You" / "## Agent" blocks, tool calls as "- [status] title" lines,
-- permission requests), then a separator line, then the prompt area. Everything below the
-- separator is the next prompt: <CR> in normal mode (or :AgentlsSend) sends it.
local client_mod = require('agentls.client')
local compat = require('agentls.compat')
local config = require('agentls.config')
local status = require('agentls.status')

local M = {}

M.chats = {} -- session id -> chat
M.current = nil -- the chat most recently opened or used

local ns = vim.api.nvim_create_namespace('agentls_chat')
M.SEPARATOR = '──── prompt below · <CR> (normal mode) or :AgentlsSend sends · :AgentlsStop stops ────'

local STATUS_LABELS = {
  pending = 'pending',
  in_progress = 'running',
  completed = 'done',
  failed = 'failed',
}

local function valid(chat)
  return chat and chat.buf and vim.api.nvim_buf_is_valid(chat.buf)
end

local function get_client(chat)
  local client = vim.lsp.get_client_by_id(chat.client_id)
  if client and not compat.is_stopped(client) then
    return client
  end
  return nil
end

local function sep_row(chat)
  local pos = vim.api.nvim_buf_get_extmark_by_id(chat.buf, ns, chat.sep, {})
  return pos[1]
end

local function follow(chat)
  -- Keep windows that show the chat (other than the one being typed in) scrolled to the end.
  local current = vim.api.nvim_get_current_win()
  local last = vim.api.nvim_buf_line_count(chat.buf)
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if win ~= current and vim.api.nvim_win_get_buf(win) == chat.buf then
      pcall(vim.api.nvim_win_set_cursor, win, { last, 0 })
    end
  end
end

-- Insert whole lines at the end of the transcript (just above the separator).
local function insert_lines(chat, lines)
  if not valid(chat) then
    return nil
  end
  local row = sep_row(chat)
  vim.api.nvim_buf_set_lines(chat.buf, row, row, false, lines)
  follow(chat)
  return row
end

-- Append text to the last transcript line; newlines start new lines.
local function append_text(chat, text)
  if not valid(chat) or text == '' then
    return
  end
  local row = sep_row(chat) - 1
  local line = vim.api.nvim_buf_get_lines(chat.buf, row, row + 1, false)[1] or ''
  local pieces = vim.split(text, '\n', { plain = true })
  vim.api.nvim_buf_set_text(chat.buf, row, #line, row, #line, pieces)
  follow(chat)
end

local function mark(chat, row)
  return vim.api.nvim_buf_set_extmark(chat.buf, ns, row, 0, { right_gravity = false })
end

local function mark_row(chat, id)
  local pos = vim.api.nvim_buf_get_extmark_by_id(chat.buf, ns, id, {})
  return pos[1]
end

-- Replace the text of one line in place (set_lines would move the extmarks on it).
local function set_line(chat, row, text)
  local old = vim.api.nvim_buf_get_lines(chat.buf, row, row + 1, false)[1] or ''
  vim.api.nvim_buf_set_text(chat.buf, row, 0, row, #old, { text })
end

local function ensure_agent(chat)
  if chat.role ~= 'agent' then
    insert_lines(chat, { '', '## Agent' })
    chat.role = 'agent'
    chat.last = nil
  end
end

local function start_block(chat, kind)
  ensure_agent(chat)
  if chat.last ~= kind then
    if chat.last == nil then
      insert_lines(chat, { kind == 'thought' and '> ' or '' })
    else
      insert_lines(chat, { '', kind == 'thought' and '> ' or '' })
    end
    chat.last = kind
  end
end

local function add_user(chat, text)
  local row = insert_lines(chat, { '', '## You' })
  if row then
    chat.last_user = mark(chat, row + 1) -- The checkpoint that follows belongs to this message.
  end
  insert_lines(chat, vim.split(text, '\n', { plain = true }))
  chat.role = 'user'
  chat.last = nil
end

local function add_note(chat, text)
  local row = insert_lines(chat, { '', (text:gsub('\n', ' ')) })
  chat.last = 'note'
  return row and row + 1
end

-- --- The buffer -------------------------------------------------------------------------------

local function set_keymaps(chat)
  local keys = config.options.chat.keymaps or {}
  if keys.send then
    vim.keymap.set('n', keys.send, function()
      M.send(chat)
    end, { buffer = chat.buf, desc = 'agentls: send the prompt' })
  end
  if keys.stop then
    vim.keymap.set('n', keys.stop, function()
      M.stop(chat)
    end, { buffer = chat.buf, desc = 'agentls: stop the turn' })
  end
end

function M.create(client, session_id, title)
  local existing = M.chats[session_id]
  if valid(existing) then
    return existing
  end
  local buf = vim.api.nvim_create_buf(true, true)
  compat.set_buf_option(buf, 'buftype', 'nofile')
  compat.set_buf_option(buf, 'bufhidden', 'hide')
  compat.set_buf_option(buf, 'swapfile', false)
  pcall(vim.api.nvim_buf_set_name, buf, 'agentls://chat/' .. session_id)
  compat.set_buf_option(buf, 'filetype', 'agentls')
  pcall(compat.set_buf_option, buf, 'syntax', 'markdown')
  local header = '# agentls · session ' .. session_id
  if title and title ~= '' then
    header = header .. ' · ' .. title
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { header, M.SEPARATOR, '' })
  local chat = {
    buf = buf,
    client_id = client.id,
    session_id = session_id,
    root = client.config.root_dir,
    tools = {},
    permissions = {},
    checkpoints = {}, -- { mark, n } per message with a checkpoint (:AgentlsRewind at the cursor)
  }
  chat.sep = vim.api.nvim_buf_set_extmark(buf, ns, 1, 0, {})
  vim.b[buf].agentls_session = session_id
  set_keymaps(chat)
  require('agentls.slash').attach(chat) -- <C-x><C-o> completes /commands in the prompt.
  M.chats[session_id] = chat
  M.current = chat
  -- Wiping the chat buffer closes the session in the server (agentls/closeSession), which frees
  -- what it holds; its transcript stays, and :AgentlsSessions resumes it.
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      if M.chats[session_id] == chat then
        M.chats[session_id] = nil
      end
      if M.current == chat then
        M.current = nil
      end
      local c = get_client(chat)
      if c then
        pcall(compat.request, c, 'agentls/closeSession', { sessionId = session_id }, function() end)
      end
    end,
  })
  return chat
end

function M.show(chat)
  if not valid(chat) then
    return
  end
  M.current = chat
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(win) == chat.buf then
      vim.api.nvim_set_current_win(win)
      return win
    end
  end
  local o = config.options.chat
  if o.open == 'vsplit' then
    vim.cmd('botright vsplit')
    pcall(vim.api.nvim_win_set_width, 0, o.width)
  elseif o.open == 'split' then
    vim.cmd('botright split')
    pcall(vim.api.nvim_win_set_height, 0, o.height)
  elseif o.open == 'tab' then
    vim.cmd('tab split')
  end
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, chat.buf)
  compat.set_win_option(win, 'wrap', true)
  compat.set_win_option(win, 'linebreak', true)
  compat.set_win_option(win, 'number', false)
  pcall(vim.api.nvim_win_set_cursor, win, { vim.api.nvim_buf_line_count(chat.buf), 0 })
  return win
end

-- The chat of the current buffer, else the most recent one.
function M.find(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local session_id = vim.b[buf].agentls_session
  if session_id and valid(M.chats[session_id]) then
    return M.chats[session_id]
  end
  if valid(M.current) then
    return M.current
  end
  return nil
end

-- --- Sessions -----------------------------------------------------------------------------------

local function request(client, method, params, on_result)
  client_mod.when_ready(client, function()
    compat.request(client, method, params, function(err, result)
      if err then
        vim.notify(string.format('agentls: %s failed: %s', method, err.message or vim.inspect(err)), vim.log.levels.ERROR)
        return
      end
      on_result(result)
    end)
  end)
end

-- A new session in a new chat; on_chat(chat) once it exists.
function M.new_session(client, on_chat)
  request(client, 'agentls/newSession', { cwd = client.config.root_dir }, function(result)
    local chat = M.create(client, result.sessionId)
    if on_chat then
      on_chat(chat)
    end
  end)
end

-- :AgentlsChat [prompt]
function M.open(text)
  local chat = M.find()
  if chat and get_client(chat) then
    M.show(chat)
    if text and text ~= '' then
      M.send(chat, text)
    end
    return
  end
  local client = client_mod.ensure()
  if not client then
    return
  end
  M.new_session(client, function(new)
    M.show(new)
    if text and text ~= '' then
      M.send(new, text)
    end
  end)
end

-- :AgentlsChat! / the "new session" item of :AgentlsSessions
function M.open_new(client)
  client = client or client_mod.ensure()
  if not client then
    return
  end
  M.new_session(client, function(chat)
    M.show(chat)
  end)
end

function M.load(client, session_id, title)
  local chat = M.chats[session_id]
  if valid(chat) then
    M.show(chat)
    return
  end
  client_mod.when_ready(client, function()
    -- The chat exists before the request: the replayed history arrives before the reply.
    chat = M.create(client, session_id, title)
    M.show(chat)
    compat.request(client, 'agentls/loadSession', { sessionId = session_id }, function(err)
      if err then
        add_note(chat, 'error: could not load the session: ' .. tostring(err.message))
      else
        add_note(chat, '_(session loaded; type below to continue it)_')
        chat.role = nil
      end
    end)
  end)
end

-- --- Prompts ------------------------------------------------------------------------------------

local function prompt_text(chat)
  local row = sep_row(chat)
  local lines = vim.api.nvim_buf_get_lines(chat.buf, row + 1, -1, false)
  local text = table.concat(lines, '\n'):gsub('^%s+', ''):gsub('%s+$', '')
  return text
end

-- The first row (0-based) of the prompt area.
function M.prompt_row(chat)
  return sep_row(chat) + 1
end

local function clear_prompt(chat)
  local row = sep_row(chat)
  vim.api.nvim_buf_set_lines(chat.buf, row + 1, -1, false, { '' })
end

-- --- Compaction notices ---------------------------------------------------------------------------

local function compaction_line(u, state)
  local tier = tostring(u.tier or 'compaction')
  if state == 'started' then
    local size = type(u.tokensBefore) == 'number' and (', ' .. status.format_count(u.tokensBefore) .. ' tokens') or ''
    return '_(compacting the context (' .. tier .. size .. ')…)_'
  elseif state == 'interrupted' then
    return '_(compaction (' .. tier .. ') did not finish)_'
  end
  local sizes = ''
  if type(u.tokensBefore) == 'number' and type(u.tokensAfter) == 'number' then
    sizes = ': ' .. status.format_count(u.tokensBefore) .. ' → ' .. status.format_count(u.tokensAfter) .. ' tokens'
  end
  return '_(context compacted (' .. tier .. ')' .. sizes .. ')_'
end

-- A compaction update: one line in the transcript ("started" shows until "completed" replaces
-- it). The summary itself is not shown; the session's transcript keeps it.
local function on_compaction(chat, u)
  if u.status == 'started' then
    if chat.compaction then
      set_line(chat, mark_row(chat, chat.compaction.mark), compaction_line(chat.compaction.update, 'interrupted'))
    end
    local row = add_note(chat, compaction_line(u, 'started'))
    chat.compaction = row and { mark = mark(chat, row), update = u } or nil
    return
  end
  if chat.compaction then
    set_line(chat, mark_row(chat, chat.compaction.mark), compaction_line(u, 'completed'))
    chat.compaction = nil
  else
    add_note(chat, compaction_line(u, 'completed'))
  end
end

-- --- API retries and the fallback model ----------------------------------------------------------

-- A retry worth telling (a long wait, an unattended heartbeat) is one line, rewritten in place
-- while nothing else followed it; short retries show nothing (the statusline says "thinking").
local function on_api_retry(chat, u)
  if u.longWait ~= true and u.heartbeat ~= true then
    return
  end
  local message = type(u.message) == 'string' and u.message or ('API ' .. tostring(u.reason or 'error') .. ': retrying')
  local text = '_(' .. message .. ')_'
  if chat.retry and chat.last == 'retry' then
    set_line(chat, mark_row(chat, chat.retry), text)
    return
  end
  local row = add_note(chat, text)
  chat.retry = row and mark(chat, row) or nil
  chat.last = 'retry'
end

-- The session switched to its fallback model: one line, for the rest of the session.
local function on_model_fallback(chat, u)
  local message = type(u.message) == 'string' and u.message
    or ('switched to the fallback model ' .. tostring(u.toModel or '?'))
  add_note(chat, '_(' .. message .. ')_')
end

-- A compaction that started and will not complete (the turn or the request is over).
local function compaction_over(chat)
  if chat.compaction and valid(chat) then
    set_line(chat, mark_row(chat, chat.compaction.mark), compaction_line(chat.compaction.update, 'interrupted'))
  end
  chat.compaction = nil
end

-- "budget reached ($0.42 of $0.50 spent)", "the conversation no longer fits ...", or the reason.
local function stop_text(result)
  local reason = tostring(result.stopReason)
  local message = type(result.message) == 'string' and result.message ~= '' and result.message or nil
  if reason == 'budget_exceeded' then
    local b = type(result.budget) == 'table' and result.budget or {}
    local text = 'budget reached'
    if type(b.spent) == 'number' and type(b.limit) == 'number' then
      if b.kind == 'tokens' then
        text = string.format('%s (%s of %s tokens used)', text, status.format_count(b.spent), status.format_count(b.limit))
      else
        text = string.format('%s (%s of %s spent)', text, status.format_cost(b.spent), status.format_cost(b.limit))
      end
    end
    return message and (text .. ': ' .. message) or text
  elseif reason == 'context_overflow' then
    local c = type(result.context) == 'table' and result.context or {}
    local text = 'the conversation no longer fits the context window'
    if type(c.tokens) == 'number' and type(c.size) == 'number' then
      text = string.format('%s (%s tokens for a %s-token window', text, status.format_count(c.tokens), status.format_count(c.size))
      if type(c.attempts) == 'number' then
        text = text .. string.format(', after %d compaction%s', c.attempts, c.attempts == 1 and '' or 's')
      end
      text = text .. ')'
    end
    return message and (text .. ': ' .. message) or text
  end
  if type(result.error) == 'table' and result.error.message then
    return reason .. ': ' .. tostring(result.error.message)
  end
  return message and (reason .. ': ' .. message) or reason
end

M.stop_text = stop_text

local function finish(chat, err, result)
  chat.busy = false
  chat.request_id = nil
  status.set_busy(chat.session_id, false)
  require('agentls.permission').withdraw(chat.session_id)
  compaction_over(chat)
  if err then
    local message = err.message or vim.inspect(err)
    if err.code == -32001 then
      message = 'the session is busy: wait for it or :AgentlsStop'
    end
    add_note(chat, 'error: ' .. message)
  elseif result and result.stopReason and result.stopReason ~= 'end_turn' then
    add_note(chat, '_(turn ended: ' .. stop_text(result) .. ')_')
  end
  chat.role = nil
  require('agentls.slash').refresh(chat) -- A command file may have been added meanwhile.
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AgentlsTurnEnded', modeline = false })
end

-- Send `text` (default: the prompt area) with optional extra content blocks (attachments).
function M.send(chat, text, attachments)
  chat = chat or M.find()
  if not valid(chat) then
    vim.notify('agentls: no chat; :AgentlsChat opens one', vim.log.levels.WARN)
    return
  end
  local from_area = text == nil or text == ''
  if from_area then
    text = prompt_text(chat)
  end
  if text == '' then
    vim.notify('agentls: the prompt is empty: type it below the separator', vim.log.levels.WARN)
    return
  end
  if chat.busy then
    vim.notify('agentls: the agent is still working: wait, or :AgentlsStop', vim.log.levels.WARN)
    return
  end
  if chat.compacting then
    vim.notify('agentls: the session is being compacted: send when it is done', vim.log.levels.WARN)
    return
  end
  local client = get_client(chat)
  if not client then
    vim.notify('agentls: the server of this chat has stopped', vim.log.levels.ERROR)
    return
  end
  if from_area then
    clear_prompt(chat)
  end
  add_user(chat, text)
  local blocks = { { type = 'text', text = text } }
  for _, block in ipairs(attachments or {}) do
    table.insert(blocks, block)
    if block.type == 'resource' and block.resource then
      insert_lines(chat, { '(attached: ' .. tostring(block.resource.uri) .. ')' })
    end
  end
  chat.busy = true
  M.current = chat
  status.set_busy(chat.session_id, true)
  client_mod.when_ready(client, function()
    local ok, id = compat.request(client, 'agentls/prompt', { sessionId = chat.session_id, prompt = blocks }, function(err, result)
      finish(chat, err, result)
    end)
    if ok then
      chat.request_id = id
    else
      finish(chat, { message = 'could not send the prompt' })
    end
  end)
end

-- :AgentlsCompact [instructions]: replace the earlier conversation with a summary now.
function M.compact(chat, instructions)
  chat = chat or M.find()
  if not valid(chat) then
    vim.notify('agentls: no chat to compact; :AgentlsChat opens one', vim.log.levels.WARN)
    return
  end
  local client = get_client(chat)
  if not client then
    vim.notify('agentls: the server of this chat has stopped', vim.log.levels.ERROR)
    return
  end
  if chat.busy then
    vim.notify('agentls: a turn is running: compact when it has ended (or :AgentlsStop)', vim.log.levels.WARN)
    return
  end
  if chat.compacting then
    vim.notify('agentls: the session is being compacted already', vim.log.levels.INFO)
    return
  end
  local params = { sessionId = chat.session_id }
  if instructions and instructions ~= '' then
    params.instructions = instructions
  end
  chat.compacting = true
  M.current = chat
  local function done(err, result)
    chat.compacting = false
    compaction_over(chat)
    if err then
      if err.code == -32001 then
        vim.notify('agentls: not compacted: a turn is running; compact when it has ended', vim.log.levels.WARN)
      elseif err.code == -32002 then
        vim.notify('agentls: not compacted: the server does not know this session any more', vim.log.levels.ERROR)
      else
        vim.notify('agentls: the compaction failed: ' .. tostring(err.message or vim.inspect(err)), vim.log.levels.ERROR)
      end
    elseif type(result) == 'table' and result.compacted then
      vim.notify(
        string.format(
          'agentls: compacted %s → %s tokens (%s of the window)',
          status.format_count(result.tokensBefore or 0),
          status.format_count(result.tokensAfter or 0),
          status.format_percent(result.tokensAfter, result.size)
        ),
        vim.log.levels.INFO
      )
    else
      vim.notify('agentls: ' .. tostring(type(result) == 'table' and result.message or 'not compacted'), vim.log.levels.INFO)
    end
    status.changed()
    pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AgentlsCompacted', modeline = false })
  end
  client_mod.when_ready(client, function()
    local ok = compat.request(client, 'agentls/compact', params, function(err, result)
      done(err, result)
    end)
    if not ok then
      done({ message = 'could not send the request' })
    end
  end)
end

function M.stop(chat)
  chat = chat or M.find()
  if not valid(chat) then
    vim.notify('agentls: no chat', vim.log.levels.WARN)
    return
  end
  local client = get_client(chat)
  if not client or not chat.busy then
    vim.notify('agentls: nothing to stop', vim.log.levels.INFO)
    return
  end
  compat.notify(client, 'agentls/cancel', { sessionId = chat.session_id })
  add_note(chat, '_(stopping…)_')
end

-- --- Session updates ----------------------------------------------------------------------------

local function content_texts(items)
  local out = {}
  for _, item in ipairs(items or {}) do
    if type(item) == 'table' and item.type == 'content' and type(item.content) == 'table' then
      if type(item.content.text) == 'string' then
        table.insert(out, item.content.text)
      end
    end
  end
  return out
end

local function tool_line(tool)
  -- A subagent's call is indented under the Agent call that runs it (a nested Markdown list).
  local indent = tool.nested and '  ' or ''
  return string.format('%s- [%s] %s', indent, STATUS_LABELS[tool.status] or tostring(tool.status), tool.title)
end

local function is_nested(u)
  local meta = type(u._meta) == 'table' and u._meta.agentls or nil
  return type(meta) == 'table' and meta.parentToolCallId ~= nil
end

local function on_tool_call(chat, u)
  ensure_agent(chat)
  if chat.last == 'text' or chat.last == 'thought' then
    insert_lines(chat, { '' })
  end
  local tool = { title = tostring(u.title or u.kind or 'tool'), status = u.status or 'pending', nested = is_nested(u) }
  local row = insert_lines(chat, { tool_line(tool) })
  tool.mark = mark(chat, row)
  chat.tools[u.toolCallId or ''] = tool
  chat.last = 'tool'
end

local function on_tool_update(chat, u)
  local tool = chat.tools[u.toolCallId or '']
  if not tool then
    on_tool_call(chat, u)
    tool = chat.tools[u.toolCallId or '']
  end
  if u.title then
    tool.title = tostring(u.title)
  end
  if u.status then
    tool.status = u.status
  end
  local row = mark_row(chat, tool.mark)
  set_line(chat, row, tool_line(tool))
  -- For display, not the result: an Agent call's subagent requests, tokens and cost.
  local note = type(u.rawOutput) == 'table' and u.rawOutput.note
  if type(note) == 'string' and note ~= '' then
    vim.api.nvim_buf_set_lines(chat.buf, row + 1, row + 1, false, { '    ' .. note })
  end
  if u.status == 'failed' then
    local first = content_texts(u.content)[1]
    if first then
      local line = vim.split(first, '\n', { plain = true })[1]
      vim.api.nvim_buf_set_lines(chat.buf, row + 1, row + 1, false, { '    ! ' .. line })
    end
  elseif u.status == 'completed' and type(u.content) == 'table' then
    for _, item in ipairs(u.content) do
      if type(item) == 'table' and item.type == 'diff' then
        vim.api.nvim_buf_set_lines(chat.buf, row + 1, row + 1, false, { '    edited ' .. vim.fn.fnamemodify(tostring(item.path), ':~:.') })
      end
    end
  end
end

-- A slash command's report (/cost, /context, …), as an indented block under "/name:". After
-- /clear the transcript shown so far goes, as the conversation went on the server.
local function on_command_output(chat, u)
  if type(u.data) == 'table' and u.data.cleared == true then
    vim.api.nvim_buf_set_lines(chat.buf, 1, sep_row(chat), false, {})
    chat.tools, chat.permissions, chat.compaction, chat.retry = {}, {}, nil, nil
  end
  local lines = { '', (u.level == 'error' and 'error: /' or '/') .. tostring(u.command or '?') .. ':' }
  for _, line in ipairs(vim.split(tostring(u.text or ''), '\n', { plain = true })) do
    table.insert(lines, '    ' .. line)
  end
  insert_lines(chat, lines)
  chat.role = nil
  chat.last = 'command'
end

local function on_plan(chat, u)
  ensure_agent(chat)
  local lines = { '', 'Plan:' }
  local marks = { completed = '[x]', in_progress = '[~]', pending = '[ ]' }
  for _, entry in ipairs(u.entries or {}) do
    table.insert(lines, string.format('  %s %s', marks[entry.status] or '[ ]', tostring(entry.content)))
  end
  insert_lines(chat, lines)
  chat.last = 'plan'
end

function M.on_update(_, params)
  if type(params) ~= 'table' then
    return
  end
  local chat = M.chats[params.sessionId]
  local u = params.update
  if not valid(chat) or type(u) ~= 'table' then
    return
  end
  local kind = u.sessionUpdate
  if kind == 'agent_message_chunk' or kind == 'agent_thought_chunk' then
    local text = type(u.content) == 'table' and u.content.text
    if type(text) ~= 'string' then
      return
    end
    if kind == 'agent_message_chunk' then
      start_block(chat, 'text')
      append_text(chat, text)
    else
      start_block(chat, 'thought')
      append_text(chat, (text:gsub('\n', '\n> ')))
    end
  elseif kind == 'user_message_chunk' then
    local text = type(u.content) == 'table' and u.content.text
    if type(text) == 'string' then
      add_user(chat, text)
    end
  elseif kind == 'tool_call' then
    on_tool_call(chat, u)
  elseif kind == 'tool_call_update' then
    on_tool_update(chat, u)
  elseif kind == 'plan' then
    on_plan(chat, u)
  elseif kind == 'usage_update' then
    status.set_usage(chat.session_id, u)
    chat.usage = status.usage[chat.session_id]
  elseif kind == 'compaction' then
    on_compaction(chat, u)
  elseif kind == 'api_retry' then
    on_api_retry(chat, u)
  elseif kind == 'model_fallback' then
    on_model_fallback(chat, u)
  elseif kind == 'command_output' then
    on_command_output(chat, u)
  elseif kind == 'checkpoint' then
    if u.kind == 'prompt' and chat.last_user and type(u.checkpoint) == 'number' then
      table.insert(chat.checkpoints, { mark = chat.last_user, n = u.checkpoint })
    end
  end
end

-- The checkpoint of the message at or above `row` (0-based) in the chat, if it has one.
function M.checkpoint_at(chat, row)
  local found
  for _, c in ipairs(chat.checkpoints or {}) do
    local at = mark_row(chat, c.mark)
    if at and at <= row then
      found = c.n
    end
  end
  return found
end

-- One line in the transcript (a rewind's outcome).
function M.note(chat, text)
  if valid(chat) then
    add_note(chat, text)
  end
end

-- After a conversation rewind: the transcript again from the server (agentls/loadSession
-- replays it as it now is), and `prompt` back in the prompt area to edit and send.
function M.reload(chat, prompt)
  local client = get_client(chat)
  if not valid(chat) or not client then
    return
  end
  vim.api.nvim_buf_set_lines(chat.buf, 1, sep_row(chat), false, {})
  chat.tools, chat.permissions, chat.checkpoints = {}, {}, {}
  chat.role, chat.last, chat.last_user, chat.compaction = nil, nil, nil, nil
  compat.request(client, 'agentls/loadSession', { sessionId = chat.session_id }, function(err)
    if err then
      add_note(chat, 'error: could not reload the session: ' .. tostring(err.message))
      return
    end
    add_note(chat, '_(rewound: the conversation continues from here)_')
    chat.role = nil
    if type(prompt) == 'string' and prompt ~= '' and valid(chat) then
      vim.api.nvim_buf_set_lines(chat.buf, sep_row(chat) + 1, -1, false, vim.split(prompt, '\n', { plain = true }))
    end
  end)
end

-- --- Permission requests, shown in the chat too -------------------------------------------------

function M.on_permission(req)
  local chat = M.chats[req.session_id]
  if not valid(chat) then
    return
  end
  ensure_agent(chat)
  local lines = { '', '- [permission] ' .. req.title }
  local described = require('agentls.permission').describe(req.params)
  for i = 2, #described do
    table.insert(lines, '    ' .. described[i])
  end
  local row = insert_lines(chat, lines)
  local waiting = 'waiting for your answer (a/A/r/R in the prompt; :AgentlsPermission shows it again)'
  local wrow = insert_lines(chat, { '    ' .. waiting })
  chat.permissions[req.id] = mark(chat, wrow)
  chat.last = 'permission'
  return row
end

function M.on_permission_answer(req, label)
  local chat = M.chats[req.session_id]
  if not valid(chat) or not chat.permissions[req.id] then
    return
  end
  local row = mark_row(chat, chat.permissions[req.id])
  set_line(chat, row, '    answer: ' .. label)
  chat.permissions[req.id] = nil
end

-- --- :AgentlsAsk ----------------------------------------------------------------------------------

-- Ask about lines line1..line2 of `buf` in a new chat; the selection goes along as a resource.
function M.ask(buf, line1, line2, question, with_range)
  local client = client_mod.ensure(buf)
  if not client then
    return
  end
  local attachments = {}
  local name = vim.api.nvim_buf_get_name(buf)
  if with_range and name ~= '' then
    local lines = vim.api.nvim_buf_get_lines(buf, line1 - 1, line2, false)
    local uri = vim.uri_from_bufnr(buf)
    local label = vim.fn.fnamemodify(name, ':.')
    question = string.format('%s\n\n(Selected lines %d-%d of %s.)', question, line1, line2, label)
    table.insert(attachments, { type = 'resource', resource = { uri = uri, text = table.concat(lines, '\n') } })
  elseif name ~= '' then
    table.insert(attachments, { type = 'resource_link', uri = vim.uri_from_bufnr(buf), name = vim.fn.fnamemodify(name, ':t') })
  end
  M.new_session(client, function(chat)
    M.show(chat)
    M.send(chat, question, attachments)
  end)
end

return M
