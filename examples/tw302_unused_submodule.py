"""TW302: a layer that is registered but never called.

`self.proj` is saved and optimized but gets no gradient; under DistributedDataParallel the
training step fails until `find_unused_parameters=True` is set.
"""

import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, d=64):
        super().__init__()
        self.body = nn.Linear(d, d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        return torch.tanh(self.body(x))


if __name__ == "__main__":
    print(Encoder()(torch.randn(2, 64)).shape)
