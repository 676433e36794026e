"""Re-exports: `from gptlab.layers import Block` reaches layers/block.py."""

from .attention import CausalSelfAttention
from .block import Block
from .mlp import MLP

__all__ = ["Block", "CausalSelfAttention", "MLP"]
