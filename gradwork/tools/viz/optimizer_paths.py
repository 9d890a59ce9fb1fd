"""How optimisers move: their paths on two-dimensional test functions, drawn over the contours.

    elongated bowl  f(x, y) = x²/20 + y²   (minimum at 0; 20× steeper in y than in x)
    saddle          f(x, y) = x² − y²      (a saddle point at 0: a flat spot that is not a minimum)

Plain SGD zig-zags across the steep direction of the bowl while crawling along the flat one;
momentum averages the zig-zag out; AdaGrad, RMSProp and Adam scale each coordinate by its own
gradient history, so the two directions advance at similar speed. The steps are taken by
gradwork's own optimisers on a two-element Parameter.
"""
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.nn.parameter import Parameter
from gradwork.optim import SGD, Adagrad, Adam, RMSprop
from gradwork.tools.viz._figure import finish, plt

FUNCTIONS = {
    "elongated": (lambda x, y: x * x / 20 + y * y, (-7.0, 2.0), ((-10, 10), (-5, 5))),
    "saddle": (lambda x, y: x * x - y * y, (-1.5, 0.01), ((-2, 2), (-2, 2))),
}

OPTIMIZERS = {
    # name: (optimizer class, options) — learning rates of the course's comparison
    "SGD": (SGD, {"lr": 0.95}),
    "Momentum": (SGD, {"lr": 0.1, "momentum": 0.9}),
    "Nesterov": (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "AdaGrad": (Adagrad, {"lr": 1.5}),
    "RMSProp": (RMSprop, {"lr": 0.3, "alpha": 0.9}),
    "Adam": (Adam, {"lr": 0.3}),
}
# On the saddle the course's rates above explode within a few steps (f is unbounded below): smaller ones
# show the interesting part — plain SGD lingers near the flat saddle point, the adaptive methods leave it.
SADDLE_LR = {"SGD": 0.1, "Momentum": 0.05, "Nesterov": 0.05, "AdaGrad": 0.3, "RMSProp": 0.05, "Adam": 0.05}


def _function(name):
    if name not in FUNCTIONS:
        raise ValueError(f"optimizer paths: function must be one of {', '.join(FUNCTIONS)}, got {name!r}")
    return FUNCTIONS[name]


def optimizer_path(optimizer="Adam", function="elongated", steps=30, start=None, **options):
    """The points (steps + 1, 2) that ``optimizer`` (a name of OPTIMIZERS) visits on ``function``
    from ``start``. ``options`` override the optimiser's settings (e.g. ``lr=0.1``)."""
    f, default_start, _ = _function(function)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer paths: optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    cls, defaults = OPTIMIZERS[optimizer]
    if function == "saddle":
        defaults = {**defaults, "lr": SADDLE_LR[optimizer]}
    point = Parameter(xp.array(start or default_start, dtype=xp.float64))
    opt = cls([point], **{**defaults, **options})
    path = [point.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        f(point[0], point[1]).backward()
        opt.step()
        path.append(point.data.copy())
    return xp.array(path)


def optimizer_paths(function="elongated", steps=30, start=None, optimizers=tuple(OPTIMIZERS)):
    """{optimizer name: path (steps + 1, 2)} for each optimiser, all from the same start."""
    return {name: optimizer_path(name, function, steps, start) for name in optimizers}


def plot_optimizer_paths(function="elongated", path=None, steps=30, start=None, optimizers=tuple(OPTIMIZERS)):
    """One panel per optimiser: its path over the contours of ``function``. Saves a PNG to ``path``
    if given; returns the figure."""
    f, _, (x_range, y_range) = _function(function)
    paths = optimizer_paths(function, steps, start, optimizers)
    gx, gy = xp.meshgrid(xp.linspace(*x_range, 200), xp.linspace(*y_range, 200))
    surface = f(Tensor(gx), Tensor(gy)).data
    columns = 3
    rows = -(-len(paths) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, (name, points) in zip(axes.flat, paths.items()):
        ax.contour(gx, gy, surface, levels=20, cmap="Greys", linewidths=0.6)
        ax.plot(points[:, 0], points[:, 1], "o-", color="tab:red", ms=2.5, lw=1)
        ax.plot(0, 0, "+", color="k", ms=10)
        ax.set_xlim(*x_range)
        ax.set_ylim(*y_range)
        ax.set_title(f"{name}: f = {float(f(Tensor(points[-1, 0]), Tensor(points[-1, 1])).data):.3g} after {steps}",
                     fontsize=9)
    for ax in list(axes.flat)[len(paths):]:
        ax.axis("off")
    fig.suptitle({"elongated": "f(x, y) = x²/20 + y²", "saddle": "f(x, y) = x² − y²"}[function])
    fig.tight_layout()
    return finish(fig, path)
