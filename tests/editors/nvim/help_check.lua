-- :helptags on a copy of client-nvim/doc, then :help on the plugin's main tags.
-- Writes one line per check to $AGENTLS_TEST_OUT: "helptags=true" then "<tag>=<ok> <file>".
local out = assert(io.open(assert(vim.env.AGENTLS_TEST_OUT), 'w'))
local plugin = assert(vim.env.AGENTLS_PLUGIN_DIR)
local ok, err = pcall(vim.cmd, 'helptags ' .. vim.fn.fnameescape(plugin .. '/doc'))
out:write('helptags=' .. tostring(ok) .. (ok and '' or ' ' .. tostring(err)) .. '\n')
vim.opt.runtimepath:prepend(plugin)
local tags = {
  'agentls',
  'agentls-commands',
  ':AgentlsChat',
  ':AgentlsCompact',
  'agentls-options',
  'agentls.status()',
  'agentls.context()',
  'agentls-permissions',
}
for _, tag in ipairs(tags) do
  local found, msg = pcall(vim.cmd, 'help ' .. tag)
  out:write(tag .. '=' .. tostring(found) .. ' ' .. (found and vim.fn.expand('%:t') or tostring(msg)) .. '\n')
  pcall(vim.cmd, 'helpclose')
end
out:close()
vim.cmd('qall!')
