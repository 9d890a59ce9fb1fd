"""Neural style transfer: the Gram matrix and the losses by hand and gradient-checked, the frozen and
truncated feature network, the optimisation on real photos (scikit-learn's china.jpg and flower.jpg,
no download), and ``gradwork style-transfer`` end to end."""
import warnings

import numpy as np
import pytest
from PIL import Image

import gradwork as gw
from gradwork import models
from gradwork.cli.main import main
from gradwork.errors import ConfigError, ShapeError
from gradwork.nn import Conv2d, MaxPool2d, ReLU, Sequential
from gradwork.vision import style_transfer as st
from gradwork.vision.images import read_image, standardize
from tests.helpers import assert_grads

R = np.random.default_rng(11)
SMALL_VGG = (16, 32, 64, 64, 64)  # VGG-16's layout with narrow layers: the same layer names, a fraction of the work


@pytest.fixture(scope="module")
def photos():
    """china.jpg and flower.jpg from scikit-learn (427 × 640), shorter side resized to 32 px."""
    from sklearn.datasets import load_sample_images

    def small(array):
        image = Image.fromarray(array)
        width, height = image.size
        image = image.resize((round(width * 32 / height), 32), Image.Resampling.BILINEAR)
        return np.asarray(image, np.float32).transpose(2, 0, 1) / 255

    china, flower = load_sample_images().images
    return small(china), small(flower)


# ------------------------------------------------------------------------------------------ the losses
def test_gram_matrix_by_hand():
    features = np.array([[[[1, 2], [3, 4]], [[0, 1], [0, 1]]]], dtype=np.float32)  # (1, 2, 2, 2)
    # channel rows [1, 2, 3, 4] and [0, 1, 0, 1]: dot products 30, 6, 2; divided by C·H·W = 8
    expected = np.array([[[30, 6], [6, 2]]], dtype=np.float32) / 8
    np.testing.assert_allclose(st.gram_matrix(gw.tensor(features)).data, expected)


def test_gram_matrix_is_one_per_image_and_refuses_other_shapes():
    features = R.standard_normal((3, 4, 5, 6))
    grams = st.gram_matrix(gw.tensor(features)).data
    assert grams.shape == (3, 4, 4)
    np.testing.assert_allclose(grams[2], features[2].reshape(4, 30) @ features[2].reshape(4, 30).T / 120)
    with pytest.raises(ShapeError, match="gram_matrix"):
        st.gram_matrix(gw.tensor(np.ones((4, 5, 6))))


def test_total_variation_by_hand():
    image = np.array([[[[0, 1], [3, 5]]]], dtype=np.float32)
    # vertical |3 − 0|, |5 − 1| → mean 3.5; horizontal |1 − 0|, |5 − 3| → mean 1.5; ½ (3.5 + 1.5)
    assert st.total_variation_loss(gw.tensor(image)).item() == pytest.approx(2.5)
    assert st.total_variation_loss(gw.tensor(np.full((2, 3, 4, 5), 0.7))).item() == 0.0
    with pytest.raises(ShapeError, match="at least 2×2"):
        st.total_variation_loss(gw.tensor(np.ones((1, 3, 1, 5))))


def test_content_and_style_losses_by_hand():
    features, target = np.ones((1, 2, 2, 2)), np.zeros((1, 2, 2, 2))
    assert st.content_loss(gw.tensor(features), target).item() == pytest.approx(1.0)
    # G(ones) = 4·1 / 8 = ½ everywhere; against zero targets each layer's mean square is ¼
    layers = [gw.tensor(features), gw.tensor(2 * features)]  # second: G = 2, mean square 4
    targets = [np.zeros((1, 2, 2)), np.zeros((1, 2, 2))]
    assert st.style_loss(layers, targets).item() == pytest.approx(0.25 + 4)
    assert st.style_loss(layers, targets, weights=[2.0, 0.5]).item() == pytest.approx(0.5 + 2)
    with pytest.raises(ShapeError, match="one target Gram matrix"):
        st.style_loss(layers, targets[:1])
    with pytest.raises(ShapeError, match="channels"):
        st.style_loss(layers[:1], [np.zeros((1, 3, 3))])


def test_gram_matrix_and_losses_gradient_check_in_float64():
    assert_grads(st.gram_matrix, R.standard_normal((2, 3, 4, 5)))
    target = R.standard_normal((1, 3, 4, 4))
    assert_grads(lambda x: st.content_loss(x, target), R.standard_normal((1, 3, 4, 4)))
    targets = [R.standard_normal((1, 3, 3)), R.standard_normal((1, 2, 2))]
    assert_grads(lambda a, b: st.style_loss([a, b], targets, weights=[0.7, 1.3]),
                 R.standard_normal((1, 3, 4, 5)), R.standard_normal((1, 2, 3, 3)))
    away_from_ties = np.cumsum(R.uniform(0.1, 1.0, (1, 3, 4, 5)), axis=2)  # |Δ| ≥ 0.1: off the kink of |·|
    assert_grads(st.total_variation_loss, away_from_ties * R.choice([-1, 1], (1, 3, 1, 1)))


