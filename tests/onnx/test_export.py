"""ONNX export: onnxruntime's outputs equal gradwork's, at the traced batch size and another one."""
import os

import numpy as np
import pytest

import gradwork as gw
from gradwork import models, nn
from gradwork.onnx import UnsupportedOperatorError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(path, *arrays):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, arrays)))


def assert_exports(model, x, tmp_path, other_batch=5, **options):
    """Export on x; the file passes the full check and matches gradwork at x's batch size and another."""
    path = tmp_path / "model.onnx"
    gw.onnx.export(model, x, path, **options)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    repeats = -(-other_batch // len(x))
    for batch in (x, np.concatenate([x] * repeats)[:other_batch]):
        with model.evaluating():
            expected = model(gw.tensor(batch)).data
        (got,) = run_onnx(path, batch)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(expected).max())))
    return path


@pytest.fixture(autouse=True)
def seed():
    gw.manual_seed(0)


@pytest.mark.parametrize("name, shape", [("mlp", (1, 8, 8)), ("logistic", (1, 8, 8)), ("lenet5", (1, 28, 28)),
                                         ("simplecnn", (1, 16, 16)), ("vggnet", (1, 16, 16)),
                                         ("resnet-small", (3, 16, 16))])
def test_registered_models(name, shape, tmp_path):
    model = models.build_model(name, shape, 10)
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
    assert_exports(model, x, tmp_path)


@pytest.mark.parametrize("activation", [nn.ReLU(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.GELU(),
                                        nn.GELU(approximate="tanh"), nn.ELU(0.7), nn.SiLU(),
                                        nn.Softplus(beta=2.0, threshold=3.0), nn.Hardtanh(-0.5, 0.5),
                                        nn.Softmax(dim=1), nn.LogSoftmax(dim=1)])
def test_activations(activation, tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), activation, nn.Dropout(0.5), nn.Linear(6, 3))
    x = np.random.default_rng(1).standard_normal((3, 3, 4)).astype(np.float32) * 3
    assert_exports(model, x, tmp_path)


def test_convolution_pooling_and_batch_norm_options(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4, bias=False),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.AvgPool2d(2, ceil_mode=True),
        nn.AdaptiveAvgPool2d((2, 3)), nn.Flatten(), nn.BatchNorm1d(48), nn.Linear(48, 5))
    model.train()
    model(gw.randn(6, 4, 15, 15))  # running statistics that are not 0 and 1
    x = np.random.default_rng(2).standard_normal((2, 4, 15, 15)).astype(np.float32)
    assert_exports(model, x, tmp_path)


class Arithmetic(nn.Module):
    """Tensor and constant arithmetic, cat, permute, reshape, indexing and reductions."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 4), nn.Linear(6, 4)

    def forward(self, x):
        a, b = self.a(x), self.b(x)
        y = gw.cat([a * 2.0 - b, a / (b * b + 1.0), (a + 1.5).exp() ** 2], axis=1)  # (N, 12)
        y = y.reshape(y.shape[0], 3, 4).permute(0, 2, 1)[:, 1:, ::2]                   # (N, 3, 2)
        return y.sum(axis=2) + y.mean(axis=(1, 2), keepdims=True)[:, :, 0] - y.max(axis=1)[:, :1]


def test_arithmetic_with_constants_and_tensors(tmp_path):
    x = np.random.default_rng(3).standard_normal((4, 6)).astype(np.float32)
    assert_exports(Arithmetic(), x, tmp_path)


class MatrixProducts(nn.Module):
    """Batched products of tensors (one with a column of length 1, the fast kernel's outer-product case)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(6, 8), nn.Linear(6, 4)

    def forward(self, x):
        rows = self.a(x).reshape(x.shape[0], 2, 4)        # (N, 2, 4)
        column = self.b(x).reshape(x.shape[0], 4, 1)      # (N, 4, 1)
        return (rows @ column).reshape(x.shape[0], 2) @ gw.tensor(np.ones((2, 3), np.float32))


@pytest.mark.parametrize("path", gw.kernels.PATHS)
def test_matrix_products(path, tmp_path):
    """Export traces the reference ops whichever path the caller is on (the fast MatMul is not mapped)."""
    x = np.random.default_rng(4).standard_normal((4, 6)).astype(np.float32)
    with gw.kernels.use(path):
        assert_exports(MatrixProducts(), x, tmp_path)


def test_fixed_batch_and_names(tmp_path):
    model = models.build_model("mlp", (1, 8, 8), 10)
    x = np.random.default_rng(4).standard_normal((2, 1, 8, 8)).astype(np.float32)
    path = tmp_path / "fixed.onnx"
    gw.onnx.export(model, x, path, input_names=["pixels"], output_names=["logits"], dynamic_batch=False)
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["pixels"] and [o.name for o in graph.output] == ["logits"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    initializers = {i.name for i in graph.initializer}
    assert set(model.state_dict()) <= initializers  # parameters under their state-dict names


def test_mode_is_restored_and_outputs_unchanged(tmp_path):
    model = nn.Sequential(nn.Linear(5, 5), nn.BatchNorm1d(5), nn.Dropout(0.3), nn.Linear(5, 2))
    x = np.random.default_rng(5).standard_normal((3, 5)).astype(np.float32)
    with model.evaluating():
        before = model(gw.tensor(x)).data.copy()
    model.train()
    model[3].train(False)  # a mixed mode must come back exactly
    state = {k: v.copy() for k, v in model.state_dict().items()}
    model[0].weight.requires_grad = False
    gw.onnx.export(model, x, tmp_path / "m.onnx")
    assert [m.training for m in model.modules()] == [True, True, True, True, False]
    assert model[0].weight.requires_grad is False and model[1].weight.requires_grad is True
    model[0].weight.requires_grad = True
    with model.evaluating():
        np.testing.assert_array_equal(model(gw.tensor(x)).data, before)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, state[k])


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 3), ZeroFirst())

    def forward(self, x):
        return self.body(x)


