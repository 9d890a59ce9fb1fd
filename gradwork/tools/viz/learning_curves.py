"""Learning curves: loss and each metric per epoch, training against validation."""
from gradwork.tools.viz._figure import finish, plt


def plot_history(history, path=None, title=None):
    """One panel per quantity (loss, accuracy, …), train and validation curves per epoch.

    The gap between the training and the validation curve — the generalisation gap, which grows
    when a model over-fits — is shaded in every panel.
    Saves a PNG to ``path`` if given; returns the figure.
    """
    data = history.history if hasattr(history, "history") else history
    epochs = [e + 1 for e in (history.epoch if hasattr(history, "epoch") else range(len(data.get("loss", []))))]
    names = [k for k in data if not k.startswith("val_") and k != "lr" and data[k]]
    if not epochs or not names:
        raise ValueError("plot_history: the history is empty — train for at least one epoch first")
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot(epochs, data[name], marker="o", ms=3, label=f"train {name}")
        val = data.get(f"val_{name}")
        if val:
            ax.plot(epochs, val, marker="o", ms=3, label=f"validation {name}")
            ax.fill_between(epochs, data[name], val, alpha=0.12, color="tab:red", label="generalisation gap")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return finish(fig, path)
