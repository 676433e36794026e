"""The language server: a thin adapter from LSP messages to the engine and back."""
