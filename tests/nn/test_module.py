"""Module registration, traversal, modes, state dicts and repr."""
import numpy as np
import pytest

import gradwork as gw
from gradwork import nn
from gradwork.errors import CheckpointError


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)
        self.register_buffer("steps", np.zeros(1))

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_parameters_are_registered_by_attribute_in_definition_order():
    names = [n for n, _ in TwoLayer().named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_sequential_names_match_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert isinstance(model[0], nn.Linear) and len(model) == 3 and len(model[1:]) == 2


def test_module_list_registers_its_modules():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

    assert len(list(Stack().parameters())) == 6
    assert "blocks.2.bias" in Stack().state_dict()


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, layer)
    assert len(list(model.parameters())) == 2


def test_children_and_modules():
    model = TwoLayer()
    assert [type(m).__name__ for m in model.children()] == ["Linear", "ReLU", "Linear"]
    assert len(list(model.modules())) == 4


def test_train_and_eval_set_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_forgets_gradients():
    model = TwoLayer()
    model(gw.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_to_double_and_back():
    model = TwoLayer().double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model(gw.tensor(np.ones((1, 4)))).dtype == np.float64
    assert all(p.dtype == np.float32 for p in model.float().parameters())


def test_buffers_are_in_the_state_dict_but_not_parameters():
    model = TwoLayer()
    assert "steps" in model.state_dict()
    assert all(n != "steps" for n, _ in model.named_parameters())


def test_state_dict_round_trip_with_arrays_or_tensors():
    a, b = TwoLayer(), TwoLayer()
    b.load_state_dict({k: gw.tensor(v) for k, v in a.state_dict().items()})
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    b.load_state_dict(a.state_dict())
    x = gw.randn(3, 4)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_copies_values():
    a, b = TwoLayer(), TwoLayer()
    b.load_state_dict(a.state_dict())
    a.fc1.weight.data[...] = 0
    assert np.abs(b.fc1.weight.data).sum() > 0


def test_load_state_dict_of_another_architecture_names_every_problem():
    other = nn.Sequential(nn.Linear(4, 5))
    with pytest.raises(CheckpointError) as info:
        TwoLayer().load_state_dict(other.state_dict())
    message = str(info.value)
    assert "missing keys: steps, fc1.weight, fc1.bias" in message and "unexpected keys: 0.weight, 0.bias" in message
    state = TwoLayer().state_dict()
    state["fc2.weight"] = np.zeros((7, 3))
    with pytest.raises(CheckpointError, match=r"fc2.weight: checkpoint \(7, 3\) vs model \(2, 3\)"):
        TwoLayer().load_state_dict(state)


def test_load_state_dict_non_strict_reports_keys():
    state = TwoLayer().state_dict()
    del state["fc2.bias"]
    state["extra"] = np.zeros(1)
    result = TwoLayer().load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc2.bias"] and result.unexpected_keys == ["extra"]


def test_repr_shows_structure_and_parameter_counts():
    text = repr(TwoLayer())
    assert "(fc1): Linear(in_features=4, out_features=3, bias=True)  # 15 params" in text
    assert text.rstrip().endswith("# 23 params")


def test_requires_grad_false_freezes_a_subtree():
    model = TwoLayer()
    model.fc1.requires_grad_(False)
    model(gw.randn(2, 4)).sum().backward()
    assert model.fc1.weight.grad is None and model.fc2.weight.grad is not None
    assert model.num_parameters(trainable_only=True) == 8


def test_assigning_a_non_parameter_over_a_parameter_is_an_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="registered as a parameter"):
        layer.weight = np.zeros((2, 2))


def test_forward_hooks_see_outputs():
    seen = []
    layer = nn.Linear(2, 3)
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
    layer(gw.zeros(4, 2))
    handle.remove()
    layer(gw.zeros(4, 2))
    assert seen == [(4, 3)]


def test_reassigning_a_parameter_keeps_its_place_in_the_order():
    layer = nn.Linear(3, 2)
    layer.weight = nn.Parameter(gw.zeros(2, 3))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.state_dict()) == ["weight", "bias"]
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    model[1].weight = model[0].weight  # re-assigned: still second layer's first entry
    model.add_module("0", nn.Linear(3, 3))
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_forward_hook_with_kwargs_sees_the_keyword_arguments():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    seen = []
    module = Scale()
    handle = module.register_forward_hook(lambda m, args, kwargs, out: seen.append((len(args), kwargs)),
                                          with_kwargs=True)
    module(gw.tensor([1.0]), factor=3.0)
    handle.remove()
    module(gw.tensor([1.0]))
    assert seen == [(1, {"factor": 3.0})]
