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

--- A client-side command: runs the server command `server_command` with the lens's arguments,
--- then shows what `page(result)` makes of its result ({name, text, filetype}, or nil: nothing).
local function shown_by(server_command, page, missing)
  return function(command, ctx)
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    if client == nil then
      return
    end
    local params = { command = server_command, arguments = command.arguments }
    client:request('workspace/executeCommand', params, function(err, result)
      local shown = err == nil and type(result) == 'table' and page(result) or nil
      if shown == nil then
        vim.notify('torchwire: ' .. (err and err.message or missing), vim.log.levels.WARN)
        return
      end
      show(shown.name, vim.split(shown.text, '\n', { plain = true }), shown.filetype)
    end, ctx.bufnr)
  end
end

-- A parameter lens: the class's (or container's) parameters as Markdown.
local show_parameters = shown_by('torchwire.parameterTable', function(page)
  return { name = page.title, text = page.markdown, filetype = 'markdown' }
end, 'this class is no longer in the file')

-- The dataflow lens: forward's graph as Mermaid text (a Mermaid plugin, or GitHub, draws it).
local show_dataflow = shown_by('torchwire.dataflowGraph', function(graphs)
  local graph = graphs[1]
  return graph and { name = graph.class .. '.forward', text = graph.mermaid, filetype = 'mermaid' }
end, 'no forward() to draw')

---@type vim.lsp.Config
return {
  cmd = { 'torchwire', 'serve', '--stdio' },
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', '.git' },
  settings = { torchwire = {} },
  commands = { ['torchwire.showParameters'] = show_parameters, ['torchwire.showDataflow'] = show_dataflow },
}
