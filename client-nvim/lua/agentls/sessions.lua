-- :AgentlsSessions: pick a stored session to resume (agentls/loadSession) or start a new one.
local client_mod = require('agentls.client')
local compat = require('agentls.compat')

local M = {}

local NEW = { new = true }

function M.format(item)
  if item.new then
    return '+ new session'
  end
  local parts = { tostring(item.sessionId) }
  if type(item.title) == 'string' and item.title ~= '' then
    table.insert(parts, item.title)
  end
  if type(item.updatedAt) == 'number' and item.updatedAt > 0 then
    table.insert(parts, '(' .. os.date('%Y-%m-%d %H:%M', math.floor(item.updatedAt)) .. ')')
  end
  if item.loaded then
    table.insert(parts, '[open]')
  end
  return table.concat(parts, '  ')
end

-- The sessions the server knows, newest first, as items for vim.ui.select (first: "new").
function M.items(result)
  local sessions = {}
  for _, s in ipairs((result and result.sessions) or {}) do
    table.insert(sessions, s)
  end
  -- Open sessions first (the server gives them no time), then the newest stored ones.
  table.sort(sessions, function(a, b)
    if (a.loaded and true or false) ~= (b.loaded and true or false) then
      return a.loaded and true or false
    end
    local ta = type(a.updatedAt) == 'number' and a.updatedAt or 0
    local tb = type(b.updatedAt) == 'number' and b.updatedAt or 0
    if ta ~= tb then
      return ta > tb
    end
    return tostring(a.sessionId) > tostring(b.sessionId)
  end)
  table.insert(sessions, 1, NEW)
  return sessions
end

function M.choose(client, choice)
  local chat = require('agentls.chat')
  if choice == nil then
    return
  end
  if choice.new then
    chat.open_new(client)
  else
    chat.load(client, choice.sessionId, choice.title)
  end
end

function M.pick()
  local client = client_mod.ensure()
  if not client then
    return
  end
  client_mod.when_ready(client, function()
    compat.request(client, 'agentls/listSessions', {}, function(err, result)
      if err then
        vim.notify('agentls: listSessions failed: ' .. tostring(err.message), vim.log.levels.ERROR)
        return
      end
      vim.ui.select(M.items(result), { prompt = 'agentls sessions', kind = 'agentls_session', format_item = M.format }, function(choice)
        M.choose(client, choice)
      end)
    end)
  end)
end

return M
