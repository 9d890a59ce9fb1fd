"""Every op on the fake device computes what it computes on the CPU, and keeps every output and every
gradient on the device (see fake_device.py): the dispatch a GPU run depends on, checked without a GPU."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from tests.backend.fake_device import assert_on_fake, host

R = np.random.default_rng(7)


def floats(*shape):
    return R.standard_normal(shape)


def positive(*shape):
    return R.random(shape) + 0.5


def labels(n, classes):
    return R.integers(0, classes, n)


# name: (function of tensors, input arrays). Float inputs are leaves that require grad; integer and
# boolean inputs (labels, masks, indices) are moved to the device as they are.
CASES = {
    "add_broadcast": (lambda a, b: a + b, [floats(3, 4), floats(4)]),
    "sub_scalar": (lambda a: 2.0 - a, [floats(3, 4)]),
    "mul_div": (lambda a, b: a * b / (b * b + 1), [floats(3, 4), floats(3, 1)]),
    "pow": (lambda a, b: a ** b, [positive(3, 4), floats(3, 4)]),
    "pow_scalar": (lambda a: a ** 3 + a ** 0.5 * 0, [positive(5)]),
    "matmul_batched": (lambda a, b: a @ b, [floats(2, 3, 4), floats(4, 5)]),
    "matmul_vector": (lambda a, b: a @ b, [floats(4), floats(4, 2)]),
    "exp_log_sqrt": (lambda a: (a.exp() + a.abs().sqrt()).log(), [floats(3, 4)]),
    "sin_cos_clip": (lambda a: a.sin() * a.cos() + a.clip(-0.5, 0.5), [floats(3, 4)]),
    "where": (lambda c, a, b: gw.ops.where(c, a, b), [floats(3, 4) > 0, floats(3, 4), floats(3, 4)]),
    "activations": (lambda a: F.relu(a) + F.sigmoid(a) + F.tanh(a) + F.gelu(a) + F.elu(a) + F.silu(a)
                    + F.softplus(a) + F.leaky_relu(a) + F.hardtanh(a), [floats(3, 4)]),
    "softmax": (lambda a: F.softmax(a, dim=1) * F.log_softmax(a, dim=0), [floats(3, 4)]),
    "reductions": (lambda a: a.sum(0) + a.mean(1, keepdims=True).sum() + a.max(0) + a.min(0) + a.var(0)
                   + a.logsumexp(0) + a.norm(dim=0) + a.prod(0) + a.cumsum(0)[0], [floats(3, 4)]),
    "shape_ops": (lambda a: a.reshape(4, 3).T.permute(1, 0).flatten().unsqueeze(0).expand(2, 12).flip(1)
                  .repeat(2, 1)[1:, ::2], [floats(3, 4)]),
    "getitem_fancy": (lambda a, i: a[i] * 2 + a[:, 1:3].sum(), [floats(5, 4), np.array([0, 2, 2, 4])]),
    "cat_stack_split": (lambda a, b: gw.ops.cat([a, b], 0) * gw.ops.stack([a, b]).sum(0).repeat(2, 1)
                        + gw.ops.split(a, 2, 1)[0].sum(), [floats(2, 4), floats(2, 4)]),
    "gather_masked_fill": (lambda a, i, m: a.gather(1, i) + a.masked_fill(m, 0.0)[:, :2],
                           [floats(3, 4), labels(6, 4).reshape(3, 2), floats(3, 4) > 0]),
    "pad": (lambda a: F.pad(a, (1, 2, 0, 1)) + F.pad(a, (1, 2, 0, 1), mode="reflect"), [floats(1, 2, 4, 5)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [floats(5, 3), floats(4, 3), floats(4)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [floats(2, 3, 7, 7), floats(4, 3, 3, 3),
                                                                        floats(4)]),
    "conv2d_groups_dilation": (lambda x, w: F.conv2d(x, w, padding="same", dilation=2, groups=2),
                               [floats(2, 4, 6, 6), floats(4, 2, 3, 3)]),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                         [floats(2, 3, 4, 4), floats(3, 2, 3, 3), floats(2)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2) + F.max_pool2d(x, 3, 2, 1, ceil_mode=True)[..., :2, :2],
                   [floats(2, 3, 4, 4)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2) + F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)[..., :2, :2],
                   [floats(2, 3, 4, 4)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [floats(2, 3, 5, 7)]),
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, weight=w, bias=b, training=True),
                         [floats(4, 3, 2, 2), positive(3), floats(3)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [floats(3, 4), positive(4), floats(4)]),
    "embedding": (lambda i, w: F.embedding(i, w), [labels(7, 5), floats(5, 3)]),
    "cross_entropy": (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), [floats(6, 4), labels(6, 4)]),
    "nll_loss": (lambda x, t: F.nll_loss(F.log_softmax(x, dim=1), t), [floats(6, 4), labels(6, 4)]),
    "regression_losses": (lambda x, y: F.mse_loss(x, y) + F.l1_loss(x, y) + F.smooth_l1_loss(x, y)
                          + F.huber_loss(x, y), [floats(3, 4), floats(3, 4)]),
    "binary_losses": (lambda x, y: F.binary_cross_entropy(F.sigmoid(x), y)
                      + F.binary_cross_entropy_with_logits(x, y), [floats(3, 4), R.random((3, 4))]),
    "kl_div": (lambda x, y: F.kl_div(F.log_softmax(x, dim=1), F.softmax(y, dim=1)), [floats(3, 4), floats(3, 4)]),
    "multi_margin": (lambda x, t: F.multi_margin_loss(x, t), [floats(6, 4), labels(6, 4)]),
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=True),
                  [floats(2, 5, 4), floats(2, 5, 4), floats(2, 5, 4)]),
    "lstm": (lambda x, h, c, wi, wh, b, b2: F.lstm_layer(x, h, c, wi, wh, b, b2)[0],
             [floats(4, 2, 3), floats(2, 5), floats(2, 5), floats(20, 3), floats(20, 5), floats(20), floats(20)]),
    "gru": (lambda x, h, wi, wh, b, b2: F.gru_layer(x, h, wi, wh, b, b2)[0],
            [floats(4, 2, 3), floats(2, 5), floats(15, 3), floats(15, 5), floats(15), floats(15)]),
    "rnn": (lambda x, h, wi, wh, b, b2: F.rnn_layer(x, h, wi, wh, b, b2)[0],
            [floats(4, 2, 3), floats(2, 5), floats(5, 3), floats(5, 5), floats(5), floats(5)]),
    "grid_sample": (lambda x, t: F.grid_sample(x, F.affine_grid(t, (2, 1, 4, 5))),
                    [floats(2, 1, 4, 5), np.tile([[1.0, 0.1, 0.0], [0.0, 0.9, 0.1]], (2, 1, 1))]),
}


def _inputs(arrays, device):
    tensors = []
    for a in arrays:
        t = gw.tensor(a, device=device)
        if a.dtype.kind == "f":
            t.requires_grad_()
        tensors.append(t)
    return tensors


def _run(function, arrays, device):
    inputs = _inputs(arrays, device)
    out = function(*inputs)
    weights = gw.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape), device=device)
    (out * weights).sum().backward()
    return out, inputs


@pytest.fixture(params=gw.kernels.PATHS)
def kernel_path(request):
    with gw.kernels.use(request.param):
        yield request.param


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_on_fake_device_equals_cpu_and_stays_there(name, fake_device, kernel_path):
    function, arrays = CASES[name]
    cpu_out, cpu_inputs = _run(function, arrays, None)
    out, inputs = _run(function, arrays, fake_device)
    assert out.device == fake_device
    assert_on_fake(out.data, f"{name}: the output")
    np.testing.assert_allclose(host(out.data), cpu_out.data, rtol=1e-10, atol=1e-12)
    for k, (x, cpu_x) in enumerate(zip(inputs, cpu_inputs)):
        if cpu_x.grad is not None:
            assert_on_fake(x.grad, f"{name}: the gradient of input {k}")
            np.testing.assert_allclose(host(x.grad), cpu_x.grad, rtol=1e-10, atol=1e-12)


def test_dropout_draws_its_mask_on_the_device(fake_device):
    x = gw.ones(200, 50, device=fake_device, requires_grad=True)
    y = F.dropout(x, 0.5) + F.dropout2d(x.reshape(4, 50, 50, 1), 0.5).reshape(200, 50)
    y.sum().backward()
    assert_on_fake(y.data, "dropout's output")
    assert_on_fake(x.grad, "dropout's gradient")
    kept = host(F.dropout(x, 0.5).data) > 0
    assert 0.4 < kept.mean() < 0.6


def test_dropout_on_the_device_repeats_after_manual_seed(fake_device):
    x = gw.ones(10, 10, device=fake_device)
    gw.manual_seed(3)
    first = host(F.dropout(x, 0.5).data)
    gw.manual_seed(3)
    assert (host(F.dropout(x, 0.5).data) == first).all()


def test_ops_on_two_devices_raise_one_error_naming_both(fake_device):
    a, b = gw.ones(2, 3), gw.ones(2, 3, device=fake_device)
    with pytest.raises(gw.errors.DeviceError, match="cpu and fake:0"):
        a + b
    with pytest.raises(gw.errors.DeviceError, match="move them with .to"):
        F.linear(b, gw.ones(4, 3))
