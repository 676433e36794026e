"""TW101: a normalisation layer whose output is dropped.

`self.norm(h)` computes a normalised copy of `h` and throws it away; the projection then
reads the raw `h`. Training works, but the model never sees normalised activations.
"""

import torch
from torch import nn


class ClassifierHead(nn.Module):
    def __init__(self, d_model=64, n_classes=10):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.proj = nn.Linear(d_model, n_classes)

    def forward(self, h):
        self.norm(h)
        return self.proj(h)


if __name__ == "__main__":
    print(ClassifierHead()(torch.randn(2, 64)).shape)
