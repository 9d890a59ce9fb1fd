"""Transforms applied to whole batches of images (N, C, H, W), drawing from gradwork's generator.

Fitted transforms (``Normalize``, ``PCAColorAugmentation``) learn their statistics from the
*training* split with ``fit`` and then apply them unchanged to validation and test data — fitting
on the whole data set would leak the test set into training (the course's warning).

Use them with ``DataLoader(dataset, transform=Compose([...]))``; the loader applies the transform
to each batch's inputs.
"""
from gradwork import backend
from gradwork.backend import xp
from gradwork.errors import ConfigError


class Transform:
    """A function of a batch of images; ``fit`` (optional) learns from training images first."""

    learns = False  # True for transforms whose fit learns statistics (Normalize, PCA colour)

    def fit(self, x):
        return self

    def __call__(self, x):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply transforms in order; ``fit`` fits each on the output of the ones before it."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    @property
    def learns(self):
        return any(t.learns for t in self.transforms)

    def fit(self, x):
        for i, t in enumerate(self.transforms):
            t.fit(x)
            if any(later.learns for later in self.transforms[i + 1:]):  # only then is the output needed
                x = t(x)
        return self

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class ToUnitRange(Transform):
    """Integer pixels 0…255 → float32 in [0, 1]; float input is returned unchanged."""

    def __call__(self, x):
        if x.dtype.kind in "ui":
            return (x * backend.get_default_dtype().type(1 / 255)).astype(backend.get_default_dtype())
        return x


class Normalize(Transform):
    """(x − mean) / std per channel. Give mean and std, or ``fit`` them on the training images."""

    learns = True

    def __init__(self, mean=None, std=None):
        self.mean = None if mean is None else xp.asarray(mean, dtype=xp.float64)
        self.std = None if std is None else xp.asarray(std, dtype=xp.float64)

    def fit(self, x):
        axes = (0,) + tuple(range(2, x.ndim))
        self.mean = x.mean(axis=axes, dtype=xp.float64)
        self.std = x.std(axis=axes, dtype=xp.float64) + 1e-8
        return self

    def __call__(self, x):
        if self.mean is None:
            raise ConfigError("Normalize has no statistics yet: call .fit(train_images) on the training split "
                              "first (never on the whole data set), or give mean= and std=")
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return ((x - self.mean.reshape(shape)) / self.std.reshape(shape)).astype(x.dtype)


class RandomHorizontalFlip(Transform):
    """Mirror each image left–right with probability ``p`` (a cat facing left is still a cat)."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, x):
        flip = backend.rng().random(len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out


class RandomCrop(Transform):
    """Pad each image by ``padding`` pixels (zeros) and cut a random ``size`` × ``size`` window from it:
    small random translations. With padding = 4 and size = the image size, the output keeps its size."""

    def __init__(self, size, padding=0):
        self.size, self.padding = size, padding

    def __call__(self, x):
        p, s = self.padding, self.size
        padded = xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        n, _, h, w = padded.shape
        if s > h or s > w:
            raise ConfigError(f"RandomCrop: crop size {s} is larger than the padded image {h}×{w}")
        top = backend.rng().integers(0, h - s + 1, n)
        left = backend.rng().integers(0, w - s + 1, n)
        windows = xp.lib.stride_tricks.sliding_window_view(padded, (s, s), axis=(2, 3))  # (N, C, h', w', s, s)
        return windows[xp.arange(n), :, top, left].copy()  # each image's own window, no loop over images


class ColorShift(Transform):
    """Add a random offset in [−max_shift, max_shift] to each channel of each image (then clip to
    [0, 1]): the same photo under slightly different lighting."""

    def __init__(self, max_shift=0.1):
        self.max_shift = max_shift

    def __call__(self, x):
        shift = backend.rng().uniform(-self.max_shift, self.max_shift, (x.shape[0], x.shape[1], 1, 1))
        return xp.clip(x + shift.astype(x.dtype), 0, 1)


class PCAColorAugmentation(Transform):
    """AlexNet's colour augmentation (Krizhevsky et al., 2012): add to every pixel of an image
    Σᵢ αᵢ λᵢ pᵢ, with pᵢ, λᵢ the eigenvectors and eigenvalues of the RGB covariance of the training
    pixels and αᵢ ~ N(0, std²) drawn per image — colour changes along the directions natural images vary in."""

    learns = True

    def __init__(self, std=0.1):
        self.std = std
        self.eigenvalues = self.eigenvectors = None

    def fit(self, x):
        pixels = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1]).astype(xp.float64)
        self.eigenvalues, self.eigenvectors = xp.linalg.eigh(xp.cov(pixels, rowvar=False).reshape(x.shape[1], -1))
        return self

    def __call__(self, x):
        if self.eigenvalues is None:
            raise ConfigError("PCAColorAugmentation has no colour statistics yet: call .fit(train_images) first")
        alpha = backend.rng().normal(0, self.std, (x.shape[0], x.shape[1]))
        shift = (alpha * self.eigenvalues) @ self.eigenvectors.T  # (N, C)
        return (x + shift[:, :, None, None]).astype(x.dtype)


AUGMENTATIONS = {
    "flip": lambda image_size: RandomHorizontalFlip(),
    "crop": lambda image_size: RandomCrop(image_size, padding=max(1, image_size // 8)),
    "color": lambda image_size: ColorShift(0.1),
    "pca": lambda image_size: PCAColorAugmentation(0.1),
}


def augmentation(names, image_size):
    """A ``Compose`` of the named augmentations ("flip", "crop", "color", "pca"), e.g. "flip,crop"."""
    names = [n.strip() for n in names.split(",") if n.strip()] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ConfigError(f"unknown augmentation {unknown[0]!r}; choose from: {', '.join(AUGMENTATIONS)}")
    return Compose([AUGMENTATIONS[n](image_size) for n in names])
