-- agentls/requestPermission (ACP session/request_permission): ask the user without blocking.
--
-- Neovim 0.9+ runs server-request handlers in a coroutine: the handler yields and is resumed
-- with the answer. Neovim 0.7 calls handlers synchronously and sends their return value at once,
-- so there the handler returns a placeholder, the client's RPC writer holds it back, and the real
-- answer goes out under the same request id when the user picks (see `deferred_writer`). Either
-- way the editor keeps running while the prompt is open: the chat streams, other requests are
-- answered, and the user can look around before answering.
local compat = require('agentls.compat')
local config = require('agentls.config')
local status = require('agentls.status')

local M = {}

M.pending = {} -- open prompts, oldest first
local next_id = 0

local KEYS = {
  a = 'allow_once',
  A = 'allow_always',
  r = 'reject_once',
  R = 'reject_always',
}
local KEY_ORDER = { 'a', 'A', 'r', 'R' }

local function fire(pattern, data)
  M.last_event = { pattern = pattern, data = data }
  local opts = { pattern = pattern, modeline = false }
  if compat.nvim_09 then
    opts.data = data -- autocmd data needs 0.8+
  end
  pcall(vim.api.nvim_exec_autocmds, 'User', opts)
end

local function option_name(req, option_id)
  for _, option in ipairs(req.options) do
    if option.optionId == option_id then
      return option.name or option_id
    end
  end
  return option_id
end

-- The prompt's text: title, reason and diff from the request's tool call content.
function M.describe(params)
  local call = params.toolCall or {}
  local lines = { 'agentls wants to run: ' .. tostring(call.title or call.kind or 'a tool') }
  for _, item in ipairs(call.content or {}) do
    local text = type(item) == 'table' and type(item.content) == 'table' and item.content.text
    if type(text) == 'string' then
      for _, line in ipairs(vim.split(text, '\n', { plain = true })) do
        table.insert(lines, line)
      end
    end
  end
  return lines
end

-- --- Neovim 0.7: answering a server request after its handler returned --------------------------

local writers = setmetatable({}, { __mode = 'k' })

-- On 0.7 `client.rpc` keeps its writer in the upvalue `encode_and_send` shared by its request,
-- notify and response closures. We wrap it once per client: a response carrying our placeholder
-- is held back (remembering its id), and the real answer is written later with that id.
local function deferred_writer(client)
  local rpc = client and client.rpc
  if type(rpc) ~= 'table' or type(rpc.notify) ~= 'function' or not debug or not debug.getupvalue then
    return nil
  end
  if writers[rpc] then
    return writers[rpc]
  end
  local index, original
  for i = 1, 60 do
    local name, value = debug.getupvalue(rpc.notify, i)
    if name == nil then
      break
    end
    if name == 'encode_and_send' and type(value) == 'function' then
      index, original = i, value
      break
    end
  end
  if not index then
    return nil
  end
  local writer = { ids = {}, answers = {} }
  local function send(id, result)
    return original({ id = id, jsonrpc = '2.0', result = result })
  end
  debug.setupvalue(rpc.notify, index, function(payload)
    local held = type(payload) == 'table' and payload.id ~= nil and type(payload.result) == 'table'
      and payload.result.__agentls_deferred
    if held then
      local answer = writer.answers[held]
      if answer ~= nil then
        writer.answers[held] = nil
        return send(payload.id, answer)
      end
      writer.ids[held] = payload.id
      return true
    end
    return original(payload)
  end)
  -- `encode_and_send` is never reassigned in rpc.lua, so LuaJIT treats it as an immutable upvalue
  -- and compiled code (a trace through `send_response`, once enough server requests were
  -- answered) has the original writer baked in as a constant: debug.setupvalue does not reach
  -- it, and the placeholder would go out as the answer (the server reads it as a dismissal).
  -- Dropping the compiled code makes every later trace see the wrapper.
  if type(jit) == 'table' and type(jit.flush) == 'function' then
    pcall(jit.flush)
  end
  function writer.placeholder(token)
    return { __agentls_deferred = token }
  end
  function writer.answer(token, result)
    local id = writer.ids[token]
    if id == nil then
      writer.answers[token] = result
      return
    end
    writer.ids[token] = nil
    send(id, result)
  end
  writers[rpc] = writer
  return writer
end

-- --- The prompt --------------------------------------------------------------------------------

local function remove(req)
  for i, other in ipairs(M.pending) do
    if other == req then
      table.remove(M.pending, i)
      status.add_waiting(-1)
      return
    end
  end
end

local function close_float(req)
  if req.win and vim.api.nvim_win_is_valid(req.win) then
    pcall(vim.api.nvim_win_close, req.win, true)
  end
  req.win = nil
  if req.buf and vim.api.nvim_buf_is_valid(req.buf) then
    pcall(vim.api.nvim_buf_delete, req.buf, { force = true })
  end
  req.buf = nil
end

