-- :AgentlsRewind in a real Neovim (0.7 or later): a turn whose model edits the open file (through
-- the editor) and creates a file with Bash (bypassPermissions: no prompt). First :AgentlsRewind
-- from the file's window: the checkpoints are picked from (vim.ui.select, stubbed as a UI plugin
-- would be), the prompt's is taken, its plan is shown and "Cancel" changes nothing. Then
-- :AgentlsRewind with the cursor on the prompt's message in the chat: the plan is shown again,
-- "Code and conversation" is picked; the open buffer shows the original text, the file is gone,
-- the chat is replayed without the prompt, and the prompt is back in the prompt area; then `u` in
-- the file's buffer brings the agent's version back.
-- Results go to $AGENTLS_TEST_OUT as JSON.
local env = vim.env
local file = assert(env.AGENTLS_TEST_FILE)
local made = assert(env.AGENTLS_TEST_MADE)
local prompt = assert(env.AGENTLS_TEST_PROMPT)

local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
local h = dofile(here .. '/harness.lua').new({ steps = {}, errors = {}, asked = {}, answered = 0, notifications = {} })
local result, finish, wait_for, lines_of = h.result, h.finish, h.wait_for, h.lines_of

h.load_plugin()

-- A vim.ui.select UI: records each question, picks what the test wants: per kind, in turn, the
-- item whose label holds the text.
local picks = {
  agentls_checkpoint = { 'prompt: ' .. prompt },
  agentls_rewind = { 'Cancel', 'Code and conversation' },
}
vim.ui.select = function(items, opts, on_choice)
  local labels = {}
  for _, item in ipairs(items) do
    table.insert(labels, opts.format_item and opts.format_item(item) or tostring(item))
  end
  table.insert(result.asked, { kind = opts.kind, prompt = opts.prompt, labels = labels })
  local want = table.remove(picks[opts.kind] or {}, 1)
  vim.defer_fn(function()
    result.answered = result.answered + 1
    for i, label in ipairs(labels) do
      if want and label:find(want, 1, true) then
        return on_choice(items[i], i)
      end
    end
    on_choice(nil, nil)
  end, 50)
end
local builtin_notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(result.notifications, tostring(msg))
  return builtin_notify(msg, level, opts)
end

local agentls = require('agentls')
agentls.setup({ cmd = { env.AGENTLS_CMD }, init_options = { permissionMode = 'bypassPermissions' } })

vim.cmd('edit ' .. vim.fn.fnameescape(file))
local file_buf = vim.api.nvim_get_current_buf()
result.before = lines_of(file_buf)
local chat_mod = require('agentls.chat')

local function chat_text(chat)
  return table.concat(lines_of(chat.buf), '\n')
end

-- A user's typing closes the undo block of the changes before it; a script has to say so, or the
-- agent's edit and the rewind (both made without a key typed between) would be one undo step.
local function close_undo_block()
  vim.api.nvim_buf_call(file_buf, function()
    vim.cmd('let &l:undolevels = &l:undolevels')
  end)
end

local function undo()
  close_undo_block()
  vim.cmd('buffer ' .. file_buf)
  vim.cmd('normal! u')
  result.after_undo = lines_of(file_buf)
  finish(true, nil)
end

local function rewound(chat)
  wait_for('rewind done', function()
    return chat_text(chat):find('rewound: the conversation continues from here', 1, true) and chat
  end, function()
    result.after_rewind = lines_of(file_buf)
    result.chat_after = lines_of(chat.buf)
    result.prompt_area = vim.api.nvim_buf_get_lines(chat.buf, chat_mod.prompt_row(chat), -1, false)
    undo()
  end)
end

local function rewind(chat)
  vim.api.nvim_set_current_win(vim.fn.bufwinid(chat.buf))
  close_undo_block()
  -- The cursor on the prompt's message: :AgentlsRewind takes its checkpoint.
  for i, line in ipairs(lines_of(chat.buf)) do
    if line == prompt then
      vim.api.nvim_win_set_cursor(0, { i, 0 })
      break
    end
  end
  result.checkpoint_at_cursor = chat_mod.checkpoint_at(chat, vim.api.nvim_win_get_cursor(0)[1] - 1)
  vim.cmd('AgentlsRewind')
  rewound(chat)
end

-- From the file's window (no message under the cursor): the picker, the plan, then "Cancel".
local function cancelled(chat)
  vim.api.nvim_set_current_win(vim.fn.bufwinid(file_buf))
  vim.cmd('AgentlsRewind')
  wait_for('cancelled', function()
    -- The checkpoint picker and the plan were both answered (the plan with "Cancel").
    return result.answered == 2 and #result.asked == 2
  end, function()
    vim.defer_fn(function()
      result.after_cancel = lines_of(file_buf)
      result.made_after_cancel = vim.loop.fs_stat(made) ~= nil
      local ok, err = pcall(rewind, chat)
      if not ok then
        table.insert(result.errors, tostring(err))
        finish(false, 'error after cancelled: ' .. tostring(err))
      end
    end, 500)
  end)
end

wait_for('client', function()
  return require('agentls.compat').get_clients({ name = 'agentls', bufnr = file_buf })[1]
end, function()
  vim.cmd('AgentlsChat')
  wait_for('chat', function()
    return vim.b[vim.api.nvim_get_current_buf()].agentls_session and chat_mod.find()
  end, function(chat)
    chat_mod.send(chat, prompt)
    wait_for('turn ended', function()
      return not chat.busy and chat_text(chat):find('REWIND-TURN-DONE', 1, true)
    end, function()
      result.after_turn = lines_of(file_buf)
      result.chat_before = lines_of(chat.buf)
      cancelled(chat)
    end)
  end)
end)
