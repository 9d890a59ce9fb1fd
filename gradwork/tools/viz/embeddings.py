"""t-SNE maps of learned representations: word vectors, hidden layers, embeddings.

t-SNE (scikit-learn's) places points in 2-D so that near neighbours in the high-dimensional space
stay near; distances between far-apart clusters mean little. Perplexity ≈ the number of neighbours
each point pays attention to; it must be below the number of points.
"""
from sklearn.manifold import TSNE

from gradwork.backend import xp
from gradwork.tools.viz._figure import finish, plt
from gradwork.tools.viz._record import record_outputs


def tsne(points, perplexity=30.0, seed=0):
    """(N, D) points → (N, 2) t-SNE coordinates; a clear error when there are too few points."""
    points = xp.asarray(getattr(points, "data", points), dtype=xp.float64)
    if points.ndim != 2:
        raise ValueError(f"tsne: expected points of shape (N, D), got {points.shape}")
    if len(points) <= perplexity:
        raise ValueError(f"tsne: {len(points)} points are too few for perplexity {perplexity}: t-SNE needs more "
                         f"points than the perplexity; lower perplexity (e.g. {max(1, len(points) // 4)}) or "
                         f"give more points")
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(points)


def layer_output(model, x, name):
    """The output of the sub-module called ``name`` (as in ``model.named_modules()``) for the batch x,
    flattened to (N, features): a hidden representation to map with ``plot_tsne``."""
    names = [n for n, _ in model.named_modules() if n]
    if name not in names:
        raise ValueError(f"layer_output: the model has no layer {name!r}; its layers are: {', '.join(names)}")
    (_, output), = record_outputs(model, x, lambda n, module: n == name)
    return output.reshape(len(output), -1)


def plot_tsne(points, path=None, labels=None, words=None, perplexity=30.0, title=None, seed=0):
    """Scatter the t-SNE map of ``points`` (N, D): coloured by integer ``labels`` (N,), or annotated
    with ``words`` (N strings). Saves a PNG to ``path`` if given; returns the figure."""
    xy = tsne(points, perplexity, seed)
    fig, ax = plt.subplots(figsize=(11, 11) if words is not None else (7, 6))
    if words is not None:
        ax.scatter(xy[:, 0], xy[:, 1], s=4, color="tab:blue", alpha=0.5)
        for (x, y), word in zip(xy, words):
            ax.annotate(word, (x, y), fontsize=7, alpha=0.85)
    else:
        scatter = ax.scatter(xy[:, 0], xy[:, 1], s=6, c=labels, cmap="tab10" if labels is not None else None)
        if labels is not None:
            fig.colorbar(scatter, ax=ax, label="label")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"t-SNE (perplexity {perplexity:g}) of {len(xy)} points")
    fig.tight_layout()
    return finish(fig, path, dpi=110)
