"""What a convolutional network sees: its first-layer filters as an image grid, and the feature
maps one input produces in every convolution layer."""
from gradwork.backend import xp
from gradwork.nn.conv import Conv2d
from gradwork.tools.viz._figure import finish, plt
from gradwork.tools.viz._record import record_outputs


def _grid(count, columns):
    columns = min(columns, count)
    return -(-count // columns), columns


def _first_conv(model):
    for _, module in model.named_modules():
        if isinstance(module, Conv2d):
            return module
    raise ValueError("plot_filters: the model has no Conv2d layer")


def plot_filters(model_or_weight, path=None, columns=8):
    """The filters of the first Conv2d of a model (or a weight array (out, in, kh, kw)) as small
    images, each scaled to its own range: RGB when the layer reads 3 channels, else the mean over
    input channels in grey. Saves a PNG to ``path`` if given; returns the figure."""
    weight = model_or_weight
    if hasattr(model_or_weight, "named_modules"):
        weight = _first_conv(model_or_weight).weight
    w = xp.asarray(getattr(weight, "data", weight), dtype=float)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected conv weights (out, in, kh, kw), got shape {w.shape}")
    rows, cols = _grid(len(w), columns)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, f in zip(axes.flat, w):
        f = f - f.min()
        f = f / f.max() if f.max() > 0 else f
        if f.shape[0] == 3:
            ax.imshow(f.transpose(1, 2, 0), interpolation="nearest")
        else:
            ax.imshow(f.mean(axis=0), cmap="gray", interpolation="nearest")
    fig.suptitle(f"{len(w)} first-layer filters of {w.shape[2]}×{w.shape[3]}")
    return finish(fig, path)


def feature_maps(model, x):
    """[(layer name, maps (C, H, W))] for one input ``x`` (C, H, W) through every Conv2d of ``model``
    (the convolution's output, recorded with forward hooks; eval mode, no graph)."""
    x = xp.asarray(getattr(x, "data", x))
    if x.ndim != 3:
        raise ValueError(f"feature_maps: give one image (C, H, W), got shape {x.shape}")
    recorded = [(name, maps[0]) for name, maps in
                record_outputs(model, x[None], lambda name, module: isinstance(module, Conv2d))]
    if not recorded:
        raise ValueError("feature_maps: the model has no Conv2d layer")
    return recorded


def plot_feature_maps(model, x, path=None, max_maps=16):
    """The input and, for each conv layer, up to ``max_maps`` of its feature maps for the input x
    (C, H, W). Saves a PNG to ``path`` if given; returns the figure."""
    maps = feature_maps(model, x)
    columns = min(max_maps, max(len(m) for _, m in maps))
    fig, axes = plt.subplots(len(maps) + 1, columns, figsize=(1.1 * columns, 1.25 * (len(maps) + 1)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    image = xp.asarray(getattr(x, "data", x), dtype=float)
    axes[0, 0].imshow(image.transpose(1, 2, 0) if image.shape[0] == 3 else image.mean(0), cmap="gray")
    axes[0, 0].set_title("input", fontsize=8)
    for row, (name, m) in zip(axes[1:], maps):
        for k, ax in enumerate(row[:min(len(m), max_maps)]):
            ax.imshow(m[k], cmap="viridis")
        row[0].set_title(f"{name}: {m.shape[0]}×{m.shape[1]}×{m.shape[2]}", fontsize=8, loc="left")
    fig.tight_layout()
    return finish(fig, path)

