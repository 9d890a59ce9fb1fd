"""What every picture shares: matplotlib without a display, and saving a PNG atomically."""
import matplotlib

matplotlib.use("Agg")  # draw to files; no display is needed (or available on a server)
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported for the plotting modules)

from gradwork import _files  # noqa: E402


def finish(fig, path, dpi=100, tight=False):
    """Save ``fig`` as a PNG at ``path`` (if given; written to a temporary file and renamed, so a
    crash leaves no half picture), close it, and return it."""
    if path is not None:
        with _files.atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return fig
