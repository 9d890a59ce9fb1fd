"""weights=PATH on VGG16/vgg16 and resnet18: gradwork's own and torchvision's names, any file format.

Fixtures made once with PyTorch by tests/io/fixtures/make_fixtures.py (tiny widths; torch not needed here).
"""
import os

import numpy as np
import pytest

import gradwork as gw
from gradwork import models
from gradwork.errors import CheckpointError
from gradwork.models.vgg import vgg16  # not yet exported by gradwork.models (not this change's file)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "io", "fixtures")


def fixture(name):
    return os.path.join(FIXTURES, name)


def run(model, x, part=None):
    with model.evaluating():
        return (part or model)(gw.Tensor(x)).data


def test_vgg16_loads_its_own_state_dict_saved_by_torch():
    ref = np.load(fixture("gradwork_vgg16_tiny_expected.npz"))
    model = models.VGG16(1, num_classes=3, widths=(2, 2, 4, 4, 4), hidden=8, weights=fixture("gradwork_vgg16_tiny.pt"))
    np.testing.assert_allclose(run(model, ref["x"]), ref["y"], rtol=1e-5, atol=1e-6)
    lower = vgg16(1, num_classes=3, widths=(2, 2, 4, 4, 4), hidden=8, weights=fixture("gradwork_vgg16_tiny.pt"))
    np.testing.assert_array_equal(run(lower, ref["x"]), run(model, ref["x"]))


def test_resnet18_loads_its_own_state_dict_from_a_torch_safetensors_file():
    ref = np.load(fixture("gradwork_resnet18_tiny_expected.npz"))
    model = models.resnet18(num_classes=3, widths=(2, 2, 4, 4), weights=fixture("gradwork_resnet18_tiny.safetensors"))
    np.testing.assert_allclose(run(model, ref["x"]), ref["y"], rtol=1e-5, atol=1e-6)


def test_resnet18_loads_torchvision_names_and_gives_torchs_outputs():
    ref = np.load(fixture("torchvision_resnet18_tiny_expected.npz"))
    model = models.resnet18(num_classes=5, small_input=False, widths=(2, 2, 4, 4),
                            weights=fixture("torchvision_resnet18_tiny.pt"))
    np.testing.assert_allclose(run(model, ref["x"]), ref["y"], rtol=1e-5, atol=1e-5)


def test_a_head_of_another_size_keeps_its_initialisation_with_a_warning():
    fresh = models.resnet18(num_classes=3, small_input=False, widths=(2, 2, 4, 4))
    with pytest.warns(UserWarning, match=r"head.2.weight \(3, 4\).*fresh initialisation"):
        model = models.resnet18(num_classes=3, small_input=False, widths=(2, 2, 4, 4),
                                weights=fixture("torchvision_resnet18_tiny.pt"))
    state = gw.io.load_state_dict_file(fixture("torchvision_resnet18_tiny.pt"))
    np.testing.assert_array_equal(model.stem[0].weight.data, state["conv1.weight"])
    np.testing.assert_array_equal(model.stages[1][0].shortcut[1].running_mean.data,
                                  state["layer2.0.downsample.1.running_mean"])
    assert model.head[2].weight.shape == fresh.head[2].weight.shape


def test_vgg16_bn_from_torchvision_folds_the_conv_bias_and_gives_torchs_features():
    ref = np.load(fixture("torchvision_vgg16_bn_tiny_expected.npz"))
    with pytest.warns(UserWarning, match="classifier"):
        model = models.VGG16(1, num_classes=3, widths=(2, 2, 4, 4, 4), hidden=8,
                             weights=fixture("torchvision_vgg16_bn_tiny.pt"))
    np.testing.assert_allclose(run(model, ref["x"], model.features), ref["features"], rtol=1e-5, atol=1e-5)


def test_transfer_learning_freezes_the_features_and_trains_the_head():
    with pytest.warns(UserWarning):
        model = models.VGG16(1, num_classes=3, widths=(2, 2, 4, 4, 4), hidden=8,
                             weights=fixture("torchvision_vgg16_bn_tiny.pt"))
    model.features.freeze()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    opt = gw.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    model.features.eval()
    x = np.random.default_rng(0).standard_normal((4, 1, 32, 32)).astype(np.float32)
    gw.nn.functional.cross_entropy(model(gw.Tensor(x)), np.array([0, 1, 2, 0])).backward()
    opt.step()
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before if k.startswith("features."))
    assert not np.array_equal(before["classifier.6.weight"], after["classifier.6.weight"])


def test_weights_of_another_architecture_get_the_clear_message():
    with pytest.raises(CheckpointError, match=r"shape mismatch: stem.0.weight"):  # the ImageNet stem is 7×7
        models.resnet18(num_classes=5, small_input=True, widths=(2, 2, 4, 4), weights=fixture("torchvision_resnet18_tiny.pt"))
    with pytest.raises(CheckpointError, match=r"missing keys: .*features.0.1.weight"), \
            pytest.warns(UserWarning, match="absent"):  # vgg16 without BatchNorm, and no classifier
        models.VGG16(1, num_classes=3, widths=(2, 2, 4, 4, 4), hidden=8, batchnorm=True,
                     weights={"features.0.weight": np.zeros((2, 1, 3, 3), np.float32)})
