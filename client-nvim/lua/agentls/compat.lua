-- Differences between Neovim 0.7 and later releases, in one place.
--
-- 0.7: vim.lsp.start_client, client.request (dot calls), get_active_clients, no vim.fs/vim.uv,
--      server requests answered synchronously (no coroutine), no LspProgress autocmd.
-- 0.10: vim.lsp.start, vim.lsp.get_clients, LspProgress, vim.fs.root.
-- 0.11: vim.lsp.config / vim.lsp.enable, client:request (colon calls), start_client deprecated.
local M = {}

local function has(feature)
  return vim.fn.has(feature) == 1
end

M.nvim_010 = has('nvim-0.10')
M.nvim_011 = has('nvim-0.11')
M.nvim_09 = has('nvim-0.9')
M.uv = vim.uv or vim.loop

function M.get_clients(filter)
  filter = filter or {}
  if vim.lsp.get_clients then
    return vim.lsp.get_clients(filter)
  end
  local out = {}
  local clients = filter.bufnr and vim.lsp.buf_get_clients(filter.bufnr) or vim.lsp.get_active_clients()
  for _, client in pairs(clients) do
    if (not filter.name or client.name == filter.name) and (not filter.id or client.id == filter.id) then
      table.insert(out, client)
    end
  end
  return out
end

-- client:request on 0.11+, client.request before (the dot call is deprecated from 0.11).
function M.request(client, method, params, handler, bufnr)
  if M.nvim_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.notify(client, method, params)
  if M.nvim_011 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.is_stopped(client)
  if M.nvim_011 then
    return client:is_stopped()
  end
  return client.is_stopped()
end

-- Start a client that is not (yet) attached to any buffer; returns its id.
function M.start_detached(config)
  if M.nvim_011 then
    return vim.lsp.start(config, { attach = false })
  end
  return vim.lsp.start_client(config)
end

-- Nearest directory at or above `path` holding one of `markers`; nil when there is none.
function M.find_root(path, markers)
  if path == nil or path == '' then
    return nil
  end
  local uv = M.uv
  local dir = path
  local stat = uv.fs_stat(dir)
  if not stat or stat.type ~= 'directory' then
    dir = vim.fn.fnamemodify(path, ':h')
  end
  while dir and dir ~= '' do
    for _, marker in ipairs(markers) do
      if uv.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      break
    end
    dir = parent
  end
  return nil
end

function M.set_buf_option(buf, name, value)
  vim.bo[buf][name] = value
end

function M.set_win_option(win, name, value)
  vim.wo[win][name] = value
end

-- Where the running Lua code is, to tell coroutine-friendly server requests (0.9+) from 0.7's.
function M.in_coroutine()
  local co, is_main = coroutine.running()
  return co ~= nil and not is_main, co
end

return M
