import torch.nn as nn
from pkg.zoo import Block


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block(kind="special")  # a branch that building Block at its defaults never takes

    def forward(self, x):
        return self.block(x)
