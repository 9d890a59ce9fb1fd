"""pad: PyTorch's F.pad — four modes, pairs from the last dimension, negative amounts crop."""
import numpy as np
import pytest

import gradwork as gw
from gradwork.errors import ConfigError, ShapeError
from gradwork.ops.padding import pad
from tests.helpers import assert_grads, leaf

R = np.random.default_rng(5)


ROW = np.array([[1.0, 2.0, 3.0]])  # (C=1, W=3): an unbatched one-dimensional signal


@pytest.mark.parametrize("mode, expected", [
    ("constant", [0, 0, 1, 2, 3, 0, 0]),
    ("reflect", [3, 2, 1, 2, 3, 2, 1]),
    ("replicate", [1, 1, 1, 2, 3, 3, 3]),
    ("circular", [2, 3, 1, 2, 3, 1, 2]),
])
def test_each_mode_makes_up_the_border_as_the_docstring_shows(mode, expected):
    np.testing.assert_array_equal(pad(gw.tensor(ROW), (2, 2), mode).data, [expected])


def test_pad_pairs_start_from_the_last_dimension():
    x = gw.ones(2, 3)
    y = pad(x, (1, 0, 0, 2), value=5.0)  # one column on the left, two rows at the bottom
    assert y.shape == (4, 4)
    np.testing.assert_array_equal(y.data[:, 0], 5)
    np.testing.assert_array_equal(y.data[2:], 5)
    np.testing.assert_array_equal(y.data[:2, 1:], 1)


def test_constant_pad_works_on_any_number_of_dimensions():
    assert pad(gw.zeros(2, 3, 4, 5, 6), (1, 1, 1, 1, 1, 1, 1, 1, 1, 1)).shape == (4, 5, 6, 7, 8)
    assert pad(gw.zeros(4), (1, 2)).shape == (7,)


def test_negative_constant_padding_crops():
    x = gw.tensor(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(pad(x, (-1, 0, 0, -2)).data, [[1, 2, 3]])
    np.testing.assert_array_equal(pad(x, (-1, 2)).data[0], [1, 2, 3, 0, 0])
    assert pad(x, (-3, -1)).shape == (3, 0)


def test_pad_keeps_float32():
    x = gw.zeros(1, 2, 3, 3)
    for mode in ("constant", "reflect", "replicate", "circular"):
        assert pad(x, (1, 1, 1, 1), mode).dtype == np.float32


def test_constant_pad_gradient_is_the_output_gradient_cropped():
    x = leaf(np.ones((2, 3)))
    y = pad(x, (1, 2, 2, 0), value=7.0)
    g = R.standard_normal(y.shape)
    y.backward(gw.tensor(g))
    np.testing.assert_array_equal(x.grad, g[2:, 1:4])


@pytest.mark.parametrize("mode, expected", [
    ("reflect", [1, 3, 2]),    # [c b | a b c | b]: b is copied twice into the border
    ("replicate", [3, 1, 2]),  # [a a | a b c | c]: each edge carries the whole border on its side
    ("circular", [2, 2, 2]),   # [b c | a b c | a]
])
def test_copied_elements_receive_the_gradients_of_all_their_copies(mode, expected):
    x = leaf(ROW)
    pad(x, (2, 1), mode).sum().backward()
    np.testing.assert_array_equal(x.grad, [expected])


CASES = [  # (shape, pad): one, two and three padded dimensions, batched and unbatched, with crops
    ((2, 3, 5), (1, 2)),
    ((3, 5), (4, 0)),
    ((2, 3, 5), (-2, 3)),
    ((2, 3, 5), (2, -1)),
    ((3, 4, 5), (1, 2, 3, 0)),
    ((2, 2, 4, 5), (3, 1, -1, 2)),
    ((2, 2, 3, 4, 3), (1, 2, 2, 1, 0, 2)),
    ((2, 3, 4, 3), (2, 1, 1, 2, 1, 0)),
]


@pytest.mark.parametrize("shape, amounts", CASES)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradients(mode, shape, amounts):
    assert_grads(lambda t: pad(t, amounts, mode), R.standard_normal(shape))


def test_constant_pad_gradients_on_many_dimensions_with_a_value():
    assert_grads(lambda t: pad(t, (1, -1, 0, 2, 2, 1, -1, 0), value=2.5), R.standard_normal((3, 2, 4, 3)))


def test_pad_of_a_channels_last_tensor_equals_pad_of_the_contiguous_one():
    x = R.standard_normal((2, 3, 4, 5))
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for mode in ("constant", "reflect", "replicate", "circular"):
        np.testing.assert_array_equal(pad(gw.tensor(channels_last), (2, 1, 1, 3), mode).data,
                                      pad(gw.tensor(x), (2, 1, 1, 3), mode).data)


def test_unknown_mode_names_the_valid_modes():
    with pytest.raises(ConfigError, match="pad: mode must be one of 'constant', 'reflect', 'replicate', 'circular', "
                                          "got 'mirror'"):
        pad(gw.zeros(1, 2, 3), (1, 1), mode="mirror")


def test_odd_length_pad_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"pad: pad must hold \(left, right\) pairs.*got 3 numbers \(1, 1, 1\)"):
        pad(gw.zeros(1, 2, 3), (1, 1, 1))


