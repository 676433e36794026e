"""TW102: every layer gets the same input; only the last output survives.

`y` is overwritten on each pass and `x` never changes: three layers run, two for nothing.
"""

import torch
import torch.nn as nn


class Refiner(nn.Module):
    def __init__(self, width=32, depth=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])

    def forward(self, x):
        for layer in self.layers:
            y = torch.relu(layer(x))
        return y


if __name__ == "__main__":
    print(Refiner()(torch.randn(2, 32)).shape)
