"""``gradwork style-transfer CONTENT STYLE --out result.png``: paint CONTENT in the style of STYLE.

The pixels of the picture are optimised, starting from CONTENT, so that VGG-16's conv4_2 features
stay those of CONTENT while the Gram matrices of conv1_1 … conv5_1 move to STYLE's
(:mod:`gradwork.vision.style_transfer`). Real results need torchvision's ImageNet weights
(``--weights vgg16-397923af.pth``); without them the network's filters are random and a warning says so.

Speed: every step is one forward and one backward pass of VGG-16 up to conv5_1 (nothing deeper runs,
and no parameter gradient is computed); the cost grows with the number of pixels. For a 128 × 128
image that took 0.2 s on two idle CPU cores; the README's run (192 × 128, 200 steps) took 4.2 s a
step on two cores shared with about ten other busy processes.
"""
import time

from gradwork import backend
from gradwork.cli.checks import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT
from gradwork.errors import ConfigError


def add_arguments(parser):
    parser.add_argument("content", metavar="CONTENT", help="the photo to repaint (any image file Pillow reads)")
    parser.add_argument("style", metavar="STYLE", help="the image whose style to take")
    parser.add_argument("--out", required=True, help="where to write the result (.png, .jpg, …)")
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help="torchvision's VGG-16 ImageNet weights (.pth/.pt/.safetensors/.onnx), e.g. "
                             "vgg16-397923af.pth; without them the features are random (a warning says so)")
    parser.add_argument("--size", type=POSITIVE_INT, default=128,
                        help="shorter side of both images in pixels, aspect ratio kept (default 128; 256 and more "
                             "look better and cost about four times as much per doubling)")
    parser.add_argument("--steps", type=POSITIVE_INT, default=200, help="optimisation steps (default 200)")
    parser.add_argument("--optimizer", choices=("adam", "lbfgs"), default="adam",
                        help="adam (default, d2l's) or lbfgs (Gatys et al.'s, one iteration per step)")
    parser.add_argument("--lr", type=POSITIVE, default=None,
                        help="learning rate on standardised pixels (default 0.3 for adam, 1 for lbfgs)")
    parser.add_argument("--content-weight", type=NON_NEGATIVE, default=1.0, help="α (default 1)")
    parser.add_argument("--style-weight", type=NON_NEGATIVE, default=1e4, help="β (default 1e4)")
    parser.add_argument("--tv-weight", type=NON_NEGATIVE, default=10.0, help="γ, total variation (default 10)")
    parser.add_argument("--figure", default=None, metavar="PNG",
                        help="also write content, style and result side by side to this picture")
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=0,
                        help="random seed (the random VGG-16 weights when no --weights; default 0)")


def run(args):
    from tqdm.auto import tqdm

    from gradwork.vision import style_transfer as st
    from gradwork.vision.images import read_image, write_image

    backend.manual_seed(args.seed)
    content = read_image(args.content, args.size)  # unreadable files stop here, before the network is built
    style = read_image(args.style, args.size)
    extractor = st.FeatureExtractor(st.vgg16_features(args.weights))
    if args.size < extractor.min_size:
        raise ConfigError(f"--size {args.size} is too small: VGG-16 halves the image {extractor.min_size.bit_length() - 1} "
                          f"times before conv5_1, so the shorter side needs at least {extractor.min_size} pixels")
    print(f"content {args.content} ({content.shape[2]}×{content.shape[1]}), style {args.style} "
          f"({style.shape[2]}×{style.shape[1]}), {args.steps} {args.optimizer} steps")

    with tqdm(total=args.steps, unit="step", desc="style transfer") as bar:
        def show(step, losses):
            if step > 0:
                bar.update(1)
            bar.set_postfix(content=f"{losses['content']:.3g}", style=f"{losses['style']:.3g}",
                            total=f"{losses['total']:.4g}")

        start = time.perf_counter()
        result = st.transfer_style(content, style, extractor, steps=args.steps, content_weight=args.content_weight,
                                   style_weight=args.style_weight, tv_weight=args.tv_weight, lr=args.lr,
                                   optimizer=args.optimizer, callback=show)
        seconds = time.perf_counter() - start
    first, last = result.history[0], result.history[-1]
    print(f"content loss {first['content']:.4g} → {last['content']:.4g}, style loss {first['style']:.4g} → "
          f"{last['style']:.4g}, total {first['total']:.4g} → {last['total']:.4g} "
          f"({seconds:.1f} s, {seconds / args.steps:.2f} s per step)")
    write_image(result.image, args.out)
    print(f"wrote {args.out}")
    if args.figure:
        write_figure(content, style, result.image, args.figure, weights=args.weights)
        print(f"wrote {args.figure}")
    return 0


def write_figure(content, style, result, path, weights=None):
    """Content, style and result side by side, in one PNG (matplotlib, written atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gradwork._files import atomic_open

    features = "pretrained VGG-16" if weights else "random VGG-16 features"
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, image, title in zip(axes, (content, style, result), ("content", "style", f"result ({features})")):
        ax.imshow(image.transpose(1, 2, 0))
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
