"""Pictures of the parameters during training, from a ``train.ParameterStatistics`` callback:
weight and gradient histograms per layer, and the update/parameter ratio per step."""
from gradwork.backend import xp
from gradwork.tools.viz._figure import finish, plt

RULE_OF_THUMB = 1e-3


def plot_parameter_histograms(statistics, path=None, epoch=-1, bins=50):
    """Two rows — weights and gradients — with one histogram per parameter, at ``epoch`` (default the
    last recorded). Saves a PNG to ``path`` if given; returns the figure."""
    if not statistics.weights:
        raise ValueError("plot_parameter_histograms: nothing recorded yet; pass the ParameterStatistics callback "
                         "to fit() and train for at least one epoch")
    weights, gradients = statistics.weights[epoch], statistics.gradients[epoch]
    names = list(weights)
    fig, axes = plt.subplots(2, len(names), figsize=(2.6 * len(names), 4.4), squeeze=False)
    for column, name in enumerate(names):
        for row, (table, what) in enumerate(((weights, "weights"), (gradients, "gradients"))):
            ax = axes[row, column]
            if name in table:
                values = table[name]
                ax.hist(values, bins=bins, color="tab:blue" if row == 0 else "tab:orange")
                ax.set_title(f"{name}\n{what}: std {values.std():.2g}", fontsize=8)
            ax.tick_params(labelsize=6)
            ax.set_yticks([])
    fig.tight_layout()
    return finish(fig, path)


def plot_update_ratios(statistics, path=None):
    """‖Δθ‖/‖θ‖ per step for each parameter on a log scale, with the 1e-3 rule of thumb drawn in.
    Saves a PNG to ``path`` if given; returns the figure."""
    if not statistics.update_ratios:
        raise ValueError("plot_update_ratios: nothing recorded yet; pass the ParameterStatistics callback to fit()")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, ratios in statistics.update_ratios.items():
        ax.plot(statistics.steps[:len(ratios)], xp.maximum(xp.array(ratios), 1e-12), lw=1, label=name)
    ax.axhline(RULE_OF_THUMB, color="k", ls="--", lw=1, label="≈1e-3 rule of thumb")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("‖update‖ / ‖parameter‖")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig, path)
