"""A file in the style of yolov5's models: every name, `nn` included, comes from star imports."""

from gptlab.layers.block import *  # absolute: Block, and nn as that module imported it
from .config import *  # relative: GPTConfig


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block(GPTConfig()) for _ in range(2)])
        self.head = nn.Linear(GPTConfig().n_embd, 10)

    def forward(self, x):
        for block in self.blocks:
            block(x)
        return self.head(x)
