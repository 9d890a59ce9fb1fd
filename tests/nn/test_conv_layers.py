"""Convolution, pooling and normalisation layers: shapes, init, buffers, modes, freezing."""
import math

import numpy as np
import pytest

import gradwork as gw
from gradwork import models, nn, optim
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops.padding import pad
from gradwork.tools import gradcheck


def test_conv2d_parameters_have_pytorch_shapes_and_default_init():
    conv = nn.Conv2d(16, 32, 3, padding=1)
    assert conv.weight.shape == (32, 16, 3, 3) and conv.bias.shape == (32,)
    bound = 1 / math.sqrt(16 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert conv(gw.zeros(2, 16, 10, 10)).shape == (2, 32, 10, 10)
    assert nn.ConvTranspose2d(8, 4, 2, stride=2).weight.shape == (8, 4, 2, 2)
    assert nn.ConvTranspose2d(8, 4, 2, stride=2)(gw.zeros(1, 8, 5, 5)).shape == (1, 4, 10, 10)


def test_conv_keeps_float32():
    y = nn.Conv2d(1, 2, 3)(gw.zeros(1, 1, 5, 5))
    assert y.dtype == np.float32


def test_batchnorm_buffers_are_in_the_state_dict_not_the_parameters():
    bn = nn.BatchNorm2d(4)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_batchnorm_training_uses_batch_statistics_and_eval_uses_running_ones():
    bn = nn.BatchNorm2d(3)
    x = gw.tensor(np.random.default_rng(0).standard_normal((8, 3, 4, 4)) * 3 + 5, dtype=np.float32)
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    bn.eval()
    y_eval = bn(x).data  # running stats after one step are 0.9·(0, 1) + 0.1·batch: far from the batch's
    assert np.abs(y_eval.mean()) > 1


def test_batchnorm_running_statistics_after_n_steps():
    bn = nn.BatchNorm1d(2, momentum=0.1)
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((16, 2)).astype(np.float32) * [1, 3] + [2, -1] for _ in range(5)]
    mean, var = np.zeros(2), np.ones(2)
    for b in batches:
        bn(gw.tensor(b))
        mean = 0.9 * mean + 0.1 * b.mean(axis=0)
        var = 0.9 * var + 0.1 * b.var(axis=0, ddof=1)  # the running variance is the unbiased one
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-5)
    assert int(bn.num_batches_tracked.data) == 5


def test_batchnorm_cumulative_average_with_momentum_none():
    bn = nn.BatchNorm1d(1, momentum=None)
    for value in (1.0, 3.0):
        bn(gw.tensor(np.array([[value - 1], [value + 1]], np.float32)))
    np.testing.assert_allclose(bn.running_mean.data, [2.0])


def test_batchnorm1d_on_2d_input_and_shape_errors():
    assert nn.BatchNorm1d(5)(gw.randn(4, 5)).shape == (4, 5)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): input has 5 channels"):
        nn.BatchNorm2d(3)(gw.zeros(2, 5, 4, 4))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(gw.zeros(1, 3))


def test_layernorm_normalises_each_example():
    y = nn.LayerNorm(6)(gw.randn(3, 6) * 5 + 2).data
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=1), 1, atol=1e-3)


def test_freezing_early_layers_and_replacing_the_head():
    """The transfer-learning recipe: freeze the features, train a new softmax layer."""
    features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten())
    model = nn.Sequential(features, nn.Linear(4 * 6 * 6, 10))
    model[0].freeze()
    model.add_module("1", nn.Linear(4 * 6 * 6, 3))  # a new head for a 3-class task
    before = features[0].weight.data.copy()
    opt = optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    gw.nn.functional.cross_entropy(model(gw.randn(5, 1, 8, 8)), [0, 1, 2, 0, 1]).backward()
    opt.step()
    np.testing.assert_array_equal(features[0].weight.data, before)
    assert features[0].weight.grad is None and model[1].weight.grad is not None
    model[0].unfreeze()
    assert all(p.requires_grad for p in model.parameters())


def test_pool_and_dropout2d_layers():
    x = gw.randn(2, 3, 8, 8)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 8, 8)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)
    layer = nn.Dropout2d(0.5).eval()
    assert layer(x) is x


