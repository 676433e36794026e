"""The article's second network: the correct way to run a ModuleList as a chain."""

import torch
import torch.nn as nn


class Chained(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


if __name__ == "__main__":
    model = Chained()
    print(model(torch.randn(4, 10)).shape)