def test_pad_longer_than_twice_the_dimensions_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"pad has 3 \(left, right\) pairs but the input has only 2 dimensions "
                                         r"\(shape \(2, 3\)\); it can be at most 4 long"):
        pad(gw.zeros(2, 3), (1, 1, 1, 1, 1, 1))


def test_reflect_padding_must_be_smaller_than_the_dimension():
    pad(gw.zeros(1, 2, 4), (3, 3), "reflect")  # 3 < 4: fine
    with pytest.raises(ShapeError, match=r"mode='reflect' needs each padding smaller than the dimension it pads: "
                                         r"padding \(4, 0\) of dimension 2 of size 4 \(input shape \(1, 2, 4\)\)"):
        pad(gw.zeros(1, 2, 4), (4, 0), "reflect")


def test_circular_padding_wraps_around_at_most_once():
    pad(gw.zeros(1, 2, 4), (4, 4), "circular")
    with pytest.raises(ShapeError, match=r"mode='circular' wraps around at most once"):
        pad(gw.zeros(1, 2, 4), (5, 0), "circular")


def test_cropping_more_than_the_dimension_holds_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"negative padding crops more than the dimension holds: padding \(-3, -2\)"):
        pad(gw.zeros(2, 4), (-3, -2))


def test_copy_modes_pad_only_the_last_one_to_three_dimensions_of_a_batched_or_unbatched_input():
    with pytest.raises(ShapeError, match=r"mode='reflect' pads the last 1, 2 or 3 dimensions.*a pad of 2 numbers "
                                         r"needs a 2-D or 3-D input; got shape \(1, 2, 3, 4\)"):
        pad(gw.zeros(1, 2, 3, 4), (1, 1), "reflect")
    with pytest.raises(ShapeError, match="needs a 2-D or 3-D input"):
        pad(gw.zeros(4), (1, 1), "replicate")
    with pytest.raises(ShapeError, match="a pad of 8 numbers"):
        pad(gw.zeros(1, 2, 3, 4, 5), (1,) * 8, "circular")


def test_value_is_only_for_constant_mode():
    pad(gw.zeros(1, 2, 3), (1, 1), "reflect", value=0.0)  # 0 is the default: allowed, as in PyTorch
    with pytest.raises(ConfigError, match=r"value=1\.5 is only for mode='constant'; mode='replicate' takes no value"):
        pad(gw.zeros(1, 2, 3), (1, 1), "replicate", value=1.5)


def test_pad_amounts_must_be_ints():
    with pytest.raises(ConfigError, match="pad must be a sequence of ints"):
        pad(gw.zeros(2, 3), (1.5, 1))
    with pytest.raises(ConfigError, match="pad must be a sequence of ints"):
        pad(gw.zeros(2, 3), 1)


def test_replicate_padding_whose_crop_removes_the_interior_sends_every_gradient_to_the_edge():
    x = leaf([[1.0, 2.0]])
    pad(x, (3, -3), "replicate").sum().backward()  # output [1, 1]: both copies of the first value
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0]])