class ZeroFirst(nn.Module):
    def forward(self, x):
        y = x * 1.0
        y[:, 0] = 0.0  # a recorded in-place write (IndexPut): no ONNX mapping
        return y


def test_unsupported_op_names_op_layer_and_opset_and_writes_nothing(tmp_path):
    path = tmp_path / "model.onnx"
    with pytest.raises(UnsupportedOperatorError) as error:
        gw.onnx.export(Unsupported(), np.ones((2, 3), np.float32), path, opset_version=17)
    message = str(error.value)
    assert "index_put" in message and "body.1" in message and "ZeroFirst" in message and "opset 17" in message
    assert os.listdir(tmp_path) == []
    assert isinstance(error.value, gw.errors.ConfigError)


def test_bad_opset_and_missing_folder(tmp_path):
    model = nn.Linear(2, 2)
    with pytest.raises(gw.errors.ConfigError, match="opset_version"):
        gw.onnx.export(model, np.ones((1, 2), np.float32), tmp_path / "m.onnx", opset_version=7)
    with pytest.raises(gw.errors.ConfigError, match="does not exist"):
        gw.onnx.export(model, np.ones((1, 2), np.float32), tmp_path / "no" / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_import_gradwork_does_not_import_onnx():
    import subprocess
    import sys
    code = "import sys, gradwork; assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def assert_exports_ids(model, ids, tmp_path):
    path = tmp_path / "model.onnx"
    gw.onnx.export(model, ids, path)
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64  # token ids stay int64
    for batch in (ids, np.concatenate([ids, ids, ids[:1]])):
        with model.evaluating():
            expected = model(gw.tensor(batch)).data
        (got,) = run_onnx(path, batch.astype(np.int64))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(expected).max())))


def test_embedding_and_layer_norm(tmp_path):
    ids = np.random.default_rng(6).integers(0, 20, (2, 5)).astype(np.int32)
    assert_exports_ids(nn.Sequential(nn.Embedding(20, 6), nn.LayerNorm(6), nn.Linear(6, 3)), ids, tmp_path)


@pytest.mark.parametrize("options", [dict(num_layers=2), dict(per_token=False, activation="gelu", positions="learned")])
def test_transformer_classifier(options, tmp_path):
    model = models.TransformerClassifier(20, 3, d_model=8, nhead=2, dim_feedforward=16, **options)
    ids = np.random.default_rng(7).integers(0, 20, (2, 5))
    assert_exports_ids(model, ids, tmp_path)


class TwoLayerGCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.g1, self.g2 = nn.GraphConv(4, 8), nn.GraphConv(8, 3)

    def forward(self, x, adjacency):
        return self.g2(gw.relu(self.g1(x, adjacency)), adjacency)


