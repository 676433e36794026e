"""A small vision model built from blocks of an installed package (twblocks)."""

import torch.nn as nn
from twblocks import Block, Mlp


class ViTLite(nn.Module):
    def __init__(self, dim=48, depth=2, num_heads=3, num_classes=10):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, kernel_size=4, stride=4)
        self.blocks = nn.Sequential(*[Block(dim, num_heads, mlp_ratio=2.0) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = Mlp(dim, hidden_features=dim, out_features=num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        return self.head(self.norm(self.blocks(x)).mean(1))
