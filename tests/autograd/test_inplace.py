"""In-place changes: the course's hand-written SGD loop, recorded in-place ops, and the error that
replaces silently wrong gradients when a value backward needs was changed."""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F


def test_hand_written_sgd_keeps_the_leaf_and_its_requires_grad():
    w = gw.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with gw.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    assert w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.data, np.array([1.0, -2.0]) * 0.8 ** 3, rtol=1e-6)


def test_in_place_methods_change_the_array_itself_under_no_grad():
    w = gw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    array = w.data
    with gw.no_grad():
        w.add_(1.0).mul_(2.0).sub_(gw.tensor([1.0, 1.0, 1.0]), alpha=2.0).div_(2.0)
        assert w.data is array
        np.testing.assert_allclose(w.data, [1.0, 2.0, 3.0])
        w.clamp_(max=2.5)
        np.testing.assert_allclose(w.data, [1.0, 2.0, 2.5])
        w[0] = 7.0
        np.testing.assert_allclose(w.data, [7.0, 2.0, 2.5])
        assert w.zero_() is w and not w.data.any()
    assert w.requires_grad and w.is_leaf


def test_fill_and_copy_outside_the_graph():
    t = gw.zeros(2, 3)
    t.fill_(4.0)
    np.testing.assert_array_equal(t.data, np.full((2, 3), 4.0))
    t.copy_(gw.tensor([1.0, 2.0, 3.0]))  # broadcast over the rows
    np.testing.assert_array_equal(t.data, [[1, 2, 3], [1, 2, 3]])


def test_changing_a_leaf_that_requires_grad_while_recording_is_refused():
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w += 1.0
    with pytest.raises(RuntimeError, match="no_grad"):
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 3.0


def test_in_place_ops_on_graph_results_are_recorded():
    x = gw.tensor([1.0, -2.0, 3.0], dtype=np.float64, requires_grad=True)
    h = x * 2.0
    h += 1.0           # like PyTorch's `out += identity` in a residual block
    h.mul_(x)          # h = (2x + 1)·x
    h[1] = 0.0         # cut element 1 out of the graph
    h.sum().backward()
    np.testing.assert_allclose(h.data, [3.0, 0.0, 21.0])
    np.testing.assert_allclose(x.grad, [4 * 1 + 1, 0.0, 4 * 3 + 1])  # d/dx (2x² + x) = 4x + 1


def test_setitem_sends_the_gradient_to_the_assigned_value():
    v = gw.tensor([5.0, 6.0], dtype=np.float64, requires_grad=True)
    h = gw.zeros(2, 3, dtype=np.float64) * 1.0
    h[:, 1] = v
    (h * gw.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    np.testing.assert_allclose(v.grad, [1.0, 4.0])


def test_recorded_in_place_op_keeps_the_value_an_earlier_op_saved():
    x = gw.tensor([-1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = F.relu(x)      # relu saves its output for backward
    y.mul_(3.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 3.0])


def test_changing_a_saved_input_under_no_grad_makes_backward_raise():
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    x = gw.tensor([3.0, 4.0], requires_grad=True)
    loss = (w * x).sum()  # mul saves w and x
    with gw.no_grad():
        w.mul_(10.0)
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_changing_a_saved_output_through_a_view_makes_backward_raise():
    x = gw.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x.exp()                       # exp saves its output
    loss = y.sum()
    with gw.no_grad():
        y.reshape(2, 2)[0].zero_()    # a view of y: the change is y's too
    with pytest.raises(RuntimeError, match="exp saved"):
        loss.backward()


def test_changing_a_tensor_that_backward_does_not_need_is_fine():
    x = gw.tensor([1.0, 2.0], requires_grad=True)
    b = gw.tensor([5.0, 5.0])
    loss = (x + b).sum()              # add saves nothing
    b.add_(1.0)
    loss.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_in_place_op_with_a_result_that_does_not_fit_says_so():
    t = gw.zeros(3)
    with pytest.raises(ValueError, match="shape"):
        t.add_(gw.ones(2, 3))
    i = gw.arange(3)
    with pytest.raises(TypeError, match="dtype"):
        i.mul_(0.5)


def test_backward_through_a_graph_recorded_before_an_optimiser_step_raises():
    from gradwork import optim
    w = gw.tensor([1.0, 2.0], requires_grad=True)
    x = gw.tensor([3.0, 4.0], requires_grad=True)
    loss = (w * x).sum()
    loss.backward(retain_graph=True)
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_ops_that_used_a_tensor_before_an_in_place_change_keep_their_own_input():
    x = gw.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = x * 1.0
    z = y.exp()        # uses y as it was
    y.mul_(5.0)        # recorded: y is now a new node
    z.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]))
    x.grad = None
    y = x * 1.0
    z = y * 3.0
    y.add_(1.0)
    y.add_(1.0)
    (z + y).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 4.0])


def test_an_in_place_op_with_an_operand_that_needs_grad_is_recorded():
    h = gw.zeros(3, dtype=np.float64)
    w = gw.tensor([1.0, 1.0, 1.0], dtype=np.float64, requires_grad=True)
    h += w * 2.0
    h.sum().backward()
    np.testing.assert_allclose(w.grad, [2.0, 2.0, 2.0])


def test_retain_grad_survives_an_in_place_change_and_keeps_the_changed_values_gradient():
    x = gw.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    y.add_(1.0)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad, [6.0, 10.0])


def test_a_recorded_in_place_change_of_a_view_is_refused_clearly():
    y = gw.tensor([0.0, 1.0, 2.0, 3.0], requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="view"):
        y[:2].add_(10.0)


def test_changing_a_recurrent_layers_output_view_makes_backward_raise():
    import gradwork.nn.functional as F
    rng = np.random.default_rng(0)
    x = gw.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    out, _ = F.rnn_layer(x, gw.zeros(2, 3, dtype=np.float64), gw.tensor(rng.standard_normal((3, 4)), requires_grad=True),
                         gw.tensor(rng.standard_normal((3, 3)), requires_grad=True))
    loss = out.sum()
    with gw.no_grad():
        out.mul_(0.0)  # out is a view of the hidden states the layer saved
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
