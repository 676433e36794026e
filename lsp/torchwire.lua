-- torchwire for Neovim 0.11+, in the shape of nvim-lspconfig's configurations.
--
-- With this repository (or a copy of this file in an `lsp/` folder) on the runtime path:
--
--   vim.lsp.enable('torchwire')
--
-- and, to change a setting (docs/editors.md lists them):
--
--   vim.lsp.config('torchwire', { settings = { torchwire = { ignore = { 'TW205' } } } })
--
-- The server gives diagnostics (pulled), hovers, quick fixes, inlay hints (enable them with
-- `vim.lsp.inlay_hint.enable()`) and code lenses (`vim.lsp.codelens.refresh()`; running a lens,
-- `vim.lsp.codelens.run()`, opens the class's parameters, or forward's dataflow as Mermaid, in
-- a split).

--- Opens `lines` in a split, as a read-only scratch buffer of `filetype`.
local function show(name, lines, filetype)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].filetype = filetype
  vim.bo[buf].modifiable = false
  vim.api.nvim_buf_set_name(buf, 'torchwire://' .. name)
  vim.cmd('split')
  vim.api.nvim_win_set_buf(0, buf)
end

---@param command lsp.Command
---@param ctx table
local function show_parameters(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client == nil then
    return
  end
  local params = { command = 'torchwire.parameterTable', arguments = command.arguments }
  client:request('workspace/executeCommand', params, function(err, page)
    if err ~= nil or type(page) ~= 'table' then
      vim.notify('torchwire: ' .. (err and err.message or 'this class is no longer in the file'), vim.log.levels.WARN)
      return
    end
    show(page.title, vim.split(page.markdown, '\n', { plain = true }), 'markdown')
  end, ctx.bufnr)
end

--- The dataflow lens: forward's graph as Mermaid text (a Mermaid plugin, or GitHub, draws it).
local function show_dataflow(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client == nil then
    return
  end
  local params = { command = 'torchwire.dataflowGraph', arguments = command.arguments }
  client:request('workspace/executeCommand', params, function(err, graphs)
    if err ~= nil or type(graphs) ~= 'table' or graphs[1] == nil then
      vim.notify('torchwire: ' .. (err and err.message or 'no forward() to draw'), vim.log.levels.WARN)
      return
    end
    show(graphs[1].class .. '.forward', vim.split(graphs[1].mermaid, '\n', { plain = true }), 'mermaid')
  end, ctx.bufnr)
end

---@type vim.lsp.Config
return {
  cmd = { 'torchwire', 'serve', '--stdio' },
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', '.git' },
  settings = { torchwire = {} },
  commands = { ['torchwire.showParameters'] = show_parameters, ['torchwire.showDataflow'] = show_dataflow },
}