-- Answer a prompt: option id such as "allow_once", or nil for "cancelled" (dismissed).
function M.answer(req, option_id)
  if req.done then
    return
  end
  req.done = true
  close_float(req)
  remove(req)
  local outcome
  if option_id then
    outcome = { outcome = 'selected', optionId = option_id }
  else
    outcome = { outcome = 'cancelled' }
  end
  local chat = require('agentls.chat')
  chat.on_permission_answer(req, option_id and option_name(req, option_id) or 'dismissed')
  req.reply({ outcome = outcome })
  fire('AgentlsPermissionAnswered', { option = option_id, session = req.session_id })
end

-- The turn ended (or was cancelled) while a prompt was open: the server has withdrawn it.
function M.withdraw(session_id)
  local open = {}
  for _, req in ipairs(M.pending) do
    table.insert(open, req)
  end
  for _, req in ipairs(open) do
    if req.session_id == session_id and not req.done then
      req.done = true
      close_float(req)
      remove(req)
      require('agentls.chat').on_permission_answer(req, 'withdrawn (the turn ended)')
      pcall(req.reply, { outcome = { outcome = 'cancelled' } })
    end
  end
end

function M.open_float(req)
  close_float(req)
  local lines = M.describe(req.params)
  table.insert(lines, '')
  local keys = {}
  for _, key in ipairs(KEY_ORDER) do
    table.insert(keys, string.format('[%s] %s', key, option_name(req, KEYS[key])))
  end
  table.insert(lines, table.concat(keys, '  '))
  table.insert(lines, '[q] answer later (:AgentlsPermission)')
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  compat.set_buf_option(buf, 'modifiable', false)
  compat.set_buf_option(buf, 'bufhidden', 'wipe')
  compat.set_buf_option(buf, 'filetype', 'agentls-permission')
  local width = 20
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  width = math.min(width + 2, math.max(20, vim.o.columns - 4))
  local height = math.min(#lines, math.max(3, vim.o.lines - 6))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
    style = 'minimal',
    border = 'rounded',
  })
  compat.set_win_option(win, 'wrap', true)
  req.buf, req.win = buf, win
  for key, option_id in pairs(KEYS) do
    vim.keymap.set('n', key, function()
      M.answer(req, option_id)
    end, { buffer = buf, nowait = true, desc = 'agentls: ' .. option_id })
  end
  for _, key in ipairs({ 'q', '<Esc>' }) do
    vim.keymap.set('n', key, function()
      close_float(req)
    end, { buffer = buf, nowait = true, desc = 'agentls: answer later' })
  end
end

local function open_select(req)
  local items = {}
  for _, key in ipairs(KEY_ORDER) do
    table.insert(items, KEYS[key])
  end
  local prompt = table.concat(M.describe(req.params), '\n')
  vim.ui.select(items, {
    prompt = prompt,
    kind = 'agentls_permission',
    format_item = function(option_id)
      return option_name(req, option_id)
    end,
  }, function(choice)
    -- Dismissing the picker is a rejection, as the server documents.
    M.answer(req, choice)
  end)
end

function M.show(req)
  if req.done then
    return
  end
  if config.permission_ui() == 'select' then
    open_select(req)
  else
    M.open_float(req)
  end
  fire('AgentlsPermissionRequest', { session = req.session_id, title = req.title })
end

-- :AgentlsPermission: show the oldest open prompt again.
function M.reopen()
  local req = M.pending[1]
  if not req then
    vim.notify('agentls: no permission request is waiting', vim.log.levels.INFO)
    return
  end
  M.show(req)
end

-- The `agentls/requestPermission` handler.
function M.handle(_, params, ctx)
  params = params or {}
  next_id = next_id + 1
  local call = params.toolCall or {}
  local req = {
    id = next_id,
    client_id = ctx.client_id,
    session_id = params.sessionId,
    params = params,
    title = call.title or 'a tool',
    options = params.options or {},
  }
  table.insert(M.pending, req)
  status.add_waiting(1)
  require('agentls.chat').on_permission(req)

  local in_co, co = compat.in_coroutine()
  if in_co then
    req.reply = function(result)
      vim.schedule(function()
        coroutine.resume(co, result)
      end)
    end
    vim.schedule(function()
      M.show(req)
    end)
    return coroutine.yield()
  end

  local writer = deferred_writer(vim.lsp.get_client_by_id(ctx.client_id))
  if writer then
    local token = 'p' .. next_id
    req.reply = function(result)
      writer.answer(token, result)
    end
    vim.schedule(function()
      M.show(req)
    end)
    return writer.placeholder(token)
  end

  -- No way to answer later: ask now, blocking (a keypress from a float, not inputlist).
  local answer
  req.reply = function(result)
    answer = result
  end
  M.open_float(req)
  vim.cmd('redraw')
  while answer == nil do
    local ok, key = pcall(vim.fn.getcharstr)
    if not ok then
      M.answer(req, nil)
    elseif KEYS[key] then
      M.answer(req, KEYS[key])
    elseif key == 'q' or key == '\27' then
      M.answer(req, nil)
    end
  end
  return answer
end

return M
