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
-- `vim.lsp.codelens.run()`, opens the class's parameters in a split).

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
    local buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(page.markdown, '\n', { plain = true }))
    vim.bo[buf].filetype = 'markdown'
    vim.bo[buf].modifiable = false
    vim.api.nvim_buf_set_name(buf, 'torchwire://' .. page.title)
    vim.cmd('split')
    vim.api.nvim_win_set_buf(0, buf)
  end, ctx.bufnr)
end

---@type vim.lsp.Config
return {
  cmd = { 'torchwire', 'serve', '--stdio' },
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', '.git' },
  settings = { torchwire = {} },
  commands = { ['torchwire.showParameters'] = show_parameters },
}
