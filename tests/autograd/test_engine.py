"""The backward pass: accumulation over a DAG, ordering, graph freeing, no_grad."""
import threading

import numpy as np
import pytest

import gradwork as gw
from tests.helpers import leaf


def test_a_tensor_used_twice_accumulates_both_gradients():
    x = leaf(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == pytest.approx(7.0)


def test_diamond_graph_gets_every_path():
    x = leaf(2.0)
    a = x * 3
    b = x.exp()
    y = a * b + a  # d/dx = 3eˣ + 3x·eˣ + 3
    y.backward()
    assert x.grad == pytest.approx(3 * np.exp(2) + 6 * np.exp(2) + 3)


def test_a_chain_of_100000_ops_needs_no_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_graph_is_freed_after_backward_and_a_second_backward_is_an_error():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 20.0])


def test_backward_of_a_tensor_without_graph_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gw.tensor([1.0]).sum().backward()


def test_only_leaves_that_require_grad_get_a_gradient():
    x = leaf([1.0])
    c = gw.tensor([2.0])
    (x * c).sum().backward()
    assert c.grad is None and x.grad is not None


def test_intermediate_results_keep_no_gradient():
    x = leaf([1.0, 2.0])
    h = x * 2
    (h * h).sum().backward()
    assert h.grad is None


def test_gradients_shared_between_inputs_are_not_aliased_in_place():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    gw.optim.clip_grad_norm_([a, b], 0.1)
    assert np.linalg.norm(np.concatenate([a.grad, b.grad])) == pytest.approx(0.1, rel=1e-4)


def test_a_leafs_own_copy_of_a_view_gradient_is_laid_out_like_the_leaf():
    """A leaf whose gradient arrives as a view gets its own copy in the leaf's memory layout (PyTorch's
    contract for .grad): a channels-last image batch gets a channels-last gradient, a C-ordered one a
    C-ordered gradient; the values are the same either way, and a second backward adds onto them."""
    values = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    for stored, contiguous in ((np.ascontiguousarray(values.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
                                lambda a: a.transpose(0, 2, 3, 1).flags.c_contiguous),
                               (values.copy(), lambda a: a.flags.c_contiguous)):
        x = gw.Tensor(stored).requires_grad_()  # (gw.tensor would copy it into C order, as torch.tensor does)
        (x.permute(0, 2, 3, 1) * 2.0).permute(0, 3, 1, 2).sum().backward()
        assert contiguous(x.grad) and x.grad.base is None
        np.testing.assert_array_equal(x.grad, np.full(values.shape, 2.0))
        gw.nn.functional.avg_pool2d(x, 2, padding=1).sum().backward()
        assert contiguous(x.grad)
        np.testing.assert_allclose(x.grad, np.full(values.shape, 2.25))


def test_no_grad_builds_no_graph_as_context_and_decorator():
    x = leaf([1.0])
    with gw.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf

    @gw.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert (x * 2).requires_grad  # switched back on afterwards


def test_no_grad_is_restored_after_an_exception_and_is_per_thread():
    with pytest.raises(ZeroDivisionError):
        with gw.no_grad():
            1 / 0
    assert gw.is_grad_enabled()
    seen = []
    with gw.no_grad():
        t = threading.Thread(target=lambda: seen.append(gw.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with gw.no_grad():
        with gw.enable_grad():
            assert (x * 2).requires_grad


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = (x * 2).detach()
    assert y.is_leaf and not y.requires_grad
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


def test_float32_gradients_stay_float32():
    x = gw.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    ((x * 0.5 + np.float64(2.0)) ** 2).mean().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("make", ["frombuffer", "memmap"])
def test_an_in_place_change_is_caught_through_a_view_of_an_array_over_a_buffer(make, tmp_path):
    """NumPy does not point a view of an array made over a buffer (or of a memmap) at the first owner: the
    chain of bases is walked, so changing γ in place after the reference batch norm saved a reshaped view
    of it is still refused."""
    if make == "frombuffer":
        data = np.frombuffer(bytearray(np.ones(3, np.float32).tobytes()), np.float32)
    else:
        data = np.lib.format.open_memmap(tmp_path / "w.npy", mode="w+", dtype=np.float32, shape=(3,))
        data[:] = 1.0
    weight = gw.Tensor(np.asarray(data), requires_grad=True)
    x = gw.tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    with gw.kernels.use("reference"):
        y = gw.nn.functional.batch_norm(x, None, None, weight, gw.zeros(3, requires_grad=True), training=True)
        with gw.no_grad():
            weight.mul_(5.0)
        with pytest.raises(RuntimeError, match="changed in place"):
            (y * y).sum().backward()
