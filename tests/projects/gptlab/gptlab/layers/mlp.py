from torch import nn


class MLP(nn.Module):
    def __init__(self, config, expansion=4):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, expansion * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(expansion * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))
