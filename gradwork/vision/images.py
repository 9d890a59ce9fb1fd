"""Image files in and out (Pillow), and ImageNet's standardisation of pixels.

An image is a float32 array of shape (3, H, W) — channels first, as gradwork's convolutions take
them — with values in [0, 1]. ``read_image`` converts any file Pillow reads (JPEG, PNG, greyscale,
palette, with an alpha channel…) to RGB; ``write_image`` clips to [0, 1], rounds to 8 bits and writes
the file atomically (a crash never leaves half a picture).

Networks trained on ImageNet (torchvision's VGG, ResNet…) expect each channel standardised with
the statistics of ImageNet's training images::

    x̂_c = (x_c − mean_c) / std_c,   mean = (0.485, 0.456, 0.406),   std = (0.229, 0.224, 0.225)

``standardize`` does that and ``unstandardize`` undoes it.
"""
import os

import numpy as np

from gradwork._files import atomic_open
from gradwork.autograd import Tensor
from gradwork.errors import ConfigError, DataFileError, ShapeError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def read_image(path, size=None):
    """Read an image file as a float32 array (3, H, W) of RGB values in [0, 1].

    ``size`` (optional) resizes it so that its *shorter* side is ``size`` pixels, keeping the aspect
    ratio (torchvision's ``Resize(size)`` with an int; Pillow's antialiased bilinear filter).

    A file that cannot be read — missing, not an image, truncated — raises
    :class:`~gradwork.errors.DataFileError` naming the file.
    """
    from PIL import Image  # Pillow is imported when an image is read, not by ``import gradwork``

    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
        raise ConfigError(f"read_image: size must be a positive number of pixels (the shorter side), got {size!r}")
    try:
        with Image.open(path) as image:
            image.load()  # Pillow reads lazily: decode now, so a truncated file fails here, named
            image = image.convert("RGB")
    except FileNotFoundError:
        raise DataFileError(f"cannot read image {os.fspath(path)!r}: no such file") from None
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        # UnidentifiedImageError: not an image; OSError: truncated or damaged data; SyntaxError and
        # ValueError: some of Pillow's decoders report a damaged header so
        reason = str(error) or type(error).__name__
        raise DataFileError(f"cannot read image {os.fspath(path)!r}: {reason} "
                            "(is it a complete JPEG, PNG, BMP, … file?)") from None
    if size is not None:
        width, height = image.size
        scale = size / min(width, height)
        new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if new_size != image.size:
            image = image.resize(new_size, Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255.0  # (H, W, 3) bytes → [0, 1]
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def write_image(image, path):
    """Write an RGB image (3, H, W) — or a batch of one (1, 3, H, W), or a ``Tensor`` — with values in
    [0, 1] to ``path``; the format comes from the file's extension (``.png``, ``.jpg``, …). Values
    outside [0, 1] are clipped; the file is written atomically."""
    from PIL import Image

    array = image.data if isinstance(image, Tensor) else np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[0] != 3:
        raise ShapeError(f"write_image: expected an RGB image of shape (3, H, W) (or (1, 3, H, W)), "
                         f"got shape {array.shape}")
    extension = os.path.splitext(os.fspath(path))[1].lower()
    file_format = Image.registered_extensions().get(extension)
    if file_format is None:
        raise ConfigError(f"write_image: cannot tell the image format from the file name {os.fspath(path)!r}; "
                          "end it with .png or .jpg")
    pixels = np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8).transpose(1, 2, 0)
    with atomic_open(path, "wb") as f:
        Image.fromarray(np.ascontiguousarray(pixels)).save(f, format=file_format)


def _float_images(x):
    """``x`` checked to be RGB images (3, H, W) or (N, 3, H, W); a non-float array becomes float32."""
    if not isinstance(x, Tensor):
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
    if x.ndim not in (3, 4) or x.shape[-3] != 3:
        raise ShapeError(f"expected RGB images of shape (3, H, W) or (N, 3, H, W), got shape {tuple(x.shape)}")
    return x


def _per_channel(values, x):
    """Three values as an array of ``x``'s dtype, shaped (3, 1, 1) to broadcast over (…, 3, H, W)."""
    return np.asarray(values, dtype=x.dtype).reshape(3, 1, 1)


def standardize(x, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """(x − mean) / std per channel (ImageNet's by default). ``x``: an array or a Tensor of shape
    (3, H, W) or (N, 3, H, W), in [0, 1]; the result keeps its type and dtype."""
    x = _float_images(x)
    mean, std = _per_channel(mean, x), _per_channel(std, x)
    return (x - mean) / std


def unstandardize(x, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """x · std + mean per channel: back from standardised values to pixels in [0, 1] (not clipped)."""
    x = _float_images(x)
    mean, std = _per_channel(mean, x), _per_channel(std, x)
    return x * std + mean
