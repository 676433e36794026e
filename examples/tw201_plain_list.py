"""TW201: blocks kept in a plain Python list are never registered.

The forward pass runs them, but `model.parameters()` does not list their weights: the
optimizer leaves them at their random initial values, `state_dict()` does not save them, and
`model.to("cuda")` leaves them on the CPU.
"""

import torch
import torch.nn as nn


class Residual(nn.Module):
    def __init__(self, width=32, depth=4):
        super().__init__()
        self.stem = nn.Linear(16, width)
        self.blocks = [nn.Linear(width, width) for _ in range(depth)]

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = x + block(x)
        return x


if __name__ == "__main__":
    model = Residual()
    print(sum(p.numel() for p in model.parameters()))  # 544: only the stem
