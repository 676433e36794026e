"""Recurrent layers: torch/nn/modules/rnn.py."""

from ..engine.symbolic import mul
from .spec import Args, Built, LayerSpec, NotStatic

DEVICE = "device=None, dtype=None"
RNN_BASE = f"input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, {DEVICE}"
# nn.RNN takes `nonlinearity` as its fourth positional argument and passes the rest on.
RNN = (
    "input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False, dropout=0.0, "
    f"bidirectional=False, proj_size=0, {DEVICE}"
)
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _recurrent(mode: str):
    gates = GATES[mode]

    def build(a: Args) -> Built:
        num_layers, proj = a["num_layers"], a["proj_size"]
        bidirectional = a.flag("bidirectional")
        if not isinstance(num_layers, int) or bidirectional is None or not isinstance(proj, int):
            raise NotStatic("num_layers, bidirectional and proj_size must be known to name the weights")
        hidden, size = a.size("hidden_size"), a.size("input_size")
        gate_rows = None if hidden is None else mul(hidden, gates)
        real_hidden = proj if proj > 0 else hidden
        directions = 2 if bidirectional else 1
        bias, bias_text = a.flag("bias"), a.condition_text("bias")
        b = Built()
        for layer in range(num_layers):
            layer_input = size if layer == 0 else (None if real_hidden is None else mul(real_hidden, directions))
            for suffix in ("", "_reverse")[:directions]:
                b.param(f"weight_ih_l{layer}{suffix}", gate_rows, layer_input)
                b.param(f"weight_hh_l{layer}{suffix}", gate_rows, real_hidden)
                b.param(f"bias_ih_l{layer}{suffix}", gate_rows, when=bias, condition=bias_text)
                b.param(f"bias_hh_l{layer}{suffix}", gate_rows, when=bias, condition=bias_text)
                if proj > 0:
                    b.param(f"weight_hr_l{layer}{suffix}", proj, hidden)
        return b

    return build


def _cell(gates: int):
    def build(a: Args) -> Built:
        hidden = a.size("hidden_size")
        rows = None if hidden is None else mul(hidden, gates)
        b = Built()
        b.param("weight_ih", rows, a.size("input_size"))
        b.param("weight_hh", rows, hidden)
        b.param("bias_ih", rows, when=a.flag("bias"), condition=a.condition_text("bias"))
        b.param("bias_hh", rows, when=a.flag("bias"), condition=a.condition_text("bias"))
        return b

    return build


LAYERS = [
    LayerSpec("RNN", RNN, _recurrent("RNN")),
    LayerSpec("LSTM", RNN_BASE, _recurrent("LSTM")),
    LayerSpec("GRU", RNN_BASE, _recurrent("GRU")),
    LayerSpec("RNNCell", f"input_size, hidden_size, bias=True, nonlinearity='tanh', {DEVICE}", _cell(1)),
    LayerSpec("LSTMCell", f"input_size, hidden_size, bias=True, {DEVICE}", _cell(4)),
    LayerSpec("GRUCell", f"input_size, hidden_size, bias=True, {DEVICE}", _cell(3)),
]
