-- Agent findings: the server publishes them as diagnostics with source "agentls", so they are in
-- vim.diagnostic already; this puts them in the quickfix list and starts reviews.
local compat = require('agentls.compat')

local M = {}

M.SOURCE = 'agentls'

function M.get()
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(nil)) do
    if d.source == M.SOURCE then
      table.insert(out, d)
    end
  end
  table.sort(out, function(a, b)
    if a.bufnr ~= b.bufnr then
      return a.bufnr < b.bufnr
    end
    return a.lnum < b.lnum
  end)
  return out
end

-- Fill the quickfix list with the findings; open it when `open` and there are any.
function M.to_quickfix(open)
  local items = vim.diagnostic.toqflist(M.get())
  vim.fn.setqflist({}, ' ', { title = 'agentls findings', items = items })
  if open then
    if #items > 0 then
      vim.cmd('copen')
    else
      vim.notify('agentls: no findings', vim.log.levels.INFO)
    end
  end
  return items
end

-- agentls.review on a file uri, or on the working tree's changes when uri is nil.
function M.review(uri)
  local client_mod = require('agentls.client')
  local client = client_mod.ensure()
  if not client then
    return
  end
  client_mod.when_ready(client, function()
    local arg = uri and { uri = uri } or {}
    compat.request(client, 'workspace/executeCommand', { command = 'agentls.review', arguments = { arg } }, function(err)
      if err then
        vim.notify('agentls: review failed: ' .. tostring(err.message), vim.log.levels.ERROR)
      else
        vim.notify('agentls: review started; :AgentlsFindings lists what it finds', vim.log.levels.INFO)
      end
    end)
  end)
end

return M
