"""TW208: layers stored on self before super().__init__().

Module.__init__ creates the tables that hold parameters and submodules; before it runs there is
nowhere to put them, so building this model raises
`AttributeError: cannot assign module before Module.__init__() call`.
"""

import torch
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self, d_in=32, n_classes=4, expansion=2):
        hidden = d_in * expansion
        self.body = nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_in))
        self.head = nn.Linear(d_in, n_classes)
        super().__init__()

    def forward(self, x):
        return self.head(self.body(x))


if __name__ == "__main__":
    print(Classifier()(torch.randn(2, 32)).shape)
