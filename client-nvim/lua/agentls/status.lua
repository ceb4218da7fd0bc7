-- What the agent is doing, for a statusline: require('agentls').status().
--
-- Fed by the server's work-done progress (the LspProgress autocmd on 0.10+, our $/progress
-- handler on 0.7-0.9), by pending permission prompts and by chats waiting for a reply.
local M = {}

M.progress = {} -- "client_id:token" -> { title, message, done }
M.busy = {} -- session id -> true while a prompt request is running
M.waiting = 0 -- permission prompts not answered yet

local function changed()
  pcall(vim.cmd, 'redrawstatus')
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AgentlsStatus', modeline = false })
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

-- "" when idle, else a short text such as "agentls: Edit app.py".
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
