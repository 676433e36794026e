"""TW301: sizes that do not chain.

The second Linear expects 30 features, but the first gives 20: the first forward pass raises
RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x20 and 30x10).
"""

import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(30, 10))

    def forward(self, x):
        return self.net(x)


if __name__ == "__main__":
    print(MLP()(torch.randn(4, 10)).shape)
