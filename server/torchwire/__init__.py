"""torchwire: finds PyTorch module wiring bugs statically, in the editor and in CI."""

__version__ = "0.1.0"