class TwoLayerGAT(nn.Module):
    def __init__(self, concat, return_weights=False):
        super().__init__()
        self.return_weights = return_weights
        self.g1 = nn.GraphAttention(4, 5, heads=2, concat=concat)
        self.g2 = nn.GraphAttention(10 if concat else 5, 3, heads=2, concat=False, bias=False)

    def forward(self, x, adjacency):
        return self.g2(nn.functional.elu(self.g1(x, adjacency)), adjacency, return_weights=self.return_weights)


def random_graph(nodes, seed):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((nodes, nodes)) > 0.6, 1)
    return rng.random((nodes, 4)).astype(np.float32), (upper | upper.T).astype(np.float32)


@pytest.mark.parametrize("model", [TwoLayerGCN, lambda: TwoLayerGAT(concat=True), lambda: TwoLayerGAT(concat=False),
                                   lambda: TwoLayerGAT(concat=True, return_weights=True)],
                         ids=["gcn", "gat-concat", "gat-mean", "gat-weights"])
def test_graph_layers_export_with_the_graph_as_an_input(model, tmp_path):
    model = model()
    x, adjacency = random_graph(6, 8)
    path = tmp_path / "graph.onnx"
    gw.onnx.export(model, (x, adjacency), path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for nodes, seed in ((6, 8), (9, 10), (3, 11)):  # the traced graph, and others of other sizes
        x, adjacency = random_graph(nodes, seed)
        expected = model(gw.tensor(x), gw.tensor(adjacency))
        expected = [t.data for t in expected] if isinstance(expected, tuple) else [expected.data]
        got = run_onnx(path, x, adjacency)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


class ChebNet(nn.Module):
    def __init__(self, K, normalization, lambda_max=None):
        super().__init__()
        self.lambda_max = lambda_max
        self.c1, self.c2 = nn.ChebConv(4, 6, K, normalization), nn.ChebConv(6, 2, 2, normalization, bias=False)

    def forward(self, x, adjacency):
        h = gw.relu(self.c1(x, adjacency, self.lambda_max))
        return self.c2(h, adjacency, lambda_max=self.lambda_max)


@pytest.mark.parametrize("K, normalization, lambda_max", [(1, "sym", None), (3, "sym", None), (4, "rw", 1.5),
                                                          (2, None, 5.0)])
def test_cheb_conv_exports_with_its_laplacian_built_in_the_file(K, normalization, lambda_max, tmp_path):
    model = ChebNet(K, normalization, lambda_max)
    x, adjacency = random_graph(6, 8)
    adjacency[0, 0] = 1.0  # a self-loop, which the Laplacian ignores
    adjacency[5, :] = adjacency[:, 5] = 0.0  # an isolated node
    path = tmp_path / "cheb.onnx"
    gw.onnx.export(model, (x, adjacency), path)
    for x, adjacency in ((x, adjacency), random_graph(9, 10)):
        (got,) = run_onnx(path, x, adjacency)
        np.testing.assert_allclose(got, model(gw.tensor(x), gw.tensor(adjacency)).data, rtol=1e-5, atol=1e-5)


def test_cheb_conv_with_a_computed_lambda_max_is_refused(tmp_path):
    x, adjacency = random_graph(6, 8)
    with pytest.raises(UnsupportedOperatorError, match="lambda_max='compute'"):
        gw.onnx.export(ChebNet(2, "rw", "compute"), (x, adjacency), tmp_path / "cheb.onnx")
    assert os.listdir(tmp_path) == []


class FixedGraph(nn.Module):
    """A model whose graph is fixed inside it: it runs on that graph's node count only."""

    def __init__(self, adjacency):
        super().__init__()
        self.adjacency = adjacency
        self.g = nn.GraphConv(4, 2)

    def forward(self, x):
        return self.g(x, self.adjacency)


def test_a_fixed_graph_exports_with_a_fixed_node_count(tmp_path):
    x, adjacency = random_graph(5, 12)
    model = FixedGraph(adjacency)
    with pytest.raises(gw.errors.ConfigError, match="dynamic_batch=False"):
        gw.onnx.export(model, x, tmp_path / "fixed.onnx")
    assert os.listdir(tmp_path) == []
    gw.onnx.export(model, x, tmp_path / "fixed.onnx", dynamic_batch=False)
    (got,) = run_onnx(tmp_path / "fixed.onnx", x)
    np.testing.assert_allclose(got, model(gw.tensor(x)).data, rtol=1e-5, atol=1e-6)


def test_missing_extra_names_the_install_command(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(gw.onnx.MissingExtraError, match=r'pip install "gradwork\[onnx\]"'):
        gw.onnx.export(nn.Linear(2, 2), np.ones((1, 2), np.float32), tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []
