"""TW205: a layer built inside forward().

Each call creates a new nn.Linear with fresh random weights, uses it once and drops it: the
optimizer never trains it, and the model's output is random in that part on every call.
"""

import torch
import torch.nn as nn


class Projector(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(32, 64)

    def forward(self, x):
        h = torch.relu(self.encoder(x))
        return nn.Linear(64, 16)(h)


if __name__ == "__main__":
    print(Projector()(torch.randn(2, 32)).shape)
