import torch.nn as nn


class Special(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 3)
