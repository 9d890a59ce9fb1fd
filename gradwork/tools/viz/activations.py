"""Activation histograms, and the course's initialisation experiment.

The experiment: push 1,000 random inputs through 5 layers of 100 units with a given activation and
weight initialisation, and look at each layer's outputs.

    sigmoid, weights std 1     → activations pile up at 0 and 1: saturated, gradients vanish
    sigmoid, weights std 0.01  → all near 0.5: every unit says the same (no expressiveness)
    sigmoid/tanh + Xavier      → a healthy spread in every layer (std 1/√n keeps the variance)
    ReLU + He                  → ReLU halves the variance; He's std √(2/n) gives it back
"""
from gradwork.autograd.grad_mode import no_grad
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.nn.activation import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from gradwork.ops.activations import relu, sigmoid, tanh
from gradwork.tools.viz._figure import finish, plt
from gradwork.tools.viz._record import record_outputs

ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}
INITS = ("std1", "std0.01", "xavier", "he")
ACTIVATION_LAYERS = (ReLU, LeakyReLU, Sigmoid, Tanh, GELU)


def init_std(init, fan_in):
    """The weight standard deviation of an initialisation scheme for a layer with ``fan_in`` inputs."""
    return {"std1": 1.0, "std0.01": 0.01, "xavier": (1 / fan_in) ** 0.5, "he": (2 / fan_in) ** 0.5}[init]


def activation_experiment(activation="sigmoid", init="std1", layers=5, units=100, examples=1000, seed=0):
    """Outputs of each layer (a list of ``layers`` arrays (examples, units)) for random N(0, 1) inputs
    through ``layers`` fully connected layers without bias, weights N(0, init_std²)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation_experiment: activation must be one of {', '.join(ACTIVATIONS)}, "
                         f"got {activation!r}")
    if init not in INITS:
        raise ValueError(f"activation_experiment: init must be one of {', '.join(INITS)}, got {init!r}")
    rng = xp.random.default_rng(seed)
    x = rng.standard_normal((examples, units))
    outputs = []
    with no_grad():
        for _ in range(layers):
            w = rng.standard_normal((units, units)) * init_std(init, units)
            x = ACTIVATIONS[activation](Tensor(x @ w)).data
            outputs.append(x)
    return outputs


def _histograms(axes_row, outputs, names, bins=30, value_range=None):
    for ax, values, name in zip(axes_row, outputs, names):
        values = xp.asarray(values).reshape(-1)
        ax.hist(values, bins=bins, range=value_range, color="tab:blue", alpha=0.8)
        ax.set_title(f"{name}\nmean {values.mean():.2f}, std {values.std():.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])


def plot_activation_experiment(path=None, activations=("sigmoid", "tanh", "relu"), inits=INITS, layers=5):
    """The experiment for every (activation, init) pair: one row each, one histogram per layer.
    Saves a PNG to ``path`` if given; returns the figure."""
    rows = [(a, i) for a in activations for i in inits]
    fig, axes = plt.subplots(len(rows), layers, figsize=(2.4 * layers, 1.9 * len(rows)), squeeze=False)
    for row, (activation, init) in zip(axes, rows):
        outputs = activation_experiment(activation, init, layers)
        value_range = (0, 1) if activation == "sigmoid" else (-1, 1) if activation == "tanh" else None
        _histograms(row, outputs, [f"layer {k + 1}" for k in range(layers)], value_range=value_range)
        row[0].set_ylabel(f"{activation}\n{init}", fontsize=9)
    fig.suptitle("activations per layer: 5 layers × 100 units, 1000 random inputs", y=1.0)
    fig.tight_layout()
    return finish(fig, path)


def activation_histograms(model, x, path=None, layer_types=ACTIVATION_LAYERS, bins=40):
    """Histogram of the outputs of every activation layer of ``model`` for the inputs ``x`` (a batch),
    recorded with forward hooks in eval mode and without a graph. Saves a PNG to ``path`` if given;
    returns the figure. Look for layers piled up at the ends (saturation) or collapsed to one value."""
    recorded = record_outputs(model, x, lambda name, module: isinstance(module, layer_types))
    if not recorded:
        raise ValueError("activation_histograms: the model has no activation layers (ReLU, Sigmoid, Tanh, …) to "
                         "record; pass layer_types=(…) to record other layers")
    fig, axes = plt.subplots(1, len(recorded), figsize=(2.6 * len(recorded), 2.4), squeeze=False)
    _histograms(axes[0], [v for _, v in recorded], [n for n, _ in recorded], bins=bins)
    fig.tight_layout()
    return finish(fig, path)

