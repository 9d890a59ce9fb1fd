"""ONNX export of recurrent layers, transposed convolutions and padded convolutions: onnxruntime's
outputs equal gradwork's at the traced batch size and another one."""
import numpy as np
import pytest

import gradwork as gw
from gradwork import models, nn
from gradwork.onnx import UnsupportedOperatorError
from gradwork.ops import recurrent

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def seed():
    gw.manual_seed(0)


def _flatten(output):
    if isinstance(output, (tuple, list)):
        return [o for item in output for o in _flatten(item)]
    return [] if output is None else [output.data]


def assert_exports(model, x, tmp_path, other_batch=7, **options):
    """Export on x; the file passes the full check and every output matches gradwork at x's batch size
    (along axis 0 of the input) and another one."""
    path = tmp_path / "model.onnx"
    gw.onnx.export(model, x, path, **options)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    repeats = -(-other_batch // len(x))
    for batch in (x, np.concatenate([x] * repeats)[:other_batch]):
        with model.evaluating():
            expected = _flatten(model(gw.tensor(batch)))
        feed = batch.astype(np.int64) if batch.dtype.kind in "iu" else batch
        got = session.run(None, {session.get_inputs()[0].name: feed})
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(e).max())))
    return proto


def ops_of(proto):
    return {n.op_type for n in proto.graph.node}


def sequences(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------ recurrent layers

@pytest.mark.parametrize("layer, op", [
    (lambda: nn.RNN(4, 6), "RNN"),
    (lambda: nn.RNN(4, 6, nonlinearity="relu", num_layers=2), "RNN"),
    (lambda: nn.LSTM(4, 6), "LSTM"),
    (lambda: nn.LSTM(4, 6, num_layers=2, dropout=0.3), "LSTM"),
    (lambda: nn.GRU(4, 6), "GRU"),
    (lambda: nn.GRU(4, 6, num_layers=2, bias=False), "GRU"),
    (lambda: nn.LSTM(4, 6, bidirectional=True), "LSTM"),
    (lambda: nn.GRU(4, 6, num_layers=2, bidirectional=True), "GRU"),
    (lambda: nn.RNN(4, 6, num_layers=2, bidirectional=True, nonlinearity="relu"), "RNN"),
])
@pytest.mark.parametrize("batch_first", [False, True])
def test_recurrent_modules(layer, op, batch_first, tmp_path):
    """Output and final state(s) of the whole module; time-first inputs vary along time (axis 0)."""
    model = layer()
    model.batch_first = batch_first
    proto = assert_exports(model, sequences((3, 5, 4) if batch_first else (5, 3, 4)), tmp_path)
    assert op in ops_of(proto)
    assert set(model.state_dict()) <= {i.name for i in proto.graph.initializer}


def test_recurrent_module_unbatched_input(tmp_path):
    assert_exports(nn.GRU(4, 6, num_layers=2, bidirectional=True), sequences((5, 4)), tmp_path)  # (T, I): T varies


class GivenState(nn.Module):
    """An LSTM started from a state computed from the input (passed positionally)."""

    def __init__(self):
        super().__init__()
        self.init_h, self.init_c = nn.Linear(4, 12), nn.Linear(4, 12)
        self.lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True)

    def forward(self, x):
        first = x[:, 0]
        h = self.init_h(first).reshape(x.shape[0], 2, 6).permute(1, 0, 2)
        c = self.init_c(first).reshape(x.shape[0], 2, 6).permute(1, 0, 2)
        out, (h_n, c_n) = self.lstm(x, (h, c))
        return out, h_n, c_n


def test_recurrent_module_with_initial_state(tmp_path):
    assert_exports(GivenState(), sequences((3, 5, 4)), tmp_path)


class KeywordState(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 6, batch_first=True)

    def forward(self, x):
        return self.gru(x, hx=gw.ones(1, x.shape[0], 6))[0]


def test_state_by_keyword_is_refused(tmp_path):
    with pytest.raises(UnsupportedOperatorError, match="keyword"):
        gw.onnx.export(KeywordState(), sequences((3, 5, 4)), tmp_path / "m.onnx", dynamic_batch=False)