def test_a_shape_error_inside_a_model_names_the_layer():
    model = models.LeNet5()
    with pytest.raises(ShapeError, match=r"^features\.0 \(Conv2d\): conv2d: input has 3 channels but the layer "
                                         r"expects 1 \(input shape \(2, 3, 28, 28\)\)$"):
        model(gw.tensor(np.zeros((2, 3, 28, 28), np.float32)))
    with pytest.raises(ShapeError, match=r"^features\.3 \(Conv2d\): .*\(2, 6, 4, 4\) is too small .* smallest that works is 5"):
        model(gw.tensor(np.zeros((2, 1, 9, 9), np.float32)))
    # A layer called on its own keeps the message as it is.
    with pytest.raises(ShapeError, match=r"^conv2d: input has 3 channels"):
        nn.Conv2d(1, 4, 3)(gw.tensor(np.zeros((1, 3, 8, 8), np.float32)))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding, amounts", [(1, (1, 1, 1, 1)), ((2, 1), (1, 1, 2, 2)), ("same", (0, 1, 1, 2))])
def test_conv2d_padding_mode_pads_with_that_mode_then_convolves_without_padding(mode, padding, amounts):
    layer = nn.Conv2d(2, 3, (4, 2), padding=padding, padding_mode=mode).double()
    x = gw.tensor(np.random.default_rng(0).standard_normal((2, 2, 6, 5)))
    expected = gw.nn.functional.conv2d(pad(x, amounts, mode), layer.weight, layer.bias)
    np.testing.assert_allclose(layer(x).data, expected.data, rtol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_padding_mode_gradients_reach_input_weight_and_bias(mode):
    layer = nn.Conv2d(2, 3, 3, padding=2, dilation=(1, 2), padding_mode=mode).double()
    x = gw.tensor(np.random.default_rng(1).standard_normal((2, 2, 5, 6)), requires_grad=True)
    report = gradcheck(lambda t, w, b: layer(t), [x, layer.weight, layer.bias])
    assert report.max_error < 1e-6, str(report)


def test_conv2d_unknown_padding_mode_names_the_valid_modes():
    with pytest.raises(ConfigError, match="Conv2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', "
                                          "'circular', got 'mirror'"):
        nn.Conv2d(1, 2, 3, padding_mode="mirror")


def test_conv2d_bad_padding_fails_when_the_layer_is_made():
    with pytest.raises(ConfigError, match="padding='same' needs stride 1"):
        nn.Conv2d(1, 2, 3, stride=2, padding="same")
    with pytest.raises(ConfigError, match="'same' or 'valid', got 'full'"):
        nn.Conv2d(1, 2, 3, padding="full")


def test_conv2d_repr_names_a_padding_mode_other_than_zeros():
    assert "padding_mode=reflect" in repr(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"))
    assert "padding_mode" not in repr(nn.Conv2d(1, 2, 3, padding=1))


def test_pool_layers_take_pytorchs_arguments_in_pytorchs_order():
    x = gw.tensor(np.random.default_rng(2).standard_normal((2, 3, 7, 7)))
    F = gw.nn.functional
    # MaxPool2d(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
    np.testing.assert_array_equal(nn.MaxPool2d(3, 2, 1, 1, False, True)(x).data,
                                  F.max_pool2d(x, 3, 2, 1, dilation=1, ceil_mode=True).data)
    # AvgPool2d(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    np.testing.assert_array_equal(nn.AvgPool2d(3, 2, 1, True, False)(x).data,
                                  F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False).data)
    assert nn.MaxPool2d(2, ceil_mode=True)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(2, ceil_mode=True)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(2, divisor_override=1)(x).data[0, 0, 0, 0] == pytest.approx(x.data[0, 0, :2, :2].sum())


def test_pool_layer_reprs_name_options_that_are_not_the_default():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert "dilation=2, ceil_mode=True" in repr(nn.MaxPool2d(2, dilation=2, ceil_mode=True))
    assert "ceil_mode=True, count_include_pad=False" in repr(nn.AvgPool2d(3, 2, 1, True, False))


def test_max_pool_layer_return_indices_is_refused_when_the_layer_is_made():
    with pytest.raises(ConfigError, match="MaxPool2d: return_indices=True is not supported"):
        nn.MaxPool2d(2, return_indices=True)
