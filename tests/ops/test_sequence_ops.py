"""Embedding, recurrent layers and attention: gradient checks in float64, and the facts the
equations promise (gates written out by hand, causal independence, masks)."""
import math

import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn
from gradwork.errors import LabelError, ShapeError
from gradwork.tools import gradcheck
from tests.helpers import leaf

R = np.random.default_rng(11)


def randn(*shape, scale=1.0):
    return R.standard_normal(shape) * scale


def assert_grads(fn, inputs):
    report = gradcheck(fn, inputs)
    assert report.max_error < 1e-6, str(report)


def test_embedding_gradient_scatter_adds_repeated_ids():
    weight = leaf(randn(5, 3))
    ids = np.array([[0, 2, 2], [4, 2, 0]])
    assert_grads(lambda w: F.embedding(ids, w), [weight])
    weight.grad = None
    F.embedding(ids, weight).sum().backward()
    np.testing.assert_allclose(weight.grad[:, 0], [2, 0, 3, 0, 1])  # id 2 three times, id 1 never


def test_embedding_padding_row_gets_no_gradient():
    layer = nn.Embedding(4, 2, padding_idx=0)
    assert np.all(layer.weight.data[0] == 0)
    layer(np.array([0, 1, 0])).sum().backward()
    assert np.all(layer.weight.grad[0] == 0) and np.all(layer.weight.grad[1] == 1)


def test_embedding_rejects_out_of_range_ids_naming_the_largest_allowed():
    with pytest.raises(LabelError, match="largest allowed is 9"):
        nn.Embedding(10, 3)(np.array([1, 10]))
    with pytest.raises(LabelError, match="integers"):
        nn.Embedding(10, 3)(np.array([1.0]))


