"""Image files (Pillow) and ImageNet standardisation: what is read is what was written, the shorter side
is resized with the aspect ratio kept, and a file that is not a complete image is named in one error."""
import os

import numpy as np
import pytest
from PIL import Image

import gradwork as gw
from gradwork.errors import ConfigError, DataFileError, ShapeError
from gradwork.vision.images import IMAGENET_MEAN, IMAGENET_STD, read_image, standardize, unstandardize, write_image

R = np.random.default_rng(5)


def test_write_then_read_gives_the_pixels_back_to_eight_bits(tmp_path):
    image = R.uniform(size=(3, 5, 7)).astype(np.float32)
    write_image(image, tmp_path / "a.png")
    back = read_image(tmp_path / "a.png")
    assert back.shape == (3, 5, 7) and back.dtype == np.float32
    np.testing.assert_allclose(back, image, atol=0.5 / 255 + 1e-6)
    assert [f for f in os.listdir(tmp_path)] == ["a.png"]  # no temporary file left behind


def test_write_image_clips_takes_tensors_and_batches_of_one(tmp_path):
    write_image(gw.tensor(np.full((1, 3, 2, 2), 1.7, np.float32)), tmp_path / "white.png")
    assert (read_image(tmp_path / "white.png") == 1.0).all()
    with pytest.raises(ShapeError, match=r"\(3, H, W\)"):
        write_image(np.zeros((4, 2, 2)), tmp_path / "x.png")
    with pytest.raises(ConfigError, match="end it with .png"):
        write_image(np.zeros((3, 2, 2)), tmp_path / "picture.unknown")


def test_read_image_converts_to_rgb_and_resizes_the_shorter_side(tmp_path):
    Image.fromarray(np.full((40, 100), 200, np.uint8), mode="L").save(tmp_path / "grey.png")
    image = read_image(tmp_path / "grey.png", size=20)
    assert image.shape == (3, 20, 50)
    np.testing.assert_allclose(image, 200 / 255, atol=1e-6)
    with pytest.raises(ConfigError, match="size must be a positive"):
        read_image(tmp_path / "grey.png", size=0)


@pytest.mark.parametrize("content", ["missing", "text", "truncated"])
def test_a_file_that_is_not_a_complete_image_is_named(tmp_path, content):
    path = tmp_path / "photo.jpg"
    if content == "text":
        path.write_text("not an image")
    elif content == "truncated":
        Image.fromarray(R.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.jpg")
        path.write_bytes((tmp_path / "full.jpg").read_bytes()[:600])
    with pytest.raises(DataFileError, match=f"cannot read image '{path}'"):
        read_image(path)


def test_standardize_uses_imagenet_statistics_and_unstandardize_undoes_it():
    image = R.uniform(size=(2, 3, 4, 4)).astype(np.float32)
    x = standardize(image)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x[1, 2], (image[1, 2] - IMAGENET_MEAN[2]) / IMAGENET_STD[2], rtol=1e-6)
    np.testing.assert_allclose(unstandardize(x), image, atol=1e-6)
    assert isinstance(standardize(gw.tensor(image[0])), gw.Tensor)
    with pytest.raises(ShapeError, match="RGB images"):
        standardize(np.zeros((1, 4, 4)))
