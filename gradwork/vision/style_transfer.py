"""Neural style transfer (Gatys, Ecker & Bethge, 2016): paint a photo in the style of another image
by optimising the pixels of the picture itself, with the network frozen.

A convolutional network trained on ImageNet describes an image at every layer. Deep layers keep
*what* is where (the content); the correlations between a layer's channels, summed over all
positions, keep the textures and colours without their places (the style). Starting from the
content image, gradient descent on the pixels lowers

    L(x) = α · L_content(x) + β · L_style(x) + γ · L_TV(x)

where, with F_l(x) the (C, H, W) feature maps of layer l:

    L_content = mean over (C, H, W) of (F_l(x) − F_l(content))²            (layer conv4_2)
    G_l(x)    = F_l F_lᵀ / (C·H·W)       F_l flattened to (C, H·W): a C×C Gram matrix
    L_style   = Σ_l w_l · mean over (C, C) of (G_l(x) − G_l(style))²       (conv1_1 … conv5_1)
    L_TV      = ½ · (mean |x[i+1, j] − x[i, j]| + mean |x[i, j+1] − x[i, j]|)   (smoothness)

Normalisations (d2l's choice, and so its default weights α = 1, β = 10⁴, γ = 10): the Gram matrix is
divided by C·H·W, so it does not grow with the layer's size or the image's; each loss is a *mean*
of squares. Gatys et al. write the style term as 1/(4 C² (HW)²) Σ (G − A)² with an undivided G:
the same function up to a constant factor per layer, which the weights absorb.

The pixels are optimised in ImageNet's standardised space ((x − mean)/std per channel, what the
network was trained on). Adam's steps are followed by a projection back into the range of real
pixels, [0, 1]; L-BFGS's are not (a moved step spoils the curvature pairs it keeps, and it diverged
in our runs), and its result is clipped at the end.

The feature network is torchvision's VGG-16 (``models.vgg16(batchnorm=False)``'s convolutional
stack; the layer indices are torchvision's ``vgg16().features``), cut after the last layer the
losses use (conv5_1), so nothing beyond it runs. Real style transfer needs its ImageNet weights::

    # on a machine with torchvision:
    torch.save(torchvision.models.vgg16(weights="IMAGENET1K_V1").state_dict(), "vgg16-397923af.pth")
    features = vgg16_features("vgg16-397923af.pth")
    result = transfer_style(read_image("photo.jpg", 256), read_image("painting.jpg", 256), features)

With random weights it still runs (and warns): it then matches the statistics of random filters —
colours and fine texture move toward the style image, but no painterly strokes appear.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

from gradwork.autograd import Tensor, no_grad
from gradwork.errors import ConfigError, ShapeError
from gradwork.nn.activation import ReLU
from gradwork.nn.containers import Sequential
from gradwork.nn.conv import Conv2d
from gradwork.nn.module import Module
from gradwork.nn.normalization import BatchNorm2d
from gradwork.nn.pooling import AvgPool2d, MaxPool2d
from gradwork.ops.regression_losses import mse_loss
from gradwork.optim.adam import Adam
from gradwork.optim.lbfgs import LBFGS
from gradwork.vision.images import standardize, unstandardize

CONTENT_LAYERS = ("conv4_2",)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
OPTIMIZERS = ("adam", "lbfgs")
DEFAULT_LR = {"adam": 0.3, "lbfgs": 1.0}  # d2l's Adam rate on standardised pixels; L-BFGS's natural step
PRETRAINED_HINT = ("style transfer needs features trained on ImageNet; these VGG-16 weights are random, so the "
                   "result only matches the statistics of random filters. Pass torchvision's VGG-16 weights "
                   "(vgg16_features('vgg16-397923af.pth'), or gradwork style-transfer --weights FILE)")


# ------------------------------------------------------------------------------------------ losses
def gram_matrix(features):
    """The Gram matrix of each image's feature maps, G = F Fᵀ / (C·H·W) with F of shape (C, H·W):
    G[c, d] is the correlation of channels c and d summed over all positions (where things are is
    lost, which features occur together is kept). ``features`` (N, C, H, W) → (N, C, C)."""
    if features.ndim != 4:
        raise ShapeError(f"gram_matrix: expected feature maps of shape (N, C, H, W), got shape {tuple(features.shape)}")
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features, target):
    """mean((F(x) − F(content))²) over every element: the image keeps the content's feature maps.
    ``features``, ``target``: the same shape (N, C, H, W); ``target`` is a constant."""
    return mse_loss(features, _constant(target))


def style_loss(features, targets, weights=None):
    """Σ_l w_l · mean((G(F_l) − A_l)²): each layer's Gram matrix moves to the style's.

    ``features``: a list of feature maps (N, C_l, H_l, W_l), one per style layer; ``targets``: the
    style image's Gram matrices A_l (N or 1, C_l, C_l), in the same order; ``weights``: one number per
    layer (default 1 each). The image and the style may differ in size: a Gram matrix is C × C.
    """
    features, targets = list(features), list(targets)
    weights = [1.0] * len(features) if weights is None else list(weights)
    if not features or not (len(features) == len(targets) == len(weights)):
        raise ShapeError(f"style_loss: needs one target Gram matrix and one weight per feature map, got "
                         f"{len(features)} feature maps, {len(targets)} targets and {len(weights)} weights")
    total = 0.0
    for layer, (f, target, weight) in enumerate(zip(features, targets, weights)):
        gram = gram_matrix(f)
        target = _constant(target)
        if target.shape[-2:] != gram.shape[-2:]:
            raise ShapeError(f"style_loss: layer {layer} has {gram.shape[-1]} channels but its target Gram "
                             f"matrix is {tuple(target.shape)}")
        total = total + weight * ((gram - target) ** 2).mean()
    return total


def total_variation_loss(images):
    """½ · (mean |x[…, i+1, j] − x[…, i, j]| + mean |x[…, i, j+1] − x[…, i, j]|): large where
    neighbouring pixels differ, so it smooths the high-frequency noise that pixel optimisation makes.
    ``images``: (N, C, H, W), at least 2 × 2."""
    if images.ndim != 4 or images.shape[2] < 2 or images.shape[3] < 2:
        raise ShapeError(f"total_variation_loss: expected images (N, C, H, W) of at least 2×2 pixels, "
                         f"got shape {tuple(images.shape)}")
    vertical = (images[:, :, 1:, :] - images[:, :, :-1, :]).abs().mean()
    horizontal = (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().mean()
    return 0.5 * (vertical + horizontal)


def _constant(x):
    """A target: its values only, never a path for gradients."""
    return Tensor(x.data) if isinstance(x, Tensor) else Tensor(np.asarray(x))


# ------------------------------------------------------------------------------------------ features
def layer_names(layers):
    """Names for the layers of a VGG-like stack, as the style-transfer literature (and Caffe) call
    them: ``conv<block>_<i>``, ``relu<block>_<i>``, ``bn<block>_<i>``, and ``pool<block>`` ending
    each block. For torchvision's VGG-16: conv1_1 is layer 0, conv2_1 is 5, conv3_1 10, conv4_1 17,
    conv4_2 19 and conv5_1 24."""
    names, block, conv = [], 1, 0
    for layer in layers:
        if isinstance(layer, Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(layer, ReLU):
            names.append(f"relu{block}_{conv}")
        elif isinstance(layer, BatchNorm2d):
            names.append(f"bn{block}_{conv}")
        elif isinstance(layer, (MaxPool2d, AvgPool2d)):
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            names.append(f"{type(layer).__name__.lower()}{block}_{conv}")
    return names


def vgg16_features(weights=None):
    """VGG-16's convolutional stack (``models.vgg16(batchnorm=False).features[0]``, laid out as
    torchvision's ``vgg16().features``), with torchvision's ImageNet weights from ``weights`` (a
    ``.pth``/``.pt``/``.safetensors``/ONNX file of ``torchvision.models.vgg16``) or random ones
    (a warning says the results then need pretrained features)."""
    from gradwork.models.vgg import vgg16  # vision sits above models

    if weights is None:
        warnings.warn(PRETRAINED_HINT, UserWarning, stacklevel=2)
        return vgg16(batchnorm=False).features[0]
    with warnings.catch_warnings():  # the ImageNet classifier does not fit the small-image head: unused here
        warnings.filterwarnings("ignore", message="the weights' classifier")
        return vgg16(batchnorm=False, weights=weights).features[0]


class FeatureExtractor(Module):
    """The feature maps of chosen layers of a frozen convolutional network.

    ``layers``: a ``Sequential`` of layers (default: VGG-16's convolutional stack with random weights,
    see :func:`vgg16_features`), or a model with one, like ``models.vgg16()`` (its ``features[0]``).
    ``content_layers``, ``style_layers``: names from :func:`layer_names` (``"conv4_2"``) or indices
    into ``layers``. The network is cut after the last of them: nothing deeper runs. Its parameters
    are frozen (``requires_grad=False``: backward computes gradients for the image only) and it is
    put in eval mode — these are the given network's own modules, so that holds for it too.

    ``forward(images)`` (N, 3, H, W), standardised → (content feature maps, style feature maps), two
    lists in the order the layers were given.
    """

    def __init__(self, layers=None, content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS):
        super().__init__()
        if layers is None:
            layers = vgg16_features()
        elif not isinstance(layers, Sequential):
            inner = getattr(layers, "features", None)
            if isinstance(inner, Sequential) and len(inner) and isinstance(inner[0], Sequential):
                inner = inner[0]  # gradwork's VGG16: features = Sequential(conv stack, pool, flatten)
            if not isinstance(inner, Sequential):
                raise ConfigError(f"FeatureExtractor: expected a Sequential of layers or a model with one in "
                                  f".features (models.vgg16()), got {type(layers).__name__}")
            layers = inner
        layers = list(layers)
        names = layer_names(layers)
        self.content_indices = [self._index(layer, names) for layer in _as_list(content_layers)]
        self.style_indices = [self._index(layer, names) for layer in _as_list(style_layers)]
        if not self.content_indices or not self.style_indices:
            raise ConfigError("FeatureExtractor: give at least one content layer and one style layer")
        last = max(self.content_indices + self.style_indices)
        self.layers = Sequential(*layers[:last + 1])
        self.names = names[:last + 1]
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def _index(layer, names):
        if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            if not 0 <= layer < len(names):
                raise ConfigError(f"FeatureExtractor: layer index {layer} is outside the network's "
                                  f"{len(names)} layers")
            return int(layer)
        if layer not in names:
            raise ConfigError(f"FeatureExtractor: no layer named {layer!r}; this network's layers are "
                              f"{', '.join(names)}")
        return names.index(layer)

    @property
    def min_size(self):
        """The smallest image side the cut network takes: each pooling before the last layer used halves it."""
        return 2 ** sum(isinstance(layer, (MaxPool2d, AvgPool2d)) for layer in self.layers)

    def forward(self, images):
        wanted = set(self.content_indices + self.style_indices)
        outputs = {}
        x = images
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if index in wanted:
                outputs[index] = x
        return [outputs[i] for i in self.content_indices], [outputs[i] for i in self.style_indices]


def _as_list(layers):
    return [layers] if isinstance(layers, (str, int, np.integer)) else list(layers)


# ------------------------------------------------------------------------------------------ the optimisation
@dataclass
class StyleTransferResult:
    """``image``: the result, (3, H, W) in [0, 1]. ``history``: one dict of losses per evaluation — the
    unweighted terms ``content``, ``style``, ``tv`` and the weighted sum ``total`` — before each step
    and, last, of the result: ``history[0]`` is the content image's, ``history[-1]`` the result's."""
    image: np.ndarray
    history: list = field(default_factory=list)


def transfer_style(content, style, model=None, steps=200, content_weight=1.0, style_weight=1e4, tv_weight=10.0,
                   lr=None, optimizer="adam", callback=None, content_layers=None, style_layers=None,
                   style_layer_weights=None):
    """Optimise an image, starting from ``content``, so its deep features match ``content``'s and
    its Gram matrices match ``style``'s (the module docstring has the losses).

    ``content``, ``style``: RGB images (3, H, W) in [0, 1] (:func:`~gradwork.vision.images.read_image`);
    they may differ in size. ``model``: a :class:`FeatureExtractor`, a ``Sequential`` of conv layers
    or a model with one (``models.vgg16(batchnorm=False, weights=FILE)``); default: VGG-16 with
    random weights, with a warning. ``optimizer``: ``"adam"`` (``lr`` default 0.3 on standardised
    pixels, d2l's choice) or ``"lbfgs"`` (Gatys et al.'s; one L-BFGS iteration per step, ``lr`` default 1).
    ``callback(step, losses)`` is called after every evaluation: step 0 … ``steps``.
    ``content_layers``, ``style_layers`` (default conv4_2; conv1_1 … conv5_1) choose the layers when
    ``model`` is not already a :class:`FeatureExtractor`; ``style_layer_weights``: w_l, default 1 each.

    Returns a :class:`StyleTransferResult` (the image and the loss history).
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ConfigError(f"transfer_style: steps must be a positive number of optimisation steps, got {steps!r}")
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"transfer_style: unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if lr is None:
        lr = DEFAULT_LR[optimizer]
    for name, value in (("content_weight", content_weight), ("style_weight", style_weight),
                        ("tv_weight", tv_weight), ("lr", lr)):
        if not np.isfinite(value) or value < 0 or (name == "lr" and value == 0):
            raise ConfigError(f"transfer_style: {name} must be a {'positive' if name == 'lr' else 'non-negative'} "
                              f"number, got {value}")
    if isinstance(model, FeatureExtractor):
        if content_layers is not None or style_layers is not None:
            raise ConfigError("transfer_style: the FeatureExtractor given as model has its layers already; give "
                              "content_layers and style_layers to the FeatureExtractor, not here")
        extractor = model
    else:
        extractor = FeatureExtractor(model, content_layers or CONTENT_LAYERS, style_layers or STYLE_LAYERS)
    content, style = _rgb(content, "content"), _rgb(style, "style")
    for name, image in (("content", content), ("style", style)):
        if min(image.shape[1:]) < extractor.min_size:
            raise ConfigError(f"transfer_style: the {name} image is {image.shape[2]}×{image.shape[1]} pixels; the "
                              f"network pools down to its last layer, so each side needs at least "
                              f"{extractor.min_size} pixels")

    with no_grad():  # the targets are constants: computed once, no graph
        content_targets, _ = extractor(Tensor(standardize(content)[None]))
        _, style_features = extractor(Tensor(standardize(style)[None]))
        style_targets = [gram_matrix(f) for f in style_features]

    image = Tensor(standardize(content)[None].copy(), requires_grad=True)  # start from the content image
    # the range of real pixels, [0, 1], in standardised units, per channel
    low = standardize(np.zeros((3, 1, 1), np.float32))[None]
    high = standardize(np.ones((3, 1, 1), np.float32))[None]

    def objective():
        content_features, style_features = extractor(image)
        terms = {"content": sum(content_loss(f, t) for f, t in zip(content_features, content_targets)),
                 "style": style_loss(style_features, style_targets, style_layer_weights),
                 "tv": total_variation_loss(image)}
        total = content_weight * terms["content"] + style_weight * terms["style"] + tv_weight * terms["tv"]
        return total, terms

    history = []

    def record(total, terms):
        losses = {name: float(value.item()) for name, value in terms.items()}
        losses["total"] = float(total.item())
        history.append(losses)
        if callback is not None:
            callback(len(history) - 1, losses)

    if optimizer == "adam":
        opt = Adam([image], lr=lr)
    else:
        opt = LBFGS([image], lr=lr, max_iter=1, history_size=20)
    evaluations = []

    def closure():
        """The losses at the current image, back-propagated to its pixels (the network is frozen)."""
        opt.zero_grad()
        total, terms = objective()
        total.backward()
        evaluations.append((total, terms))
        return total

    for _ in range(steps):
        evaluations.clear()
        if optimizer == "adam":
            closure()
            opt.step()
        else:
            opt.step(closure)  # L-BFGS asks for the losses itself (once per iteration without a line search)
        record(*evaluations[0])  # the losses at the image before this step
        if optimizer == "adam":  # back into the range of real pixels (a projection). Not under L-BFGS: its
            with no_grad():      # pairs s = θₖ₊₁ − θₖ assume the step it computed was taken; moved, it diverges
                image.copy_(np.clip(image.data, low, high))
    with no_grad():
        record(*objective())
    result = unstandardize(image.data[0])
    return StyleTransferResult(np.clip(result, 0.0, 1.0).astype(np.float32), history)


def _rgb(image, name):
    array = np.asarray(image.data if isinstance(image, Tensor) else image, dtype=np.float32)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[0] != 3:
        raise ShapeError(f"transfer_style: the {name} image must be RGB of shape (3, H, W) in [0, 1] "
                         f"(read_image gives that), got shape {array.shape}")
    return array


__all__ = ["CONTENT_LAYERS", "STYLE_LAYERS", "FeatureExtractor", "StyleTransferResult", "content_loss",
           "gram_matrix", "layer_names", "style_loss", "total_variation_loss", "transfer_style", "vgg16_features"]