class LayerOps(nn.Module):
    """The ops of ``ops.recurrent`` called directly, each from an initial state computed from the input."""

    def __init__(self, kind):
        super().__init__()
        self.kind, gates = kind, {"rnn": 1, "lstm": 4, "gru": 3}[kind]
        self.start = nn.Linear(4, 6)
        self.w_ih = nn.Parameter(gw.randn(gates * 6, 4).data * 0.4)
        self.w_hh = nn.Parameter(gw.randn(gates * 6, 6).data * 0.4)
        self.b_ih = nn.Parameter(gw.randn(gates * 6).data * 0.1)
        self.b_hh = nn.Parameter(gw.randn(gates * 6).data * 0.1)

    def forward(self, x):  # x (T, B, 4)
        h0 = gw.tanh(self.start(x[0]))
        weights = (self.w_ih * 1.5, self.w_hh, self.b_ih, self.b_hh)  # a computed weight too
        if self.kind == "lstm":
            out, h, c = recurrent.lstm_layer(x, h0, h0 * 0.5, *weights)
            return out, h, c
        if self.kind == "gru":
            return recurrent.gru_layer(x, h0, *weights)
        return recurrent.rnn_layer(x, h0, *weights, nonlinearity="relu")


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_layer_ops(kind, tmp_path):
    proto = assert_exports(LayerOps(kind), sequences((5, 3, 4)), tmp_path)
    assert kind.upper() in ops_of(proto)


class ReversedInTime(nn.Module):
    """The reverse direction written with ops: the sequence flipped, one forward layer, flipped back."""

    def __init__(self):
        super().__init__()
        self.ops = LayerOps("gru")

    def forward(self, x):
        out, h = self.ops(x[::-1])
        return out[::-1, :, 1:], h


def test_reversed_sequence_follows_the_length(tmp_path):
    """x[::-1] along the axis that varies stays a whole reversal at another length."""
    assert_exports(ReversedInTime(), sequences((5, 3, 4)), tmp_path)


def test_fast_recurrent_kernels_have_a_converter():
    from gradwork.kernels.recurrent import FastGRULayer, FastLSTMLayer
    from gradwork.onnx.converters import CONVERTERS
    assert FastLSTMLayer.__name__ in CONVERTERS and FastGRULayer.__name__ in CONVERTERS


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_char_rnn_ids_to_logits_and_state(cell, tmp_path):
    model = models.CharRNN(20, embedding_dim=8, hidden_size=12, num_layers=2, cell=cell)
    ids = np.random.default_rng(2).integers(0, 20, (2, 7))
    proto = assert_exports(model, ids, tmp_path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


# ------------------------------------------------------------------ transposed convolution

@pytest.mark.parametrize("options", [dict(), dict(stride=2, padding=1, output_padding=1),
                                     dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2), dilation=(1, 2)),
                                     dict(stride=2, groups=2, dilation=2, bias=False)])
def test_conv_transpose2d(options, tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.ConvTranspose2d(4, 6, 3, **options))
    proto = assert_exports(model, sequences((2, 2, 7, 6)), tmp_path)
    assert "ConvTranspose" in ops_of(proto)


# ------------------------------------------------------------------ padding modes

@pytest.mark.parametrize("mode, opset", [("reflect", 17), ("replicate", 17), ("circular", 19), ("zeros", 17)])
def test_conv2d_padding_modes(mode, opset, tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode), nn.ReLU(),
                          nn.Conv2d(4, 2, 4, padding="same", padding_mode=mode))
    proto = assert_exports(model, sequences((2, 3, 8, 9)), tmp_path, opset_version=opset)
    assert mode == "zeros" or "Pad" in ops_of(proto)


def test_circular_padding_below_opset_19_is_refused(tmp_path):
    model = nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular")
    with pytest.raises(UnsupportedOperatorError, match=r"opset 17.*opset 19"):
        gw.onnx.export(model, sequences((2, 3, 8, 8)), tmp_path / "m.onnx", opset_version=17)
    assert not (tmp_path / "m.onnx").exists()


