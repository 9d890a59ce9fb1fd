"""The max-norm constraint: units above the limit are rescaled to it, the others are not touched at all,
biases never; each layer's units are found on the right axis; the MaxNorm callback holds it through training."""
import numpy as np
import pytest

import gradwork as gw
from gradwork import nn, optim, train
from gradwork.errors import ConfigError, ShapeError


def unit_norms(w, axis=0):
    w = np.asarray(w, dtype=np.float64)
    return np.sqrt((np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1) ** 2).sum(1))


def test_rows_above_the_limit_are_rescaled_to_it_and_rows_below_are_unchanged():
    layer = nn.Linear(2, 3)
    layer.weight.data[...] = [[3.0, 4.0], [0.3, 0.4], [-6.0, 8.0]]   # norms 5, 0.5, 10
    layer.bias.data[...] = [7.0, -7.0, 70.0]
    largest = nn.utils.max_norm_(layer, 2.0)
    np.testing.assert_allclose(layer.weight.numpy(), [[1.2, 1.6], [0.3, 0.4], [-1.2, 1.6]], rtol=1e-6)
    assert layer.weight.numpy()[1].tolist() == np.array([0.3, 0.4], np.float32).tolist()   # bit for bit
    assert layer.bias.numpy().tolist() == [7.0, -7.0, 70.0]
    assert largest == pytest.approx(10.0)
    assert layer.weight.dtype == np.float32


def test_conv_filters_and_transposed_conv_channels_are_the_units(rng):
    conv = nn.Conv2d(3, 4, 3)
    conv.weight.data[...] = rng.standard_normal(conv.weight.shape) * [[[[1.0]]], [[[0.01]]], [[[5.0]]], [[[0.02]]]]
    before = conv.weight.numpy().copy()
    nn.utils.max_norm_(conv, 1.0)
    norms = unit_norms(conv.weight.numpy())                          # one per output filter (4,)
    assert norms[0] == pytest.approx(1.0, rel=1e-5) and norms[2] == pytest.approx(1.0, rel=1e-5)
    assert (conv.weight.numpy()[[1, 3]] == before[[1, 3]]).all()
    # ConvTranspose2d: weight (in, out/groups, kh, kw); a unit is one output channel within its group
    deconv = nn.ConvTranspose2d(4, 6, 2, groups=2)
    deconv.weight.data[...] = rng.standard_normal(deconv.weight.shape) * 3
    nn.utils.max_norm_(nn.Sequential(deconv), 1.0)
    w = deconv.weight.numpy().reshape(2, 2, 3, 2, 2)                 # (groups, in/g, out/g, kh, kw)
    np.testing.assert_allclose(np.sqrt((w.astype(np.float64) ** 2).sum(axis=(1, 3, 4))), 1.0, rtol=1e-5)


def test_parameters_one_tensor_or_an_explicit_dim(rng):
    a, b = nn.Linear(3, 4), nn.BatchNorm1d(4)
    a.weight.data[...] = 10.0
    b.weight.data[...] = 10.0                                        # a 1-D scale: never constrained
    nn.utils.max_norm_(list(a.parameters()) + list(b.parameters()), 1.0)
    np.testing.assert_allclose(unit_norms(a.weight.numpy()), 1.0, rtol=1e-6)
    assert (b.weight.numpy() == 10.0).all()
    w = gw.tensor(np.full((2, 5), 3.0))
    nn.utils.max_norm_(w, 1.0, dim=1)                                # columns as units
    np.testing.assert_allclose(unit_norms(w.numpy(), axis=1), 1.0)


def test_a_change_counts_as_an_in_place_update_and_no_change_is_not_counted():
    layer = nn.Linear(2, 2)
    layer.weight.data[...] = 0.1
    version = layer.weight._version[0]
    nn.utils.max_norm_(layer, 1.0)
    assert layer.weight._version[0] == version
    out = layer(np.ones((1, 2), np.float32)).sum()
    layer.weight.data[...] = 5.0
    nn.utils.max_norm_(layer, 1.0)
    assert layer.weight._version[0] == version + 1
    with pytest.raises(RuntimeError):                                # the graph saw the weights before the change
        out.backward()


def test_clear_errors():
    with pytest.raises(ConfigError, match="positive number"):
        nn.utils.max_norm_(nn.Linear(2, 2), 0)
    with pytest.raises(ConfigError, match="positive number"):
        train.MaxNorm(-1.0)
    with pytest.raises(ShapeError, match="bias"):
        nn.utils.max_norm_(nn.Linear(2, 2).bias, 1.0)
    with pytest.raises(ShapeError, match="dim=2"):
        nn.utils.max_norm_(nn.Linear(2, 2), 1.0, dim=2)


def test_the_callback_keeps_every_unit_within_the_limit_through_training(rng):
    x = rng.standard_normal((64, 10)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    def run(callbacks):
        gw.manual_seed(0)
        model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))
        seen = []

        class Watch(train.Callback):                                 # norms the next forward pass will use
            def on_batch_end(self, state, logs):
                seen.append(max(unit_norms(model[0].weight.numpy()).max(), unit_norms(model[2].weight.numpy()).max()))

        train.fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=2.0), epochs=2,
                  batch_size=16, callbacks=[*callbacks, Watch()], verbose=0)
        return seen, model

    free, _ = run([])
    constrained, model = run([train.MaxNorm(0.5)])
    assert max(free) > 1.0                                           # without it, this learning rate goes far past
    assert len(constrained) == 8 and max(constrained) <= 0.5 * (1 + 1e-6)
    assert unit_norms(model[2].weight.numpy()).max() == pytest.approx(0.5, rel=1e-5)