def test_one_hot_matches_an_identity_row_per_id():
    np.testing.assert_array_equal(F.one_hot(np.array([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])


def _state_sum(state):
    """0.5 × the sum of a final state (h_n, or each of h_n and c_n), so its gradient is checked too."""
    return sum((s * 0.5).sum() for s in (state if isinstance(state, tuple) else (state,)))


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("options", [dict(num_layers=1), dict(num_layers=2), dict(bidirectional=True),
                                     dict(num_layers=2, bidirectional=True, batch_first=True)])
def test_recurrent_layers_gradcheck_with_initial_state(cls, options):
    layer = cls(3, 2, **options).double()
    directions = 2 if options.get("bidirectional") else 1
    shape = (options.get("num_layers", 1) * directions, 2, 2)
    x = leaf(randn(2, 4, 3) if options.get("batch_first") else randn(4, 2, 3))
    h0 = leaf(randn(*shape, scale=0.5))
    inputs = [x, h0] + ([leaf(randn(*shape, scale=0.5))] if cls is nn.LSTM else []) + list(layer.parameters())

    def run(x, h0, *rest):
        state = (h0, rest[0]) if cls is nn.LSTM else h0
        output, final = layer(x, state)
        weights = gw.tensor(np.linspace(-1, 1, output.numel()).reshape(output.shape))
        return (output * weights).sum() + _state_sum(final)

    assert_grads(run, inputs)


def test_rnn_relu_gradcheck():
    layer = nn.RNN(3, 4, nonlinearity="relu").double()
    x = leaf(randn(5, 2, 3))
    assert_grads(lambda x, *p: layer(x)[0], [x] + list(layer.parameters()))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_one_lstm_step_equals_the_gate_equations_written_out():
    cell = nn.LSTMCell(3, 2).double()
    x, h, c = randn(4, 3), randn(4, 2), randn(4, 2)
    a = x @ cell.weight_ih.data.T + cell.bias_ih.data + h @ cell.weight_hh.data.T + cell.bias_hh.data
    i, f, g, o = sigmoid(a[:, 0:2]), sigmoid(a[:, 2:4]), np.tanh(a[:, 4:6]), sigmoid(a[:, 6:8])
    c_next = f * c + i * g
    h_next = o * np.tanh(c_next)
    h_out, c_out = cell(gw.tensor(x), (gw.tensor(h), gw.tensor(c)))
    np.testing.assert_allclose(c_out.numpy(), c_next, atol=1e-12)
    np.testing.assert_allclose(h_out.numpy(), h_next, atol=1e-12)
    # and the whole-sequence layer with the same weights takes the same step
    layer = nn.LSTM(3, 2).double()
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    out, (h_n, c_n) = layer(gw.tensor(x[None]), (gw.tensor(h[None]), gw.tensor(c[None])))
    np.testing.assert_allclose(h_n.numpy()[0], h_next, atol=1e-12)
    np.testing.assert_allclose(c_n.numpy()[0], c_next, atol=1e-12)


def test_one_gru_step_equals_the_gate_equations_written_out():
    cell = nn.GRUCell(3, 2).double()
    x, h = randn(4, 3), randn(4, 2)
    wi, wh, bi, bh = cell.weight_ih.data, cell.weight_hh.data, cell.bias_ih.data, cell.bias_hh.data
    gi, gh = x @ wi.T + bi, h @ wh.T + bh
    r = sigmoid(gi[:, 0:2] + gh[:, 0:2])
    z = sigmoid(gi[:, 2:4] + gh[:, 2:4])
    n = np.tanh(gi[:, 4:6] + r * gh[:, 4:6])
    expected = (1 - z) * n + z * h
    np.testing.assert_allclose(cell(gw.tensor(x), gw.tensor(h)).numpy(), expected, atol=1e-12)
    layer = nn.GRU(3, 2).double()
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    np.testing.assert_allclose(layer(gw.tensor(x[None]), gw.tensor(h[None]))[1].numpy()[0], expected, atol=1e-12)


def test_recurrent_parameter_names_and_shapes_are_pytorchs():
    layer = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    shapes = {name: p.shape for name, p in layer.named_parameters()}
    assert shapes["weight_ih_l0"] == (80, 10) and shapes["weight_hh_l0"] == (80, 20)
    assert shapes["weight_ih_l1"] == (80, 40) and shapes["bias_hh_l1_reverse"] == (80,)
    assert len(shapes) == 16
    out, (h, c) = layer(np.zeros((7, 3, 10), np.float32))
    assert out.shape == (7, 3, 40) and h.shape == (4, 3, 20) and c.shape == (4, 3, 20)


def test_recurrent_layer_rejects_a_wrong_input_size_and_initial_state():
    with pytest.raises(ShapeError, match="input_size=4"):
        nn.GRU(4, 3)(np.zeros((5, 2, 6), np.float32))
    with pytest.raises(ShapeError, match=r"\(1, 2, 3\)"):
        nn.GRU(4, 3)(np.zeros((5, 2, 4), np.float32), np.zeros((1, 5, 3), np.float32))


def test_truncated_bptt_detach_stops_the_gradient_at_the_chunk_boundary():
    layer = nn.RNN(2, 3).double()
    first = leaf(randn(4, 1, 2))
    _, state = layer(first)
    out, _ = layer(leaf(randn(4, 1, 2)), state.detach())
    out.sum().backward()
    assert first.grad is None  # nothing flowed back into the earlier chunk


@pytest.mark.parametrize("mask_kind", [None, "bool", "float", "causal"])
def test_attention_gradcheck_with_and_without_masks(mask_kind):
    q, k, v = leaf(randn(2, 3, 4)), leaf(randn(2, 5, 4)), leaf(randn(2, 5, 6))
    mask = {"bool": R.random((3, 5)) < 0.7, "float": randn(3, 5), None: None, "causal": None}[mask_kind]
    if mask_kind == "bool":
        mask[:, 0] = True  # every query keeps at least one key
    assert_grads(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask=mask, causal=mask_kind == "causal"),
                 [q, k, v])


def test_attention_equals_the_formula():
    q, k, v = randn(3, 4), randn(5, 4), randn(5, 2)
    scores = q @ k.T / math.sqrt(4)
    weights = np.exp(scores - scores.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v).numpy(), weights @ v, atol=1e-12)


def test_causal_mask_makes_position_t_independent_of_later_inputs():
    attention = nn.MultiheadAttention(8, 2, batch_first=True).double()
    x = leaf(randn(1, 6, 8))
    t = 2
    out, _ = attention(x, x, x, is_causal=True)
    out[0, t].sum().backward()
    assert np.all(x.grad[0, t + 1:] == 0)      # no influence from the future …
    assert np.all(np.abs(x.grad[0, :t + 1]).sum(axis=-1) > 0)  # … but from the past and present


def test_masked_keys_get_exactly_zero_attention():
    q, k, v = randn(1, 2, 4), randn(1, 3, 4), randn(1, 3, 4)
    mask = np.array([[True, False, True], [True, True, False]])
    _, weights = F.scaled_dot_product_attention(q, k, v, mask=mask, return_weights=True)
    assert weights.numpy()[0][~mask].max() == 0
    np.testing.assert_allclose(weights.numpy().sum(-1), 1)


def test_attention_masks_of_the_wrong_shape_are_rejected_clearly():
    q = np.zeros((2, 3, 4))
    with pytest.raises(ShapeError, match="mask of shape"):
        F.scaled_dot_product_attention(q, q, q, mask=np.ones((4, 4), bool))
    attention = nn.MultiheadAttention(4, 2, batch_first=True)
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ShapeError, match="attn_mask must have shape"):
        attention(x, x, x, attn_mask=np.ones((2, 2), bool))
    with pytest.raises(ShapeError, match="key_padding_mask"):
        attention(x, x, x, key_padding_mask=np.ones((3, 3), bool))


