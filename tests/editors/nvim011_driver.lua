-- End-to-end check of torchwire in a real, headless Neovim 0.11, set up as a user would: the
-- repository on the runtime path and `vim.lsp.enable('torchwire')`, which reads the shipped
-- lsp/torchwire.lua (its `torchwire serve --stdio` found on PATH).
--
--   nvim --headless --clean -u tests/editors/nvim011_driver.lua
--
-- Environment (set by tests/test_editors.py): TW_RUNTIME (the repository), TW_FILE, TW_LINE,
-- TW_MESSAGE_START, TW_HOVER_LINE, TW_HOVER_FIRST, TW_ACTION_PREFIX, TW_LENS_TITLE,
-- TW_LENS_PAGE_FIRST, TW_HINT_LINE, TW_HINT_LABEL, TW_TIMEOUT_MS, TW_RUN_TIMEOUT_MS.
-- Checks, in Neovim's own units: pulled diagnostics, the hover, inlay hints, the code lenses
-- (resolved) and the page their command opens, and a code action applied and saved.
-- Exit 0 when every check passed; 3: a check failed; 4: the run took too long.
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.opt.more = false

local T = tonumber(os.getenv('TW_TIMEOUT_MS') or '10000')
local started = vim.uv.hrtime()

local function log(...)
  local parts = {}
  for _, v in ipairs({ ... }) do
    parts[#parts + 1] = type(v) == 'string' and v or vim.inspect(v)
  end
  io.stderr:write(('[nvim %6.0f ms] '):format((vim.uv.hrtime() - started) / 1e6) .. table.concat(parts, ' ') .. '\n')
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

local watchdog = vim.uv.new_timer()
watchdog:start(tonumber(os.getenv('TW_RUN_TIMEOUT_MS') or '30000'), 0, vim.schedule_wrap(function()
  log('FAIL: the run took too long')
  os.exit(4)
end))

local function wait(what, predicate)
  check(vim.wait(T, predicate, 20), 'timed out after %d ms waiting for %s', T, what)
end

local client

local function request(bufnr, method, params)
  local response, err = client:request_sync(method, params, T, bufnr)
  check(response ~= nil, '%s: no response (%s)', method, tostring(err))
  check(response.err == nil, '%s: error %s', method, vim.inspect(response.err))
  return response.result
end

local function main()
  local file = env('TW_FILE')
  local line = tonumber(env('TW_LINE'))
  vim.opt.runtimepath:prepend(env('TW_RUNTIME'))
  vim.lsp.enable('torchwire')
  vim.cmd('filetype on')
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()

  wait('the torchwire client to attach', function()
    client = vim.lsp.get_clients({ bufnr = bufnr, name = 'torchwire' })[1]
    return client ~= nil and client.initialized == true
  end)
  local encoding = client.offset_encoding
  log('attached; root', client.root_dir, 'encoding', encoding, 'cmd', client.config.cmd)
  check(client.server_capabilities.diagnosticProvider ~= nil, 'the server offers no pull diagnostics')

  -- 1. Diagnostics, pulled (0.11 asks with textDocument/diagnostic when the server offers it).
  local pulled = vim.lsp.diagnostic.get_namespace(client.id, true)
  wait('pulled diagnostics', function() return #vim.diagnostic.get(bufnr, { namespace = pulled }) >= 1 end)
  local diags = vim.diagnostic.get(bufnr)
  check(#diags == 1 and diags[1].code == 'TW101', 'expected one TW101, got %s', vim.inspect(diags))
  local diag = diags[1]
  local text = vim.api.nvim_buf_get_lines(bufnr, line, line + 1, true)[1]
  local col = text:find('layer(x)', 1, true) - 1
  check(diag.lnum == line and diag.col == col and diag.end_col == col + #'layer(x)',
    'diagnostic at %d:%d-%d, expected %d:%d-%d (byte columns of %q)', diag.lnum, diag.col, diag.end_col, line, col, col + #'layer(x)', text)
  check(vim.startswith(diag.message, env('TW_MESSAGE_START')), 'diagnostic message %q', diag.message)
  log('diagnostic ok:', diag.lnum, diag.col)

  -- 2. Hover on `self.layers`.
  local hover_line = tonumber(env('TW_HOVER_LINE'))
  local hover_text = vim.api.nvim_buf_get_lines(bufnr, hover_line, hover_line + 1, true)[1]
  vim.api.nvim_win_set_cursor(0, { hover_line + 1, hover_text:find('self.layers', 1, true) - 1 + #'self.' })
  local hover = request(bufnr, 'textDocument/hover', vim.lsp.util.make_position_params(0, encoding))
  local first = vim.split(hover.contents.value, '\n', { plain = true })[1]
  check(first == env('TW_HOVER_FIRST'), 'hover first line %q', first)
  log('hover ok:', first)

  -- 3. Inlay hints, as vim.lsp.inlay_hint shows them.
  vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
  local hint_line, hint_label = tonumber(env('TW_HINT_LINE')), env('TW_HINT_LABEL')
  local hints
  wait('inlay hints', function()
    hints = vim.lsp.inlay_hint.get({ bufnr = bufnr })
    return #hints > 0
  end)
  local labels = {}
  for _, item in ipairs(hints) do
    local label = type(item.inlay_hint.label) == 'string' and item.inlay_hint.label or item.inlay_hint.label[1].value
    labels[#labels + 1] = ('%d:%s'):format(item.inlay_hint.position.line, label)
  end
  check(vim.tbl_contains(labels, ('%d:%s'):format(hint_line, hint_label)), 'inlay hints %s', vim.inspect(labels))
  log('inlay hints ok:', labels)

  -- 4. Code lenses, resolved as vim.lsp.codelens shows them, and the page their command opens.
  vim.lsp.codelens.refresh({ bufnr = bufnr })
  local title = env('TW_LENS_TITLE')
  local lenses
  local counted, dataflow
  wait('resolved code lenses', function()
    counted, dataflow = {}, nil
    for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
      if lens.command ~= nil and lens.command.title == title then
        counted[#counted + 1] = lens
      elseif lens.command ~= nil and lens.command.title == 'dataflow' then
        dataflow = lens
      end
    end
    return #counted == 2 and dataflow ~= nil
  end)
  log('code lenses ok:', #counted, title, 'and', dataflow.command.title)
  -- The container's lens (alone on its line: codelens.run asks which one on a line with two).
  vim.api.nvim_win_set_cursor(0, { counted[2].range.start.line + 1, 0 })
  vim.lsp.codelens.run()
  local function shown_first(filetype, first)
    return function()
      local shown = vim.api.nvim_get_current_buf()
      return vim.bo[shown].filetype == filetype and vim.api.nvim_buf_get_lines(shown, 0, 1, true)[1] == first
    end
  end
  wait('the parameter page in a split', shown_first('markdown', env('TW_LENS_PAGE_FIRST')))
  log('lens page ok:', vim.api.nvim_buf_get_name(0))
  vim.cmd('close')
  client:exec_cmd(dataflow.command, { bufnr = bufnr })
  wait("forward's dataflow in a split", shown_first('mermaid', 'flowchart TD'))
  log('dataflow ok:', vim.api.nvim_buf_get_name(0))
  vim.cmd('close')

  -- 5. The quick fix, applied and saved; the pulled diagnostic goes away.
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  local params = vim.lsp.util.make_range_params(0, encoding)
  params.context = { diagnostics = { diag.user_data.lsp } }
  local chosen
  for _, action in ipairs(request(bufnr, 'textDocument/codeAction', params) or {}) do
    if chosen == nil and vim.startswith(action.title, env('TW_ACTION_PREFIX')) then
      chosen = action
    end
  end
  check(chosen ~= nil, 'no code action titled %q', env('TW_ACTION_PREFIX'))
  if not chosen.edit then
    chosen = request(bufnr, 'codeAction/resolve', chosen)
  end
  vim.lsp.util.apply_workspace_edit(chosen.edit, encoding)
  vim.cmd('silent write')
  wait('the diagnostics to clear after the edit', function() return #vim.diagnostic.get(bufnr) == 0 end)
  log('OK')
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  log('FAIL:', err)
end
if client then
  client:stop()
  vim.wait(3000, function() return vim.lsp.get_client_by_id(client.id) == nil end, 20)
end
watchdog:stop()
vim.cmd(ok and 'qall!' or 'cquit 3')