# ------------------------------------------------------------------------------------------ the features
def test_layer_names_are_torchvisions_vgg16_indices():
    names = st.layer_names(models.vgg16(batchnorm=False, widths=(4, 4, 4, 4, 4)).features[0])
    indices = {name: names.index(name) for name in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1")}
    assert indices == {"conv1_1": 0, "conv2_1": 5, "conv3_1": 10, "conv4_1": 17, "conv4_2": 19, "conv5_1": 24}
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]


def test_feature_extractor_is_cut_after_the_last_layer_frozen_and_in_eval_mode():
    vgg = models.vgg16(batchnorm=False, widths=SMALL_VGG)
    extractor = st.FeatureExtractor(vgg)
    assert len(extractor.layers) == 25 and extractor.names[-1] == "conv5_1"  # nothing beyond conv5_1 runs
    assert not any(p.requires_grad for p in extractor.parameters()) and not extractor.training
    assert extractor.min_size == 16  # four poolings before conv5_1
    image = gw.tensor(R.standard_normal((1, 3, 16, 20)).astype(np.float32), requires_grad=True)
    content, style = extractor(image)
    assert [f.shape for f in content] == [(1, 64, 2, 2)]
    assert [f.shape[1:] for f in style] == [(16, 16, 20), (32, 8, 10), (64, 4, 5), (64, 2, 2), (64, 1, 1)]
    (content[0].sum() + sum(f.sum() for f in style)).backward()
    assert image.grad is not None and all(p.grad is None for p in vgg.parameters())


