"""TW207: a causal mask stored as a plain tensor.

It is neither a parameter nor a buffer: model.to("cuda") leaves it on the CPU, and the first
forward pass on the GPU fails with a device mismatch; state_dict() does not save it.
"""

import torch
import torch.nn as nn


class CausalSelfAttention(nn.Module):
    def __init__(self, d=16, n_ctx=8):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.mask = torch.tril(torch.ones(n_ctx, n_ctx))

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        t = x.shape[1]
        att = (q @ k.transpose(-2, -1)).masked_fill(self.mask[:t, :t] == 0, float("-inf"))
        return att.softmax(-1) @ v


if __name__ == "__main__":
    print(CausalSelfAttention()(torch.randn(2, 8, 16)).shape)
