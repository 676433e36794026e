"""TW204: nn.Sequential given a list.

nn.Sequential takes modules as separate arguments; a list raises
TypeError: list is not a Module subclass, as soon as the model is built.
"""

import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential([nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 10)])

    def forward(self, x):
        return self.net(x)


if __name__ == "__main__":
    print(MLP()(torch.randn(4, 10)).shape)
