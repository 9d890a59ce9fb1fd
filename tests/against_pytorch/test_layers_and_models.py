"""Step-by-step agreement with PyTorch: same names, same numbers.

PyTorch is not a dependency; these tests run only where it is installed
(``pip install torch==2.13.0``) and are skipped elsewhere.
"""
import numpy as np
import pytest

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn, optim

torch = pytest.importorskip("torch")


def torch_mlp():
    tnn = torch.nn
    return tnn.Sequential(tnn.Linear(6, 5), tnn.ReLU(), tnn.Linear(5, 3)).double()


def gradwork_mlp():
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).double()


def test_state_dicts_move_between_the_frameworks_by_name():
    reference = torch_mlp()
    model = gradwork_mlp()
    model.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    back = torch_mlp()
    back.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 6))
    np.testing.assert_allclose(model(gw.tensor(x)).data, back(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)


def test_forward_and_gradients_match_for_an_mlp_with_cross_entropy():
    reference = torch_mlp()
    model = gradwork_mlp()
    model.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((8, 6))
    y = np.arange(8) % 3
    loss = F.cross_entropy(model(gw.tensor(x)), y)
    loss.backward()
    tloss = torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-12)
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("name", ["cross_entropy_smooth", "bce_with_logits", "bce", "mse", "nll", "log_softmax"])
def test_losses_and_their_gradients_match(name):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, 5)
    targets = rng.integers(0, 2, (5, 4)).astype(float)
    probs = 1 / (1 + np.exp(-z))
    tf = torch.nn.functional
    cases = {
        "cross_entropy_smooth": (lambda t: F.cross_entropy(t, labels, label_smoothing=0.2), z,
                                 lambda t: tf.cross_entropy(t, torch.from_numpy(labels), label_smoothing=0.2)),
        "bce_with_logits": (lambda t: F.binary_cross_entropy_with_logits(t, targets, pos_weight=np.full(4, 2.0)), z,
                            lambda t: tf.binary_cross_entropy_with_logits(t, torch.from_numpy(targets),
                                                                          pos_weight=torch.full((4,), 2.0).double())),
        "bce": (lambda t: F.binary_cross_entropy(t, targets), probs,
                lambda t: tf.binary_cross_entropy(t, torch.from_numpy(targets))),
        "mse": (lambda t: F.mse_loss(t, targets, reduction="sum"), z,
                lambda t: tf.mse_loss(t, torch.from_numpy(targets), reduction="sum")),
        "nll": (lambda t: F.nll_loss(t, labels), z, lambda t: tf.nll_loss(t, torch.from_numpy(labels))),
        "log_softmax": (lambda t: (F.log_softmax(t, dim=0) * 1.5).sum(), z,
                        lambda t: (tf.log_softmax(t, dim=0) * 1.5).sum()),
    }
    ours, data, theirs = cases[name]
    x = gw.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    loss, tloss = ours(x), theirs(tx)
    loss.backward()
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-10)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-14)


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)), ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.5)),
]


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=lambda v: str(v))
def test_optimizers_follow_pytorch_step_by_step(name, options):
    start = np.random.default_rng(3).standard_normal((5, 3))
    p, tp = nn.Parameter(start.copy()), torch.tensor(start.copy(), requires_grad=True)
    opt, topt = getattr(optim, name)([p], **options), getattr(torch.optim, name)([tp], **options)
    for step in range(25):
        g = np.sin(np.arange(15.0).reshape(5, 3) * (step + 1)) + 0.3 * p.data
        tg = np.sin(np.arange(15.0).reshape(5, 3) * (step + 1)) + 0.3 * tp.detach().numpy()
        p.grad, tp.grad = g, torch.from_numpy(tg)
        opt.step()
        topt.step()
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("ours, theirs", [
    (lambda o: optim.lr_scheduler.StepLR(o, 3, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    (lambda o: optim.lr_scheduler.ExponentialLR(o, 0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
    (lambda o: optim.lr_scheduler.CosineAnnealingLR(o, 7, 0.01),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 7, 0.01)),
])
def test_schedules_match(ours, theirs):
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.5)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    s, ts = ours(opt), theirs(topt)
    for _ in range(12):
        topt.step()
        s.step()
        ts.step()
        assert s.get_last_lr()[0] == pytest.approx(ts.get_last_lr()[0], rel=1e-12)


def _copy_weights(ours, theirs):
    theirs.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in ours.state_dict().items()})


def _assert_same_grads(ours, theirs):
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=1e-10, err_msg=name)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", [{}, {"num_layers": 2, "bidirectional": True, "batch_first": True},
                                     {"bias": False}])
