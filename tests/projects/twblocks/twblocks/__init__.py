from .layers import Attention, Block, Mlp

__all__ = ["Attention", "Block", "Mlp"]
