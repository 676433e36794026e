"""The article's first network: every layer's output is thrown away.

The loop calls each layer but never keeps what it returns, so forward() hands back its input
unchanged. It runs, it trains, and it learns nothing.
"""

import torch
import torch.nn as nn


class DiscardedOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])

    def forward(self, x):
        for layer in self.layers:
            layer(x)
        return x


if __name__ == "__main__":
    model = DiscardedOutputs()
    print(model(torch.randn(4, 10)).shape)
