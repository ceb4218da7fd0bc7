-- What every driver in this folder shares: the result written to $AGENTLS_TEST_OUT as JSON when
-- the driver finishes (or fails, or the watchdog fires after $AGENTLS_TEST_TIMEOUT_MS), steps
-- polled from a timer so the editor's event loop keeps running, and loading the plugin from a
-- plain runtimepath entry. A driver loads it with
--   local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')
--     .new({ steps = {}, errors = {}, ...its own fields })
local M = {}

-- `result`: the table written out (the driver's own fields included); `opts.poll_ms`: how often a
-- step's condition is checked (50); `opts.log_steps`: record "name: done" rather than the name.
function M.new(result, opts)
  opts = opts or {}
  local env = vim.env
  local out_path = assert(env.AGENTLS_TEST_OUT, 'AGENTLS_TEST_OUT is not set')
  local timeout_ms = tonumber(env.AGENTLS_TEST_TIMEOUT_MS or '180000')
  local poll_ms = opts.poll_ms or 50
  result.steps = result.steps or {}
  result.errors = result.errors or {}
  local h = { result = result, step = 'start', finished = false }

  -- Write the result and quit (once: later calls change nothing).
  function h.finish(ok, why)
    if h.finished then
      return
    end
    h.finished = true
    result.ok = ok
    result.why = why
    result.failed_step = not ok and h.step or nil
    local encoded = vim.fn.json_encode(result)
    local f = assert(io.open(out_path, 'w'))
    f:write(encoded)
    f:close()
    vim.cmd('qall!')
  end

  -- A line in `result.steps`, attributed to the step under way.
  function h.log(msg)
    table.insert(result.steps, string.format('%s: %s', h.step, msg))
  end

  vim.defer_fn(function()
    h.finish(false, 'timed out after ' .. timeout_ms .. ' ms in step ' .. h.step)
  end, timeout_ms)

  -- Poll `cond` until it returns a true value, then run `next_step` with it; an error in either
  -- ends the run with a failure naming the step.
  function h.wait_for(name, cond, next_step)
    h.step = name
    local function poll()
      if h.finished then
        return
      end
      local ok, value = pcall(cond)
      if not ok then
        table.insert(result.errors, tostring(value))
        return h.finish(false, 'error while waiting for ' .. name .. ': ' .. tostring(value))
      end
      if value then
        if opts.log_steps then
          h.log('done')
        else
          table.insert(result.steps, name)
        end
        local ran, err = pcall(next_step, value)
        if not ran then
          table.insert(result.errors, tostring(err))
          h.finish(false, 'error after ' .. name .. ': ' .. tostring(err))
        end
        return
      end
      vim.defer_fn(poll, poll_ms)
    end
    vim.defer_fn(poll, 0)
  end

  function h.lines_of(buf)
    return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  end

  -- The plugin from a plain runtimepath entry, as a user installs it, with the LSP log at debug.
  function h.load_plugin()
    vim.opt.runtimepath:prepend(assert(env.AGENTLS_PLUGIN_DIR))
    vim.cmd('runtime! plugin/agentls.lua')
    pcall((vim.lsp.log and vim.lsp.log.set_level) or vim.lsp.set_log_level, 'debug')
  end

  return h
end

return M
