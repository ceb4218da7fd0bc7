-- Slash commands in the chat buffer: completion of `/name` at the start of the prompt.
--
-- A prompt that starts with `/name` is sent as it is; the server runs the command (see
-- docs/extending.md, "Commands"). This module keeps each chat's command list, from the server's
-- `agentls/listCommands` (refreshed when a chat opens and after every turn), and completes it
-- through the chat buffer's 'omnifunc': type `/` (and part of a name) on the first line of the
-- prompt area, then <C-x><C-o>.
local compat = require('agentls.compat')

local M = {}

M.cache = {} -- session id -> the `commands` of agentls/listCommands

local SYNC_TIMEOUT_MS = 1000

-- Ask the server for the chat's commands (asynchronously); a server without the request has none.
function M.refresh(chat)
  local client = vim.lsp.get_client_by_id(chat.client_id)
  if not client or compat.is_stopped(client) then
    return
  end
  pcall(compat.request, client, 'agentls/listCommands', { sessionId = chat.session_id }, function(err, result)
    if not err and type(result) == 'table' and type(result.commands) == 'table' then
      M.cache[chat.session_id] = result.commands
    end
  end)
end

-- The list now, asking the server (briefly, synchronously) if the cache is still empty.
local function commands_of(chat)
  local cached = M.cache[chat.session_id]
  if cached then
    return cached
  end
  local client = vim.lsp.get_client_by_id(chat.client_id)
  if not client or compat.is_stopped(client) then
    return {}
  end
  local ok, response
  if compat.nvim_011 then
    ok, response = pcall(client.request_sync, client, 'agentls/listCommands', { sessionId = chat.session_id }, SYNC_TIMEOUT_MS)
  else
    ok, response = pcall(client.request_sync, 'agentls/listCommands', { sessionId = chat.session_id }, SYNC_TIMEOUT_MS)
  end
  local result = ok and type(response) == 'table' and response.result or nil
  if type(result) == 'table' and type(result.commands) == 'table' then
    M.cache[chat.session_id] = result.commands
    return result.commands
  end
  return {}
end

-- Where the `/name` being typed starts (a 0-based column) when the text before the cursor is `/`
-- and part of a name at the start of the line; nil otherwise (`//`, a path, after a space).
function M.query(before)
  local lead = before:match('^(%s*)/[%w_.:%-]*$')
  if lead == nil then
    return nil
  end
  return #lead
end

-- Completion items for `base` (`/` and part of a name): names that start with it first, then
-- those that contain it, each group by name; the argument hint and where the command comes from
-- in the menu, the description in the info.
function M.items(commands, base)
  local q = base:gsub('^/', ''):lower()
  local first, rest = {}, {}
  for _, c in ipairs(commands or {}) do
    if type(c) == 'table' and type(c.name) == 'string' and c.name ~= '' then
      local name = c.name:lower()
      local hint = type(c.argumentHint) == 'string' and c.argumentHint or ''
      local label = type(c.label) == 'string' and c.label or ''
      local item = {
        word = '/' .. c.name,
        abbr = hint ~= '' and ('/' .. c.name .. ' ' .. hint) or ('/' .. c.name),
        menu = label,
        info = type(c.description) == 'string' and c.description or '',
        dup = 0,
      }
      if name:sub(1, #q) == q then
        table.insert(first, item)
      elseif q ~= '' and name:find(q, 1, true) then
        table.insert(rest, item)
      end
    end
  end
  local function by_word(a, b)
    return a.word < b.word
  end
  table.sort(first, by_word)
  table.sort(rest, by_word)
  for _, item in ipairs(rest) do
    table.insert(first, item)
  end
  return first
end

-- 'omnifunc' of chat buffers.
function M.omnifunc(findstart, base)
  local chat_mod = require('agentls.chat')
  local buf = vim.api.nvim_get_current_buf()
  local chat = chat_mod.find(buf)
  if not chat or chat.buf ~= buf then
    return findstart == 1 and -3 or {}
  end
  if findstart == 1 then
    local cursor = vim.api.nvim_win_get_cursor(0)
    if cursor[1] - 1 ~= chat_mod.prompt_row(chat) then
      return -3 -- Commands are only completed on the prompt's first line.
    end
    local line = vim.api.nvim_get_current_line()
    local start = M.query(line:sub(1, cursor[2]))
    return start == nil and -3 or start
  end
  return M.items(commands_of(chat), base)
end

-- Make `chat`'s buffer complete commands, and fetch them.
function M.attach(chat)
  compat.set_buf_option(chat.buf, 'omnifunc', "v:lua.require'agentls.slash'.omnifunc")
  M.refresh(chat)
end

return M
