"""Spectral graph convolution: ChebConv beside GraphConv on Zachary's karate club, one label per faction.

The karate club (34 members, 78 friendships; Zachary 1977) split in two after a quarrel between the
instructor, Mr. Hi (node 0), and the officer (node 33). Only those two nodes are labelled; a
two-layer network must place the other 32. Node features are one-hot identities, so everything a
model knows comes from the graph. ``ChebConv`` (K = 3) filters the signal with Chebyshev polynomials
of the scaled Laplacian, seeing two hops per layer with a separate weight per hop; ``GraphConv``
(Kipf & Welling) is its first-order simplification with one weight and Â = D̃^−½(A + I)D̃^−½.
Each model is trained from 10 initialisations; the picture shows the first one's predictions. With
two labels, ChebConv's K weights per layer are more than the data pins down, and runs spread widely;
GraphConv's single weight is the simplification Kipf & Welling made for exactly this setting.
Needs networkx (``pip install networkx``), which ships the graph.
Writes examples/out/spectral_graph_conv.png.
"""
import os

import numpy as np

import gradwork as gw
from gradwork import nn, optim
from gradwork.nn import functional as F
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
LABELLED = np.array([0, 33])             # Mr. Hi and the officer


def karate_club():
    """(adjacency (34, 34), faction of each member: 0 Mr. Hi, 1 Officer, networkx graph)."""
    try:
        import networkx
    except ImportError:
        raise SystemExit("this demo needs networkx, which ships Zachary's karate club: pip install networkx") from None
    graph = networkx.karate_club_graph()
    adjacency = networkx.to_numpy_array(graph, weight=None)   # friendships, not their strengths
    factions = np.array([graph.nodes[i]["club"] != "Mr. Hi" for i in graph.nodes], dtype=np.int64)
    return adjacency, factions, graph


class TwoLayers(nn.Module):
    """layer(34 → 16), ReLU, dropout, layer(16 → 2): a graph layer's output is each node's class logits."""

    def __init__(self, make):
        super().__init__()
        self.first, self.second = make(34, 16), make(16, 2)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x, adjacency):
        return self.second(self.dropout(F.relu(self.first(x, adjacency))), adjacency)


MODELS = {"ChebConv (K = 3, spectral)": lambda i, o: nn.ChebConv(i, o, K=3),
          "GraphConv (spatial)": lambda i, o: nn.GraphConv(i, o)}


def train_one(make, adjacency, factions, seed, steps=200):
    gw.manual_seed(seed)
    model = TwoLayers(make)
    x = gw.tensor(np.eye(34, dtype=np.float32))
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x, adjacency)[LABELLED], factions[LABELLED]).backward()
        optimizer.step()
    with model.evaluating():
        return model(x, adjacency).numpy().argmax(1)


def main(out=OUT, seeds=10):
    adjacency, factions, graph = karate_club()
    import networkx
    position = networkx.spring_layout(graph, seed=3)
    unlabelled = np.setdiff1d(np.arange(34), LABELLED)
    fig, axes = plt.subplots(1, len(MODELS), figsize=(11, 5))
    for ax, (name, make) in zip(axes, MODELS.items()):
        runs = [train_one(make, adjacency, factions, seed) for seed in range(seeds)]
        accuracies = [(p[unlabelled] == factions[unlabelled]).mean() for p in runs]
        print(f"{name}: accuracy on the 32 unlabelled members {np.mean(accuracies):.3f} ± {np.std(accuracies):.3f} "
              f"over {seeds} initialisations (min {min(accuracies):.3f}, max {max(accuracies):.3f})")
        predicted = runs[0]
        wrong = predicted != factions
        networkx.draw_networkx_edges(graph, position, ax=ax, alpha=0.3)
        networkx.draw_networkx_nodes(graph, position, ax=ax, node_size=260, edgecolors="black",
                                     linewidths=np.where(wrong, 3.0, 0.5),
                                     node_color=np.where(predicted == 1, "tab:orange", "tab:blue"))
        networkx.draw_networkx_nodes(graph, position, nodelist=list(LABELLED), ax=ax, node_size=520,
                                     node_color=["tab:blue", "tab:orange"], node_shape="s", edgecolors="black")
        networkx.draw_networkx_labels(graph, position, ax=ax, font_size=7)
        ax.set_title(f"{name}\nunlabelled members right: {accuracies[0]:.0%} (mean of {seeds} runs "
                     f"{np.mean(accuracies):.0%})", fontsize=10)
        ax.axis("off")
    fig.suptitle("Karate club, colour = predicted faction (blue Mr. Hi, orange Officer); squares: the two labels; "
                 "thick outline: wrong", fontsize=9)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "spectral_graph_conv.png"))


if __name__ == "__main__":
    main()
