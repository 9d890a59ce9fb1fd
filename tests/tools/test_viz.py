"""Every picture: a non-empty PNG of the expected size on a tiny input, and the facts it shows."""
import shutil
import struct

import numpy as np
import pytest

import gradwork as gw
from gradwork import nn
from gradwork.errors import GradworkError
from gradwork.tools import viz
from gradwork.train import History


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    return struct.unpack(">II", data[16:24])  # width, height from the IHDR chunk


def test_learning_curves_png_and_empty_history_message(tmp_path):
    history = History()
    for epoch, (loss, val) in enumerate([(1.0, 1.1), (0.5, 0.8), (0.3, 0.9)]):
        history.append(epoch, {"loss": loss, "val_loss": val, "accuracy": 0.5 + epoch / 10})
    viz.plot_history(history, tmp_path / "curves.png")
    assert png_size(tmp_path / "curves.png") == (1000, 380)
    with pytest.raises(ValueError, match="history is empty"):
        viz.plot_history(History(), tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


def test_activation_experiment_shows_saturation_collapse_and_healthy_spread(tmp_path):
    for layer in viz.activation_experiment("sigmoid", "std1"):
        assert ((layer < 0.02) | (layer > 0.98)).mean() > 0.5        # saturated at 0 and 1
    assert all(layer.std() < 0.03 for layer in viz.activation_experiment("sigmoid", "std0.01"))  # all ≈ 0.5
    he = viz.activation_experiment("relu", "he")
    xavier = viz.activation_experiment("relu", "xavier")
    assert all(layer.std() > 0.5 for layer in he)                      # spread kept in every layer
    assert xavier[-1].std() < 0.5 * xavier[0].std()                      # ReLU + Xavier shrinks layer by layer
    viz.plot_activation_experiment(tmp_path / "init.png", activations=("tanh",), inits=("xavier", "he"), layers=3)
    width, height = png_size(tmp_path / "init.png")
    assert width == 720 and height > 300


def test_activation_histograms_of_a_model(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU())
    viz.activation_histograms(model, np.random.default_rng(0).standard_normal((32, 4)), tmp_path / "a.png")
    assert png_size(tmp_path / "a.png") == (520, 240)
    with pytest.raises(ValueError, match="no activation layers"):
        viz.activation_histograms(nn.Linear(4, 2), np.zeros((2, 4)))


def test_optimizer_paths_approach_the_minimum_and_adaptive_methods_beat_sgd(tmp_path):
    paths = viz.optimizer_paths("elongated", steps=30)
    for name, points in paths.items():
        assert np.linalg.norm(points[-1]) < np.linalg.norm(points[0]), name
    same_rate = {name: viz.optimizer_path(name, "elongated", steps=30, lr=0.3) for name in ("SGD", "RMSProp", "Adam")}
    distance = {name: np.linalg.norm(points[-1]) for name, points in same_rate.items()}
    assert distance["Adam"] < distance["SGD"] and distance["RMSProp"] < distance["SGD"]
    viz.plot_optimizer_paths("saddle", tmp_path / "saddle.png", steps=10)
    assert png_size(tmp_path / "saddle.png") == (1260, 640)


def test_filters_and_feature_maps(tmp_path):
    model = gw.models.LeNet5(1, 10, 28)
    viz.plot_filters(model, tmp_path / "filters.png")
    png_size(tmp_path / "filters.png")
    maps = viz.feature_maps(model, np.zeros((1, 28, 28), np.float32))
    assert [m.shape for _, m in maps] == [(6, 28, 28), (16, 10, 10)]
    viz.plot_feature_maps(model, np.random.default_rng(0).random((1, 28, 28)), tmp_path / "maps.png")
    png_size(tmp_path / "maps.png")


def test_tsne_scatter_and_too_few_points(tmp_path):
    points = np.random.default_rng(0).standard_normal((40, 5))
    viz.plot_tsne(points, tmp_path / "tsne.png", labels=np.arange(40) % 3, perplexity=5)
    assert png_size(tmp_path / "tsne.png") == (770, 660)
    viz.plot_tsne(points, tmp_path / "words.png", words=[f"w{i}" for i in range(40)], perplexity=5)
    with pytest.raises(ValueError, match="too few for perplexity 30"):
        viz.plot_tsne(points[:10], tmp_path / "few.png")


def test_attention_heat_map(tmp_path):
    weights = np.full((2, 4, 4), 0.25)
    viz.plot_attention(weights, tmp_path / "attention.png", x_labels="abcd", y_labels="dcba")
    png_size(tmp_path / "attention.png")


def test_graph_as_dot_text_and_render_message():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    out = model(gw.tensor(np.ones((4, 3), np.float32))).sum()
    dot = viz.to_dot(out, dict(model.named_parameters()))
    assert dot.startswith("digraph") and '"linear"' in dot and '"relu"' in dot
    assert "0.weight\\n2×3" in dot and 'label="4×3"' in dot



def test_graph_rendering_with_graphviz_and_a_clear_message_without(tmp_path, monkeypatch):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    dot = viz.to_dot(model(gw.tensor(np.ones((4, 3), np.float32))).sum())
    if shutil.which("dot") is not None:
        viz.render_dot(dot, tmp_path / "graph.png")
        png_size(tmp_path / "graph.png")
        viz.render_dot(dot, tmp_path / "graph.svg")
        assert (tmp_path / "graph.svg").read_text().lstrip().startswith("<?xml")
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a machine without Graphviz
    with pytest.raises(GradworkError, match="apt-get install graphviz"):
        viz.render_dot(dot, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_parameter_statistics_callback_and_its_plots(tmp_path):
    train, _ = gw.data.datasets.load_digits()
    model = gw.models.MLP([64, 16, 10])
    statistics = gw.train.ParameterStatistics()
    gw.train.fit(model, train, loss="cross_entropy", optimizer=gw.optim.SGD(model.parameters(), lr=0.01), epochs=2,
                 batch_size=256, callbacks=[statistics], verbose=0)
    assert len(statistics.steps) == 12 and len(statistics.weights) == 2  # 1,437 digits: 6 batches of 256
    assert all(0 < r < 1 for ratios in statistics.update_ratios.values() for r in ratios)
    viz.plot_update_ratios(statistics, tmp_path / "ratios.png")
    viz.plot_parameter_histograms(statistics, tmp_path / "hist.png")
    assert png_size(tmp_path / "ratios.png") == (800, 450)
    png_size(tmp_path / "hist.png")
    with pytest.raises(ValueError, match="nothing recorded"):
        viz.plot_update_ratios(gw.train.ParameterStatistics())


def test_tsne_of_a_hidden_layer_separates_the_digits(tmp_path):
    train, _ = gw.data.datasets.load_digits()
    x, y = train.get_batch(slice(0, 200))
    model = gw.models.MLP([64, 32, 10])
    gw.train.fit(model, train, loss="cross_entropy", optimizer=gw.optim.Adam(model.parameters(), lr=3e-3),
                 epochs=5, verbose=0)
    hidden = viz.layer_output(model, x, "layers.1")
    assert hidden.shape == (200, 32)
    viz.plot_tsne(hidden, tmp_path / "hidden.png", labels=y, perplexity=20)
    png_size(tmp_path / "hidden.png")
    with pytest.raises(ValueError, match="has no layer 'nope'"):
        viz.layer_output(model, x, "nope")
