"""TW203: a ModuleList called like a module.

ModuleList holds modules but has no forward(): the first call raises
NotImplementedError: Module [ModuleList] is missing the required "forward" function.
"""

import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])

    def forward(self, x):
        return self.layers(x)


if __name__ == "__main__":
    print(Encoder()(torch.randn(4, 10)).shape)
