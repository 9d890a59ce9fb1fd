"""Attention weights as a heat map: row t shows how much output position t looked at each input."""
from gradwork.backend import xp
from gradwork.tools.viz._figure import finish, plt


def plot_attention(weights, path=None, x_labels=None, y_labels=None, title=None):
    """Draw attention weights (T, S), or (heads, T, S) as one panel per head. Labels name the source
    positions (columns, ``x_labels``) and target positions (rows, ``y_labels``). Saves a PNG to
    ``path`` if given; returns the figure."""
    w = xp.asarray(getattr(weights, "data", weights), dtype=float)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or w.size == 0:
        raise ValueError(f"plot_attention: expected weights (T, S) or (heads, T, S), got shape {xp.shape(weights)}")
    heads = len(w)
    fig, axes = plt.subplots(1, heads, figsize=(3.2 * heads + 1, 3.4), squeeze=False)
    for h, ax in enumerate(axes[0]):
        image = ax.imshow(w[h], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_title(f"head {h}" if heads > 1 else "attention")
        ax.set_xlabel("attends to (input position)")
        if h == 0:
            ax.set_ylabel("output position")
        for labels, set_ticks, set_labels, n in ((x_labels, ax.set_xticks, ax.set_xticklabels, w.shape[2]),
                                                 (y_labels, ax.set_yticks, ax.set_yticklabels, w.shape[1])):
            if labels is not None:
                set_ticks(range(n))
                set_labels([str(v) for v in labels], fontsize=7)
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="weight")
    if title:
        fig.suptitle(title, y=1.04)
    return finish(fig, path, tight=True)
