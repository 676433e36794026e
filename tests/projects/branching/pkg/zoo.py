import torch.nn as nn

from .special import Special


class Block(nn.Module):
    def __init__(self, kind="plain"):
        super().__init__()
        self.lin = Special() if kind == "special" else nn.Linear(2, 2)