def test_vgg16_features_loads_torchvision_named_weights_quietly(tmp_path):
    """A file laid out as torchvision's vgg16 state dict (``features.<i>.*``, an ImageNet classifier that
    does not fit the small-image head): the convolutions load, the head's warning is not shown."""
    from safetensors.numpy import save_file

    gw.manual_seed(1)
    source = models.vgg16(batchnorm=False).features[0]
    state = {f"features.{key}": value.copy() for key, value in source.state_dict().items()}
    state["classifier.0.weight"] = np.zeros((7, 3), np.float32)  # stands for ImageNet's 4096 × 25088
    save_file(state, str(tmp_path / "vgg16.safetensors"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features = st.vgg16_features(tmp_path / "vgg16.safetensors")
    np.testing.assert_array_equal(features[24].weight.data, source[24].weight.data)  # conv5_1
    np.testing.assert_array_equal(features[0].bias.data, source[0].bias.data)


def test_feature_extractor_takes_any_conv_stack_and_names_or_indices():
    net = Sequential(Conv2d(3, 4, 3, padding=1), ReLU(), MaxPool2d(2), Conv2d(4, 6, 3, padding=1), ReLU())
    extractor = st.FeatureExtractor(net, content_layers=["relu2_1"], style_layers=[0, "conv2_1"])
    assert (extractor.content_indices, extractor.style_indices) == ([4], [0, 3])
    with pytest.raises(ConfigError, match="no layer named 'conv4_2'.*conv1_1, relu1_1, pool1, conv2_1, relu2_1"):
        st.FeatureExtractor(net)
    with pytest.raises(ConfigError, match="outside"):
        st.FeatureExtractor(net, content_layers=[9], style_layers=[0])


# ------------------------------------------------------------------------------------------ the optimisation
@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_style_loss_falls_five_fold_on_real_photos_while_the_content_stays(photos, optimizer):
    """Random features (no ImageNet weights here), 15 steps on 32 × 48 photos, each optimiser with its
    default learning rate (Adam 0.3, L-BFGS 1).

    The bound on the content: the result's conv4_2 features stay closer to the photo's than those of
    the style picture itself (a picture that has lost the content entirely), and within a quarter of
    their mean square (‖F(x) − F(c)‖ < ½ ‖F(c)‖). Measured: style falls 21× (Adam) and 66× (L-BFGS);
    content loss 0.31 / 0.25 against 0.40 for the style picture and 1.96 for the mean square.
    """
    china, flower = photos
    gw.manual_seed(0)
    extractor = st.FeatureExtractor(models.vgg16(batchnorm=False, widths=SMALL_VGG))
    result = st.transfer_style(china, flower, extractor, steps=15, optimizer=optimizer)
    first, last = result.history[0], result.history[-1]
    assert len(result.history) == 16 and first["content"] == 0.0  # it starts from the content image
    assert first["style"] / last["style"] >= 5

    def content_features(image):
        with gw.no_grad():
            (features,), _ = extractor(gw.tensor(standardize(image)[None]))
        return features.data

    photo = content_features(china)
    loss_of_style_picture = np.mean((content_features(flower[:, :, :china.shape[2]]) - photo) ** 2)
    loss_of_result = np.mean((content_features(result.image) - photo) ** 2)
    assert loss_of_result < loss_of_style_picture
    assert loss_of_result < 0.25 * np.mean(photo ** 2)
    assert result.image.shape == china.shape and result.image.dtype == np.float32
    assert 0 <= result.image.min() and result.image.max() <= 1


def test_without_pretrained_weights_it_warns_once_and_still_runs():
    """The default network is VGG-16 with random weights; the first block's layers keep the test quick."""
    content, style = R.uniform(size=(3, 16, 16)).astype(np.float32), R.uniform(size=(3, 20, 16)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = st.transfer_style(content, style, steps=2, content_layers="conv1_2", style_layers="conv1_1")
    hints = [w for w in caught if "needs features trained on ImageNet" in str(w.message)]
    assert len(hints) == 1 and "--weights" in str(hints[0].message)
    assert result.image.shape == (3, 16, 16) and len(result.history) == 3


def test_transfer_style_refuses_bad_settings():
    extractor = st.FeatureExtractor(models.vgg16(batchnorm=False, widths=(4, 4, 4, 4, 4)))
    image = np.full((3, 16, 16), 0.5, np.float32)
    with pytest.raises(ConfigError, match="steps must be a positive"):
        st.transfer_style(image, image, extractor, steps=0)
    with pytest.raises(ConfigError, match="unknown optimizer 'sgd'"):
        st.transfer_style(image, image, extractor, optimizer="sgd")
    with pytest.raises(ConfigError, match="lr must be a positive"):
        st.transfer_style(image, image, extractor, lr=0)
    with pytest.raises(ConfigError, match="style image is 8×16 pixels.*at least 16"):
        st.transfer_style(image, image[:, :, :8], extractor, steps=1)
    with pytest.raises(ShapeError, match="RGB of shape"):
        st.transfer_style(image[0], image, extractor, steps=1)
    with pytest.raises(ConfigError, match="has its layers already"):
        st.transfer_style(image, image, extractor, style_layers=["conv1_1"])


# ------------------------------------------------------------------------------------------ the command
@pytest.fixture(scope="module")
def photo_files(tmp_path_factory, photos):
    folder = tmp_path_factory.mktemp("photos")
    for name, image in zip(("china.png", "flower.jpg"), photos):
        Image.fromarray((image.transpose(1, 2, 0) * 255).astype(np.uint8)).save(folder / name)
    return folder / "china.png", folder / "flower.jpg"


def test_cli_writes_the_result_and_the_side_by_side_figure(photo_files, tmp_path, capsys):
    content, style = photo_files
    out, figure = tmp_path / "result.png", tmp_path / "panel.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the random-weights hint: tested above
        code = main(["style-transfer", str(content), str(style), "--out", str(out), "--size", "16", "--steps", "1",
                     "--figure", str(figure)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "content loss 0 →" in printed and f"wrote {out}" in printed
    result = read_image(out)
    assert result.shape == (3, 16, 24)  # china is 427 × 640: the shorter side 16, the aspect ratio kept
    with Image.open(figure) as picture:
        assert picture.format == "PNG"


@pytest.mark.parametrize("arguments, message", [
    (["--steps", "0"], "argument --steps: must be a positive integer, got '0'"),
    (["--steps", "-3"], "argument --steps: must be a positive integer"),
    (["--size", "8"], ("--size 8 is too small: VGG-16 halves the image 4 times before conv5_1, so the shorter "
                       "side needs at least 16 pixels")),
])
def test_cli_refuses_bad_numbers_in_one_line(photo_files, tmp_path, capsys, arguments, message):
    content, style = photo_files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["style-transfer", str(content), str(style), "--out", str(tmp_path / "r.png"), *arguments])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "r.png").exists()


def test_cli_names_a_style_image_that_cannot_be_read(photo_files, tmp_path, capsys):
    content, _ = photo_files
    broken = tmp_path / "style.jpg"
    broken.write_bytes(b"this is not a picture")
    code = main(["style-transfer", str(content), str(broken), "--out", str(tmp_path / "r.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith("gradwork style-transfer: error: cannot read image") and str(broken) in err