def test_recurrent_layers_match_pytorch_outputs_states_and_gradients(kind, options):
    ours, theirs = getattr(nn, kind)(5, 4, **options).double(), getattr(torch.nn, kind)(5, 4, **options).double()
    _copy_weights(ours, theirs)
    x = np.random.default_rng(2).standard_normal((3, 6, 5))
    out, state = ours(gw.tensor(x))
    ref_out, ref_state = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=1e-12)
    states = state if isinstance(state, tuple) else (state,)
    ref_states = ref_state if isinstance(ref_state, tuple) else (ref_state,)
    for s, r in zip(states, ref_states):
        np.testing.assert_allclose(s.data, r.detach().numpy(), atol=1e-12)
    (out.sum() + (states[-1] * 2).sum()).backward()
    (ref_out.sum() + (ref_states[-1] * 2).sum()).backward()
    _assert_same_grads(ours, theirs)


def test_multihead_attention_matches_pytorch_with_masks():
    ours = nn.MultiheadAttention(8, 2, batch_first=True).double()
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    _copy_weights(ours, theirs)
    rng = np.random.default_rng(3)
    q, kv = rng.standard_normal((3, 5, 8)), rng.standard_normal((3, 4, 8))
    attn_mask = rng.random((5, 4)) < 0.3
    attn_mask[:, 0] = False
    padding = np.zeros((3, 4), bool)
    padding[0, 3] = True
    out, weights = ours(q, kv, kv, attn_mask=attn_mask, key_padding_mask=padding)
    ref, ref_weights = theirs(*(torch.from_numpy(a) for a in (q, kv, kv)), attn_mask=torch.from_numpy(attn_mask),
                              key_padding_mask=torch.from_numpy(padding))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(weights.data, ref_weights.detach().numpy(), atol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    _assert_same_grads(ours, theirs)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_matches_pytorch(norm_first):
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                                            norm_first=norm_first, activation="gelu"), 2).double()
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                                                          norm_first=norm_first, activation="gelu"),
                                         2, enable_nested_tensor=False).double()
    _copy_weights(ours, theirs)
    x = np.random.default_rng(4).standard_normal((2, 5, 8))
    out, ref = ours(gw.tensor(x)), theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    _assert_same_grads(ours, theirs)


def test_embedding_matches_pytorch_with_repeated_ids():
    ours = nn.Embedding(6, 3, padding_idx=1).double()
    theirs = torch.nn.Embedding(6, 3, padding_idx=1).double()
    _copy_weights(ours, theirs)
    ids = np.array([[1, 2, 2], [5, 1, 0]])
    (ours(ids) * 3).sum().backward()
    (theirs(torch.from_numpy(ids)) * 3).sum().backward()
    _assert_same_grads(ours, theirs)


def _small_cnn(lib):
    """One-channel 3×3 convolution (the transposed window matrix), BatchNorm with γ and β (the fused
    op), ReLU, 2×2 max-pool, a 16-channel convolution (channels-last windows), BatchNorm, a linear head."""
    return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
                          lib.Conv2d(4, 6, 3, padding=1, stride=2), lib.BatchNorm2d(6), lib.ReLU(), lib.Flatten(),
                          lib.Linear(6 * 2 * 2, 3))


def test_a_small_cnn_trains_like_pytorch_step_by_step():
    """Two SGD steps with momentum: the same losses, gradients, weights and BatchNorm running statistics."""
    reference = _small_cnn(torch.nn).double()
    model = _small_cnn(nn).double()
    model.load_state_dict({k: v.detach().numpy().copy() for k, v in reference.state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 1, 8, 8))
    y = np.arange(5) % 3
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for step in range(2):
        opt.zero_grad()
        topt.zero_grad()
        loss = F.cross_entropy(model(gw.tensor(x)), y)
        loss.backward()
        tloss = torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-10), f"step {step}"
        for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=f"step {step}: {name}")
        opt.step()
        topt.step()
    theirs = reference.state_dict()
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(value, theirs[name].numpy(), rtol=1e-8, atol=1e-12, err_msg=name)
    model.eval(), reference.eval()
    np.testing.assert_allclose(model(gw.tensor(x)).data, reference(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (2, 1, 0)])
def test_max_pool_sends_tied_gradients_where_pytorch_does(kernel, stride, padding):
    """Values from {0, 1, 2}: most windows hold ties; the gradient goes to the first maximum."""
    x = np.random.default_rng(4).integers(0, 3, (2, 3, 7, 6)).astype(np.float64)
    g = np.random.default_rng(5).standard_normal((2, 3) + (((7 + 2 * padding - kernel) // stride + 1),
                                                           ((6 + 2 * padding - kernel) // stride + 1)))
    ours = gw.tensor(x, requires_grad=True)
    F.max_pool2d(ours, kernel, stride, padding).backward(gw.tensor(g))
    theirs = torch.from_numpy(x).requires_grad_()
    torch.nn.functional.max_pool2d(theirs, kernel, stride, padding).backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)  # overlaps add up in another order
