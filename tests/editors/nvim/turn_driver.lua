-- Drives one whole agent turn through the agentls Neovim plugin, as a user would, and writes
-- what happened to $AGENTLS_TEST_OUT as JSON. Runs inside `nvim --headless` (0.7 or later).
--
-- Steps: load the plugin from a plain runtimepath entry, setup(), open the project file (the
-- client attaches), :AgentlsChat, type the prompt into the chat's prompt area and press <CR>,
-- answer the permission prompt the plugin shows (the float's "a" key, or the vim.ui.select
-- stand-in on 0.9+), wait for the turn to end, then record the buffers and the statusline;
-- then :AgentlsCompact {instructions} (the model writes the summary) and :AgentlsCompact again
-- (nothing left to compact), recording the chat, the notifications and the statusline.
--
-- Nothing here blocks: each step is polled from a timer, so the editor's event loop (LSP
-- messages, typed keys) keeps running. A watchdog writes a failure and quits if a step hangs.
local env = vim.env
local plugin_dir = assert(env.AGENTLS_PLUGIN_DIR)
local file = assert(env.AGENTLS_TEST_FILE)
local prompt = assert(env.AGENTLS_TEST_PROMPT)
-- 'float', 'select', or 'auto' (the plugin's default choice).
local permission_ui = env.AGENTLS_TEST_PERMISSION_UI or 'auto'
-- Replace vim.ui.select as a UI plugin would (the built-in one is the blocking inputlist).
local select_stub = env.AGENTLS_TEST_SELECT_STUB == '1'
-- Extra initializationOptions (JSON), e.g. {"contextWindow": 20000}.
local extra_init = env.AGENTLS_TEST_INIT_OPTIONS and vim.fn.json_decode(env.AGENTLS_TEST_INIT_OPTIONS) or {}
local compact_instructions = env.AGENTLS_TEST_COMPACT_INSTRUCTIONS or 'keep the decisions'

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
local h = dofile(here .. '/harness.lua').new({
  nvim = vim.fn.matchstr(vim.fn.execute('version'), [[NVIM v\zs[^ \n]\+]]),
  steps = {},
  statuses = {},
  permission = {},
  errors = {},
  notifications = {},
}, { log_steps = true })
local result, finish, wait_for, lines_of = h.result, h.finish, h.wait_for, h.lines_of

-- --- Setup: a plain runtimepath install -------------------------------------------------------
vim.opt.runtimepath:prepend(plugin_dir)
vim.cmd('runtime! plugin/agentls.lua')
result.commands_before_setup = vim.fn.exists(':AgentlsChat') == 2
result.clients_before_setup = #(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients())

pcall((vim.lsp.log and vim.lsp.log.set_level) or vim.lsp.set_log_level, 'debug')

if select_stub then
  -- Stands in for a vim.ui.select UI plugin (the built-in one is the blocking inputlist):
  -- records what the plugin asked and picks "allow_once" a moment later, as a user would.
  vim.ui.select = function(items, opts, on_choice)
    local labels = {}
    for _, item in ipairs(items) do
      table.insert(labels, opts.format_item and opts.format_item(item) or tostring(item))
    end
    table.insert(result.permission, { kind = opts.kind, prompt = opts.prompt, items = items, labels = labels })
    vim.defer_fn(function()
      for _, item in ipairs(items) do
        if item == 'allow_once' then
          return on_choice(item, 1)
        end
      end
      on_choice(nil, nil)
    end, 100)
  end
end

-- Record what the plugin tells the user.
local builtin_notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(result.notifications, { msg = tostring(msg), level = level })
  return builtin_notify(msg, level, opts)
end

local agentls = require('agentls')
agentls.setup({
  cmd = { env.AGENTLS_CMD },
  init_options = vim.tbl_extend('force', { maxTurns = 8 }, extra_init),
  permission_ui = permission_ui ~= 'auto' and permission_ui or nil,
})
result.permission_ui = require('agentls.config').permission_ui()

-- Record the statusline text every time the plugin says it changed (User AgentlsStatus).
vim.api.nvim_create_autocmd('User', {
  pattern = 'AgentlsStatus',
  callback = function()
    local text = agentls.status()
    if text ~= '' and result.statuses[#result.statuses] ~= text then
      table.insert(result.statuses, text)
    end
  end,
})

vim.cmd('edit ' .. vim.fn.fnameescape(file))
local file_buf = vim.api.nvim_get_current_buf()
local compat = require('agentls.compat')

local function agentls_client()
  return compat.get_clients({ name = 'agentls', bufnr = file_buf })[1]
end

local chat_buf

-- The first notification since #result.notifications was `since` whose text holds `needle`.
local function notified(since, needle)
  for i = since + 1, #result.notifications do
    if result.notifications[i].msg:find(needle, 1, true) then
      return result.notifications[i].msg
    end
  end
end

local function usage()
  return vim.deepcopy(require('agentls.status').usage[vim.b[chat_buf].agentls_session])
end

local function compact_again()
  local since = #result.notifications
  vim.cmd('AgentlsCompact')
  wait_for('second :AgentlsCompact answered', function()
    return notified(since, 'agentls: not compacted') or notified(since, 'agentls: compacted')
  end, function(msg)
    result.compact_again = msg
    finish(true, nil)
  end)
end

local function compact()
  local since = #result.notifications
  vim.cmd('AgentlsCompact ' .. compact_instructions)
  wait_for('compaction started', function()
    for _, line in ipairs(lines_of(chat_buf)) do
      if line:find('compacting the context', 1, true) then
        return line
      end
    end
  end, function(line)
    result.compaction_started_line = line
    result.status_while_compacting = agentls.status()
    wait_for('compaction notified', function()
      return notified(since, 'agentls: compacted') or notified(since, 'agentls: not compacted')
    end, function(msg)
      result.compact_notification = msg
      result.chat_after_compact = lines_of(chat_buf)
      result.status_after_compact = agentls.status()
      result.context_after_compact = agentls.context()
      result.usage_after_compact = usage()
      compact_again()
    end)
  end)
end

local function after_turn()
  local chat = require('agentls.chat').chats[vim.b[chat_buf].agentls_session]
  result.file_lines = lines_of(file_buf)
  result.file_modified = vim.bo[file_buf].modified
  result.chat_lines = lines_of(chat_buf)
  result.chat_busy = chat and chat.busy
  result.status_after = agentls.status()
  result.context_after = agentls.context()
  result.usage_after = usage()
  result.pending_permissions = #require('agentls.permission').pending
  result.offset_encoding = agentls_client() and agentls_client().offset_encoding
  compact()
end

local function wait_turn_end()
  wait_for('turn end', function()
    local chat = require('agentls.chat').chats[vim.b[chat_buf].agentls_session]
    return chat and not chat.busy and result.sent
  end, after_turn)
end

local function answer_permission()
  wait_for('permission prompt', function()
    if #result.permission > 0 then
      return 'select' -- The vim.ui.select stand-in got it and answers by itself.
    end
    local win = vim.api.nvim_get_current_win()
    local buf = vim.api.nvim_win_get_buf(win)
    if vim.bo[buf].filetype == 'agentls-permission' then
      return { buf = buf, win = win }
    end
  end, function(prompt_win)
    if prompt_win == 'select' then
      return wait_turn_end()
    end
    local cfg = vim.api.nvim_win_get_config(prompt_win.win)
    table.insert(result.permission, { lines = lines_of(prompt_win.buf), floating = cfg.relative ~= '' })
    -- Before answering: the chat kept streaming while the prompt is open (the editor is not
    -- blocked), and the status line says we are waiting.
    result.status_while_asking = agentls.status()
    vim.api.nvim_input('a')
    wait_turn_end()
  end)
end

local function type_prompt()
  -- Go to the last line (the prompt area), type the prompt, leave insert mode, press <CR>.
  local keys = 'G' .. 'A' .. prompt:gsub('<', '<lt>') .. '<Esc>' .. '<CR>'
  vim.api.nvim_input(keys)
  wait_for('prompt sent', function()
    local chat = require('agentls.chat').chats[vim.b[chat_buf].agentls_session]
    if chat and chat.busy then
      result.sent = true
      return true
    end
  end, answer_permission)
end

local function open_chat(client)
  result.client_name = client.name
  result.experimental = client.config.capabilities and client.config.capabilities.experimental
  vim.cmd('AgentlsChat')
  wait_for('chat buffer', function()
    local buf = vim.api.nvim_get_current_buf()
    if vim.b[buf].agentls_session then
      return buf
    end
  end, function(buf)
    chat_buf = buf
    result.chat_name = vim.api.nvim_buf_get_name(buf)
    result.windows = #vim.api.nvim_tabpage_list_wins(0)
    type_prompt()
  end)
end

wait_for('client attached and initialized', function()
  local client = agentls_client()
  return client and client.initialized and client
end, open_chat)
