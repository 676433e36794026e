"""TW206: a learnable scale stored as a plain tensor.

The tensor requires grad, but it is not an nn.Parameter: model.parameters() does not list it,
so the optimizer never updates it, and model.to("cuda") does not move it.
"""

import torch
import torch.nn as nn


class ScaledLinear(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.scale = torch.ones(d, requires_grad=True)

    def forward(self, x):
        return self.fc(x) * self.scale


if __name__ == "__main__":
    print(ScaledLinear()(torch.randn(2, 16)).shape)
