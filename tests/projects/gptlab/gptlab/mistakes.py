"""Imported blocks used wrongly: torchwire must see that they are modules."""

import torch.nn as nn

from .config import GPTConfig
from .layers import Block


class Stack(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.blocks = [Block(config) for _ in range(config.n_layer)]
        self.final = Block(config)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        self.final(x)
        return x
