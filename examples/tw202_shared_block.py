"""TW202: one block repeated with `* n`: four "layers" that are one layer.

All entries are the same object, so they share their weights, and the ModuleList registers it
once: the model has the parameters of a single block.
"""

import torch
import torch.nn as nn


class Tower(nn.Module):
    def __init__(self, width=64, depth=4):
        super().__init__()
        block = nn.Sequential(nn.Linear(width, width), nn.GELU())
        self.layers = nn.ModuleList([block] * depth)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


if __name__ == "__main__":
    print(sum(p.numel() for p in Tower().parameters()))  # 4,160, not 16,640
