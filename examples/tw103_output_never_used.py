"""TW103: a branch whose output goes nowhere.

The context encoder runs on every call, but its result is never combined with the rest:
`ctx` is computed and forgotten, and the encoder's weights never learn.
"""

import torch
import torch.nn as nn


class Fusion(nn.Module):
    def __init__(self, d=64):
        super().__init__()
        self.text_encoder = nn.Linear(d, d)
        self.context_encoder = nn.Linear(d, d)
        self.head = nn.Linear(d, 2)

    def forward(self, text, context):
        h = self.text_encoder(text)
        ctx = self.context_encoder(context)
        return self.head(h)


if __name__ == "__main__":
    print(Fusion()(torch.randn(2, 64), torch.randn(2, 64)).shape)
