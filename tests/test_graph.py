"""`torchwire graph`: forward's dataflow as a graph, compared by structure (which nodes, which
edges, what is lost), not by layout: the article's three networks, a nested model, a branch
that leaves a registered module unused; and the mermaid, dot and json renderings."""

from __future__ import annotations

import json
from pathlib import Path

from torchwire.cli import main
from torchwire.engine.analysis import analyze
from torchwire.graph import Graph, dataflow_graphs, dot, mermaid

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def graph_of(text: str, name: str | None = None) -> Graph:
    (graph,) = dataflow_graphs(analyze(text, "m.py"), name)
    return graph


def structure(graph: Graph) -> tuple[set, set, set]:
    """(nodes as (label, kind), edges between labels, lost labels)."""
    label = {n.id: n.label for n in graph.nodes}
    return ({(n.label, n.kind) for n in graph.nodes}, {(label[a], label[b]) for a, b in graph.edges}, {n.label for n in graph.nodes if n.lost})


def test_the_first_network_sends_x_past_all_three_layers():
    nodes, edges, lost = structure(graph_of((EXAMPLES / "seed_1_discarded_outputs.py").read_text()))
    layers = {f"self.layers[{i}]" for i in range(3)}
    assert nodes == {("x", "input"), ("return", "output"), *((layer, "module") for layer in layers)}
    assert edges == {("x", "return"), *(("x", layer) for layer in layers)}
    assert lost == layers


def test_the_second_network_is_a_chain():
    nodes, edges, lost = structure(graph_of((EXAMPLES / "seed_2_chained.py").read_text()))
    assert edges == {("x", "self.layers[0]"), ("self.layers[0]", "self.layers[1]"), ("self.layers[1]", "self.layers[2]"), ("self.layers[2]", "return")}
    assert not lost


def test_the_third_network_has_two_branches_joined_by_cat():
    graph = graph_of((EXAMPLES / "seed_3_branches.py").read_text())
    _, edges, lost = structure(graph)
    assert edges == {
        ("x", "self.layers[0]"), ("self.layers[0]", "self.layers[1]"),
        ("self.layers[1]", "self.layers[2]"), ("self.layers[1]", "self.layers[3]"),
        ("self.layers[2]", "torch.cat"), ("self.layers[3]", "torch.cat"), ("torch.cat", "return"),
    }
    assert not lost
    first = next(n for n in graph.nodes if n.label == "self.layers[0]")
    assert (first.module, first.parameters, first.shape) == ("nn.Linear(10, 20)", 220, "[B, 20]")


NESTED = '''
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        return x + self.mlp(self.norm(x))


class Model(nn.Module):
    def __init__(self, d=8, depth=2):
        super().__init__()
        self.embed = nn.Embedding(100, d)
        self.blocks = nn.ModuleList([Block(d) for _ in range(depth)])
        self.head = nn.Linear(d, 100)
        self.extra = nn.Linear(d, d)  # registered, never called

    def forward(self, tokens):
        h = self.embed(tokens)
        for block in self.blocks:
            h = block(h)
        self.head(h)  # computed, thrown away
        return h
'''


def test_a_nested_model_with_a_dropped_head_and_an_unused_layer():
    graph = graph_of(NESTED, "Model")
    nodes, edges, lost = structure(graph)
    assert edges == {("tokens", "self.embed"), ("self.embed", "self.blocks[0]"), ("self.blocks[0]", "self.blocks[1]"),
                     ("self.blocks[1]", "self.head"), ("self.blocks[1]", "return")}
    assert lost == {"self.head"}
    assert ("self.extra", "unused") in nodes
    block = next(n for n in graph.nodes if n.label == "self.blocks[0]")
    assert (block.module, block.parameters, block.group) == ("Block", 16 + 288 + 264, "for block in self.blocks")
    # The residual block itself: the input joins its MLP's output.
    _, inner, _ = structure(graph_of(NESTED, "Block"))
    assert inner == {("x", "self.norm"), ("self.norm", "self.mlp"), ("x", "+"), ("self.mlp", "+"), ("+", "return")}


def test_renderings():
    graph = graph_of((EXAMPLES / "seed_1_discarded_outputs.py").read_text())
    text = mermaid(graph).split("\n")
    assert text[:3] == ["flowchart TD", "  %% DiscardedOutputs.forward", '  n0(["x"])']
    assert '  subgraph loop0["for layer in self.layers"]' in text
    assert '    n1["self.layers[0]<br/>nn.Linear(10, 20)<br/>220 params · [B, 20]<br/>output lost"]' in text
    assert text[-1] == "  class n1,n2,n3 lost"
    assert "  n0 -> n4;" in dot(graph).split("\n")


def test_the_command(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["graph", "examples/seed_3_branches.py:Branches", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["class"] == "Branches" and {"from": "n", "to": "n"} not in data["edges"]
    assert {e["to"] for e in data["edges"] if e["from"] == "op:1"} == {"out"}
    assert main(["graph", "examples/notebook_model.ipynb", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith('digraph "Stack.forward" {')
    assert main(["graph", "examples/seed_2_chained.py:Nope"]) == 2
    assert "no nn.Module class named 'Nope'" in capsys.readouterr().err