class Pads(nn.Module):
    def __init__(self, mode, amounts, value=0.0):
        super().__init__()
        self.mode, self.amounts, self.value = mode, amounts, value

    def forward(self, x):
        if self.mode == "constant":
            return gw.ops.padding.pad(x, self.amounts, "constant", self.value) * 2.0
        return gw.ops.padding.pad(x, self.amounts, self.mode) * 2.0


@pytest.mark.parametrize("mode, amounts", [("constant", (1, 2, -1, 3)), ("reflect", (2, -1, 1, 0)),
                                           ("replicate", (-2, 3, 0, -1)), ("circular", (-1, 2, 1, 1))])
def test_pad_op_with_crops(mode, amounts, tmp_path):
    assert_exports(Pads(mode, amounts, 1.5 if mode == "constant" else 0.0), sequences((2, 3, 5, 6)), tmp_path,
                   opset_version=19)


class Reductions(nn.Module):
    """prod, norms, cumsum and the step function, on (B, 3, 4)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        parts = [gw.prod(x, dim=2), gw.norm(x, p=self.p, dim=(1, 2), keepdim=True).reshape(x.shape[0], 1),
                 gw.cumsum(x, 1)[:, :, 0], nn.functional.step(x)[:, 0, :]]
        return gw.cat(parts, axis=1)


@pytest.mark.parametrize("p", [1, 2, 3, float("inf")])
def test_reductions_cumsum_and_step(p, tmp_path):
    assert_exports(Reductions(p), sequences((2, 3, 4)) - 0.5, tmp_path)


class Picks(nn.Module):
    def __init__(self, index=None):
        super().__init__()
        self.index = index

    def forward(self, x):
        index = self.index if self.index is not None else np.zeros((x.shape[0], 1), dtype=np.int64)
        return gw.gather(x, 1, index) * 2.0


def test_gather_with_a_fixed_index(tmp_path):
    model = Picks(np.array([[2, 0], [1, 1], [0, 2]]))  # (3, 2): the input (B ≥ 3, 4) is cut to (3, 2) first
    path = tmp_path / "g.onnx"
    gw.onnx.export(model, sequences((3, 4)), path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for x in (sequences((3, 4)), sequences((5, 4), seed=2)):
        (got,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(got, model(gw.tensor(x)).data, rtol=1e-6)


def test_gather_whose_index_follows_the_batch_is_refused(tmp_path):
    with pytest.raises(UnsupportedOperatorError, match="gather whose index follows the batch"):
        gw.onnx.export(Picks(), sequences((3, 4)), tmp_path / "dynamic.onnx")
    assert not (tmp_path / "dynamic.onnx").exists()
    assert_exports(Picks(), sequences((3, 4)), tmp_path, dynamic_batch=False, other_batch=3)


@pytest.mark.parametrize("mode, padding_mode, align_corners, opset",
                         [("bilinear", "zeros", False, 17), ("bilinear", "border", True, 20),
                          ("bilinear", "reflection", False, 21), ("nearest", "zeros", True, 16),
                          ("nearest", "reflection", False, 20)])
def test_spatial_transformer(mode, padding_mode, align_corners, opset, tmp_path):
    localisation = nn.Sequential(nn.Flatten(), nn.Linear(2 * 6 * 7, 8), nn.Tanh())
    model = nn.SpatialTransformer(localisation, output_size=(5, 4), align_corners=align_corners, mode=mode,
                                  padding_mode=padding_mode)
    with gw.no_grad():  # a transform that reaches outside the image, so the padding mode matters
        model.fc_loc.weight[...] = gw.tensor(sequences((6, 8), seed=3) * 0.5)
    assert_exports(model, sequences((3, 2, 6, 7)), tmp_path, opset_version=opset)


def test_grid_sample_needs_opset_16(tmp_path):
    model = nn.SpatialTransformer(nn.Sequential(nn.Flatten(), nn.Linear(12, 4)))
    with pytest.raises(UnsupportedOperatorError, match="opset 16"):
        gw.onnx.export(model, sequences((1, 3, 2, 2)), tmp_path / "m.onnx", opset_version=15)
