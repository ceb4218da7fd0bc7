-- What the agent is doing, and how full its context is, for a statusline:
-- require('agentls').status() and require('agentls').context().
--
-- Fed by the server's work-done progress (the LspProgress autocmd on 0.10+, our $/progress
-- handler on 0.7-0.9), by pending permission prompts, by chats waiting for a reply, and by the
-- server's usage_update session updates (the context in use, the window, the session's cost).
-- Reading it sends nothing to the server: a statusline may call it at every redraw.
local M = {}

M.progress = {} -- "client_id:token" -> { title, message, done }
M.busy = {} -- session id -> true while a prompt request is running
M.waiting = 0 -- permission prompts not answered yet
M.usage = {} -- session id -> { used, size, cost, currency } (cost nil: the price is unknown)

local function changed()
  -- Every window's statusline may show it (the context of the most recent chat, too).
  pcall(vim.cmd, 'redrawstatus!')
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AgentlsStatus', modeline = false })
end

M.changed = changed

-- --- Formatting ---------------------------------------------------------------------------------

-- 150000 -> "150,000"
function M.format_count(n)
  local digits = tostring(math.floor((tonumber(n) or 0) + 0.5))
  local sign, rest = digits:match('^(-?)(%d+)$')
  if not rest then
    return digits
  end
  local grouped = rest:reverse():gsub('(%d%d%d)', '%1,'):reverse():gsub('^,', '')
  return sign .. grouped
end

-- The share of the window in use: "42%", "<1%" for a little, "0%" for nothing.
function M.format_percent(used, size)
  if type(used) ~= 'number' or type(size) ~= 'number' or size <= 0 or used <= 0 then
    return '0%'
  end
  local percent = used * 100 / size
  if percent < 1 then
    return '<1%'
  end
  return string.format('%d%%', math.floor(percent + 0.5))
end

-- "$0.43"; four decimals below a cent ("$0.0012").
function M.format_cost(amount, currency)
  local symbol = (currency == nil or currency == 'USD') and '$' or (tostring(currency) .. ' ')
  if amount > 0 and amount < 0.01 then
    return symbol .. string.format('%.4f', amount)
  end
  return symbol .. string.format('%.2f', amount)
end

-- --- Usage ----------------------------------------------------------------------------------------

-- A usage_update of `session_id`. One after an API call carries `request`/`session`; one after a
-- compaction or at the end of agentls/loadSession only `used`, `size` and maybe `cost`.
function M.set_usage(session_id, u)
  if type(session_id) ~= 'string' or type(u) ~= 'table' then
    return
  end
  local entry = M.usage[session_id] or {}
  if type(u.used) == 'number' then
    entry.used = u.used
  end
  if type(u.size) == 'number' then
    entry.size = u.size
  end
  if type(u.cost) == 'table' and type(u.cost.amount) == 'number' then
    entry.cost = u.cost.amount
    entry.currency = type(u.cost.currency) == 'string' and u.cost.currency or 'USD'
  elseif type(u.request) == 'table' then
    -- An API call without a cost: the model's price is unknown. (A context-only update may
    -- just not repeat the cost: the earlier one holds.)
    entry.cost = nil
  end
  M.usage[session_id] = entry
  changed()
end

-- "42% ctx · $0.43" for `session_id` ("42% ctx" when the cost is unknown), "" before the first
-- usage_update.
function M.context(session_id)
  local u = session_id and M.usage[session_id]
  if not u or type(u.used) ~= 'number' or type(u.size) ~= 'number' then
    return ''
  end
  local text = M.format_percent(u.used, u.size) .. ' ctx'
  if type(u.cost) == 'number' then
    text = text .. ' · ' .. M.format_cost(u.cost, u.currency)
  end
  return text
end

-- The session the statusline reports on: the chat in the current buffer, else the chat most
-- recently opened or used.
local function shown_session()
  local chat = package.loaded['agentls.chat']
  if type(chat) ~= 'table' or type(chat.find) ~= 'function' then
    return nil
  end
  local ok, found = pcall(chat.find)
  return ok and found and found.session_id or nil
end

function M.current_context()
  return M.context(shown_session())
end

function M.on_progress(client_id, token, value)
  if type(value) ~= 'table' then
    return
  end
  local client = vim.lsp.get_client_by_id(client_id)
  if not client or client.name ~= 'agentls' then
    return
  end
  local key = tostring(client_id) .. ':' .. tostring(token)
  if value.kind == 'begin' then
    M.progress[key] = { title = value.title, message = value.message }
  elseif value.kind == 'report' then
    local entry = M.progress[key] or {}
    if value.message then
      entry.message = value.message
    end
    M.progress[key] = entry
  elseif value.kind == 'end' then
    M.progress[key] = nil
  end
  changed()
end

function M.set_busy(session_id, busy)
  M.busy[session_id] = busy or nil
  changed()
end

function M.add_waiting(delta)
  M.waiting = math.max(0, M.waiting + delta)
  changed()
end

-- While the agent works, a short text such as "agentls: Edit app.py"; when it is idle, the
-- context of the current chat ("agentls 42% ctx · $0.43"); "" when there is nothing to say.
function M.text()
  if M.waiting > 0 then
    return 'agentls: waiting for permission'
  end
  local message
  for _, entry in pairs(M.progress) do
    message = entry.message or entry.title
    if message then
      break
    end
  end
  if message then
    return 'agentls: ' .. message
  end
  if next(M.busy) then
    return 'agentls: working'
  end
  local context = M.current_context()
  if context ~= '' then
    return 'agentls ' .. context
  end
  return ''
end

-- 0.10+: the LspProgress autocmd carries every client's $/progress.
function M.watch_lsp_progress()
  if vim.fn.has('nvim-0.10') ~= 1 then
    return
  end
  local group = vim.api.nvim_create_augroup('agentls_progress', { clear = true })
  vim.api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(ev)
      local data = ev.data or {}
      local params = data.params or data.result
      if params then
        M.on_progress(data.client_id, params.token, params.value)
      end
    end,
  })
end

return M
