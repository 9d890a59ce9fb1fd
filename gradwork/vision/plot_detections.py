"""A picture of detections: images in a grid, each predicted box drawn with its class name and score."""
import math

import numpy as np

from gradwork.errors import ShapeError

COLOURS = ("tab:red", "tab:orange", "gold", "tab:green", "tab:cyan", "tab:blue", "tab:purple", "tab:pink",
           "tab:olive", "white")


def plot_detections(images, detections, class_names, path, targets=None, columns=4, title=None):
    """Draw ``detections`` on ``images`` and save the figure (PNG) at ``path``.

    Args:
        images: (N, H, W) grey or (N, H, W, 3) colour images, floats in [0, 1] or uint8.
        detections: N dicts ``{"boxes": (k, 4) xyxy pixels, "scores": (k,), "labels": (k,)}``
            (what :func:`gradwork.vision.yolo.postprocess` returns), drawn in the class's colour with
            "name score" above each box.
        class_names: the name of each class index.
        targets: optional N dicts ``{"boxes", "labels"}``: the true boxes, drawn as dashed grey lines.
    Returns the figure.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) != len(detections) or not len(images):
        raise ShapeError(f"plot_detections: give N ≥ 1 images (N, H, W) or (N, H, W, 3) and one dict of detections "
                         f"per image; got images of shape {images.shape} and {len(detections)} detections")
    rows = math.ceil(len(images) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.6 * rows + (0.4 if title else 0)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for n, (ax, image, found) in enumerate(zip(axes.flat, images, detections)):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
        if targets is not None:
            for x1, y1, x2, y2 in np.asarray(targets[n]["boxes"]).reshape(-1, 4):
                ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor="0.6",
                                       linestyle="--", linewidth=0.8))
        for (x1, y1, x2, y2), score, label in zip(np.asarray(found["boxes"]).reshape(-1, 4), found["scores"],
                                                 found["labels"]):
            colour = COLOURS[int(label) % len(COLOURS)]
            # pixel i covers [i − ½, i + ½] in imshow's coordinates; a box's x2 is one past its last pixel
            ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=1.3))
            ax.text(x1 - 0.5, y1 - 1.5, f"{class_names[int(label)]} {float(score):.2f}", color="black", fontsize=6.5,
                    bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.8, "alpha": 0.85})
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig
