"""The article's third network: a chain, then two branches on the same input, concatenated.

Layers 0 and 1 run in sequence; layers 2 and 3 both read the 20 features that come out of
them, and their outputs (30 + 10 features) are joined into 40.
"""

import torch
import torch.nn as nn


class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([
            nn.Linear(10, 20),
            nn.ReLU(),
            nn.Linear(20, 30),
            nn.Linear(20, 10),
        ])

    def forward(self, x):
        x = self.layers[0](x)
        x = self.layers[1](x)
        left = self.layers[2](x)
        right = self.layers[3](x)
        return torch.cat([left, right], dim=1)


if __name__ == "__main__":
    model = Branches()
    print(model(torch.randn(4, 10)).shape)
