-- The :Agentls* user commands. Defining them starts nothing; each one runs setup() with the
-- defaults (or vim.g.agentls_options) if it has not run yet.
local M = {}

local function agentls()
  return require('agentls')
end

local function ask(opts)
  local buf = vim.api.nvim_get_current_buf()
  local with_range = opts.range > 0
  local line1, line2 = opts.line1, opts.line2
  local function go(question)
    if question and question ~= '' then
      agentls().ask(question, line1, line2, buf, with_range)
    end
  end
  if opts.args ~= '' then
    go(opts.args)
  else
    vim.ui.input({ prompt = 'Ask agentls: ' }, go)
  end
end

function M.create()
  local cmd = vim.api.nvim_create_user_command
  cmd('AgentlsChat', function(opts)
    if opts.bang then
      agentls().new_chat()
    else
      agentls().chat(opts.args)
    end
  end, { nargs = '*', bang = true, desc = 'agentls: open the chat (! for a new session), optionally sending a prompt' })
  cmd('AgentlsSend', function(opts)
    agentls().send(opts.args)
  end, { nargs = '*', desc = 'agentls: send the prompt area (or the arguments) of the chat' })
  cmd('AgentlsStop', function()
    agentls().stop()
  end, { desc = 'agentls: stop the running turn' })
  cmd('AgentlsCompact', function(opts)
    agentls().compact(opts.args)
  end, { nargs = '*', desc = "agentls: compact the chat's context now, with optional instructions for the summary" })
  cmd('AgentlsAsk', ask, { nargs = '*', range = true, desc = 'agentls: ask about the selected lines in a new chat' })
  cmd('AgentlsSessions', function()
    agentls().sessions()
  end, { desc = 'agentls: list, resume or start sessions' })
  cmd('AgentlsRewind', function(opts)
    local n = opts.args:match('^%s*(%d+)%s*$')
    if opts.args:match('%S') and not n then
      vim.notify('agentls: :AgentlsRewind takes a checkpoint number, not ' .. opts.args, vim.log.levels.ERROR)
      return
    end
    agentls().rewind(tonumber(n))
  end, { nargs = '?', desc = 'agentls: put back what the agent changed since a checkpoint (and/or the conversation)' })
  cmd('AgentlsPermission', function()
    agentls().permission()
  end, { desc = 'agentls: show the waiting permission request again' })
  cmd('AgentlsFindings', function()
    agentls().findings(true)
  end, { desc = 'agentls: put the agent findings in the quickfix list' })
  cmd('AgentlsReview', function(opts)
    local uri
    if opts.args == '%' then
      uri = vim.uri_from_bufnr(0)
    elseif opts.args ~= '' then
      uri = vim.uri_from_fname(vim.fn.fnamemodify(opts.args, ':p'))
    end
    agentls().review(uri)
  end, { nargs = '?', complete = 'file', desc = 'agentls: review a file (or the working tree changes)' })
end

return M
