"""The engine: source text in, a module model and findings out. Knows nothing of LSP."""
