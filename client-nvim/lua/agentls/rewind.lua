-- :AgentlsRewind [N]: put back what the agent changed since a checkpoint, and/or rewind the
-- conversation to it (see :help agentls-rewind). The server plans and does it (agentls/rewind);
-- this module picks the checkpoint, shows the plan and asks.
local client_mod = require('agentls.client')
local compat = require('agentls.compat')

local M = {}

M.CHOICES = {
  { part = 'both', label = 'Code and conversation' },
  { part = 'code', label = 'Code only' },
  { part = 'conversation', label = 'Conversation only' },
  { cancel = true, label = 'Cancel' },
}

local VERBS = { restore = 'restore', delete = 'remove', create = 'bring back' }

-- A checkpoint's time (the server's ISO 8601 with an offset, UTC) in local time: "HH:MM" today,
-- else "YYYY-MM-DD HH:MM"; '' when it cannot be read.
function M.local_time(iso, now)
  if type(iso) ~= 'string' then
    return ''
  end
  local y, mo, d, h, mi, s = iso:match('^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)')
  if not y then
    return ''
  end
  local sign, oh, om = iso:match('([+-])(%d%d):?(%d%d)$')
  local offset = sign and ((tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == '-' and -1 or 1)) or 0
  -- os.time reads the fields as local time; the local zone's offset from UTC turns that into UTC.
  local as_local = os.time({
    year = tonumber(y),
    month = tonumber(mo),
    day = tonumber(d),
    hour = tonumber(h),
    min = tonumber(mi),
    sec = tonumber(s),
  })
  local as_utc = os.date('!*t', as_local)
  as_utc.isdst = os.date('*t', as_local).isdst
  local epoch = as_local + os.difftime(as_local, os.time(as_utc)) - offset
  now = now or os.time()
  if os.date('%Y-%m-%d', epoch) == os.date('%Y-%m-%d', now) then
    return os.date('%H:%M', epoch)
  end
  return os.date('%Y-%m-%d %H:%M', epoch)
end

-- One line per checkpoint for the picker.
function M.format_checkpoint(c)
  local files = #(c.files or {})
  local changed = files == 0 and 'nothing changed after it' or (files .. ' file(s) changed after it')
  local at = M.local_time(c.at)
  local what = c.kind == 'prompt' and 'prompt' or (c.kind == 'subagent' and '  subagent' or tostring(c.kind))
  return string.format('%d  %s  %s: %s  (%s)', c.n, at, what, tostring(c.label or ''), changed)
end

-- The plan of a dry run, as lines for the question.
function M.preview_lines(plan)
  local lines = { string.format('Rewind to checkpoint %d (%s)?', plan.to, tostring(plan.label or '')) }
  local any = false
  for _, f in ipairs(plan.files or {}) do
    if VERBS[f.action] then
      table.insert(lines, string.format('  %s %s', VERBS[f.action], f.path))
      any = true
    end
  end
  for _, f in ipairs(plan.files or {}) do
    if f.action == 'conflict' then
      table.insert(lines, string.format('  CONFLICT %s: %s (kept unless you overwrite it)', f.path, tostring(f.why)))
    elseif f.action == 'not_restorable' then
      table.insert(lines, string.format('  cannot restore %s: %s', f.path, tostring(f.why)))
    end
  end
  if not any and #(plan.conflicts or {}) == 0 then
    table.insert(lines, '  no file to change')
  end
  return lines
end

-- The choices the plan allows: a subagent's checkpoint is code only.
function M.choices(plan)
  local out = {}
  for _, c in ipairs(M.CHOICES) do
    if c.cancel or plan.kind == 'prompt' or c.part == 'code' then
      table.insert(out, c)
    end
  end
  return out
end

local function notify(text, level)
  vim.notify('agentls: ' .. text, level or vim.log.levels.INFO)
end

local function request(client, method, params, on_result)
  compat.request(client, method, params, function(err, result)
    if err then
      notify(tostring(err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    on_result(result)
  end)
end

local function done(chat, result, plan)
  local chat_mod = require('agentls.chat')
  local level = (#(result.kept or {}) > 0) and vim.log.levels.WARN or vim.log.levels.INFO
  notify(tostring(result.message), level)
  if result.conversation then
    -- The conversation continues from before that prompt: show it so, and give the prompt back.
    chat_mod.reload(chat, plan.prompt)
  else
    chat_mod.note(chat, '_(' .. tostring(result.message) .. ')_')
  end
end

-- Dry run, show the plan, ask what to restore (and about conflicts), then rewind.
function M.plan(client, chat, n)
  local session = chat.session_id
  request(client, 'agentls/rewind', { sessionId = session, to = n, part = 'both', dryRun = true }, function(plan)
    local prompt = table.concat(M.preview_lines(plan), '\n')
    vim.ui.select(M.choices(plan), {
      prompt = prompt,
      kind = 'agentls_rewind',
      format_item = function(c)
        return c.label
      end,
    }, function(choice)
      if choice == nil or choice.cancel then
        return
      end
      local function go(overwrite)
        local params = { sessionId = session, to = n, part = choice.part, overwrite = overwrite }
        request(client, 'agentls/rewind', params, function(result)
          done(chat, result, plan)
        end)
      end
      local conflicts = plan.conflicts or {}
      if #conflicts == 0 or choice.part == 'conversation' then
        return go({})
      end
      local options = { 'Keep their changes', 'Overwrite them' }
      vim.ui.select(options, {
        prompt = 'Changed by someone else after the agent: ' .. table.concat(conflicts, ', '),
        kind = 'agentls_rewind_conflicts',
      }, function(answer)
        if answer ~= nil then
          go(answer == 'Overwrite them' and conflicts or {})
        end
      end)
    end)
  end)
end

-- :AgentlsRewind [N]: the chat's session (the current one); N given, no picker; the cursor on a
-- message of the chat picks that message's checkpoint.
function M.run(n)
  local chat_mod = require('agentls.chat')
  local chat = chat_mod.find()
  if not chat then
    notify('no chat to rewind; :AgentlsChat or :AgentlsSessions opens one', vim.log.levels.WARN)
    return
  end
  if chat.busy then
    notify('a turn is running: rewind when it has ended (or :AgentlsStop)', vim.log.levels.WARN)
    return
  end
  local client = vim.lsp.get_client_by_id(chat.client_id)
  if not client then
    notify('the server of this chat is not running', vim.log.levels.ERROR)
    return
  end
  if n == nil and vim.api.nvim_get_current_buf() == chat.buf then
    n = chat_mod.checkpoint_at(chat, vim.api.nvim_win_get_cursor(0)[1] - 1)
  end
  client_mod.when_ready(client, function()
    if n ~= nil then
      return M.plan(client, chat, n)
    end
    request(client, 'agentls/listCheckpoints', { sessionId = chat.session_id }, function(result)
      local items = {}
      for i = #(result.checkpoints or {}), 1, -1 do -- Newest first.
        table.insert(items, result.checkpoints[i])
      end
      if #items == 0 then
        return notify('this session has no checkpoints yet')
      end
      vim.ui.select(items, { prompt = 'Rewind to', kind = 'agentls_checkpoint', format_item = M.format_checkpoint }, function(c)
        if c ~= nil then
          M.plan(client, chat, c.n)
        end
      end)
    end)
  end)
end

return M
