-- Starting, finding and configuring the agentls language-server client.
local compat = require('agentls.compat')
local config = require('agentls.config')

local M = {}

M.NAME = 'agentls'
local group_name = 'agentls_attach'

-- What the server looks for in `initialize` before it sends agentls/* messages.
function M.capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.experimental = caps.experimental or {}
  caps.experimental.agentls = {
    requestPermission = true,
    sessionUpdate = true,
    saveDocuments = true,
  }
  return caps
end

-- Save the buffers the server names (before the agent runs a command), with the editor's own
-- :write so BufWritePre hooks such as format-on-save apply.
local function save_documents(_, params)
  local saved = {}
  for _, uri in ipairs((params and params.uris) or {}) do
    local ok, buf = pcall(vim.uri_to_bufnr, uri)
    if ok and vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].modified then
      local wrote = pcall(vim.api.nvim_buf_call, buf, function()
        vim.cmd('silent write')
      end)
      if wrote then
        table.insert(saved, uri)
      end
    end
  end
  return { saved = saved }
end

function M.handlers()
  local handlers = {
    ['agentls/sessionUpdate'] = function(_, params, ctx)
      require('agentls.chat').on_update(ctx.client_id, params)
    end,
    ['agentls/requestPermission'] = function(err, params, ctx)
      return require('agentls.permission').handle(err, params, ctx)
    end,
    ['agentls/saveDocuments'] = save_documents,
  }
  if not compat.nvim_010 then
    -- 0.7-0.9 have no LspProgress autocmd: watch $/progress here, keep the built-in behaviour.
    handlers['$/progress'] = function(err, result, ctx, cfg)
      local default = vim.lsp.handlers['$/progress']
      local ret
      if default then
        ret = default(err, result, ctx, cfg)
      end
      if result then
        require('agentls.status').on_progress(ctx.client_id, result.token, result.value)
      end
      return ret
    end
  end
  return handlers
end

-- The project root of a buffer: the nearest directory with a root marker, else the cwd.
function M.root_for(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(buf)
  local root
  if name ~= '' and vim.bo[buf].buftype == '' then
    root = compat.find_root(name, config.options.root_markers)
  end
  root = root or compat.find_root(vim.fn.getcwd(), config.options.root_markers) or vim.fn.getcwd()
  local dir = vim.fn.fnamemodify(root, ':p'):gsub('/$', '')
  return dir
end

local function base_config()
  local o = config.options
  return {
    name = M.NAME,
    cmd = o.cmd,
    cmd_env = o.cmd_env,
    init_options = o.init_options,
    capabilities = M.capabilities(),
    handlers = M.handlers(),
  }
end

function M.client_config(root)
  local cfg = base_config()
  cfg.root_dir = root
  cfg.workspace_folders = { { uri = vim.uri_from_fname(root), name = root } }
  return cfg
end

local function same_dir(a, b)
  return a and b and vim.fn.fnamemodify(a, ':p'):gsub('/$', '') == vim.fn.fnamemodify(b, ':p'):gsub('/$', '')
end

-- A running agentls client for `root` (any agentls client when root is nil).
function M.get(root)
  local fallback
  for _, client in ipairs(compat.get_clients({ name = M.NAME })) do
    if not compat.is_stopped(client) then
      if root == nil or same_dir(client.config.root_dir, root) then
        return client
      end
      fallback = fallback or client
    end
  end
  if root == nil then
    return fallback
  end
  return nil
end

-- The client for the current buffer's project, started if needed (not attached to any buffer).
function M.ensure(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local attached = compat.get_clients({ name = M.NAME, bufnr = buf })[1]
  if attached then
    return attached
  end
  local root = M.root_for(buf)
  local client = M.get(root)
  if client then
    return client
  end
  local id = compat.start_detached(M.client_config(root))
  if not id then
    vim.notify('agentls: could not start ' .. table.concat(config.options.cmd, ' '), vim.log.levels.ERROR)
    return nil
  end
  return vim.lsp.get_client_by_id(id)
end

-- Run fn(client) once the client has answered `initialize` (without blocking the editor).
function M.when_ready(client, fn, timeout_ms)
  local deadline = compat.uv.now() + (timeout_ms or 60000)
  local function poll()
    if client.initialized then
      return fn(client)
    end
    if compat.is_stopped(client) or compat.uv.now() > deadline then
      vim.notify('agentls: the server did not start (see :LspLog)', vim.log.levels.ERROR)
      return
    end
    vim.defer_fn(poll, 30)
  end
  poll()
end

local function wants(buf)
  if not vim.api.nvim_buf_is_valid(buf) or vim.bo[buf].buftype ~= '' then
    return false
  end
  if vim.api.nvim_buf_get_name(buf) == '' then
    return false
  end
  local fts = config.options.filetypes
  return fts == nil or vim.tbl_contains(fts, vim.bo[buf].filetype)
end

-- Attach the agentls client to a file buffer (0.7-0.10; 0.11+ uses vim.lsp.enable).
function M.attach(buf)
  if not wants(buf) then
    return
  end
  local root = M.root_for(buf)
  if compat.nvim_010 then
    vim.lsp.start(M.client_config(root), { bufnr = buf })
    return
  end
  local client = M.get(root)
  local id = client and client.id or vim.lsp.start_client(M.client_config(root))
  if id then
    vim.lsp.buf_attach_client(buf, id)
  end
end

-- Automatic start: vim.lsp.config + vim.lsp.enable on 0.11+, a FileType autocmd before.
function M.autostart()
  if compat.nvim_011 then
    local cfg = base_config()
    cfg.filetypes = config.options.filetypes
    cfg.root_dir = function(bufnr, on_dir)
      on_dir(M.root_for(bufnr))
    end
    vim.lsp.config(M.NAME, cfg)
    vim.lsp.enable(M.NAME)
    -- Buffers loaded before setup() (e.g. a lazy-loaded plugin) missed their FileType event.
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if wants(buf) and vim.bo[buf].filetype ~= '' and #compat.get_clients({ name = M.NAME, bufnr = buf }) == 0 then
        pcall(vim.api.nvim_exec_autocmds, 'FileType', { group = 'nvim.lsp.enable', buffer = buf })
      end
    end
    return
  end
  local group = vim.api.nvim_create_augroup(group_name, { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype ~= '' then
      M.attach(buf)
    end
  end
end

return M
