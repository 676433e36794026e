-- End-to-end check of torchwire in a real, headless Neovim (0.7 API: vim.lsp.start_client +
-- vim.lsp.buf_attach_client; vim.lsp.start is 0.8+).
--
--   nvim --headless --clean -u tests/editors/nvim_driver.lua
--
-- Environment (set by tests/test_editors.py):
--   TW_SERVER          the server command as a JSON list, e.g. ["torchwire", "serve", "--stdio"]
--   TW_FILE            the Python file to open (edited and saved in place)
--   TW_LINE            0-based line of the expected TW101 diagnostic
--   TW_MESSAGE_START   what the diagnostic's message starts with
--   TW_HOVER_LINE      0-based line holding `self.layers`
--   TW_HOVER_FIRST     the exact first line of the hover's Markdown
--   TW_ACTION_PREFIX   the title prefix of the code action to apply
--   TW_TIMEOUT_MS      per-step timeout (default 10000)
-- Exit 0 when every check passed; otherwise the failure is printed on stderr and the exit
-- code is non-zero (3: a check failed, 4: the whole run took too long).
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.opt.more = false

local T = tonumber(os.getenv('TW_TIMEOUT_MS') or '10000')
local started = vim.loop.hrtime()

local function log(...)
  local parts = {}
  for _, v in ipairs({ ... }) do
    parts[#parts + 1] = type(v) == 'string' and v or vim.inspect(v)
  end
  io.stderr:write(('[nvim %6.0f ms] '):format((vim.loop.hrtime() - started) / 1e6) .. table.concat(parts, ' ') .. '\n')
end

local function env(name)
  local value = os.getenv(name)
  assert(value and value ~= '', 'missing environment variable ' .. name)
  return value
end

local function check(cond, fmt, ...)
  if not cond then
    error(fmt:format(...), 2)
  end
end

-- Nothing below may hang: a watchdog ends the run (vim.wait lets timers fire).
local watchdog = vim.loop.new_timer()
watchdog:start(tonumber(os.getenv('TW_RUN_TIMEOUT_MS') or '20000'), 0, vim.schedule_wrap(function()
  log('FAIL: the run took too long')
  os.exit(4)
end))

local client_id

local function wait(what, predicate)
  check(vim.wait(T, predicate, 20), 'timed out after %d ms waiting for %s', T, what)
end

local function request(bufnr, method, params)
  local response, err = vim.lsp.get_client_by_id(client_id).request_sync(method, params, T, bufnr)
  check(response ~= nil, '%s: no response (%s)', method, tostring(err))
  check(response.err == nil, '%s: error %s', method, vim.inspect(response.err))
  return response.result
end

local function main()
  local cmd = vim.fn.json_decode(env('TW_SERVER'))
  local file = env('TW_FILE')
  local line = tonumber(env('TW_LINE'))
  local message_start = env('TW_MESSAGE_START')
  local hover_line = tonumber(env('TW_HOVER_LINE'))
  local hover_first = env('TW_HOVER_FIRST')
  local action_prefix = env('TW_ACTION_PREFIX')

  vim.cmd('filetype on')
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  check(vim.bo[bufnr].filetype == 'python', 'filetype is %q, not python', vim.bo[bufnr].filetype)

  client_id = vim.lsp.start_client({
    name = 'torchwire',
    cmd = cmd,
    root_dir = vim.fn.fnamemodify(file, ':p:h'),
  })
  check(client_id ~= nil, 'vim.lsp.start_client failed for %s', vim.inspect(cmd))
  check(vim.lsp.buf_attach_client(bufnr, client_id), 'vim.lsp.buf_attach_client failed')

  local client
  wait('initialize', function()
    client = vim.lsp.get_client_by_id(client_id)
    return client ~= nil and client.initialized == true
  end)
  local encoding = client.offset_encoding
  log('initialized; offset encoding', encoding, 'server positionEncoding',
    client.server_capabilities.positionEncoding)

  -- 1. The diagnostic, in Neovim's own units: 0-based line, byte columns.
  -- One: the dropped output (TW101), reported once.
  wait('diagnostics', function() return #vim.diagnostic.get(bufnr) >= 1 end)
  local diags = vim.diagnostic.get(bufnr)
  local diag
  for _, d in ipairs(diags) do
    log('diagnostic', d.lnum, d.col, d.end_lnum, d.end_col, d.code, d.source, d.message)
    if d.code == 'TW101' then diag = d end
  end
  check(#diags == 1, 'expected one diagnostic (TW101), got %d', #diags)
  check(diag ~= nil, 'no TW101 among the diagnostics')
  local text = vim.api.nvim_buf_get_lines(bufnr, line, line + 1, true)[1]
  local col = text:find('layer(x)', 1, true)
  check(col ~= nil, 'line %d has no `layer(x)`: %q', line, text)
  col = col - 1 -- 0-based byte column
  check(diag.lnum == line and diag.col == col and diag.end_lnum == line and diag.end_col == col + #'layer(x)',
    'diagnostic at %d:%d-%d:%d, expected %d:%d-%d:%d (byte columns of %q)',
    diag.lnum, diag.col, diag.end_lnum, diag.end_col, line, col, line, col + #'layer(x)', text)
  check(diag.code == 'TW101', 'diagnostic code %s, expected TW101', vim.inspect(diag.code))
  check(diag.source == 'torchwire', 'diagnostic source %s, expected torchwire', vim.inspect(diag.source))
  check(vim.startswith(diag.message, message_start), 'diagnostic message %q does not start with %q',
    diag.message, message_start)

  -- 2. Hover on `self.layers` (the cursor is on `layers`).
  local hover_text = vim.api.nvim_buf_get_lines(bufnr, hover_line, hover_line + 1, true)[1]
  local hover_col = hover_text:find('self.layers', 1, true)
  check(hover_col ~= nil, 'line %d has no `self.layers`: %q', hover_line, hover_text)
  vim.api.nvim_win_set_cursor(0, { hover_line + 1, hover_col - 1 + #'self.' })
  local hover = request(bufnr, 'textDocument/hover', vim.lsp.util.make_position_params(0, encoding))
  check(type(hover) == 'table' and type(hover.contents) == 'table', 'hover returned %s', vim.inspect(hover))
  check(hover.contents.kind == 'markdown', 'hover kind %s, expected markdown', vim.inspect(hover.contents.kind))
  local first = vim.split(hover.contents.value, '\n', true)[1]
  check(first == hover_first, 'hover first line %q, expected %q', first, hover_first)
  log('hover ok:', first)

  -- 3. Code actions at the diagnostic, as `:lua vim.lsp.buf.code_action()` asks for them.
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  local params = vim.lsp.util.make_range_params(0, encoding)
  params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, line) }
  local actions = request(bufnr, 'textDocument/codeAction', params) or {}
  local titles, chosen = {}, nil
  for _, action in ipairs(actions) do
    titles[#titles + 1] = action.title
    if chosen == nil and vim.startswith(action.title, action_prefix) then
      chosen = action
    end
  end
  log('code actions:', titles)
  check(chosen ~= nil, 'no code action titled %q... among %s', action_prefix, vim.inspect(titles))
  if not chosen.edit then
    log('resolving', chosen.title)
    chosen = request(bufnr, 'codeAction/resolve', chosen)
    check(type(chosen) == 'table' and chosen.edit, 'codeAction/resolve returned no edit: %s', vim.inspect(chosen))
  end
  vim.lsp.util.apply_workspace_edit(chosen.edit, encoding)
  vim.cmd('silent write')
  log('applied and saved:', vim.api.nvim_buf_get_lines(bufnr, line, line + 1, true)[1])

  -- 4. The edit went to the server as didChange: the warning goes away.
  wait('the diagnostics to clear after the edit', function() return #vim.diagnostic.get(bufnr) == 0 end)
  log('OK')
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  log('FAIL:', err)
end
if client_id then
  vim.lsp.stop_client(client_id)
  vim.wait(3000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
end
watchdog:stop()
vim.cmd(ok and 'qall!' or 'cquit 3')