def test_embed_dim_must_be_divisible_by_num_heads():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)


def test_multihead_attention_parameters_follow_pytorchs_layout():
    names = {n: p.shape for n, p in nn.MultiheadAttention(8, 2).named_parameters()}
    assert names == {"in_proj_weight": (24, 8), "in_proj_bias": (24,), "out_proj.weight": (8, 8),
                     "out_proj.bias": (8,)}


def test_multihead_attention_gradcheck_with_padding_mask():
    attention = nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = leaf(randn(2, 3, 4))
    padding = np.array([[False, False, True], [False, False, False]])
    assert_grads(lambda x, *p: attention(x, x, x, key_padding_mask=padding)[0], [x] + list(attention.parameters()))


@pytest.mark.parametrize("batch_first", [True, False])
def test_self_attention_projects_once_with_the_same_numbers(batch_first):
    """query is key is value: one product with the whole in_proj_weight (as PyTorch); the same outputs and
    gradients as three separate projections of equal copies."""
    attention = nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    x = randn(2, 3, 8)
    results = []
    for inputs in ("one tensor", "three copies"):
        attention.zero_grad()
        xs = [leaf(x)] if inputs == "one tensor" else [leaf(x.copy()) for _ in range(3)]
        out, weights = attention(*(xs * 3 if len(xs) == 1 else xs))
        ((out * out).sum() + (weights * weights).sum()).backward()
        results.append([out.numpy(), weights.numpy()] + [p.grad.copy() for p in attention.parameters()]
                       + [sum(t.grad for t in xs)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_gradcheck(norm_first):
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
                                       norm_first=norm_first, activation="gelu").double()
    x = leaf(randn(2, 3, 4))
    assert_grads(lambda x, *p: layer(x), [x] + list(layer.parameters()))


def test_positional_encoding_is_the_sinusoid_table_and_refuses_longer_sequences():
    pe = nn.PositionalEncoding(6, max_len=10)
    table = pe(np.zeros((1, 10, 6), np.float32)).numpy()[0]
    assert table[3, 0] == pytest.approx(math.sin(3)) and table[3, 1] == pytest.approx(math.cos(3))
    assert table[5, 2] == pytest.approx(math.sin(5 / 10000 ** (2 / 6)), rel=1e-5)
    with pytest.raises(ShapeError, match="max_len=10"):
        pe(np.zeros((1, 11, 6), np.float32))
    with pytest.raises(ShapeError, match="max_len=4"):
        nn.LearnedPositionalEncoding(6, max_len=4)(np.zeros((1, 5, 6), np.float32))


def test_gelu_gradcheck_exact_and_tanh():
    x = leaf(randn(3, 4))
    assert_grads(lambda x: F.gelu(x), [x])
    assert_grads(lambda x: F.gelu(x, approximate="tanh"), [x])
    assert F.gelu(np.array([1.0])).item() == pytest.approx(0.8413447460685429)


def small_graph():
    adjacency = np.zeros((6, 6))
    for i, j in [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (2, 3)]:
        adjacency[i, j] = adjacency[j, i] = 1
    return adjacency


def test_graph_conv_gradcheck_and_normalised_adjacency():
    a = small_graph()
    layer = nn.GraphConv(3, 2).double()
    x = leaf(randn(6, 3))
    assert_grads(lambda x, *p: layer(x, a), [x] + list(layer.parameters()))
    a_hat = nn.normalize_adjacency(a)
    degree = a.sum(1) + 1
    assert a_hat[0, 1] == pytest.approx(1 / math.sqrt(degree[0] * degree[1]))
    assert a_hat[0, 0] == pytest.approx(1 / degree[0])


def test_graph_attention_gradcheck_and_weights_only_on_neighbours():
    a = small_graph()
    layer = nn.GraphAttention(3, 2, heads=2).double()
    x = leaf(randn(6, 3))
    assert_grads(lambda x, *p: layer(x, a), [x] + list(layer.parameters()))
    _, alpha = layer(x, a, return_weights=True)
    allowed = (a != 0) | np.eye(6, dtype=bool)
    assert alpha.numpy()[:, ~allowed].max() == 0
    np.testing.assert_allclose(alpha.numpy().sum(-1), 1)


def test_graph_layers_reject_mismatched_adjacency():
    with pytest.raises(ShapeError, match="adjacency"):
        nn.GraphConv(3, 2)(np.zeros((5, 3), np.float32), np.zeros((4, 4)))
